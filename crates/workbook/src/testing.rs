//! Shared pieces of the demos' snapshot tests: redaction filters and a way
//! to find the workspace's other binaries.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// What differs between runs and machines, and what stands for it:
/// pids, addresses, tick counts, measured times.
const REDACTIONS: [(&str, &str); 4] = [
    (r"\bpid \d+", "pid [PID]"),
    (r"0x[0-9a-f]{9,}", "[ADDR]"),
    (r"\btick \d+", "tick [N]"),
    (r"\b\d+\.\d+ ?(ns|µs|us|ms|s)\b", "[TIME]"),
];

/// insta settings that redact what differs between runs and machines:
/// pids, addresses, tick counts, measured times, and the test binary's own
/// name (it carries a build hash).
pub fn redactions() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    for (pattern, replacement) in REDACTIONS {
        settings.add_filter(pattern, replacement);
    }
    if let Ok(comm) = fs::read_to_string("/proc/self/comm") {
        settings.add_filter(&regex_escape(comm.trim_end()), "[TEST]");
    }
    settings
}

/// `redactions()`, for a snapshot whose output depends on the CPU
/// architecture (register names, syscall numbers, instruction bytes, the
/// ABIs there are): on x86_64 it is `NAME.snap`, the one the book shows;
/// on arm64 `NAME@aarch64.snap`, beside it.
pub fn redactions_per_arch() -> insta::Settings {
    let mut settings = redactions();
    if !cfg!(target_arch = "x86_64") {
        settings.set_snapshot_suffix(std::env::consts::ARCH);
    }
    settings
}

/// The workspace's top directory, from this crate's manifest.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/workbook lies two levels down")
        .to_path_buf()
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
    // Run outside cargo (scripts/grade runs copies of the test binaries),
    // the binaries were put beside the test: nothing to build.
    if std::env::var_os("CARGO").is_none() && path.is_file() {
        return path;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "--package", name, "--bin", name]);
    // Into this test's own target directory, wherever CARGO_TARGET_DIR
    // points now (scripts/labs runs the tests without it).
    if let Some(target_dir) = bin_dir().parent() {
        build.arg("--target-dir").arg(target_dir);
    }
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
        let parent = crate::procfs::Status::of(nix::unistd::Pid::from_raw(pid as i32))
            .ok()
            .and_then(|status| status.parent());
        if parent == Some(nix::unistd::Pid::from_raw(1)) {
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
pub fn limited(command: &mut std::process::Command) -> &mut std::process::Command {
    limited_to(command, TIME_LIMIT_SECS)
}

/// `limited`, with a limit of `secs` seconds instead of `TIME_LIMIT_SECS`:
/// for a test that knows its run takes a second or two, so that a hang
/// fails it soon.
pub fn limited_to(command: &mut std::process::Command, secs: u32) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: alarm(2) is async-signal-safe and touches no memory.
    unsafe {
        command.pre_exec(move || {
            libc::alarm(secs);
            Ok(())
        });
    }
    command
}

/// `command` without address randomization (`trace::no_address_randomization`,
/// inherited by what it starts): for a test that counts a program's calls
/// and needs the same count every run. Best effort: a container's seccomp
/// profile may refuse personality(ADDR_NO_RANDOMIZE), and the run then goes
/// on randomized.
pub fn without_address_randomization(
    command: &mut std::process::Command,
) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: personality(2) is a plain syscall that touches no memory.
    unsafe {
        command.pre_exec(|| {
            let _ = crate::trace::no_address_randomization();
            Ok(())
        });
    }
    command
}

/// `command` with `fd`, a descriptor of this process, as its descriptor 3
/// (an `--attach-fd 3`, a probe at /proc/self/fd/3), open across its
/// execve: dup2, or where `fd` is 3 already, its close-on-exec flag
/// cleared (dup2 of 3 onto itself would leave the flag set).
pub fn with_descriptor_3(
    command: &mut std::process::Command,
    fd: std::os::fd::RawFd,
) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: dup2 and fcntl are async-signal-safe and touch no memory.
    unsafe {
        command.pre_exec(move || {
            let moved = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            match moved {
                -1 => Err(std::io::Error::last_os_error()),
                _ => Ok(()),
            }
        });
    }
    command
}

/// Runs `command` to completion under the time limit and returns its
/// output; panics with a message naming the command if it ran past it.
pub fn run(command: &mut std::process::Command) -> std::process::Output {
    run_within(command, TIME_LIMIT_SECS)
}

/// `run`, with a limit of `secs` seconds: for a run known to be long (a
/// whole program single-stepped takes seconds here, minutes in an
/// emulated VM).
pub fn run_within(command: &mut std::process::Command, secs: u32) -> std::process::Output {
    use std::os::unix::process::ExitStatusExt;
    let shown = format!("{command:?}");
    let output = limited_to(command, secs)
        .output()
        .unwrap_or_else(|error| panic!("could not start {shown}: {error}"));
    if output.status.signal() == Some(libc::SIGALRM) {
        panic!(
            "{shown} ran past the {secs} s time limit (a hang?); stderr so far:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// `size` random bytes from the kernel (getrandom): the per-run inputs of
/// grading tests, which nobody can know in advance.
pub fn random_bytes(size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    let mut done = 0;
    while done < size {
        // SAFETY: getrandom writes at most `size - done` bytes at that place.
        let got = unsafe { libc::getrandom(bytes[done..].as_mut_ptr().cast(), size - done, 0) };
        assert!(got > 0, "getrandom: {}", std::io::Error::last_os_error());
        done += got as usize;
    }
    bytes
}

/// A random 64-bit number (`random_bytes`).
pub fn random_u64() -> u64 {
    let bytes: [u8; 8] = random_bytes(8).try_into().expect("8 bytes");
    u64::from_ne_bytes(bytes)
}

/// Makes this process non-dumpable: no process of the same uid can then
/// ptrace it, read or write its memory, or open its `/proc/PID/fd`. A
/// grading test starts the student's program as a child; sealed, the test
/// is out of that program's reach, so the test's exit status, which is its
/// result, is the test's own. (The grader also runs the test binary
/// execute-only, which seals it too while `fs.suid_dumpable` is 0.) A
/// child the test forks without exec inherits the seal and must lift it
/// (`prctl(PR_SET_DUMPABLE, 1)`) if the lab is to trace it.
pub fn seal_this_process() {
    // SAFETY: prctl with integer arguments touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}

/// In a grading test file: seals the test process (`seal_this_process`)
/// before any test runs, from a constructor of the test binary itself, so
/// the seal holds whichever test runs and whatever it calls first.
#[macro_export]
macro_rules! seal_grading_tests {
    () => {
        #[used]
        #[link_section = ".init_array"]
        static SEAL_GRADING_TESTS: extern "C" fn() = {
            extern "C" fn seal() {
                $crate::testing::seal_this_process();
            }
            seal
        };
    };
}

/// `command` with core dumps off: a process killed by SIGSYS (a seccomp
/// trap) would otherwise leave a core file wherever the kernel's
/// core_pattern says. The limit is 1, not 0: a core_pattern that pipes to a
/// program ignores 0, and the kernel takes 1 to mean "no dump" there too.
pub fn without_core_dumps(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and reads only `none`.
    unsafe {
        command.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            if libc::setrlimit(libc::RLIMIT_CORE, &none) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
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

/// Checks every tracer demo must pass, whatever else it does: strace's
/// behaviour is the spec. Each takes the demo's command (time-limited, as
/// the tests' factories make it) and runs a program under it.
pub mod tracer_checks {
    use std::io::{BufRead, BufReader, Read};
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use nix::sys::signal::{kill, killpg, Signal};
    use nix::unistd::Pid;

    use super::run;
    use crate::snapshot::{End, Run};

    /// How a demo passes the program's stdout on.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Shown {
        /// As the program wrote it: every tracer but one.
        AsWritten,
        /// Every byte of a write but a final newline turned into 'A'
        /// (write-rewriter).
        AsAs,
    }

    static SHOWN: std::sync::OnceLock<Shown> = std::sync::OnceLock::new();

    /// Says, once per test binary, how its demo shows stdout
    /// (`tracer_check_tests!` does, from its `shown = ...`).
    pub fn demo_shows(shown: Shown) {
        let set = *SHOWN.get_or_init(|| shown);
        assert_eq!(set, shown, "one demo per test binary");
    }

    /// What the program's `text` on stdout looks like under the demo.
    fn as_shown(text: &str) -> String {
        if SHOWN.get().copied().unwrap_or(Shown::AsWritten) == Shown::AsWritten {
            return text.to_string();
        }
        text.split_inclusive('\n')
            .map(|line| {
                let body = line.trim_end_matches('\n');
                "A".repeat(body.len()) + &line[body.len()..]
            })
            .collect()
    }

    fn under(mut demo: Command, program: &[&str]) -> Command {
        demo.arg("--").args(program);
        demo
    }

    fn builtin(demo: Command, target: &str, own_binary: &std::path::Path) -> Command {
        let exec = format!("exec -a builtin:{target} \"$0\" \"$@\"");
        let mut command = under(demo, &["bash", "-c", &exec]);
        command.arg(own_binary);
        command
    }

    /// A real-time signal (bash's RTMIN is 34, strace's SIGRT_2) reaches
    /// the program's handler, and the program's own status is the demo's.
    pub fn realtime_signal_reaches_its_handler(demo: Command) {
        let script = "trap 'echo caught' RTMIN; kill -s RTMIN $$; echo after; exit 3";
        let wanted = as_shown("caught\nafter\n");
        let output = run(&mut under(demo, &["bash", "-c", script]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(String::from_utf8_lossy(&output.stdout), wanted, "{stderr}");
        assert_eq!(output.status.code(), Some(3), "{stderr}");
    }

    /// Killed by signal 39 (RTMIN+5): 128+39, as a shell reports it.
    pub fn realtime_signal_kills_with_128_plus_n(demo: Command) {
        let output = run(&mut under(demo, &["bash", "-c", "kill -s RTMIN+5 $$"]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(167), "{stderr}");
    }

    /// setgid() in a threaded program: glibc signals every thread with
    /// SIGRT_1, and the program exits while they sleep.
    pub fn setxid_in_threads(demo: Command, own_binary: &std::path::Path) {
        let wanted = as_shown("target: setgid(getgid()) in a process of 5 threads: done\n");
        let output = run(&mut builtin(demo, "setxid", own_binary));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(String::from_utf8_lossy(&output.stdout), wanted, "{stderr}");
        assert_eq!(output.status.code(), Some(0), "{stderr}");
    }

    /// 500 children SIGKILLed in the middle of their syscalls, three times:
    /// a tracee that vanishes after its stop is no error.
    pub fn children_killed_mid_syscall(demo: impl Fn() -> Command, own_binary: &std::path::Path) {
        for round in 0..3 {
            let wanted = as_shown("target: forked and killed 500 children\n");
            let output = run(&mut builtin(demo(), "kill-children", own_binary));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(0), "round {round}: {stderr}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                wanted,
                "round {round}: {stderr}"
            );
        }
    }

    /// clone(CLONE_PARENT) makes a child of the tracer's: the tracer must reap
    /// it (waitpid(-1)), or the program, waiting for it to go, never ends.
    pub fn clone_parent_child_is_reaped(demo: Command, own_binary: &std::path::Path) {
        let wanted = as_shown("target: my CLONE_PARENT sibling was reaped by my parent\n");
        let output = run(&mut builtin(demo, "clone-parent", own_binary));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(String::from_utf8_lossy(&output.stdout), wanted, "{stderr}");
        assert_eq!(output.status.code(), Some(0), "{stderr}");
    }

    /// clone(CLONE_PTRACE) makes the program's child a tracee of the demo's,
    /// stopped before it runs; the demo must let it run (strace, with or
    /// without -f, does), or the program, waiting for it, hangs.
    pub fn clone_ptrace_child_runs(demo: Command, own_binary: &std::path::Path) -> String {
        let wanted = as_shown(
            "target: the CLONE_PTRACE child runs\ntarget: my CLONE_PTRACE child exited with 7\n",
        );
        let output = run(&mut builtin(demo, "clone-ptrace", own_binary));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(String::from_utf8_lossy(&output.stdout), wanted, "{stderr}");
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        stderr.into_owned()
    }

    /// The threaded target, many times, while two other processes keep both
    /// CPUs busy: the teardown must never wait for a thread it lost.
    pub fn threads_under_load(demo: impl Fn() -> Command, own_binary: &std::path::Path) {
        let mut load: Vec<Child> = (0..2)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
                    .expect("sh")
            })
            .collect();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for round in 0..20 {
                let output = run(&mut builtin(demo(), "threads", own_binary));
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert_eq!(output.status.code(), Some(0), "round {round}: {stderr}");
            }
        }));
        for spinner in &mut load {
            let _ = spinner.kill();
            let _ = spinner.wait();
        }
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }

    /// Busy threads must not starve the others (strace serves every
    /// tracee in turn and finishes each case in well under a second): the
    /// first of 31 threads must get to run while 30 newer ones make
    /// syscalls without pause; so must a thread started after them; execve
    /// from one of 100 busy threads must go through; and a process whose 8
    /// threads write without pause must die of its child's SIGKILL (137).
    pub fn busy_threads_are_served_fairly(
        demo: impl Fn() -> Command,
        own_binary: &std::path::Path,
    ) {
        let cases = [
            (
                "first-thread",
                "target: the first thread ran, and stopped the 30 busy ones started after it\n",
            ),
            (
                "late-thread",
                "target: the thread started last ran, and stopped the 30 busy ones\n",
            ),
            (
                "exec",
                "target: execve from one of 100 busy threads: done\n",
            ),
        ];
        for (case, wanted) in cases {
            let mut command = builtin(demo(), "crowd", own_binary);
            let output = run(command.arg(case));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(0), "crowd {case}: {stderr}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                as_shown(wanted),
                "crowd {case}: {stderr}"
            );
        }
        let mut command = builtin(demo(), "crowd", own_binary);
        let output = run(command.arg("kill-writers").stdout(Stdio::null()));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(137),
            "crowd kill-writers: {stderr}"
        );
    }

    /// A demo started by `exec` from a shell that had a child running
    /// (`cmd &`, or a `2> >(tee log)`) inherits that child. It is not the
    /// demo's to kill, nor to wait for: the demo ends with its program, and
    /// the child runs on.
    pub fn an_inherited_child_is_left_alone(demo: Command) {
        let script = "sleep 30 >/dev/null 2>&1 & echo $!; exec \"$0\" \"$@\" -- true";
        let mut command = Command::new("bash");
        command
            .args(["-c", script])
            .arg(demo.get_program())
            .args(demo.get_args());
        let started = Instant::now();
        let output = run(&mut command);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let sleeper = stdout.lines().next().and_then(|pid| pid.parse().ok());
        let sleeper = Pid::from_raw(sleeper.expect("the shell printed its child's pid"));
        let alive = kill(sleeper, None).is_ok();
        let _ = kill(sleeper, Signal::SIGKILL);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(10), "{stderr}");
        assert!(alive, "the inherited child was killed: {stderr}");
    }

    /// The program sets O_NONBLOCK on the stderr it shares with the demo,
    /// and the reader of stderr is slow: the demo's narration must wait for
    /// it, not fail (a failed `eprintln!` panics, and the program dies with
    /// its tracer). The program runs to its end, with every signal handled.
    /// Returns how many bytes of narration the demo wrote.
    pub fn narration_waits_for_a_nonblocking_stderr(
        demo: Command,
        own_binary: &std::path::Path,
    ) -> usize {
        let mut command = builtin(demo, "crowd", own_binary);
        command
            .arg("nonblocking-stderr")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("starting the demo");
        let mut stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        // Long enough for the narration to fill the pipe (64 KiB) first.
        std::thread::sleep(Duration::from_millis(500));
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .expect("piped")
            .read_to_string(&mut stderr);
        let status = child.wait().expect("waiting for the demo");
        let stdout = reader.join().expect("stdout reader");
        let last = stderr.lines().last().unwrap_or_default();
        assert_eq!(status.code(), Some(0), "{last}");
        let wanted = "target: 3000 rounds with a non-blocking stderr, the handler ran 3000 times\n";
        assert!(stdout.ends_with(&as_shown(wanted)), "{last}");
        stderr.len()
    }

    /// The demo in a process group of its own, as a shell runs a job, with
    /// its stdout read line by line.
    struct Job {
        child: Child,
        stdout: BufReader<std::process::ChildStdout>,
    }

    impl Job {
        fn start(mut demo: Command, script: &str) -> Job {
            // A job started in the background (`cmd &`) ignores SIGINT and
            // SIGQUIT, and a shell can't trap a signal ignored at its start:
            // give the demo, and so the program, the default actions.
            // SAFETY: signal(2) with SIG_DFL is async-signal-safe.
            unsafe {
                demo.pre_exec(|| {
                    for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                        libc::signal(signal, libc::SIG_DFL);
                    }
                    Ok(())
                });
            }
            demo.args(["--", "sh", "-c", script])
                .process_group(0)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = demo.spawn().expect("starting the demo");
            let stdout = BufReader::new(child.stdout.take().expect("piped"));
            Job { child, stdout }
        }

        fn expect_line(&mut self, wanted: &str) {
            let mut line = String::new();
            self.stdout.read_line(&mut line).expect("reading stdout");
            assert_eq!(line, as_shown(&format!("{wanted}\n")));
        }

        fn pid(&self) -> Pid {
            Pid::from_raw(self.child.id() as i32)
        }

        /// The program: the demo's child, found in /proc.
        fn program(&self) -> Pid {
            let parent = self.pid();
            for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse() else {
                    continue;
                };
                let pid = Pid::from_raw(pid);
                let status = crate::procfs::Status::of(pid).ok();
                if status.and_then(|status| status.parent()) == Some(parent) {
                    return pid;
                }
            }
            panic!("the demo (pid {parent}) has no child");
        }

        fn shown(&self, text: &str) -> String {
            as_shown(text)
        }

        /// Waits for the demo to end; its exit code, stdout's rest, stderr.
        fn finish(mut self) -> (Option<i32>, String, String) {
            let mut rest = String::new();
            let _ = self.stdout.read_to_string(&mut rest);
            let mut stderr = String::new();
            if let Some(mut err) = self.child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            let status = self.child.wait().expect("waiting for the demo");
            (status.code(), rest, stderr)
        }
    }

    fn process_state(pid: Pid) -> Option<char> {
        crate::procfs::Status::of(pid).ok()?.state()
    }

    /// Ctrl-C reaches the whole foreground job; the program traps it and
    /// exits 42, and so must the demo: the signal was the program's.
    pub fn fatal_signals_belong_to_the_program(demo: impl Fn() -> Command) {
        for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            let name = &signal.as_str()[3..];
            let script = format!(
                "trap 'echo caught; exit 42' {name}; echo ready; while :; do sleep 0.05; done"
            );
            let mut job = Job::start(demo(), &script);
            job.expect_line("ready");
            killpg(job.pid(), signal).expect("killpg");
            let wanted = job.shown("caught\n");
            let (code, rest, stderr) = job.finish();
            assert_eq!(rest, wanted, "{signal}: {stderr}");
            assert_eq!(code, Some(42), "{signal}: {stderr}");
        }
    }

    /// `kill -STOP` stops the program as it would without a tracer, and it
    /// goes on only at SIGCONT. Returns the run as insta-cmd shows one
    /// (exit code, stdout, stderr), for a snapshot.
    pub fn sigstop_stops_until_sigcont(demo: Command) -> String {
        let mut job = Job::start(demo, "echo before; kill -STOP $$; echo after; exit 5");
        job.expect_line("before");
        let program = job.program();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(process_state(program), Some('T' | 't')) {
            assert!(Instant::now() < deadline, "the program never stopped");
            std::thread::sleep(Duration::from_millis(10));
        }
        // Stopped, and it stays stopped.
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            matches!(process_state(program), Some('T' | 't')),
            "the program was resumed without SIGCONT: {:?}",
            process_state(program)
        );
        kill(program, Signal::SIGCONT).expect("kill -CONT");
        let wanted = job.shown("after\n");
        let (code, rest, stderr) = job.finish();
        assert_eq!(rest, wanted, "{stderr}");
        assert_eq!(code, Some(5), "{stderr}");
        Run {
            end: End::Exited(5),
            stdout: as_shown("before\n") + &rest,
            stderr,
        }
        .to_string()
    }
}

/// A demo's command line runs the command as given: its exit status 0,
/// its stdout `stdout`, and the narration names it (`running sh -c ...`).
pub fn command_runs_as_given(mut demo: Command, args: &[&str], stdout: &str) {
    let output = run(demo.args(args));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        stdout,
        "{args:?}: {stderr}"
    );
    assert!(
        stderr.contains("running sh -c 'echo ok"),
        "{args:?}: {stderr}"
    );
}

/// The tests of `tracer_checks`, one `#[test]` each, for the demo binary
/// `$bin`: `workbook::tracer_check_tests!("syscall-blocker");` in a test
/// file, which then also has `fn demo() -> Command`. A demo that changes
/// what the program writes says how: `tracer_check_tests!("write-rewriter",
/// shown = AsAs)`.
#[macro_export]
macro_rules! tracer_check_tests {
    ($bin:literal) => {
        $crate::tracer_check_tests!($bin, shown = AsWritten);
    };
    ($bin:literal, shown = $shown:ident) => {
        /// The demo, killed if it runs past the time limit.
        fn demo() -> ::std::process::Command {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            let mut command = ::std::process::Command::new(::insta_cmd::get_cargo_bin($bin));
            $crate::testing::limited(&mut command);
            command
        }

        #[test]
        fn realtime_signal_reaches_its_handler() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::realtime_signal_reaches_its_handler(demo());
        }

        #[test]
        fn realtime_signal_kills_with_128_plus_n() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::realtime_signal_kills_with_128_plus_n(demo());
        }

        #[test]
        fn setxid_in_threads() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::setxid_in_threads(
                demo(),
                &::insta_cmd::get_cargo_bin($bin),
            );
        }

        #[test]
        fn children_killed_mid_syscall() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::children_killed_mid_syscall(
                demo,
                &::insta_cmd::get_cargo_bin($bin),
            );
        }

        #[test]
        fn clone_parent_child_is_reaped() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::clone_parent_child_is_reaped(
                demo(),
                &::insta_cmd::get_cargo_bin($bin),
            );
        }

        #[test]
        fn clone_ptrace_child_runs() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            let _narration = $crate::testing::tracer_checks::clone_ptrace_child_runs(
                demo(),
                &::insta_cmd::get_cargo_bin($bin),
            );
        }

        #[test]
        fn threads_under_load() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::threads_under_load(
                demo,
                &::insta_cmd::get_cargo_bin($bin),
            );
        }

        #[test]
        fn busy_threads_are_served_fairly() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::busy_threads_are_served_fairly(
                demo,
                &::insta_cmd::get_cargo_bin($bin),
            );
        }

        #[test]
        fn narration_waits_for_a_nonblocking_stderr() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            let _said = $crate::testing::tracer_checks::narration_waits_for_a_nonblocking_stderr(
                demo(),
                &::insta_cmd::get_cargo_bin($bin),
            );
        }

        #[test]
        fn an_inherited_child_is_left_alone() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::an_inherited_child_is_left_alone(demo());
        }

        #[test]
        fn fatal_signals_belong_to_the_program() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::fatal_signals_belong_to_the_program(demo);
        }

        #[test]
        fn sigstop_stops_until_sigcont() {
            $crate::testing::tracer_checks::demo_shows(
                $crate::testing::tracer_checks::Shown::$shown,
            );
            $crate::testing::tracer_checks::sigstop_stops_until_sigcont(demo());
        }
    };
}
