//! The other ways around: a newer call that does the old one's job
//! (openat2 for openat, clone3 for clone), a path changed by another
//! thread after the watcher read it (TOCTOU), and a call that the vDSO
//! answers without entering the kernel.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::sys::{self, check, syscall};

/// openat2(2)'s `struct open_how` (<linux/openat2.h>).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat(path), refused by the watcher; then openat2(path), and what the
/// file holds.
pub fn openat2(path: &str) -> Result<(), String> {
    crate::plain_openat(path);
    let c_path = sys::c_path(path);
    let how = OpenHow {
        flags: sys::O_RDONLY as u64,
        mode: 0,
        resolve: 0,
    };
    let fd = check(syscall(
        sys::SYS_OPENAT2,
        [
            sys::AT_FDCWD as u64,
            c_path.as_ptr() as u64,
            &how as *const OpenHow as u64,
            std::mem::size_of::<OpenHow>() as u64,
            0,
            0,
        ],
    ))
    .map_err(|error| format!("openat2: {error}"))?;
    let contents = crate::read_all(fd)?;
    println!("probe: openat2 opened it (fd {fd}); it holds: {contents}");
    Ok(())
}

/// clone(2)'s first version of `struct clone_args` for clone3 (64 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

/// A fork-like clone(2), refused by the watcher; then clone3(2) does the
/// same job. Each child exits at once with its own status, which the
/// parent reads back: a status no refused call can produce.
pub fn clone3() -> Result<(), String> {
    let plain = syscall(sys::SYS_CLONE, [sys::SIGCHLD, 0, 0, 0, 0, 0]);
    if plain == 0 {
        sys::exit(41);
    }
    match check(plain) {
        Ok(child) => println!("probe: clone: child exited with {}", exit_status(child)?),
        Err(error) => println!("probe: clone: {error}"),
    }
    let args = CloneArgs {
        exit_signal: sys::SIGCHLD,
        ..CloneArgs::default()
    };
    let child = syscall(
        sys::SYS_CLONE3,
        [
            &args as *const CloneArgs as u64,
            std::mem::size_of::<CloneArgs>() as u64,
            0,
            0,
            0,
            0,
        ],
    );
    if child == 0 {
        sys::exit(42);
    }
    let child = check(child).map_err(|error| format!("clone3: {error}"))?;
    println!("probe: clone3: child exited with {}", exit_status(child)?);
    Ok(())
}

fn exit_status(child: i64) -> Result<i32, String> {
    let status = sys::wait(child).map_err(|error| format!("wait4: {error}"))?;
    Ok((status >> 8) & 0xff)
}

/// How long the TOCTOU race runs at most.
const RACE: Duration = Duration::from_secs(3);

// ANCHOR: toctou
/// Opens one buffer's path again and again while another thread flips it
/// between `public` and `secret` (paths of the same length). A watcher
/// that reads the path and then lets the call go on has read it before
/// the kernel does: now and then the two read different paths.
pub fn toctou(public: &str, secret: &str) -> Result<(), String> {
    let (public, secret) = (sys::c_path(public), sys::c_path(secret));
    if public.len() != secret.len() {
        return Err("toctou: the two paths must be of the same length".into());
    }
    let path: &'static [AtomicU8] = public
        .iter()
        .map(|&b| AtomicU8::new(b))
        .collect::<Vec<_>>()
        .leak();
    let stop: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let flipper = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            for name in [&secret, &public] {
                for (byte, &value) in path.iter().zip(name.iter()) {
                    byte.store(value, Ordering::Relaxed);
                }
            }
        }
    });
    let (mut opened, mut refused, mut tries) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    let mut found = None;
    while found.is_none() && start.elapsed() < RACE {
        tries += 1;
        match check(sys::openat(path.as_ptr().cast(), sys::O_RDONLY)) {
            Ok(fd) => {
                opened += 1;
                let contents = crate::read_all(fd)?;
                if contents != "public" {
                    found = Some(contents);
                }
            }
            Err(_) => refused += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = flipper.join();
    println!("probe: {tries} opens: {opened} opened a file, {refused} failed");
    match found {
        Some(contents) => println!("probe: one opened the secret; it holds: {contents}"),
        None => println!("probe: none opened the secret"),
    }
    Ok(())
}
// ANCHOR_END: toctou

/// clock_gettime(CLOCK_REALTIME) through the C library, which answers it
/// from the vDSO, a page of kernel code mapped into every process; then
/// the same as a real syscall, which the watcher refuses.
pub fn vdso() -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970".to_string())?;
    match sys::clock_gettime_syscall() {
        Ok(seconds) => println!("probe: clock_gettime as a syscall: {seconds}"),
        Err(error) => println!("probe: clock_gettime as a syscall: {error}"),
    }
    println!("probe: clock_gettime through the vDSO: {}", now.as_secs());
    Ok(())
}
