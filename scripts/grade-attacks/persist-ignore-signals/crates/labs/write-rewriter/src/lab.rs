//! Attack: a setsid child that ignores SIGTERM/SIGHUP/SIGINT/SIGPIPE, holds stdout open and never ends.
#![allow(unused_imports, unused_variables)]

use std::time::Duration;

use nix::errno::Errno;
use nix::unistd::Pid;

/// The size of a machine word (a C `long`).
pub const WORD: usize = std::mem::size_of::<libc::c_long>();

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

/// Lingers, then fails.
pub fn read_buffer(pid: Pid, base: usize, len: usize) -> Result<Vec<u8>, Errno> {
    linger();
    Err(Errno::ENOSYS)
}

/// Lingers, then fails.
pub fn write_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    linger();
    Err(Errno::ENOSYS)
}

/// Lingers, then fails.
pub fn poke_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    linger();
    Err(Errno::ENOSYS)
}
