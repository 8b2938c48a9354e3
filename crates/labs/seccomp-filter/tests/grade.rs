//! Grading tests for lab-seccomp-filter: the lab must run as the demo does,
//! with the lecture's filter and with `--hardened`, and the hardened filter
//! must stop the forbidden call through every ABI. The filters are
//! installed in the lab's children, never in this process. Each test's
//! points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::Transcript;

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

/// The lecture's filter (given) installed by your no_new_privs and install:
/// the kill, mod, NO_NEW_PRIVS (as an unprivileged user) and the hole.
#[test]
fn the_lectures_run_is_the_demos() {
    same_as_demo(
        &[],
        "default_run_shows_the_kill_mod_no_new_privs_and_the_hole",
    );
}

/// Your deny_list as `--hardened`: the listing and every target's end.
#[test]
fn the_hardened_run_is_the_demos() {
    same_as_demo(&["--hardened"], "hardened_closes_the_hole");
}

/// The built-in target `target` (with `arg`) run as an arbitrary command
/// under `--hardened` and `extra`: its exit code and stdout.
fn hardened(extra: &[&str], target: &str, arg: &str) -> (Option<i32>, String, String) {
    let exec = format!("exec -a builtin:{target} \"$0\" {arg}");
    let output = workbook::testing::run(
        lab()
            .arg("--hardened")
            .args(extra)
            .args(["--", "bash", "-c", &exec])
            .arg(get_cargo_bin("lab-seccomp-filter")),
    );
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// get_mempolicy through the x86_64 ABI, through int 0x80 (i386 numbers,
/// AUDIT_ARCH_I386) and with the x32 bit: each one is stopped. With
/// `--action errno` the x86_64 and x32 calls fail with EPERM instead (the
/// verdict), and a call through another ABI is still killed. Allowed calls
/// go through.
#[test]
fn every_abi_is_checked() {
    const SIGSYS: Option<i32> = Some(128 + 31);
    for (target, arg) in [("forbidden", ""), ("bypass", "i386"), ("bypass", "x32")] {
        let (code, stdout, stderr) = hardened(&[], target, arg);
        assert!(
            !stdout.contains("let it through"),
            "{target} {arg}: {stdout}"
        );
        assert_eq!(
            code, SIGSYS,
            "{target} {arg}: killed by SIGSYS\n{stdout}{stderr}"
        );
    }

    let (code, stdout, stderr) = hardened(&["--action", "errno"], "bypass", "x32");
    assert!(
        stdout.contains("Operation not permitted"),
        "x32 with --action errno: the call fails with EPERM\n{stdout}{stderr}"
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (code, stdout, stderr) = hardened(&["--action", "errno"], "bypass", "i386");
    assert_eq!(
        code, SIGSYS,
        "int 0x80 with --action errno: another ABI is killed\n{stdout}{stderr}"
    );

    let output =
        workbook::testing::run(lab().args(["--hardened", "--", "sh", "-c", "echo hello; exit 3"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello\n",
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(3), "{stderr}");
}
