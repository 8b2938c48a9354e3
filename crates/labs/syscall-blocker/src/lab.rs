//! Lab: make a syscall fail (chapter syscall-blocker).
//!
//! Write what the tracer does at the two stops of a blocked syscall, and how
//! it restarts the tracee after every stop. The rest of the tracer (the
//! PTRACE_SYSCALL loop, the choice of calls to block, the strace-style
//! printing) is given in `main.rs`; run your version with
//! `cargo run -p lab-syscall-blocker -- --block write -- echo hi`, and check
//! it with `scripts/labs check syscall-blocker`.
#![allow(unused_imports, unused_variables)]

use anyhow::Result;
use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::arch;
use workbook::trace::unless_vanished;
use workbook::{ptrace_syscall, Sig, Stop, Waited};

/// At the syscall-enter-stop of a call to block: make the kernel run no
/// syscall at all. The lecture reads the registers
/// (`ptrace(PTRACE_GETREGS)`: `arch::read_regs(pid)`), sets the syscall
/// number, `orig_rax` on x86_64, to -1 (`arch::set_syscall_number(&mut
/// regs, u64::MAX)`), and writes them back (`ptrace(PTRACE_SETREGS)`:
/// `arch::write_regs(pid, regs)`). There is no syscall -1: the kernel skips
/// the call and goes straight to its exit.
///
/// The tracee may be killed (SIGKILL) while we do this: the ptrace calls
/// then fail with ESRCH. Wrap the result in `unless_vanished(...)`: it
/// returns `Ok(None)` then, `Ok(Some(()))` when the registers were written.
pub fn block_at_entry(pid: Pid) -> Result<Option<()>> {
    todo!("PTRACE_GETREGS, orig_rax = -1, PTRACE_SETREGS")
}

/// At the syscall-exit-stop of a blocked call: make it fail with `errno`.
/// A syscall returns a failure as a negative errno in `rax` (glibc turns
/// -1..-4095 into -1 and sets `errno`), so set the return value to
/// `-errno` (`arch::set_return_value(&mut regs, ...)`), between the same
/// `arch::read_regs` and `arch::write_regs` as at the entry. Return the
/// value you set, or `None` when the tracee vanished (`unless_vanished`).
pub fn fail_at_exit(pid: Pid, errno: Errno) -> Result<Option<i64>> {
    todo!("PTRACE_GETREGS, rax = -errno, PTRACE_SETREGS")
}

/// After any stop but a group-stop: on to the next syscall entry or exit,
/// with `ptrace(PTRACE_SYSCALL, pid, 0, sig)` (`ptrace_syscall(pid,
/// signal)`). `sig` is the signal to deliver. Only a signal-delivery-stop
/// (`Stop::Signal(signal)`) has one: that signal was meant for the program
/// and must reach it. Every other stop (a syscall stop, an event, the end of
/// a thread...) has none to deliver, whatever WSTOPSIG says.
pub fn resume(pid: Pid, status: &Waited) -> Result<()> {
    todo!("PTRACE_SYSCALL, passing the signal of a signal-delivery-stop on")
}
