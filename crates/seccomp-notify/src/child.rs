//! The child's side: between fork and execvp, the child makes itself
//! filterable, installs the filter with a listener, and passes the
//! listener to the supervisor. Then it becomes the program, filter and all.

use std::os::fd::{AsFd, IntoRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use workbook::bpf::sock_filter;
use workbook::process::exit_child;
use workbook::trace::spawn_with;
use workbook::{notify, seccomp, ChildGuard, Program};

// ANCHOR: start
/// Forks the program with `filter` installed, and returns it with the
/// listener the child passed back, or `None` when the child failed before
/// it could (it said why, and its exit status says the rest).
pub fn start(program: &Program, filter: &[sock_filter]) -> Result<(ChildGuard, Option<OwnedFd>)> {
    // A Unix socket between the two: an fd can be sent over it (SCM_RIGHTS).
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair(AF_UNIX, SOCK_STREAM)")?;
    let guard = spawn_with(program, || {
        // Dies with the supervisor, as PTRACE_O_EXITKILL makes a tracee
        // die with its tracer: a program left without its supervisor
        // would see every call the filter sends it fail with ENOSYS.
        or_exit(die_with_parent(), "prctl(PR_SET_PDEATHSIG, SIGKILL)");
        // prctl(PR_SET_NO_NEW_PRIVS, 1): no filter without it, unless root.
        or_exit(seccomp::no_new_privs(), "prctl(PR_SET_NO_NEW_PRIVS)");
        // seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)
        let listener = or_exit(
            notify::install_with_listener(filter),
            "seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER)",
        );
        // sendmsg(theirs, SCM_RIGHTS [listener])
        or_exit(
            notify::send_fd(theirs.as_fd(), listener.as_fd()),
            "sendmsg(SCM_RIGHTS) of the listener",
        );
        // Not closed here: a close(2) now goes through the filter too. The
        // listener is O_CLOEXEC, so execvp closes it.
        let _ = listener.into_raw_fd();
        Ok(())
    })?;
    drop(theirs);
    let listener = notify::receive_fd(ours.as_fd())?;
    Ok((guard, listener))
}
// ANCHOR_END: start

/// prctl(PR_SET_PDEATHSIG, SIGKILL): this child gets SIGKILL when the
/// process that forked it ends. It lasts across execve (of a program that
/// is not setuid; with no_new_privs none is).
fn die_with_parent() -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments touches no memory of ours.
    Errno::result(unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    })
    .map(drop)
}

/// In the child: the value, or one line naming the call, and _exit(1).
fn or_exit<T>(result: Result<T, Errno>, call: &str) -> T {
    result.unwrap_or_else(|errno| exit_child(1, &format!("{call}: {}", errno.desc())))
}
