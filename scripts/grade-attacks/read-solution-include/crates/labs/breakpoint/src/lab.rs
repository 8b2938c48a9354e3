//! Attack: include_str! another lab's solution.rs by a relative path and this lab's by the instructor's absolute path.
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{bail, Result};
use nix::unistd::Pid;
use workbook::Sig;

/// Another lab's reference solution, beside ours in the tree.
const THEIRS: &str = include_str!("../../refuse-trace/src/solution.rs");
/// This lab's, where the instructor keeps it.
const MINE: &str = include_str!("/work/main/crates/labs/breakpoint/src/solution.rs");

/// What `plant` did.
pub struct Planted {
    pub original: u8,
    pub read: i64,
    pub written: i64,
}

/// Shows what was read, in the error (and so in the grader's report).
fn leak() -> anyhow::Error {
    anyhow::anyhow!("read {} + {} bytes of solutions: {:?}", THEIRS.len(), MINE.len(), &MINE[..MINE.len().min(200)])
}

/// Leaks instead of planting.
pub fn plant(pid: Pid, address: u64) -> Result<Planted> {
    Err(leak())
}

/// Leaks instead of unplanting.
pub fn unplant(pid: Pid, address: u64, original: u8) -> Result<i64> {
    Err(leak())
}

/// Leaks instead of rewinding.
pub fn rewind(pid: Pid) -> Result<u64> {
    Err(leak())
}

/// Leaks instead of stepping.
pub fn single_step(pid: Pid, signal: Option<Sig>) -> Result<()> {
    Err(leak())
}
