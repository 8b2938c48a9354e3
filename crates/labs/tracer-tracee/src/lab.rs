//! Lab: an exec limiter (chapter tracer-tracee).
//!
//! The chapter's tracer starts its tracee with a handshake (the child's
//! PTRACE_TRACEME and SIGSTOP, the parent's first waitpid) and asks for
//! PTRACE_O_TRACEEXEC, which stops the tracee at each successful execve,
//! before the new program runs one instruction. Use that stop to limit how
//! many programs a command may run. The child's half and the printing are
//! given in `main.rs`; run yours with
//! `cargo run -p lab-tracer-tracee -- --max-execs 2 -- sh -c 'exec env ls'`
//! and check it with `scripts/labs check tracer-tracee`.
#![allow(unused_imports, unused_variables)]

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::{ptrace_cont, wait_for, ChildGuard, Event, Sig, Stop};

use crate::{report_exec, report_over_limit};

/// The tracer's half. `pid` is the child just forked, which runs the
/// chapter's `tracee`: PTRACE_TRACEME, raise(SIGSTOP), then execvp of the
/// command.
///
/// - Wait for its SIGSTOP (anything else is an error naming the status),
///   and, while it is stopped there, before its execvp, set the options
///   PTRACE_O_TRACEEXEC and PTRACE_O_EXITKILL; let it go on with no signal.
/// - Then wait for it again and again. At each exec event stop (the
///   command's own execvp is the first), count it and find the program it
///   now runs: the link /proc/PID/exe. Up to `max_execs`, name it with
///   `report_exec(count, &exe)` and let it go on. The one after that is
///   over the limit: `report_over_limit(count, &exe)` and SIGKILL, before
///   the new program runs.
/// - A signal that stops it is the program's: pass it on when you restart.
/// - When it has exited or was killed, return its exit code as a shell
///   says it (128 + the signal when killed; `Stop::exit_code`).
///
/// Hold the child in a `ChildGuard` until it is reaped (`guard.reaped()`),
/// so that an error kills it instead of leaving it stopped.
pub fn limit_execs(pid: Pid, max_execs: u32) -> Result<u8> {
    todo!("the handshake's SIGSTOP, PTRACE_O_TRACEEXEC, then count the exec stops")
}
