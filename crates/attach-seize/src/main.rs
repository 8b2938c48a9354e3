// attach-seize: the two ways to start tracing a process that is already
// running. PTRACE_ATTACH stops it with a SIGSTOP; PTRACE_SEIZE does not,
// and PTRACE_INTERRUPT stops it later, when the tracer wants.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{fork, getpid, ForkResult, Pid};
use workbook::arch;
use workbook::hints::{comm, ptrace_error};
use workbook::stop::{describe_raw, is_legacy_exec_trap, waitpid};
use workbook::{ptrace_cont, wait_for, Event, Sig, Stop, Waited};

mod victim;
use victim::Victim;

/// Attaches to a running process with PTRACE_ATTACH, then with PTRACE_SEIZE
/// and PTRACE_INTERRUPT, and detaches each time: the process runs on.
///
/// With no --pid it starts its own victim, a built-in target that prints
/// ticks, and also shows that a process can't trace itself, that a traced
/// process can't get a second tracer, and that two processes may trace
/// each other.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Attach to this running process (or thread) instead of our own victim.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pid: Option<i32>,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    if let Some(pid) = args.pid {
        let pid = Pid::from_raw(pid);
        attach_then_detach(pid)?;
        let stopped = seize(pid)?;
        interrupt_then_detach(pid, stopped)?;
        workbook::narrate!("attach-seize: detached; pid {pid} runs on as before");
        return Ok(ExitCode::SUCCESS);
    }

    let mut victim = Victim::start()?;
    let pid = victim.pid();
    workbook::narrate!(
        "attach-seize: started a victim, pid {pid}, that prints a tick every 100 ms"
    );
    victim.expect_tick("before we attach")?;

    attach_then_detach(pid)?;
    victim.expect_tick("after PTRACE_DETACH")?;

    let stopped = seize(pid)?;
    victim.expect_tick("while seized")?;
    interrupt_then_detach(pid, stopped)?;
    victim.expect_tick("after the second PTRACE_DETACH")?;

    no_tracing_yourself()?;
    tracer_cycle()?;

    victim.end()?;
    Ok(ExitCode::SUCCESS)
}

// ANCHOR: attach
/// The ptrace requests. An error names the request and the pid, and says why.
mod requests {
    use super::*;

    pub fn attach(pid: Pid) -> Result<()> {
        ptrace::attach(pid).map_err(|errno| ptrace_error("PTRACE_ATTACH", pid, errno))
    }

    pub fn seize(pid: Pid) -> Result<()> {
        ptrace::seize(pid, Options::empty())
            .map_err(|errno| ptrace_error("PTRACE_SEIZE", pid, errno))
    }

    pub fn interrupt(pid: Pid) -> Result<()> {
        ptrace::interrupt(pid).map_err(|errno| ptrace_error("PTRACE_INTERRUPT", pid, errno))
    }

    // Detaching with no signal throws the SIGSTOP away instead of delivering it.
    pub fn detach(pid: Pid) -> Result<()> {
        ptrace::detach(pid, None).map_err(|errno| ptrace_error("PTRACE_DETACH", pid, errno))
    }
}

fn attach_then_detach(pid: Pid) -> Result<()> {
    requests::attach(pid)?;
    workbook::narrate!("\n== PTRACE_ATTACH to pid {pid} ({}) ==", comm(pid));
    let stop = wait_until_stopped(pid)?;
    show_stop(pid, &stop)?;
    second_tracer_is_refused(pid)?;
    requests::detach(pid)?;
    workbook::narrate!("attach-seize: PTRACE_DETACH");
    Ok(())
}
// ANCHOR_END: attach

// ANCHOR: seize
fn seize(pid: Pid) -> Result<Option<Waited>> {
    requests::seize(pid)?;
    workbook::narrate!("\n== PTRACE_SEIZE to pid {pid} ({}) ==", comm(pid));
    let seen = waitpid(pid, WaitPidFlag::__WALL | WaitPidFlag::WNOHANG)?;
    match &seen {
        None => {
            workbook::narrate!(
                "attach-seize: seized; waitpid(WNOHANG) reports nothing: no stop, it runs on"
            )
        }
        // A process stopped by kill -STOP: seizing it turns its stop into a
        // group-stop the tracer hears of at once.
        Some(status) => workbook::narrate!("attach-seize: seized, and then: {}", status.stop),
    }
    Ok(seen)
}

fn interrupt_then_detach(pid: Pid, already_stopped: Option<Waited>) -> Result<()> {
    let stop = match already_stopped {
        Some(stop) => {
            workbook::narrate!("attach-seize: it is stopped already: no PTRACE_INTERRUPT needed");
            stop
        }
        None => {
            requests::interrupt(pid)?;
            workbook::narrate!("attach-seize: PTRACE_INTERRUPT");
            wait_until_stopped(pid)?
        }
    };
    show_stop(pid, &stop)?;
    requests::detach(pid)?;
    workbook::narrate!("attach-seize: PTRACE_DETACH");
    Ok(())
}
// ANCHOR_END: seize

/// The stop as waitpid reported it, and one register read as proof that
/// the process is ours to inspect now.
fn show_stop(pid: Pid, stop: &Waited) -> Result<()> {
    let status = stop.raw;
    workbook::narrate!(
        "attach-seize: waitpid: status {status:#x}: {}",
        describe_raw(status)
    );
    workbook::narrate!("attach-seize:   {}", stop.stop);
    let regs = arch::read_regs(pid)?;
    let ip = arch::instruction_pointer(&regs);
    workbook::narrate!(
        "attach-seize: stopped at {} = {ip:#x}",
        arch::INSTRUCTION_POINTER
    );
    Ok(())
}

/// Waits for the stop that ATTACH or INTERRUPT asked for. A signal that
/// happens to arrive first is passed on, not lost.
fn wait_until_stopped(pid: Pid) -> Result<Waited> {
    loop {
        let status = wait_for(pid, WaitPidFlag::__WALL)?;
        match status.stop {
            Stop::Signal(Sig::SIGSTOP) | Stop::Group(_) | Stop::Event(Event::Stop(_)) => {
                return Ok(status)
            }
            // It exec'd before our SIGSTOP arrived: its exec trap is ours to drop.
            Stop::Signal(Sig::SIGTRAP) if is_legacy_exec_trap(pid) => ptrace_cont(pid, None)?,
            Stop::Signal(other) => ptrace_cont(pid, Some(other))?,
            // Killed before we could look: its end is the next report.
            Stop::Gone => {}
            Stop::Exited(_) | Stop::Killed { .. } => {
                bail!("pid {pid} went away while we attached: {}", status.stop)
            }
            other => bail!("pid {pid}: a stop we did not ask for: {other}"),
        }
    }
}

// ANCHOR: facts
/// While we trace `pid`, another process tries PTRACE_ATTACH on it too.
fn second_tracer_is_refused(pid: Pid) -> Result<()> {
    let errno = in_child(|| match ptrace::attach(pid) {
        Ok(()) => 0,
        Err(errno) => errno as i32,
    })?;
    match errno {
        0 => bail!("a second tracer attached to pid {pid}; the kernel should have refused"),
        errno => workbook::narrate!(
            "attach-seize: a second tracer tries PTRACE_ATTACH: {:#}",
            ptrace_error("PTRACE_ATTACH", pid, Errno::from_raw(errno))
        ),
    }
    Ok(())
}

fn no_tracing_yourself() -> Result<()> {
    workbook::narrate!("\n== nobody traces itself ==");
    match ptrace::attach(getpid()) {
        Ok(()) => bail!("PTRACE_ATTACH on ourselves succeeded"),
        Err(errno) => workbook::narrate!(
            "attach-seize: {:#}",
            ptrace_error("PTRACE_ATTACH", getpid(), errno)
        ),
    }
    Ok(())
}

/// "A cycle of tracers": process A traces its child B while B traces A.
fn tracer_cycle() -> Result<()> {
    workbook::narrate!("\n== a cycle of tracers ==");
    let code = in_child(cycle::run_as_a)?;
    if code != 0 {
        bail!("the cycle of tracers was not formed (process A exited with {code})");
    }
    Ok(())
}
// ANCHOR_END: facts

/// Runs `body` in a forked child and returns its exit code.
fn in_child(body: impl FnOnce() -> i32) -> Result<i32> {
    // SAFETY: we are single-threaded, and the child makes only ptrace,
    // pipe and write calls before _exit.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            let code = body();
            // SAFETY: _exit skips the parent's atexit handlers and buffers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => match wait_for(child, WaitPidFlag::__WALL)?.stop {
            Stop::Exited(code) => Ok(code),
            other => bail!("helper process pid {child}: {other}"),
        },
    }
}

mod cycle;
