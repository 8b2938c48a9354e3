//! The watchers: one row of the table each, every one a function that runs
//! the `spin` target once under its watcher and returns the nanoseconds its
//! loop took; and `--count-stops`, which runs a command under the tracer of
//! one of the two ptrace rows.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{dup2_stdout, pipe2, Pid};
use workbook::bench::{loop_time, only, spin_time, Cpus};
use workbook::bpf::sock_filter;
use workbook::libseccomp::{ScmpAction, ScmpFilterContext};
use workbook::process::program_name;
use workbook::program::find_executable;
use workbook::seccomp;
use workbook::stop::Event;
use workbook::trace::{spawn_traced_with, spawn_with};
use workbook::{ptrace_cont, wait_for, Program, Stop};

use crate::cli::Watcher;
use crate::filters::{
    decoys, lecture_filter, lecture_numbers, libseccomp_filter, long_chain, reading_an_argument,
};
use crate::notify::user_notif;
use crate::rows::Row;
use workbook::notify::Answer;

/// How many times fewer calls the rows that stop at every call make.
const STOPPING_SHARE: u64 = 20;

/// And the row whose stops also wake another CPU.
const APART_SHARE: u64 = 100;

/// A syscall the target never makes: the ptrace and strace rows that watch
/// only some calls watch this one, and so never stop.
const NEVER_CALLED: &str = "reboot";
const NEVER_CALLED_NR: i64 = libc::SYS_reboot;

// ANCHOR: rows
/// The table: one row per watcher, each a function that runs the `spin`
/// target once under it and returns the nanoseconds its loop took.
pub fn syscall_rows(n: u64, runs: u32, cpus: &Cpus) -> Result<Vec<Row>> {
    let mut rows = seccomp_rows(n, runs)?;
    rows.extend(ptrace_rows(n, runs, cpus)?);
    rows.extend(notify_rows(n, runs, cpus)?);
    rows.extend(strace_rows(n, runs)?);
    Ok(rows)
}

/// The row of the lecture's calls that this architecture has
/// (`seccomp::lecture_dangerous_here`, checked by a test below).
#[cfg(target_arch = "x86_64")]
pub const LIBSECCOMP_LECTURE: &str = "seccomp: libseccomp, the lecture's 63 traps";
#[cfg(target_arch = "aarch64")]
pub const LIBSECCOMP_LECTURE: &str = "seccomp: libseccomp, the lecture's 57 traps";

/// Filters of several shapes, every call allowed: what a filter costs.
fn seccomp_rows(n: u64, runs: u32) -> Result<Vec<Row>> {
    let libseccomp_lecture = libseccomp_filter(&lecture_numbers()?, ScmpAction::Trap, 1)?;
    let libseccomp_tree = libseccomp_filter(&decoys(), ScmpAction::KillProcess, 2)?;
    Ok(vec![
        Row::measure("baseline: untraced", n, runs, unfiltered)?,
        Row::measure("seccomp: allow everything, 1 instruction", n, runs, |n| {
            filtered(n, &seccomp::allow_all())
        })?,
        Row::measure("seccomp: the lecture's 4 checks", n, runs, |n| {
            filtered(n, &lecture_filter())
        })?,
        Row::measure(LIBSECCOMP_LECTURE, n, runs, |n| {
            libseccomp_loaded(n, &libseccomp_lecture)
        })?,
        Row::measure("seccomp: 300 checks in a row", n, runs, |n| {
            filtered(n, &long_chain())
        })?,
        Row::measure("seccomp: libseccomp, the 300 as a tree", n, runs, |n| {
            libseccomp_loaded(n, &libseccomp_tree)
        })?,
        Row::measure("seccomp: reads an argument, then allows", n, runs, |n| {
            filtered(n, &reading_an_argument(seccomp::allow_all()))
        })?,
        Row::measure(
            "seccomp: reads an argument, then 300 checks",
            n,
            runs,
            |n| filtered(n, &reading_an_argument(long_chain())),
        )?,
    ])
}

/// A tracer stopping at every call, on one CPU and across two, and one
/// that a filter never wakes.
fn ptrace_rows(n: u64, runs: u32, cpus: &Cpus) -> Result<Vec<Row>> {
    let stopping = (n / STOPPING_SHARE).max(1);
    Ok(vec![
        Row::measure(
            "ptrace: PTRACE_SYSCALL, 2 stops a call",
            stopping,
            runs,
            |n| ptrace_syscall(n, None),
        )?,
        across_two_cpus(ACROSS_TWO_CPUS, n, runs, cpus, |n, other| {
            ptrace_syscall(n, Some(other))
        })?,
        Row::measure("ptrace: SECCOMP_RET_TRACE, no stops", n, runs, ret_trace)?,
    ])
}

/// A supervisor answering every call, with CONTINUE or a value of its own.
fn notify_rows(n: u64, runs: u32, cpus: &Cpus) -> Result<Vec<Row>> {
    let stopping = (n / STOPPING_SHARE).max(1);
    Ok(vec![
        Row::measure(
            "notify: USER_NOTIF, CONTINUE each call",
            stopping,
            runs,
            |n| user_notif(&spin(n), n, Answer::Continue, None),
        )?,
        Row::measure(
            "notify: USER_NOTIF, a value for each call",
            stopping,
            runs,
            |n| {
                // What the kernel would have returned: the target's parent is us.
                let ppid = i64::from(std::process::id());
                user_notif(&spin(n), n, Answer::Return(ppid), None)
            },
        )?,
        across_two_cpus(NOTIFY_ACROSS_TWO_CPUS, n, runs, cpus, |n, other| {
            user_notif(&spin(n), n, Answer::Continue, Some(other))
        })?,
    ])
}

/// The row whose target runs on the other CPU, or why it was skipped.
fn across_two_cpus(
    label: &'static str,
    n: u64,
    runs: u32,
    cpus: &Cpus,
    once: impl Fn(u64, &CpuSet) -> Result<u64>,
) -> Result<Row> {
    let apart = (n / APART_SHARE).max(1);
    match cpus.other {
        Some(other) => {
            let other = only(other)?;
            Row::measure(label, apart, runs, |n| once(n, &other))
        }
        None => Ok(Row::skipped(label, "this process may use one CPU only")),
    }
}

/// strace, stopping at every call and with its own seccomp filter.
fn strace_rows(n: u64, runs: u32) -> Result<Vec<Row>> {
    let stopping = (n / STOPPING_SHARE).max(1);
    let strace = find_executable(OsStr::new("strace")).ok();
    let bash = find_executable(OsStr::new("bash")).ok();
    let mut rows = Vec::new();
    for (label, calls, filtered) in [
        ("reference: strace -f", stopping, false),
        ("reference: strace --seccomp-bpf -f", n, true),
    ] {
        rows.push(match (&strace, &bash) {
            (Some(strace), Some(bash)) => Row::measure(label, calls, runs, |n| {
                under_strace(strace, bash, filtered, n)
            })?,
            (None, _) => Row::skipped(label, "strace is not installed"),
            (_, None) => Row::skipped(label, "bash is not installed"),
        });
    }
    Ok(rows)
}
// ANCHOR_END: rows

/// The one ptrace row whose tracee runs on another CPU than its tracer.
pub const ACROSS_TWO_CPUS: &str = "ptrace: PTRACE_SYSCALL, across two CPUs";

/// And the user-notification row whose target runs on another CPU than
/// its supervisor.
pub const NOTIFY_ACROSS_TWO_CPUS: &str = "notify: USER_NOTIF, across two CPUs";

/// The target: `spin N`, this binary under the name `builtin:spin`.
pub fn spin(n: u64) -> Program {
    Program::builtin("spin", &[&n.to_string()])
}

// ANCHOR: seccomp_rows
/// The target with no watcher.
pub fn unfiltered(n: u64) -> Result<u64> {
    run_in_child(n, || Ok(()))
}

/// The target under a filter installed by hand: no_new_privs, then
/// seccomp(SECCOMP_SET_MODE_FILTER), in the child before execvp.
fn filtered(n: u64, filter: &[sock_filter]) -> Result<u64> {
    run_in_child(n, || {
        seccomp::no_new_privs()?;
        seccomp::install(filter)
    })
}

/// The target under a libseccomp filter: seccomp_load in the child (it
/// sets no_new_privs itself).
fn libseccomp_loaded(n: u64, ctx: &ScmpFilterContext) -> Result<u64> {
    run_in_child(n, || {
        ctx.load().map_err(|error| {
            error
                .sysrawrc()
                .map_or(Errno::EINVAL, |rc| Errno::from_raw(-rc))
        })
    })
}
// ANCHOR_END: seccomp_rows

/// The target, untraced: in the child, stdout into a pipe, then `prepare`,
/// then execvp; in the parent, its stdout and its exit. This process has
/// one thread, so `prepare` may allocate (libseccomp builds its program).
fn run_in_child(n: u64, prepare: impl FnOnce() -> Result<(), Errno>) -> Result<u64> {
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let guard = spawn_with(&spin(n), || {
        stdout_to(&write_end)?;
        prepare()
    })?;
    drop(write_end);
    let waited = wait_for(guard.pid(), WaitPidFlag::empty())?;
    guard.reaped();
    loop_time(waited.stop, output)
}

/// dup2(pipe, 1): the target's stdout goes to us.
pub fn stdout_to(write_end: &OwnedFd) -> Result<(), Errno> {
    dup2_stdout(write_end)
}

// ANCHOR: ptrace_syscall
/// The blocker's way: stop at every syscall's entry and at its exit, look
/// at the stop, restart with PTRACE_SYSCALL, passing signals on. With
/// `apart`, the tracee moves to that CPU before execvp, away from its tracer.
fn ptrace_syscall(n: u64, apart: Option<&CpuSet>) -> Result<u64> {
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let options = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
    let guard = spawn_traced_with(&spin(n), options, || {
        stdout_to(&write_end)?;
        match apart {
            Some(cpu) => sched_setaffinity(Pid::from_raw(0), cpu),
            None => Ok(()),
        }
    })?;
    drop(write_end);
    let pid = guard.pid();
    let (end, stops) = syscall_stops(pid)?;
    guard.reaped();
    // Each getppid call (and each call of the start-up) stops the target twice.
    if stops < 2 * n {
        bail!(
            "PTRACE_SYSCALL stopped the target {stops} times for {n} getppid calls: \
             it stops at every call's entry and at its exit"
        );
    }
    loop_time(end, output)
}

// ANCHOR: syscall_stops
/// The tracer: PTRACE_SYSCALL after every stop until the target is gone.
/// Returns its end and the number of syscall stops.
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
        workbook::ptrace_syscall(pid, signal)?;
    }
}
// ANCHOR_END: syscall_stops
// ANCHOR_END: ptrace_syscall

// ANCHOR: ret_trace
/// The filter decides: SECCOMP_RET_TRACE for reboot, ALLOW for the rest,
/// and PTRACE_CONT. The tracee stops only where the filter says, and the
/// target never calls reboot: a tracer is there, and never woken.
fn ret_trace(n: u64) -> Result<u64> {
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let options = Options::PTRACE_O_TRACESECCOMP | Options::PTRACE_O_TRACEEXEC;
    let filter = seccomp::trace_only_native(&[NEVER_CALLED_NR as u64]);
    let guard = spawn_traced_with(&spin(n), options, || {
        stdout_to(&write_end)?;
        seccomp::no_new_privs()?;
        seccomp::install(&filter)
    })?;
    drop(write_end);
    let pid = guard.pid();
    let (end, stops) = seccomp_stops(pid)?;
    guard.reaped();
    if stops > 0 {
        bail!("the target called {NEVER_CALLED} {stops} times");
    }
    loop_time(end, output)
}

// ANCHOR: seccomp_stops
/// The tracer: PTRACE_CONT after every stop until the target is gone.
/// Returns its end and the number of seccomp stops.
fn seccomp_stops(pid: Pid) -> Result<(Stop, u64)> {
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
// ANCHOR_END: seccomp_stops
// ANCHOR_END: ret_trace

// ANCHOR: strace
/// strace, on the same target. strace can't set argv[0], so bash does:
/// `exec -a builtin:spin` replaces bash with this binary under the
/// target's name. The target times its own loop: bash costs nothing here.
fn under_strace(strace: &Path, bash: &Path, seccomp_bpf: bool, n: u64) -> Result<u64> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let mut command = Command::new(strace);
    if seccomp_bpf {
        command.args(["--seccomp-bpf", "-e", &format!("trace={NEVER_CALLED}")]);
    }
    command
        .args(["-f", "-o", "/dev/null"])
        .arg(bash)
        .args(["-c", r#"exec -a builtin:spin "$0" "$1""#])
        .arg(exe)
        .arg(n.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let output = command.output().context("running strace")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("strace failed ({}): {text}", output.status);
    }
    spin_time(&text)
}
// ANCHOR_END: strace

/// `--count-stops ROW CMD`: CMD, traced as the row `ROW` traces its target,
/// with the same tracer loop; the count of its stops on stderr, and its
/// exit status for ours. The tests run a target whose number of calls only
/// it knows, and check the count.
pub fn count_stops(watcher: Watcher, command: &[OsString]) -> Result<ExitCode> {
    let program = Program::from_command_line(command, "spin")?;
    let (end, stops, what) = match watcher {
        Watcher::Syscall => {
            let options = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
            let guard = spawn_traced_with(&program, options, || Ok(()))?;
            let (end, stops) = syscall_stops(guard.pid())?;
            guard.reaped();
            (end, stops, "syscall stops (PTRACE_SYSCALL)")
        }
        Watcher::Seccomp => {
            let options = Options::PTRACE_O_TRACESECCOMP | Options::PTRACE_O_TRACEEXEC;
            let filter = seccomp::trace_only_native(&[NEVER_CALLED_NR as u64]);
            let guard = spawn_traced_with(&program, options, || {
                seccomp::no_new_privs()?;
                seccomp::install(&filter)
            })?;
            let (end, stops) = seccomp_stops(guard.pid())?;
            guard.reaped();
            (end, stops, "seccomp stops (SECCOMP_RET_TRACE for reboot)")
        }
    };
    workbook::narrate!(
        "{}: {}: {stops} {what}, then {end}",
        program_name(),
        program.label
    );
    Ok(ExitCode::from(end.exit_code().unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lecture_row_counts_this_architectures_calls() {
        let count = seccomp::lecture_dangerous_here().to_string();
        assert!(
            LIBSECCOMP_LECTURE.contains(&format!(" {count} traps")),
            "{LIBSECCOMP_LECTURE}"
        );
    }
}
