//! write-rewriter on its built-in target and on a shell: every write(2)
//! buffer read with process_vm_readv (or PTRACE_PEEKDATA) and rewritten.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{assert_no_orphaned_targets, redactions};

/// The demo, killed if it runs past the time limit.
fn rewriter() -> Command {
    let mut command = Command::new(get_cargo_bin("write-rewriter"));
    workbook::testing::limited(&mut command);
    command
}

#[test]
fn default_run() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter());
    assert_no_orphaned_targets();
}

#[test]
fn peek_run() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter().arg("--peek"));
}

#[test]
fn shell_writes_to_stdout_and_stderr() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter().args([
        "--",
        "sh",
        "-c",
        "echo hello; echo oops >&2"
    ]));
}

#[test]
fn missing_program_exits_127() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter().args(["--", "no-such-program-anywhere"]));
}

#[test]
fn the_tracees_output_really_is_rewritten() {
    let output = rewriter().args(["--", "echo", "hello"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "AAAAA\n");
    assert_eq!(output.status.code(), Some(0));
}

/// Children are followed: the writes of a forked process are rewritten too,
/// and the exit status is the first process's.
#[test]
fn children_are_followed() {
    let output = rewriter()
        .args(["--", "sh", "-c", "/bin/echo child; echo parent; exit 4"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "AAAAA\nAAAAAA\n");
    assert_eq!(output.status.code(), Some(4));
}

/// A tracee killed by a signal gives 128+N, as in a shell.
#[test]
fn killed_tracee_gives_128_plus_signal() {
    let output = rewriter()
        .args(["--", "sh", "-c", "kill -KILL $$"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(137));
}

/// Signals are passed on: the shell's trap runs.
#[test]
fn signals_are_passed_on() {
    let output = rewriter()
        .args(["--", "sh", "-c", "trap 'echo trapped' USR1; kill -USR1 $$"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "AAAAAAA\n");
    assert_eq!(output.status.code(), Some(0));
}
