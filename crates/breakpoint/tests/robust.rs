//! strace's behaviour as the spec: any signal passed on, Ctrl-C and
//! `kill -STOP` left to the program, vanishing and threaded tracees. With
//! no --break, the demo breaks on `main` where the program has it.

workbook::tracer_check_tests!("breakpoint");

/// The same checks with a breakpoint that is hit: libc's write, which the
/// shells' echo calls (and which goes with the old program at an execve).
mod with_a_breakpoint_on_write {
    use std::process::Command;

    use insta_cmd::get_cargo_bin;
    use workbook::testing::tracer_checks;

    fn demo() -> Command {
        let mut command = super::demo();
        command.args(["--break", "write"]);
        command
    }

    #[test]
    fn realtime_signal_reaches_its_handler() {
        tracer_checks::realtime_signal_reaches_its_handler(demo());
    }

    #[test]
    fn realtime_signal_kills_with_128_plus_n() {
        tracer_checks::realtime_signal_kills_with_128_plus_n(demo());
    }

    #[test]
    fn setxid_in_threads() {
        tracer_checks::setxid_in_threads(demo(), &get_cargo_bin("breakpoint"));
    }

    #[test]
    fn children_killed_mid_syscall() {
        tracer_checks::children_killed_mid_syscall(demo, &get_cargo_bin("breakpoint"));
    }

    #[test]
    fn fatal_signals_belong_to_the_program() {
        tracer_checks::fatal_signals_belong_to_the_program(demo);
    }

    #[test]
    fn sigstop_stops_until_sigcont() {
        let run = tracer_checks::sigstop_stops_until_sigcont(demo());
        assert!(run.contains("write (0x"), "no breakpoint on write: {run}");
    }
}
