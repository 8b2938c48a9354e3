//! Mistake: the loop restarts the target with PTRACE_CONT. Only the first
//! restart was PTRACE_SYSCALL: the target stops once, at its first call,
//! and then runs as fast as untraced; the row measures nothing.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Context, Result};
use nix::sys::ptrace;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::stop::Event;
use workbook::targets::overhead::BUFFER_LEN;
use workbook::{ptrace_cont, ptrace_syscall, wait_for, Stop};

pub fn syscall_stops(pid: Pid) -> Result<(Stop, u64)> {
    let mut stops = 0;
    ptrace::syscall(pid, None).context("PTRACE_SYSCALL")?;
    loop {
        let waited = wait_for(pid, WaitPidFlag::__WALL)?;
        let signal = match waited.stop {
            Stop::SyscallEnter { .. } | Stop::SyscallExit { .. } => {
                stops += 1;
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Exited(_) | Stop::Killed { .. } => return Ok((waited.stop, stops)),
            _ => None,
        };
        ptrace_cont(pid, signal)?;
    }
}

pub fn seccomp_stops(pid: Pid) -> Result<(Stop, u64)> {
    let mut stops = 0;
    ptrace::cont(pid, None).context("PTRACE_CONT")?;
    loop {
        let waited = wait_for(pid, WaitPidFlag::__WALL)?;
        let signal = match waited.stop {
            Stop::Event(Event::Seccomp { .. }) => {
                stops += 1;
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Exited(_) | Stop::Killed { .. } => return Ok((waited.stop, stops)),
            _ => None,
        };
        ptrace_cont(pid, signal)?;
    }
}

pub fn vm_readv(pid: Pid, address: u64) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; BUFFER_LEN];
    let mut done = 0;
    while done < BUFFER_LEN {
        let remote = RemoteIoVec {
            base: address as usize + done,
            len: BUFFER_LEN - done,
        };
        let local = std::io::IoSliceMut::new(&mut bytes[done..]);
        match process_vm_readv(pid, &mut [local], &[remote]).context("process_vm_readv")? {
            0 => bail!("process_vm_readv read nothing at {:#x}", remote.base),
            read => done += read,
        }
    }
    Ok(bytes)
}
