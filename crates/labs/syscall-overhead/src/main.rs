//! lab-syscall-overhead: a row the syscall-overhead table doesn't have.
//! PTRACE_SYSEMU stops the tracee once a call, at its entry, and the kernel
//! never runs the call: the tracer answers it. User-mode kernels work this
//! way (User-Mode Linux, gVisor's ptrace platform). Your `lab.rs` answers
//! the target's getppid calls with a value of the tracer's; this program
//! gives the rest and measures it beside the untraced loop and the demo's
//! PTRACE_SYSCALL tracer:
//!
//! `cargo run --release -p lab-syscall-overhead -- [-n N] [-r RUNS]`, or
//! `cargo run -p lab-syscall-overhead -- --emulate VALUE -- CMD ARGS...` to
//! run a command under your tracer alone.

use std::cell::Cell;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::fcntl::OFlag;
use nix::sys::ptrace::Options;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{pipe2, Pid};
use syscall_overhead::rows::Row;
use syscall_overhead::watchers::{spin, stdout_to, syscall_stops, unfiltered};
use workbook::arch::{read_regs, write_regs};
use workbook::bench::{loop_time, pin_to_one_cpu};
use workbook::process::program_name;
use workbook::targets::overhead::GETPPIDS_MAX;
use workbook::trace::spawn_traced_with;
use workbook::{ptrace_cont, ptrace_syscall, wait_for, ChildGuard, Program, Sig, Stop};

mod lab;

/// Measures PTRACE_SYSEMU, a tracer that answers getppid itself, beside
/// no tracer and PTRACE_SYSCALL: a loop of getppid calls in a built-in
/// target, timed by the target. Build with --release.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// getppid calls per run.
    #[arg(
        short = 'n',
        long,
        default_value_t = 20_000,
        value_parser = clap::value_parser!(u64).range(1..=GETPPIDS_MAX)
    )]
    iterations: u64,

    /// Runs per row: the table shows their median, minimum and maximum.
    #[arg(
        short,
        long,
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    runs: u32,

    /// Instead of measuring: run CMD (by default the built-in target
    /// `spin 10`) under your tracer, which answers each getppid call after
    /// the first with VALUE; it stops emulating at the first other call.
    /// The exit status is CMD's.
    #[arg(long, value_name = "VALUE", conflicts_with_all = ["iterations", "runs"])]
    emulate: Option<u64>,

    /// With --emulate: the command to run, and its arguments.
    #[arg(trailing_var_arg = true, value_name = "CMD ARGS", requires = "emulate")]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    if let Some(value) = args.emulate {
        return emulate_in(&args.command, value);
    }
    if cfg!(debug_assertions) {
        workbook::narrate!(
            "{}: built in debug mode: numbers are for the shape only; use --release",
            program_name()
        );
    }
    // Tracer and tracee on one CPU, as in the demo: a stop is a context
    // switch, not a wake-up of another CPU.
    pin_to_one_cpu()?;
    let n = args.iterations;
    let value = 4_000_000_000 + u64::from(std::process::id());
    let rows = [
        measure("baseline: untraced", n, args.runs, |n| {
            Ok((unfiltered(n)?, 0))
        })?,
        measure(
            "ptrace: PTRACE_SYSCALL, 2 stops a call",
            n,
            args.runs,
            ptrace_syscall_row,
        )?,
        measure("ptrace: PTRACE_SYSEMU, 1 stop a call", n, args.runs, |n| {
            sysemu_row(n, value)
        })?,
    ];
    println!(
        "getppid in a loop, {n} calls, {} runs a row; ns per call",
        args.runs
    );
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>14}",
        "", "median", "min", "max", "stops a call"
    );
    for (row, stops_per_call) in &rows {
        if let Ok(spread) = row.result {
            println!(
                "{:<40} {:>9.1} {:>9.1} {:>9.1} {:>14.2}",
                row.label, spread.median, spread.min, spread.max, stops_per_call
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One row of the demo's table (`Row::measure`: ns per call over the
/// runs), and the tracer's stops per call, from `once`, which runs the
/// target once and returns the loop's time in ns and the stops.
fn measure(
    label: &'static str,
    n: u64,
    runs: u32,
    once: impl Fn(u64) -> Result<(u64, u64)>,
) -> Result<(Row, f64)> {
    let stops = Cell::new(0);
    let row = Row::measure(label, n, runs, |n| {
        let (ns, seen) = once(n)?;
        stops.set(seen);
        Ok(ns)
    })?;
    Ok((row, stops.get() as f64 / n as f64))
}

/// The target traced, its stdout into a pipe that `loop_time` reads.
fn traced(program: &Program) -> Result<(ChildGuard, OwnedFd)> {
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let options = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
    let guard = spawn_traced_with(program, options, || stdout_to(&write_end))?;
    Ok((guard, output))
}

/// The demo's row: its PTRACE_SYSCALL tracer until the target is gone.
fn ptrace_syscall_row(n: u64) -> Result<(u64, u64)> {
    let (guard, output) = traced(&spin(n))?;
    let (end, stops) = syscall_stops(guard.pid())?;
    guard.reaped();
    Ok((loop_time(end, output)?, stops))
}

/// The new row: PTRACE_SYSCALL to the exit of the first getppid; your
/// emulation of the N timed ones; the call after them run after all; on to
/// the end with PTRACE_CONT.
fn sysemu_row(n: u64, value: u64) -> Result<(u64, u64)> {
    let (guard, output) = traced(&spin(n))?;
    let pid = guard.pid();
    let (emulated, stops) = emulate(pid, value)?;
    if emulated != n {
        bail!("your emulate_getppid emulated {emulated} getppid calls of the target's {n}");
    }
    let end = to_the_end(pid)?;
    guard.reaped();
    Ok((loop_time(end, output)?, stops))
}

/// `--emulate VALUE [CMD]`: CMD (or `spin 10`) traced, its getppid calls after the first
/// answered with VALUE by your tracer; its exit status for ours.
fn emulate_in(command: &[OsString], value: u64) -> Result<ExitCode> {
    let program = match command {
        [] => spin(10),
        command => Program::from_command_line(command, "spin")?,
    };
    let options = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
    let guard = spawn_traced_with(&program, options, || Ok(()))?;
    let (emulated, stops) = emulate(guard.pid(), value)?;
    let end = to_the_end(guard.pid())?;
    guard.reaped();
    workbook::narrate!(
        "{}: {}: {emulated} getppid calls answered with {value}, {stops} stops in all; then {end}",
        program_name(),
        program.label
    );
    Ok(ExitCode::from(end.exit_code().unwrap_or(1)))
}

/// The target traced with PTRACE_SYSCALL to the exit of its first getppid,
/// then your `emulate_getppid`: the getppid calls emulated, and the
/// tracer's syscall stops in all. The target is left stopped at the entry
/// of the call that ended the emulation, or gone.
fn emulate(pid: Pid, value: u64) -> Result<(u64, u64)> {
    let mut entered_getppid = false;
    let (end, before) = trace_syscalls(pid, |stop| match *stop {
        Stop::SyscallEnter { nr, .. } => {
            entered_getppid = nr == libc::SYS_getppid as u64;
            false
        }
        Stop::SyscallExit { .. } => entered_getppid,
        _ => false,
    })?;
    if let Some(end) = end {
        bail!("the target ended ({end}) without calling getppid");
    }
    let emulated = lab::emulate_getppid(pid, value)?;
    // One stop for each emulated call, and one at the call that ended it.
    Ok((emulated, before + emulated + 1))
}

/// PTRACE_SYSCALL, passing signals on, until `stop_at` says so at a
/// syscall stop (`None`: the target is still stopped there) or the target
/// is gone (its end). Returns that, and the syscall stops counted.
fn trace_syscalls(pid: Pid, stop_at: impl FnMut(&Stop) -> bool) -> Result<(Option<Stop>, u64)> {
    follow(pid, ptrace_syscall, stop_at)
}

/// From the entry stop where your emulation ended: PTRACE_SYSEMU has
/// decided, at that entry, that the kernel skips the call. Back to its
/// `syscall` instruction (2 bytes before rip), with its number in rax
/// again, and on with PTRACE_CONT: the instruction runs again, untraced,
/// and the call with it. Then on to the target's end, passing signals on.
fn to_the_end(pid: Pid) -> Result<Stop> {
    let mut regs = read_regs(pid)?;
    regs.rip -= 2;
    regs.rax = regs.orig_rax;
    write_regs(pid, regs)?;
    match follow(pid, ptrace_cont, |_| false)? {
        (Some(end), _) => Ok(end),
        (None, _) => bail!("pid {pid} stopped at a syscall under PTRACE_CONT"),
    }
}

/// `restart` (PTRACE_SYSCALL or PTRACE_CONT), passing signals on, until
/// `stop_at` says so at a syscall stop or the target is gone.
fn follow(
    pid: Pid,
    restart: fn(Pid, Option<Sig>) -> Result<()>,
    mut stop_at: impl FnMut(&Stop) -> bool,
) -> Result<(Option<Stop>, u64)> {
    let mut stops = 0;
    let mut signal = None;
    loop {
        restart(pid, signal.take())?;
        let waited = wait_for(pid, WaitPidFlag::__WALL)?;
        match waited.stop {
            Stop::SyscallEnter { .. } | Stop::SyscallExit { .. } => {
                stops += 1;
                if stop_at(&waited.stop) {
                    return Ok((None, stops));
                }
            }
            Stop::Signal(sig) => signal = Some(sig),
            Stop::Exited(_) | Stop::Killed { .. } => return Ok((Some(waited.stop), stops)),
            _ => {}
        }
    }
}
