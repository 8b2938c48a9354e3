//! The `opens` target: opens files and makes sockets the way a test asks,
//! each straight through syscall(2), and reports what the kernel (or a
//! seccomp filter) answered, what it read, and whether it wrote. It runs
//! only in its mailbox mode (`builtin:opens mailbox`): the tries come from
//! the test, past the program that started the target.
//!
//! The input: a count, then for each try its call (`openat`, `open`,
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

/// What the target writes into a file it managed to open for writing: a
/// filter that let the open through leaves it behind.
pub const WRITTEN: &[u8] = b"written by the opens target\n";

/// The most it reads from a file it managed to open for reading.
const READ_MAX: usize = 4096;

/// `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

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

/// The call, straight through syscall(2): its raw result and errno.
fn make(call: &str, path: &CString, first: u64, second: u64) -> Result<(i64, i32), String> {
    let p = path.as_ptr();
    let at = libc::AT_FDCWD as libc::c_long;
    let how = OpenHow {
        flags: first,
        mode: second,
        resolve: 0,
    };
    // SAFETY: each call reads a NUL-terminated string (or an open_how) that
    // outlives it, and writes no memory of ours.
    let ret = unsafe {
        match call {
            "openat" => libc::syscall(libc::SYS_openat, at, p, first, second),
            "open" => libc::syscall(libc::SYS_open, p, first, second),
            "creat" => libc::syscall(libc::SYS_creat, p, second),
            "openat2" => libc::syscall(
                libc::SYS_openat2,
                at,
                p,
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            ),
            "socket" => libc::syscall(libc::SYS_socket, first, second, 0),
            other => return Err(format!("no call named {other} here")),
        }
    };
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    Ok((ret, if ret < 0 { errno } else { 0 }))
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
