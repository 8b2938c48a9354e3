//! Grading tests for lab-seccomp-lib: your deny-list and allow-list, judged
//! by what the kernel does to programs the test trusts.
//!
//! The lab loads the filter and becomes the program (execvp), as this
//! test's tracee: the test sees that execve, checks that the program runs
//! under a filter, and how it ends. The programs are /bin/echo and
//! /bin/true with words chosen at random, and a probe (the seccomp-filter
//! lab's tests/common/probe.rs): a tiny program, new for each run, that
//! writes a line of random text and makes one syscall chosen at random by
//! the test. A trapped call shows as a SIGSYS whose siginfo (si_code
//! SYS_SECCOMP, si_syscall) names it; a kill shows no SIGSYS at all. What
//! the lab prints is not what counts; the demo's own runs are compared too,
//! but never alone. The filters are loaded by the lab, never by this
//! process. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::arch::Abi;
use workbook::testing::Transcript;

#[path = "../../seccomp-filter/tests/common/probe.rs"]
mod probe;
use probe::{
    identity_of, random_word, trace, Call, End, Expected, Probe, Runner, DANGEROUS, HARMLESS,
    PROBE_PATH,
};

/// The lab, killed if it runs past the time limit, with core dumps off
/// (`without_core_dumps`).
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-seccomp-lib"));
    workbook::testing::without_core_dumps(&mut command);
    workbook::testing::limited(&mut command);
    command
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let ours = Transcript::of_run(lab().args(args), ("lab-seccomp-lib", "seccomp-lib"));
    let demo = Transcript::of_demo("seccomp-lib", snapshot);
    ours.assert_same_as(&demo, &format!("`lab-seccomp-lib {}`", args.join(" ")));
}

/// `lab-seccomp-lib OPTIONS -- PROBE`, the probe making `call`, as this
/// test's tracee; panics unless the lab became the probe under a filter and
/// the call ended as `expected`.
fn probe(options: &[&str], call: Call, expected: Expected, why: &str) {
    let probe = Probe::new(call);
    let mut command = lab();
    command.args(options).args(["--", PROBE_PATH]);
    let run = trace(command, Some(&probe));
    run.assert_probe(
        &probe,
        Runner::Itself,
        expected,
        &format!("`lab-seccomp-lib {}`: {why}", options.join(" ")),
    );
}

/// `lab-seccomp-lib OPTIONS -- PROGRAM ARGS`, as this test's tracee: the lab
/// became PROGRAM, under a filter, and PROGRAM printed `stdout` and exited 0.
fn runs_as_usual(options: &[&str], program: &str, args: &[&str], stdout: &str) {
    let mut command = lab();
    command.args(options).arg("--").arg(program).args(args);
    let run = trace(command, None);
    run.exec_of(identity_of(program), Runner::Itself, program);
    assert_eq!(
        run.ends.get(&run.root),
        Some(&End::Exited(0)),
        "{program} must run as usual and exit 0\n{}",
        run.shown()
    );
    assert_eq!(run.stdout, stdout, "{program}'s output\n{}", run.shown());
}

/// Your deny_list is the lecture's: a dangerous call, at random, traps
/// (SIGSYS, naming it), a harmless one runs, and `/bin/echo` with random
/// words runs as usual; `echo hello` and `--catch` are the demo's.
#[test]
fn the_deny_list_traps_the_dangerous_calls() {
    probe(
        &[],
        Call::any_of(Abi::X86_64, DANGEROUS),
        Expected::Trapped,
        "the lecture's calls trap (SCMP_ACT_TRAP)",
    );
    probe(
        &[],
        Call::any_of(Abi::X86_64, HARMLESS),
        Expected::Ran,
        "a call off the list is allowed (SCMP_ACT_ALLOW by default)",
    );
    let words = format!("{} {}", random_word(12), random_word(8));
    runs_as_usual(&[], "/bin/echo", &[&words], &format!("{words}\n"));
    same_as_demo(&["echo", "hello"], "echo_runs_as_usual");
    same_as_demo(&["--catch"], "a_sigsys_handler_sees_the_trapped_call");
}

/// Under your allow_list of your echo_needs, /bin/echo (with random words,
/// with and without -n) and /bin/true run as usual; and it is an
/// allow-list: a harmless call that echo never makes, at random, traps
/// (the default is SCMP_ACT_TRAP, not allow, not kill).
#[test]
fn echo_and_true_run_under_the_allow_list() {
    let (one, two) = (random_word(10), random_word(14));
    runs_as_usual(
        &["--allow-list"],
        "/bin/echo",
        &[&one, &two],
        &format!("{one} {two}\n"),
    );
    let words = format!("{two} {one}");
    runs_as_usual(&["--allow-list"], "/bin/echo", &["-n", &words], &words);
    runs_as_usual(&["--allow-list"], "/bin/true", &[], "");
    probe(
        &["--allow-list"],
        Call::any_of(Abi::X86_64, HARMLESS),
        Expected::Trapped,
        "every call nobody listed traps",
    );
}

/// Under the allow-list, a call of the lecture's dangerous list, at random,
/// traps: SIGSYS, naming it.
#[test]
fn a_dangerous_call_traps_under_the_allow_list() {
    probe(
        &["--allow-list"],
        Call::any_of(Abi::X86_64, DANGEROUS),
        Expected::Trapped,
        "a call off the allow-list traps",
    );
}
