//! signal-control's own flags and the command's: an unknown flag before
//! the command is refused, everything from the command's name on is the
//! command's.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::redactions;

/// The demo, killed if it runs past the time limit.
fn demo() -> Command {
    let mut command = Command::new(get_cargo_bin("signal-control"));
    workbook::testing::limited(&mut command);
    command
}

#[test]
fn unknown_flag_is_refused() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(demo().args(["--mask", "USR1", "--", "true"]));
}

#[test]
fn the_commands_own_flags_are_passed_on() {
    for (args, stdout) in [
        (&["--", "sh", "-c", "echo ok"][..], "ok\n"),
        (&["sh", "-c", "echo ok"], "ok\n"),
        (&["--", "sh", "-c", "echo ok --version"], "ok --version\n"),
    ] {
        workbook::testing::command_runs_as_given(demo(), args, stdout);
    }
}
