//! syscall-blocker's own flags and the command's: a misspelt flag before the
//! command is refused as clap refuses any unknown flag, while everything
//! from the command's name on belongs to the command.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::redactions;

/// The demo, killed if it runs past the time limit.
fn blocker() -> Command {
    let mut command = Command::new(get_cargo_bin("syscall-blocker"));
    workbook::testing::limited(&mut command);
    command
}

/// `--blok` is not run as a program (that was "command not found", 127):
/// clap names it, suggests `--block`, and exits with 2.
#[test]
fn misspelt_flag_is_refused_with_a_suggestion() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(blocker().args(["--blok", "socket", "--", "true"]));
}

#[test]
fn unknown_short_flag_is_refused() {
    let output = workbook::testing::run(blocker().args(["-x", "--", "true"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: unexpected argument '-x' found"),
        "{stderr}"
    );
}

/// The command's own flags, after `--` or right after its name, are its.
/// (Only stdout and the exit code are checked: the narration on stderr is
/// the tracing tests' business.)
#[test]
fn the_commands_own_flags_are_passed_on() {
    for (args, stdout) in [
        (&["--", "sh", "-c", "echo ok"][..], "ok\n"),
        (&["sh", "-c", "echo ok"], "ok\n"),
        (&["--block", "socket", "sh", "-c", "echo ok"], "ok\n"),
        (
            &["--block", "socket", "--", "sh", "-c", "echo ok --block"],
            "ok --block\n",
        ),
    ] {
        workbook::testing::command_runs_as_given(blocker(), args, stdout);
    }
}
