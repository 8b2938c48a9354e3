//! lab-breakpoint: gdb's `finish` at every call. The program breaks at a
//! function's entry with an int3, as the breakpoint demo does, and reports
//! the value each call returns. Where the call returns to, and what it
//! returned, is your part, in `lab.rs`; this file gives the rest: the
//! program started under ptrace, the function found in its symbols, the
//! int3 at its entry planted and stepped over (the demo's own functions,
//! from its library), and the stops told apart.
//!
//! `cargo run -p lab-breakpoint -- [--break SYMBOL] [-- CMD ARGS...]`;
//! with no command, the built-in target `breakme draws`, which calls
//! `lucky_draw` and `target_fn` three times each and prints their results.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use breakpoint::int3;
use breakpoint::symbols::{self, Image};
use clap::Parser;
use nix::sys::ptrace::Options;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::{arch, memory, narrate, ptrace_cont, wait_for, CommandArgs, Event, Sig, Stop};

mod lab;

use lab::ReturnBreakpoint;

/// Runs a command with an int3 at a function's entry, and at every call
/// reports the value the function returned, as gdb's `finish` does.
///
/// With no command it runs the built-in target `breakme draws`, which calls
/// lucky_draw and target_fn three times each, and prints what they return.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The function to follow: a symbol of the program itself (its .symtab
    /// or .dynsym), not of a shared library.
    #[arg(long = "break", value_name = "SYMBOL", default_value = "lucky_draw")]
    function: String,
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    if args.function.is_empty() {
        bail!("--break '': give a symbol name");
    }
    let program = match args.command.is_empty() {
        true => workbook::Program::builtin("breakme", &["draws"]),
        false => args.command.program("breakme")?,
    };
    narrate!(
        "lab-breakpoint: running {}, reporting what {} returns",
        program.label,
        args.function
    );
    let guard = workbook::trace::spawn_traced(&program, Options::PTRACE_O_TRACEEXEC)?;
    let pid = guard.pid();
    ptrace_cont(pid, None)?;
    let mut finisher = Finisher {
        pid,
        function: args.function,
        entry: None,
        pending: None,
        calls: 0,
        returns: 0,
    };
    let code = finisher.follow()?;
    guard.reaped();
    Ok(ExitCode::from(code))
}

/// The tracer's state: the int3 at the function's entry, and the one-shot
/// int3 at the return address of the call under way, if any.
struct Finisher {
    pid: Pid,
    function: String,
    /// The function's address and the byte our int3 replaced there.
    entry: Option<(u64, int3::Original)>,
    /// The return breakpoint of the call under way (from `lab::at_entry`).
    pending: Option<ReturnBreakpoint>,
    calls: u64,
    returns: u64,
}

impl Finisher {
    /// Every stop of the program until its end; returns its exit status
    /// (128 + N when signal N killed it), as a shell would.
    fn follow(&mut self) -> Result<u8> {
        loop {
            let waited = wait_for(self.pid, WaitPidFlag::__WALL)?;
            let signal = match waited.stop {
                Stop::Exited(_) | Stop::Killed { .. } => {
                    if let Stop::Killed { signal, .. } = waited.stop {
                        narrate!("lab-breakpoint: the program was killed by {signal}");
                    }
                    narrate!(
                        "lab-breakpoint: {} was called {} times, {} returns reported",
                        self.function,
                        self.calls,
                        self.returns
                    );
                    return Ok(waited.stop.exit_code().unwrap_or(1));
                }
                Stop::Event(Event::Exec { .. }) => {
                    self.exec()?;
                    None
                }
                Stop::Signal(Sig::SIGTRAP) => self.trap()?,
                Stop::Signal(signal) => Some(signal),
                // A group-stop (PTRACE_SEIZE): let the program stop, as it asked.
                Stop::Group(_) => {
                    workbook::ptrace_listen(self.pid)?;
                    continue;
                }
                _ => None,
            };
            ptrace_cont(self.pid, signal)?;
        }
    }

    /// PTRACE_EVENT_EXEC: the program is mapped; the int3 at the function's
    /// entry. A second execve takes our breakpoints with the old program.
    fn exec(&mut self) -> Result<()> {
        if self.entry.take().is_some() {
            narrate!("lab-breakpoint: execve: a new program, run without breakpoints");
            self.pending = None;
            return Ok(());
        }
        let pid = self.pid;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .with_context(|| format!("reading /proc/{pid}/exe"))?;
        let exe = exe.to_string_lossy().into_owned();
        let maps = memory::maps(pid)?;
        let image = Image::load(&exe, &maps)?;
        let address = image.address_of(&self.function).with_context(|| {
            format!(
                "no symbol '{}' in {}",
                self.function,
                symbols::one_line(&exe)
            )
        })?;
        let planted = int3::plant(pid, address)?;
        narrate!(
            "lab-breakpoint: {} is at {address:#x}: {} there",
            self.function,
            arch::A_BREAKPOINT
        );
        self.entry = Some((address, planted.original));
        Ok(())
    }

    /// A SIGTRAP: the int3 at the entry, the return breakpoint of the call
    /// under way, or the program's own (then it is delivered).
    fn trap(&mut self) -> Result<Option<Sig>> {
        let pid = self.pid;
        let regs = arch::read_regs(pid)?;
        let at = arch::instruction_pointer(&regs).wrapping_sub(arch::PAST_THE_BREAKPOINT);
        if let Some((entry, original)) = self.entry.filter(|&(entry, _)| entry == at) {
            self.calls += 1;
            let [first, ..] = arch::function_args(&regs);
            narrate!(
                "lab-breakpoint: call {} of {} ({entry:#x}), {}={first:#x}",
                self.calls,
                self.function,
                arch::FUNCTION_ARGS[0]
            );
            match self.pending {
                Some(_) => narrate!(
                    "lab-breakpoint: a call within a call: only the outer one's return is followed"
                ),
                None => {
                    let planted = lab::at_entry(pid)?;
                    narrate!(
                        "lab-breakpoint: it returns to {:#x}: a one-shot {} there",
                        planted.address,
                        arch::BREAKPOINT_NAME
                    );
                    self.pending = Some(planted);
                }
            }
            self.step_over(entry, original)?;
            return Ok(None);
        }
        if let Some(pending) = self
            .pending
            .as_ref()
            .filter(|pending| pending.address == at)
        {
            let value = lab::at_return(pid, pending)?;
            self.pending = None;
            self.returns += 1;
            narrate!("lab-breakpoint: {} returned {value:#x}", self.function);
            return Ok(None);
        }
        narrate!("lab-breakpoint: a SIGTRAP of the program's own at {at:#x}: delivered");
        Ok(Some(Sig::SIGTRAP))
    }

    /// Over the int3 at the entry, as the demo steps: the original byte
    /// back, rip back over the int3, one PTRACE_SINGLESTEP, the 0xCC again.
    fn step_over(&mut self, entry: u64, original: int3::Original) -> Result<()> {
        let pid = self.pid;
        int3::unplant(pid, entry, original)?;
        int3::rewind(pid)?;
        int3::single_step(pid, None)?;
        loop {
            let waited = wait_for(pid, WaitPidFlag::__WALL)?;
            match waited.stop {
                Stop::Signal(Sig::SIGTRAP) => break,
                Stop::Exited(_) | Stop::Killed { .. } => {
                    bail!("pid {pid} ended during the single step: {}", waited.stop)
                }
                // A signal that came meanwhile: delivered with the step.
                Stop::Signal(signal) => int3::single_step(pid, Some(signal))?,
                _ => int3::single_step(pid, None)?,
            }
        }
        int3::plant(pid, entry)?;
        Ok(())
    }
}
