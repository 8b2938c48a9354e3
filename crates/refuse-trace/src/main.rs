// refuse-trace: the lecture's `refuse`. PTRACE_TRACEME fails when somebody
// already traces us, so a program can notice a debugger and refuse to run.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use nix::sys::ptrace;
use nix::unistd::{getppid, Pid};
use workbook::hints::{comm, tracer_of};
use workbook::names::errno_name;

/// Prints "Hello world!", or "DO NOT PTRACE ME!!!" when run under a tracer
/// (gdb, strace, tracer-tracee). The explanation goes to stderr.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    workbook::main(run)
}

// ANCHOR: refuse
/// PTRACE_TRACEME fails when somebody traces us already: its errno, or
/// `None` when it succeeds.
fn traceme_refused() -> Option<nix::errno::Errno> {
    ptrace::traceme().err()
}

fn run() -> Result<ExitCode> {
    Args::parse();
    match traceme_refused() {
        Some(errno) => {
            println!("DO NOT PTRACE ME!!!");
            explain_refusal(errno)?;
        }
        None => {
            println!("Hello world!");
            explain_success();
        }
    }
    Ok(ExitCode::SUCCESS)
}
// ANCHOR_END: refuse

fn explain_refusal(errno: nix::errno::Errno) -> Result<()> {
    workbook::narrate!(
        "refuse-trace: PTRACE_TRACEME failed with {}",
        errno_name(errno)
    );
    match tracer_pid()? {
        Some(tracer) => workbook::narrate!(
            "refuse-trace: we are already traced by pid {tracer} ({}): TracerPid in /proc/self/status",
            comm(tracer)
        ),
        None => workbook::narrate!("refuse-trace: no tracer is listed in /proc/self/status"),
    }
    Ok(())
}

/// Who traces us: TracerPid in /proc/self/status, `None` for 0.
fn tracer_pid() -> Result<Option<Pid>> {
    Ok(tracer_of(Pid::this()))
}

fn explain_success() {
    let parent = getppid();
    workbook::narrate!("refuse-trace: PTRACE_TRACEME succeeded, so nobody was tracing us");
    workbook::narrate!(
        "refuse-trace: our parent, pid {parent} ({}), is now our tracer without knowing it; \
         we exit at once, before any signal could stop us",
        comm(parent)
    );
}
