//! Lab: a fakeroot supervisor (chapter seccomp-notify).
//! The reference solution.
#![allow(unused_imports, unused_variables)]

use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use workbook::arch::Abi;
use workbook::notify;

/// The calls answered with the fake id, by their names in the caller's
/// ABI: x86_64's and x32's, and int 0x80's 32-bit-id calls.
const FAKED: [&str; 8] = [
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getuid32",
    "geteuid32",
    "getgid32",
    "getegid32",
];

pub fn serve(listener: BorrowedFd, fake_id: u32) -> Result<()> {
    let sizes = notify::notif_sizes()?;
    loop {
        let mut fds = [PollFd::new(listener, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            other => other.context("poll of the listener")?,
        };
        let events = fds[0].revents().unwrap_or(PollFlags::empty());
        if events.contains(PollFlags::POLLIN) {
            if let Some(call) = receive(listener, sizes.notif_bytes())? {
                let answer = decide(&call, fake_id);
                reply(listener, sizes.resp_bytes(), call.id, answer)?;
            }
        } else if events.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
            // No process uses the filter any more: nobody will call again.
            return Ok(());
        }
    }
}

/// ioctl(SECCOMP_IOCTL_NOTIF_RECV) into a buffer of this kernel's size,
/// zeroed each time (the kernel refuses one with anything in it: EINVAL).
/// `None`: the caller went away before we took its call.
fn receive(listener: BorrowedFd, bytes: usize) -> Result<Option<libc::seccomp_notif>> {
    let mut buffer = vec![0u64; bytes.div_ceil(8)];
    match ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut buffer) {
        Ok(()) => {}
        Err(Errno::ENOENT | Errno::EINTR) => return Ok(None),
        Err(errno) => return Err(errno).context("ioctl(SECCOMP_IOCTL_NOTIF_RECV)"),
    }
    // SAFETY: the kernel wrote a seccomp_notif at the buffer's start.
    Ok(Some(unsafe {
        buffer.as_ptr().cast::<libc::seccomp_notif>().read()
    }))
}

/// The fake id for an id call (a value: the call returns it and never
/// runs), `None` for every other call: it is to run.
fn decide(call: &libc::seccomp_notif, fake_id: u32) -> Option<i64> {
    let nr = u64::from(call.data.nr as u32);
    let name = Abi::of(call.data.arch, nr).name(nr);
    FAKED.contains(&name.as_str()).then_some(i64::from(fake_id))
}

/// ioctl(SECCOMP_IOCTL_NOTIF_SEND): `val` set to the value, `error` left
/// 0; or SECCOMP_USER_NOTIF_FLAG_CONTINUE. ENOENT is no error: the caller
/// was killed, or a signal interrupted its call, which then comes again
/// as a new notification or fails with EINTR.
fn reply(listener: BorrowedFd, bytes: usize, id: u64, value: Option<i64>) -> Result<()> {
    let mut buffer = vec![0u64; bytes.div_ceil(8)];
    // SAFETY: the buffer is zeroed, aligned, and at least as big as a
    // seccomp_notif_resp.
    let answer = unsafe { &mut *buffer.as_mut_ptr().cast::<libc::seccomp_notif_resp>() };
    answer.id = id;
    match value {
        Some(value) => answer.val = value,
        None => answer.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
    }
    match ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_SEND, &mut buffer) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(errno) => Err(errno).context("ioctl(SECCOMP_IOCTL_NOTIF_SEND)"),
    }
}

/// ioctl(listener, request, buffer), for RECV and SEND: each takes a
/// pointer to its struct, which the buffer holds.
fn ioctl(listener: BorrowedFd, request: libc::c_ulong, buffer: &mut [u64]) -> Result<(), Errno> {
    // SAFETY: the buffer is aligned, and as big as this kernel's struct
    // for `request`, which the kernel reads (SEND) or fills in (RECV).
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), request, buffer.as_mut_ptr()) };
    Errno::result(ret).map(drop)
}
