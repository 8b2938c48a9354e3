// signal-control: the signal half of the lecture's first slide. At every
// signal-delivery-stop the tracer reads the signal's siginfo
// (PTRACE_GETSIGINFO) and the signals the tracee blocks
// (PTRACE_GETSIGMASK), prints them as strace does, and passes the signal
// on unchanged. Its built-in target also meets the other two requests:
// PTRACE_SETSIGINFO rewrites a signal's si_value, PTRACE_SETSIGMASK
// unblocks a pending signal, and one signal is suppressed.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use nix::sys::ptrace;
use nix::unistd::Pid;
use workbook::gone::{unless_gone, OrGone};
use workbook::siginfo::{self, mask_names, mask_of, Mask, SigInfo};
use workbook::trace::{spawn_traced, Resume, Tracees, FOLLOW_CHILDREN};
use workbook::{ptrace_cont, ptrace_listen, CommandArgs, Sig, Stop};

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
    let builtin = args.command.is_empty();
    workbook::narrate!("signal-control: running {}", program.label);
    // ANCHOR: loop
    let mut tracees = Tracees::new(spawn_traced(&program, FOLLOW_CHILDREN)?, Resume::Cont);
    ptrace_cont(tracees.first(), None)?;
    while let Some(status) = tracees.wait()? {
        let pid = status.pid;
        let prefix = prefix(&tracees, pid);
        let pass_on = match status.stop {
            // The signal is on its way, not delivered yet: the tracer decides.
            Stop::Signal(signal) => {
                let change = builtin && pid == tracees.first();
                match unless_gone(at_signal(pid, signal, &prefix, change))? {
                    Some(pass_on) => pass_on,
                    None => continue, // killed meanwhile: its end is the next report
                }
            }
            // kill -STOP: the process has stopped; it stays so until SIGCONT.
            Stop::Group(signal) => {
                workbook::narrate!("{prefix}--- stopped by {signal} ---");
                workbook::narrate!("{prefix}    PTRACE_LISTEN: it stays stopped until SIGCONT");
                ptrace_listen(pid)?;
                continue;
            }
            Stop::Exited(code) => {
                workbook::narrate!("{prefix}+++ exited with {code} +++");
                continue;
            }
            Stop::Killed {
                signal,
                core_dumped,
            } => {
                let core = if core_dumped { " (core dumped)" } else { "" };
                workbook::narrate!("{prefix}+++ killed by {signal}{core} +++");
                continue;
            }
            // exec, a new child or thread, the end of a group-stop: the
            // tracer's stops, with no signal for the program.
            Stop::Event(_) | Stop::Gone | Stop::Continued => None,
            // Never asked for: PTRACE_CONT, not PTRACE_SYSCALL.
            Stop::SyscallEnter { .. } | Stop::SyscallExit { .. } => None,
        };
        ptrace_cont(pid, pass_on)?;
    }
    Ok(ExitCode::from(tracees.exit_code()?))
    // ANCHOR_END: loop
}

// ANCHOR: at_signal
/// A signal-delivery-stop: what the signal is, what the tracee blocks, and
/// the signal to restart it with (`None`: the signal is suppressed).
fn at_signal(pid: Pid, signal: Sig, prefix: &str, change: bool) -> Result<Option<Sig>> {
    let info = ptrace::getsiginfo(pid).or_gone("PTRACE_GETSIGINFO", pid)?;
    let mut info = SigInfo::from_raw(&info);
    let blocked = siginfo::getsigmask(pid)?;
    workbook::narrate!("{prefix}--- {signal} {} ---", info.describe());
    workbook::narrate!("{prefix}    PTRACE_GETSIGMASK: {}", mask_names(blocked));
    let pass_on = match change {
        false => Some(signal),
        true => change_it(pid, signal, &mut info, blocked, prefix)?,
    };
    match pass_on {
        Some(signal) => workbook::narrate!("{prefix}    PTRACE_CONT with {signal}"),
        None => workbook::narrate!("{prefix}    PTRACE_CONT with 0: {signal} is suppressed"),
    }
    Ok(pass_on)
}
// ANCHOR_END: at_signal

/// The si_value the built-in target's SIGUSR1 handler gets instead of 1.
const NEW_VALUE: u64 = 42;

// ANCHOR: change_it
/// What a debugger may do to the built-in target's signals: give its
/// handler another si_value, unblock a signal it blocked, or drop a signal.
fn change_it(
    pid: Pid,
    signal: Sig,
    info: &mut SigInfo,
    blocked: Mask,
    prefix: &str,
) -> Result<Option<Sig>> {
    let usr2 = Sig::new(libc::SIGUSR2).expect("a signal");
    match signal.number() {
        libc::SIGUSR1 if info.code() == libc::SI_QUEUE && info.value() == 1 => {
            let sent = info.value();
            info.set_value(NEW_VALUE);
            ptrace::setsiginfo(pid, &info.to_raw()).or_gone("PTRACE_SETSIGINFO", pid)?;
            workbook::narrate!(
                "{prefix}    PTRACE_SETSIGINFO: si_value {sent} becomes {NEW_VALUE} (si_int={NEW_VALUE}, si_ptr={NEW_VALUE:#x})"
            );
            Ok(Some(signal))
        }
        libc::SIGWINCH if blocked & mask_of(usr2) != 0 => {
            let unblocked = blocked & !mask_of(usr2);
            siginfo::setsigmask(pid, unblocked)?;
            workbook::narrate!(
                "{prefix}    PTRACE_SETSIGMASK: {} (SIGUSR2 unblocked: it is pending, so it comes next)",
                mask_names(unblocked)
            );
            Ok(Some(signal))
        }
        // Only the SIGTERM it raised itself: a kill -TERM from outside still ends it.
        libc::SIGTERM if info.code() == libc::SI_TKILL && info.pid() == pid.as_raw() => Ok(None),
        _ => Ok(Some(signal)),
    }
}
// ANCHOR_END: change_it

/// strace's habit: a `[pid N] ` prefix once more than one process is traced.
fn prefix(tracees: &Tracees, pid: Pid) -> String {
    match tracees.count() > 1 || pid != tracees.first() {
        true => format!("[pid {pid}] "),
        false => String::new(),
    }
}
