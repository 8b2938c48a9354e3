//! Targets for the syscall-overhead demo: a loop of cheap syscalls that
//! times itself, and a buffer to be read from outside.

use std::hint::black_box;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use nix::sys::signal::{raise, Signal};

/// The size of the `buffer` target's buffer: 1 MiB.
pub const BUFFER_LEN: usize = 1 << 20;

/// The environment variable that gives the `buffer` target its seed, a
/// decimal number (0 when it is not set).
pub const SEED_VARIABLE: &str = "WORKBOOK_BUFFER_SEED";

/// The `buffer` target's bytes for `seed`: splitmix64's numbers from that
/// seed, 8 bytes each. Nothing in them repeats, so a read from the wrong
/// offset or the wrong page shows; and with a seed chosen at random for each
/// run, a reader can only know them by reading them.
pub fn contents(seed: u64) -> Vec<u8> {
    super::hostile_writes::long_contents(seed, BUFFER_LEN)
}

/// A seed for the `buffer` target, different at every call: 8 bytes from
/// getrandom(2).
pub fn random_seed() -> std::io::Result<u64> {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into `bytes`.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if got < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Up to 256 bytes come whole once the pool is ready; never short here.
    assert_eq!(got as usize, bytes.len(), "getrandom came short");
    Ok(u64::from_ne_bytes(bytes))
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

/// `buffer`: fills 1 MiB with `contents` of the seed in `SEED_VARIABLE`,
/// prints its address in hex, and stops itself with SIGSTOP, so that a
/// tracer can read the buffer from a process that holds still.
pub fn buffer() -> ExitCode {
    let seed = match std::env::var_os(SEED_VARIABLE) {
        None => 0,
        Some(text) => match text.to_str().and_then(|text| text.parse::<u64>().ok()) {
            Some(seed) => seed,
            None => {
                eprintln!("builtin:buffer: {SEED_VARIABLE} must be a number from 0 to 2^64-1");
                return ExitCode::from(2);
            }
        },
    };
    // Any process of this user may read the buffer, not only an ancestor,
    // which is all Yama's ptrace_scope 1 (Ubuntu's default) allows: the
    // tests start this target and have `syscall-overhead --read-buffer`, its
    // sibling, read it. EINVAL without Yama: nothing to allow.
    // SAFETY: PR_SET_PTRACER takes a number and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0, 0, 0) };
    let buffer = contents(seed);
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

/// `calls NAME`: connects to the Unix socket with the abstract name NAME,
/// reads what to do there (16 bytes: a syscall number, getppid's or
/// reboot's, and a count, native-endian u64s), makes that many calls of it
/// and exits 0. The count is in no argument: a tracer that has to report it
/// (syscall-overhead --count-stops) must have counted the calls' stops.
/// reboot(0, 0, 0, NULL) has no magic numbers: the kernel refuses it
/// (EPERM, or EINVAL for root) before doing anything.
pub fn calls(name: Option<&str>) -> ExitCode {
    use std::io::Read;
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixStream};

    let Some(name) = name else {
        eprintln!("usage: builtin:calls NAME (an abstract Unix socket's name)");
        return ExitCode::from(2);
    };
    let mut request = [0u8; 16];
    let connected = SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|address| UnixStream::connect_addr(&address))
        .and_then(|mut stream| stream.read_exact(&mut request));
    if let Err(error) = connected {
        eprintln!("builtin:calls: reading the request on @{name}: {error}");
        return ExitCode::FAILURE;
    }
    let word = |at: usize| u64::from_ne_bytes(request[at..at + 8].try_into().expect("8 bytes"));
    let (nr, count) = (word(0) as libc::c_long, word(8));
    if nr != libc::SYS_getppid && nr != libc::SYS_reboot {
        eprintln!("builtin:calls: syscall {nr} is neither getppid nor reboot");
        return ExitCode::from(2);
    }
    for _ in 0..count {
        // SAFETY: getppid ignores its arguments; reboot without its magic
        // numbers fails before it reads anything.
        unsafe { libc::syscall(nr, 0, 0, 0, 0) };
    }
    ExitCode::SUCCESS
}

/// getpid(2) through syscall(2).
fn raw_getpid() -> i64 {
    // SAFETY: getpid takes no arguments and touches no memory.
    unsafe { libc::syscall(libc::SYS_getpid) }
}

/// getppid(2) through syscall(2), its result kept.
fn raw_getppid() -> i64 {
    // SAFETY: getppid takes no arguments and touches no memory.
    unsafe { libc::syscall(libc::SYS_getppid) }
}

/// The most getppid calls `getppids` makes in one run.
pub const GETPPIDS_MAX: u64 = 100_000;

/// `getppids mailbox`: for a test of a tracer that emulates getppid. The
/// input is a count N. The target reads its voluntary context switches
/// (each ptrace stop is one), makes one getppid (the start: a tracer may
/// let it run), then N getppid calls and nothing else in between, keeping
/// what each returned, then one getpid (the end: it should run, and give
/// the target's pid), and reads its context switches again. The report:
/// the first getppid's result, the getpid's, the target's pid, the two
/// counts of context switches, and the N results.
pub fn getppids(mode: Option<&str>) -> ExitCode {
    if mode != Some("mailbox") {
        eprintln!("target: getppids: runs only as `builtin:getppids mailbox`, for a test");
        return ExitCode::from(2);
    }
    super::mailbox::serve(|input| {
        let n = super::mailbox::Reader::new(input).u64()?;
        if n > GETPPIDS_MAX {
            return Err(format!("{n} getppid calls: at most {GETPPIDS_MAX}"));
        }
        // Everything the loop needs is ready before it: between the first
        // getppid and the getpid, the target makes no other call.
        let mut results = vec![0i64; n as usize];
        // Touched now, so that no page fault in the loop can sleep.
        results.fill(-1);
        black_box(&mut results);
        let pid = u64::from(std::process::id());
        let before = voluntary_switches()?;
        let first = raw_getppid();
        for result in results.iter_mut() {
            *result = raw_getppid();
        }
        let end = raw_getpid();
        let after = voluntary_switches()?;
        let mut report = super::mailbox::Writer::new();
        report
            .u64(first as u64)
            .u64(end as u64)
            .u64(pid)
            .u64(before)
            .u64(after);
        for result in results {
            report.u64(result as u64);
        }
        Ok((report.0, 0))
    })
}

/// This thread's voluntary context switches, from /proc/thread-self/status:
/// a ptrace stop puts the thread to sleep, which counts as one.
fn voluntary_switches() -> Result<u64, String> {
    crate::procfs::Status::of_this_thread()
        .and_then(|status| status.number("voluntary_ctxt_switches"))
        .map_err(|error| format!("{error:#}"))
}
