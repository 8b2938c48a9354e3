//! Attack: read another submission kept under the instructor's checkout (copied into the grader's tree), at build time.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::unistd::Pid;

/// A classmate's lab.rs, if the students' copy holds everything under the checkout.
const CLASSMATE: &str =
    include_str!("../../../../scripts/grade-attacks/forge-stdout-refuse-trace/crates/labs/refuse-trace/src/lab.rs");

/// Shows what was read, then fails.
fn leak() -> Result<()> {
    bail!("read a classmate's lab.rs ({} bytes): {:?}", CLASSMATE.len(), &CLASSMATE[..CLASSMATE.len().min(120)])
}

/// Leaks, then fails.
pub fn emulate_getppid(pid: Pid, value: u64) -> Result<u64> {
    leak()?;
    bail!("not written")
}
