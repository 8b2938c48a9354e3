//! Lab: a debugger turns one signal into another (chapter signal-control).
//! The reference solution.
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::Result;
use nix::sys::ptrace;
use nix::unistd::Pid;
use workbook::gone::OrGone;
use workbook::Sig;

/// At a signal-delivery-stop of `pid` for `signal`: the signal to restart
/// it with (main.rs passes it to PTRACE_CONT).
///
/// When `signal` is `from`, the tracee must receive `to` instead, and its
/// SA_SIGINFO handler must get the siginfo that `from` came with, but for
/// the signal: the same si_code (SI_USER for kill, SI_QUEUE for sigqueue,
/// SI_TKILL for tgkill...), the same sender (si_pid, si_uid), the same
/// si_value. Not the tracer as the sender: the program must not be able to
/// tell that a tracer changed anything but the signal's number. Every other
/// signal goes on as it came.
///
/// The chapter's requests: PTRACE_GETSIGINFO and PTRACE_SETSIGINFO
/// (`ptrace::getsiginfo`, `ptrace::setsiginfo`: a `libc::siginfo_t`, whose
/// `si_signo` is a field; `.or_gone("PTRACE_GETSIGINFO", pid)` names a
/// failure, and lets main.rs tell a tracee killed meanwhile from an
/// error), and what the kernel does with the signal a
/// restart passes (the chapter's "Changing signals" says it). If `to` is
/// blocked in the tracee, nothing more is yours to do: the kernel queues it
/// until it is unblocked.
pub fn turn(pid: Pid, signal: Sig, from: Sig, to: Sig) -> Result<Sig> {
    if signal != from {
        return Ok(signal);
    }
    let mut info = ptrace::getsiginfo(pid).or_gone("PTRACE_GETSIGINFO", pid)?;
    // The kernel keeps the stop's siginfo only for the signal it names: a
    // restart with any other makes it write a new one, SI_USER from us.
    info.si_signo = to.number();
    ptrace::setsiginfo(pid, &info).or_gone("PTRACE_SETSIGINFO", pid)?;
    Ok(to)
}
