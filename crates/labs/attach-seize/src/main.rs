//! lab-attach-seize: hold every thread of a running process, then let
//! them all go. The tracer's part is yours, in `lab.rs`; this file gives
//! the command line, the narration and the wait for you:
//! `cargo run -p lab-attach-seize -- --pid PID`.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use nix::unistd::Pid;

mod lab;

/// Seizes and stops every thread of a running process, holds them until
/// you press Enter, then detaches them all.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The process whose threads to hold.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pid: i32,
    /// After the first PTRACE_SEIZE, say `seized TID` on stdout and wait
    /// for a line on stdin (the grading tests start threads then).
    #[arg(long)]
    step: bool,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let pid = Pid::from_raw(args.pid);
    let mut first = true;
    let mut seized = |tid: Pid| {
        workbook::narrate!("attach-seize: PTRACE_SEIZE: thread {tid} is ours, and runs on");
        if args.step && std::mem::take(&mut first) {
            // A closure can't return an error: a broken stdin or stdout
            // only ends the step early.
            let _ = say(&format!("seized {tid}")).and_then(|()| next_line());
        }
    };
    let threads = lab::seize_every_thread(pid, &mut seized)?;
    let tids: Vec<String> = threads.iter().map(Pid::to_string).collect();
    workbook::narrate!(
        "attach-seize: holding {} threads of pid {pid}, each in a ptrace-stop: {}",
        threads.len(),
        tids.join(" ")
    );
    say(&format!("holding {}", threads.len()))?;
    workbook::narrate!("attach-seize: press Enter to let them go");
    next_line()?;
    lab::release(&threads)?;
    workbook::narrate!("attach-seize: PTRACE_DETACH: they run on, untraced");
    say(&format!("released {}", threads.len()))?;
    // Still here, so that you (and the tests) can watch them run untraced
    // before we exit: the kernel would detach them at our exit anyway.
    workbook::narrate!("attach-seize: press Enter (or Ctrl-D) to end");
    next_line()?;
    Ok(ExitCode::SUCCESS)
}

/// The threads of process `pid` now: the tids in /proc/PID/task, read
/// to the end before it returns (a thread started later is not there).
pub fn threads_of(pid: Pid) -> Result<Vec<Pid>> {
    let tasks = format!("/proc/{pid}/task");
    let mut tids = Vec::new();
    for entry in std::fs::read_dir(&tasks).with_context(|| format!("reading {tasks}"))? {
        let name = entry
            .with_context(|| format!("reading {tasks}"))?
            .file_name();
        if let Some(tid) = name.to_str().and_then(|name| name.parse().ok()) {
            tids.push(Pid::from_raw(tid));
        }
    }
    Ok(tids)
}

/// One line on stdout, flushed at once: the tests read it as it comes.
fn say(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

/// Waits for a line on stdin, or its end.
fn next_line() -> Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading stdin")?;
    Ok(())
}
