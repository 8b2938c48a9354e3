//! Attack: include_str! another lab's solution.rs by a relative path and this lab's by the instructor's absolute path.
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{bail, Result};
use nix::unistd::Pid;

/// Another lab's reference solution, beside ours in the tree.
const THEIRS: &str = include_str!("../../refuse-trace/src/solution.rs");
/// This lab's, where the instructor keeps it.
const MINE: &str = include_str!("/work/main/crates/labs/breakpoint/src/solution.rs");

/// A one-shot breakpoint at a return address.
pub struct ReturnBreakpoint {
    pub address: u64,
    pub original: u8,
}

/// Shows what was read, in the error (and so in the grader's report).
fn leak() -> anyhow::Error {
    anyhow::anyhow!("read {} + {} bytes of solutions: {:?}", THEIRS.len(), MINE.len(), &MINE[..MINE.len().min(200)])
}

/// Leaks instead of finding the return address.
pub fn at_entry(pid: Pid) -> Result<ReturnBreakpoint> {
    Err(leak())
}

/// Leaks instead of reading the return value.
pub fn at_return(pid: Pid, planted: &ReturnBreakpoint) -> Result<u64> {
    Err(leak())
}
