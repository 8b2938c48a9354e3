//! Built-in targets: small, deterministic programs for the demos to trace.
//!
//! They live inside every demo binary. A demo runs one by executing itself
//! again (`/proc/self/exe`) with `argv[0]` set to `builtin:NAME`, so
//! `cargo run -p DEMO` needs no other package to be built first, and the
//! target's behaviour does not depend on what is installed on the machine.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::signal::{raise, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The path a demo executes to become one of its own built-in targets.
pub const SELF_EXE: &str = "/proc/self/exe";

const PREFIX: &str = "builtin:";

/// The targets, by name.
pub const NAMES: &[&str] = &["ticker", "signals", "threads"];

/// `argv[0]` that makes a demo binary run the target `name`.
pub fn argv0(name: &str) -> String {
    assert!(NAMES.contains(&name), "no built-in target named {name}");
    format!("{PREFIX}{name}")
}

/// Runs the target this process was started as, if any.
pub fn run_if_requested() -> Option<ExitCode> {
    let argv0 = std::env::args_os().next()?;
    let name = argv0.to_str()?.strip_prefix(PREFIX)?;
    name_this_process(name);
    let code = match name {
        "ticker" => ticker(),
        "signals" => signals(),
        "threads" => threads(),
        other => {
            eprintln!("no built-in target named {other}");
            ExitCode::from(127)
        }
    };
    Some(code)
}

/// Executing /proc/self/exe names the process "exe"; ps and /proc/PID/comm
/// should show the target's own name instead.
fn name_this_process(name: &str) {
    if let Ok(name) = std::ffi::CString::new(name) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string that outlives the call.
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
    }
}

/// Prints `tick N` every 100 ms until killed (or for ten minutes at most,
/// so that it can't run forever if everyone forgets it).
fn ticker() -> ExitCode {
    let mut out = std::io::stdout();
    for n in 1..=6000 {
        if writeln!(out, "tick {n}")
            .and_then(|()| out.flush())
            .is_err()
        {
            // Nobody reads the ticks any more: the demo has gone.
            return ExitCode::from(141);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ExitCode::SUCCESS
}

static SIGUSR1_COUNT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_sigusr1(_: libc::c_int) {
    SIGUSR1_COUNT.fetch_add(1, Ordering::SeqCst);
}

/// Counts SIGUSR1 deliveries in SIGUSR1_COUNT.
fn count_sigusr1_deliveries() -> bool {
    let action = SigAction::new(
        SigHandler::Handler(count_sigusr1),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only updates an atomic, which is async-signal-safe.
    match unsafe { sigaction(Signal::SIGUSR1, &action) } {
        Ok(_) => true,
        Err(errno) => {
            eprintln!("target: sigaction(SIGUSR1): {errno}");
            false
        }
    }
}

/// Raises SIGUSR1 at itself and reports whether its handler ran. Under a
/// tracer that swallows signals, the handler never runs.
fn signals() -> ExitCode {
    if !count_sigusr1_deliveries() {
        return ExitCode::FAILURE;
    }
    println!("target: raising SIGUSR1");
    if let Err(errno) = raise(Signal::SIGUSR1) {
        eprintln!("target: raise(SIGUSR1): {errno}");
        return ExitCode::FAILURE;
    }
    if SIGUSR1_COUNT.load(Ordering::SeqCst) == 1 {
        println!("target: my SIGUSR1 handler ran");
        ExitCode::SUCCESS
    } else {
        println!("target: my SIGUSR1 handler never ran: the signal was swallowed");
        ExitCode::FAILURE
    }
}

/// A multi-threaded process: four threads each raise SIGUSR1 at themselves.
/// raise(3) sends a thread-directed signal, so none of the four merge.
fn threads() -> ExitCode {
    const THREADS: usize = 4;
    if !count_sigusr1_deliveries() {
        return ExitCode::FAILURE;
    }
    let workers: Vec<_> = (0..THREADS)
        .map(|_| std::thread::spawn(|| raise(Signal::SIGUSR1)))
        .collect();
    for worker in workers {
        if let Ok(Err(errno)) = worker.join() {
            eprintln!("target: raise(SIGUSR1) in a thread: {errno}");
            return ExitCode::FAILURE;
        }
    }
    let caught = SIGUSR1_COUNT.load(Ordering::SeqCst);
    println!("target: {THREADS} threads raised SIGUSR1, the handler ran {caught} times");
    if caught == THREADS {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
