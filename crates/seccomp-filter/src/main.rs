//! seccomp-filter: the lecture's seccomp filter, written in classic BPF by
//! hand, installed with seccomp(SECCOMP_SET_MODE_FILTER), and run against a
//! program — then its hole (it never reads seccomp_data.arch) and the fix.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{execvp, fork, pipe, ForkResult};
use workbook::bpf::sock_filter;
use workbook::names::errno_name;
use workbook::seccomp::{install, no_new_privs};
use workbook::stop::describe_raw;
use workbook::{wait_for, ChildGuard, CommandArgs, Program, Stop};

mod filters;
use filters::Action;

/// Installs the lecture's seccomp filter and runs a command under it.
///
/// With no command it runs built-in targets: one that makes an allowed call
/// and then a forbidden one (and has a child do so too), and two that make
/// the forbidden call through the 32-bit ABI and with the x32 bit, which
/// the lecture's filter lets through and --hardened does not. It also shows
/// why `mod` is refused and why NO_NEW_PRIVS is needed.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Check seccomp_data.arch and the x32 bit before the syscall numbers.
    #[arg(long)]
    hardened: bool,
    /// What a forbidden call gets.
    #[arg(long, value_enum, default_value_t = Action::KillThread)]
    action: Action,
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let filter = match args.hardened {
        false => filters::lecture(args.action),
        true => filters::hardened(args.action),
    };
    if !args.command.is_empty() {
        let program = args.command.program("forbidden")?;
        eprint!("{}", filters::asm(&filter));
        let code = run_under(&filter, &program)?;
        return Ok(ExitCode::from(code));
    }
    eprint!("{}", filters::asm(&filter));

    section("an allowed call, then a forbidden one");
    run_under(&filter, &Program::builtin("forbidden", &[]))?;
    section("why not mod");
    why_not_mod()?;
    section("why NO_NEW_PRIVS");
    why_no_new_privs()?;
    section("the 32-bit ABI: int 0x80, i386 syscall numbers");
    run_under(&filter, &Program::builtin("bypass", &["i386"]))?;
    section("the x32 ABI: the number with bit 30 set");
    run_under(&filter, &Program::builtin("bypass", &["x32"]))?;
    Ok(ExitCode::SUCCESS)
}

fn section(title: &str) {
    eprintln!("\n== {title} ==");
}

// ANCHOR: run_under
/// Forks; the child installs the filter and becomes `program`; the parent
/// waits and says how it ended. Returns the exit code a shell would give.
fn run_under(filter: &[sock_filter], program: &Program) -> Result<u8> {
    eprintln!("seccomp-filter: running {} under the filter", program.label);
    let (report_read, report_write) = pipe().context("pipe")?;
    // SAFETY: single-threaded; the child makes only async-signal-safe calls
    // (setrlimit, prctl, seccomp, write, execvp, _exit).
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            drop(report_read);
            no_core_dumps();
            let failed = no_new_privs().and_then(|()| install(filter));
            if let Err(errno) = failed {
                report_and_exit(&report_write, errno);
            }
            let errno = execvp(&program.file, &program.argv).unwrap_err();
            report_and_exit(&report_write, errno)
        }
        ForkResult::Parent { child } => {
            drop(report_write);
            let guard = ChildGuard::new(child);
            let failure = read_report(report_read)?;
            let status = wait_for(child, WaitPidFlag::empty())?;
            guard.reaped();
            if let Some(errno) = failure {
                return Err(setup_error(errno, program));
            }
            eprintln!(
                "seccomp-filter: status {:#x}: {}",
                status.raw,
                describe_raw(status.raw)
            );
            if let Stop::Killed {
                signal: Signal::SIGSYS,
                ..
            } = status.stop
            {
                eprintln!(
                    "seccomp-filter: killed by SIGSYS: a shell would say \"Bad system call\""
                );
            }
            status
                .stop
                .exit_code()
                .context("the child neither exited nor was killed")
        }
    }
}
// ANCHOR_END: run_under

/// A SIGSYS death must not leave core files behind, nor make the wait
/// status depend on the machine's core settings.
fn no_core_dumps() {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct and is async-signal-safe.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
}

/// The child's half of a failure report: the errno, over a pipe that
/// execvp would have closed.
fn report_and_exit(pipe: &OwnedFd, errno: Errno) -> ! {
    let _ = nix::unistd::write(pipe, &(errno as i32).to_ne_bytes());
    // SAFETY: _exit skips the parent's atexit handlers and buffers.
    unsafe { libc::_exit(127) }
}

fn read_report(pipe: OwnedFd) -> Result<Option<Errno>> {
    let mut bytes = Vec::new();
    std::fs::File::from(pipe)
        .read_to_end(&mut bytes)
        .context("reading the child's report")?;
    Ok(bytes
        .get(..4)
        .map(|b| Errno::from_raw(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))))
}

fn setup_error(errno: Errno, program: &Program) -> anyhow::Error {
    match errno {
        Errno::ENOSYS | Errno::EINVAL => anyhow::anyhow!(
            "seccomp(SECCOMP_SET_MODE_FILTER): {}: this kernel has no seccomp filter support \
             (CONFIG_SECCOMP_FILTER)",
            errno_name(errno)
        ),
        Errno::ENOENT => workbook::ExitWith {
            code: 127,
            message: format!("execvp {}: {}", program.label, errno.desc()),
        }
        .into(),
        errno => anyhow::anyhow!(
            "starting {} under the filter: {}",
            program.label,
            errno_name(errno)
        ),
    }
}

// ANCHOR: why_not_mod
fn why_not_mod() -> Result<()> {
    let refused = try_install(&filters::with_mod(), true, false)?;
    eprint!("{}", filters::asm(&filters::with_mod()));
    match refused {
        Err(errno) => eprintln!("seccomp-filter: with mod: {}", errno_name(errno)),
        Ok(()) => bail!("the kernel accepted a filter with mod"),
    }
    let accepted = try_install(&filters::without_mod(), true, false)?;
    eprint!("{}", filters::asm(&filters::without_mod()));
    match accepted {
        Ok(()) => eprintln!("seccomp-filter: the same arithmetic without mod: loaded"),
        Err(errno) => bail!("the filter without mod was refused: {}", errno_name(errno)),
    }
    Ok(())
}

fn why_no_new_privs() -> Result<()> {
    match try_install(&filters::lecture(Action::KillThread), false, true)? {
        Err(errno) => eprintln!(
            "seccomp-filter: as an unprivileged user, without PR_SET_NO_NEW_PRIVS: {}",
            errno_name(errno)
        ),
        Ok(()) => bail!("an unprivileged process installed a filter without NO_NEW_PRIVS"),
    }
    match try_install(&filters::lecture(Action::KillThread), true, true)? {
        Ok(()) => eprintln!("seccomp-filter: the same user, after PR_SET_NO_NEW_PRIVS: loaded"),
        Err(errno) => bail!(
            "the filter was refused after NO_NEW_PRIVS: {}",
            errno_name(errno)
        ),
    }
    Ok(())
}
// ANCHOR_END: why_not_mod

/// Tries to install `filter` in a child process (a filter can never be
/// removed) and reports what seccomp(2) said.
fn try_install(
    filter: &[sock_filter],
    set_no_new_privs: bool,
    unprivileged: bool,
) -> Result<Result<(), Errno>> {
    let (report_read, report_write) = pipe().context("pipe")?;
    // SAFETY: single-threaded; the child makes only async-signal-safe calls.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            drop(report_read);
            let result = drop_root(unprivileged)
                .and_then(|()| {
                    if set_no_new_privs {
                        no_new_privs()
                    } else {
                        Ok(())
                    }
                })
                .and_then(|()| install(filter));
            let code = result.err().map_or(0, |errno| errno as i32);
            let _ = nix::unistd::write(&report_write, &code.to_ne_bytes());
            // SAFETY: _exit skips the parent's atexit handlers and buffers.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(report_write);
            let guard = ChildGuard::new(child);
            let report = read_report(report_read)?;
            wait_for(child, WaitPidFlag::empty())?;
            guard.reaped();
            match report {
                Some(Errno::UnknownErrno) => Ok(Ok(())),
                Some(errno) if errno as i32 == 0 => Ok(Ok(())),
                Some(errno) => Ok(Err(errno)),
                None => bail!("the child installing a filter died without a report"),
            }
        }
    }
}

/// As root, become nobody (uid 65534), so that CAP_SYS_ADMIN can't stand
/// in for NO_NEW_PRIVS.
fn drop_root(unprivileged: bool) -> Result<(), Errno> {
    if unprivileged && nix::unistd::geteuid().is_root() {
        nix::unistd::setgroups(&[])?;
        nix::unistd::setgid(nix::unistd::Gid::from_raw(65534))?;
        nix::unistd::setuid(nix::unistd::Uid::from_raw(65534))?;
    }
    Ok(())
}
