//! Grading tests for lab-signal-control. The lab traces the demo's own
//! built-in target (trusted code, from the demo's binary, not the lab's) in
//! its mailbox mode: the test hands it, through the kernel and past the
//! lab, signals to block beside SIGUSR2 and a real-time signal with a value
//! to queue, all chosen at random, and reads back from the target's memory
//! what its handlers got, what it blocks, and who traces it (see
//! `workbook::targets::mailbox`). Its own SIGTERM comes before its report:
//! a lab that does not suppress it gets no report at all. What the lab
//! prints is compared with the demo's snapshot too, but printing alone
//! passes nothing. Points in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::targets::mailbox::test::{random_u64, tail, Target, Traced};
use workbook::targets::mailbox::{Reader, Writer};
use workbook::testing::Transcript;

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-signal-control"));
    workbook::testing::limited(&mut command);
    command
}

/// The redactions of the demo's own snapshot test.
const SIGNAL_CONTROL: &[(&str, &str)] = &[
    (r"si_pid=\d+", "si_pid=[PID]"),
    (r"si_uid=\d+", "si_uid=[UID]"),
    (
        r"si_(u|s)time=\d+( /\* [0-9.]+ s \*/)?",
        "si_${1}time=[TICKS]",
    ),
];

/// A set of signals as the kernel's 64-bit mask: bit N-1 for signal N.
fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

/// The names of the signals in `set`, for messages.
fn names(set: u64) -> String {
    let names: Vec<String> = (1..=64)
        .filter(|&signal| set & bit(signal) != 0)
        .map(|signal| workbook::Sig::new(signal).map_or(signal.to_string(), |sig| sig.name()))
        .collect();
    format!("[{}]", names.join(" "))
}

/// What the test chose for a run.
struct Chosen {
    /// Signals to block beside SIGUSR2.
    block: u64,
    /// A real-time signal, and the value it is queued with.
    other: i32,
    value: u64,
}

/// What the target saw, from its report (in its order).
#[derive(Debug)]
struct Report {
    tracer: u64,
    /// si_value, si_code, and whether the target itself sent it.
    other: (u64, i32, bool),
    usr1: (u64, i32, bool),
    usr2_pending: bool,
    usr2_handled: u64,
    blocked_after: u64,
    child_killed_by: i32,
}

impl Report {
    fn parse(report: &[u8]) -> Result<Report, String> {
        let mut r = Reader::new(report);
        let tracer = r.u64()?;
        let mut got = || -> Result<(u64, i32, bool), String> {
            Ok((r.u64()?, r.u64()? as i32, r.u64()? == 1))
        };
        let (other, usr1) = (got()?, got()?);
        Ok(Report {
            tracer,
            other,
            usr1,
            usr2_pending: r.u64()? == 1,
            usr2_handled: r.u64()?,
            blocked_after: r.u64()?,
            child_killed_by: r.u64()? as i32,
        })
    }
}

/// What a run gave: the lab's, and the target's report.
struct Run {
    chosen: Chosen,
    traced: Traced,
    report: Report,
}

impl Run {
    /// The lab's stderr's end, for messages.
    fn said(&self) -> String {
        tail(&self.traced.stderr())
    }
}

/// A run of the lab on the demo's target in its mailbox mode, with random
/// inputs: some of the signals its acts leave alone (never SIGKILL,
/// SIGSTOP, or glibc's 32 and 33) to block beside SIGUSR2, and a real-time
/// signal and a value to queue. The target must be traced by the lab.
fn mailbox_run() -> Run {
    let used = [
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
        libc::SIGTERM,
        libc::SIGCHLD,
        libc::SIGSEGV,
        libc::SIGKILL,
        libc::SIGSTOP,
        32,
        33,
    ];
    let realtime: Vec<i32> = (libc::SIGRTMIN()..=libc::SIGRTMAX()).collect();
    let other = realtime[(random_u64() % realtime.len() as u64) as usize];
    let may_block = (1..=64)
        .filter(|signal| !used.contains(signal) && *signal != other)
        .fold(0, |set, signal| set | bit(signal));
    let chosen = Chosen {
        block: random_u64() & may_block,
        other,
        value: random_u64(),
    };
    let target = Target::new(
        &workbook::testing::workspace_bin("signal-control"),
        "signal-lab",
        &["mailbox"],
    );
    let mut command = lab();
    command.arg("--").args(target.argv());
    let mut input = Writer::new();
    input
        .u64(chosen.block)
        .u64(chosen.other as u64)
        .u64(chosen.value);
    let traced = target.run(&mut command, &input.0);
    // No report: the target died first (of its own SIGTERM, say).
    let report = Report::parse(traced.report())
        .unwrap_or_else(|why| panic!("the target's report: {why}\n{}", tail(&traced.stderr())));
    let run = Run {
        chosen,
        traced,
        report,
    };
    assert_eq!(
        run.report.tracer,
        u64::from(run.traced.lab),
        "the target must be traced by the lab (pid {}): {:?}\n{}",
        run.traced.lab,
        run.report,
        run.said()
    );
    run
}

/// Every other signal reaches the target as it was sent: the real-time
/// signal with its random value, and its child's SIGSEGV. And the lab's
/// own default run is the demo's, line for line.
#[test]
fn the_default_run_is_the_demos() {
    let run = mailbox_run();
    let (value, code, from_itself) = run.report.other;
    assert!(
        value == run.chosen.value && code == libc::SI_QUEUE && from_itself,
        "signal {} queued with si_value {} must reach the handler as it was sent; \
         it got si_value {value}, si_code {code}, from the target itself: {from_itself}\n{}",
        run.chosen.other,
        run.chosen.value,
        run.said()
    );
    assert_eq!(
        run.report.child_killed_by,
        libc::SIGSEGV,
        "the target's child must die of its SIGSEGV\n{}",
        run.said()
    );
    let ours = Transcript::of_run(&mut lab(), ("lab-signal-control", "signal-control"))
        .redacted(SIGNAL_CONTROL);
    let demo = Transcript::of_demo("signal-control", "default_run_changes_the_targets_signals");
    ours.assert_same_as(&demo, "lab-signal-control");
}

/// PTRACE_SETSIGINFO: the handler gets 42, not the 1 that was sent, and the
/// rest of the siginfo as it was (SI_QUEUE, from the target itself). (A
/// changed copy of the siginfo that never goes back to the kernel changes
/// nothing.)
#[test]
fn the_new_value_reaches_the_handler() {
    let run = mailbox_run();
    let (value, code, from_itself) = run.report.usr1;
    assert!(
        value == 42 && code == libc::SI_QUEUE && from_itself,
        "the SIGUSR1 the target queued with si_value 1 must reach its handler with 42, \
         from the target itself; it got si_value {value}, si_code {code}, from itself: \
         {from_itself}\n{}",
        run.said()
    );
}

/// PTRACE_SETSIGMASK: SIGUSR2, blocked and pending, is delivered once the
/// tracer unblocks it, and only it: the other signals the target blocked
/// (chosen at random) stay blocked.
#[test]
fn the_pending_signal_is_delivered() {
    let run = mailbox_run();
    let report = &run.report;
    assert!(
        report.usr2_pending,
        "SIGUSR2 was not pending\n{}",
        run.said()
    );
    assert_eq!(
        report.usr2_handled,
        1,
        "SIGUSR2 must be delivered once, after SIGWINCH's stop\n{}",
        run.said()
    );
    assert_eq!(
        names(report.blocked_after),
        names(run.chosen.block),
        "after SIGWINCH's stop the target must block what it blocked, but SIGUSR2\n{}",
        run.said()
    );
}

/// Restarting with signal 0: the target's own SIGTERM never arrives, and it
/// goes on (to write its report, which a dead target never does). A SIGTERM
/// from another process, its child, still ends it.
#[test]
fn the_targets_own_sigterm_is_suppressed() {
    let run = mailbox_run();
    let stderr = run.traced.stderr();
    assert_eq!(
        run.traced.code(),
        Some(128 + libc::SIGTERM),
        "a SIGTERM from the target's child must end it\n{}",
        run.said()
    );
    assert!(
        stderr
            .lines()
            .any(|line| line.ends_with("+++ killed by SIGTERM +++")),
        "a SIGTERM from the target's child must end it\n{}",
        run.said()
    );
}
