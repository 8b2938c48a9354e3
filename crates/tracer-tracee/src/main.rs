//! tracer-tracee: the lecture's tracer/tracee pair. The child asks to be
//! traced and stops itself; the parent waits for that stop, then lets the
//! program run and narrates every stop it is told about.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{raise, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{execvp, fork, ForkResult, Pid};
use workbook::stop::describe_raw;
use workbook::{wait_for, ChildGuard, CommandArgs, Event, Program, Stop};

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
    // SAFETY: we are single-threaded here, and the child only makes
    // async-signal-safe calls before execvp or _exit.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => tracee(&program),
        ForkResult::Parent { child } => tracer(child),
    }
}

// ANCHOR: tracee
fn tracee(program: &Program) -> ! {
    if let Err(errno) = ptrace::traceme() {
        die("child: ptrace(traceme) failed", errno, 1);
    }
    if let Err(errno) = raise(Signal::SIGSTOP) {
        die("child: raise(SIGSTOP) failed", errno, 1);
    }
    let errno = execvp(&program.file, &program.argv).unwrap_err();
    die("tracee start failed", errno, 127)
}
// ANCHOR_END: tracee

// ANCHOR: first_stop
fn tracer(pid: Pid) -> Result<ExitCode> {
    let tracee = ChildGuard::new(pid);
    let status = wait_for(pid, WaitPidFlag::empty())?;
    eprintln!(
        "tracer: waitpid: status {:#x}: {}",
        status.raw,
        describe_raw(status.raw)
    );
    if status.stop != Stop::Signal(Signal::SIGSTOP) {
        // Dropping the guard kills the child and reaps it.
        bail!(
            "unexpected wait status: {:#x} ({})",
            status.raw,
            status.stop
        );
    }
    eprintln!("tracer: the child stopped itself before execvp; now it is ours");
    ptrace::setoptions(
        pid,
        Options::PTRACE_O_EXITKILL | Options::PTRACE_O_TRACEEXEC,
    )
    .context("PTRACE_SETOPTIONS")?;
    // The SIGSTOP was only a handshake: restarting with no signal discards it.
    ptrace::cont(pid, None).context("PTRACE_CONT")?;
    // ANCHOR_END: first_stop

    // ANCHOR: loop
    loop {
        let status = wait_for(pid, WaitPidFlag::__WALL)?;
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
                // PTRACE_LISTEN, which would leave it stopped yet watched, needs PTRACE_SEIZE.
                eprintln!("tracer:   a {signal} group-stop; resuming it, as TRACEME tracers must");
                None
            }
            Stop::Exited(_) | Stop::Killed { .. } => {
                tracee.reaped();
                let code = status.stop.exit_code().expect("exited or killed");
                eprintln!("tracer: the tracee is gone; exiting with {code}");
                return Ok(ExitCode::from(code));
            }
            other => bail!("a stop we did not ask for: {other}"),
        };
        ptrace::cont(pid, pass_on).context("PTRACE_CONT")?;
    }
    // ANCHOR_END: loop
}

/// The lecture's `die`: say what failed and leave without running any of
/// the parent's exit handlers.
fn die(what: &str, errno: Errno, code: i32) -> ! {
    eprintln!("{what}: {}", workbook::names::errno_name(errno));
    // SAFETY: _exit(2) skips atexit handlers and buffered output that belong
    // to the parent, which a forked child must not run twice.
    unsafe { libc::_exit(code) }
}
