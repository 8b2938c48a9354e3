//! Lab: a debugger changes signals (chapter signal-control).
//!
//! The tracer in `main.rs` stops the built-in target at each of its
//! signals, shows the siginfo (PTRACE_GETSIGINFO) and the blocked set
//! (PTRACE_GETSIGMASK), and asks `change_it` what to do. Write it: the
//! lecture's other two requests, PTRACE_SETSIGINFO and PTRACE_SETSIGMASK,
//! and a signal the debugger keeps from the program. Run it with
//! `cargo run -p lab-signal-control`; check it with
//! `scripts/labs check signal-control`.
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
    todo!("PTRACE_SETSIGINFO, PTRACE_SETSIGMASK, and a suppressed SIGTERM")
}
