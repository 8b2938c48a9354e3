//! Grading tests for lab-refuse-trace: the lab must run as the demo does.
//! Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::os::unix::process::CommandExt;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{bin_dir, deny_syscall, workspace_bin, Transcript};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-refuse-trace"));
    workbook::testing::limited(&mut command);
    command
}

/// The lab's run of `command`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(command: &mut Command, snapshot: &str) {
    let mut ours = Transcript::of_run(command, ("lab-refuse-trace", "refuse-trace"));
    // The snapshots name the test binary, the demo's parent, as [TEST].
    if let Ok(comm) = std::fs::read_to_string("/proc/self/comm") {
        ours.stderr = ours.stderr.replace(comm.trim_end(), "[TEST]");
    }
    let demo = Transcript::of_demo("refuse-trace", snapshot);
    ours.assert_same_as(
        &demo,
        &format!("{command:?} (the demo's snapshot {snapshot})"),
    );
}

#[test]
fn untraced_it_says_hello() {
    same_as_demo(&mut lab(), "untraced_it_says_hello");
}

#[test]
fn under_tracer_tracee_it_refuses() {
    let mut tracer = Command::new(workspace_bin("tracer-tracee"));
    workbook::testing::limited(&mut tracer);
    tracer
        .current_dir(bin_dir())
        .args(["--", "./lab-refuse-trace"]);
    same_as_demo(&mut tracer, "under_tracer_tracee_it_refuses");
}

/// PTRACE_TRACEME refused by a seccomp filter, as a container may do: the
/// refusal, with the errno as it came, and no tracer in /proc/self/status.
#[test]
fn a_refusal_without_a_tracer_names_nobody() {
    for (errno, name) in [
        (libc::EPERM, "EPERM (Operation not permitted)"),
        (libc::ENOSYS, "ENOSYS (Function not implemented)"),
    ] {
        let mut command = lab();
        // SAFETY: the closure only calls prctl, which is async-signal-safe.
        unsafe { command.pre_exec(deny_syscall(libc::SYS_ptrace, Some(0), errno)) };
        let output = workbook::testing::run(&mut command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "DO NOT PTRACE ME!!!\n",
            "{stderr}"
        );
        assert_eq!(
            stderr,
            format!(
                "refuse-trace: PTRACE_TRACEME failed with {name}\n\
                 refuse-trace: no tracer is listed in /proc/self/status\n"
            ),
            "TracerPid is 0 here: nobody traces the lab"
        );
    }
}
