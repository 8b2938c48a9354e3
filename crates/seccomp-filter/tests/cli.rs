//! seccomp-filter: the lecture's filter killing its target, why mod and
//! NO_NEW_PRIVS matter, the 32-bit and x32 hole, and --hardened closing it.

use std::os::unix::process::CommandExt;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{deny_syscall, redactions, redactions_per_arch, unprivileged};

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
    let mut settings = redactions_per_arch();
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
// x86_64 only: int 0x80 and x32 are x86_64's ABIs; arm64 has neither.
#[cfg(target_arch = "x86_64")]
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

/// `ret #0` is SECCOMP_RET_KILL_THREAD: the thread that makes the call
/// dies, and the rest of the process goes on. `--hardened` kills the
/// process. Here the built-in target runs as an arbitrary command.
#[test]
fn ret_0_kills_the_thread_and_hardened_the_process() {
    let own = get_cargo_bin("seccomp-filter");
    let run = |hardened: bool| {
        let mut command = seccomp_filter();
        if hardened {
            command.arg("--hardened");
        }
        command
            .args([
                "--",
                "bash",
                "-c",
                "exec -a builtin:forbidden-thread \"$0\"",
            ])
            .arg(&own);
        workbook::testing::run(&mut command)
    };
    let lecture = run(false);
    let stdout = String::from_utf8_lossy(&lecture.stdout);
    assert_eq!(
        stdout,
        "target: thread: calling get_mempolicy\n\
         target: main thread: the thread is gone; it never came back from the call\n\
         target: main thread: I am still here, and exit 0\n"
    );
    assert_eq!(lecture.status.code(), Some(0));

    let hardened = run(true);
    let stdout = String::from_utf8_lossy(&hardened.stdout);
    assert_eq!(stdout, "target: thread: calling get_mempolicy\n");
    let stderr = String::from_utf8_lossy(&hardened.stderr);
    assert!(stderr.contains("WTERMSIG = 31 (SIGSYS)"), "{stderr}");
    assert_eq!(hardened.status.code(), Some(128 + 31), "{stderr}");
}

/// Ctrl-C is the program's. `kill -INT 0` signals the whole process
/// group, the demo included, as a terminal's Ctrl-C does; the demo (in a
/// group of its own here, so the test is spared) holds the signal and exits
/// with the program's status: 42 from its trap, 130 when SIGINT kills it.
#[test]
fn ctrl_c_is_the_programs_and_so_is_the_exit_status() {
    let run = |script: &str| {
        let mut command = seccomp_filter();
        command.process_group(0).args(["--", "sh", "-c", script]);
        // A test run from a background job would inherit SIGINT ignored,
        // and a shell can't trap a signal ignored at its start.
        // SAFETY: signal(2) is async-signal-safe and installs no handler.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        workbook::testing::run(&mut command)
    };
    let trapped = run("trap 'echo trapped; exit 42' INT; kill -INT 0; sleep 10");
    let stderr = String::from_utf8_lossy(&trapped.stderr);
    assert_eq!(String::from_utf8_lossy(&trapped.stdout), "trapped\n");
    assert!(stderr.contains("WEXITSTATUS = 42"), "{stderr}");
    assert_eq!(trapped.status.code(), Some(42), "{stderr}");

    let killed = run("kill -INT 0; sleep 10");
    let stderr = String::from_utf8_lossy(&killed.stderr);
    assert!(stderr.contains("WTERMSIG = 2 (SIGINT)"), "{stderr}");
    assert_eq!(killed.status.code(), Some(128 + 2), "{stderr}");
}

/// A real-time signal: dash and bash number RTMIN as glibc does, 34, so
/// RTMIN+5 is 39, and a shell's `$?` would be 128 + 39.
#[test]
fn a_real_time_signal_exits_128_plus_its_number() {
    let output =
        workbook::testing::run(seccomp_filter().args(["--", "sh", "-c", "kill -s RTMIN+5 $$"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("status 0x27: WIFSIGNALED, WTERMSIG = 39 (SIGRT_7)"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(167), "{stderr}");
}

/// A program found and executable that execve still refuses: a script
/// whose #! names a file that is not executable (EACCES, 126) or not there
/// (ENOENT, 127), as a shell reports them. The failure is execvp's, in the
/// child, after the filter is in place.
#[test]
fn execvp_failures_get_the_shells_codes() {
    // Committed files: one written by the test could be open in another
    // test's forked child at exec time, and execve would say ETXTBSY.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let run = |name: &str| {
        let script = dir.join(name);
        let output = workbook::testing::run(seccomp_filter().arg("--").arg(&script));
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr, script.display().to_string())
    };
    let denied = run("not-executable-interpreter");
    let missing = run("missing-interpreter");

    let (code, stderr, script) = denied;
    assert_eq!(
        stderr.lines().last(),
        Some(format!("seccomp-filter: execvp {script}: Permission denied").as_str()),
        "{stderr}"
    );
    assert_eq!(code, Some(126), "{stderr}");
    let (code, stderr, script) = missing;
    assert_eq!(
        stderr.lines().last(),
        Some(format!("seccomp-filter: execvp {script}: No such file or directory").as_str()),
        "{stderr}"
    );
    assert_eq!(code, Some(127), "{stderr}");
}

#[test]
fn missing_program_exits_127() {
    let _settings = redactions().bind_to_scope();
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
