//! tracer-tracee's own flags and the command's: a flag it doesn't have,
//! before the command, is refused as clap refuses any unknown flag, while
//! everything from the command's name on belongs to the command.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::redactions;

/// The demo, killed if it runs past the time limit.
fn tracer() -> Command {
    let mut command = Command::new(get_cargo_bin("tracer-tracee"));
    workbook::testing::limited(&mut command);
    command
}

/// `--blok` is not run as a program (that was "command not found", 127):
/// clap names it, says how to pass it to the command instead, and exits
/// with 2.
#[test]
fn unknown_flag_is_refused() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(tracer().args(["--blok", "socket", "--", "true"]));
}

/// A misspelling of a flag it has gets clap's suggestion.
#[test]
fn misspelt_flag_gets_a_suggestion() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(tracer().args(["--verison", "--", "true"]));
}

/// The command's own flags, after `--` or right after its name, are its.
/// (Only stdout and the exit code are checked: the narration on stderr is
/// the tracing tests' business.)
#[test]
fn the_commands_own_flags_are_passed_on() {
    for (args, stdout) in [
        (&["--", "sh", "-c", "echo ok"][..], "ok\n"),
        (&["sh", "-c", "echo ok"], "ok\n"),
        (&["--", "sh", "-c", "echo ok --version"], "ok --version\n"),
    ] {
        workbook::testing::command_runs_as_given(tracer(), args, stdout);
    }
}
