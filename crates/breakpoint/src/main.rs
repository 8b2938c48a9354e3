// breakpoint: the lecture's first slide, «Основное назначение — отладка»,
// and its remark on interrupt 3. The demo finds a function's address in
// the program's ELF symbols, plants an int3 (0xCC) there with
// PTRACE_PEEKTEXT/POKETEXT, and at each SIGTRAP shows the trap
// (PTRACE_GETSIGINFO) and the arguments (PTRACE_GETREGS), then steps over
// it: the original byte back, rip one byte back (PTRACE_PEEKUSER and
// POKEUSER), one PTRACE_SINGLESTEP, the 0xCC again, PTRACE_CONT.
// `--count` single-steps a whole program instead.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

// The lesson, the int3 planted and stepped over (PEEKTEXT/POKETEXT,
// PEEKUSER/POKEUSER, SINGLESTEP) and the symbols found, is in the demo's
// library (src/lib.rs, its modules int3 and symbols), which the lab builds
// on; the modules here use it from there.

// How the demo shows words, instructions and numbers, and its `say!`.
#[macro_use]
mod show;
// The command line, and its parsers.
mod cli;
// `--count`: the program single-stepped, and its measuring pass.
mod count;
// The debugger around the lesson: when to plant, the hits, the threads,
// the dynamic loader followed.
mod debugger;
// What the debugger reads of /proc.
mod procfs;

use cli::Args;
use debugger::Debugger;

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = args.command.program("breakme")?;
    if args.count {
        return count::count(&program, args.versus_syscall);
    }
    let (wanted, optional) = args.wanted()?;
    let mut shown = wanted.join(", ");
    if optional {
        shown += " (if the program has it)";
    }
    say!("running {}, breaking at {shown}", program.label);
    let mut debugger = Debugger::new(wanted, optional, args.set_first_arg);
    let code = debugger.debug(&program)?;
    Ok(ExitCode::from(code))
}
