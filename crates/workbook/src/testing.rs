//! Shared pieces of the demos' snapshot tests: redaction filters and a way
//! to find the workspace's other binaries.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// insta settings that redact what differs between runs and machines:
/// pids, addresses, tick counts, measured times, and the test binary's own
/// name (it carries a build hash).
pub fn redactions() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"\bpid \d+", "pid [PID]");
    settings.add_filter(r"0x[0-9a-f]{9,}", "[ADDR]");
    settings.add_filter(r"\btick \d+", "tick [N]");
    settings.add_filter(r"\b\d+\.\d+ ?(ns|µs|us|ms|s)\b", "[TIME]");
    if let Ok(comm) = fs::read_to_string("/proc/self/comm") {
        settings.add_filter(&regex_escape(comm.trim_end()), "[TEST]");
    }
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// The directory cargo put this test's binaries in (target/debug).
pub fn bin_dir() -> PathBuf {
    let test_exe = std::env::current_exe().expect("current_exe");
    // target/debug/deps/TEST-HASH -> target/debug
    test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/PROFILE/deps")
        .to_path_buf()
}

/// Another package's binary from this workspace. `cargo test --workspace`
/// builds them all; a test run for one package builds the one it needs.
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "--package", name, "--bin", name]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.status().expect("running cargo build");
    assert!(status.success(), "cargo build -p {name} failed");
    assert!(
        path.is_file(),
        "{} is missing after cargo build",
        path.display()
    );
    path
}

/// Fails if a built-in target outlived its demo: an orphan (reparented to
/// init) whose argv[0] starts with `builtin:`.
pub fn assert_no_orphaned_targets() {
    let mut orphans = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !cmdline.starts_with(b"builtin:") {
            continue;
        }
        let ppid = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let after_comm = stat.rsplit_once(')')?.1.to_string();
                after_comm.split_whitespace().nth(1)?.parse::<u32>().ok()
            });
        if ppid == Some(1) {
            orphans.push(format!("{pid} {}", String::from_utf8_lossy(&cmdline)));
        }
    }
    assert!(
        orphans.is_empty(),
        "built-in targets left behind: {orphans:?}"
    );
}

/// A seccomp filter, for a test's child process only, that makes syscall
/// `nr` fail with `errno` — when `first_arg` is given, only for calls whose
/// first argument is that value. It stands in for what a container or a
/// locked-down kernel would refuse: install it with `Command::pre_exec`.
pub fn deny_syscall(
    nr: i64,
    first_arg: Option<u32>,
    errno: i32,
) -> impl Fn() -> std::io::Result<()> {
    use crate::bpf::{bpf_jump, bpf_stmt};
    use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    const ARCH: u32 = 4;
    const ARG0: u32 = 16;
    let deny = libc::SECCOMP_RET_ERRNO | errno as u32;
    let allow = libc::SECCOMP_RET_ALLOW;
    let mut filter = vec![
        bpf_stmt(BPF_LD | BPF_W | BPF_ABS, ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, crate::arch::AUDIT_ARCH, 1, 0),
        bpf_stmt(BPF_RET | BPF_K, allow),
        bpf_stmt(BPF_LD | BPF_W | BPF_ABS, 0),
    ];
    match first_arg {
        None => filter.push(bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1)),
        Some(arg) => {
            filter.push(bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 3));
            filter.push(bpf_stmt(BPF_LD | BPF_W | BPF_ABS, ARG0));
            filter.push(bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, arg, 0, 1));
        }
    }
    filter.push(bpf_stmt(BPF_RET | BPF_K, deny));
    filter.push(bpf_stmt(BPF_RET | BPF_K, allow));
    move || {
        let program = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: `program` points at `filter`, alive for both calls; prctl
        // is async-signal-safe, as pre_exec requires.
        let installed = unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
                && libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &program) == 0
        };
        if installed {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

/// The uid and gid of `nobody`, which tests switch to when they run as root.
pub const NOBODY: u32 = 65534;

/// Makes `command` run without privileges: as `nobody` when the test runs
/// as root, as the test's own user otherwise. Either way the demo runs
/// unprivileged, so the test means the same on every machine.
pub fn unprivileged(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if nix::unistd::geteuid().is_root() {
        command.uid(NOBODY).gid(NOBODY);
    }
    command
}

/// How long any one run of a demo may take in a test. A tracer that hangs
/// fails its test after this long, not after CI's 90 minutes.
pub const TIME_LIMIT_SECS: u32 = 60;

/// Arms a time limit for `command`: alarm(2) in the child, just before it
/// executes. An alarm survives execve, so the demo itself gets SIGALRM after
/// `TIME_LIMIT_SECS` and dies of it; PTRACE_O_EXITKILL then takes its tracees
/// along. Forked children don't inherit the alarm, so only the demo is timed.
/// For `assert_cmd_snapshot!(limited(&mut command))`; a hang then shows as a
/// snapshot whose exit is SIGALRM. Use `run` for a clear panic message.
pub fn limited(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: alarm(2) is async-signal-safe and touches no memory.
    unsafe {
        command.pre_exec(|| {
            libc::alarm(TIME_LIMIT_SECS);
            Ok(())
        });
    }
    command
}

/// Runs `command` to completion under the time limit and returns its
/// output; panics with a message naming the command if it ran past it.
pub fn run(command: &mut Command) -> std::process::Output {
    use std::os::unix::process::ExitStatusExt;
    let shown = format!("{command:?}");
    let output = limited(command)
        .output()
        .unwrap_or_else(|error| panic!("could not start {shown}: {error}"));
    if output.status.signal() == Some(libc::SIGALRM) {
        panic!(
            "{shown} ran past the {TIME_LIMIT_SECS} s time limit (a hang?); stderr so far:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// `insta_cmd::assert_cmd_snapshot!` under the time limit: the demo is
/// killed after `TIME_LIMIT_SECS`, and the test says so. Takes a `Command`
/// or a `&mut Command`.
#[macro_export]
macro_rules! assert_limited_snapshot {
    ($command:expr $(,)?) => {{
        let note = $crate::testing::TimeLimitNote(::std::time::Instant::now());
        ::insta_cmd::assert_cmd_snapshot!($crate::testing::limited(
            <_ as ::std::borrow::BorrowMut<::std::process::Command>>::borrow_mut(&mut $command)
        ));
        ::std::mem::forget(note);
    }};
}

/// Says, when a snapshot assertion fails, whether the time limit was why.
#[doc(hidden)]
pub struct TimeLimitNote(pub std::time::Instant);

impl Drop for TimeLimitNote {
    fn drop(&mut self) {
        if self.0.elapsed().as_secs() >= u64::from(TIME_LIMIT_SECS) {
            eprintln!(
                "the demo ran past the {TIME_LIMIT_SECS} s time limit and was killed (a hang?)"
            );
        }
    }
}
