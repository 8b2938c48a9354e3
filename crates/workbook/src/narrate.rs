//! The demos' narration on stderr, written so that it can never hurt the
//! program being traced.
//!
//! A tracer and its tracee share stderr: the same open file description,
//! with the same flags. A program may set `O_NONBLOCK` on it, and then a
//! slow reader makes the tracer's writes fail with `EAGAIN`. `eprintln!`
//! panics on any failed write, the tracer dies, and PTRACE_O_EXITKILL takes
//! the program with it. Narration goes through here instead: it waits for
//! stderr to take more, as a blocking write would have, and gives up
//! silently on any other error, since a lost line must not end a run.

use std::io::Write;

/// Every line of narration: `narrate!("pid {pid}: ...")` is `eprintln!`
/// that never panics and waits out a non-blocking stderr.
#[macro_export]
macro_rules! narrate {
    ($($arg:tt)*) => {
        $crate::narrate::line(::std::format_args!($($arg)*))
    };
}

/// One line, `args` and a newline, written in one piece.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut text = Vec::with_capacity(128);
    let _ = text.write_fmt(args);
    text.push(b'\n');
    write_all(&text);
}

/// Part of a line, as it is (a printer that finishes lines later).
pub fn part(text: &str) {
    write_all(text.as_bytes());
}

/// write(2) to stderr until all of `bytes` is out: EINTR is retried, EAGAIN
/// waits for poll(2) to say stderr can take more, and any other error (a
/// closed or broken stderr) drops the rest.
fn write_all(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: write(2) reads at most bytes.len() bytes from a live slice.
        let written =
            unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(written) {
            Ok(0) => return,
            Ok(count) => bytes = &bytes[count.min(bytes.len())..],
            Err(_) => match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::EAGAIN) => wait_until_writable(),
                _ => return,
            },
        }
    }
}

/// poll(2) until stderr can take more; EINTR just polls again.
fn wait_until_writable() {
    let mut stderr = libc::pollfd {
        fd: libc::STDERR_FILENO,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    while unsafe { libc::poll(&mut stderr, 1, -1) } < 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
    {}
}
