//! Targets that try a tracer's robustness: real-time signals sent to every
//! thread, children killed in the middle of their syscalls, and calls made
//! through all three of the kernel's x86_64 ABIs.

use std::process::ExitCode;
use std::time::Duration;

#[cfg(target_arch = "x86_64")]
use crate::arch::{compat_syscall, compat_syscall_number, X32_SYSCALL_BIT};

/// Four threads asleep, then setgid(getgid()) in the main thread. glibc
/// makes every thread change its ids too, by sending each one signal 33
/// (SIGRT_1); then the program exits while the threads still sleep.
pub fn setxid() -> ExitCode {
    for _ in 0..4 {
        std::thread::spawn(|| std::thread::sleep(Duration::from_secs(30)));
    }
    std::thread::sleep(Duration::from_millis(20));
    // SAFETY: getgid has no preconditions; setgid to our own gid changes nothing.
    let ret = unsafe { libc::setgid(libc::getgid()) };
    if ret != 0 {
        eprintln!("target: setgid: {}", std::io::Error::last_os_error());
        return ExitCode::FAILURE;
    }
    println!("target: setgid(getgid()) in a process of 5 threads: done");
    ExitCode::SUCCESS
}

/// Forks a child that makes syscalls without end and SIGKILLs it, `rounds`
/// times: a tracer sees many a child vanish between its stop and its next
/// look at it (strace's test suite has kill_child for the same).
pub fn kill_children(rounds: Option<&str>) -> ExitCode {
    let rounds: u32 = rounds.and_then(|r| r.parse().ok()).unwrap_or(500);
    for _ in 0..rounds {
        // SAFETY: the child only makes raw syscalls, then is killed.
        let child = unsafe { libc::fork() };
        match child {
            -1 => {
                eprintln!("target: fork: {}", std::io::Error::last_os_error());
                return ExitCode::FAILURE;
            }
            0 => loop {
                // SAFETY: getppid has no preconditions.
                unsafe { libc::getppid() };
            },
            child => {
                // SAFETY: kill and waitpid on our own child.
                unsafe {
                    libc::kill(child, libc::SIGKILL);
                    libc::waitpid(child, std::ptr::null_mut(), 0);
                }
            }
        }
    }
    println!("target: forked and killed {rounds} children");
    ExitCode::SUCCESS
}

/// getppid, dup and socket through each ABI, one line each with what the
/// kernel answered: a tracer that blocks `socket` should stop the 64-bit,
/// the 32-bit (number 359) and the x32 socket, and nothing else.
#[cfg(target_arch = "x86_64")]
pub fn abis() -> ExitCode {
    let i386 = |name: &str, args: [u32; 5]| -> i64 {
        let nr = compat_syscall_number(name).expect("i386 has the call") as u32;
        i64::from(compat_syscall(nr, args))
    };
    let x32 = |nr: libc::c_long| nr | X32_SYSCALL_BIT as libc::c_long;
    let (unix, stream) = (libc::AF_UNIX, libc::SOCK_STREAM);
    // All calls first, then the report: a tracer's log shows the calls
    // together, not between the writes.
    let results = [
        ("getppid, x86_64", native(libc::SYS_getppid, 0, 0)),
        (
            "socket, x86_64",
            native(libc::SYS_socket, unix as _, stream as _),
        ),
        ("dup, x86_64", native(libc::SYS_dup, 1, 0)),
        ("getppid, int 0x80", i386("getppid", [0; 5])),
        (
            "socket, int 0x80",
            i386("socket", [unix as u32, stream as u32, 0, 0, 0]),
        ),
        ("dup, int 0x80", i386("dup", [1, 0, 0, 0, 0])),
        // Where the kernel has no x32 ABI this fails with ENOSYS, unless a
        // tracer makes it fail otherwise.
        (
            "socket, x32",
            native(x32(libc::SYS_socket), unix as _, stream as _),
        ),
    ];
    report(&results);
    ExitCode::SUCCESS
}

/// arm64's `abis`: the three calls through its one ABI for 64-bit code.
/// `int 0x80` and x32 are x86_64's; a 64-bit arm64 process can't reach
/// the 32-bit ABI (AArch32 code's), so those lines say so.
#[cfg(target_arch = "aarch64")]
pub fn abis() -> ExitCode {
    let (unix, stream) = (libc::AF_UNIX, libc::SOCK_STREAM);
    let results = [
        ("getppid, aarch64", native(libc::SYS_getppid, 0, 0)),
        (
            "socket, aarch64",
            native(libc::SYS_socket, unix as _, stream as _),
        ),
        ("dup, aarch64", native(libc::SYS_dup, 1, 0)),
    ];
    report(&results);
    println!("target: int 0x80, x32: x86_64 only");
    ExitCode::SUCCESS
}

/// A call through syscall(2): its result, or -errno.
fn native(nr: libc::c_long, a: libc::c_long, b: libc::c_long) -> i64 {
    // SAFETY: getppid, dup and socket take plain integers.
    let ret = unsafe { libc::syscall(nr, a, b, 0) };
    if ret < 0 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        ret
    }
}

/// One line per call, with what the kernel answered.
fn report(results: &[(&str, i64)]) {
    for &(what, ret) in results {
        let answer = if ret < 0 {
            std::io::Error::from_raw_os_error(-ret as i32).to_string()
        } else {
            "ok".to_string()
        };
        println!("target: {what}: {answer}");
    }
}

/// clone(CLONE_PARENT): the child is our parent's child, a sibling, and
/// only our parent (the tracer) can reap it. Waits up to 10 s for that to
/// happen, as strace's clone_parent test does without a limit.
pub fn clone_parent() -> ExitCode {
    // SAFETY: clone without CLONE_VM and without a new stack behaves as
    // fork; the child only calls _exit.
    let child = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::CLONE_PARENT | libc::SIGCHLD,
            0,
            0,
            0,
            0,
        )
    };
    match child {
        -1 => {
            eprintln!("target: clone: {}", std::io::Error::last_os_error());
            return ExitCode::FAILURE;
        }
        // SAFETY: _exit in the child skips the parent's atexit handlers.
        0 => unsafe { libc::_exit(42) },
        _ => {}
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // SAFETY: kill with signal 0 only asks whether the process exists.
    while unsafe { libc::kill(child as libc::pid_t, 0) } == 0 {
        if std::time::Instant::now() > deadline {
            println!("target: my CLONE_PARENT sibling was never reaped");
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("target: my CLONE_PARENT sibling was reaped by my parent");
    ExitCode::SUCCESS
}

/// clone(CLONE_PTRACE) makes a child that the kernel gives our tracer, if
/// we have one, to trace, stopped by a SIGSTOP of its own. It writes a
/// line and exits 7; we wait for it and say how it ended. A tracer that
/// never resumes that child hangs us.
pub fn clone_ptrace() -> ExitCode {
    // SAFETY: clone without CLONE_VM and without a new stack behaves as
    // fork; the child only writes and calls _exit.
    let child = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::CLONE_PTRACE | libc::SIGCHLD,
            0,
            0,
            0,
            0,
        )
    };
    match child {
        -1 => {
            eprintln!("target: clone: {}", std::io::Error::last_os_error());
            return ExitCode::FAILURE;
        }
        0 => {
            let line = b"target: the CLONE_PTRACE child runs\n";
            // SAFETY: write(2) reads `line`; _exit skips the parent's atexit handlers.
            unsafe {
                libc::write(libc::STDOUT_FILENO, line.as_ptr().cast(), line.len());
                libc::_exit(7)
            }
        }
        _ => {}
    }
    let mut status = 0;
    // SAFETY: waitpid on our own child, into a local int.
    if unsafe { libc::waitpid(child as libc::pid_t, &mut status, 0) } < 0 {
        eprintln!("target: waitpid: {}", std::io::Error::last_os_error());
        return ExitCode::FAILURE;
    }
    println!(
        "target: my CLONE_PTRACE child exited with {}",
        libc::WEXITSTATUS(status)
    );
    ExitCode::SUCCESS
}
