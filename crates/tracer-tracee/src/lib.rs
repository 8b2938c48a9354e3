//! The tracee's half of the lecture's tracer/tracee pair, shared by the
//! demo (src/main.rs) and its lab (crates/labs/tracer-tracee), which both
//! fork a child that runs it.

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{raise, Signal};
use nix::unistd::{execvp, fork, ForkResult, Pid};
use workbook::signal::{hold_fatal_signals, release_fatal_signals_in_child};
use workbook::trace::exec_failure_code;
use workbook::Program;

/// Forks the tracee: the child runs `tracee(program)` and never returns,
/// the parent gets its pid. From here on Ctrl-C is the program's to
/// handle: the tracer stays to report the end.
pub fn fork_tracee(program: &Program) -> Result<Pid> {
    hold_fatal_signals()?;
    // SAFETY: we are single-threaded here, and the child only makes
    // async-signal-safe calls before execvp or _exit.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            if let Err(errno) = release_fatal_signals_in_child() {
                die("child: sigprocmask failed", errno, 1);
            }
            tracee(program)
        }
        ForkResult::Parent { child } => Ok(child),
    }
}

/// The child's half, right after fork: ask to be traced, stop until the
/// tracer is ready, become `program`. It never returns.
// ANCHOR: tracee
pub fn tracee(program: &Program) -> ! {
    if let Err(errno) = ptrace::traceme() {
        die("child: ptrace(traceme) failed", errno, 1);
    }
    if let Err(errno) = raise(Signal::SIGSTOP) {
        die("child: raise(SIGSTOP) failed", errno, 1);
    }
    let errno = execvp(&program.file, &program.argv).unwrap_err();
    let what = format!("tracee start failed: execvp {}", program.label);
    die(&what, errno, exec_failure_code(errno))
}
// ANCHOR_END: tracee

/// The lecture's `die`: say what failed and leave without running any of
/// the parent's exit handlers.
pub fn die(what: &str, errno: Errno, code: i32) -> ! {
    workbook::process::exit_child(
        code,
        &format!("{what}: {}", workbook::names::errno_name(errno)),
    )
}
