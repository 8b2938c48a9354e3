// seccomp-notify: syscall-blocker's job without ptrace. A seccomp filter
// returns SECCOMP_RET_USER_NOTIF for the blocked calls; the kernel then
// holds the calling thread and hands the call to a supervisor, this
// process, through a listener fd. The supervisor answers with an errno,
// or lets the call run (SECCOMP_USER_NOTIF_FLAG_CONTINUE), or opens a file
// itself and puts it into the program's fd table (SECCOMP_IOCTL_NOTIF_ADDFD).
//
// Its parts, in order: the filter (filter.rs), the child's side (child.rs),
// both in the library (lib.rs) that the lab shares, the supervisor's loop
// (supervisor.rs), its answer to each call (answer.rs), and the --trace
// lines (show.rs).

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;
use workbook::names::BlockArgs;
use workbook::CommandArgs;

mod answer;
mod show;
mod supervisor;

use seccomp_notify::{child, filter};

use answer::{Policy, Redirect};
use filter::Blocked;

/// Runs a command under a seccomp filter that sends the named syscalls to
/// this process, a user-notification supervisor, which makes them fail.
///
/// With no command it runs a built-in target that tries uname, socket and
/// getcwd, and blocks socket.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    blocking: BlockArgs,
    /// Print every call the supervisor answers, strace-style, on stderr,
    /// with its path argument read from the program's memory.
    #[arg(long)]
    trace: bool,
    /// When the program opens PATH (open or openat, the path as the program
    /// wrote it), the supervisor opens OTHER itself and puts that fd into
    /// the program (SECCOMP_IOCTL_NOTIF_ADDFD): the program reads OTHER.
    #[arg(long, value_name = "PATH=OTHER", value_parser = redirect)]
    redirect: Option<Redirect>,
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let mut names = args.blocking.block.clone();
    if args.command.is_empty() && names.is_empty() && args.redirect.is_none() {
        names.push("socket".into());
    }
    let blocked = Blocked::new(&names)?;
    let errno = args.blocking.errno()?;
    let program = args.command.program("tries")?;
    let shown = match blocked.names() {
        [] => "nothing".to_string(),
        names => format!("{} with {errno:?}", names.join(",")),
    };
    let redirected = match &args.redirect {
        Some(redirect) => format!(
            ", redirecting {} to {}",
            redirect.path.to_string_lossy(),
            redirect.other.display()
        ),
        None => String::new(),
    };
    workbook::narrate!(
        "seccomp-notify: running {}, blocking {shown}{redirected}",
        program.label
    );
    let policy = Policy {
        blocked,
        errno,
        redirect: args.redirect,
        trace: args.trace,
    };
    let code = supervisor::run(&program, &policy)?;
    Ok(ExitCode::from(code))
}

/// `--redirect PATH=OTHER`.
fn redirect(text: &str) -> Result<Redirect> {
    let Some((path, other)) = text.split_once('=') else {
        bail!("{text:?} is not PATH=OTHER");
    };
    if path.is_empty() || other.is_empty() {
        bail!("{text:?}: PATH and OTHER must both be given, as PATH=OTHER");
    }
    Ok(Redirect {
        path: OsString::from(path),
        other: other.into(),
    })
}
