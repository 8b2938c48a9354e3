//! lab-escapes: your filter from `lab.rs`, which keeps a program out of
//! new mounts and new namespaces whichever call it tries. This file reads
//! the errno's name, prints your filter in the lecture's bpf_asm syntax
//! (the seccomp-filter demo's printer), and runs a command under it: it
//! installs the filter in its own process, with the support crate's
//! no_new_privs and install, and becomes the command:
//! `cargo run -p lab-escapes -- [--errno NAME] [-- CMD ARGS...]`.

use std::process::ExitCode;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use seccomp_filter::filters::asm;
use workbook::names::errno_by_name;
use workbook::seccomp::install_explained;
use workbook::CommandArgs;

mod lab;

/// Your filter, from lab.rs: mount and the new mount API, setns, and
/// clone or unshare with a namespace flag fail with the errno; clone3
/// fails with ENOSYS; another ABI is killed; everything else runs.
///
/// Without a command it prints the filter in bpf_asm (or with --ddd as
/// `tcpdump -ddd` prints a program) and exits. With one,
/// it prints the filter on stderr, installs it in its own process and
/// becomes the command (execvp), which then runs under it.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The error a refused call returns.
    #[arg(long, default_value = "EPERM", value_name = "NAME")]
    errno: String,
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
    let errno = errno_by_name(&args.errno).with_context(|| {
        format!(
            "--errno {}: not an errno name such as EPERM or EACCES",
            args.errno
        )
    })?;
    let filter = lab::closed(errno as u16);
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
        "lab-escapes: installing the filter, then becoming {}",
        program.label
    );
    install_explained(&filter)?;
    let errno = nix::unistd::execvp(&program.file, &program.argv).unwrap_err();
    Err(workbook::ExitWith {
        code: if errno == Errno::ENOENT { 127 } else { 126 },
        message: format!("execvp {}: {}", program.name, errno.desc()),
    }
    .into())
}
