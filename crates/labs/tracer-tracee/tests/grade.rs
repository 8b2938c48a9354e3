//! Grading tests for lab-tracer-tracee: the lab must run as the demo does.
//! Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::Transcript;

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-tracer-tracee"));
    workbook::testing::limited(&mut command);
    command
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let ours = Transcript::of_run(lab().args(args), ("lab-tracer-tracee", "tracer-tracee"));
    let demo = Transcript::of_demo("tracer-tracee", snapshot);
    ours.assert_same_as(&demo, &format!("lab-tracer-tracee {}", args.join(" ")));
}

#[test]
fn the_builtin_target_runs_as_under_the_demo() {
    same_as_demo(&[], "builtin_target_gets_its_signal");
}

#[test]
fn the_programs_exit_status_is_the_demos() {
    same_as_demo(
        &["--", "sh", "-c", "echo from the tracee; exit 3"],
        "exit_status_is_the_tracees",
    );
    same_as_demo(
        &["--", "sh", "-c", "kill -TERM $$"],
        "killed_tracee_gives_128_plus_signal",
    );
}

/// Programs that are there but that execve refuses: the child's execvp
/// fails, and the exit status is the shell's (127 for ENOENT, 126 else).
#[test]
fn a_program_execvp_refuses_exits_126_or_127() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for (script, code, reason) in [
        ("missing-interpreter", 127, "No such file or directory"),
        ("not-executable-interpreter", 126, "Permission denied"),
    ] {
        let output = workbook::testing::run(lab().arg("--").arg(data.join(script)));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{script}: {stderr}");
        assert!(
            stderr.contains(reason),
            "{script}: the reason is not given: {stderr}"
        );
        assert!(
            stderr.contains(script),
            "{script}: the program is not named: {stderr}"
        );
    }
}

/// Under a tracer that makes PTRACE_TRACEME fail (the demo syscall-blocker,
/// which follows the fork), the child exits 1 and the parent must refuse
/// that first status, not carry on.
#[test]
fn a_stop_other_than_sigstop_is_refused() {
    let blocker = workbook::testing::workspace_bin("syscall-blocker");
    let mut command = Command::new(blocker);
    command
        .args(["--block", "ptrace", "--"])
        .arg(get_cargo_bin("lab-tracer-tracee"));
    let output = workbook::testing::run(&mut command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unexpected wait status: 0x100 (exited with status 1)"),
        "first_stop must refuse the status of a child that exited 1: {stderr}"
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
}
