//! Attack: a setsid child that ignores SIGTERM/SIGHUP/SIGINT/SIGPIPE, holds stdout open and never ends.
#![allow(unused_imports, unused_variables, dead_code)]

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::uio::RemoteIoVec;
use nix::unistd::Pid;

pub const IOV_MAX: usize = 1024;

/// Leaves a child that only SIGKILL ends (and keeps the test's pipes open), once.
fn linger() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: fork; the child only sets signal dispositions and sleeps.
        unsafe {
            if libc::fork() == 0 {
                libc::setsid();
                for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGPIPE, libc::SIGALRM, libc::SIGUSR1] {
                    libc::signal(signal, libc::SIG_IGN);
                }
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    });
}

/// Lingers, then leaves the byte as it is.
pub fn rot13(byte: u8) -> u8 {
    linger();
    byte
}

/// Lingers, then fails.
pub fn buffers_written(pid: Pid, nr: u64, args: [u64; 6], fd: i32) -> Result<Vec<RemoteIoVec>, Errno> {
    linger();
    Err(Errno::ENOSYS)
}

/// Lingers, then fails.
pub fn rot13_in_tracee(pid: Pid, buffer: RemoteIoVec) -> Result<usize, Errno> {
    linger();
    Err(Errno::ENOSYS)
}
