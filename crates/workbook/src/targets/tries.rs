//! The `tries` target: makes a few syscalls and reports what each returned,
//! so a blocked call shows up as the error the program itself sees.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use crate::procfs::Status;

/// uname, socket and getcwd, each reported on its own line; with
/// `mailbox`, the calls a test posts (see `mailbox`); with `opens`, the
/// files a test names (see `opens::cases::mailbox`).
pub fn tries(mode: Option<&str>) -> ExitCode {
    match mode {
        None => {}
        Some("mailbox") => return super::mailbox::serve(mailbox),
        Some("opens") => return super::mailbox::serve(super::opens::cases::mailbox),
        Some(other) => {
            eprintln!("target: tries: unknown mode {other} (try none, mailbox or opens)");
            return ExitCode::from(2);
        }
    }
    report("uname", {
        // SAFETY: utsname is plain data; uname fills it in.
        let mut name: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `name` is a valid, writable utsname.
        check(unsafe { libc::uname(&mut name) })
    });
    report("socket", {
        // SAFETY: socket takes no pointers.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd >= 0 {
            // SAFETY: we own the descriptor that socket just returned.
            unsafe { libc::close(fd) };
        }
        check(fd)
    });
    report("getcwd", {
        let mut buffer = [0u8; 4096];
        // SAFETY: the buffer is valid for its length.
        let ret = unsafe { libc::getcwd(buffer.as_mut_ptr().cast(), buffer.len()) };
        check(if ret.is_null() { -1 } else { 0 })
    });
    ExitCode::SUCCESS
}

fn check(ret: libc::c_int) -> Result<(), std::io::Error> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn report(call: &str, result: Result<(), std::io::Error>) {
    match result {
        Ok(()) => println!("target: {call}: ok"),
        Err(error) => println!("target: {call}: failed: {error}"),
    }
}

/// `call` at `path` (relative: the target works in the test's folder):
/// mkdir, mkdirat, mknod, mknodat (a FIFO), symlink, symlinkat, link,
/// linkat or creat, each of which makes something there when it runs,
/// straight through syscall(2); `existing` is a file that exists, for the
/// links. Returns the raw result and errno.
fn make(call: &str, path: &CString, existing: &CString) -> Result<(i64, i32), String> {
    let (p, e) = (path.as_ptr(), existing.as_ptr());
    let fifo = (libc::S_IFIFO | 0o600) as libc::c_long;
    let at = libc::AT_FDCWD as libc::c_long;
    // SAFETY: each call reads NUL-terminated strings that outlive it, and
    // writes no memory of ours.
    let ret = unsafe {
        match call {
            "mkdir" => libc::syscall(libc::SYS_mkdir, p, 0o755),
            "mkdirat" => libc::syscall(libc::SYS_mkdirat, at, p, 0o755),
            "mknod" => libc::syscall(libc::SYS_mknod, p, fifo, 0),
            "mknodat" => libc::syscall(libc::SYS_mknodat, at, p, fifo, 0),
            "symlink" => libc::syscall(libc::SYS_symlink, e, p),
            "symlinkat" => libc::syscall(libc::SYS_symlinkat, e, at, p),
            "link" => libc::syscall(libc::SYS_link, e, p),
            "linkat" => libc::syscall(libc::SYS_linkat, at, e, at, p, 0),
            "creat" => libc::syscall(libc::SYS_creat, p, 0o600),
            other => return Err(format!("no call named {other} here")),
        }
    };
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    if call == "creat" && ret >= 0 {
        // SAFETY: the descriptor creat just returned is ours.
        unsafe { libc::close(ret as libc::c_int) };
    }
    Ok((ret, if ret < 0 { errno } else { 0 }))
}

/// A number from a read of this process's /proc/self/status (`TracerPid`,
/// `Seccomp`, `Seccomp_filters`), or u64::MAX when there is no such line.
pub(super) fn status_number(status: &Option<Status>, field: &str) -> u64 {
    status
        .as_ref()
        .and_then(|status| status.number(field).ok())
        .unwrap_or(u64::MAX)
}

static HANDLED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static HANDLED_VALUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn record(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    use std::sync::atomic::Ordering;
    // SAFETY: the kernel hands an SA_SIGINFO handler a valid siginfo.
    let value = unsafe { (*info).si_value().sival_ptr } as u64;
    HANDLED_VALUE.store(value, Ordering::SeqCst);
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// Sends `signal` with `value` to this process (sigqueue), its handler
/// installed and the signal unblocked, and returns how many times the
/// handler ran and the value it got last.
fn queue_to_self(signal: libc::c_int, value: u64) -> Result<(u64, u64), String> {
    use std::sync::atomic::Ordering;
    // SAFETY: a zeroed sigaction and sigset are valid to fill in; the
    // handler only stores into atomics, which is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = record as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
            return Err(format!(
                "sigaction({signal}): {}",
                std::io::Error::last_os_error()
            ));
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        let sigval = libc::sigval {
            sival_ptr: value as usize as *mut libc::c_void,
        };
        if libc::sigqueue(libc::getpid(), signal, sigval) != 0 {
            return Err(format!(
                "sigqueue({signal}): {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok((
        HANDLED.load(Ordering::SeqCst),
        HANDLED_VALUE.load(Ordering::SeqCst),
    ))
}

/// The `mailbox` mode, for grading tests. The input: the exit status, the
/// test's folder (to work in), a file to make there with open(2) and its
/// contents, a call (see `make`) and the name it is to make, and
/// a signal with a value to queue to itself (0: none). The target prints
/// what the call returned, as `tries` does, and reports: open's result,
/// the call's raw result and errno, whether the name exists afterwards,
/// its TracerPid, Seccomp and Seccomp_filters, and how many times its
/// signal handler ran, with what value.
fn mailbox(input: &[u8]) -> Result<(Vec<u8>, u8), String> {
    use super::mailbox::{Reader, Writer};
    let mut input = Reader::new(input);
    let status = input.u64()? as u8;
    let folder = input.bytes()?;
    let control = c_string(input.bytes()?)?;
    let contents = input.bytes()?;
    let call = String::from_utf8_lossy(input.bytes()?).into_owned();
    let name = c_string(input.bytes()?)?;
    let signal = input.u64()? as libc::c_int;
    let value = input.u64()?;
    std::env::set_current_dir(std::ffi::OsStr::from_bytes(folder))
        .map_err(|error| format!("chdir: {error}"))?;
    let proc_status = Status::of_self().ok();
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(std::ffi::OsStr::from_bytes(control.as_bytes()))
        .and_then(|mut file| std::io::Write::write_all(&mut file, contents));
    let (ret, errno) = make(&call, &name, &control)?;
    let exists = std::fs::symlink_metadata(std::ffi::OsStr::from_bytes(name.as_bytes())).is_ok();
    report(
        &call,
        if ret < 0 {
            Err(std::io::Error::from_raw_os_error(errno))
        } else {
            Ok(())
        },
    );
    let (handled, handled_value) = match signal {
        0 => (0, 0),
        signal => queue_to_self(signal, value)?,
    };
    let mut out = Writer::new();
    out.u64(made.map_or_else(|error| error.raw_os_error().unwrap_or(-1) as u64, |()| 0))
        .u64(ret as u64)
        .u64(errno as u64)
        .u64(u64::from(exists))
        .u64(status_number(&proc_status, "TracerPid"))
        .u64(status_number(&proc_status, "Seccomp"))
        .u64(status_number(&proc_status, "Seccomp_filters"))
        .u64(handled)
        .u64(handled_value);
    Ok((out.0, status))
}

fn c_string(bytes: &[u8]) -> Result<CString, String> {
    CString::new(bytes).map_err(|_| "a NUL inside a name".to_string())
}
