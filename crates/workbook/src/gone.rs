//! One way to say "the tracee is gone".
//!
//! A tracee can be killed between the stop waitpid reported and the
//! tracer's next request: SIGKILL, or another thread's `exit_group`. The
//! kernel then answers ESRCH. That is no error of the tracer's, and its
//! death is the next report. So:
//!
//! - every ptrace request on a tracee in a stop turns ESRCH into [`Gone`]
//!   where it is made: `ptrace::getregs(pid).or_gone("PTRACE_GETREGS", pid)`;
//! - a read of its /proc files that fails is asked about the same way
//!   ([`gone_if_killed`]), since /proc has no one answer for a dead process;
//! - a restart (PTRACE_SYSCALL, PTRACE_CONT, ...) treats `Gone` as done;
//! - the handling of one stop ends early on `Gone` with [`unless_gone`].

use std::fmt;

use anyhow::Result;
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

use crate::hints::ptrace_error;

/// A ptrace request found its tracee gone: killed since its stop (ESRCH).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    pub request: String,
    pub pid: Pid,
}

impl fmt::Display for Gone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Gone { request, pid } = self;
        write!(
            f,
            "{request} on pid {pid}: ESRCH (No such process): pid {pid} is gone, \
             or not traced and stopped by us"
        )
    }
}

impl std::error::Error for Gone {}

/// A ptrace request's answer with ESRCH as [`Gone`], and any other error
/// named with the request, the pid and why (see `hints::ptrace_error`).
pub trait OrGone<T> {
    fn or_gone(self, request: &str, pid: Pid) -> Result<T>;
}

impl<T> OrGone<T> for nix::Result<T> {
    fn or_gone(self, request: &str, pid: Pid) -> Result<T> {
        self.map_err(|errno| match errno {
            Errno::ESRCH => Gone {
                request: request.to_string(),
                pid,
            }
            .into(),
            errno => ptrace_error(request, pid, errno),
        })
    }
}

/// Whether `error` is, or was caused by, a request on a tracee that is gone.
pub fn is_gone(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<Gone>())
}

/// Runs a tracer's handling of one stop: `None` if the tracee turned out
/// to be gone, and the loop goes on to the next report (its death).
pub fn unless_gone<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if is_gone(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// A restarting request: a tracee that is gone has nothing left to
/// restart, so that is done too.
pub fn done_if_gone(result: Result<()>) -> Result<()> {
    unless_gone(result).map(drop)
}

/// `result` of reading a stopped tracee's /proc files, its error turned
/// into [`Gone`] if the tracee was killed meanwhile. /proc answers for a
/// dead process with ENOENT, ESRCH or empty files, so ptrace is asked:
/// PTRACE_GETSIGINFO changes nothing, and answers ESRCH once it is gone.
pub fn gone_if_killed<T>(pid: Pid, result: Result<T>) -> Result<T> {
    result.map_err(|error| match ptrace::getsiginfo(pid) {
        Err(Errno::ESRCH) => error.context(Gone {
            request: "PTRACE_GETSIGINFO".to_string(),
            pid,
        }),
        _ => error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esrch_is_gone_and_other_errors_are_not() {
        let pid = Pid::from_raw(4242);
        let gone = Err::<(), _>(Errno::ESRCH).or_gone("PTRACE_GETREGS", pid);
        let error = gone.expect_err("ESRCH is an error");
        assert!(is_gone(&error));
        assert!(is_gone(&error.context("reading the registers")));
        let other = Err::<(), _>(Errno::EIO).or_gone("PTRACE_PEEKDATA", pid);
        let error = other.expect_err("EIO is an error");
        assert!(!is_gone(&error));
        assert!(
            error
                .to_string()
                .starts_with("PTRACE_PEEKDATA on pid 4242: EIO"),
            "{error}"
        );
    }

    #[test]
    fn a_handler_ends_early_and_a_restart_is_done() {
        let pid = Pid::from_raw(4242);
        let gone = || Err::<u8, _>(Errno::ESRCH).or_gone("PTRACE_CONT", pid);
        assert!(matches!(unless_gone(gone()), Ok(None)));
        assert!(matches!(unless_gone(Ok(7)), Ok(Some(7))));
        assert!(done_if_gone(gone().map(drop)).is_ok());
        let failed = Err::<(), _>(Errno::EIO).or_gone("PTRACE_CONT", pid);
        assert!(done_if_gone(failed).is_err());
        // A raw ESRCH that no request named is not the typed outcome.
        assert!(unless_gone::<()>(Err(Errno::ESRCH.into())).is_err());
    }
}
