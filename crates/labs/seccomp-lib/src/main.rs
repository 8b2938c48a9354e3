//! lab-seccomp-lib: the seccomp-lib demo, with the policies written by you
//! in `lab.rs`: the lecture's deny-list (allow everything, trap the
//! dangerous calls), and with `--allow-list` its opposite (trap everything
//! but the calls `echo` needs). It runs like the demo:
//! `cargo run -p lab-seccomp-lib -- [--allow-list] [--demo | --catch |
//! --print-filter | PROG ARGS...]`.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::unistd::execvp;
use workbook::libseccomp::{ScmpFilterContext, ScmpSyscall};
use workbook::names::errno_name;
use workbook::process::program_name;
use workbook::{ExitWith, Program};

/// Runs a command under a seccomp filter (built with libseccomp) that
/// traps mount, ptrace, kexec_load and the rest of the lecture's list of
/// dangerous syscalls: calling one kills the command with SIGSYS.
///
/// The demo loads the filter into itself and then execs the command, so
/// its exit status is the command's.
#[derive(Parser)]
#[command(version, override_usage = USAGE)]
struct Args {
    /// Run the built-in target that calls mount(2) under the filter: it is
    /// killed by SIGSYS, root or not.
    #[arg(long, conflicts_with_all = ["catch", "print_filter", "prog"])]
    demo: bool,

    /// Run the built-in target that catches SIGSYS with a handler, then
    /// calls mount(2) under the filter: it prints what the kernel says
    /// about the trapped call, and survives.
    #[arg(long, conflicts_with_all = ["print_filter", "prog"])]
    catch: bool,

    /// The lab's allow-list instead: every syscall traps but the ones
    /// `echo` needs (lab.rs's `echo_needs`).
    #[arg(long)]
    allow_list: bool,

    /// Print the filter as libseccomp's pseudo-code (seccomp_export_pfc)
    /// and exit without loading it or running anything.
    #[arg(long, conflicts_with = "prog")]
    print_filter: bool,

    /// The program to run under the filter. Required, unless --demo,
    /// --catch or --print-filter is given.
    #[arg(value_name = "PROG")]
    prog: Option<OsString>,

    /// The program's arguments, options included (`seccomp-lib ls -l`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, requires = "prog")]
    args: Vec<OsString>,
}

/// How to call it: the lecture's `usage: seccomp_lib <prog>`, and the
/// demo's own ways in. `--help` shows it, and so does a run without a program.
const USAGE: &str = "seccomp-lib [--] <PROG> [ARGS]...\n       \
                     seccomp-lib --demo | --catch | --print-filter";

/// Our sys_numbers[] (the slide elides the list), by name; modelled on
/// Docker's default profile, and shared with syscall-overhead.
use workbook::seccomp::LECTURE_DANGEROUS as SYS_NUMBERS;

mod lab;

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    // Find the program first: a typo is reported (127) before any filter.
    let program = if args.print_filter {
        None
    } else if args.demo {
        Some(Program::builtin("mount", &[]))
    } else if args.catch {
        Some(Program::builtin("sigsys", &[]))
    } else if let Some(prog) = args.prog {
        let command: Vec<OsString> = std::iter::once(prog).chain(args.args).collect();
        Some(Program::from_command_line(&command, "mount")?)
    } else {
        eprintln!("usage: {}", USAGE.replace("\n      ", " or"));
        return Ok(ExitCode::FAILURE);
    };

    // The names, as numbers of this architecture; your policy from them.
    let names = match args.allow_list {
        false => SYS_NUMBERS.to_vec(),
        true => lab::echo_needs(),
    };
    let mut syscalls = Vec::new();
    for name in names {
        match lookup(name) {
            Lookup::Found(syscall) => syscalls.push(syscall),
            Lookup::NotHere => eprintln!(
                "{}: skipping {name}: this architecture has no such syscall",
                program_name()
            ),
            Lookup::Unknown => eprintln!(
                "{}: skipping {name}: libseccomp knows no syscall by that name",
                program_name()
            ),
        }
    }
    let mut ctx = match args.allow_list {
        false => lab::deny_list(&syscalls)?,
        true => lab::allow_list(&syscalls)?,
    };

    let Some(program) = program else {
        ctx.export_pfc(std::io::stdout())
            .context("seccomp_export_pfc")?;
        return Ok(ExitCode::SUCCESS);
    };

    // Our name first: program_name() reads /proc/self/exe (readlink), and
    // under the allow-list nothing but a write and the execve is left to us.
    let me = program_name();
    load(&mut ctx)?;
    let rules = syscalls.len();
    match args.allow_list {
        false => eprintln!(
            "{me}: filter loaded, {rules} syscalls trap with SIGSYS; execvp {}",
            program.label
        ),
        true => eprintln!(
            "{me}: filter loaded, {rules} syscalls allowed, every other one traps with SIGSYS; execvp {}",
            program.label
        ),
    }
    let errno = execvp(&program.file, &program.argv).unwrap_err();
    Err(ExitWith {
        code: if errno == Errno::ENOENT { 127 } else { 126 },
        message: format!("execvp {}: {}", program.label, errno_name(errno)),
    }
    .into())
}

/// What libseccomp makes of a syscall name on the running architecture.
#[derive(Debug, PartialEq, Eq)]
enum Lookup {
    Found(ScmpSyscall),
    /// A syscall other architectures have: libseccomp gives it a negative
    /// pseudo-number here (e.g. `socketcall` on x86_64), which no rule can
    /// match.
    NotHere,
    /// Not a syscall on any architecture libseccomp knows.
    Unknown,
}

/// seccomp_syscall_resolve_name, for the native architecture.
fn lookup(name: &str) -> Lookup {
    match ScmpSyscall::from_name(name) {
        Ok(syscall) if syscall.as_raw_syscall() >= 0 => Lookup::Found(syscall),
        Ok(_) => Lookup::NotHere,
        Err(_) => Lookup::Unknown,
    }
}

/// seccomp_load: turns the rules into BPF and installs it with seccomp(2),
/// or prctl(PR_SET_SECCOMP) where the kernel predates seccomp(2). It also
/// sets no_new_privs, which lets a non-root process load a filter.
fn load(ctx: &mut ScmpFilterContext) -> Result<()> {
    // Ask for the kernel's own errno rather than libseccomp's ECANCELED.
    // libseccomp before 2.5 lacks the attribute; its errors are then vaguer.
    let _ = ctx.set_api_sysrawrc(true);
    let Err(error) = ctx.load() else {
        return Ok(());
    };
    match error.sysrawrc().map(|rc| Errno::from_raw(-rc)) {
        Some(errno @ (Errno::ENOSYS | Errno::EINVAL)) => bail!(
            "this kernel has no seccomp filter support (seccomp_load: {})",
            errno_name(errno)
        ),
        _ => Err(error).context("seccomp_load"),
    }
}
