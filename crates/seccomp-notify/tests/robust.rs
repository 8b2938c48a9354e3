//! strace's behaviour as the spec: any signal passed on, Ctrl-C and
//! `kill -STOP` left to the program, vanishing and threaded processes, no
//! process left behind.
//!
//! Every shared tracer check applies as it is: seccomp-notify traces
//! nothing with ptrace, so the checks that are about ptrace (CLONE_PTRACE
//! children, group-stops) check that the program runs as it would without
//! us, which is what they ask of a tracer too.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::tracer_checks as check;

workbook::tracer_check_tests!("seccomp-notify");

/// The demo with every open sent to the supervisor (--redirect of a path
/// nobody opens): each answered with CONTINUE, so the program runs as it
/// would without us, and the supervisor is busy throughout.
fn supervising() -> Command {
    let mut command = demo();
    command.args(["--redirect", "/no/such/path=/dev/null", "--block", "uname"]);
    command
}

#[test]
fn supervising_realtime_signals_and_threads() {
    let own = get_cargo_bin("seccomp-notify");
    check::realtime_signal_reaches_its_handler(supervising());
    check::realtime_signal_kills_with_128_plus_n(supervising());
    check::setxid_in_threads(supervising(), &own);
    check::children_killed_mid_syscall(supervising, &own);
    check::clone_parent_child_is_reaped(supervising(), &own);
}

#[test]
fn supervising_leaves_signals_and_stops_to_the_program() {
    check::fatal_signals_belong_to_the_program(supervising);
    check::sigstop_stops_until_sigcont(supervising());
}

#[test]
fn supervising_threads_under_load_and_busy_threads() {
    let own = get_cargo_bin("seccomp-notify");
    check::threads_under_load(supervising, &own);
    check::busy_threads_are_served_fairly(supervising, &own);
}

/// With --trace the narration says more than a pipe holds while the
/// program's non-blocking stderr is not read: it must wait, not fail.
#[test]
fn trace_mode_waits_for_a_nonblocking_stderr() {
    let mut traced = supervising();
    traced.arg("--trace");
    let _said =
        check::narration_waits_for_a_nonblocking_stderr(traced, &get_cargo_bin("seccomp-notify"));
}
