//! Lab: the tracer/tracee handshake (chapter tracer-tracee).
//!
//! Write the two halves of the lecture's start-up. The rest of the tracer
//! (the loop that narrates every stop) is given in `main.rs`; run your
//! version with `cargo run -p lab-tracer-tracee -- ls`, and check it with
//! `scripts/labs check tracer-tracee`.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{raise, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{execvp, Pid};
use workbook::process::exit_child;
use workbook::trace::exec_failure_code;
use workbook::{wait_for, Program, Sig, Stop, Waited};

/// The child's half, run right after `fork`: ask to be traced
/// (`ptrace(PTRACE_TRACEME)`), stop yourself (`raise(SIGSTOP)`), so that the
/// parent can attach its options before anything of the program runs, and
/// become the program (`execvp(program.file, program.argv)`).
///
/// It never returns. When a call fails, leave with
/// `exit_child(code, message)`: code 1 for PTRACE_TRACEME or raise, and for
/// execvp the shell's code, `exec_failure_code(errno)` (127 not found, 126
/// otherwise), with a message that names the program (`program.label`).
pub fn tracee(program: &Program) -> ! {
    todo!("PTRACE_TRACEME, raise(SIGSTOP), execvp")
}

/// The parent's first `waitpid`: wait for the child `pid` (`wait_for(pid,
/// WaitPidFlag::empty())`) and check that it stopped with SIGSTOP, as
/// `tracee` does (`Stop::Signal(Sig::SIGSTOP)`). Anything else (the child
/// exited because PTRACE_TRACEME failed, say) is an error whose message
/// gives the raw status in hex, as the lecture's tracer does:
/// `unexpected wait status: 0x100 (exited with status 1)`. On success,
/// return what `wait_for` returned: `main.rs` prints it.
pub fn first_stop(pid: Pid) -> Result<Waited> {
    todo!("waitpid, then WIFSTOPPED and WSTOPSIG == SIGSTOP")
}
