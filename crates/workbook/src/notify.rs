//! SECCOMP_RET_USER_NOTIF: a filter that hands a call to a supervisor
//! process, which decides its result while the caller waits. One function
//! per call of seccomp_unotify(2): the child's (install the filter, get the
//! listener, pass it on) and the supervisor's (receive, check, answer).
//!
//! The structs and ioctl numbers are the kernel's uapi <linux/seccomp.h>
//! ones; libc has them all (`seccomp_notif`, `seccomp_notif_resp`,
//! `seccomp_notif_addfd`, `SECCOMP_IOCTL_NOTIF_*`), so none is defined here.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::unistd::Pid;

use crate::bpf::sock_filter;

// ANCHOR: child
/// seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog):
/// installs `filter`, as `seccomp::install` does, and returns a new fd, the
/// listener, on which the calls the filter returns SECCOMP_RET_USER_NOTIF
/// for are delivered. The kernel opens it O_CLOEXEC: the program this child
/// is about to exec never has it. One listener per filter; the flag fails
/// with EBUSY when an older filter of this thread has one already.
pub fn install_with_listener(filter: &[sock_filter]) -> Result<OwnedFd, Errno> {
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `filter`, which outlives the call; the
    // kernel copies the program before returning.
    let fd = Errno::result(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog as *const libc::sock_fprog,
        )
    })?;
    // SAFETY: the call returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// sendmsg(2) with one byte and an SCM_RIGHTS message holding `fd`: the
/// receiver gets its own fd for the same open file, here the listener.
pub fn send_fd(socket: BorrowedFd, fd: BorrowedFd) -> Result<(), Errno> {
    let fds = [fd.as_raw_fd()];
    let byte = [IoSlice::new(b"L")];
    let rights = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(socket.as_raw_fd(), &byte, &rights, MsgFlags::empty(), None).map(drop)
}
// ANCHOR_END: child

/// recvmsg(2) of what `send_fd` sent: the fd, or `None` when the other end
/// closed without sending one (the child failed before it could).
pub fn receive_fd(socket: BorrowedFd) -> Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let message = loop {
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            other => break other.context("recvmsg of the listener fd (SCM_RIGHTS)")?,
        }
    };
    for control in message.cmsgs().context("recvmsg: control messages")? {
        if let ControlMessageOwned::ScmRights(fds) = control {
            if let Some(&fd) = fds.first() {
                // SAFETY: SCM_RIGHTS gave this process a new fd of its own.
                return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
            }
        }
    }
    Ok(None)
}

/// The sizes of the kernel's structs, which may grow in later kernels:
/// buffers are at least this big, and zeroed.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    notif: usize,
    resp: usize,
}

impl Sizes {
    /// How many bytes a `seccomp_notif` takes on this kernel (at least
    /// libc's struct): what a buffer for SECCOMP_IOCTL_NOTIF_RECV needs.
    pub fn notif_bytes(self) -> usize {
        self.notif
    }

    /// How many bytes a `seccomp_notif_resp` takes on this kernel (at least
    /// libc's struct): what SECCOMP_IOCTL_NOTIF_SEND reads.
    pub fn resp_bytes(self) -> usize {
        self.resp
    }
}

// ANCHOR: sizes
/// seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes): how big this kernel's
/// `seccomp_notif` and `seccomp_notif_resp` are.
pub fn notif_sizes() -> Result<Sizes> {
    let mut sizes = libc::seccomp_notif_sizes {
        seccomp_notif: 0,
        seccomp_notif_resp: 0,
        seccomp_data: 0,
    };
    // SAFETY: the kernel writes a seccomp_notif_sizes into `sizes`.
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_NOTIF_SIZES,
            0,
            &mut sizes as *mut libc::seccomp_notif_sizes,
        )
    })
    .context("seccomp(SECCOMP_GET_NOTIF_SIZES)")?;
    Ok(Sizes {
        notif: usize::from(sizes.seccomp_notif).max(size_of::<libc::seccomp_notif>()),
        resp: usize::from(sizes.seccomp_notif_resp).max(size_of::<libc::seccomp_notif_resp>()),
    })
}
// ANCHOR_END: sizes

/// A zeroed buffer of `size` bytes, aligned for the kernel's structs.
fn zeroed(size: usize) -> Vec<u64> {
    vec![0u64; size.div_ceil(8)]
}

/// One call, waiting for its answer: `struct seccomp_notif`.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The cookie that names this call in the answer.
    pub id: u64,
    /// The calling thread, in the supervisor's pid namespace.
    pub pid: Pid,
    /// `seccomp_data`: what the filter saw.
    pub nr: u64,
    pub arch: u32,
    pub args: [u64; 6],
}

// ANCHOR: recv
/// ioctl(SECCOMP_IOCTL_NOTIF_RECV): the next call waiting on `listener`
/// (it blocks until there is one). The struct must be zeroed first: the
/// kernel refuses one with anything in it (EINVAL). `None`: the call went
/// away before we took it (ENOENT: its thread was killed, or a signal
/// interrupted the call); EINTR too.
pub fn recv(listener: BorrowedFd, sizes: Sizes) -> Result<Option<Notification>> {
    let mut buffer = zeroed(sizes.notif);
    // SAFETY: `buffer` is zeroed and at least as big as this kernel's
    // seccomp_notif, which the kernel fills in.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            buffer.as_mut_ptr(),
        )
    };
    match Errno::result(ret) {
        Err(Errno::ENOENT | Errno::EINTR) => return Ok(None),
        other => other.context("ioctl(SECCOMP_IOCTL_NOTIF_RECV)")?,
    };
    // SAFETY: the buffer holds a seccomp_notif now, and is aligned for it.
    let notif = unsafe { &*buffer.as_ptr().cast::<libc::seccomp_notif>() };
    Ok(Some(Notification {
        id: notif.id,
        pid: Pid::from_raw(notif.pid as i32),
        nr: notif.data.nr as u32 as u64,
        arch: notif.data.arch,
        args: notif.data.args,
    }))
}
// ANCHOR_END: recv

// ANCHOR: id_valid
/// ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID): whether call `id` still waits for
/// its answer. After reading the target's memory: if the thread died
/// meanwhile, and its pid went to another process, the bytes read were
/// that process's, not the caller's. false: nothing to act on.
pub fn id_valid(listener: BorrowedFd, id: u64) -> Result<bool> {
    // SAFETY: the kernel reads a u64 at that address.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &id as *const u64,
        )
    };
    match Errno::result(ret) {
        Ok(_) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(errno) => Err(errno).context("ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID)"),
    }
}
// ANCHOR_END: id_valid

/// What the supervisor answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The call fails with this errno; it never runs.
    Fail(Errno),
    /// The call returns this value; it never runs.
    Return(i64),
    /// SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel runs the call as if
    /// the filter had allowed it, reading its arguments again.
    Continue,
}

// ANCHOR: send
/// ioctl(SECCOMP_IOCTL_NOTIF_SEND): the answer to call `id`. false: the
/// call is gone (ENOENT: the thread was killed, or a signal interrupted
/// the call, which then restarts or fails with EINTR as it would have):
/// no error, nothing to answer.
pub fn send(listener: BorrowedFd, sizes: Sizes, id: u64, answer: Answer) -> Result<bool> {
    let mut buffer = zeroed(sizes.resp);
    // SAFETY: the buffer is zeroed, aligned, and big enough for a
    // seccomp_notif_resp.
    let resp = unsafe { &mut *buffer.as_mut_ptr().cast::<libc::seccomp_notif_resp>() };
    resp.id = id;
    match answer {
        Answer::Fail(errno) => resp.error = -(errno as i32),
        Answer::Return(value) => resp.val = value,
        Answer::Continue => resp.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
    }
    // SAFETY: the kernel reads a seccomp_notif_resp from the buffer.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            buffer.as_mut_ptr(),
        )
    };
    match Errno::result(ret) {
        Ok(_) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(errno) => Err(errno).context("ioctl(SECCOMP_IOCTL_NOTIF_SEND)"),
    }
}
// ANCHOR_END: send

// ANCHOR: addfd
/// ioctl(SECCOMP_IOCTL_NOTIF_ADDFD) with SECCOMP_ADDFD_FLAG_SEND: puts a
/// copy of our `fd` into the caller's fd table and, in the same step,
/// answers call `id` with its number there, as if the call had opened it.
/// `cloexec`: the new fd gets O_CLOEXEC. `None`: the call is gone.
pub fn add_fd_and_answer(
    listener: BorrowedFd,
    id: u64,
    fd: BorrowedFd,
    cloexec: bool,
) -> Result<Option<i32>> {
    let addfd = libc::seccomp_notif_addfd {
        id,
        flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
        srcfd: fd.as_raw_fd() as u32,
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: the kernel reads a seccomp_notif_addfd from `addfd`.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ADDFD,
            &addfd as *const libc::seccomp_notif_addfd,
        )
    };
    match Errno::result(ret) {
        Ok(number) => Ok(Some(number)),
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => {
            Err(errno).context("ioctl(SECCOMP_IOCTL_NOTIF_ADDFD, SECCOMP_ADDFD_FLAG_SEND)")
        }
    }
}
// ANCHOR_END: addfd
