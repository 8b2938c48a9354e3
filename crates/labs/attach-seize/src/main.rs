//! lab-attach-seize: the attach-seize demo, with the tracer's calls
//! written by you in `lab.rs`: PTRACE_ATTACH, PTRACE_SEIZE,
//! PTRACE_INTERRUPT, the wait for their stop, and PTRACE_DETACH. It runs
//! like the demo: `cargo run -p lab-attach-seize -- [--pid PID]`.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{fork, getpid, ForkResult, Pid};
use workbook::arch;
use workbook::hints::{comm, ptrace_error};
use workbook::stop::{describe_raw, waitpid};
use workbook::{wait_for, Stop, Waited};

mod lab;
// The demo's victim and its cycle of tracers, shared with the lab as given.
#[path = "../../../attach-seize/src/victim.rs"]
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
        seize(pid)?;
        interrupt_then_detach(pid)?;
        eprintln!("attach-seize: detached; pid {pid} runs on as before");
        return Ok(ExitCode::SUCCESS);
    }

    let mut victim = Victim::start()?;
    let pid = victim.pid();
    eprintln!("attach-seize: started a victim, pid {pid}, that prints a tick every 100 ms");
    victim.expect_tick("before we attach")?;

    attach_then_detach(pid)?;
    victim.expect_tick("after PTRACE_DETACH")?;

    seize(pid)?;
    victim.expect_tick("while seized")?;
    interrupt_then_detach(pid)?;
    victim.expect_tick("after the second PTRACE_DETACH")?;

    no_tracing_yourself()?;
    tracer_cycle()?;

    victim.end()?;
    Ok(ExitCode::SUCCESS)
}

fn attach_then_detach(pid: Pid) -> Result<()> {
    lab::attach(pid)?;
    eprintln!("\n== PTRACE_ATTACH to pid {pid} ({}) ==", comm(pid));
    let stop = lab::wait_until_stopped(pid)?;
    show_stop(pid, &stop)?;
    second_tracer_is_refused(pid)?;
    lab::detach(pid)?;
    eprintln!("attach-seize: PTRACE_DETACH");
    Ok(())
}

fn seize(pid: Pid) -> Result<()> {
    lab::seize(pid)?;
    eprintln!("\n== PTRACE_SEIZE to pid {pid} ({}) ==", comm(pid));
    match waitpid(pid, WaitPidFlag::__WALL | WaitPidFlag::WNOHANG)? {
        None => {
            eprintln!("attach-seize: seized; waitpid(WNOHANG) reports nothing: no stop, it runs on")
        }
        Some(status) => eprintln!("attach-seize: seized, and then: {}", status.stop),
    }
    Ok(())
}

fn interrupt_then_detach(pid: Pid) -> Result<()> {
    lab::interrupt(pid)?;
    eprintln!("attach-seize: PTRACE_INTERRUPT");
    let stop = lab::wait_until_stopped(pid)?;
    show_stop(pid, &stop)?;
    lab::detach(pid)?;
    eprintln!("attach-seize: PTRACE_DETACH");
    Ok(())
}

/// The stop as waitpid reported it, and one register read as proof that
/// the process is ours to inspect now.
fn show_stop(pid: Pid, stop: &Waited) -> Result<()> {
    let status = stop.raw;
    eprintln!(
        "attach-seize: waitpid: status {status:#x}: {}",
        describe_raw(status)
    );
    eprintln!("attach-seize:   {}", stop.stop);
    let regs = arch::read_regs(pid)?;
    let ip = arch::instruction_pointer(&regs);
    eprintln!(
        "attach-seize: stopped at {} = {ip:#x}",
        arch::INSTRUCTION_POINTER
    );
    Ok(())
}

/// While we trace `pid`, another process tries PTRACE_ATTACH on it too.
fn second_tracer_is_refused(pid: Pid) -> Result<()> {
    let errno = in_child(|| match ptrace::attach(pid) {
        Ok(()) => 0,
        Err(errno) => errno as i32,
    })?;
    match errno {
        0 => bail!("a second tracer attached to pid {pid}; the kernel should have refused"),
        errno => eprintln!(
            "attach-seize: a second tracer tries PTRACE_ATTACH: {:#}",
            ptrace_error("PTRACE_ATTACH", pid, Errno::from_raw(errno))
        ),
    }
    Ok(())
}

fn no_tracing_yourself() -> Result<()> {
    eprintln!("\n== nobody traces itself ==");
    match ptrace::attach(getpid()) {
        Ok(()) => bail!("PTRACE_ATTACH on ourselves succeeded"),
        Err(errno) => eprintln!(
            "attach-seize: {:#}",
            ptrace_error("PTRACE_ATTACH", getpid(), errno)
        ),
    }
    Ok(())
}

/// "A cycle of tracers": process A traces its child B while B traces A.
fn tracer_cycle() -> Result<()> {
    eprintln!("\n== a cycle of tracers ==");
    let code = in_child(cycle::run_as_a)?;
    if code != 0 {
        bail!("the cycle of tracers was not formed (process A exited with {code})");
    }
    Ok(())
}

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

#[path = "../../../attach-seize/src/cycle.rs"]
mod cycle;
