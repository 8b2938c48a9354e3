//! Attack: read another submission kept under the instructor's checkout (copied into the grader's tree), at build time.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::unistd::Pid;
use workbook::Stop;

/// A classmate's lab.rs, if the students' copy holds everything under the checkout.
const CLASSMATE: &str =
    include_str!("../../../../scripts/grade-attacks/forge-stdout-refuse-trace/crates/labs/refuse-trace/src/lab.rs");

/// Shows what was read, then fails.
fn leak() -> Result<()> {
    bail!("read a classmate's lab.rs ({} bytes): {:?}", CLASSMATE.len(), &CLASSMATE[..CLASSMATE.len().min(120)])
}

/// Leaks, then fails.
pub fn syscall_stops(pid: Pid) -> Result<(Stop, u64)> {
    leak()?;
    bail!("not written")
}

/// Leaks, then fails.
pub fn seccomp_stops(pid: Pid) -> Result<(Stop, u64)> {
    leak()?;
    bail!("not written")
}

/// Leaks, then fails.
pub fn vm_readv(pid: Pid, address: u64) -> Result<Vec<u8>> {
    leak()?;
    bail!("not written")
}
