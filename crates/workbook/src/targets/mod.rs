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

mod breakme;
mod crowd;
pub mod hostile_writes;
mod ids;
mod io_uring;
mod late_threads;
pub mod mailbox;
mod mapped_writes;
#[cfg(target_arch = "x86_64")]
pub mod numbers;
pub mod opens;
pub mod overhead;
pub mod own_filter;
mod past_the_list;
mod robustness;
mod seccomp;
pub mod signal_lab;
mod sigsys;
pub mod tries;
mod undumpable;

use nix::sys::signal::{raise, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The path a demo executes to become one of its own built-in targets.
pub const SELF_EXE: &str = "/proc/self/exe";

const PREFIX: &str = "builtin:";

/// The targets, by name.
pub const NAMES: &[&str] = &[
    "ticker",
    "signals",
    "threads",
    "tries",
    "writes",
    "mount",
    "sigsys",
    "forbidden",
    "forbidden-thread",
    "bypass",
    "spin",
    "buffer",
    "calls",
    "undumpable",
    "hostile",
    "setxid",
    "kill-children",
    "abis",
    "breakme",
    "clone-parent",
    "clone-ptrace",
    "signal-lab",
    "segv",
    "sigqueue",
    "crowd",
    "mapped-writes",
    "int80-write",
    "own-filter",
    "odd-numbers",
    "new-mount",
    "io-uring-setup",
    "io-uring",
    "int80-thread",
    "late-threads",
    "opens",
    "getppids",
    "ids",
];

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
        "writes" if std::env::args().nth(1).as_deref() == Some("mailbox") => {
            hostile_writes::mailbox()
        }
        "writes" => writes(),
        "tries" => tries::tries(std::env::args().nth(1).as_deref()),
        "mount" => sigsys::mount(),
        "sigsys" => sigsys::sigsys(),
        "forbidden" => seccomp::forbidden(),
        "forbidden-thread" => seccomp::forbidden_thread(),
        #[cfg(not(target_arch = "x86_64"))]
        name @ ("bypass" | "int80-write" | "int80-thread" | "odd-numbers") => x86_64_only(name),
        #[cfg(target_arch = "x86_64")]
        "bypass" => seccomp::bypass(&std::env::args().nth(1).unwrap_or_default()),
        "spin" => overhead::spin(std::env::args().nth(1).as_deref()),
        "buffer" => overhead::buffer(),
        "calls" => overhead::calls(std::env::args().nth(1).as_deref()),
        "undumpable" => undumpable::undumpable(),
        "hostile" => hostile_writes::hostile(std::env::args().nth(1).as_deref()),
        "setxid" => robustness::setxid(),
        "kill-children" => robustness::kill_children(std::env::args().nth(1).as_deref()),
        "abis" => robustness::abis(),
        "breakme" => breakme::breakme(std::env::args().nth(1).as_deref()),
        "clone-parent" => robustness::clone_parent(),
        "clone-ptrace" => robustness::clone_ptrace(),
        "signal-lab" if std::env::args().nth(1).as_deref() == Some("mailbox") => {
            signal_lab::mailbox()
        }
        "signal-lab" => signal_lab::signal_lab(),
        "segv" => signal_lab::segv(),
        "sigqueue" => signal_lab::sigqueue(
            std::env::args().nth(1).as_deref(),
            std::env::args().nth(2).as_deref(),
        ),
        "crowd" => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            match std::env::args().nth(1).as_deref() {
                Some("late-thread") => crowd::late_thread(),
                Some("first-thread") => crowd::first_thread(),
                Some("exec") => crowd::exec_from_busy_thread(&args),
                Some("kill-writers") => crowd::kill_writers(),
                Some("nonblocking-stderr") => crowd::nonblocking_stderr(),
                _ => {
                    eprintln!("crowd: first-thread, late-thread, exec [COMMAND...], kill-writers or nonblocking-stderr");
                    ExitCode::from(2)
                }
            }
        }
        "mapped-writes" => mapped_writes::mapped_writes(
            std::env::args().nth(1).as_deref(),
            std::env::args().nth(2).as_deref(),
        ),
        #[cfg(target_arch = "x86_64")]
        "int80-write" => mapped_writes::int80_write(),
        "own-filter" => own_filter::own_filter(),
        #[cfg(target_arch = "x86_64")]
        "odd-numbers" => numbers::odd_numbers(),
        "new-mount" => past_the_list::new_mount(std::env::args().nth(1).as_deref()),
        "io-uring-setup" => past_the_list::io_uring_setup(),
        "io-uring" => io_uring::io_uring(std::env::args().nth(1).as_deref()),
        #[cfg(target_arch = "x86_64")]
        "int80-thread" => past_the_list::int80_thread(),
        "late-threads" => late_threads::late_threads(std::env::args().nth(1).as_deref()),
        "opens" => opens::opens(std::env::args().nth(1).as_deref()),
        "getppids" => overhead::getppids(std::env::args().nth(1).as_deref()),
        "ids" => ids::ids(std::env::args().nth(1).as_deref()),
        other => {
            eprintln!("no built-in target named {other}");
            ExitCode::from(127)
        }
    };
    Some(code)
}

/// The number of a call that x86_64 keeps from the old days (open, creat,
/// mkdir, mknod, symlink, link): arm64's table, the generic one, has only
/// their `*at` successors, so there the target says so.
pub(super) fn legacy_call(name: &str) -> Result<libc::c_long, String> {
    crate::names::syscall_number(name)
        .map(|nr| nr as libc::c_long)
        .ok_or_else(|| {
            format!(
                "{name}: no such syscall on {}: its table has only the *at calls",
                crate::arch::NAME
            )
        })
}

/// A target whose lesson is an x86_64 ABI (`int 0x80`, x32): elsewhere it
/// says so, and exits 2.
#[cfg(not(target_arch = "x86_64"))]
fn x86_64_only(name: &str) -> ExitCode {
    eprintln!(
        "target {name}: x86_64 only: {} has no int 0x80 and no x32 (its 32-bit ABI is AArch32 code's, \
         which this workbook doesn't build)",
        crate::arch::NAME
    );
    ExitCode::from(2)
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

/// One write(2) of `bytes` to `fd`, straight to the kernel: no stdio buffer,
/// so each message is exactly one syscall. Returns what write returned.
fn write_raw(fd: libc::c_int, bytes: *const u8, len: usize) -> isize {
    // SAFETY: write(2) only reads from `bytes`; a range the kernel can't read
    // makes it fail with EFAULT (or write less), never touch our memory.
    unsafe { libc::write(fd, bytes.cast(), len) }
}

/// Writes five messages, one write(2) each, from buffers in different kinds
/// of memory: the stack, the heap, a string literal (in the read-only
/// .rodata section), stderr, and a buffer that runs off the end of a page
/// into one that is not mapped. A tracer that rewrites write buffers meets
/// every case. Write results are ignored: under such a tracer they vary.
fn writes() -> ExitCode {
    const STACK: &[u8] = b"from a buffer on the stack\n";
    let mut stack = Aligned([0u8; 64]);
    stack.0[..STACK.len()].copy_from_slice(STACK);
    // The buffer escapes as mutable, so it stays on the stack (the compiler
    // can't swap it for the constant it was copied from).
    let stack = std::hint::black_box(&mut stack);
    write_raw(libc::STDOUT_FILENO, stack.0.as_ptr(), STACK.len());

    let heap: Vec<u8> = b"from a buffer on the heap (a Vec)\n".to_vec();
    write_raw(libc::STDOUT_FILENO, heap.as_ptr(), heap.len());

    let literal: &'static [u8] = &LITERAL.0;
    write_raw(libc::STDOUT_FILENO, literal.as_ptr(), literal.len());

    let to_stderr: Vec<u8> = b"to stderr, from the heap\n".to_vec();
    write_raw(libc::STDERR_FILENO, to_stderr.as_ptr(), to_stderr.len());

    write_across_a_page_end();
    ExitCode::SUCCESS
}

/// Word-aligned bytes, so that a tracer reading them a word at a time needs
/// the same number of words on every machine and with every compiler.
#[repr(C, align(8))]
struct Aligned<T>(T);

/// A string literal in an immutable static: the linker puts it in .rodata,
/// which is mapped read-only.
static LITERAL: Aligned<[u8; 34]> = Aligned(*b"from a string literal, in .rodata\n");

/// Two fresh pages of private memory, readable and writable, nothing
/// else refers to: where they start, and the page size.
pub(crate) fn map_two_pages() -> std::io::Result<(*mut u8, usize)> {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    // SAFETY: a fresh anonymous private mapping; no existing memory is touched.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            2 * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    Ok((base.cast(), page))
}

/// Maps two pages, unmaps the second, and writes 32 bytes starting 16 bytes
/// before the end of the first: half the buffer is not there.
fn write_across_a_page_end() {
    const TAIL: &[u8] = b"end of the page:";
    let (base, page) = match map_two_pages() {
        Ok(mapped) => mapped,
        Err(error) => {
            eprintln!("target: mmap: {error}");
            return;
        }
    };
    // SAFETY: the second page belongs to the mapping just made, and nothing
    // refers to it; the first page stays mapped, and the 16 bytes written
    // lie inside it.
    unsafe {
        libc::munmap(base.add(page).cast(), page);
        let start = base.add(page - TAIL.len());
        std::ptr::copy_nonoverlapping(TAIL.as_ptr(), start, TAIL.len());
        write_raw(libc::STDOUT_FILENO, start, 2 * TAIL.len());
        libc::munmap(base.cast(), page);
    }
}
