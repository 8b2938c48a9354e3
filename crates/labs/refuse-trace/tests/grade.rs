//! Grading tests for lab-refuse-trace. The test plays the debugger: a child
//! of the test (never the test itself) seizes the lab while it waits
//! (`--wait`), plants int3s with PTRACE_POKEDATA at offsets chosen at
//! random for each run, or plants nothing, and leaves. The lab must then
//! name exactly the offset the int3 went to, and run its guarded code only
//! when it is untouched (an int3 left in it would kill it with SIGTRAP).
//! Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use insta_cmd::get_cargo_bin;
use nix::unistd::Pid;
use workbook::testing::random_u64;

/// How many bytes of greet() the lab guards (its main.rs says so too).
const GUARDED: usize = 64;

/// The lab, waiting for its debugger, with the address of its guarded code.
struct Waiting {
    child: Child,
    stderr: BufReader<std::process::ChildStderr>,
    start: u64,
    /// What the test read of the guarded code before the debugger came.
    original: Vec<u8>,
    /// What the lab said on stderr so far.
    said: String,
}

/// How a run ended.
struct Ended {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    signal: Option<i32>,
}

/// Starts `lab-refuse-trace --wait` and reads its stderr until it waits.
fn start_lab() -> Waiting {
    let mut command = Command::new(get_cargo_bin("lab-refuse-trace"));
    workbook::testing::limited(&mut command);
    // An int3 that goes unseen kills the lab with SIGTRAP: no core file.
    workbook::testing::without_core_dumps(&mut command);
    let mut child = command
        .arg("--wait")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting lab-refuse-trace --wait");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
    let mut said = String::new();
    let mut start = None;
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "lab-refuse-trace --wait ended before it waited for its debugger \
                 (does keep() return the guarded bytes?); its stderr:\n{said}"
            );
        }
        said += &line;
        if let Some(rest) = line.split_once(" of greet() at 0x").map(|(_, rest)| rest) {
            start = u64::from_str_radix(rest.trim(), 16).ok();
        }
        if line.contains("waiting for a line on stdin") {
            break;
        }
    }
    let start = start.expect("the lab names the address of greet()");
    let pid = Pid::from_raw(child.id() as i32);
    let in_code = workbook::memory::maps(pid)
        .expect("the lab's /proc/PID/maps")
        .iter()
        .any(|mapping| mapping.executable() && mapping.start <= start && start < mapping.end);
    assert!(in_code, "greet() at {start:#x} is not in the lab's code");
    let original = workbook::memory::read_bytes(pid, start, GUARDED).expect("reading greet()");
    assert_eq!(original.len(), GUARDED, "greet()'s bytes are all mapped");
    Waiting {
        child,
        stderr,
        start,
        original,
        said,
    }
}

/// The breakpoint instruction a debugger plants here, in memory order: int3
/// (0xcc) on x86_64, BRK #0 (00 00 20 d4) on arm64.
const BREAKPOINT: &[u8] = &workbook::arch::BREAKPOINT;

/// `count` offsets of instructions in the guarded code (any byte on x86_64,
/// a multiple of 4 on arm64), different, in increasing order, none of a
/// breakpoint instruction already.
fn random_offsets(original: &[u8], count: usize) -> Vec<usize> {
    let size = BREAKPOINT.len();
    let mut offsets = Vec::new();
    while offsets.len() < count {
        let offset = (random_u64() % (original.len() / size) as u64) as usize * size;
        if original[offset..offset + size] != *BREAKPOINT && !offsets.contains(&offset) {
            offsets.push(offset);
        }
    }
    offsets.sort_unstable();
    offsets
}

/// The pokes that plant a breakpoint at `offset`: a byte each.
fn breakpoint_at(offset: usize) -> Vec<(usize, u8)> {
    (offset..).zip(BREAKPOINT.iter().copied()).collect()
}

/// The pokes that put the original bytes back at `offset`.
fn original_at(original: &[u8], offset: usize) -> Vec<(usize, u8)> {
    (offset..offset + BREAKPOINT.len())
        .map(|at| (at, original[at]))
        .collect()
}

impl Waiting {
    /// The debugger: a child of the test seizes the lab, stops it, writes
    /// each `(offset, byte)` of `pokes` into the guarded code in turn with
    /// PTRACE_PEEKDATA and PTRACE_POKEDATA, and detaches.
    fn debugger(&self, pokes: &[(usize, u8)]) {
        let pid = self.child.id() as libc::pid_t;
        let start = self.start;
        // SAFETY: the child runs only ptrace, waitpid and _exit on locals
        // (async-signal-safe), and never returns.
        let debugger = unsafe { libc::fork() };
        assert!(debugger >= 0, "fork");
        if debugger == 0 {
            // SAFETY: as above.
            unsafe { plant(pid, start, pokes) };
        }
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(debugger, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the test's debugger failed at its step {} (status {status:#x})",
            libc::WEXITSTATUS(status)
        );
        let pid = Pid::from_raw(pid);
        for &(offset, _) in pokes {
            let wanted = pokes
                .iter()
                .rev()
                .find(|(at, _)| *at == offset)
                .map(|&(_, byte)| byte);
            let now = workbook::memory::read_bytes(pid, start + offset as u64, 1)
                .expect("reading the lab's greet()");
            assert_eq!(
                now.first().copied(),
                wanted,
                "the test's debugger's poke at offset {offset} did not hold"
            );
        }
    }

    /// Lets the lab go on, and waits for its end.
    fn go_on(mut self) -> Ended {
        use std::os::unix::process::ExitStatusExt;
        let mut stdin = self.child.stdin.take().expect("piped");
        let _ = stdin.write_all(b"go\n");
        drop(stdin);
        let mut stdout = String::new();
        let _ = self
            .child
            .stdout
            .take()
            .expect("piped")
            .read_to_string(&mut stdout);
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        let status = self.child.wait().expect("waiting for the lab");
        Ended {
            stdout,
            stderr: self.said + &rest,
            code: status.code(),
            signal: status.signal(),
        }
    }
}

/// The debugger's work, in a child of the test. Exits 0 when every poke
/// went in, or with the number of the step that failed.
///
/// # Safety
/// Only in a child just forked: async-signal-safe calls only.
unsafe fn plant(pid: libc::pid_t, start: u64, pokes: &[(usize, u8)]) -> ! {
    let word = std::mem::size_of::<libc::c_long>() as u64;
    // SAFETY: raw ptrace, waitpid and _exit on plain integers and a local
    // status, in the child just forked (the caller's contract): nothing here
    // allocates or takes a lock.
    unsafe {
        if libc::ptrace(libc::PTRACE_SEIZE, pid, 0, 0) != 0 {
            libc::_exit(1);
        }
        if libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0, 0) != 0 {
            libc::_exit(2);
        }
        let mut status = 0;
        if libc::waitpid(pid, &mut status, libc::__WALL) != pid || !libc::WIFSTOPPED(status) {
            libc::_exit(3);
        }
        for &(offset, byte) in pokes {
            let address = start + offset as u64;
            let aligned = address - address % word;
            *libc::__errno_location() = 0;
            let value = libc::ptrace(libc::PTRACE_PEEKDATA, pid, aligned, 0);
            if value == -1 && *libc::__errno_location() != 0 {
                libc::_exit(4);
            }
            let mut bytes = value.to_ne_bytes();
            bytes[(address - aligned) as usize] = byte;
            let value = libc::c_long::from_ne_bytes(bytes);
            if libc::ptrace(libc::PTRACE_POKEDATA, pid, aligned, value) != 0 {
                libc::_exit(5);
            }
        }
        if libc::ptrace(libc::PTRACE_DETACH, pid, 0, 0) != 0 {
            libc::_exit(6);
        }
        libc::_exit(0)
    }
}

/// One run: the debugger pokes what `pokes` makes of greet()'s bytes
/// ((offset, byte) pairs) and leaves; how the lab ended, and the pokes.
fn run_with_debugger(pokes: impl Fn(&[u8]) -> Vec<(usize, u8)>) -> (Ended, Vec<(usize, u8)>) {
    let lab = start_lab();
    let pokes = pokes(&lab.original);
    lab.debugger(&pokes);
    (lab.go_on(), pokes)
}

/// The lab ran greet(): nothing was planted in it.
fn assert_ran_greet(ended: &Ended, what: &str) {
    assert!(
        ended.stdout == "Hello world!\n" && ended.code == Some(0),
        "{what}: the lab should have found greet() as it kept it and said \"Hello world!\"; \
         it printed {:?} and ended with {}; its stderr:\n{}",
        ended.stdout,
        how_it_ended(ended),
        ended.stderr
    );
}

/// The lab refused to run greet(), naming the int3 at `offset`.
fn assert_refused_at(ended: &Ended, offset: usize, what: &str) {
    let named = format!(
        "{} was planted at offset {offset} of greet()",
        workbook::arch::A_BREAKPOINT
    );
    assert!(
        ended.stdout == "DO NOT DEBUG ME!!!\n" && ended.code == Some(0),
        "{what}: the lab should have found the {} and refused (\"DO NOT DEBUG ME!!!\"); \
         it printed {:?} and ended with {}; its stderr:\n{}",
        workbook::arch::BREAKPOINT_NAME,
        ended.stdout,
        how_it_ended(ended),
        ended.stderr
    );
    assert!(
        ended.stderr.contains(&named),
        "{what}: planted_int3 should have returned Some({offset}); the lab said:\n{}",
        ended.stderr
    );
}

fn how_it_ended(ended: &Ended) -> String {
    match (ended.code, ended.signal) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(libc::SIGTRAP)) => format!(
            "SIGTRAP (it ran into {0}: greet() ran although {0} was planted)",
            workbook::arch::A_BREAKPOINT
        ),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "no status".to_string(),
    }
}

/// One run: an int3 at a random offset of greet(), which the lab must name.
fn one_int3_is_named_at_its_offset() {
    let (ended, pokes) =
        run_with_debugger(|original| breakpoint_at(random_offsets(original, 1)[0]));
    let offset = pokes[0].0;
    assert_refused_at(
        &ended,
        offset,
        &format!(
            "a debugger planted one {} at offset {offset}",
            workbook::arch::BREAKPOINT_NAME
        ),
    );
}

/// A debugger that came and planted nothing leaves greet() as it was: the
/// lab runs it (twice), although greet()'s code holds bytes 0xcc of its
/// own. Then, against an answer that never sees anything, one int3 at a
/// random offset must be seen.
#[test]
fn untouched_code_runs_as_before() {
    for _ in 0..2 {
        let (ended, _) = run_with_debugger(|_| Vec::new());
        assert_ran_greet(
            &ended,
            "a debugger attached and left without planting anything",
        );
    }
    one_int3_is_named_at_its_offset();
}

/// An int3 planted at a random offset of greet() (three runs) is named at
/// that offset, and greet() is not run; then one run with nothing planted.
#[test]
fn a_planted_int3_is_found_at_its_offset() {
    for _ in 0..3 {
        one_int3_is_named_at_its_offset();
    }
    let (ended, _) = run_with_debugger(|_| Vec::new());
    assert_ran_greet(
        &ended,
        "a debugger attached and left without planting anything",
    );
}

#[cfg(feature = "hidden")]
mod hidden;
