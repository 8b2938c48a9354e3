//! Grading tests for lab-signal-control: the built-in target's signals
//! changed as the demo changes them, and nobody else's. Points in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
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

#[test]
fn the_default_run_is_the_demos() {
    let ours = Transcript::of_run(&mut lab(), ("lab-signal-control", "signal-control"))
        .redacted(SIGNAL_CONTROL);
    let demo = Transcript::of_demo("signal-control", "default_run_changes_the_targets_signals");
    ours.assert_same_as(&demo, "lab-signal-control");
}

/// The default run's stdout: what the target itself saw of the changes.
fn default_run() -> (String, Option<i32>, String) {
    let output = workbook::testing::run(&mut lab());
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// PTRACE_SETSIGINFO: the handler gets 42, not the 1 that was sent. (A
/// changed copy of the siginfo that never goes back to the kernel changes
/// nothing.)
#[test]
fn the_new_value_reaches_the_handler() {
    let (stdout, _, stderr) = default_run();
    assert!(
        stdout.contains("target: my SIGUSR1 handler got si_value 42\n"),
        "the handler did not get 42:\n{stdout}\n{stderr}"
    );
}

/// PTRACE_SETSIGMASK: SIGUSR2, blocked and pending, is delivered once the
/// tracer unblocks it.
#[test]
fn the_pending_signal_is_delivered() {
    let (stdout, _, stderr) = default_run();
    assert!(
        stdout.contains("target: my SIGUSR2 handler ran: someone unblocked SIGUSR2\n"),
        "SIGUSR2 was not delivered:\n{stdout}\n{stderr}"
    );
}

/// Restarting with signal 0: the target's own SIGTERM never arrives, and
/// it goes on to the end.
#[test]
fn the_targets_own_sigterm_is_suppressed() {
    let (stdout, code, stderr) = default_run();
    assert!(
        stdout.contains("target: still here after SIGTERM\n"),
        "the SIGTERM was delivered:\n{stdout}\n{stderr}"
    );
    assert_eq!(code, Some(0), "{stderr}");
}
