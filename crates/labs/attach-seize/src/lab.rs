//! Lab: hold every thread of a running process (chapter attach-seize).
//!
//! The chapter attaches to one process, that is to one thread: ptrace
//! works on threads, and PTRACE_SEIZE of a pid takes its main thread and
//! no other. Here you take them all, while they keep starting new ones,
//! stop each, and later let them all go. `main.rs` gives the rest: the
//! command line, the narration, the wait for Enter. Run it with
//! `cargo run -p lab-attach-seize -- --pid PID`, and check it with
//! `scripts/labs check attach-seize`.
#![allow(unused_imports, unused_variables, dead_code)]

use std::collections::HashSet;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::hints::ptrace_error;
use workbook::{ptrace_cont, wait_for, Event, Stop};

/// Become the tracer of every thread of the process `pid`, stop each one,
/// and return the threads you hold (their tids), each in a ptrace-stop.
///
/// - The threads are the entries of `/proc/PID/task`, one a tid.
/// - Take each with PTRACE_SEIZE (`ptrace::seize(tid, Options::empty())`),
///   and right after each successful seize call `seized(tid)` (main.rs
///   narrates it; the grading tests start new threads at that moment).
/// - A seized thread still runs, and may start new threads: nobody traces
///   those. Stop what you seized with PTRACE_INTERRUPT, wait for each
///   stop (`wait_for_stop`), then look in `/proc/PID/task` again, until a
///   look finds no thread you have not seen: stopped threads start none.
/// - A thread may end between the moment you list it and your seize
///   (ESRCH: skip it) or before its stop (not held: leave it out).
/// - Any other failure: an error naming the call and the tid, e.g.
///   `ptrace_error("PTRACE_SEIZE", tid, errno)`, or the path you could not
///   read (`.with_context(...)`).
pub fn seize_every_thread(pid: Pid, seized: &mut dyn FnMut(Pid)) -> Result<Vec<Pid>> {
    todo!("PTRACE_SEIZE each thread in /proc/PID/task, PTRACE_INTERRUPT, wait, look again")
}

/// Wait for the stop that PTRACE_INTERRUPT asked of the seized thread
/// `tid`: `Ok(true)` once it is in that stop, `Ok(false)` if the thread
/// ended first (exited or killed).
///
/// waitpid on a thread that is not a process's main thread needs the
/// `__WALL` flag (`wait_for(tid, WaitPidFlag::__WALL)`). The stop is a
/// PTRACE_EVENT_STOP (`Stop::Event(Event::Stop(_))`), or a group-stop
/// (`Stop::Group(_)`) if the process was stopped by a signal already. A
/// signal may reach the thread first: it is the thread's, so pass it on
/// (`ptrace_cont(tid, Some(signal))`) and wait again.
pub fn wait_for_stop(tid: Pid) -> Result<bool> {
    todo!("waitpid(__WALL) until PTRACE_EVENT_STOP, passing signals on")
}

/// Let every thread in `threads` go (PTRACE_DETACH, no signal): each runs
/// on untraced, as before you came. Errors name the call and the tid.
pub fn release(threads: &[Pid]) -> Result<()> {
    todo!("PTRACE_DETACH each thread")
}
