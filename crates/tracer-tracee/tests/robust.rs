//! strace's behaviour as the spec: any signal passed on, Ctrl-C and
//! `kill -STOP` left to the program, vanishing and threaded tracees.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::tracer_checks as check;

/// The demo, killed if it runs past the time limit.
fn demo() -> Command {
    let mut command = Command::new(get_cargo_bin("tracer-tracee"));
    workbook::testing::limited(&mut command);
    command
}

#[test]
fn realtime_signal_reaches_its_handler() {
    check::realtime_signal_reaches_its_handler(demo());
}

#[test]
fn realtime_signal_kills_with_128_plus_n() {
    check::realtime_signal_kills_with_128_plus_n(demo());
}

#[test]
fn setxid_in_threads() {
    check::setxid_in_threads(demo(), &get_cargo_bin("tracer-tracee"));
}

#[test]
fn children_killed_mid_syscall() {
    check::children_killed_mid_syscall(demo, &get_cargo_bin("tracer-tracee"));
}

#[test]
fn threads_under_load() {
    check::threads_under_load(demo, &get_cargo_bin("tracer-tracee"));
}

#[test]
fn fatal_signals_belong_to_the_program() {
    check::fatal_signals_belong_to_the_program(demo);
}

#[test]
fn sigstop_stops_until_sigcont() {
    check::sigstop_stops_until_sigcont(demo());
}
