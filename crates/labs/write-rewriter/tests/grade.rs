//! Grading tests for lab-write-rewriter: the lab must run as the demo does,
//! rewriting every write(2) buffer, read-only ones too. Each test's points
//! are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{assert_no_orphaned_targets, Transcript};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-write-rewriter"));
    workbook::testing::limited(&mut command);
    command
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let ours = Transcript::of_run(lab().args(args), ("lab-write-rewriter", "write-rewriter"));
    let demo = Transcript::of_demo("write-rewriter", snapshot);
    ours.assert_same_as(&demo, &format!("`lab-write-rewriter {}`", args.join(" ")));
}

/// The built-in target writes from the stack, the heap, a string literal
/// in read-only .rodata (process_vm_writev fails there: PTRACE_POKEDATA),
/// to stderr, and from a buffer that runs into an unmapped page.
#[test]
fn the_default_run_is_the_demos() {
    same_as_demo(&[], "default_run");
    assert_no_orphaned_targets();
}

/// The same, with the buffers read by PTRACE_PEEKDATA (given) and written
/// by your calls.
#[test]
fn the_peek_run_is_the_demos() {
    same_as_demo(&["--peek"], "peek_run");
}

/// A shell's writes, to stdout and to stderr, in the shell and in a child
/// it forks.
#[test]
fn a_shells_writes_are_rewritten() {
    same_as_demo(
        &["--", "sh", "-c", "echo hello; echo oops >&2"],
        "shell_writes_to_stdout_and_stderr",
    );
    let output = workbook::testing::run(lab().args([
        "--",
        "sh",
        "-c",
        "/bin/echo child; echo parent; exit 4",
    ]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "AAAAA\nAAAAAA\n",
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(4), "{stderr}");
}

/// One valid 3 MiB write is read and rewritten whole: every byte but the
/// final newline is an 'A'.
#[test]
fn a_long_write_is_rewritten_whole() {
    const LONG: usize = 3 << 20;
    let output = workbook::testing::run(
        lab()
            .args(["--", "bash", "-c", "exec -a builtin:hostile \"$0\" long"])
            .arg(get_cargo_bin("lab-write-rewriter")),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(output.stdout.len(), LONG, "stderr:\n{stderr}");
    let a_count = output.stdout.iter().filter(|&&byte| byte == b'A').count();
    assert_eq!(a_count, LONG - 1, "stderr:\n{stderr}");
    assert_eq!(output.stdout.last(), Some(&b'\n'));
}
