//! Busy multi-threaded targets: a tracer that serves its tracees unfairly
//! lets the busy ones starve the rest. strace drains every pending stop
//! before it resumes anyone, and finishes each of these in well under a
//! second.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Threads that make syscalls without pause until `stop` is set: under
/// PTRACE_SYSCALL each one stops twice per call, all the time.
fn busy_threads(count: usize, stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    (0..count)
        .map(|_| {
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // SAFETY: getppid has no preconditions.
                    unsafe { libc::getppid() };
                }
            })
        })
        .collect()
}

/// `crowd late-thread`: 30 busy threads, then one more, which must get to
/// run: it is the one that tells the others to stop.
pub fn late_thread() -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    let busy = busy_threads(30, &stop);
    std::thread::sleep(Duration::from_millis(50));
    let late = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || stop.store(true, Ordering::Relaxed))
    };
    let _ = late.join();
    for thread in busy {
        let _ = thread.join();
    }
    println!("target: the thread started last ran, and stopped the 30 busy ones");
    ExitCode::SUCCESS
}

/// `crowd first-thread`: one thread, then 30 busy ones; the first, after
/// a short sleep and a few calls, tells the busy ones to stop. The kernel
/// reports the newest tracees first, so a tracer that takes one report at a
/// time from waitpid(-1) serves the busy threads and never the first one.
pub fn first_thread() -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    let first = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            for _ in 0..100 {
                // SAFETY: getppid has no preconditions.
                unsafe { libc::getppid() };
            }
            stop.store(true, Ordering::Relaxed);
        })
    };
    let busy = busy_threads(30, &stop);
    let _ = first.join();
    for thread in busy {
        let _ = thread.join();
    }
    println!("target: the first thread ran, and stopped the 30 busy ones started after it");
    ExitCode::SUCCESS
}

/// `crowd exec`: 100 busy threads, and one of them execs `argv[2..]`
/// (`/bin/echo` by default): execve must take the busy threads down and
/// hand the process to the new program.
pub fn exec_from_busy_thread(command: &[String]) -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    let _busy = busy_threads(99, &stop);
    std::thread::sleep(Duration::from_millis(50));
    let command: Vec<std::ffi::CString> = match command {
        [] => [
            "/bin/echo",
            "target: execve from one of 100 busy threads: done",
        ]
        .iter()
        .map(|s| std::ffi::CString::new(*s).expect("no NUL"))
        .collect(),
        given => given
            .iter()
            .filter_map(|s| std::ffi::CString::new(s.as_str()).ok())
            .collect(),
    };
    let execer = std::thread::spawn(move || {
        let mut argv: Vec<*const libc::c_char> = command.iter().map(|s| s.as_ptr()).collect();
        argv.push(std::ptr::null());
        // SAFETY: argv is a NULL-terminated array of NUL-terminated strings
        // that live until execv returns (it returns only on failure).
        unsafe { libc::execv(argv[0], argv.as_ptr()) };
        eprintln!("target: execv: {}", std::io::Error::last_os_error());
        std::process::exit(126);
    });
    let _ = execer.join();
    ExitCode::FAILURE
}

/// `crowd kill-writers`: 8 threads write to stdout without pause, and a
/// child of ours SIGKILLs us: we end killed by SIGKILL (137), at once.
pub fn kill_writers() -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..8 {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let line = b"target: a writer's line\n";
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: write(2) reads `line`, which outlives the call.
                unsafe { libc::write(libc::STDOUT_FILENO, line.as_ptr().cast(), line.len()) };
            }
        });
    }
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: the child only sleeps, calls kill and _exits.
    match unsafe { libc::fork() } {
        -1 => {
            eprintln!("target: fork: {}", std::io::Error::last_os_error());
            ExitCode::FAILURE
        }
        0 => {
            // SAFETY: usleep, getppid, kill and _exit are async-signal-safe.
            unsafe {
                libc::usleep(50_000);
                libc::kill(libc::getppid(), libc::SIGKILL);
                libc::_exit(0)
            }
        }
        _ => {
            // The SIGKILL ends us; the sleep is only a bound.
            std::thread::sleep(Duration::from_secs(60));
            stop.store(true, Ordering::Relaxed);
            eprintln!("target: still alive 60 s after my child's SIGKILL");
            ExitCode::FAILURE
        }
    }
}

/// `crowd nonblocking-stderr`: sets O_NONBLOCK on the stderr it shares with
/// its tracer, then gives the tracer plenty to say: 3,000 handled SIGUSR1s
/// and 3,000 lines on stdout. A tracer whose narration fails on EAGAIN
/// when the reader is slow dies, and takes us with it.
pub fn nonblocking_stderr() -> ExitCode {
    // SAFETY: F_GETFL/F_SETFL on our own stderr change only its flags.
    let set = unsafe {
        let flags = libc::fcntl(libc::STDERR_FILENO, libc::F_GETFL);
        flags >= 0 && libc::fcntl(libc::STDERR_FILENO, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0
    };
    if !set {
        eprintln!(
            "target: fcntl(2, F_SETFL, O_NONBLOCK): {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::FAILURE;
    }
    if !super::count_sigusr1_deliveries() {
        return ExitCode::FAILURE;
    }
    const ROUNDS: usize = 3000;
    let mut out = std::io::stdout().lock();
    for round in 0..ROUNDS {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGUSR1);
        let line = format!("round {round}\n");
        if std::io::Write::write_all(&mut out, line.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut out))
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    let caught = super::SIGUSR1_COUNT.load(Ordering::SeqCst);
    println!("target: {ROUNDS} rounds with a non-blocking stderr, the handler ran {caught} times");
    ExitCode::SUCCESS
}
