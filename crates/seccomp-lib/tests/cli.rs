//! seccomp-lib on real commands and on its built-in targets: allowed calls
//! run as usual, a trapped one kills with SIGSYS (or reaches a handler),
//! the filter is inherited, and bad input or a kernel without seccomp gets
//! a one-line error.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Output};

use insta_cmd::get_cargo_bin;
use nix::sys::signal::Signal;
use workbook::snapshot::{End, Run};
use workbook::testing::{deny_syscall, redactions, redactions_per_arch, unprivileged};

/// The demo, killed if it runs past the time limit, with core dumps off
/// (`without_core_dumps`).
fn seccomp_lib() -> Command {
    let mut command = Command::new(get_cargo_bin("seccomp-lib"));
    workbook::testing::without_core_dumps(&mut command);
    workbook::testing::limited(&mut command);
    command
}

/// What a run printed and how it ended, with the signal spelt out (insta-cmd
/// shows a death by signal only as `exit_code: -1`).
fn outcome(output: &Output) -> String {
    let end = match output.status.signal() {
        Some(number) => {
            let name = Signal::try_from(number).map_or("unknown signal", Signal::as_str);
            End::Killed(format!("signal {number} ({name})"))
        }
        None => End::Exited(output.status.code().unwrap_or(-1)),
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Run {
        end,
        stdout: text(&output.stdout),
        stderr: text(&output.stderr),
    }
    .to_string()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The built-in target `name` with `args`, run by bash under the demo's
/// filter: `seccomp-lib bash -c 'exec -a builtin:NAME "$0" ARGS' seccomp-lib`.
fn target_under_the_filter(name: &str, args: &[&str]) -> Output {
    let script = std::iter::once(format!("exec -a builtin:{name} \"$0\""))
        .chain(args.iter().map(|arg| arg.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = seccomp_lib();
    command
        .args(["bash", "-c", &script])
        .arg(get_cargo_bin("seccomp-lib"));
    workbook::testing::run(&mut command)
}

/// insta settings that also redact the demo's path, as the book's command
/// line names it.
fn redactions_with_the_demo() -> insta::Settings {
    let mut settings = redactions_per_arch();
    let demo = get_cargo_bin("seccomp-lib");
    settings.add_filter(
        &regex_escape(&demo.to_string_lossy()),
        "target/debug/seccomp-lib",
    );
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' => {
                vec!['\\', c]
            }
            c => vec![c],
        })
        .collect()
}

/// The same target with no filter at all: what the filter must stop.
fn target_alone(name: &str, args: &[&str]) -> Output {
    let mut command = Command::new(get_cargo_bin("seccomp-lib"));
    command.arg0(format!("builtin:{name}")).args(args);
    workbook::testing::without_core_dumps(&mut command);
    workbook::testing::limited(&mut command);
    workbook::testing::run(&mut command)
}

#[test]
fn echo_runs_as_usual() {
    let _redactions = redactions_per_arch().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_lib().args(["echo", "hello"]));
}

#[test]
fn a_leading_double_dash_is_accepted() {
    let output = seccomp_lib()
        .args(["--", "echo", "hello"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\n");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn no_command_is_a_usage_error() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_lib());
}

/// --help and the usage error give the same ways to call it.
#[test]
fn help_shows_the_same_usage() {
    let output = workbook::testing::run(seccomp_lib().arg("--help"));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains(
            "Usage: seccomp-lib [--] <PROG> [ARGS]...\n       \
             seccomp-lib --demo | --catch | --print-filter\n"
        ),
        "{help}"
    );
    assert!(!help.contains("built-in target\n"), "{help}");
    assert_eq!(output.status.code(), Some(0));
    let output = workbook::testing::run(&mut seccomp_lib());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "usage: seccomp-lib [--] <PROG> [ARGS]... or seccomp-lib --demo | --catch | --print-filter\n"
    );
}

/// An option the demo doesn't know, before the program, is a usage error,
/// not a program to run; after the program it is the program's.
#[test]
fn unknown_options_before_the_program_are_refused() {
    let output = workbook::testing::run(seccomp_lib().args(["--bogus", "echo", "hi"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: unexpected argument '--bogus' found"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert_eq!(output.status.code(), Some(2));

    let output = workbook::testing::run(seccomp_lib().args(["echo", "-n", "--bogus"]));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "--bogus");
    assert_eq!(output.status.code(), Some(0));
}

/// mount(2) is trapped before the kernel looks at permissions: the target
/// dies of SIGSYS whether it runs as root or not.
#[test]
fn builtin_mount_is_killed_by_sigsys() {
    let _redactions = redactions_per_arch().bind_to_scope();
    let output = seccomp_lib().arg("--demo").output().unwrap();
    assert_eq!(output.status.signal(), Some(libc::SIGSYS));
    insta::assert_snapshot!(outcome(&output));
}

#[test]
fn a_sigsys_handler_sees_the_trapped_call() {
    let _redactions = redactions_per_arch().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_lib().arg("--catch"));
}

#[test]
fn exit_status_is_the_commands() {
    let output = seccomp_lib()
        .args(["sh", "-c", "echo from sh; exit 3"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "from sh\n");
    assert_eq!(output.status.code(), Some(3));
}

/// The filter survives fork and exec: a shell's child that calls mount(2)
/// dies of SIGSYS, and the shell carries on and reports it.
#[test]
fn children_inherit_the_filter() {
    let script = "(exec -a builtin:mount \"$0\"); echo \"the child's status: $?\"";
    let output = seccomp_lib()
        .args(["bash", "-c", script])
        .arg(get_cargo_bin("seccomp-lib"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "target: calling mount(2)\nthe child's status: 159\n"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn missing_program_exits_127() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(seccomp_lib().arg("no-such-program-anywhere"));
}

#[test]
fn non_executable_file_exits_126() {
    let output = seccomp_lib().arg("/dev/null").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "seccomp-lib: /dev/null: Permission denied\n"
    );
    assert_eq!(output.status.code(), Some(126));
}

/// The pseudo-code's layout differs between libseccomp versions, so this
/// checks its substance rather than snapshotting it: every syscall on the
/// list traps, everything else is allowed, and a call through another
/// architecture kills the process (KILL_PROCESS, not libseccomp's default,
/// KILL, which kills only the calling thread).
#[test]
fn print_filter_traps_every_listed_syscall() {
    let output = seccomp_lib().arg("--print-filter").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(not_skips(&String::from_utf8_lossy(&output.stderr)), "");
    let pfc = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = pfc.lines().map(str::trim).collect();
    for name in [
        "mount",
        "ptrace",
        "kexec_load",
        "bpf_is_not_listed",
        "vmsplice",
        "unshare",
        "fsopen",
        "move_mount",
        "io_uring_setup",
    ] {
        let comment = format!("# filter for syscall \"{name}\"");
        let found = lines.iter().position(|line| line.starts_with(&comment));
        if name == "bpf_is_not_listed" {
            assert!(found.is_none(), "{pfc}");
            continue;
        }
        let at = found.unwrap_or_else(|| panic!("no rule for {name}:\n{pfc}"));
        assert!(
            lines[at + 1].starts_with("if ($syscall =="),
            "{name}: {}\n{pfc}",
            lines[at + 1]
        );
        assert_eq!(lines[at + 2], "action TRAP;", "{name}\n{pfc}");
    }
    let traps = lines.iter().filter(|line| **line == "action TRAP;").count();
    assert_eq!(traps, workbook::seccomp::lecture_dangerous_here(), "{pfc}");
    assert!(lines.contains(&"action ALLOW;"), "{pfc}");
    assert!(lines.contains(&"action KILL_PROCESS;"), "{pfc}");
    assert!(!lines.contains(&"action KILL;"), "{pfc}");
    assert!(
        pfc.contains(&format!("filter for arch {}", std::env::consts::ARCH)),
        "{pfc}"
    );
}

/// A kernel without seccomp filters refuses both ways of loading one:
/// seccomp(2) is missing (ENOSYS) and prctl(PR_SET_SECCOMP) says EINVAL.
/// Two filters of the test's own stand in for such a kernel.
#[test]
fn a_kernel_without_seccomp_gets_one_line() {
    let _redactions = redactions_per_arch().bind_to_scope();
    let mut command = seccomp_lib();
    command.args(["echo", "hello"]);
    // SAFETY: the closures only call prctl, which is async-signal-safe.
    // The first filter is installed while prctl is still allowed.
    unsafe {
        command.pre_exec(deny_syscall(libc::SYS_seccomp, None, libc::ENOSYS));
        command.pre_exec(deny_syscall(
            libc::SYS_prctl,
            Some(libc::PR_SET_SECCOMP as u32),
            libc::EINVAL,
        ));
    }
    workbook::assert_limited_snapshot!(command);
}

/// Loading a filter needs no privileges (libseccomp sets no_new_privs):
/// as nobody, allowed calls run and mount(2) is still trapped.
#[test]
fn runs_as_a_non_root_user() {
    let output = unprivileged(seccomp_lib().args(["echo", "hello"]))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\n");
    assert_eq!(output.status.code(), Some(0));

    let output = unprivileged(seccomp_lib().arg("--demo")).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "target: calling mount(2)\n"
    );
    assert_eq!(output.status.signal(), Some(libc::SIGSYS));
}

/// The lecture's own run: `sudo ./sec_test mount -t bpf bpf /tmp/` prints
/// "Bad system call". As root, mount(8) would succeed without the filter.
#[test]
#[ignore = "needs root and mount"]
fn the_lectures_mount_as_root_is_killed() {
    assert!(
        is_root(),
        "this test runs mount(8) as root: run it with sudo (or as root)"
    );
    let output = seccomp_lib()
        .args(["mount", "-t", "bpf", "bpf", "/tmp/"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGSYS),
        "{}",
        outcome(&output)
    );
}

/// Without the filter, as root, the new mount API mounts a tmpfs (on /tmp,
/// in the target's own mount namespace, whose mounts it makes private
/// first): the target really does what the next tests' filter must stop.
#[test]
#[ignore = "needs root"]
fn the_new_mount_api_mounts_a_tmpfs_without_the_filter() {
    assert!(is_root(), "this test mounts a tmpfs: run it as root");
    let output = target_alone("new-mount", &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.ends_with("target: a new tmpfs is mounted on /tmp, in my own mount namespace: nothing stopped it\n"),
        "{}",
        outcome(&output)
    );
    assert_eq!(output.status.code(), Some(0), "{}", outcome(&output));
}

/// The target printed `stdout` (what it was about to call), then died of
/// SIGSYS: the filter trapped that call.
fn assert_trapped_after(output: &std::process::Output, stdout: &str) {
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        stdout,
        "{}",
        outcome(output)
    );
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGSYS),
        "{}",
        outcome(output)
    );
}

/// unshare, mount_setattr, fsopen, fsconfig, fsmount and move_mount mount a
/// tmpfs as mount(2) would: the filter traps the first, unshare, and the
/// target dies of SIGSYS, root or not (as root, without the fix, it mounts).
#[test]
fn the_new_mount_api_is_trapped_at_unshare() {
    let _redactions = redactions_with_the_demo().bind_to_scope();
    let output = target_under_the_filter("new-mount", &[]);
    insta::assert_snapshot!(outcome(&output));
    assert_trapped_after(&output, "target: unshare(CLONE_NEWNS)\n");
}

/// Without a namespace, fsopen alone starts a mount: it traps too.
#[test]
fn the_new_mount_api_is_trapped_at_fsopen() {
    let output = target_under_the_filter("new-mount", &["detached"]);
    assert_trapped_after(&output, "target: fsopen(\"tmpfs\", FSOPEN_CLOEXEC)\n");
}

/// io_uring opens files and sockets with no syscall of their own for a
/// filter to see: io_uring_setup traps, as Docker refuses it since 2023.
#[test]
fn io_uring_setup_is_trapped() {
    let output = target_under_the_filter("io-uring-setup", &[]);
    assert_trapped_after(&output, "target: io_uring_setup(8, &params)\n");
}

/// A call through `int 0x80` fails the filter's architecture check. Its
/// action must kill the whole process: libseccomp's default kills only the
/// calling thread, and the program carries on without it and exits 0.
// x86_64 only: int 0x80 and x32 are x86_64's ABIs; arm64 has neither.
#[cfg(target_arch = "x86_64")]
#[test]
fn int_0x80_in_a_thread_kills_the_whole_process() {
    // Without a filter the thread's call returns and the main thread says so.
    let alone = target_alone("int80-thread", &[]);
    assert!(
        String::from_utf8_lossy(&alone.stdout).contains("I am still here"),
        "{}",
        outcome(&alone)
    );
    assert_eq!(alone.status.code(), Some(0), "{}", outcome(&alone));

    let _redactions = redactions_with_the_demo().bind_to_scope();
    let output = target_under_the_filter("int80-thread", &[]);
    insta::assert_snapshot!(outcome(&output));
    assert_trapped_after(
        &output,
        "target: thread: getpid through int 0x80 (i386 syscall 20)\n",
    );
}

/// A kernel before 4.14 has seccomp filters but no SECCOMP_RET_KILL_PROCESS:
/// libseccomp finds out with seccomp(SECCOMP_GET_ACTION_AVAIL), which such
/// a kernel doesn't know (EINVAL; a filter of the test's own stands in for
/// it), and refuses the bad-arch action. The demo must not run the program
/// with threads only half protected: one line, and nothing is run.
#[test]
fn a_kernel_without_kill_process_gets_one_line() {
    const SECCOMP_GET_ACTION_AVAIL: u32 = 2;
    let mut command = seccomp_lib();
    command.args(["echo", "hello"]);
    // SAFETY: the closure only calls prctl, which is async-signal-safe.
    unsafe {
        command.pre_exec(deny_syscall(
            libc::SYS_seccomp,
            Some(SECCOMP_GET_ACTION_AVAIL),
            libc::EINVAL,
        ));
    }
    let output = workbook::testing::run(&mut command);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "{}",
        outcome(&output)
    );
    let stderr = not_skips(&String::from_utf8_lossy(&output.stderr));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "seccomp-lib: seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS): \
             this kernel can't kill a whole process from a filter (Linux 4.14 can)"
        ),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(1), "{}", outcome(&output));
}

/// stderr without the lines that name the lecture's calls this
/// architecture lacks (arm64: iopl, ioperm, sysfs, _sysctl, uselib,
/// modify_ldt), which seccomp-lib skips.
fn not_skips(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| !line.ends_with(": this architecture has no such syscall"))
        .map(|line| format!("{line}\n"))
        .collect()
}
