//! The open calls a grading test asks for, made straight through
//! syscall(2) (`open_call`), in two targets:
//!
//! - `builtin:opens mailbox`, here: opens files and makes sockets the way
//!   a test asks, and reports what the kernel (or a seccomp filter)
//!   answered, what it read, and whether it wrote (the seccomp-lib lab);
//! - `builtin:tries opens`, in `cases`: opens files each in its own way,
//!   from paths laid out in memory as the test asks (the syscall-blocker
//!   lab).
//!
//! Both run only in their mailbox modes: the tries come from the test,
//! past the program that started the target.
//!
//! `builtin:opens mailbox`, in full. The input: a count, then for each try its call (`openat`, `open`,
//! `creat`, `openat2` or `socket`), a path (empty for `socket`), and two
//! numbers: the flags and the mode for the opens, the domain and the type
//! for `socket`. The report: the target's seccomp mode and number of
//! filters (/proc/self/status), then for each try the raw result, the
//! errno (0 on success), whether it wrote `WRITTEN` into the file, and the
//! bytes it read from it.

use std::ffi::CString;
use std::process::ExitCode;

use super::mailbox::{serve, Reader, Writer};
use super::tries::status_number;
use crate::procfs::Status;

pub mod cases;

/// What the target writes into a file it managed to open for writing: a
/// filter that let the open through leaves it behind.
pub const WRITTEN: &[u8] = b"written by the opens target\n";

/// The most it reads from a file it managed to open for reading.
const READ_MAX: usize = 4096;

pub fn opens(mode: Option<&str>) -> ExitCode {
    match mode {
        Some("mailbox") => serve(|input| Ok((tries(input)?, 0))),
        _ => {
            eprintln!("target: opens: runs only as `builtin:opens mailbox`, for a test");
            ExitCode::from(2)
        }
    }
}

fn tries(input: &[u8]) -> Result<Vec<u8>, String> {
    let mut input = Reader::new(input);
    let mut report = Writer::new();
    let status = Status::of_self().ok();
    report
        .u64(status_number(&status, "Seccomp"))
        .u64(status_number(&status, "Seccomp_filters"));
    let count = input.u64()?;
    for _ in 0..count {
        let call = String::from_utf8_lossy(input.bytes()?).into_owned();
        let path = CString::new(input.bytes()?).map_err(|_| "a path with a NUL byte")?;
        let (first, second) = (input.u64()?, input.u64()?);
        let (ret, errno) = make(&call, &path, first, second)?;
        let (mut wrote, mut read) = (false, Vec::new());
        if ret >= 0 && call != "socket" {
            let fd = ret as libc::c_int;
            (wrote, read) = use_file(fd, &call, first);
        }
        if ret >= 0 {
            // SAFETY: the descriptor the call just returned is ours.
            unsafe { libc::close(ret as libc::c_int) };
        }
        report
            .u64(ret as u64)
            .u64(errno as u64)
            .u64(u64::from(wrote))
            .bytes(&read);
    }
    Ok(report.0)
}

/// The call: one of the opens, or socket(2), straight through syscall(2):
/// its raw result and errno.
fn make(call: &str, path: &CString, first: u64, second: u64) -> Result<(i64, i32), String> {
    if call != "socket" {
        let at = libc::AT_FDCWD as libc::c_long;
        return open_call(call, at, path.as_ptr(), first, second);
    }
    // SAFETY: socket reads and writes no memory of ours.
    let ret = unsafe { libc::syscall(libc::SYS_socket, first, second, 0) };
    Ok(raw_result(ret))
}

/// One of the open calls, `call` (open, openat, creat or openat2), of
/// `path`, straight through syscall(2), with `flags` and `mode` (creat
/// takes only the mode; openat and openat2 also `dirfd`): its raw result
/// and errno. What it opened is the caller's to close.
fn open_call(
    call: &str,
    dirfd: libc::c_long,
    path: *const libc::c_char,
    flags: u64,
    mode: u64,
) -> Result<(i64, i32), String> {
    let how = OpenHow {
        flags,
        mode,
        resolve: 0,
    };
    // SAFETY: each call reads a NUL-terminated path that outlives it (and
    // openat2 an open_how of the size given), and writes no memory of ours.
    let ret = unsafe {
        match call {
            "open" => libc::syscall(libc::SYS_open, path, flags, mode),
            "openat" => libc::syscall(libc::SYS_openat, dirfd, path, flags, mode),
            "creat" => libc::syscall(libc::SYS_creat, path, mode),
            "openat2" => libc::syscall(
                libc::SYS_openat2,
                dirfd,
                path,
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            ),
            other => return Err(format!("no call named {other} here")),
        }
    };
    Ok(raw_result(ret))
}

/// openat2's `struct open_how` (linux/openat2.h).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// A raw syscall's result, with its errno (0 when it succeeded): read
/// right after the call, before anything else can change errno.
fn raw_result(ret: libc::c_long) -> (i64, i32) {
    match ret {
        0.. => (ret, 0),
        _ => (
            ret,
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ),
    }
}

/// Writes `WRITTEN` into a file opened for writing and reads what a file
/// opened for reading holds: whether it wrote, and what it read.
fn use_file(fd: libc::c_int, call: &str, flags: u64) -> (bool, Vec<u8>) {
    let access = if call == "creat" {
        libc::O_WRONLY
    } else {
        flags as libc::c_int & libc::O_ACCMODE
    };
    let mut wrote = false;
    if access == libc::O_WRONLY || access == libc::O_RDWR {
        // SAFETY: write(2) reads WRITTEN, a static.
        let put = unsafe { libc::write(fd, WRITTEN.as_ptr().cast(), WRITTEN.len()) };
        wrote = put > 0;
    }
    let mut read = Vec::new();
    if access == libc::O_RDONLY || access == libc::O_RDWR {
        let mut buffer = [0u8; READ_MAX];
        // SAFETY: pread(2) writes at most the buffer's length into it.
        let got = unsafe { libc::pread(fd, buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        if got > 0 {
            read.extend_from_slice(&buffer[..got as usize]);
        }
    }
    (wrote, read)
}
