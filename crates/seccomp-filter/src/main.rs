// seccomp-filter: the lecture's seccomp filter, written in classic BPF by
// hand, installed with seccomp(SECCOMP_SET_MODE_FILTER), and run against a
// program — then its hole (it never reads seccomp_data.arch) and the fix.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{execvp, fork, pipe, pipe2, ForkResult};
use workbook::bpf::sock_filter;
use workbook::names::errno_name;
use workbook::seccomp::{install, no_new_privs};
use workbook::signal::{hold_fatal_signals, release_fatal_signals_in_child};
use workbook::stop::{describe_raw, wait_raw};
use workbook::{wait_for, ChildGuard, CommandArgs, Program};

use seccomp_filter::filters::{self, Action};

/// Installs the lecture's seccomp filter and runs a command under it.
///
/// With no command it runs built-in targets: one that makes an allowed call
/// and then a forbidden one (and has a child do so too), one in which a
/// thread makes the forbidden call (`ret #0` kills that thread alone), and
/// two that make the forbidden call through the 32-bit ABI and with the x32
/// bit, which the lecture's filter lets through and --hardened does not. It
/// also shows why `mod` is refused and why NO_NEW_PRIVS is needed.
///
/// The exit status is the command's, or 128 + N when a signal N killed it.
/// Ctrl-C goes to the command; the demo waits to report how it ended.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Check seccomp_data.arch and the x32 bit before the syscall numbers,
    /// and kill the whole process, not just the thread (kill-thread becomes
    /// kill-process).
    #[arg(long)]
    hardened: bool,
    /// What a forbidden call gets. kill-thread is the lecture's `ret #0`.
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
    // From here on Ctrl-C is for the program: the demo stays to report.
    hold_fatal_signals()?;
    let filter = match args.hardened {
        false => filters::lecture(args.action),
        true => filters::hardened(args.action),
    };
    if !args.command.is_empty() {
        let program = args.command.program("forbidden")?;
        workbook::narrate::part(&filters::asm(&filter));
        let code = run_under(&filter, &program)?;
        return Ok(ExitCode::from(code));
    }
    workbook::narrate::part(&filters::asm(&filter));

    section("an allowed call, then a forbidden one");
    run_under(&filter, &Program::builtin("forbidden", &[]))?;
    section("a thread makes the forbidden call");
    run_under(&filter, &Program::builtin("forbidden-thread", &[]))?;
    section("why not mod");
    why_not_mod()?;
    section("why NO_NEW_PRIVS");
    why_no_new_privs()?;
    other_abis(&filter)?;
    Ok(ExitCode::SUCCESS)
}

/// The forbidden call through the other doors x86_64 has.
#[cfg(target_arch = "x86_64")]
fn other_abis(filter: &[sock_filter]) -> Result<()> {
    section("the 32-bit ABI: int 0x80, i386 syscall numbers");
    run_under(filter, &Program::builtin("bypass", &["i386"]))?;
    section("the x32 ABI: the number with bit 30 set");
    run_under(filter, &Program::builtin("bypass", &["x32"]))?;
    Ok(())
}

/// arm64 has neither `int 0x80` nor x32; what differs is the numbers.
#[cfg(not(target_arch = "x86_64"))]
fn other_abis(_filter: &[sock_filter]) -> Result<()> {
    section("the numbers are this architecture's");
    for line in filters::numbers_here() {
        workbook::narrate!("seccomp-filter: {line}");
    }
    section("int 0x80 and x32: x86_64 only");
    workbook::narrate!(
        "seccomp-filter: {} has no int 0x80 and no x32; its 32-bit ABI is AArch32 code's \
         (AUDIT_ARCH_ARM), which --hardened kills",
        workbook::arch::NAME
    );
    Ok(())
}

fn section(title: &str) {
    workbook::narrate!("\n== {title} ==");
}

// ANCHOR: run_under
/// Forks; the child installs the filter and becomes `program`; the parent
/// waits and says how it ended. Returns the exit code a shell would give.
fn run_under(filter: &[sock_filter], program: &Program) -> Result<u8> {
    workbook::narrate!("seccomp-filter: running {} under the filter", program.label);
    // Close-on-exec: a successful execvp closes the child's end, and the
    // parent reads end-of-file instead of a report.
    let (report_read, report_write) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    // SAFETY: single-threaded; the child makes only async-signal-safe calls
    // (setrlimit, sigprocmask, prctl, seccomp, write, execvp, _exit).
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            drop(report_read);
            no_core_dumps();
            // Ctrl-C is the program's: the demo holds it, the child gets it.
            let step = release_fatal_signals_in_child()
                .map_err(|errno| (Step::SignalMask, errno))
                .and_then(|()| no_new_privs().map_err(|errno| (Step::NoNewPrivs, errno)))
                .and_then(|()| install(filter).map_err(|errno| (Step::Install, errno)));
            if let Err((step, errno)) = step {
                report_and_exit(&report_write, step, errno);
            }
            let errno = execvp(&program.file, &program.argv).unwrap_err();
            report_and_exit(&report_write, Step::Exec, errno)
        }
        ForkResult::Parent { child } => {
            drop(report_write);
            let guard = ChildGuard::new(child);
            let failure = read_report(report_read)?;
            let (_, raw) = wait_raw(Some(child), WaitPidFlag::empty())?
                .context("waitpid returned 0 without WNOHANG")?;
            guard.reaped();
            if let Some((step, errno)) = failure {
                return Err(setup_error(step, errno, program));
            }
            workbook::narrate!("seccomp-filter: status {raw:#x}: {}", describe_raw(raw));
            if libc::WIFSIGNALED(raw) && libc::WTERMSIG(raw) == libc::SIGSYS {
                workbook::narrate!(
                    "seccomp-filter: killed by SIGSYS: a shell would say \"Bad system call\""
                );
            }
            Ok(exit_code(raw))
        }
    }
}
// ANCHOR_END: run_under

/// A shell's `$?` for a wait status: the exit status, or 128 + the signal.
fn exit_code(raw: i32) -> u8 {
    if libc::WIFSIGNALED(raw) {
        (128 + libc::WTERMSIG(raw)) as u8
    } else {
        libc::WEXITSTATUS(raw) as u8
    }
}

/// A SIGSYS death must not leave core files behind, nor make the wait
/// status depend on the machine's core settings. The limit is 1, not 0:
/// a core_pattern that pipes to a program (systemd-coredump, apport)
/// ignores 0, and the kernel takes 1 to mean "no dump" there too.
fn no_core_dumps() {
    let none = libc::rlimit {
        rlim_cur: 1,
        rlim_max: 1,
    };
    // SAFETY: setrlimit reads the struct and is async-signal-safe.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
}

/// What the child was doing when it failed, before it became the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    SignalMask = 1,
    NoNewPrivs = 2,
    Install = 3,
    Exec = 4,
}

impl Step {
    fn from_raw(raw: i32) -> Option<Step> {
        [
            Step::SignalMask,
            Step::NoNewPrivs,
            Step::Install,
            Step::Exec,
        ]
        .into_iter()
        .find(|step| *step as i32 == raw)
    }
}

/// The child's half of a failure report: the step and its errno, over a
/// pipe that execvp would have closed.
fn report_and_exit(pipe: &OwnedFd, step: Step, errno: Errno) -> ! {
    let mut report = [0u8; 8];
    report[..4].copy_from_slice(&(step as i32).to_ne_bytes());
    report[4..].copy_from_slice(&(errno as i32).to_ne_bytes());
    let _ = nix::unistd::write(pipe, &report);
    // SAFETY: _exit skips the parent's atexit handlers and buffers.
    unsafe { libc::_exit(127) }
}

fn read_report(pipe: OwnedFd) -> Result<Option<(Step, Errno)>> {
    let mut bytes = Vec::new();
    std::fs::File::from(pipe)
        .read_to_end(&mut bytes)
        .context("reading the child's report")?;
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    match (word(0), word(4)) {
        (None, _) => Ok(None),
        (Some(step), Some(errno)) => match Step::from_raw(step) {
            Some(step) => Ok(Some((step, Errno::from_raw(errno)))),
            None => bail!("the child sent a report with an unknown step {step}"),
        },
        (Some(_), None) => bail!("the child's report is cut short"),
    }
}

fn setup_error(step: Step, errno: Errno, program: &Program) -> anyhow::Error {
    match (step, errno) {
        (Step::Install, Errno::ENOSYS | Errno::EINVAL) => anyhow::anyhow!(
            "seccomp(SECCOMP_SET_MODE_FILTER): {}: this kernel has no seccomp filter support \
             (CONFIG_SECCOMP_FILTER)",
            errno_name(errno)
        ),
        (Step::Install, errno) => {
            anyhow::anyhow!("seccomp(SECCOMP_SET_MODE_FILTER): {}", errno_name(errno))
        }
        (Step::NoNewPrivs, errno) => {
            anyhow::anyhow!("prctl(PR_SET_NO_NEW_PRIVS): {}", errno_name(errno))
        }
        (Step::SignalMask, errno) => anyhow::anyhow!(
            "sigprocmask(SIG_SETMASK) in the child, before execvp: {}",
            errno_name(errno)
        ),
        // As a shell: 127 when the file (or its #! interpreter) is not
        // there, 126 when it is but can't be executed.
        (Step::Exec, errno) => workbook::ExitWith {
            code: if errno == Errno::ENOENT { 127 } else { 126 },
            message: format!("execvp {}: {}", program.name, errno.desc()),
        }
        .into(),
    }
}

// ANCHOR: why_not_mod
fn why_not_mod() -> Result<()> {
    let refused = try_install(&filters::with_mod(), true, false)?;
    workbook::narrate::part(&filters::asm(&filters::with_mod()));
    match refused {
        Err(errno) => workbook::narrate!("seccomp-filter: with mod: {}", errno_name(errno)),
        Ok(()) => bail!("the kernel accepted a filter with mod"),
    }
    let accepted = try_install(&filters::without_mod(), true, false)?;
    workbook::narrate::part(&filters::asm(&filters::without_mod()));
    match accepted {
        Ok(()) => workbook::narrate!("seccomp-filter: the same arithmetic without mod: loaded"),
        Err(errno) => bail!("the filter without mod was refused: {}", errno_name(errno)),
    }
    Ok(())
}

fn why_no_new_privs() -> Result<()> {
    match try_install(&filters::lecture(Action::KillThread), false, true)? {
        Err(errno) => workbook::narrate!(
            "seccomp-filter: as an unprivileged user, without PR_SET_NO_NEW_PRIVS: {}",
            errno_name(errno)
        ),
        Ok(()) => bail!("an unprivileged process installed a filter without NO_NEW_PRIVS"),
    }
    match try_install(&filters::lecture(Action::KillThread), true, true)? {
        Ok(()) => {
            workbook::narrate!("seccomp-filter: the same user, after PR_SET_NO_NEW_PRIVS: loaded")
        }
        Err(errno) => bail!(
            "the filter was refused after NO_NEW_PRIVS: {}",
            errno_name(errno)
        ),
    }
    Ok(())
}
// ANCHOR_END: why_not_mod

// ANCHOR: try_install
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
            let report = read_errno(report_read)?;
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

/// try_install's report: one errno, 0 for success.
fn read_errno(pipe: OwnedFd) -> Result<Option<Errno>> {
    let mut bytes = Vec::new();
    std::fs::File::from(pipe)
        .read_to_end(&mut bytes)
        .context("reading the child's report")?;
    Ok(bytes
        .get(..4)
        .map(|b| Errno::from_raw(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))))
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
// ANCHOR_END: try_install
