//! lab-seccomp-filter: an allow-list with the arch check, built by you in
//! `lab.rs` from syscall names given on the command line. This file turns
//! the names into numbers, prints your filter in the lecture's bpf_asm
//! syntax (the demo's printer, `seccomp_filter::filters::asm`), and runs a
//! command under it: it installs the filter in its own process, with the
//! support crate's no_new_privs and install, and becomes the command:
//! `cargo run -p lab-seccomp-filter -- --allow NAME,NAME... [-- CMD ARGS...]`.

use std::process::ExitCode;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use seccomp_filter::filters::asm;
use workbook::names::syscall_number;
use workbook::seccomp::install_explained;
use workbook::CommandArgs;

mod lab;

/// How many calls an allow-list may name: a jump reaches at most 255
/// instructions ahead.
const MOST_ALLOWED: usize = 250;

/// Your allow-list, from lab.rs: the calls named in --allow are allowed,
/// every other call fails with EPERM, an x32 number (on x86_64) with
/// ENOSYS, and a call through another ABI (int 0x80, or AArch32 code on
/// arm64) kills the process.
///
/// Without a command it prints the filter in bpf_asm (or with --ddd as
/// `tcpdump -ddd` prints a program) and exits. With one,
/// it prints the filter on stderr, installs it in its own process and
/// becomes the command (execvp), which then runs under it: the list must
/// allow execve and everything the command calls, from its first
/// instruction to its exit_group (`strace -f CMD` lists them).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The calls to allow, by their names on this architecture, separated
    /// by commas (`--allow execve,write,exit_group`); at most 250.
    #[arg(long, value_delimiter = ',', value_name = "NAMES", required = true)]
    allow: Vec<String>,
    /// Without a command: print the filter as `tcpdump -ddd` prints a
    /// program, the count, then `code jt jf k` a line, in decimal.
    #[arg(long)]
    ddd: bool,
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let numbers = args
        .allow
        .iter()
        .map(|name| {
            syscall_number(name).with_context(|| {
                format!(
                    "--allow: no {} syscall named {name:?}",
                    workbook::arch::NAME
                )
            })
        })
        .collect::<Result<Vec<u64>>>()?;
    ensure!(
        numbers.len() <= MOST_ALLOWED,
        "--allow names {} calls; an allow-list of jeqs holds at most {MOST_ALLOWED}",
        numbers.len()
    );
    let filter = lab::allow_list(&numbers);
    if args.command.is_empty() {
        match args.ddd {
            true => print!("{}", workbook::bpf::disasm::ddd(&filter)),
            false => print!("{}", asm(&filter)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    ensure!(!args.ddd, "--ddd prints the filter: give it no command");
    let program = args.command.program("")?;
    workbook::narrate::part(&asm(&filter));
    workbook::narrate!(
        "lab-seccomp-filter: installing the filter, then becoming {}",
        program.label
    );
    install_explained(&filter)?;
    // Under the filter from here on: execve must be on the list, and this
    // error reaches stderr only if write is.
    let errno = nix::unistd::execvp(&program.file, &program.argv).unwrap_err();
    Err(workbook::ExitWith {
        code: if errno == Errno::ENOENT { 127 } else { 126 },
        message: format!(
            "execvp {}: {} (under the filter: is execve allowed?)",
            program.name,
            errno.desc()
        ),
    }
    .into())
}
