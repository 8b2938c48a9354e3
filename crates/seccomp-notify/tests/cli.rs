//! seccomp-notify on its built-in target, on real programs, with --trace
//! and --redirect, and on bad input: every run a snapshot of the real
//! binary (stdout, stderr, exit code), redacted and time-limited.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{redactions, redactions_per_arch};

/// The demo, killed if it runs past the time limit, in this package's
/// folder (the fixtures are named from there).
fn notify() -> Command {
    let mut command = Command::new(get_cargo_bin("seccomp-notify"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    workbook::testing::limited(&mut command);
    command
}

#[test]
fn default_run_blocks_socket_only() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify());
}

/// Only the calls the filter sends to the supervisor are shown: socket.
#[test]
fn trace_of_the_builtin_target() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().arg("--trace"));
}

/// ls can't read the directory: getdents64 fails, as under strace's
/// `-e inject=getdents64:error=EPERM`.
#[test]
fn ls_with_getdents64_blocked() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args(["--block", "getdents64", "--", "ls", "/"]));
}

/// A pipeline: every process of it has the filter (fork and exec keep
/// it), so the uname in the subshell and the one after the pipe fail.
#[test]
fn a_shell_pipeline_with_another_errno() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args([
        "--block",
        "uname",
        "--errno",
        "EACCES",
        "--",
        "sh",
        "-c",
        "echo one | cat; (uname) | wc -l; uname -s || echo failed; exit 7",
    ]));
}

/// --trace reads the path argument from the program's memory
/// (/proc/PID/mem); unlinkat has three arguments, all shown.
#[test]
fn trace_shows_the_path_it_read() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args([
        "--trace",
        "--block",
        "unlinkat",
        "--",
        "rm",
        "/no/such/dir/file"
    ]));
}

/// A name is blocked in every ABI, each by its own number: the built-in
/// target `abis` calls socket through `syscall`, `int 0x80` and x32. (Run
/// from the binaries' folder, so that the command line names no path of
/// this machine.)
#[test]
fn every_abi_is_blocked() {
    let own = get_cargo_bin("seccomp-notify");
    let mut settings = redactions_per_arch();
    // bash may look its user up before it execs the target (getpwuid, as
    // an ordinary user here): glibc then asks nscd, on a socket of its own
    // (AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC), which is blocked
    // too. That is bash's, not the target's: left out.
    settings.add_filter(
        r"socket\(0x1, 0x80801, 0x0\) = -1 EPERM \(Operation not permitted\) \(blocked\)\n",
        "",
    );
    let _redactions = settings.bind_to_scope();
    workbook::assert_limited_snapshot!(notify()
        .current_dir(own.parent().expect("the binary's folder"))
        .args([
            "--trace",
            "--block",
            "socket",
            "--",
            "bash",
            "-c",
            "exec -a builtin:abis \"$0\"",
            "./seccomp-notify",
        ]));
}

/// cat opens a path that does not exist; the supervisor opens the fixture
/// instead and puts it into cat's fd table (SECCOMP_IOCTL_NOTIF_ADDFD).
#[test]
fn redirect_hands_the_program_our_file() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args([
        "--redirect",
        "/no/such/greeting=tests/fixtures/greeting.txt",
        "--",
        "cat",
        "/no/such/greeting",
    ]));
}

/// The redirected open, in the trace: the fd cat got, and whose it is.
#[test]
fn redirect_in_the_trace() {
    let output = workbook::testing::run(notify().args([
        "--trace",
        "--redirect",
        "/no/such/greeting=tests/fixtures/greeting.txt",
        "--",
        "cat",
        "/no/such/greeting",
    ]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let wanted = "openat(AT_FDCWD, \"/no/such/greeting\", 0x0) = 3 \
                  (an fd of tests/fixtures/greeting.txt, added by the supervisor)";
    assert!(stderr.lines().any(|line| line == wanted), "{stderr}");
    // Every other open ran as the kernel runs it.
    assert!(
        stderr.contains("(continued: the kernel runs it)"),
        "{stderr}"
    );
}

/// OTHER can't be opened: the program's open fails with our errno.
#[test]
fn redirect_to_a_missing_file_fails_the_open() {
    let output = workbook::testing::run(notify().args([
        "--redirect",
        "/no/such/greeting=/no/such/other",
        "--",
        "cat",
        "/no/such/greeting",
    ]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cat: /no/such/greeting: No such file or directory"),
        "{stderr}"
    );
}

/// The child's own execve goes through the filter too.
#[test]
fn blocking_execve_means_the_program_never_starts() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args(["--block", "execve", "--", "/bin/true"]));
}

#[test]
fn unknown_syscall_gets_suggestions() {
    let _redactions = redactions_per_arch().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args(["--block", "sockt"]));
}

#[test]
fn unknown_errno_is_refused() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args(["--block", "socket", "--errno", "ENOPE"]));
}

#[test]
fn sendmsg_is_refused_with_the_reason() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args(["--block", "sendmsg", "--", "true"]));
}

#[test]
fn malformed_redirect_is_refused() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args([
        "--redirect",
        "/etc/hostname",
        "--",
        "true"
    ]));
}

#[test]
fn missing_program_exits_127() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args(["--", "no-such-program-anywhere"]));
}

#[test]
fn not_executable_exits_126() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(notify().args(["--", "tests/fixtures/not-executable.txt"]));
}

/// Killed by a signal: 128+N, as a shell reports it.
#[test]
fn killed_program_exits_128_plus_n() {
    let output = workbook::testing::run(notify().args([
        "--block",
        "uname",
        "--",
        "sh",
        "-c",
        "kill -KILL $$",
    ]));
    assert_eq!(output.status.code(), Some(137));
}

/// A child of the program that outlives it is waited for, as strace -f
/// waits for it: its calls go on being answered until it ends.
#[test]
fn a_background_child_is_served_to_its_end() {
    let output = workbook::testing::run(notify().args([
        "--block",
        "uname",
        "--",
        "sh",
        "-c",
        "(sleep 0.3; uname || echo late uname failed) & exit 0",
    ]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout, "late uname failed\n");
    assert_eq!(output.status.code(), Some(0));
}

/// Threads of one process share its filter: each thread's call comes to
/// the one listener, and each is answered.
#[test]
fn threads_are_all_supervised() {
    let own = get_cargo_bin("seccomp-notify");
    let output = workbook::testing::run(
        notify()
            .args([
                "--trace",
                "--block",
                "getppid",
                "--",
                "bash",
                "-c",
                "exec -a builtin:threads \"$0\"",
            ])
            .arg(&own),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "target: 4 threads raised SIGUSR1, the handler ran 4 times\n",
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
