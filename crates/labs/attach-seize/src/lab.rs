//! Lab: attach to a running process, twice (chapter attach-seize).
//!
//! Write the tracer's half of both ways in: PTRACE_ATTACH and its SIGSTOP,
//! PTRACE_SEIZE and PTRACE_INTERRUPT, the wait for the stop they ask for,
//! and PTRACE_DETACH. The rest of the demo (the victim, the narration, the
//! three facts) is given in `main.rs`; run your version with
//! `cargo run -p lab-attach-seize` (or `-- --pid PID`), and check it with
//! `scripts/labs check attach-seize`.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::hints::ptrace_error;
use workbook::stop::is_legacy_exec_trap;
use workbook::{ptrace_cont, wait_for, Event, Sig, Stop, Waited};

/// Become the tracer of the running process `pid` the lecture's way:
/// `ptrace(PTRACE_ATTACH, pid, 0, 0)` (`ptrace::attach`). The kernel sends
/// it a SIGSTOP; don't wait for it here (`main.rs` calls
/// `wait_until_stopped` next). On failure return
/// `ptrace_error("PTRACE_ATTACH", pid, errno)`: it names the call and the
/// pid, and says why (no such process, a zombie, not dumpable...).
pub fn attach(pid: Pid) -> Result<()> {
    todo!("PTRACE_ATTACH")
}

/// Become the tracer of `pid` without stopping it:
/// `ptrace(PTRACE_SEIZE, pid, 0, 0)` (`ptrace::seize`, with no options).
/// Errors: `ptrace_error("PTRACE_SEIZE", pid, errno)`.
pub fn seize(pid: Pid) -> Result<()> {
    todo!("PTRACE_SEIZE")
}

/// Stop the seized `pid` now: `ptrace(PTRACE_INTERRUPT, pid, 0, 0)`
/// (`ptrace::interrupt`). Don't wait here either. Errors:
/// `ptrace_error("PTRACE_INTERRUPT", pid, errno)`.
pub fn interrupt(pid: Pid) -> Result<()> {
    todo!("PTRACE_INTERRUPT")
}

/// Wait (`wait_for(pid, WaitPidFlag::__WALL)`, in a loop) for the stop that
/// ATTACH or INTERRUPT asked for, and return it:
///
/// - after ATTACH it is a signal-delivery-stop for SIGSTOP
///   (`Stop::Signal(Sig::SIGSTOP)`), or a group-stop (`Stop::Group(_)`)
///   when the process was stopped already;
/// - after INTERRUPT it is `Stop::Event(Event::Stop(_))`, a
///   PTRACE_EVENT_STOP: no signal at all;
/// - any other signal may come first. It was meant for the process: pass it
///   on (`ptrace_cont(pid, Some(signal))`) and wait again. The one
///   exception is the SIGTRAP of an execve that happened just as we
///   attached (`is_legacy_exec_trap(pid)`): drop it (`ptrace_cont(pid,
///   None)`), or the process dies of it;
/// - `Stop::Vanished` (killed before we looked): wait again;
/// - the process exited or was killed (`Stop::Exited` or `Stop::Killed`):
///   an error naming the pid, `pid 42 went away while we attached: ...`;
///   anything else is an error too.
pub fn wait_until_stopped(pid: Pid) -> Result<Waited> {
    todo!("waitpid until SIGSTOP or PTRACE_EVENT_STOP, passing other signals on")
}

/// Let `pid` go: `ptrace(PTRACE_DETACH, pid, 0, 0)` (`ptrace::detach`). The
/// process is in a ptrace-stop; it runs on, as before we came. Pass no
/// signal: the SIGSTOP we caused was ours, not the process's. Errors:
/// `ptrace_error("PTRACE_DETACH", pid, errno)`.
pub fn detach(pid: Pid) -> Result<()> {
    todo!("PTRACE_DETACH, with no signal")
}
