//! The supervisor's answer to one call: read what it needs from the
//! program's memory, check that the call is still waiting, then fail it,
//! let it run, or open a file in its place.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use anyhow::Result;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use workbook::arch::Abi;
use workbook::notify::{self, Answer, Notification, Sizes};

use crate::filter::{in_every_abi, Blocked};
use crate::show::{Call, Printer};

/// What the supervisor was asked to do.
pub struct Policy {
    pub blocked: Blocked,
    pub errno: Errno,
    pub redirect: Option<Redirect>,
    pub trace: bool,
}

/// `--redirect PATH=OTHER`.
#[derive(Clone, Debug)]
pub struct Redirect {
    pub path: OsString,
    pub other: PathBuf,
}

/// The calls that open a file by path, with where their path and flags are.
const OPENS: [(&str, usize, usize); 2] = [("open", 0, 1), ("openat", 1, 2)];

impl Policy {
    /// The calls the filter sends to the supervisor.
    pub fn calls(&self) -> BTreeSet<(Abi, u64)> {
        let mut calls = self.blocked.numbers().clone();
        if self.redirect.is_some() {
            calls.extend(in_every_abi(&["open", "openat"]));
        }
        calls
    }
}

// ANCHOR: answer
/// Decides call `call` and answers it (SECCOMP_IOCTL_NOTIF_SEND, or
/// ADDFD with SECCOMP_ADDFD_FLAG_SEND). A call that is gone (its thread
/// killed, or a signal that interrupted it) is no error: nothing to answer.
pub fn answer(
    listener: BorrowedFd,
    sizes: Sizes,
    call: &Notification,
    policy: &Policy,
    printer: &mut Printer,
    prefix: Option<Pid>,
) -> Result<()> {
    let abi = Abi::of(call.arch, call.nr);
    let shown = Call::new(abi, call.nr, call.args);
    let open = OPENS.iter().find(|(name, ..)| *name == shown.name);
    let redirecting = open.is_some() && policy.redirect.is_some();
    // The path, from /proc/PID/mem, when the answer or the trace needs it.
    let path = match shown.path_argument() {
        Some(at) if redirecting || policy.trace => read_path(call.pid, call.args[at]),
        _ => None,
    };
    // What we read is the caller's only if its call is still waiting: a
    // thread that died meanwhile may have left its pid to another process.
    if path.is_some() && !notify::id_valid(listener, call.id)? {
        return Ok(());
    }
    if let (Some(&(_, _, flags_at)), Some(redirect), Some(path)) = (open, &policy.redirect, &path) {
        if path.as_slice() == redirect.path.as_bytes() {
            let flags = call.args[flags_at];
            let result = open_in_place(listener, sizes, call, redirect, flags)?;
            printer.show(prefix, &shown, Some(path), &result);
            return Ok(());
        }
    }
    let answer = if policy.blocked.contains(abi, call.nr) {
        Answer::Fail(policy.errno)
    } else {
        // An open of another path: the kernel runs it, reading the path again.
        Answer::Continue
    };
    // The line first: once answered, the program runs on, and what it
    // writes about the failure must come after our line, as under strace.
    let result = match answer {
        Answer::Fail(errno) => format!("-1 {} (blocked)", workbook::names::errno_name(errno)),
        _ => "? (continued: the kernel runs it)".to_string(),
    };
    printer.show(prefix, &shown, path.as_deref(), &result);
    notify::send(listener, sizes, call.id, answer)?;
    Ok(())
}
// ANCHOR_END: answer

// ANCHOR: redirect
/// The supervisor opens OTHER, with the program's flags, as itself; then
/// SECCOMP_IOCTL_NOTIF_ADDFD puts that open file into the caller's fd
/// table and answers the call with its number. Our fd is closed after.
/// If OTHER can't be opened, the call fails with that errno.
fn open_in_place(
    listener: BorrowedFd,
    sizes: Sizes,
    call: &Notification,
    redirect: &Redirect,
    flags: u64,
) -> Result<String> {
    let flags = OFlag::from_bits_retain(flags as i32);
    let cloexec = flags.contains(OFlag::O_CLOEXEC);
    let ours: Result<OwnedFd, Errno> = open(
        &redirect.other,
        flags | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o666),
    );
    let other = redirect.other.display();
    match ours {
        Ok(file) => Ok(
            match notify::add_fd_and_answer(listener, call.id, file.as_fd(), cloexec)? {
                Some(fd) => format!("{fd} (an fd of {other}, added by the supervisor)"),
                None => "? (gone before the answer)".to_string(),
            },
        ),
        Err(errno) => {
            notify::send(listener, sizes, call.id, Answer::Fail(errno))?;
            Ok(format!(
                "-1 {} (the supervisor's open of {other})",
                workbook::names::errno_name(errno)
            ))
        }
    }
}
// ANCHOR_END: redirect

// ANCHOR: read_path
/// PATH_MAX: no path the kernel takes is longer, NUL included.
const PATH_MAX: usize = 4096;

/// The NUL-terminated string at `addr` in the caller's memory, read from
/// /proc/PID/mem page by page (a path may end just before an unmapped
/// page). `None` when nothing there can be read.
fn read_path(pid: Pid, addr: u64) -> Option<Vec<u8>> {
    const PAGE: u64 = 4096;
    let mem = File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut path = Vec::new();
    let mut at = addr;
    while path.len() < PATH_MAX {
        let mut chunk = vec![0u8; (PAGE - at % PAGE) as usize];
        let read = match mem.read_at(&mut chunk, at) {
            Ok(read) => read,
            Err(_) if !path.is_empty() => return Some(path),
            Err(_) => return None,
        };
        if let Some(nul) = chunk[..read].iter().position(|&b| b == 0) {
            path.extend_from_slice(&chunk[..nul]);
            return Some(path);
        }
        path.extend_from_slice(&chunk[..read]);
        if read < chunk.len() {
            break;
        }
        at += read as u64;
    }
    Some(path)
}
// ANCHOR_END: read_path
