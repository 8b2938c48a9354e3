// tracer-tracee: the lecture's tracer/tracee pair. The child asks to be
// traced and stops itself; the parent waits for that stop, then lets the
// program run and narrates every stop it is told about.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use tracer_tracee::fork_tracee;
use workbook::stop::describe_raw;
use workbook::{
    ptrace_cont, ptrace_detach, wait_for, ChildGuard, CommandArgs, Event, Sig, Stop, Waited,
};

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
    workbook::narrate!("tracer: running {}", program.label);
    let child = fork_tracee(&program)?;
    tracer(child)
}

// ANCHOR: first_stop
fn first_stop(pid: Pid) -> Result<workbook::Waited> {
    let status = wait_for(pid, WaitPidFlag::empty())?;
    if status.stop != Stop::Signal(Sig::SIGSTOP) {
        bail!(
            "unexpected wait status: {:#x} ({})",
            status.raw,
            status.stop
        );
    }
    Ok(status)
}

fn tracer(pid: Pid) -> Result<ExitCode> {
    let tracee = ChildGuard::new(pid);
    // Anything but the child's SIGSTOP is an error: the `?` drops the guard,
    // which kills the child and reaps it.
    let status = first_stop(pid)?;
    workbook::narrate!(
        "tracer: waitpid: status {:#x}: {}",
        status.raw,
        describe_raw(status.raw)
    );
    workbook::narrate!("tracer: the child stopped itself before execvp; now it is ours");
    ptrace::setoptions(
        pid,
        Options::PTRACE_O_EXITKILL | Options::PTRACE_O_TRACEEXEC,
    )
    .context("PTRACE_SETOPTIONS")?;
    // The SIGSTOP was only a handshake: restarting with no signal discards it.
    ptrace_cont(pid, None)?;
    // ANCHOR_END: first_stop

    // ANCHOR: loop
    let mut group_stopped = false;
    loop {
        // waitpid(-1), not waitpid(pid): a child the program made with
        // clone(CLONE_PARENT) is ours, not the program's, and must be reaped.
        let status = match group_stopped {
            false => wait_for(None, WaitPidFlag::__WALL)?,
            true => wait_for_sigcont()?,
        };
        if status.pid != pid {
            another_process(&status)?;
            continue;
        }
        workbook::narrate!("tracer: status {:#x}: {}", status.raw, status.stop);
        let pass_on = match status.stop {
            Stop::Event(Event::Exec { .. }) => {
                workbook::narrate!(
                    "tracer:   the exec SIGTRAP: the tracer's, not delivered to the tracee"
                );
                None
            }
            Stop::Signal(signal) => {
                workbook::narrate!("tracer:   passing {signal} on with PTRACE_CONT");
                Some(signal)
            }
            Stop::Group(signal) => {
                // Restarting it now would undo the stop. A TRACEME tracee
                // can't be put in PTRACE_LISTEN (that needs PTRACE_SEIZE),
                // so it is left alone until SIGCONT.
                workbook::narrate!(
                    "tracer:   a {signal} group-stop: the program stays stopped until SIGCONT"
                );
                group_stopped = true;
                continue;
            }
            Stop::Continued => {
                workbook::narrate!(
                    "tracer:   SIGCONT: resuming it, so that SIGCONT can be delivered"
                );
                group_stopped = false;
                None
            }
            // SIGKILL came before we could look at the stop: its end is next.
            Stop::Gone => continue,
            Stop::Exited(_) | Stop::Killed { .. } => {
                tracee.reaped();
                let code = status.stop.exit_code().expect("exited or killed");
                workbook::narrate!("tracer: the tracee is gone; exiting with {code}");
                return Ok(ExitCode::from(code));
            }
            other => bail!("a stop we did not ask for: {other}"),
        };
        ptrace_cont(pid, pass_on)?;
    }
    // ANCHOR_END: loop
}

/// A report about a process other than the program. The program can make
/// one ours two ways: clone(CLONE_PARENT) makes its child ours to reap,
/// and clone(CLONE_PTRACE) makes it our tracee, held by a SIGSTOP of its
/// own before it runs. We trace only the program (no PTRACE_O_TRACEFORK),
/// so such a tracee is let go at once, with PTRACE_DETACH; left in its
/// stop, it would never run, and the program waiting for it would hang.
fn another_process(status: &Waited) -> Result<()> {
    let pid = status.pid;
    match status.stop {
        Stop::Exited(_) | Stop::Killed { .. } => workbook::narrate!(
            "tracer: reaped pid {pid}, a process the program made ours with clone(): {}",
            status.stop
        ),
        Stop::Gone | Stop::Continued => {}
        stop => {
            // The SIGSTOP that CLONE_PTRACE queued is ptrace's, not the
            // program's: dropped. Any other signal is passed on.
            let pass_on = match stop {
                Stop::Signal(signal) if signal != Sig::SIGSTOP => Some(signal),
                _ => None,
            };
            workbook::narrate!(
                "tracer: pid {pid}, a child the program made with CLONE_PTRACE, is our tracee ({stop}): PTRACE_DETACH, it runs untraced"
            );
            ptrace_detach(pid, pass_on)?;
        }
    }
    Ok(())
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
