//! lab-refuse-trace: the refuse-trace demo, with the lecture's detector
//! written by you in `lab.rs`: PTRACE_TRACEME's failure, and TracerPid in
//! /proc/self/status. It runs like the demo: `cargo run -p lab-refuse-trace`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use nix::unistd::getppid;
use workbook::hints::comm;
use workbook::names::errno_name;

mod lab;

/// Prints "Hello world!", or "DO NOT PTRACE ME!!!" when run under a tracer
/// (gdb, strace, tracer-tracee). The explanation goes to stderr.
#[derive(Parser)]
#[command(version, name = "refuse-trace")]
struct Args {}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    Args::parse();
    match lab::traceme_refused() {
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

fn explain_refusal(errno: nix::errno::Errno) -> Result<()> {
    eprintln!(
        "refuse-trace: PTRACE_TRACEME failed with {}",
        errno_name(errno)
    );
    match lab::tracer_pid()? {
        Some(tracer) => eprintln!(
            "refuse-trace: we are already traced by pid {tracer} ({}): TracerPid in /proc/self/status",
            comm(tracer)
        ),
        None => eprintln!("refuse-trace: no tracer is listed in /proc/self/status"),
    }
    Ok(())
}

fn explain_success() {
    let parent = getppid();
    eprintln!("refuse-trace: PTRACE_TRACEME succeeded, so nobody was tracing us");
    eprintln!(
        "refuse-trace: our parent, pid {parent} ({}), is now our tracer without knowing it; \
         we exit at once, before any signal could stop us",
        comm(parent)
    );
}
