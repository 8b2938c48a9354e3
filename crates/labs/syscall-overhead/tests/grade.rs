//! Grading tests for lab-syscall-overhead: your PTRACE_SYSEMU tracer,
//! judged by what the traced program saw. They never check a timing.
//!
//! The lab runs, as `--emulate VALUE -- CMD`, the demo's built-in target
//! `getppids` (trusted code from the demo's binary, never from the lab) in
//! its mailbox mode: the test posts into the target's memory, past the lab,
//! how many getppid calls to make (chosen at random), and the lab is told
//! the value to answer them with (chosen at random too, and no pid). The
//! target reports what each call returned, and its voluntary context
//! switches before and after: each ptrace stop puts it to sleep once, so
//! their difference counts the stops, whatever the lab says. Each test's
//! points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::path::PathBuf;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::targets::mailbox::test::{random_in, tail, Target};
use workbook::targets::mailbox::{Reader, Writer};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-syscall-overhead"));
    workbook::testing::limited(&mut command);
    command
}

/// The demo's binary: the target comes from it, never from the lab.
fn demo() -> PathBuf {
    workbook::testing::workspace_bin("syscall-overhead")
}

/// What the target saw.
struct Report {
    /// The first getppid's result: the real parent's pid.
    first: i64,
    /// The getpid after the emulated calls, and the target's own pid.
    end: i64,
    pid: i64,
    /// Voluntary context switches before the first getppid and after the
    /// getpid.
    before: u64,
    after: u64,
    /// What each emulated getppid returned.
    results: Vec<i64>,
    /// How to name the run in a message, and what the lab said.
    what: String,
    said: String,
}

/// The lab, `--emulate value`, on the target making `calls` getppid calls
/// after its first.
fn run(calls: u64, value: u64) -> Report {
    let target = Target::new(&demo(), "getppids", &["mailbox"]);
    let mut command = lab();
    command
        .args(["--emulate", &value.to_string(), "--"])
        .args(target.argv());
    let mut input = Writer::new();
    input.u64(calls);
    let traced = target.run(&mut command, &input.0);
    let what = format!(
        "`lab-syscall-overhead --emulate {value}` on a target making {calls} getppid calls"
    );
    let said = format!("the lab's stderr:\n{}", tail(&traced.stderr()));
    let mut report = Reader::new(traced.report());
    let mut next = || report.u64().expect("a field of the target's report");
    let (first, end, pid, before, after) =
        (next() as i64, next() as i64, next() as i64, next(), next());
    let results = (0..calls).map(|_| next() as i64).collect();
    assert_eq!(
        traced.code(),
        Some(0),
        "{what}: the lab should exit with the target's status, 0\n{said}"
    );
    Report {
        first,
        end,
        pid,
        before,
        after,
        results,
        what,
        said,
    }
}

/// A value no getppid returns of itself: past any pid (pid_max is at most
/// 2^22), below 2^31.
fn random_value() -> u64 {
    random_in(1 << 23..=(1 << 31) - 1)
}

/// Every emulated call returned `value`, and the calls around them ran.
fn assert_emulated(report: &Report, value: u64) {
    let (what, said) = (&report.what, &report.said);
    for (i, &got) in report.results.iter().enumerate() {
        assert!(
            got == value as i64,
            "{what}: getppid call {} of {} returned {got}, not the tracer's value {value}{}\n{said}",
            i + 1,
            report.results.len(),
            if got == report.first {
                " but the real parent's pid: the kernel ran it"
            } else if got == -1 {
                ", but -1, a failure: the kernel skipped it and left -ENOSYS, and nobody put \
                 an answer in its place"
            } else {
                ""
            }
        );
    }
    assert_ne!(
        report.first, value as i64,
        "{what}: the target's first getppid, before the emulated ones, returned the tracer's \
         value: it should have run as usual\n{said}"
    );
    assert_eq!(
        report.end, report.pid,
        "{what}: the target's getpid after its getppid calls returned {}, not its pid {}: \
         the emulation should end at the first call that is not getppid, and leave it \
         to run\n{said}",
        report.end, report.pid
    );
}

/// A random number of getppid calls (50 to 500), each answered with a
/// random value: the target sees that value every time, so the kernel ran
/// none of them; the calls before and after ran as usual.
#[test]
fn getppid_returns_the_tracers_value() {
    let (calls, value) = (random_in(50..=500), random_value());
    let report = run(calls, value);
    assert_emulated(&report, value);
}

/// One stop a call: the target's voluntary context switches over its run
/// of getppid calls (100 to 600) grow by about one a call (and a few for
/// the calls around them, about 20), not two as under PTRACE_SYSCALL.
#[test]
fn one_stop_a_call() {
    let (calls, value) = (random_in(100..=600), random_value());
    let report = run(calls, value);
    assert_emulated(&report, value);
    let switches = report.after.saturating_sub(report.before);
    assert!(
        switches >= calls && switches <= calls + calls / 2,
        "{}: the target was put to sleep {switches} times over its {calls} calls: one \
         ptrace stop a call would be {calls} and a few more, two stops a call about {}\n{}",
        report.what,
        2 * calls,
        report.said
    );
}

#[cfg(feature = "hidden")]
mod hidden;
