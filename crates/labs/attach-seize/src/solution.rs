//! Lab: hold every thread of a running process (chapter attach-seize).
//! The reference solution.

use std::collections::HashSet;

use anyhow::{bail, Result};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::hints::ptrace_error;
use workbook::{ptrace_cont, wait_for, Event, Stop};

use crate::threads_of;

pub fn seize_every_thread(pid: Pid, seized: &mut dyn FnMut(Pid)) -> Result<Vec<Pid>> {
    let mut seen = HashSet::new();
    let mut held = Vec::new();
    loop {
        let mut new = Vec::new();
        for tid in threads_of(pid)? {
            if !seen.insert(tid) {
                continue;
            }
            match ptrace::seize(tid, Options::empty()) {
                Ok(()) => {
                    seized(tid);
                    new.push(tid);
                }
                // It ended since we listed it.
                Err(Errno::ESRCH) => {}
                Err(errno) => return Err(ptrace_error("PTRACE_SEIZE", tid, errno)),
            }
        }
        // Threads that are stopped start no more: once a pass finds nothing
        // new, every thread there is, is held.
        if new.is_empty() {
            return Ok(held);
        }
        for &tid in &new {
            ptrace::interrupt(tid).map_err(|errno| ptrace_error("PTRACE_INTERRUPT", tid, errno))?;
        }
        for tid in new {
            if wait_for_stop(tid)? {
                held.push(tid);
            }
        }
    }
}

pub fn wait_for_stop(tid: Pid) -> Result<bool> {
    loop {
        let status = wait_for(tid, WaitPidFlag::__WALL)?;
        match status.stop {
            Stop::Event(Event::Stop(_)) | Stop::Group(_) => return Ok(true),
            Stop::Signal(signal) => ptrace_cont(tid, Some(signal))?,
            Stop::Exited(_) | Stop::Killed { .. } => return Ok(false),
            Stop::Gone => {}
            other => bail!("thread {tid}: a stop we did not ask for: {other}"),
        }
    }
}

pub fn release(threads: &[Pid]) -> Result<()> {
    for &tid in threads {
        ptrace::detach(tid, None).map_err(|errno| ptrace_error("PTRACE_DETACH", tid, errno))?;
    }
    Ok(())
}
