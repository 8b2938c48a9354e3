//! lab-signal-control: the signal-control demo, with `change_it` written by
//! you in `lab.rs`. It runs like the demo. The demo's own words:
//!
//! signal-control: the signal half of the lecture's first slide. At every
//! signal-delivery-stop the tracer reads the signal's siginfo
//! (PTRACE_GETSIGINFO) and the signals the tracee blocks
//! (PTRACE_GETSIGMASK), prints them as strace does, and passes the signal
//! on unchanged. Its built-in target also meets the other two requests:
//! PTRACE_SETSIGINFO rewrites a signal's si_value, PTRACE_SETSIGMASK
//! unblocks a pending signal, and one signal is suppressed.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use nix::sys::ptrace::{self, Options};
use nix::unistd::Pid;
use workbook::siginfo::{self, mask_names, SigInfo};
use workbook::trace::{spawn_traced, unless_vanished, Resume, Tracees};
use workbook::{ptrace_cont, ptrace_listen, CommandArgs, Sig, Stop};

mod lab;

/// Runs a command as a tracee and shows every signal it gets, with its
/// siginfo and the tracee's blocked signals, as strace shows them.
///
/// With no command it runs a built-in target whose signals the tracer also
/// changes: a rewritten si_value, an unblocked signal, a suppressed one.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = args.command.program("signal-lab")?;
    // Only the built-in target's signals are changed: a command of the
    // user's gets every signal as it was sent.
    let lab = args.command.is_empty();
    eprintln!("signal-control: running {}", program.label);
    let options = Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE;
    let mut tracees = Tracees::new(spawn_traced(&program, options)?, Resume::Cont);
    ptrace_cont(tracees.first(), None)?;
    while let Some(status) = tracees.wait()? {
        let pid = status.pid;
        let prefix = prefix(&tracees, pid);
        let pass_on = match status.stop {
            // The signal is on its way, not delivered yet: the tracer decides.
            Stop::Signal(signal) => {
                let change = lab && pid == tracees.first();
                match unless_vanished(at_signal(pid, signal, &prefix, change))? {
                    Some(pass_on) => pass_on,
                    None => continue, // killed meanwhile: its end is the next report
                }
            }
            // kill -STOP: the process has stopped; it stays so until SIGCONT.
            Stop::Group(signal) => {
                eprintln!("{prefix}--- stopped by {signal} ---");
                eprintln!("{prefix}    PTRACE_LISTEN: it stays stopped until SIGCONT");
                ptrace_listen(pid)?;
                continue;
            }
            Stop::Exited(code) => {
                eprintln!("{prefix}+++ exited with {code} +++");
                continue;
            }
            Stop::Killed {
                signal,
                core_dumped,
            } => {
                let core = if core_dumped { " (core dumped)" } else { "" };
                eprintln!("{prefix}+++ killed by {signal}{core} +++");
                continue;
            }
            // exec, a new child or thread, the end of a group-stop: the
            // tracer's stops, with no signal for the program.
            Stop::Event(_) | Stop::Vanished | Stop::Continued => None,
            // Never asked for: PTRACE_CONT, not PTRACE_SYSCALL.
            Stop::SyscallEnter { .. } | Stop::SyscallExit { .. } => None,
        };
        ptrace_cont(pid, pass_on)?;
    }
    Ok(ExitCode::from(tracees.exit_code()?))
}

/// A signal-delivery-stop: what the signal is, what the tracee blocks, and
/// the signal to restart it with (`None`: the signal is suppressed).
fn at_signal(pid: Pid, signal: Sig, prefix: &str, change: bool) -> Result<Option<Sig>> {
    let info =
        ptrace::getsiginfo(pid).with_context(|| format!("PTRACE_GETSIGINFO on pid {pid}"))?;
    let mut info = SigInfo::from_raw(&info);
    let blocked = siginfo::getsigmask(pid)?;
    eprintln!("{prefix}--- {signal} {} ---", info.describe());
    eprintln!("{prefix}    PTRACE_GETSIGMASK: {}", mask_names(blocked));
    let pass_on = match change {
        false => Some(signal),
        true => lab::change_it(pid, signal, &mut info, blocked, prefix)?,
    };
    match pass_on {
        Some(signal) => eprintln!("{prefix}    PTRACE_CONT with {signal}"),
        None => eprintln!("{prefix}    PTRACE_CONT with 0: {signal} is suppressed"),
    }
    Ok(pass_on)
}

/// strace's habit: a `[pid N] ` prefix once more than one process is traced.
fn prefix(tracees: &Tracees, pid: Pid) -> String {
    match tracees.count() > 1 || pid != tracees.first() {
        true => format!("[pid {pid}] "),
        false => String::new(),
    }
}
