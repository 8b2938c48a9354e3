//! Mistake: nothing is written at the exit. The skipped call returns what
//! the kernel leaves in rax for syscall -1: -ENOSYS, "Function not
//! implemented", not the errno asked for.
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
        arch::set_syscall_number(&mut regs, u64::MAX);
        arch::write_regs(pid, regs)
    }))
}

pub fn fail_at_exit(pid: Pid, errno: Errno) -> Result<Option<i64>> {
    // errno = EPERM: the program sees the call fail.
    let ret = -(errno as i64);
    Ok(Some(ret))
}

pub fn resume(pid: Pid, status: &Waited) -> Result<()> {
    let signal = match status.stop {
        Stop::Signal(signal) => Some(signal),
        _ => None,
    };
    ptrace_syscall(pid, signal)
}
