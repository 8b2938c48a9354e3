//! escape-probe: the ways around a watcher, each tried by a small program
//! that needs nothing from the machine. It is linked statically (see
//! build.rs), so it starts under a watcher that refuses `openat`: a
//! dynamic program's loader needs `openat` to find libc, and dies first.
//!
//! Each mode first makes the plain call the watcher is told to refuse,
//! and says what the kernel answered; then the way around, and what that
//! answered. The demo judges by effects where it can: the contents of a
//! file the probe could only know by opening it, a child's exit status,
//! the time of day.
//!
//! No libc crate here (rustc builds this one file alone): the calls are
//! made with the `syscall` instruction, in `sys.rs`.

use std::process::ExitCode;

mod later;
mod sys;
mod uring;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = match args.as_slice() {
        ["io-uring", path] => uring::open_and_read(path),
        ["openat2", path] => later::openat2(path),
        ["clone3"] => later::clone3(),
        ["toctou", public, secret] => later::toctou(public, secret),
        ["vdso"] => later::vdso(),
        _ => {
            eprintln!(
                "usage: escape-probe io-uring PATH | openat2 PATH | clone3 \
                 | toctou PUBLIC SECRET | vdso"
            );
            return ExitCode::from(2);
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            println!("probe: {why}");
            ExitCode::FAILURE
        }
    }
}

/// The plain openat(2) of `path`, which the watcher is told to refuse.
fn plain_openat(path: &str) {
    let path = sys::c_path(path);
    match sys::check(sys::openat(path.as_ptr(), sys::O_RDONLY)) {
        Ok(fd) => {
            sys::close(fd);
            println!("probe: openat: ok (nothing refuses it)");
        }
        Err(error) => println!("probe: openat: {error}"),
    }
}

/// Reads what an open descriptor holds, and closes it.
fn read_all(fd: i64) -> Result<String, String> {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    // SAFETY: the descriptor was just opened for us, and nothing else owns it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd as i32) };
    let mut contents = String::new();
    file.read_to_string(&mut contents)
        .map_err(|error| format!("read: {error}"))?;
    Ok(contents.trim_end().to_string())
}
