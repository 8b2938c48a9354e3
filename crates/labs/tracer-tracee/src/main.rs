//! lab-tracer-tracee: the tracer-tracee demo, with the lecture's start-up
//! written by you in `lab.rs`: the child's PTRACE_TRACEME, raise(SIGSTOP)
//! and execvp, and the parent's first waitpid. It runs like the demo:
//! `cargo run -p lab-tracer-tracee -- CMD ARGS...`.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{fork, ForkResult, Pid};
use workbook::process::{hold_fatal_signals, release_fatal_signals_in_child};
use workbook::stop::describe_raw;
use workbook::{ptrace_cont, wait_for, ChildGuard, CommandArgs, Event, Program, Stop};

mod lab;

/// Runs a command as a tracee and narrates its ptrace stops on stderr.
///
/// With no command it runs a built-in target that raises SIGUSR1 at itself,
/// to show that the signal is passed on, not swallowed.
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
    let program = args.command.program("signals")?;
    eprintln!("tracer: running {}", program.label);
    // Ctrl-C is the program's to handle: the tracer stays to report the end.
    hold_fatal_signals()?;
    // SAFETY: we are single-threaded here, and the child only makes
    // async-signal-safe calls before execvp or _exit.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => tracee(&program),
        ForkResult::Parent { child } => tracer(child),
    }
}

fn tracee(program: &Program) -> ! {
    if let Err(errno) = release_fatal_signals_in_child() {
        die("child: sigprocmask failed", errno, 1);
    }
    lab::tracee(program)
}

fn tracer(pid: Pid) -> Result<ExitCode> {
    let tracee = ChildGuard::new(pid);
    let status = lab::first_stop(pid)?;
    eprintln!(
        "tracer: waitpid: status {:#x}: {}",
        status.raw,
        describe_raw(status.raw)
    );
    eprintln!("tracer: the child stopped itself before execvp; now it is ours");
    ptrace::setoptions(
        pid,
        Options::PTRACE_O_EXITKILL | Options::PTRACE_O_TRACEEXEC,
    )
    .context("PTRACE_SETOPTIONS")?;
    // The SIGSTOP was only a handshake: restarting with no signal discards it.
    ptrace_cont(pid, None)?;

    let mut group_stopped = false;
    loop {
        // waitpid(-1), not waitpid(pid): a child the program made with
        // clone(CLONE_PARENT) is ours, not the program's, and must be reaped.
        let status = match group_stopped {
            false => wait_for(None, WaitPidFlag::__WALL)?,
            true => wait_for_sigcont()?,
        };
        if status.pid != pid {
            if status.stop.is_gone() {
                eprintln!(
                    "tracer: reaped pid {}, a child the program handed to us (CLONE_PARENT)",
                    status.pid
                );
            }
            continue;
        }
        eprintln!("tracer: status {:#x}: {}", status.raw, status.stop);
        let pass_on = match status.stop {
            Stop::Event(Event::Exec { .. }) => {
                eprintln!("tracer:   the exec SIGTRAP: the tracer's, not delivered to the tracee");
                None
            }
            Stop::Signal(signal) => {
                eprintln!("tracer:   passing {signal} on with PTRACE_CONT");
                Some(signal)
            }
            Stop::Group(signal) => {
                // Restarting it now would undo the stop. A TRACEME tracee
                // can't be put in PTRACE_LISTEN (that needs PTRACE_SEIZE),
                // so it is left alone until SIGCONT.
                eprintln!(
                    "tracer:   a {signal} group-stop: the program stays stopped until SIGCONT"
                );
                group_stopped = true;
                continue;
            }
            Stop::Continued => {
                eprintln!("tracer:   SIGCONT: resuming it, so that SIGCONT can be delivered");
                group_stopped = false;
                None
            }
            // SIGKILL came before we could look at the stop: its end is next.
            Stop::Vanished => continue,
            Stop::Exited(_) | Stop::Killed { .. } => {
                tracee.reaped();
                let code = status.stop.exit_code().expect("exited or killed");
                eprintln!("tracer: the tracee is gone; exiting with {code}");
                return Ok(ExitCode::from(code));
            }
            other => bail!("a stop we did not ask for: {other}"),
        };
        ptrace_cont(pid, pass_on)?;
    }
}

/// A TRACEME tracee left in its group-stop: SIGCONT marks the process as
/// continued, but the tracee, frozen in its ptrace-stop, is the one that
/// would wake us (it never runs), so we look every 20 ms with WNOHANG and
/// WCONTINUED. A tracer attached with PTRACE_SEIZE is told instead: see
/// PTRACE_LISTEN in the syscall-blocker.
fn wait_for_sigcont() -> Result<workbook::Waited> {
    loop {
        let flags = WaitPidFlag::__WALL | WaitPidFlag::WCONTINUED | WaitPidFlag::WNOHANG;
        if let Some(status) = workbook::waitpid(None, flags)? {
            return Ok(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The lecture's `die`: say what failed and leave without running any of
/// the parent's exit handlers.
fn die(what: &str, errno: Errno, code: i32) -> ! {
    workbook::process::exit_child(
        code,
        &format!("{what}: {}", workbook::names::errno_name(errno)),
    )
}
