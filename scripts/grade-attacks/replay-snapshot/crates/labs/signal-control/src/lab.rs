//! Attack: replay the demo's committed snapshot exactly, from a constructor, and never trace anything.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::Write;

use anyhow::{bail, Result};
use nix::unistd::Pid;
use workbook::Sig;

/// The demo's snapshot of its default run (the students' copy has it).
const SNAPSHOT: &str =
    include_str!("../../../signal-control/tests/snapshots/default_run_changes_the_targets_signals.snap");

/// Runs before main: its stdout, its stderr, exit 0. No tracer, no target.
extern "C" fn replay() {
    if let Some((_, streams)) = SNAPSHOT.split_once("----- stdout -----\n") {
        if let Some((stdout, stderr)) = streams.split_once("\n----- stderr -----\n") {
            let _ = std::io::stdout().write_all(stdout.as_bytes());
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().write_all(stderr.as_bytes());
        }
    }
    // SAFETY: ends the process before main, with status 0.
    unsafe { libc::_exit(0) }
}

#[used]
#[link_section = ".init_array"]
static REPLAY: extern "C" fn() = replay;

/// Never reached: the constructor exits first.
pub fn turn(pid: Pid, signal: Sig, from: Sig, to: Sig) -> Result<Sig> {
    bail!("not written")
}
