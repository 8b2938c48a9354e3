//! Mistake: any signal-delivery-stop is taken for the one PTRACE_ATTACH
//! asked for. A signal that reached the process first (SIGUSR1, say) is
//! then thrown away by PTRACE_DETACH, and our SIGSTOP, still pending,
//! stops the process after we are gone.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::hints::ptrace_error;
use workbook::stop::is_legacy_exec_trap;
use workbook::{ptrace_cont, wait_for, Event, Sig, Stop, Waited};

pub fn attach(pid: Pid) -> Result<()> {
    ptrace::attach(pid).map_err(|errno| ptrace_error("PTRACE_ATTACH", pid, errno))
}

pub fn seize(pid: Pid) -> Result<()> {
    ptrace::seize(pid, Options::empty()).map_err(|errno| ptrace_error("PTRACE_SEIZE", pid, errno))
}

pub fn interrupt(pid: Pid) -> Result<()> {
    ptrace::interrupt(pid).map_err(|errno| ptrace_error("PTRACE_INTERRUPT", pid, errno))
}

pub fn wait_until_stopped(pid: Pid) -> Result<Waited> {
    loop {
        let status = wait_for(pid, WaitPidFlag::__WALL)?;
        match status.stop {
            Stop::Signal(_) | Stop::Group(_) | Stop::Event(Event::Stop(_)) => return Ok(status),
            Stop::Vanished => {}
            Stop::Exited(_) | Stop::Killed { .. } => {
                bail!("pid {pid} went away while we attached: {}", status.stop)
            }
            other => bail!("pid {pid}: a stop we did not ask for: {other}"),
        }
    }
}

pub fn detach(pid: Pid) -> Result<()> {
    ptrace::detach(pid, None).map_err(|errno| ptrace_error("PTRACE_DETACH", pid, errno))
}
