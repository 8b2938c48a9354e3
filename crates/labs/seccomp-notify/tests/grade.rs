//! Grading tests for lab-seccomp-notify: your supervisor's answers, judged
//! by what a program the test trusts was told by the kernel.
//!
//! The lab runs the demo's built-in target `ids` (trusted code from the
//! demo's binary, never from the lab) in its mailbox mode, with a fake id
//! chosen at random for `--id`. The test posts into the target's memory,
//! past the lab, what to do: how many rounds of getuid, geteuid, getgid,
//! getegid and getppid to make, in how many threads, a file of random
//! contents to read, a child process, a grandchild that outlives it,
//! callers to kill mid-call, and the exit code to end with. The target
//! makes each call straight through syscall(2) and reports every result;
//! the test checks them against the fake id, the lab's pid (getppid runs),
//! the file's contents (openat runs), and the lab's exit code against the
//! target's. What the lab prints counts for nothing. Each test's points
//! are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use nix::errno::Errno;
use workbook::names::errno_name;
use workbook::targets::mailbox::test::{random_in, random_u64, tail, Folder, Target, Traced};
use workbook::targets::mailbox::{Reader, Writer};

/// Seconds a run of the lab may take: each takes a second or two, and a
/// supervisor that never returns is killed (SIGALRM) after this.
const TIME_LIMIT_SECS: u32 = 20;

/// The lab, with no core dumps.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-seccomp-notify"));
    workbook::testing::without_core_dumps(&mut command);
    command
}

/// The demo's binary: the target comes from it, never from the lab.
fn demo() -> PathBuf {
    workbook::testing::workspace_bin("seccomp-notify")
}

/// A fake id at random: none of the test's own ids, more than 16 bits
/// most of the time, and never one an errno could be mistaken for.
fn fake_id() -> u32 {
    // SAFETY: getuid and getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    loop {
        let id = random_in(5_000..=0x7fff_fffe) as u32;
        if id != uid && id != gid {
            return id;
        }
    }
}

/// What the target is to do (see workbook's targets/ids.rs).
#[derive(Default)]
struct Plan {
    exit_code: u8,
    path: Option<PathBuf>,
    threads: u64,
    rounds: u64,
    pause_ms: u64,
    abis: bool,
    child: bool,
    late: Option<(PathBuf, u64)>,
    kills: u64,
    signals: u64,
}

impl Plan {
    /// `rounds` rounds in the main thread, a random exit code.
    fn new(rounds: u64) -> Plan {
        Plan {
            exit_code: random_in(0..=120) as u8,
            rounds,
            ..Plan::default()
        }
    }

    fn input(&self, fake: u32) -> Vec<u8> {
        let path = |path: &Option<PathBuf>| {
            path.as_ref()
                .map(|path| path.as_os_str().as_encoded_bytes().to_vec())
                .unwrap_or_default()
        };
        let mut input = Writer::new();
        input
            .u64(u64::from(self.exit_code))
            .u64(u64::from(fake))
            .bytes(&path(&self.path))
            .u64(self.threads)
            .u64(self.rounds)
            .u64(self.pause_ms)
            .u64(u64::from(self.abis))
            .u64(u64::from(self.child))
            .bytes(&path(&self.late.as_ref().map(|(path, _)| path.clone())))
            .u64(self.late.as_ref().map_or(0, |(_, ms)| *ms))
            .u64(self.kills)
            .u64(self.signals);
        input.0
    }
}

/// A file of random contents in `folder`, for the target to open and read.
fn random_file(folder: &Folder) -> (PathBuf, Vec<u8>) {
    let path = folder.0.join(format!("f{:012x}", random_u64() >> 16));
    let contents = format!("{:016x}{:016x}\n", random_u64(), random_u64()).into_bytes();
    std::fs::write(&path, &contents).expect("a file of the test's");
    (path, contents)
}

/// What the target reported, and how the lab ended.
struct Seen {
    fake: u32,
    target_pid: i64,
    lab_pid: i64,
    read_errno: i32,
    contents: Vec<u8>,
    /// (label, raw result, how many times)
    results: Vec<(String, i64, u64)>,
    busy_calls: u64,
    busy_wrong: u64,
    signals_handled: u64,
    /// The command, and the lab's stderr, for the messages.
    what: String,
    said: String,
}

/// Runs the lab with `--id FAKE` on the target, which does what `plan`
/// says; reads its report, and checks that the lab ended in time with the
/// target's exit code.
fn run(plan: &Plan, fake: u32) -> Seen {
    let target = Target::new(&demo(), "ids", &["mailbox"]).time_limit(TIME_LIMIT_SECS);
    let mut command = lab();
    command
        .args(["--id", &fake.to_string(), "--"])
        .args(target.argv());
    let traced = target.run(&mut command, &plan.input(fake));
    let what = format!("`lab-seccomp-notify --id {fake} -- PROGRAM`");
    let said = format!("the lab's stderr:\n{}", tail(&traced.stderr()));
    let report = match &traced.report {
        Ok(report) => report.clone(),
        Err(why) => panic!(
            "{what}: the target's report never came ({why}). Every call the filter \
             sends waits for serve's answer, from the dynamic loader's first openat (to be \
             let run: CONTINUE) to the last call of the program's last process; a serve \
             that fails (its error is on the lab's stderr, below) or stops answering \
             leaves the program stuck, or killed.\n{said}"
        ),
    };
    check_ending(&traced, plan.exit_code, &what, &said);
    let mut report = Reader::new(&report);
    let mut next = || report.u64().expect("a field of the target's report");
    let (target_pid, read_errno) = (next() as i64, next() as i32);
    let contents = report.bytes().expect("the contents read").to_vec();
    let count = report.u64().expect("the number of results");
    let mut results = Vec::new();
    for _ in 0..count {
        let label = String::from_utf8_lossy(report.bytes().expect("a label")).into_owned();
        let result = report.u64().expect("a result") as i64;
        results.push((label, result, report.u64().expect("a count")));
    }
    let mut next = || report.u64().expect("a field of the target's report");
    let (busy_calls, busy_wrong, signals_handled) = (next(), next(), next());
    Seen {
        fake,
        target_pid,
        lab_pid: i64::from(traced.lab),
        read_errno,
        contents,
        results,
        busy_calls,
        busy_wrong,
        signals_handled,
        what,
        said,
    }
}

/// The lab ended by itself, in time, with the program's exit code.
fn check_ending(traced: &Traced, exit_code: u8, what: &str, said: &str) {
    let status = traced.output.status;
    assert_ne!(
        status.signal(),
        Some(libc::SIGALRM),
        "{what}: the lab was still running {TIME_LIMIT_SECS} s after it started, long after \
         the program had ended. serve must return once the listener says POLLHUP (no \
         process uses the filter any more): a loop that only waits in \
         SECCOMP_IOCTL_NOTIF_RECV never hears of that.\n{said}"
    );
    assert_eq!(
        status.code(),
        Some(i32::from(exit_code)),
        "{what}: the program ended with exit code {exit_code}, which the lab should have \
         ended with too; it ended with {status}.\n{said}"
    );
}

/// "once", "2 times"...
fn times(count: u64) -> String {
    match count {
        1 => "once".into(),
        n => format!("{n} times"),
    }
}

/// What a wrong result most likely means, in the student's terms.
fn why(result: i64, fake: u32) -> String {
    // SAFETY: getuid and getgid have no preconditions.
    let (uid, gid) = unsafe { (i64::from(libc::getuid()), i64::from(libc::getgid())) };
    let fake = i64::from(fake);
    if result == uid || result == gid {
        "the real id: the call ran (was it answered with CONTINUE?)".into()
    } else if result == -fake || result == (-fake) & 0xffff_ffff {
        "minus the fake id: the answer's `error` field makes the call fail; a value goes \
         in `val`"
            .into()
    } else if (-4095..0).contains(&result) {
        let errno = errno_name(Errno::from_raw(-result as i32));
        match -result as i32 {
            libc::ENOSYS => format!(
                "{errno}: nobody answered (the listener was closed: serve had returned, \
                 or failed)"
            ),
            _ => format!("the call failed with {errno}"),
        }
    } else {
        "neither the fake id nor the real one".into()
    }
}

/// The id calls whose label starts with `prefix` were made and all
/// returned the fake id; getppid, run, returned `parent`.
fn check_ids(seen: &Seen, prefix: &str, parent: i64, each: u64) {
    let (what, said, fake) = (&seen.what, &seen.said, seen.fake);
    for name in ["getuid", "geteuid", "getgid", "getegid", "getppid"] {
        let label = format!("{prefix}{name}");
        let made: u64 = seen
            .results
            .iter()
            .filter(|(l, ..)| *l == label)
            .map(|(.., count)| count)
            .sum();
        assert_eq!(
            made, each,
            "{what}: the target's report has {made} {label} calls, where it made {each}.\n{said}"
        );
    }
    check_faked(seen, prefix);
    for (label, result, count) in &seen.results {
        if *label == format!("{prefix}getppid") {
            assert_eq!(
                *result,
                parent,
                "{what}: the target's {label} returned {result} ({}), where its parent is \
                 {parent}: getppid is to run (CONTINUE), not be answered (--id {fake}).\n{said}",
                times(*count)
            );
        }
    }
}

/// Every id call whose label starts with `prefix` returned the fake id.
fn check_faked(seen: &Seen, prefix: &str) {
    let (what, said, fake) = (&seen.what, &seen.said, seen.fake);
    for (label, result, count) in &seen.results {
        let Some(call) = label.strip_prefix(prefix) else {
            continue;
        };
        if call.starts_with("get") && !call.starts_with("getppid") {
            assert_eq!(
                *result,
                i64::from(fake),
                "{what}: the target's {label} returned {result} ({}), where the supervisor \
                 should have answered {fake}: {}.\n{said}",
                times(*count),
                why(*result, fake)
            );
        }
    }
}

/// The target read the file whole: its openat ran.
fn check_read(seen: &Seen, contents: &[u8]) {
    let (what, said) = (&seen.what, &seen.said);
    assert_eq!(
        seen.read_errno,
        0,
        "{what}: the target could not open a file of the test's: {} (openat is to run: \
         CONTINUE).\n{said}",
        errno_name(Errno::from_raw(seen.read_errno))
    );
    assert_eq!(
        seen.contents,
        contents,
        "{what}: the target read {:?} from a file that holds {:?}: its openat should have \
         run (CONTINUE).\n{said}",
        String::from_utf8_lossy(&seen.contents),
        String::from_utf8_lossy(contents)
    );
}

/// One process, a few rounds of the four id calls and getppid, and a
/// file to read: the ids are the fake id (chosen at random), getppid and
/// openat ran, and the lab ends with the program's exit code (random).
#[test]
fn ids_are_answered_with_the_fake_id() {
    let folder = Folder::new("seccomp-notify");
    let (path, contents) = random_file(&folder);
    let mut plan = Plan::new(random_in(1..=5));
    plan.path = Some(path);
    let seen = run(&plan, fake_id());
    check_ids(&seen, "", seen.lab_pid, plan.rounds);
    check_read(&seen, &contents);
}

/// 4 to 8 threads, let go at once, each making 20 to 60 rounds: every
/// call is answered, each with its own answer.
#[test]
fn threads_calling_at_once() {
    let mut plan = Plan::new(random_in(20..=60));
    plan.threads = random_in(4..=8);
    let seen = run(&plan, fake_id());
    check_ids(&seen, "thread: ", seen.lab_pid, plan.threads * plan.rounds);
}

/// A forked child has the filter too: its ids are the fake one, its
/// getppid (the target) and its openat run. Its own child outlives the
/// target by 0.3 to 0.8 s, then calls getuid: the supervisor is still
/// there to answer it.
#[test]
fn a_child_and_a_grandchild_that_outlives_the_program() {
    let folder = Folder::new("seccomp-notify");
    let (path, contents) = random_file(&folder);
    let late = folder.0.join("late");
    let mut plan = Plan::new(1);
    plan.path = Some(path);
    plan.child = true;
    plan.late = Some((late.clone(), random_in(300..=800)));
    let seen = run(&plan, fake_id());
    check_ids(&seen, "", seen.lab_pid, 1);
    check_ids(&seen, "child: ", seen.target_pid, 1);
    let read_by_child = |label: &str| {
        seen.results
            .iter()
            .find(|(l, ..)| l == label)
            .map(|(_, result, _)| *result)
    };
    assert_eq!(
        (
            read_by_child("child: read errno"),
            read_by_child("child: read the same contents")
        ),
        (Some(0), Some(1)),
        "{}: the target's child could not read a file of the test's (errno, same contents): \
         its openat should have run (CONTINUE).\n{}",
        seen.what,
        seen.said
    );
    check_read(&seen, &contents);
    let late_said = std::fs::read_to_string(&late).unwrap_or_default();
    assert_eq!(
        late_said.trim().parse::<i64>().ok(),
        Some(i64::from(seen.fake)),
        "{}: a grandchild of the target, still running after the target had ended, got \
         {:?} from getuid, where the supervisor should have answered {}: {}. The listener \
         hangs up (POLLHUP) only once every process with the filter is gone.\n{}",
        seen.what,
        late_said.trim(),
        seen.fake,
        late_said
            .trim()
            .parse::<i64>()
            .map_or("it made no call".to_string(), |result| why(
                result, seen.fake
            )),
        seen.said
    );
}

/// Two children call getuid without a pause, and one is killed, at a
/// random moment, 400 to 600 times: some die while the supervisor holds
/// their call, and its answer finds nobody (ENOENT). It goes on: every
/// answer the children got was the fake id, and the target's own calls
/// afterwards are answered too.
#[test]
fn callers_killed_in_the_middle_of_a_call() {
    let mut plan = Plan::new(1);
    plan.kills = random_in(400..=600);
    let seen = run(&plan, fake_id());
    assert!(
        seen.busy_calls > 0 && seen.busy_wrong == 0,
        "{}: the children that were killed made {} getuid calls, {} of them answered with \
         something other than {}.\n{}",
        seen.what,
        seen.busy_calls,
        seen.busy_wrong,
        seen.fake,
        seen.said
    );
    check_ids(&seen, "", seen.lab_pid, 1);
}

#[cfg(feature = "hidden")]
mod hidden;
