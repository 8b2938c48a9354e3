// seccomp-lib: the lecture's seccomp_lib, ported to the libseccomp crate.
// It builds a filter that lets every syscall through except a list of
// dangerous ones, which trap (SIGSYS); loads it into itself; and then
// becomes the command with execvp. The command and all its children keep
// the filter.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::unistd::execvp;
use workbook::libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};
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

/// Our sys_numbers[] (the slide elides the list), by name; checked against
/// Docker's default profile, and shared with syscall-overhead.
use workbook::seccomp::LECTURE_DANGEROUS as SYS_NUMBERS;

fn main() -> ExitCode {
    workbook::main(run)
}

// ANCHOR: main
/// The lecture's filter: every call is allowed but the list's, which trap.
/// Returns it, and what it does in words.
fn filter() -> Result<(ScmpFilterContext, String)> {
    // seccomp_init(SCMP_ACT_ALLOW): what no rule matches is allowed.
    let mut ctx = ScmpFilterContext::new(ScmpAction::Allow).context("seccomp_init")?;
    let trapped = resolve(SYS_NUMBERS);
    for &(name, syscall) in &trapped {
        // seccomp_rule_add(ctx, SCMP_ACT_TRAP, nr, 0)
        ctx.add_rule(ScmpAction::Trap, syscall)
            .with_context(|| format!("seccomp_rule_add(SCMP_ACT_TRAP, {name})"))?;
    }
    Ok((ctx, format!("{} syscalls trap with SIGSYS", trapped.len())))
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
        workbook::narrate!("usage: {}", USAGE.replace("\n      ", " or"));
        return Ok(ExitCode::FAILURE);
    };

    let (mut ctx, policy) = filter()?;
    // A call through another ABI (int 0x80 on x86_64, AArch32 code's calls
    // on arm64) fails the filter's architecture check. libseccomp's default
    // answer, SCMP_ACT_KILL, kills only the calling thread, and the program
    // goes on without it: kill the whole process instead, as
    // seccomp-filter's --hardened does.
    let kill_process = ctx.set_act_badarch(ScmpAction::KillProcess).map(drop);

    let Some(program) = program else {
        ctx.export_pfc(std::io::stdout())
            .context("seccomp_export_pfc")?;
        return Ok(ExitCode::SUCCESS);
    };

    // Our name before the filter is loaded: program_name() reads
    // /proc/self/exe (readlink), which a filter may trap.
    let me = program_name();
    load(&mut ctx)?;
    // libseccomp refuses KILL_PROCESS where the kernel lacks it (before
    // Linux 4.14), or lacks seccomp filters altogether: load() has said
    // so for the latter already; nothing has been run yet.
    kill_process.context(
        "seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS): \
         this kernel can't kill a whole process from a filter (Linux 4.14 can)",
    )?;
    workbook::narrate!("{me}: filter loaded, {policy}; execvp {}", program.label);
    let errno = execvp(&program.file, &program.argv).unwrap_err();
    Err(ExitWith {
        code: if errno == Errno::ENOENT { 127 } else { 126 },
        message: format!("execvp {}: {}", program.name, errno_name(errno)),
    }
    .into())
}
// ANCHOR_END: main

// ANCHOR: lookup
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

/// The names' syscalls on this architecture; the others are skipped, each
/// with a line on stderr.
fn resolve<'a>(names: &[&'a str]) -> Vec<(&'a str, ScmpSyscall)> {
    let mut found = Vec::new();
    for &name in names {
        match lookup(name) {
            Lookup::Found(syscall) => found.push((name, syscall)),
            Lookup::NotHere => workbook::narrate!(
                "{}: skipping {name}: this architecture has no such syscall",
                program_name()
            ),
            Lookup::Unknown => workbook::narrate!(
                "{}: skipping {name}: libseccomp knows no syscall by that name",
                program_name()
            ),
        }
    }
    found
}
// ANCHOR_END: lookup

// ANCHOR: load
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
// ANCHOR_END: load

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_libseccomp() {
        assert_eq!(
            lookup("mount"),
            Lookup::Found(ScmpSyscall::from(libc::SYS_mount as i32))
        );
        assert_eq!(lookup("no_such_syscall"), Lookup::Unknown);
        assert_eq!(lookup(""), Lookup::Unknown);
    }

    #[test]
    fn other_architectures_calls_are_not_here() {
        // socketcall exists on i386, not on x86_64.
        assert_eq!(lookup("socketcall"), Lookup::NotHere);
    }

    // On arm64 the x86-only calls of the list (iopl, ioperm, modify_ldt...)
    // are skipped, each with its line.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_list_resolves_on_x86_64() {
        let missing: Vec<_> = SYS_NUMBERS
            .iter()
            .filter(|name| !matches!(lookup(name), Lookup::Found(_)))
            .collect();
        assert!(missing.is_empty(), "not found: {missing:?}");
    }
}
