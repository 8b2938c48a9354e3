//! lab-tracer-tracee: an exec limiter. It runs a command traced, with the
//! chapter's start-up (fork, PTRACE_TRACEME, raise(SIGSTOP), execvp: the
//! demo's own tracee half), and your tracer, in `lab.rs`, names each new
//! program the tracee becomes at its exec, and kills it at the exec that
//! goes past `--max-execs`.
//! `cargo run -p lab-tracer-tracee -- --max-execs 2 -- sh -c 'exec env ls'`.

mod lab;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use tracer_tracee::fork_tracee;
use workbook::{ChildGuard, CommandArgs};

/// Runs a command as a tracee, names every program it executes, and kills
/// it when it executes more than `--max-execs` programs (its own first
/// execve counts).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many successful execve calls the tracee may make, its first
    /// (the command itself) included; the next one is killed.
    #[arg(long, value_name = "N")]
    max_execs: u32,
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = args.command.program("signals")?;
    workbook::narrate!(
        "tracer: running {}, at most {} execs",
        program.label,
        args.max_execs
    );
    let child = fork_tracee(&program)?;
    // An error or a panic in limit_execs kills the child: it is not left
    // stopped, traced by nobody.
    let guard = ChildGuard::new(child);
    let code = lab::limit_execs(child, args.max_execs)?;
    guard.reaped();
    workbook::narrate!("tracer: the tracee is gone; exiting with {code}");
    Ok(ExitCode::from(code))
}

/// Says which program the tracee became at its `count`-th exec (1 for
/// the command's own): `exe`, the file /proc/PID/exe names.
pub fn report_exec(count: u32, exe: &Path) {
    workbook::narrate!("tracer: exec #{count}: {}", exe.display());
}

/// Says that the tracee's `count`-th exec, of `exe`, is one too many.
pub fn report_over_limit(count: u32, exe: &Path) {
    workbook::narrate!(
        "tracer: exec #{count}: {}: over the limit, killing it",
        exe.display()
    );
}
