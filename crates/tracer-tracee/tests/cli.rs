//! tracer-tracee on its built-in target and on real programs: the first
//! SIGSTOP, the exec stop, signals passed on, and the tracee's exit status.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::redactions;

/// The demo, killed if it runs past the time limit.
fn tracer() -> Command {
    let mut command = Command::new(get_cargo_bin("tracer-tracee"));
    workbook::testing::limited(&mut command);
    command
}

#[test]
fn builtin_target_gets_its_signal() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(tracer());
}

#[test]
fn exit_status_is_the_tracees() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(tracer().args([
        "--",
        "sh",
        "-c",
        "echo from the tracee; exit 3"
    ]));
}

#[test]
fn killed_tracee_gives_128_plus_signal() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(tracer().args(["--", "sh", "-c", "kill -TERM $$"]));
}

/// `kill -STOP`: the signal is passed on, and the group-stop it causes is
/// left alone until the test sends SIGCONT.
#[test]
fn stop_signal_stops_the_program_until_sigcont() {
    let _redactions = redactions().bind_to_scope();
    let transcript = workbook::testing::tracer_checks::sigstop_stops_until_sigcont(tracer());
    insta::assert_snapshot!(transcript);
}

#[test]
fn missing_program_exits_127() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(tracer().args(["--", "no-such-program-anywhere"]));
}

#[test]
fn non_executable_file_exits_126() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(tracer().args(["--", "/dev/null"]));
}

/// A real pipeline: its output and status come through unchanged.
#[test]
fn shell_pipeline_runs_as_without_a_tracer() {
    let script = "printf 'b\\na\\nc\\n' | sort | head -n 2; exit 5";
    let traced = tracer().args(["sh", "-c", script]).output().unwrap();
    let plain = Command::new("sh").args(["-c", script]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&traced.stdout), "a\nb\n");
    assert_eq!(traced.stdout, plain.stdout);
    assert_eq!(traced.status.code(), Some(5));
}

#[test]
fn ls_runs_as_without_a_tracer() {
    let traced = tracer().args(["ls", "-d", "/", "/proc"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&traced.stdout), "/\n/proc\n");
    assert_eq!(traced.status.code(), Some(0));
}

/// Only the main thread is traced; the other threads' signals go straight
/// to them, and all four handlers run.
#[test]
fn multi_threaded_target() {
    let own_binary = get_cargo_bin("tracer-tracee");
    let output = tracer()
        .args(["bash", "-c", "exec -a builtin:threads \"$0\""])
        .arg(&own_binary)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "target: 4 threads raised SIGUSR1, the handler ran 4 times\n"
    );
    assert_eq!(output.status.code(), Some(0));
}

/// Under `strace -f` the child is traced already, so its PTRACE_TRACEME
/// fails; the parent must report the unexpected status and leave no child.
#[test]
#[ignore = "needs strace"]
fn unexpected_first_status_is_reported() {
    let output = workbook::testing::limited(&mut Command::new("strace"))
        .args(["-f", "-qq", "-o", "/dev/null"])
        .arg(get_cargo_bin("tracer-tracee"))
        .output()
        .expect("strace is installed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("child: ptrace(traceme) failed: EPERM"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tracer-tracee: unexpected wait status: 0x100 (exited with status 1)"),
        "{stderr}"
    );
}

/// The Rust runtime ignores SIGPIPE; the demos restore the default, so the
/// programs they run die quietly when their reader goes away, as in a shell.
#[test]
fn sigpipe_is_default_in_the_tracee() {
    let output = tracer()
        .args(["sh", "-c", "yes | head -n 1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "y\n");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(output.status.code(), Some(0));
}
