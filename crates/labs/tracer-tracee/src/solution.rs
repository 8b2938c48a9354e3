//! Lab: an exec limiter (chapter tracer-tracee). The reference solution.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::{ptrace_cont, wait_for, Event, Sig, Stop};

use crate::{report_exec, report_over_limit};

/// The program `pid` runs now, as the kernel names it.
fn exe_of(pid: Pid) -> Result<PathBuf> {
    let link = format!("/proc/{pid}/exe");
    std::fs::read_link(&link).with_context(|| format!("readlink {link}"))
}

pub fn limit_execs(pid: Pid, max_execs: u32) -> Result<u8> {
    let handshake = wait_for(pid, WaitPidFlag::empty())?;
    if handshake.stop != Stop::Signal(Sig::SIGSTOP) {
        bail!(
            "pid {pid}: {:#x} ({}) instead of its SIGSTOP",
            handshake.raw,
            handshake.stop
        );
    }
    // Set while it is stopped before its execvp: the first exec is seen too.
    ptrace::setoptions(
        pid,
        Options::PTRACE_O_EXITKILL | Options::PTRACE_O_TRACEEXEC,
    )
    .with_context(|| format!("PTRACE_SETOPTIONS of pid {pid}"))?;
    ptrace_cont(pid, None)?;
    let mut execs = 0;
    loop {
        let status = wait_for(pid, WaitPidFlag::__WALL)?;
        let pass_on = match status.stop {
            Stop::Event(Event::Exec { .. }) => {
                execs += 1;
                let exe = exe_of(pid)?;
                if execs > max_execs {
                    report_over_limit(execs, &exe);
                    // Stopped at the exec: not one instruction of it has run.
                    kill(pid, Signal::SIGKILL).with_context(|| format!("kill({pid}, SIGKILL)"))?;
                    continue;
                }
                report_exec(execs, &exe);
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Exited(_) | Stop::Killed { .. } => {
                return status.stop.exit_code().context("exited or killed");
            }
            Stop::Gone => continue,
            _ => None,
        };
        ptrace_cont(pid, pass_on)?;
    }
}
