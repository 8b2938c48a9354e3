//! Grading tests for lab-syscall-blocker: the lab must run as the demo does,
//! and a blocked call must fail without running. Each test's points are in
//! lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{tracer_checks, Transcript};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-syscall-blocker"));
    workbook::testing::limited(&mut command);
    command
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let ours = Transcript::of_run(lab().args(args), ("lab-syscall-blocker", "syscall-blocker"));
    let demo = Transcript::of_demo("syscall-blocker", snapshot);
    ours.assert_same_as(&demo, &format!("`lab-syscall-blocker {}`", args.join(" ")));
}

/// The built-in target's socket fails with EPERM, at every syscall stop and
/// at the stop a seccomp filter asks for.
#[test]
fn the_default_run_is_the_demos() {
    same_as_demo(&[], "default_run_blocks_socket_only");
    same_as_demo(
        &["--seccomp", "--trace"],
        "seccomp_trace_shows_only_the_filtered_calls",
    );
}

/// A blocked write must not happen: the program sees it fail, and nothing
/// reaches stdout. (A call whose result alone is changed has run.)
#[test]
fn a_blocked_call_does_not_run() {
    for extra in [&[][..], &["--seccomp"][..]] {
        let output = workbook::testing::run(lab().args(["--block", "write"]).args(extra).args([
            "--",
            "/bin/echo",
            "hi",
        ]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "",
            "{extra:?}: the blocked write ran: {stderr}"
        );
        assert_eq!(output.status.code(), Some(1), "{extra:?}: {stderr}");
    }
}

/// The program sees the errno asked for, whichever it is, and a blocked
/// execve keeps the program from starting.
#[test]
fn the_program_sees_the_errno_asked_for() {
    let output = workbook::testing::run(lab().args(["--block", "socket", "--errno", "EACCES"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("target: socket: failed: Permission denied (os error 13)\n"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    same_as_demo(
        &["--block", "execve", "--", "/bin/true"],
        "blocking_execve_means_the_program_never_starts",
    );
}

/// Signals reach the program's handlers: a trapped SIGUSR1, and a
/// real-time signal.
#[test]
fn signals_reach_the_program() {
    let script = "trap 'echo caught' USR1; kill -USR1 $$; echo after; exit 3";
    let output = workbook::testing::run(lab().args(["--", "bash", "-c", script]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "caught\nafter\n",
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    tracer_checks::realtime_signal_reaches_its_handler(lab());
}
