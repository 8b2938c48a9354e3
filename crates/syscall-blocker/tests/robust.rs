//! strace's behaviour as the spec: any signal passed on, Ctrl-C and
//! `kill -STOP` left to the program, vanishing and threaded tracees.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::tracer_checks as check;

workbook::tracer_check_tests!("syscall-blocker");

/// The same with a seccomp filter in front.
fn seccomp_demo() -> Command {
    let mut command = demo();
    command.args(["--seccomp", "--block", "uname"]);
    command
}

#[test]
fn seccomp_mode_realtime_signals_and_threads() {
    let own = get_cargo_bin("syscall-blocker");
    check::realtime_signal_reaches_its_handler(seccomp_demo());
    check::realtime_signal_kills_with_128_plus_n(seccomp_demo());
    check::setxid_in_threads(seccomp_demo(), &own);
    check::children_killed_mid_syscall(seccomp_demo, &own);
}

#[test]
fn seccomp_mode_leaves_signals_and_stops_to_the_program() {
    check::fatal_signals_belong_to_the_program(seccomp_demo);
    check::sigstop_stops_until_sigcont(seccomp_demo());
}

/// With --trace the printer says more than a pipe holds (64 KiB) while the
/// program's non-blocking stderr is not read: it must wait, not fail.
#[test]
fn trace_mode_waits_for_a_nonblocking_stderr() {
    let mut traced = demo();
    traced.arg("--trace");
    let said =
        check::narration_waits_for_a_nonblocking_stderr(traced, &get_cargo_bin("syscall-blocker"));
    assert!(said > 65536, "only {said} bytes of narration");
}

/// With --trace, the same under the printer.
#[test]
fn trace_mode_survives_vanishing_children() {
    let own = get_cargo_bin("syscall-blocker");
    let traced = || {
        let mut command = demo();
        command.arg("--trace");
        command
    };
    check::children_killed_mid_syscall(traced, &own);
}
