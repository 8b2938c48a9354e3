//! lab-seccomp-notify: a "fakeroot" supervisor. The program runs under a
//! filter that sends its getuid, geteuid, getgid and getegid (in every
//! ABI), and its openat and getppid, to this process; your `serve` in
//! `lab.rs` answers each: the ids with the value given (`--id`, 0 by
//! default: root), every other call with "run it". Everything else is
//! here: the filter, the child that installs it and passes the listener
//! back (the demo's, from its library), and the reaping of the program
//! and its children, in a thread of its own, so that the listener hangs
//! up once they are all gone. Run it with
//! `cargo run -p lab-seccomp-notify -- [--id N] [--] CMD ARGS...`.

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use seccomp_notify::{child, filter};
use workbook::arch::Abi;
use workbook::signal::hold_fatal_signals;
use workbook::stop::{decode, wait_raw};
use workbook::{ChildGuard, CommandArgs};

mod lab;

/// Runs a command under a seccomp filter that sends its getuid, geteuid,
/// getgid and getegid to this process, a user-notification supervisor,
/// which answers them with a fake id: the program believes it runs as
/// that user and group. Its openat and getppid are sent too, and run.
///
/// With no command it runs a built-in target that prints its ids.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The uid and gid the program is to see (0: root, as fakeroot).
    #[arg(long, value_name = "N", default_value_t = 0)]
    id: u32,
    #[command(flatten)]
    command: CommandArgs,
}

/// The calls the supervisor fakes, by their x86_64 (and x32) names; the
/// i386 ABI has them as getuid32 and so on (its getuid is the old 16-bit
/// one, left alone).
const FAKED: [&str; 4] = ["getuid", "geteuid", "getgid", "getegid"];
/// The calls it is sent too, and must let run.
const LET_RUN: [&str; 2] = ["openat", "getppid"];

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = args.command.program("ids")?;
    workbook::narrate!(
        "lab-seccomp-notify: running {}; its getuid, geteuid, getgid and getegid answered with {}",
        program.label,
        args.id
    );
    let filter = filter::notify_filter(&sent_calls());
    // Ctrl-C is the program's: SIGINT, SIGTERM, SIGHUP, SIGQUIT wait,
    // blocked, in this process, while the program gets them.
    hold_fatal_signals()?;
    // An orphan of the program comes to us to be reaped: the filter is in
    // use, and the listener open, until its last process is reaped.
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
        .context("prctl(PR_SET_CHILD_SUBREAPER)")?;
    let (guard, listener) = child::start(&program, &filter)?;
    let reaper = reap_all(guard);
    let Some(listener) = listener else {
        // The child failed before passing the listener on, and said why.
        return ended(reaper);
    };
    let served = lab::serve(listener.as_fd(), args.id);
    // From now on a call the filter sends fails with ENOSYS: nobody listens.
    drop(listener);
    if let Err(error) = served {
        // Nobody answers any more: the program and all it started die.
        KILL_THE_REST.store(true, Ordering::SeqCst);
        kill_our_children();
        let _ = reaper.join();
        return Err(error.context("serve"));
    }
    ended(reaper)
}

/// Every call the filter sends to the supervisor, by number in each ABI.
fn sent_calls() -> BTreeSet<(Abi, u64)> {
    let mut calls = filter::in_every_abi(&LET_RUN);
    for name in FAKED {
        // The 32-bit ABI (int 0x80; AArch32 code's on arm64) has the
        // 32-bit-id calls, getuid32 and so on.
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut names = vec![
            (Abi::NATIVE, name.to_string()),
            (Abi::COMPAT, format!("{name}32")),
        ];
        #[cfg(target_arch = "x86_64")]
        names.push((Abi::X32, name.to_string()));
        for (abi, name) in names {
            calls.extend(abi.number(&name).map(|nr| (abi, nr)));
        }
    }
    calls
}

/// Set when serve failed: every process left of the program is killed.
static KILL_THE_REST: AtomicBool = AtomicBool::new(false);

/// A thread that reaps the program and every child that comes to us
/// (waitpid(-1) until ECHILD), and returns the program's exit code
/// (128+N for signal N).
fn reap_all(guard: ChildGuard) -> JoinHandle<Result<u8>> {
    std::thread::spawn(move || {
        let first = guard.pid();
        let mut code = None;
        loop {
            match wait_raw(None, WaitPidFlag::__WALL) {
                Ok(Some((pid, raw))) if pid == first => {
                    code = decode(pid, raw)?.exit_code();
                }
                Ok(_) => {}
                Err(error) if error.downcast_ref::<Errno>() == Some(&Errno::ECHILD) => break,
                Err(error) => return Err(error),
            }
            if KILL_THE_REST.load(Ordering::SeqCst) {
                kill_our_children();
            }
        }
        guard.reaped();
        code.ok_or_else(|| anyhow!("the program's exit status was never seen"))
    })
}

/// SIGKILL to every child we have now; their own children come to us as
/// they die, and get it in turn.
fn kill_our_children() {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for pid in children
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// The program's exit code, once it and its children are all reaped.
fn ended(reaper: JoinHandle<Result<u8>>) -> Result<ExitCode> {
    let code = reaper
        .join()
        .map_err(|_| anyhow!("the reaping thread panicked"))??;
    Ok(ExitCode::from(code))
}
