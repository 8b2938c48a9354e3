//! The command line: its flags, and the numbers and addresses they take.

use anyhow::{bail, Result};
use clap::Parser;
use workbook::CommandArgs;

/// Runs a command with breakpoints (int3) on functions or addresses, and
/// shows the arguments at every hit, as `gdb -ex 'break *FUNC'` would.
///
/// With no command it runs a built-in target that calls target_fn three
/// times, and breaks there. With a command and no --break it breaks on
/// main, if the program has that symbol.
#[derive(Parser)]
#[command(version)]
pub struct Args {
    /// Where to stop: a symbol of the program or of a shared library it
    /// loads (.symtab or .dynsym), or an address such as 0x401136.
    #[arg(long = "break", value_name = "SYMBOL|ADDRESS")]
    pub breaks: Vec<String>,
    /// Single-step the whole program with PTRACE_SINGLESTEP instead, and
    /// count its instructions in user space and the cost of a step.
    #[arg(long, conflicts_with_all = ["breaks", "set_first_arg"])]
    pub count: bool,
    /// With --count: then run the program again under PTRACE_SYSCALL (its
    /// output to /dev/null) and show the cost of a syscall stop beside it.
    #[arg(long, requires = "count")]
    pub versus_syscall: bool,
    // --set-rdi, or --set-x0 on arm64: named after the register it sets.
    #[arg(long = SET_FIRST_ARG.0, help = SET_FIRST_ARG.1, value_name = "VALUE", value_parser = parse_number)]
    #[cfg_attr(target_arch = "aarch64", arg(alias = "set-rdi"))]
    pub set_first_arg: Option<u64>,
    #[command(flatten)]
    pub command: CommandArgs,
}

/// The flag that sets the first argument's register at the first hit, and
/// its help: named after the register, as gdb's `set $REGISTER = VALUE`.
#[cfg(target_arch = "x86_64")]
const SET_FIRST_ARG: (&str, &str) = (
    "set-rdi",
    "At the first hit, set rdi (the first argument) to VALUE with PTRACE_SETREGS, as gdb's `set $rdi = VALUE`",
);
#[cfg(target_arch = "aarch64")]
const SET_FIRST_ARG: (&str, &str) = (
    "set-x0",
    "At the first hit, set x0 (the first argument) to VALUE with PTRACE_SETREGSET, as gdb's `set $x0 = VALUE` (--set-rdi works too)",
);

impl Args {
    /// Where to break, and whether only if the program has it: the --break
    /// names, checked; with none, target_fn in the built-in target, or a
    /// command's main if it has one.
    pub fn wanted(&self) -> Result<(Vec<String>, bool)> {
        let (wanted, optional) = match (self.breaks.is_empty(), self.command.is_empty()) {
            (false, _) => (self.breaks.clone(), false),
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
        Ok((wanted, optional))
    }
}

/// `--break 0x401136`: an address, not a symbol.
pub fn is_address(spec: &str) -> bool {
    spec.starts_with("0x") || spec.starts_with("0X")
}

/// A number as gdb reads one: decimal, or hex with 0x.
pub fn parse_number(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("'{text}' is not a number (decimal, or hex with 0x)"))
}
