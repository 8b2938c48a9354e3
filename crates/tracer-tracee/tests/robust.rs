//! strace's behaviour as the spec: any signal passed on, Ctrl-C and
//! `kill -STOP` left to the program, vanishing and threaded tracees.

workbook::tracer_check_tests!("tracer-tracee");

/// This tracer follows only the program: the child that clone(CLONE_PTRACE)
/// made its tracee is let go with PTRACE_DETACH, and the narration says so.
#[test]
fn a_clone_ptrace_child_is_detached() {
    let narration = workbook::testing::tracer_checks::clone_ptrace_child_runs(
        demo(),
        &insta_cmd::get_cargo_bin("tracer-tracee"),
    );
    assert!(
        narration.contains("a child the program made with CLONE_PTRACE, is our tracee")
            && narration.contains("PTRACE_DETACH, it runs untraced"),
        "{narration}"
    );
}
