//! seccomp-filter: the lecture's filter killing its target, why mod and
//! NO_NEW_PRIVS matter, the 32-bit and x32 hole, and --hardened closing it.

use std::os::unix::process::CommandExt;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{deny_syscall, redactions, unprivileged};

/// The demo, killed if it runs past the time limit.
fn seccomp_filter() -> Command {
    let mut command = Command::new(get_cargo_bin("seccomp-filter"));
    workbook::testing::limited(&mut command);
    command
}

/// The x32 call's answer depends on the kernel: ENOSYS where it has no
/// x32 ABI (most distributions), 0 where it does. Either way the lecture's
/// filter let it through.
fn settings() -> insta::Settings {
    let mut settings = redactions();
    settings.add_filter(
        r"(\(the x32 bit, 0x40000000, \| 239\)\ntarget: )(it ran and returned 0: the filter let it through|the filter let it through; the kernel has no such ABI \(ENOSYS\))",
        "${1}the filter let it through [and the kernel ran it, or has no x32 ABI]",
    );
    settings
}

#[test]
fn default_run_shows_the_kill_mod_no_new_privs_and_the_hole() {
    let _settings = settings().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_filter());
}

#[test]
fn hardened_closes_the_hole() {
    let _settings = settings().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_filter().arg("--hardened"));
}

#[test]
fn action_errno_lets_the_target_see_eperm() {
    let _settings = settings().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_filter().args(["--action", "errno"]));
}

#[test]
fn action_trap_delivers_sigsys() {
    let output = seccomp_filter()
        .args(["--action", "trap"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/* SECCOMP_RET_TRAP */"), "{stderr}");
    assert!(stderr.contains("WTERMSIG = 31 (SIGSYS)"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn a_command_that_makes_no_forbidden_call_runs() {
    let _settings = settings().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_filter().args([
        "--",
        "sh",
        "-c",
        "echo hello; exit 3"
    ]));
}

/// The hole is in the filter, not in the built-in target: any program that
/// uses int 0x80 gets through, here the target started by a shell.
#[test]
fn the_hole_holds_for_any_command() {
    let own = get_cargo_bin("seccomp-filter");
    let run = |hardened: bool| {
        let mut command = seccomp_filter();
        if hardened {
            command.arg("--hardened");
        }
        command
            .args(["--", "bash", "-c", "exec -a builtin:bypass \"$0\" i386"])
            .arg(&own)
            .output()
            .unwrap()
    };
    let open = run(false);
    assert!(String::from_utf8_lossy(&open.stdout).contains("the filter let it through"));
    assert_eq!(open.status.code(), Some(0));
    let closed = run(true);
    assert!(!String::from_utf8_lossy(&closed.stdout).contains("returned"));
    assert_eq!(closed.status.code(), Some(128 + 31));
}

#[test]
fn missing_program_exits_127() {
    let _settings = settings().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_filter().args(["--", "no-such-program-anywhere"]));
}

#[test]
fn unknown_action_is_refused() {
    let output = seccomp_filter()
        .args(["--action", "explode"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'explode'"));
}

/// A kernel without seccomp filters answers ENOSYS (or EINVAL).
#[test]
fn kernel_without_seccomp_is_named() {
    let mut command = seccomp_filter();
    // SAFETY: the closure only calls prctl, which is async-signal-safe.
    unsafe { command.pre_exec(deny_syscall(libc::SYS_seccomp, None, libc::ENOSYS)) };
    let output = command.args(["--", "true"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let error = stderr.lines().last().unwrap_or_default();
    assert_eq!(
        error,
        "seccomp-filter: seccomp(SECCOMP_SET_MODE_FILTER): ENOSYS (Function not implemented): \
         this kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER)"
    );
}

/// Everything works the same for a user without privileges.
#[test]
fn default_run_as_an_unprivileged_user() {
    let mut command = seccomp_filter();
    unprivileged(&mut command);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("without PR_SET_NO_NEW_PRIVS: EACCES"),
        "{stderr}"
    );
    assert!(
        stderr.contains("a shell would say \"Bad system call\""),
        "{stderr}"
    );
    assert!(stderr.contains("with mod: EINVAL"), "{stderr}");

    let mut command = seccomp_filter();
    unprivileged(&mut command);
    let output = command
        .args(["--", "sh", "-c", "echo hello"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\n");
    assert!(output.status.success());
}
