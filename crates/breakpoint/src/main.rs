// breakpoint: the lecture's first slide, «Основное назначение — отладка»,
// and its remark on interrupt 3. The demo finds a function's address in
// the program's ELF symbols, plants an int3 (0xCC) there with
// PTRACE_PEEKTEXT/POKETEXT, and at each SIGTRAP shows the trap
// (PTRACE_GETSIGINFO) and the arguments (PTRACE_GETREGS), then steps over
// it: the original byte back, rip one byte back (PTRACE_PEEKUSER and
// POKEUSER), one PTRACE_SINGLESTEP, the 0xCC again, PTRACE_CONT.
// `--count` single-steps a whole program instead.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;
use workbook::CommandArgs;

// The lesson: the int3 planted, and stepped over (PEEKTEXT/POKETEXT,
// PEEKUSER/POKEUSER, SINGLESTEP), and the symbols found. Both are in the
// demo's library (src/lib.rs), which the lab builds on.
use breakpoint::{int3, symbols};
// How the demo shows words and instructions, and its `say!`.
#[macro_use]
mod show;
// The debugger around the lesson: when to plant, the hits, the threads,
// and (its module loader.rs) the dynamic loader followed.
mod tracer;

use tracer::{is_address, parse_number, Debugger};

/// Runs a command with breakpoints (int3) on functions or addresses, and
/// shows the arguments at every hit, as `gdb -ex 'break *FUNC'` would.
///
/// With no command it runs a built-in target that calls target_fn three
/// times, and breaks there. With a command and no --break it breaks on
/// main, if the program has that symbol.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where to stop: a symbol of the program or of a shared library it
    /// loads (.symtab or .dynsym), or an address such as 0x401136.
    #[arg(long = "break", value_name = "SYMBOL|ADDRESS")]
    breaks: Vec<String>,
    /// Single-step the whole program with PTRACE_SINGLESTEP instead, and
    /// count its instructions in user space and the cost of a step.
    #[arg(long, conflicts_with_all = ["breaks", "set_rdi"])]
    count: bool,
    /// With --count: then run the program again under PTRACE_SYSCALL (its
    /// output to /dev/null) and show the cost of a syscall stop beside it.
    #[arg(long, requires = "count")]
    versus_syscall: bool,
    /// At the first hit, set rdi (the first argument) to VALUE with
    /// PTRACE_SETREGS, as gdb's `set $rdi = VALUE`.
    #[arg(long, value_name = "VALUE", value_parser = parse_number)]
    set_rdi: Option<u64>,
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = args.command.program("breakme")?;
    if args.count {
        return tracer::count(&program, args.versus_syscall);
    }
    let (wanted, optional) = match (args.breaks.is_empty(), args.command.is_empty()) {
        (false, _) => (args.breaks.clone(), false),
        (true, true) => (vec!["target_fn".to_string()], false),
        (true, false) => (vec!["main".to_string()], true),
    };
    for spec in &wanted {
        if spec.is_empty() {
            bail!("--break '': give a symbol name or an address");
        }
        if is_address(spec) {
            parse_number(spec).map_err(|why| anyhow::anyhow!("--break {spec}: {why}"))?;
        }
    }
    let mut shown = wanted.join(", ");
    if optional {
        shown += " (if the program has it)";
    }
    say!("running {}, breaking at {shown}", program.label);
    let mut debugger = Debugger::new(wanted, optional, args.set_rdi);
    let code = debugger.debug(&program)?;
    Ok(ExitCode::from(code))
}
