//! Targets for the syscall-overhead demo: a loop of cheap syscalls that
//! times itself, and a buffer to be read from outside.

use std::hint::black_box;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use nix::sys::signal::{raise, Signal};

/// The size of the `buffer` target's buffer: 1 MiB.
pub const BUFFER_LEN: usize = 1 << 20;

/// The byte at offset `i` of the `buffer` target's buffer. 251 is prime, so
/// the pattern doesn't repeat with the page size: a read from the wrong
/// offset or the wrong page shows.
pub fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// getppid(2) through syscall(2): always a real trip into the kernel (libc
/// can't cache it or answer it from the vDSO), and about the cheapest one.
fn getppid() {
    // SAFETY: getppid takes no arguments and touches no memory.
    unsafe { libc::syscall(libc::SYS_getppid) };
}

/// `spin N`: makes N getppid calls and prints how many nanoseconds the loop
/// took. The clock is CLOCK_MONOTONIC read through the vDSO (Instant::now),
/// which is no syscall, so a tracer sees only the getppid calls; and only
/// the loop is timed, so exec and start-up cost nothing here.
pub fn spin(n: Option<&str>) -> ExitCode {
    let Some(n) = n.and_then(|n| n.parse::<u64>().ok()) else {
        eprintln!("usage: builtin:spin N");
        return ExitCode::from(2);
    };
    // One call first, so the first timed call finds everything warm.
    getppid();
    let start = Instant::now();
    for _ in 0..n {
        getppid();
    }
    let elapsed = start.elapsed();
    println!("{}", elapsed.as_nanos());
    ExitCode::SUCCESS
}

/// `buffer`: fills 1 MiB with `pattern`, prints its address in hex, and
/// stops itself with SIGSTOP, so that a tracer can read the buffer from a
/// process that holds still.
pub fn buffer() -> ExitCode {
    let buffer: Vec<u8> = (0..BUFFER_LEN).map(pattern).collect();
    let mut out = std::io::stdout();
    if writeln!(out, "{:#x}", buffer.as_ptr() as usize)
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::from(141);
    }
    if let Err(errno) = raise(Signal::SIGSTOP) {
        eprintln!("target: raise(SIGSTOP): {errno}");
        return ExitCode::FAILURE;
    }
    // The buffer must live until the tracer has read it.
    black_box(&buffer);
    ExitCode::SUCCESS
}
