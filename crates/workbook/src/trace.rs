//! The tracer/tracee start-up from the tracer-tracee chapter, packaged for
//! the demos that come after it.

use anyhow::{bail, Context, Result};
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{raise, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{execvp, fork, ForkResult};

use crate::process::{ChildGuard, Program};
use crate::stop::{wait_for, Stop};

/// Forks `program` as a tracee stopped right before its execve.
///
/// The child calls PTRACE_TRACEME, raises SIGSTOP and calls execvp; the parent
/// waits for that SIGSTOP and sets `options` plus PTRACE_O_EXITKILL, so the
/// tracee dies with the tracer. The tracee is left stopped: the caller
/// restarts it with the ptrace request of its choice.
pub fn spawn_traced(program: &Program, options: Options) -> Result<ChildGuard> {
    // SAFETY: the child only makes async-signal-safe calls before execvp or _exit.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => exec_as_tracee(program),
        ForkResult::Parent { child } => {
            let guard = ChildGuard::new(child);
            let first = wait_for(child, WaitPidFlag::__WALL)?;
            if first.stop != Stop::Signal(Signal::SIGSTOP) {
                bail!(
                    "pid {child}: unexpected wait status {:#x} ({}) instead of the SIGSTOP stop",
                    first.raw,
                    first.stop
                );
            }
            ptrace::setoptions(child, options | Options::PTRACE_O_EXITKILL)
                .with_context(|| format!("PTRACE_SETOPTIONS on pid {child}"))?;
            Ok(guard)
        }
    }
}

/// The child's half. It never returns: it becomes `program` or exits.
pub fn exec_as_tracee(program: &Program) -> ! {
    if let Err(errno) = ptrace::traceme() {
        die(1, &format!("PTRACE_TRACEME: {errno}"));
    }
    if let Err(errno) = raise(Signal::SIGSTOP) {
        die(1, &format!("raise(SIGSTOP): {errno}"));
    }
    let errno = execvp(&program.file, &program.argv).unwrap_err();
    let code = if errno == nix::errno::Errno::ENOENT {
        127
    } else {
        126
    };
    die(code, &format!("execvp {}: {}", program.label, errno.desc()))
}

fn die(code: i32, message: &str) -> ! {
    // The demos fork while single-threaded, so formatting in the child is safe.
    let line = format!("{}: {message}\n", crate::process::program_name());
    let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
    // SAFETY: _exit(2) skips the parent's atexit handlers and stdio buffers,
    // which the forked child must not run twice.
    unsafe { libc::_exit(code) }
}
