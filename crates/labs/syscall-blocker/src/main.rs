//! lab-syscall-blocker: a tracer that refuses to let a program open files
//! under one folder, with the decision and the refusal written by you in
//! `lab.rs`. Everything else is here, and the PTRACE_SYSCALL loop, which
//! follows children and threads and passes signals on, is the support
//! crate's `trace_syscall_entries`. Run it with
//! `cargo run -p lab-syscall-blocker -- --deny-under DIR -- CMD ARGS...`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use workbook::gone::unless_gone;
use workbook::trace::{trace_syscall_entries, Entry};
use workbook::CommandArgs;

mod lab;

/// Runs a command under PTRACE_SYSCALL and makes every attempt to open a
/// file under one folder fail with EACCES; every other call runs.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The folder nothing may be opened in (or below).
    #[arg(long, value_name = "DIR")]
    deny_under: PathBuf,
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    // The folder as the kernel names it: no symlink, `.` or `..` left, so
    // that a file's resolved path can be compared with it.
    let folder = std::fs::canonicalize(&args.deny_under)
        .with_context(|| format!("--deny-under {}", args.deny_under.display()))?;
    if args.command.is_empty() {
        bail!(
            "no command to run: try `-- touch {}/new` or `-- cat {}/some-file`",
            folder.display(),
            folder.display()
        );
    }
    let program = args.command.program("tries")?;
    workbook::narrate!(
        "lab-syscall-blocker: running {}, refusing to open anything under {}",
        program.label,
        folder.display()
    );
    let code = trace_syscall_entries(&program, |entry| at_entry(entry, &folder))?;
    Ok(ExitCode::from(code))
}

/// At a syscall-enter-stop: the call is refused when the file it opens lies
/// under `folder`, and when where it opens can't be told (a path that can't
/// be read is refused, not waved through). Nothing more is done at its exit
/// stop: `lab::refuse` leaves the result in place at the entry.
fn at_entry(entry: &Entry, folder: &Path) -> Result<()> {
    let (pid, call) = (entry.pid, entry.abi.name(entry.nr));
    let why = match unless_gone(lab::named_file(pid, &call, entry.args)) {
        Ok(None) => return Ok(()), // killed meanwhile: its end is the next report
        Ok(Some(None)) => return Ok(()), // opens no file by name
        Ok(Some(Some(file))) if lab::lies_under(&file, folder) => {
            format!("{} is under {}", file.display(), folder.display())
        }
        Ok(Some(Some(_))) => return Ok(()),
        Err(error) => format!("where it opens can't be told: {error:#}"),
    };
    if lab::refuse(pid)?.is_some() {
        workbook::narrate!("lab-syscall-blocker: pid {pid}: {call} refused with EACCES: {why}");
    }
    Ok(())
}
