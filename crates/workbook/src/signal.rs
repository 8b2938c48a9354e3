//! Signals by number, all 64 of them: nix's `Signal` enum knows only the 31
//! classic ones, and a tracer must pass on the real-time ones (32 to 64) as
//! faithfully as SIGINT. Also the restarting ptrace requests, which take the
//! signal to deliver as a plain number.

use std::fmt;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::gone::{done_if_gone, OrGone};

/// A signal number from 1 to 64 (`_NSIG - 1` on Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sig(i32);

/// The kernel's first real-time signal. glibc keeps 32 and 33 for itself
/// (threads, set*id), so a C program's SIGRTMIN is 34.
const KERNEL_SIGRTMIN: i32 = 32;
const LAST: i32 = 64;

impl Sig {
    pub const SIGTRAP: Sig = Sig(libc::SIGTRAP);
    pub const SIGSTOP: Sig = Sig(libc::SIGSTOP);
    pub const SIGCONT: Sig = Sig(libc::SIGCONT);
    pub const SIGKILL: Sig = Sig(libc::SIGKILL);
    pub const SIGSYS: Sig = Sig(libc::SIGSYS);
    pub const SIGUSR1: Sig = Sig(libc::SIGUSR1);

    /// The signal with this number, if there is one.
    pub fn new(number: i32) -> Option<Sig> {
        (1..=LAST).contains(&number).then_some(Sig(number))
    }

    pub fn number(self) -> i32 {
        self.0
    }

    /// Whether this is one of the real-time signals (32 to 64).
    pub fn is_realtime(self) -> bool {
        self.0 >= KERNEL_SIGRTMIN
    }

    /// SIGSTOP, SIGTSTP, SIGTTIN and SIGTTOU: the signals that stop a
    /// process group (unless they are handled).
    pub fn is_stop_signal(self) -> bool {
        matches!(
            self.0,
            libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
        )
    }

    /// The name strace gives it: `SIGINT`, `SIGRTMIN` for 32, `SIGRT_2` for 34.
    pub fn name(self) -> String {
        match Signal::try_from(self.0) {
            Ok(signal) => signal.as_str().to_string(),
            Err(_) if self.0 == KERNEL_SIGRTMIN => "SIGRTMIN".to_string(),
            Err(_) if self.is_realtime() => format!("SIGRT_{}", self.0 - KERNEL_SIGRTMIN),
            Err(_) => format!("signal {}", self.0),
        }
    }
}

impl From<Signal> for Sig {
    fn from(signal: Signal) -> Sig {
        Sig(signal as i32)
    }
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A restarting ptrace request with a signal to deliver, as the C call
/// takes it: `ptrace(request, pid, 0, sig)`. nix's wrappers take only the
/// classic signals, so these make the call themselves.
/// A tracee that is gone (ESRCH) has nothing left to restart: done.
fn restart(request: libc::c_uint, name: &str, pid: Pid, signal: Option<Sig>) -> Result<()> {
    let data = signal.map_or(0, Sig::number) as usize;
    // SAFETY: PTRACE_SYSCALL, PTRACE_SYSEMU, PTRACE_CONT, PTRACE_LISTEN,
    // PTRACE_DETACH and PTRACE_SINGLESTEP read no memory: addr is unused,
    // data is a number.
    let ret = unsafe {
        libc::ptrace(
            request,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            data as *mut libc::c_void,
        )
    };
    done_if_gone(Errno::result(ret).map(drop).or_gone(name, pid))
}

/// ptrace(PTRACE_SYSCALL, pid, 0, sig): run to the next syscall entry or
/// exit, delivering `signal` (any of the 64) if there is one.
pub fn ptrace_syscall(pid: Pid, signal: Option<Sig>) -> Result<()> {
    restart(libc::PTRACE_SYSCALL, "PTRACE_SYSCALL", pid, signal)
}

/// ptrace(PTRACE_SYSEMU, pid, 0, sig): run to the next syscall entry,
/// delivering `signal` (any of the 64) if there is one. The kernel will
/// not run that call. x86 has it, and arm64 since Linux 5.3 (for
/// User-Mode Linux), with the same number, 31; libc names it on x86 only.
pub fn ptrace_sysemu(pid: Pid, signal: Option<Sig>) -> Result<()> {
    const PTRACE_SYSEMU: libc::c_uint = 31;
    restart(PTRACE_SYSEMU, "PTRACE_SYSEMU", pid, signal)
}

/// ptrace(PTRACE_CONT, pid, 0, sig): run on until the next signal or event.
pub fn ptrace_cont(pid: Pid, signal: Option<Sig>) -> Result<()> {
    restart(libc::PTRACE_CONT, "PTRACE_CONT", pid, signal)
}

/// ptrace(PTRACE_DETACH, pid, 0, sig): let a tracee go, delivering
/// `signal` (any of the 64) if there is one; it runs on untraced.
pub fn ptrace_detach(pid: Pid, signal: Option<Sig>) -> Result<()> {
    restart(libc::PTRACE_DETACH, "PTRACE_DETACH", pid, signal)
}

/// ptrace(PTRACE_LISTEN, pid, 0, 0), at a group-stop of a tracee attached
/// with PTRACE_SEIZE: it stays stopped, as `kill -STOP` meant, and the
/// tracer hears of it again when SIGCONT (or SIGKILL) arrives.
pub fn ptrace_listen(pid: Pid) -> Result<()> {
    restart(libc::PTRACE_LISTEN, "PTRACE_LISTEN", pid, None)
}

/// The signals a terminal sends to the whole foreground process group
/// (Ctrl-C, Ctrl-\, a closed terminal) or that `kill` sends by default.
const FATAL_SIGNALS: [libc::c_int; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM];

/// The signal mask from before `hold_fatal_signals`, for the children to
/// get back. Written once, before any fork.
static MASK_BEFORE_HOLD: std::sync::OnceLock<libc::sigset_t> = std::sync::OnceLock::new();

/// Ctrl-C belongs to the program, not to the demo watching it: from now on
/// SIGHUP, SIGINT, SIGQUIT and SIGTERM are blocked in this process, as
/// strace does with `-o FILE` (its `-I 3`). The program gets the signal and
/// decides what it means; the demo stays to report how the program ended,
/// and exits with its status. They stay blocked until the demo exits, so a
/// pending Ctrl-C never kills the demo after the program has handled it.
/// Call before forking; the child calls `release_fatal_signals_in_child`.
pub fn hold_fatal_signals() -> Result<()> {
    // SAFETY: sigemptyset/sigaddset fill a local set; sigprocmask reads it
    // and writes the old mask into a local.
    unsafe {
        let mut fatal: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut fatal);
        for signal in FATAL_SIGNALS {
            libc::sigaddset(&mut fatal, signal);
        }
        let mut before: libc::sigset_t = std::mem::zeroed();
        nix::errno::Errno::result(libc::sigprocmask(libc::SIG_BLOCK, &fatal, &mut before))
            .context("sigprocmask(SIG_BLOCK, SIGHUP SIGINT SIGQUIT SIGTERM)")?;
        let _ = MASK_BEFORE_HOLD.set(before);
    }
    Ok(())
}

/// In a forked child, before execvp: the signal mask as it was before
/// `hold_fatal_signals`, so that the program gets Ctrl-C as it would without
/// us (a blocked mask survives execve). Async-signal-safe.
pub fn release_fatal_signals_in_child() -> Result<(), nix::errno::Errno> {
    let Some(before) = MASK_BEFORE_HOLD.get() else {
        return Ok(());
    };
    // SAFETY: sigprocmask reads a mask that lives in a static.
    nix::errno::Errno::result(unsafe {
        libc::sigprocmask(libc::SIG_SETMASK, before, std::ptr::null_mut())
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_strace() {
        assert_eq!(Sig::new(2).unwrap().name(), "SIGINT");
        assert_eq!(Sig::new(31).unwrap().name(), "SIGSYS");
        assert_eq!(Sig::new(32).unwrap().name(), "SIGRTMIN");
        assert_eq!(Sig::new(33).unwrap().name(), "SIGRT_1");
        assert_eq!(Sig::new(34).unwrap().name(), "SIGRT_2");
        assert_eq!(Sig::new(64).unwrap().name(), "SIGRT_32");
    }

    #[test]
    fn only_1_to_64_are_signals() {
        assert_eq!(Sig::new(0), None);
        assert_eq!(Sig::new(65), None);
        assert!(Sig::new(64).unwrap().is_realtime());
        assert!(!Sig::new(31).unwrap().is_realtime());
    }

    #[test]
    fn stop_signals() {
        assert!(Sig::SIGSTOP.is_stop_signal());
        assert!(Sig::new(libc::SIGTSTP).unwrap().is_stop_signal());
        assert!(!Sig::SIGCONT.is_stop_signal());
    }
}
