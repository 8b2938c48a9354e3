//! refuse-trace says hello when nobody traces it and refuses under every
//! tracer: this workspace's tracer-tracee, strace and gdb.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{bin_dir, redactions, workspace_bin};

const REFUSAL: &str = "DO NOT PTRACE ME!!!\n";

#[test]
fn untraced_it_says_hello() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(Command::new(get_cargo_bin("refuse-trace")));
}

#[test]
fn under_tracer_tracee_it_refuses() {
    let _redactions = redactions().bind_to_scope();
    let tracer = workspace_bin("tracer-tracee");
    workbook::assert_limited_snapshot!(Command::new(tracer)
        .current_dir(bin_dir())
        .args(["--", "./refuse-trace"]));
}

#[test]
fn unknown_arguments_are_refused() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(Command::new(get_cargo_bin("refuse-trace")).arg("--bogus"));
}

#[test]
#[ignore = "needs strace"]
fn under_strace_it_refuses() {
    let output = workbook::testing::limited(&mut Command::new("strace"))
        .args(["-o", "/dev/null"])
        .arg(get_cargo_bin("refuse-trace"))
        .output()
        .expect("strace is installed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "strace failed: {stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), REFUSAL);
    assert!(
        stderr.contains("(strace)"),
        "the tracer is not named: {stderr}"
    );
}

#[test]
#[ignore = "needs gdb"]
fn under_gdb_it_refuses() {
    let output = workbook::testing::limited(&mut Command::new("gdb"))
        .args(["-q", "-batch", "-nx", "-ex", "run", "--args"])
        .arg(get_cargo_bin("refuse-trace"))
        .output()
        .expect("gdb is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "gdb failed: {stdout}{stderr}");
    assert!(stdout.contains(REFUSAL), "no refusal under gdb: {stdout}");
    assert!(!stdout.contains("Hello world!"), "greeted gdb: {stdout}");
    assert!(
        stderr.contains("(gdb)"),
        "the tracer is not named: {stderr}"
    );
}
