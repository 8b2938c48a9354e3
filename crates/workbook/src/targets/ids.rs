//! `builtin:ids`: a program that asks the kernel who it is, for the
//! seccomp-notify lab (a "fakeroot" supervisor answers getuid, geteuid,
//! getgid and getegid with an id of its choosing, and lets every other
//! call it is sent run).
//!
//! Without arguments it prints what the four calls and getppid returned,
//! next to the kernel's own record (/proc/self/status), which no answer
//! changes. `builtin:ids mailbox`, for a grading test, makes the calls the
//! test asks for, each straight through syscall(2), `int 0x80` or x32, and
//! reports every result it got. The input, in order: the exit code to end
//! with; the value the ids should have (only to count the wrong answers
//! of callers killed before they could report); a path to open and read
//! (empty: none); threads and rounds (each of that many threads, the main
//! one when 0, makes the four calls and getppid that many times); the
//! pause in ms between the main thread's rounds; whether to use `int 0x80`
//! and x32 too; whether a forked child makes the calls too; a path and a
//! delay for a grandchild that outlives the target (empty: none); how many
//! times to kill a busy caller; how many signals to send to one. The
//! report: the target's pid, the file's errno and contents, the results
//! (label, raw result, how many times), then the busy callers' counts.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use super::mailbox::{serve, Reader, Writer};
#[cfg(target_arch = "x86_64")]
use crate::arch::{compat_syscall, compat_syscall_number, X32_SYSCALL_BIT};

mod busy;

/// What each call returned, and how many times: (label, raw result).
type Results = BTreeMap<(String, i64), u64>;

/// The calls a fakeroot answers, by their x86_64 names; through `int 0x80`
/// they are the 32-bit-id calls, `getuid32` and so on.
const IDS: [(&str, libc::c_long); 4] = [
    ("getuid", libc::SYS_getuid),
    ("geteuid", libc::SYS_geteuid),
    ("getgid", libc::SYS_getgid),
    ("getegid", libc::SYS_getegid),
];

pub fn ids(mode: Option<&str>) -> ExitCode {
    match mode {
        Some("mailbox") => serve(run),
        None => show(),
        Some(other) => {
            eprintln!("target: ids: no mode {other:?}; none, or `mailbox` for a test");
            ExitCode::from(2)
        }
    }
}

/// The four ids and getppid as the calls say, and as the kernel records.
fn show() -> ExitCode {
    let said: Vec<String> = IDS
        .iter()
        .map(|&(name, nr)| format!("{name}() = {}", raw(nr)))
        .collect();
    println!("target: {}", said.join(", "));
    println!("target: getppid() = {}", raw(libc::SYS_getppid));
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if line.starts_with("Uid:") || line.starts_with("Gid:") {
            println!("target: the kernel's record, /proc/self/status: {line}");
        }
    }
    let _ = std::io::stdout().flush();
    ExitCode::SUCCESS
}

/// A call with no arguments through syscall(2): its result, or -errno.
fn raw(nr: libc::c_long) -> i64 {
    // SAFETY: the calls made here take no arguments and touch no memory.
    let ret = unsafe { libc::syscall(nr) };
    if ret == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        ret
    }
}

/// One round: the four ids (in every ABI asked for) and getppid.
fn round(results: &mut Results, prefix: &str, abis: bool) {
    let mut note = |label: String, result: i64| *results.entry((label, result)).or_default() += 1;
    for &(name, nr) in &IDS {
        note(format!("{prefix}{name}"), raw(nr));
        if abis {
            other_abis(&mut note, prefix, name, nr);
        }
    }
    note(format!("{prefix}getppid"), raw(libc::SYS_getppid));
}

/// The same call through `int 0x80` (as the 32-bit-id call) and x32.
#[cfg(target_arch = "x86_64")]
fn other_abis(note: &mut impl FnMut(String, i64), prefix: &str, name: &str, nr: libc::c_long) {
    let name32 = format!("{name}32");
    if let Some(nr32) = compat_syscall_number(&name32) {
        let result = i64::from(compat_syscall(nr32 as u32, [0; 5]));
        note(format!("{prefix}{name32} [int 0x80]"), result);
    }
    note(
        format!("{prefix}{name} [x32]"),
        raw(nr | X32_SYSCALL_BIT as libc::c_long),
    );
}

/// arm64 has neither `int 0x80` nor x32: no other ABI a 64-bit process
/// can call through, so nothing more is made.
#[cfg(not(target_arch = "x86_64"))]
fn other_abis(_note: &mut impl FnMut(String, i64), _prefix: &str, _name: &str, _nr: libc::c_long) {}

/// The test's wishes, as the input gives them.
struct Plan {
    exit_code: u8,
    expected: i64,
    path: Vec<u8>,
    threads: u64,
    rounds: u64,
    pause_ms: u64,
    abis: bool,
    child: bool,
    late_path: Vec<u8>,
    late_ms: u64,
    kills: u64,
    signals: u64,
}

impl Plan {
    fn read(input: &[u8]) -> Result<Plan, String> {
        let mut input = Reader::new(input);
        Ok(Plan {
            exit_code: input.u64()? as u8,
            expected: input.u64()? as i64,
            path: input.bytes()?.to_vec(),
            threads: input.u64()?.min(64),
            rounds: input.u64()?.min(10_000),
            pause_ms: input.u64()?.min(2_000),
            abis: input.u64()? != 0,
            child: input.u64()? != 0,
            late_path: input.bytes()?.to_vec(),
            late_ms: input.u64()?.min(5_000),
            kills: input.u64()?.min(5_000),
            signals: input.u64()?.min(100_000),
        })
    }
}

fn run(input: &[u8]) -> Result<(Vec<u8>, u8), String> {
    let plan = Plan::read(input)?;
    let mut results = Results::new();
    // The forks first, while this process has one thread.
    if plan.child {
        in_a_child(&plan, &mut results)?;
    }
    let (busy_calls, busy_wrong) = busy::killed_callers(plan.kills, plan.expected)?;
    let signalled = busy::signalled_caller(plan.signals, &mut results)?;
    let (errno, contents) = read_file(&plan.path);
    if plan.threads == 0 {
        for n in 0..plan.rounds {
            if n > 0 && plan.pause_ms > 0 {
                std::thread::sleep(Duration::from_millis(plan.pause_ms));
            }
            round(&mut results, "", plan.abis);
        }
    } else {
        in_threads(&plan, &mut results);
    }
    let mut report = Writer::new();
    report
        .u64(u64::from(std::process::id()))
        .u64(errno as u64)
        .bytes(&contents);
    write_results(&mut report, &results);
    report.u64(busy_calls).u64(busy_wrong).u64(signalled);
    Ok((report.0, plan.exit_code))
}

/// `plan.threads` threads, let go at once, each making its rounds.
fn in_threads(plan: &Plan, results: &mut Results) {
    let start = Arc::new(Barrier::new(plan.threads as usize));
    let threads: Vec<_> = (0..plan.threads)
        .map(|_| {
            let (start, rounds, abis) = (Arc::clone(&start), plan.rounds, plan.abis);
            std::thread::spawn(move || {
                let mut mine = Results::new();
                start.wait();
                for _ in 0..rounds {
                    round(&mut mine, "thread: ", abis);
                }
                mine
            })
        })
        .collect();
    for thread in threads {
        if let Ok(mine) = thread.join() {
            for (key, count) in mine {
                *results.entry(key).or_default() += count;
            }
        }
    }
}

/// openat and read of `path`: (errno, contents); (0, empty) with no path.
fn read_file(path: &[u8]) -> (i32, Vec<u8>) {
    if path.is_empty() {
        return (0, Vec::new());
    }
    match std::fs::read(std::ffi::OsStr::from_bytes(path)) {
        Ok(contents) => (0, contents),
        Err(error) => (error.raw_os_error().unwrap_or(-1), Vec::new()),
    }
}

/// A forked child makes one round and reads the file, and sends what it
/// got through a pipe; with `late_path`, it first forks a grandchild that
/// outlives us all (`late`).
fn in_a_child(plan: &Plan, results: &mut Results) -> Result<(), String> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe2: {}", std::io::Error::last_os_error()));
    }
    let late = CString::new(plan.late_path.clone()).map_err(|_| "a late path with a NUL")?;
    // SAFETY: this process has one thread; the child makes raw calls,
    // allocates and writes, then _exits.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            // SAFETY: our copy of the read end.
            unsafe { libc::close(fds[0]) };
            if !plan.late_path.is_empty() {
                self::late(&late, plan.late_ms, fds[1]);
            }
            let mut mine = Results::new();
            round(&mut mine, "child: ", plan.abis);
            let (errno, contents) = read_file(&plan.path);
            mine.insert(("child: read errno".into(), i64::from(errno)), 1);
            let mut said = Writer::new();
            said.bytes(&contents);
            write_results(&mut said, &mine);
            let _ = write_all(fds[1], &said.0);
            // SAFETY: _exit ends the child without the parent's atexit work.
            unsafe { libc::_exit(0) }
        }
        child => {
            // SAFETY: our copy of the write end.
            unsafe { libc::close(fds[1]) };
            let said = read_all(fds[0]);
            let mut status = 0;
            // SAFETY: our own child, and a status to write into.
            unsafe { libc::waitpid(child, &mut status, 0) };
            let mut said = Reader::new(&said);
            let same = said.bytes()? == read_file(&plan.path).1.as_slice();
            let key = ("child: read the same contents".to_string(), i64::from(same));
            *results.entry(key).or_default() += 1;
            read_results(&mut said, results)
        }
    }
}

/// The grandchild: opens `path` now, waits `delay_ms` (its parent and the
/// target are gone by then), then writes what getuid returned into it.
fn late(path: &CString, delay_ms: u64, pipe: i32) {
    // SAFETY: fork in the child, which has one thread.
    if unsafe { libc::fork() } != 0 {
        return;
    }
    // SAFETY: the pipe's write end: the target reads to its end, which
    // must not wait for us.
    unsafe { libc::close(pipe) };
    // SAFETY: a NUL-terminated path that outlives the call.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd >= 0 {
        std::thread::sleep(Duration::from_millis(delay_ms));
        let line = format!("{}\n", raw(libc::SYS_getuid));
        let _ = write_all(fd, line.as_bytes());
    }
    // SAFETY: _exit ends the grandchild without atexit work.
    unsafe { libc::_exit(0) }
}

/// The results, as a count and (label, result, count) triples.
fn write_results(writer: &mut Writer, results: &Results) {
    writer.u64(results.len() as u64);
    for ((label, result), count) in results {
        writer
            .bytes(label.as_bytes())
            .u64(*result as u64)
            .u64(*count);
    }
}

/// What `write_results` wrote, added to `results`.
fn read_results(reader: &mut Reader, results: &mut Results) -> Result<(), String> {
    for _ in 0..reader.u64()? {
        let label = String::from_utf8_lossy(reader.bytes()?).into_owned();
        let (result, count) = (reader.u64()? as i64, reader.u64()?);
        *results.entry((label, result)).or_default() += count;
    }
    Ok(())
}

fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), ()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for its length.
        let wrote = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if wrote <= 0 {
            return Err(());
        }
        bytes = &bytes[wrote as usize..];
    }
    Ok(())
}

fn read_all(fd: i32) -> Vec<u8> {
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // SAFETY: `chunk` is valid for its length.
        let got = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        if got <= 0 {
            // SAFETY: our fd, closed once.
            unsafe { libc::close(fd) };
            return all;
        }
        all.extend_from_slice(&chunk[..got as usize]);
    }
}
