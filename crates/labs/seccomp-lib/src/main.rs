//! lab-seccomp-lib: a sandbox for a command, made with libseccomp. Every
//! call is allowed, as in the chapter's demo, but for the rules you write in
//! `lab.rs`: files may be opened to read and nothing else, and sockets are
//! for local (AF_UNIX) talk only; a refused call fails with the errno
//! given (`--errno`, EACCES by default). The filter is loaded into this
//! process, which then becomes the command (execvp), as the demo does:
//!
//! `cargo run -p lab-seccomp-lib -- [--errno NAME] [--print-filter] [--] PROG ARGS...`

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::unistd::execvp;
use workbook::libseccomp::{ScmpAction, ScmpFilterContext};
use workbook::names::{errno_by_name, errno_name};
use workbook::process::program_name;
use workbook::{ExitWith, Program};

mod lab;

/// Runs a command under a seccomp filter that lets it read files but not
/// write, create or truncate them, and make AF_UNIX sockets but no others:
/// those calls fail with an errno instead.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The errno a refused call fails with (EACCES, EPERM, EROFS...).
    #[arg(long, value_name = "NAME", default_value = "EACCES")]
    errno: String,

    /// Print the filter as libseccomp's pseudo-code (seccomp_export_pfc)
    /// and exit without loading it or running anything.
    #[arg(long, conflicts_with = "prog")]
    print_filter: bool,

    /// The program to run under the filter.
    #[arg(value_name = "PROG", required_unless_present = "print_filter")]
    prog: Option<OsString>,

    /// The program's arguments, options included.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, requires = "prog")]
    args: Vec<OsString>,
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
    // Find the program first: a typo is reported (127) before any filter.
    let program = match args.prog {
        Some(prog) => {
            let command: Vec<OsString> = std::iter::once(prog).chain(args.args).collect();
            Some(Program::from_command_line(&command, "opens")?)
        }
        None => None,
    };

    // seccomp_init(SCMP_ACT_ALLOW), as in the demo: what no rule matches runs.
    let mut ctx = ScmpFilterContext::new(ScmpAction::Allow).context("seccomp_init")?;
    // A call through another ABI (int 0x80) would be matched against the
    // wrong numbers: it kills the whole process, as in the demo.
    ctx.set_act_badarch(ScmpAction::KillProcess)
        .context("seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)")?;
    lab::refuse_writing(&mut ctx, errno as i32)?;
    lab::refuse_network(&mut ctx, errno as i32)?;

    let Some(program) = program else {
        ctx.export_pfc(std::io::stdout())
            .context("seccomp_export_pfc")?;
        return Ok(ExitCode::SUCCESS);
    };
    // Our name before the filter is loaded: it reads /proc/self/exe.
    let me = program_name();
    // Ask for the kernel's own errno rather than libseccomp's ECANCELED.
    let _ = ctx.set_api_sysrawrc(true);
    ctx.load().context("seccomp_load")?;
    workbook::narrate!(
        "{me}: filter loaded, writing opens and non-local sockets fail with {}; execvp {}",
        errno_name(errno),
        program.label
    );
    let failure = execvp(&program.file, &program.argv).unwrap_err();
    Err(ExitWith {
        code: if failure == Errno::ENOENT { 127 } else { 126 },
        message: format!("execvp {}: {}", program.name, errno_name(failure)),
    }
    .into())
}
