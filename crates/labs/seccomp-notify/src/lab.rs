//! Lab: a fakeroot supervisor (chapter seccomp-notify).
//!
//! The demo's supervisor fails calls with an errno. Yours makes a program
//! believe it runs as another user: its getuid, geteuid, getgid and
//! getegid return the id given on the command line (`--id`, 0 by default:
//! root), as under `fakeroot` (which does it by other means). No call
//! is refused, and none of these four ever runs: the supervisor answers
//! each with a value of its own. `main.rs` makes the filter, starts the
//! program under it (the demo's child, from its library), reaps the
//! program and its children in a thread of its own, and calls your
//! `serve` with the listener. Try it with
//! `cargo run -p lab-seccomp-notify -- whoami` (root) and
//! `cargo run -p lab-seccomp-notify -- --id 4242 -- id`, and check
//! it with `scripts/labs check seccomp-notify`.
#![allow(unused_imports, unused_variables)]

use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use workbook::arch::Abi;
use workbook::notify;

/// The supervisor's loop: receive each call the filter sends, decide,
/// reply; return `Ok(())` once no process uses the filter any more.
///
/// The filter sends, from the program and every thread and process it
/// starts: getuid, geteuid, getgid and getegid (through `syscall`, x32,
/// and `int 0x80`, where they are getuid32, geteuid32, getgid32 and
/// getegid32), which are to return `fake_id`; and openat and getppid,
/// which are to run as if no filter were there. Decide by the call's name
/// in its ABI: a number means different calls in different ABIs
/// (`Abi::of(arch, nr).name(nr)`, as the demo's answer.rs does).
///
/// Make the two ioctls yourself, as the chapter shows them (read
/// `workbook::notify`'s `recv` and `send`, but don't call them: this lab
/// is about what they do):
///
/// - `SECCOMP_IOCTL_NOTIF_RECV` fills a `libc::seccomp_notif` (the call's
///   id, pid and `seccomp_data`). The kernel's struct may be bigger than
///   libc's: `notify::notif_sizes()` says how big (`notif_bytes()`), and
///   the kernel refuses a buffer with anything in it (EINVAL).
/// - `SECCOMP_IOCTL_NOTIF_SEND` takes a `libc::seccomp_notif_resp` of
///   `resp_bytes()`: the call's id, and either the value the call returns
///   (it never runs) or the flag `SECCOMP_USER_NOTIF_FLAG_CONTINUE` (the
///   kernel runs it), never both. An answer can be a value or a failure:
///   know which field is which.
///
/// A caller may go away while you hold its call: killed, or interrupted
/// by a signal (its call then comes again, as a new notification). Then
/// the ioctl fails with ENOENT: nobody to answer, no error; go on.
///
/// When to stop: `poll` the listener. POLLIN: a call is waiting. POLLHUP:
/// the last process using the filter has ended and been reaped; none
/// will call again. A quiet spell is no end: a program may sleep between
/// calls. Any other failure is an error for `main.rs`, with `.context`
/// naming the call.
pub fn serve(listener: BorrowedFd, fake_id: u32) -> Result<()> {
    todo!("poll, receive, decide, reply; return on POLLHUP")
}
