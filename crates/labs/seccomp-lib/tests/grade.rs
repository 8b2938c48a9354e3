//! Grading tests for lab-seccomp-lib: the deny-list must run as the demo
//! does, and the allow-list must let echo and true run and trap the rest.
//! The filters are loaded by the lab (which then becomes the program),
//! never by this process. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use insta_cmd::get_cargo_bin;
use workbook::testing::Transcript;

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

/// Your deny_list is the lecture's: echo runs, and a trapped mount(2)
/// reaches the sigsys target's SIGSYS handler.
#[test]
fn the_deny_list_runs_as_under_the_demo() {
    same_as_demo(&["echo", "hello"], "echo_runs_as_usual");
    same_as_demo(&["--catch"], "a_sigsys_handler_sees_the_trapped_call");
}

fn shown(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Under your allow_list of your echo_needs, echo and true run as usual.
#[test]
fn echo_and_true_run_under_the_allow_list() {
    for (args, stdout) in [
        (&["--allow-list", "echo", "hello"][..], "hello\n"),
        (
            &["--allow-list", "--", "/bin/echo", "-n", "two words"],
            "two words",
        ),
        (&["--allow-list", "true"], ""),
    ] {
        let output = workbook::testing::run(lab().args(args));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            shown(&output)
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout), stdout, "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("syscalls allowed, every other one traps with SIGSYS"),
            "{args:?}: {stderr}"
        );
    }
}

/// A call off the list traps: the built-in target `mount` dies of SIGSYS.
#[test]
fn a_call_off_the_allow_list_traps() {
    let output = workbook::testing::run(lab().args(["--allow-list", "--demo"]));
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGSYS),
        "the mount target must die of SIGSYS: {}",
        shown(&output)
    );
}

/// `--allow-list --print-filter` shows your policy as libseccomp's
/// pseudo-code: ALLOW rules for the calls echo needs, none for mount or
/// the lecture's dangerous calls, and TRAP by default.
#[test]
fn the_allow_list_traps_by_default() {
    let output = workbook::testing::run(lab().args(["--allow-list", "--print-filter"]));
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    let pfc = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = pfc.lines().map(str::trim).collect();
    let default = lines
        .iter()
        .position(|line| *line == "# default action")
        .unwrap_or_else(|| panic!("no default action in:\n{pfc}"));
    assert_eq!(lines.get(default + 1), Some(&"action TRAP;"), "{pfc}");
    assert!(
        lines[..default]
            .iter()
            .filter(|line| line.starts_with("action "))
            .all(|rule| *rule == "action ALLOW;"),
        "every rule allows: {pfc}"
    );
    for name in ["execve", "write", "exit_group"] {
        assert!(
            pfc.contains(&format!("# filter for syscall \"{name}\"")),
            "{name} is needed: {pfc}"
        );
    }
    for &name in workbook::seccomp::LECTURE_DANGEROUS {
        assert!(
            !pfc.contains(&format!("# filter for syscall \"{name}\"")),
            "{name} must not be allowed: {pfc}"
        );
    }
}
