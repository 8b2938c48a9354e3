//! `--count`: the whole program single-stepped, its instructions in user
//! space counted and timed; with `--versus-syscall`, a second, measuring
//! pass under PTRACE_SYSCALL for the cost of a syscall stop beside it.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use breakpoint::int3::single_step;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::unistd::Pid;
use workbook::gone::{unless_gone, OrGone};
use workbook::trace::{
    no_address_randomization, spawn_traced_with, Resume, Tracees, FOLLOW_CHILDREN,
};
use workbook::{ptrace_cont, ptrace_listen, ptrace_syscall, Event, Program, Sig, Stop};

use crate::show::{per, seconds};

// ANCHOR: count
/// `--count`: PTRACE_SINGLESTEP from the execve to the exit, one stop per
/// instruction in user space, counted and timed.
pub fn count(program: &Program, versus_syscall: bool) -> Result<ExitCode> {
    let cpu = workbook::bench::pin_to_one_cpu()?.one;
    say!(
        "running {}, single-stepped; pinned to CPU {cpu} (sched_setaffinity, inherited): \
         tracer and tracee take turns on one CPU; without address randomization, as under gdb",
        program.label
    );
    // As gdb does, without address randomization: where the stack and the
    // libraries land changes how many instructions string and memory
    // routines take, and the count would differ from run to run.
    let mut tracees = Tracees::new(
        spawn_traced_with(program, FOLLOW_CHILDREN, no_address_randomization)?,
        Resume::Cont,
    );
    let mut steps = 0u64;
    // The program's first thread is stepped from its execve on; threads
    // and children it starts run freely (their first stop is resumed
    // with PTRACE_CONT for us).
    let took = timed(&mut tracees, |pid, stop, stepping| {
        let signal = match stop {
            Stop::Signal(Sig::SIGTRAP) if stepping && is_step_trap(pid)? => {
                steps += 1;
                None
            }
            Stop::Signal(signal) => Some(signal),
            _ => None,
        };
        match stepping {
            true => single_step(pid, signal),
            false => ptrace_cont(pid, signal),
        }
    })?;
    let code = tracees.exit_code()?;
    drop(tracees);
    say!(
        "{steps} instructions in user space (one PTRACE_SINGLESTEP stop each), {}: {} per step",
        seconds(took),
        per(took, steps)
    );
    if versus_syscall {
        let (syscalls, stops, took) = syscall_pass(program)?;
        say!(
            "the same program under PTRACE_SYSCALL (its output to /dev/null): {syscalls} syscalls, \
             {stops} stops, {}: {} per syscall, {} per stop",
            seconds(took),
            per(took, syscalls),
            per(took, stops)
        );
    }
    Ok(ExitCode::from(code))
}

/// The loop both passes share: the program timed from its first thread's
/// execve to its exit, kill -STOP left to it (PTRACE_LISTEN), and every
/// other stop given to `stopped`, which restarts the tracee; with it, true
/// for the program's first thread from its execve on (the one stepped).
fn timed(
    tracees: &mut Tracees,
    mut stopped: impl FnMut(Pid, Stop, bool) -> Result<()>,
) -> Result<Duration> {
    let first = tracees.first();
    ptrace_cont(first, None)?;
    let (mut started, mut took) = (None, Duration::ZERO);
    while let Some(waited) = tracees.wait()? {
        let pid = waited.pid;
        match waited.stop {
            Stop::Event(Event::Exec { .. }) if pid == first && started.is_none() => {
                started = Some(Instant::now());
            }
            Stop::Group(_) => {
                ptrace_listen(pid)?;
                continue;
            }
            Stop::Exited(_) | Stop::Killed { .. } => {
                if pid == first {
                    took = started.map_or(Duration::ZERO, |at| at.elapsed());
                }
                continue;
            }
            _ => {}
        }
        stopped(pid, waited.stop, pid == first && started.is_some())?;
    }
    Ok(took)
}
// ANCHOR_END: count

/// Whether the SIGTRAP is a single step's, which the kernel sends
/// (`arch::is_single_step_trap`), not the program's own.
fn is_step_trap(pid: Pid) -> Result<bool> {
    let info = unless_gone(ptrace::getsiginfo(pid).or_gone("PTRACE_GETSIGINFO", pid))?;
    Ok(info.is_some_and(|info| workbook::arch::is_single_step_trap(&info)))
}

/// The program again, under PTRACE_SYSCALL from its execve to its exit:
/// how many syscalls, stops, and how long.
fn syscall_pass(program: &Program) -> Result<(u64, u64, Duration)> {
    let null = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .context("opening /dev/null")?;
    let null_fd = std::os::fd::AsRawFd::as_raw_fd(&null);
    let options = FOLLOW_CHILDREN | Options::PTRACE_O_TRACESYSGOOD;
    let quiet = move || {
        // SAFETY: dup2 is async-signal-safe and touches no memory.
        let ok = unsafe { libc::dup2(null_fd, 1) >= 0 && libc::dup2(null_fd, 2) >= 0 };
        if ok {
            Ok(())
        } else {
            Err(Errno::last())
        }
    };
    let mut tracees = Tracees::new(spawn_traced_with(program, options, quiet)?, Resume::Syscall);
    let (mut syscalls, mut stops) = (0, 0);
    let took = timed(&mut tracees, |pid, stop, _| {
        let signal = match stop {
            Stop::SyscallEnter { .. } => {
                syscalls += 1;
                stops += 1;
                None
            }
            Stop::SyscallExit { .. } => {
                stops += 1;
                None
            }
            Stop::Signal(signal) => Some(signal),
            _ => None,
        };
        ptrace_syscall(pid, signal)
    })?;
    Ok((syscalls, stops, took))
}
