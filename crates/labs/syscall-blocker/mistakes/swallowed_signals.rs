//! Mistake: every restart passes no signal. A signal-delivery-stop's
//! signal is then thrown away: the program's handlers never run, as if
//! nobody had sent it.
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
    let set = unless_vanished(arch::read_regs(pid).and_then(|mut regs| {
        arch::set_return_value(&mut regs, ret);
        arch::write_regs(pid, regs)
    }))?;
    Ok(set.map(|()| ret))
}

pub fn resume(pid: Pid, status: &Waited) -> Result<()> {
    ptrace_syscall(pid, None)
}
