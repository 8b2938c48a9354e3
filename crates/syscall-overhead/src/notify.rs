//! The user-notification rows: a filter returns SECCOMP_RET_USER_NOTIF for
//! getppid, and a supervisor, this process, answers every call: with
//! SECCOMP_USER_NOTIF_FLAG_CONTINUE (the kernel then runs it) or with a
//! value of its own (it never runs). Each call is a round trip: the target
//! sleeps, the supervisor wakes from poll, receives the call and answers,
//! and the target wakes with its result. seccomp-notify is this, in full.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{pipe2, Pid};
use workbook::bench::loop_time;
use workbook::notify::{self, Answer};
use workbook::trace::spawn_with;
use workbook::{seccomp, wait_for, Program, Stop};

use crate::watchers::stdout_to;

// ANCHOR: user_notif
/// The target with every getppid sent to us, and `answer` for each. With
/// `apart`, the target moves to that CPU before execvp, away from us.
pub fn user_notif(target: &Program, n: u64, answer: Answer, apart: Option<&CpuSet>) -> Result<u64> {
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair")?;
    let getppid = [libc::SYS_getppid as u64];
    let filter = seccomp::only_these(libc::SECCOMP_RET_USER_NOTIF, &getppid, &[], &[]);
    let guard = spawn_with(target, || {
        stdout_to(&write_end)?;
        if let Some(cpu) = apart {
            sched_setaffinity(Pid::from_raw(0), cpu)?;
        }
        seccomp::no_new_privs()?;
        let listener = notify::install_with_listener(&filter)?;
        notify::send_fd(theirs.as_fd(), listener.as_fd())?;
        // O_CLOEXEC: execvp closes it.
        let _ = listener.into_raw_fd();
        Ok(())
    })?;
    drop((write_end, theirs));
    let listener = notify::receive_fd(ours.as_fd())?
        .context("the target failed before it passed the listener on")?;
    let (end, answered) = answer_every_call(guard.pid(), listener.as_fd(), answer)?;
    guard.reaped();
    if answered < n {
        bail!("the supervisor answered {answered} calls for {n} getppid calls");
    }
    loop_time(end, output)
}

/// The supervisor's loop: poll the listener and the target's pidfd; a
/// call is received and answered, the target's end ends the loop. Returns
/// that end and how many calls were answered.
fn answer_every_call(pid: Pid, listener: BorrowedFd, answer: Answer) -> Result<(Stop, u64)> {
    let ended = pidfd_open(pid)?;
    let sizes = notify::notif_sizes()?;
    let mut answered = 0;
    loop {
        let mut fds = [
            PollFd::new(listener, PollFlags::POLLIN),
            PollFd::new(ended.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            other => other.context("poll of the listener and the pidfd")?,
        };
        let has = |fd: &PollFd, flag| fd.revents().is_some_and(|got| got.contains(flag));
        if has(&fds[0], PollFlags::POLLIN) {
            if let Some(call) = notify::recv(listener, sizes)? {
                answered += u64::from(notify::send(listener, sizes, call.id, answer)?);
            }
        } else if has(&fds[1], PollFlags::POLLIN) {
            let waited = wait_for(pid, WaitPidFlag::empty())?;
            return Ok((waited.stop, answered));
        }
    }
}
// ANCHOR_END: user_notif

/// pidfd_open(pid, 0): an fd that polls readable once `pid` has ended.
fn pidfd_open(pid: Pid) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags, no memory.
    let fd = Errno::result(unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) })
        .with_context(|| format!("pidfd_open({pid})"))?;
    // SAFETY: the call returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
