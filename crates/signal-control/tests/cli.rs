//! signal-control on its built-in target and on real programs: each
//! signal's siginfo and the blocked mask, the signals passed on, and the
//! built-in target's signals rewritten, unblocked and suppressed.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::redactions;

/// The demo, killed if it runs past the time limit.
fn demo() -> Command {
    let mut command = Command::new(get_cargo_bin("signal-control"));
    workbook::testing::limited(&mut command);
    command
}

/// The demo running one of its own built-in targets as a user's command,
/// named `./signal-control` so that the narration is the same everywhere.
fn demo_running(target: &str, args: &[&str]) -> Command {
    let mut command = demo();
    let exec = format!("exec -a builtin:{target} \"$0\" \"$@\"");
    command
        .args(["--", "bash", "-c", &exec, "./signal-control"])
        .args(args)
        .current_dir(workbook::testing::bin_dir());
    command
}

/// The sender's pid and uid differ from run to run and machine to machine,
/// and so may the CPU time a child used (in clock ticks).
fn settings() -> insta::Settings {
    let mut settings = redactions();
    settings.add_filter(r"si_pid=\d+", "si_pid=[PID]");
    settings.add_filter(r"si_uid=\d+", "si_uid=[UID]");
    settings.add_filter(
        r"si_(u|s)time=\d+( /\* [0-9.]+ s \*/)?",
        "si_${1}time=[TICKS]",
    );
    settings
}

#[test]
fn default_run_changes_the_targets_signals() {
    let _redactions = settings().bind_to_scope();
    workbook::assert_limited_snapshot!(demo());
}

/// A fault at a known address: SEGV_MAPERR, si_addr=0x10, passed on, and
/// the program dies of it, 128+11.
#[test]
fn segv_shows_its_address_and_exits_139() {
    let _redactions = settings().bind_to_scope();
    workbook::assert_limited_snapshot!(demo_running("segv", &[]));
}

#[test]
fn missing_program_exits_127() {
    let _redactions = settings().bind_to_scope();
    workbook::assert_limited_snapshot!(demo().args(["--", "no-such-program-anywhere"]));
}

/// The same target as a command of the user's: nothing is changed. The
/// handler gets the value sent, SIGUSR2 stays blocked, and SIGTERM kills.
#[test]
fn a_users_command_gets_its_signals_unchanged() {
    let output = workbook::testing::run(&mut demo_running("signal-lab", &[]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stdout,
        "target: sigqueue(getpid(), SIGUSR1, si_value 1)\n\
         target: my SIGUSR1 handler got si_value 1\n\
         target: SIGUSR2 blocked and raised: it is pending\n\
         target: raise(SIGWINCH)\n\
         target: my SIGUSR2 handler has not run: SIGUSR2 is still blocked\n\
         target: raise(SIGTERM), whose default action ends me\n",
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(!stderr.contains("PTRACE_SET"), "{stderr}");
    assert!(!stderr.contains("suppressed"), "{stderr}");
    assert!(
        stderr.contains("    PTRACE_GETSIGMASK: [USR2]\n    PTRACE_CONT with SIGWINCH\n"),
        "{stderr}"
    );
    assert!(stderr.ends_with("+++ killed by SIGTERM +++\n"), "{stderr}");
    workbook::testing::assert_no_orphaned_targets();
}

/// A real-time signal queued with a value: its si_value is shown, and it
/// reaches the handler as sent.
#[test]
fn queued_realtime_signal_shows_its_value() {
    let output = workbook::testing::run(&mut demo_running("sigqueue", &["36", "7"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stdout, "target: my handler of signal 36 got si_value 7\n",
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let pid = output_pid(&stderr);
    let wanted = format!(
        "--- SIGRT_4 {{si_signo=SIGRT_4, si_code=SI_QUEUE, si_pid={pid}, si_uid={}, si_int=7, si_ptr=0x7}} ---\n\
         \x20   PTRACE_GETSIGMASK: []\n\
         \x20   PTRACE_CONT with SIGRT_4\n",
        nix::unistd::getuid()
    );
    assert!(stderr.contains(&wanted), "{stderr}");
}

/// The sender of the queued signal is the program itself: the pid in the
/// first si_pid shown.
fn output_pid(stderr: &str) -> String {
    let at = stderr.find("si_pid=").expect("a si_pid") + "si_pid=".len();
    stderr[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

/// kill -USR1 from a shell at itself: SI_USER, the sender's pid and uid,
/// and the shell dies of it (128+10), as without a tracer.
#[test]
fn kill_from_a_shell_is_si_user() {
    let output = workbook::testing::run(demo().args(["--", "sh", "-c", "kill -USR1 $$"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(138), "{stderr}");
    let sender = format!("si_code=SI_USER, si_pid={}, ", output_pid(&stderr));
    assert!(
        stderr.contains("--- SIGUSR1 {si_signo=SIGUSR1, "),
        "{stderr}"
    );
    assert!(stderr.contains(&sender), "{stderr}");
    assert!(stderr.ends_with("+++ killed by SIGUSR1 +++\n"), "{stderr}");
}

/// `kill -STOP`: a group-stop, left stopped with PTRACE_LISTEN until the
/// test sends SIGCONT, which then arrives as a signal like any other.
#[test]
fn stop_signal_stops_the_program_until_sigcont() {
    let _redactions = settings().bind_to_scope();
    let transcript = workbook::testing::tracer_checks::sigstop_stops_until_sigcont(demo());
    insta::assert_snapshot!(transcript);
}
