//! The `tries` target: makes a few syscalls and reports what each returned,
//! so a blocked call shows up as the error the program itself sees.

use std::process::ExitCode;

/// uname, socket and getcwd, each reported on its own line.
pub fn tries() -> ExitCode {
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
