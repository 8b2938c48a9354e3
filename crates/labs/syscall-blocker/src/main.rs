//! lab-syscall-blocker: a tracer that refuses to let a program open files
//! under one folder, with the decision and the refusal written by you in
//! `lab.rs`. Everything else, a PTRACE_SYSCALL loop that follows children
//! and threads and passes signals on, is here:
//! `cargo run -p lab-syscall-blocker -- --deny-under DIR -- CMD ARGS...`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::sys::ptrace::Options;
use nix::unistd::Pid;
use workbook::arch::Abi;
use workbook::trace::{spawn_traced, unless_vanished, Resume, Tracees};
use workbook::{ptrace_listen, ptrace_syscall, CommandArgs, Program, Stop};

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
    Ok(ExitCode::from(trace(&program, &folder)?))
}

/// The PTRACE_SYSCALL loop: each syscall-enter-stop goes to `at_entry`,
/// every signal is passed on, a group-stop stays stopped until SIGCONT.
fn trace(program: &Program, folder: &Path) -> Result<u8> {
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE;
    let mut tracees = Tracees::new(spawn_traced(program, options)?, Resume::Syscall);
    ptrace_syscall(tracees.first(), None)?;
    while let Some(status) = tracees.wait()? {
        let pid = status.pid;
        let signal = match status.stop {
            Stop::SyscallEnter { nr, args, abi } => {
                at_entry(pid, abi, nr, args, folder)?;
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Group(_) => {
                ptrace_listen(pid)?;
                continue;
            }
            Stop::Exited(_) | Stop::Killed { .. } => continue,
            _ => None,
        };
        ptrace_syscall(pid, signal)?;
    }
    tracees.exit_code()
}

/// At a syscall-enter-stop: the call is refused when the file it opens lies
/// under `folder`, and when where it opens can't be told (a path that can't
/// be read is refused, not waved through). Nothing more is done at its exit
/// stop: `lab::refuse` leaves the result in place at the entry.
fn at_entry(pid: Pid, abi: Abi, nr: u64, args: [u64; 6], folder: &Path) -> Result<()> {
    let call = abi.name(nr);
    let why = match unless_vanished(lab::named_file(pid, &call, args)) {
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
