//! Grading tests for lab-seccomp-filter: your install and your `--hardened`
//! filter, judged by what the kernel does to a program of the test's own.
//!
//! Each test writes a probe (tests/common/probe.rs): a tiny program, new
//! for each run, that writes a line of random text and makes one syscall
//! chosen at random by the test (one of the lecture's four, or a harmless
//! one), through the ABI the test chose: `syscall`, `syscall` with the x32
//! bit, or `int 0x80`. The lab runs it as a command (`lab-seccomp-filter
//! [--hardened] [--action ACTION] -- PROBE`), as this test's tracee: the
//! test sees the lab's child execute the probe under a filter, with
//! NO_NEW_PRIVS set, and how its call ended: a seccomp kill, a trap (a
//! SIGSYS whose siginfo names the call), or a return with an errno. What
//! the lab prints is not what counts; the demo's own runs are compared too,
//! but never alone. The filters are installed in the lab's children, never
//! in this process. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::arch::Abi;
use workbook::testing::Transcript;

#[path = "common/probe.rs"]
mod probe;
use probe::{trace, Call, Expected, Probe, Run, Runner, HARMLESS, PROBE_PATH};

/// The four calls the lecture's filter forbids.
const FORBIDDEN: &[&str] = &[
    "open_by_handle_at",
    "delete_module",
    "get_mempolicy",
    "move_pages",
];

/// Two of them that fail with another errno than EPERM when they do run
/// (with the probe's arguments, root or not): an EPERM from them is the
/// filter's.
const NEVER_EPERM: &[&str] = &["get_mempolicy", "move_pages"];

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-seccomp-filter"));
    workbook::testing::limited(&mut command);
    command
}

/// The x32 call's answer depends on the kernel (ENOSYS where it has no x32
/// ABI, 0 where it has one): folded into one line, as the demo's snapshot
/// tests fold it.
fn fold_x32(text: &str) -> String {
    const BEFORE: &str = "(the x32 bit, 0x40000000, | 239)\ntarget: ";
    const FOLDED: &str = "the filter let it through [and the kernel ran it, or has no x32 ABI]";
    text.replace(
        &format!("{BEFORE}it ran and returned 0: the filter let it through"),
        &format!("{BEFORE}{FOLDED}"),
    )
    .replace(
        &format!("{BEFORE}the filter let it through; the kernel has no such ABI (ENOSYS)"),
        &format!("{BEFORE}{FOLDED}"),
    )
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let mut ours = Transcript::of_run(lab().args(args), ("lab-seccomp-filter", "seccomp-filter"));
    ours.stdout = fold_x32(&ours.stdout);
    let demo = Transcript::of_demo("seccomp-filter", snapshot);
    ours.assert_same_as(&demo, &format!("`lab-seccomp-filter {}`", args.join(" ")));
}

/// `lab-seccomp-filter OPTIONS -- PROBE` for a new probe making `call`, as
/// this test's tracee; panics unless the lab's child ran the probe under a
/// filter with NO_NEW_PRIVS set and its call ended as `expected`.
fn probe(options: &[&str], call: Call, expected: Expected, why: &str) -> Run {
    let probe = Probe::new(call);
    let mut command = lab();
    command.args(options).args(["--", PROBE_PATH]);
    let run = trace(command, Some(&probe));
    let (_, exec) = run.outcome(&probe, Runner::Child);
    assert_eq!(
        exec.status.no_new_privs,
        1,
        "the probe runs without NO_NEW_PRIVS (NoNewPrivs: {} in /proc/PID/status): \
         only CAP_SYS_ADMIN lets a filter in without it\n{}",
        exec.status.no_new_privs,
        run.shown()
    );
    run.assert_probe(
        &probe,
        Runner::Child,
        expected,
        &format!("`lab-seccomp-filter {}`: {why}", options.join(" ")),
    );
    run
}

/// The lecture's filter (given), installed by your no_new_privs and
/// install: one of its four calls, at random, is killed, and the same call
/// through `int 0x80` gets through (the hole); the default run is the
/// demo's (kill, mod, NO_NEW_PRIVS and the hole).
#[test]
fn the_lectures_filter_kills_its_calls_but_not_through_int_0x80() {
    let name = probe::pick(FORBIDDEN);
    probe(
        &[],
        Call::new(Abi::X86_64, name),
        Expected::Killed,
        "the lecture's filter kills it",
    );
    probe(
        &[],
        Call::new(Abi::I386, name),
        Expected::Ran,
        "the lecture's filter never reads arch, so i386 numbers get through",
    );
    same_as_demo(
        &[],
        "default_run_shows_the_kill_mod_no_new_privs_and_the_hole",
    );
}

/// Your deny_list as `--hardened`: a call of the list, at random, gets the
/// verdict (killed; trapped, SIGSYS naming it, with `--action trap`; EPERM
/// with `--action errno`), a harmless call, at random, runs; and the
/// `--hardened` run is the demo's.
#[test]
fn the_hardened_filter_gives_the_listed_calls_the_verdict() {
    probe(
        &["--hardened"],
        Call::any_of(Abi::X86_64, FORBIDDEN),
        Expected::Killed,
        "a listed call is killed",
    );
    probe(
        &["--hardened", "--action", "trap"],
        Call::any_of(Abi::X86_64, FORBIDDEN),
        Expected::Trapped,
        "a listed call gets the verdict, SECCOMP_RET_TRAP",
    );
    probe(
        &["--hardened", "--action", "errno"],
        Call::any_of(Abi::X86_64, NEVER_EPERM),
        Expected::Errno(libc::EPERM),
        "a listed call gets the verdict, SECCOMP_RET_ERRNO | EPERM",
    );
    probe(
        &["--hardened", "--action", "trap"],
        Call::any_of(Abi::X86_64, HARMLESS),
        Expected::Ran,
        "every call off the list is allowed",
    );
    same_as_demo(&["--hardened"], "hardened_closes_the_hole");
}

/// The other doors: through `int 0x80` any call (one of the lecture's four
/// or a harmless one, at random) is killed, whatever the verdict; a number
/// with the x32 bit gets the verdict, listed or not.
#[test]
fn every_abi_is_checked() {
    probe(
        &["--hardened"],
        Call::any_of(Abi::I386, FORBIDDEN),
        Expected::Killed,
        "a call through int 0x80 (AUDIT_ARCH_I386) is killed",
    );
    probe(
        &["--hardened", "--action", "errno"],
        Call::any_of(Abi::I386, FORBIDDEN),
        Expected::Killed,
        "a call through another ABI is killed, not given the verdict",
    );
    probe(
        &["--hardened", "--action", "trap"],
        Call::any_of(Abi::I386, HARMLESS),
        Expected::Killed,
        "any call through another ABI is killed, listed or not",
    );
    probe(
        &["--hardened", "--action", "trap"],
        Call::any_of(Abi::X32, FORBIDDEN),
        Expected::Trapped,
        "a number with the x32 bit gets the verdict",
    );
    probe(
        &["--hardened", "--action", "errno"],
        Call::any_of(Abi::X32, HARMLESS),
        Expected::Errno(libc::EPERM),
        "every number with the x32 bit gets the verdict, listed or not",
    );
}
