//! Mistake: -1 goes into rax, not orig_rax. At the syscall entry the
//! kernel takes the number from orig_rax, so the call runs; only its result
//! is replaced at the exit. The program sees a failure of a call that
//! happened (a "failed" write that was written).
#![allow(unused_imports, unused_variables)]

use anyhow::Result;
use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::arch;
use workbook::trace::unless_vanished;
use workbook::{ptrace_syscall, Sig, Stop, Waited};

pub fn block_at_entry(pid: Pid) -> Result<Option<()>> {
    // Is this system call permitted? No: run syscall -1 instead.
    unless_vanished(arch::read_regs(pid).and_then(|mut regs| {
        arch::set_return_value(&mut regs, -1);
        arch::write_regs(pid, regs)
    }))
}

pub fn fail_at_exit(pid: Pid, errno: Errno) -> Result<Option<i64>> {
    // errno = EPERM: the program sees the call fail.
    let ret = -(errno as i64);
    let set = unless_vanished(arch::read_regs(pid).and_then(|mut regs| {
        arch::set_return_value(&mut regs, ret);
        arch::write_regs(pid, regs)
    }))?;
    Ok(set.map(|()| ret))
}

pub fn resume(pid: Pid, status: &Waited) -> Result<()> {
    let signal = match status.stop {
        Stop::Signal(signal) => Some(signal),
        _ => None,
    };
    ptrace_syscall(pid, signal)
}
