//! Mistake: the si_value is changed in the tracer's copy of the siginfo,
//! which never goes back to the kernel (no PTRACE_SETSIGINFO).
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{Context, Result};
use nix::sys::ptrace;
use nix::unistd::Pid;
use workbook::siginfo::{self, mask_names, mask_of, Mask, SigInfo};
use workbook::Sig;

/// The si_value the built-in target's SIGUSR1 handler must get instead of 1.
pub const NEW_VALUE: u64 = 42;

/// At a signal-delivery-stop of the built-in target `signal-lab`, change
/// what a debugger may change, and return the signal to restart it with
/// (`None` suppresses it). `info` is the stop's siginfo (PTRACE_GETSIGINFO,
/// already read), `blocked` the tracee's blocked signals (PTRACE_GETSIGMASK).
/// Three cases, one line of narration each (`{prefix}    ` first), as the
/// chapter's demo prints them:
///
/// - SIGUSR1 queued with si_value 1 (`info.code() == libc::SI_QUEUE`): give
///   the handler NEW_VALUE instead: `info.set_value(NEW_VALUE)`, then
///   `ptrace::setsiginfo(pid, &info.to_raw())` (PTRACE_SETSIGINFO); print
///   `PTRACE_SETSIGINFO: si_value 1 becomes 42 (si_int=42, si_ptr=0x2a)`.
/// - SIGWINCH while SIGUSR2 is blocked: unblock SIGUSR2 only, with
///   `siginfo::setsigmask(pid, mask)` (PTRACE_SETSIGMASK); print
///   `PTRACE_SETSIGMASK: {mask_names(mask)} (SIGUSR2 unblocked: it is pending, so it comes next)`.
/// - SIGTERM that the target raised itself (`info.code() == libc::SI_TKILL`
///   and `info.pid()` is the tracee): suppress it. A SIGTERM from anyone
///   else must still end the program.
///
/// Every other signal is passed on unchanged.
pub fn change_it(
    pid: Pid,
    signal: Sig,
    info: &mut SigInfo,
    blocked: Mask,
    prefix: &str,
) -> Result<Option<Sig>> {
    let usr2 = Sig::new(libc::SIGUSR2).expect("a signal");
    match signal.number() {
        libc::SIGUSR1 if info.code() == libc::SI_QUEUE && info.value() == 1 => {
            let sent = info.value();
            info.set_value(NEW_VALUE);
            eprintln!(
                "{prefix}    PTRACE_SETSIGINFO: si_value {sent} becomes {NEW_VALUE} (si_int={NEW_VALUE}, si_ptr={NEW_VALUE:#x})"
            );
            Ok(Some(signal))
        }
        libc::SIGWINCH if blocked & mask_of(usr2) != 0 => {
            let unblocked = blocked & !mask_of(usr2);
            siginfo::setsigmask(pid, unblocked)?;
            eprintln!(
                "{prefix}    PTRACE_SETSIGMASK: {} (SIGUSR2 unblocked: it is pending, so it comes next)",
                mask_names(unblocked)
            );
            Ok(Some(signal))
        }
        // Only the SIGTERM it raised itself: a kill -TERM from outside still ends it.
        libc::SIGTERM if info.code() == libc::SI_TKILL && info.pid() == pid.as_raw() => Ok(None),
        _ => Ok(Some(signal)),
    }
}
