//! Targets for the seccomp-filter demo: one that makes an allowed call and
//! then a forbidden one (and has a child try too), one in which a thread
//! makes the forbidden call while the main thread watches, and one that
//! makes the forbidden call through the 32-bit or the x32 ABI.

use std::process::ExitCode;

#[cfg(target_arch = "x86_64")]
use crate::arch::{compat_syscall, compat_syscall_number, X32_SYSCALL_BIT};

/// get_mempolicy(NULL, NULL, 0, NULL, 0) asks for nothing and harms
/// nothing: a forbidden call that is safe to make when it gets through.
fn get_mempolicy() -> Result<i64, std::io::Error> {
    // SAFETY: all-null, all-zero arguments: the kernel writes nothing.
    let ret = unsafe { libc::syscall(libc::SYS_get_mempolicy, 0, 0, 0, 0, 0) };
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn describe(result: Result<i64, std::io::Error>) -> String {
    match result {
        Ok(value) => format!("returned {value}"),
        Err(error) => format!("failed: {error}"),
    }
}

/// getppid (allowed); a child's get_mempolicy; then our own.
pub fn forbidden() -> ExitCode {
    // SAFETY: getppid has no arguments and cannot fail.
    unsafe { libc::getppid() };
    println!("target: getppid: allowed");
    // SAFETY: the child only makes raw syscalls and _exit.
    match unsafe { libc::fork() } {
        -1 => println!("target: fork: {}", std::io::Error::last_os_error()),
        0 => {
            let code = match get_mempolicy() {
                Ok(_) => 0,
                Err(error) => 100 + error.raw_os_error().unwrap_or(0),
            };
            // SAFETY: _exit skips the parent's atexit handlers and buffers.
            unsafe { libc::_exit(code) }
        }
        child => {
            let mut status = 0;
            // SAFETY: `status` is a valid int for waitpid to fill in.
            unsafe { libc::waitpid(child, &mut status, 0) };
            if libc::WIFSIGNALED(status) {
                println!(
                    "target: my child's get_mempolicy: it was killed by signal {}: the filter is inherited",
                    libc::WTERMSIG(status)
                );
            } else {
                let code = libc::WEXITSTATUS(status);
                let result = match code {
                    0 => "returned 0".to_string(),
                    _ => format!("failed: {}", std::io::Error::from_raw_os_error(code - 100)),
                };
                println!("target: my child's get_mempolicy: {result}");
            }
        }
    }
    println!("target: calling get_mempolicy");
    let result = describe(get_mempolicy());
    println!("target: get_mempolicy {result}, and I am still here");
    ExitCode::SUCCESS
}

/// What the forbidden call's result says about the filter. ENOSYS means
/// the filter let it pass, and the kernel has no such ABI; EPERM is the
/// filter's `--action errno`.
#[cfg(target_arch = "x86_64")]
fn verdict(result: Result<i64, i32>) -> String {
    match result {
        Ok(value) => format!("it ran and returned {value}: the filter let it through"),
        Err(libc::ENOSYS) => {
            "the filter let it through; the kernel has no such ABI (ENOSYS)".into()
        }
        Err(errno) => format!(
            "it failed: {}: the filter stopped it",
            std::io::Error::from_raw_os_error(errno)
        ),
    }
}

/// The forbidden call by another door: `int 0x80` with the i386 number,
/// or the x86_64 number with the x32 bit set.
#[cfg(target_arch = "x86_64")]
pub fn bypass(abi: &str) -> ExitCode {
    match abi {
        "i386" => {
            let nr = compat_syscall_number("get_mempolicy").expect("i386 has get_mempolicy");
            println!("target: get_mempolicy through int 0x80, as i386 syscall {nr}");
            let ret = compat_syscall(nr as u32, [0; 5]);
            println!(
                "target: {}",
                verdict(if ret < 0 {
                    Err(-ret)
                } else {
                    Ok(i64::from(ret))
                })
            );
        }
        "x32" => {
            let nr = X32_SYSCALL_BIT | libc::SYS_get_mempolicy as u64;
            println!("target: get_mempolicy as syscall {nr:#x} (the x32 bit, 0x40000000, | 239)");
            // SAFETY: all-null, all-zero arguments, as above.
            let ret = unsafe { libc::syscall(nr as libc::c_long, 0, 0, 0, 0, 0) };
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            println!(
                "target: {}",
                verdict(if ret < 0 { Err(errno) } else { Ok(ret) })
            );
        }
        other => {
            eprintln!("target: no ABI named {other}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// How long the main thread of `forbidden-thread` waits for its thread.
const THREAD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

// ANCHOR: forbidden_thread
/// A thread makes the forbidden call; the main thread watches it go.
///
/// The main thread does not join(): a thread killed by seccomp never
/// returns, so whatever join waits for (Python's lock, Rust's result)
/// never comes. It waits, for a bounded time, until the thread's entry in
/// /proc/self/task is gone, and then says whether the thread got back from
/// the call. Exits 0 when the thread is gone, 1 if it is still there.
pub fn forbidden_thread() -> ExitCode {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let returned = Arc::new(AtomicBool::new(false));
    let watched = {
        let returned = Arc::clone(&returned);
        watch_a_thread("forbidden", move || {
            println!("target: thread: calling get_mempolicy");
            let result = describe(get_mempolicy());
            returned.store(true, Ordering::SeqCst);
            println!("target: thread: get_mempolicy {result}, and the thread is still here");
        })
    };
    if let Err(code) = watched {
        return code;
    }
    if returned.load(Ordering::SeqCst) {
        println!("target: main thread: the thread finished");
    } else {
        println!("target: main thread: the thread is gone; it never came back from the call");
        println!("target: main thread: I am still here, and exit 0");
    }
    ExitCode::SUCCESS
}

/// Runs `body` in a thread named `name` and waits, for a bounded time,
/// until the thread's entry in /proc/self/task is gone. `Err` (with the
/// exit code) when the thread never started or is still there.
pub(super) fn watch_a_thread(
    name: &str,
    body: impl FnOnce() + Send + 'static,
) -> Result<(), ExitCode> {
    let (tid_sender, tid_receiver) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            // SAFETY: gettid has no arguments and cannot fail.
            let _ = tid_sender.send(unsafe { libc::gettid() });
            body();
        });
    if let Err(error) = thread {
        println!("target: starting a thread: {error}");
        return Err(ExitCode::FAILURE);
    }
    let Ok(tid) = tid_receiver.recv_timeout(THREAD_WAIT) else {
        println!("target: main thread: the thread never started");
        return Err(ExitCode::FAILURE);
    };
    let task = format!("/proc/self/task/{tid}");
    let start = std::time::Instant::now();
    while std::path::Path::new(&task).exists() {
        if start.elapsed() > THREAD_WAIT {
            println!(
                "target: main thread: the thread is still there after {} s",
                THREAD_WAIT.as_secs()
            );
            return Err(ExitCode::FAILURE);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}
// ANCHOR_END: forbidden_thread
