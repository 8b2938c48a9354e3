//! syscall-blocker on its built-in target, on real programs, and against
//! strace: the same syscalls, and the same failures when blocking.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use insta_cmd::get_cargo_bin;
use workbook::testing::{redactions, redactions_per_arch};

/// The demo, killed if it runs past the time limit.
fn blocker() -> Command {
    let mut command = Command::new(get_cargo_bin("syscall-blocker"));
    workbook::testing::limited(&mut command);
    command
}

#[test]
fn default_run_blocks_socket_only() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(blocker());
}

/// The built-in target's own calls, with the start-up and exit of the
/// dynamic loader and the Rust runtime (which vary with glibc and Rust)
/// redacted.
#[test]
fn trace_of_the_builtin_target() {
    let mut settings = redactions();
    settings.add_filter(
        r#"(?s)(blocking socket with EPERM\n).*?\n(uname\([^\n]*\nwrite\(1, "target: uname)"#,
        "$1[start-up: the dynamic loader and the Rust runtime]\n$2",
    );
    settings.add_filter(
        r#"(?s)(write\(1, "target: getcwd: ok\\n", 19\) = 19\n).*(exit_group\(0x0\) = \?)"#,
        "$1[exit: the Rust runtime]\n$2",
    );
    let _redactions = settings.bind_to_scope();
    workbook::assert_limited_snapshot!(blocker().arg("--trace").current_dir("/"));
}

#[test]
fn unknown_syscall_gets_suggestions() {
    let _redactions = redactions_per_arch().bind_to_scope();
    workbook::assert_limited_snapshot!(blocker().args(["--block", "sockt"]));
}

#[test]
fn unknown_errno_is_refused() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(blocker().args(["--block", "socket", "--errno", "ENOPE"]));
}

#[test]
fn missing_program_exits_127() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(blocker().args(["--", "no-such-program-anywhere"]));
}

#[test]
fn blocking_execve_means_the_program_never_starts() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(blocker().args(["--block", "execve", "--", "/bin/true"]));
}

#[test]
fn other_errno_by_name() {
    let output = blocker()
        .args(["--block", "socket", "--errno", "EACCES"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("socket: failed: Permission denied"));
}

#[test]
fn a_forking_pipeline_runs_through() {
    let output = blocker()
        .args(["--trace", "--", "sh", "-c", "echo hi | cat; exit 4"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hi\n");
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[pid "),
        "children are not prefixed: {stderr}"
    );
}

#[test]
fn killed_tracee_ends_the_trace_with_128_plus_signal() {
    let output = blocker()
        .args(["--trace", "--", "sh", "-c", "kill -KILL $$"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(137));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last: Vec<&str> = stderr.lines().rev().take(2).collect();
    assert_eq!(last[0], "+++ killed by SIGKILL +++", "{stderr}");
    assert!(last[1].starts_with("kill("), "{stderr}");
}

#[test]
fn threads_are_followed_and_their_signals_delivered() {
    let own = get_cargo_bin("syscall-blocker");
    let output = blocker()
        .args([
            "--trace",
            "--",
            "bash",
            "-c",
            "exec -a builtin:threads \"$0\"",
        ])
        .arg(&own)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "target: 4 threads raised SIGUSR1, the handler ran 4 times\n"
    );
    assert_eq!(output.status.code(), Some(0));
}

/// Per-process syscall name sequences from strace-style lines. Lines
/// without a `[pid N]` prefix are the first process's (the tracer prints no
/// prefix while it traces one process only), and that process has the
/// lowest pid. Sorted, so that pids may differ between the two runs.
fn sequences(trace: &str) -> Vec<Vec<String>> {
    let mut by_pid: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut unprefixed = Vec::new();
    for line in trace.lines() {
        let (pid, rest) = match line.strip_prefix("[pid ") {
            Some(rest) => match rest.split_once("] ") {
                Some((pid, rest)) => (pid.parse::<u32>().ok(), rest),
                None => continue,
            },
            None => (None, line),
        };
        if rest.starts_with("<...") || rest.starts_with("---") || rest.starts_with("+++") {
            continue;
        }
        let Some((name, _)) = rest.split_once('(') else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        // When SIGCHLD arrives depends on the scheduler, not on the tracer:
        // a shell's handler (rt_sigreturn) and its wait4 calls move around
        // from run to run, under strace as under us.
        if matches!(name, "rt_sigreturn" | "wait4") {
            continue;
        }
        match pid {
            Some(pid) => by_pid.entry(pid).or_default().push(name.to_string()),
            None => unprefixed.push((by_pid.len(), name.to_string())),
        }
    }
    // Unprefixed lines go to the first process, in their place among its own.
    let first = by_pid.keys().next().copied().unwrap_or(0);
    let mut first_calls = by_pid.remove(&first).unwrap_or_default();
    let mut merged: Vec<String> = Vec::new();
    let (before, after): (Vec<_>, Vec<_>) =
        unprefixed.into_iter().partition(|(seen, _)| *seen == 0);
    merged.extend(before.into_iter().map(|(_, name)| name));
    merged.append(&mut first_calls);
    merged.extend(after.into_iter().map(|(_, name)| name));
    let mut sequences: Vec<Vec<String>> = by_pid.into_values().collect();
    sequences.push(merged);
    sequences.sort();
    sequences
}

fn ours(command: &[&str]) -> Output {
    blocker()
        .arg("--trace")
        .arg("--")
        .args(command)
        .output()
        .unwrap()
}

/// strace's per-process sequences, exactly: with -ff it writes one file per
/// process, so no line has to be attributed by its prefix.
fn strace_sequences(command: &[&str]) -> (Output, Vec<Vec<String>>) {
    let dir = std::env::temp_dir().join(format!("syscall-blocker-parity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let output = workbook::testing::limited(&mut Command::new("strace"))
        .args(["-f", "-ff", "-qq", "-o"])
        .arg(dir.join("trace"))
        .args(command)
        .output()
        .expect("strace is installed");
    let mut all: Vec<Vec<String>> = std::fs::read_dir(&dir)
        .unwrap()
        .flat_map(|entry| sequences(&std::fs::read_to_string(entry.unwrap().path()).unwrap()))
        .collect();
    all.sort();
    std::fs::remove_dir_all(&dir).unwrap();
    (output, all)
}

#[test]
#[ignore = "needs strace"]
fn same_syscalls_as_strace() {
    for command in [
        &["/bin/true"][..],
        &["/bin/ls", "/"][..],
        &["/bin/sh", "-c", "echo a | /bin/cat"][..],
    ] {
        // A shell's order of calls can shift with signal timing; a real
        // difference shows up in every run, so allow three tries.
        let mut attempts = 0;
        let (ours, theirs) = loop {
            attempts += 1;
            let ours = ours(command);
            let (theirs, their_sequences) = strace_sequences(command);
            let our_trace = String::from_utf8_lossy(&ours.stderr).into_owned();
            let our_trace = our_trace.split_once('\n').map_or("", |(_, rest)| rest);
            let our_sequences = sequences(our_trace);
            if our_sequences == their_sequences || attempts == 3 {
                assert_eq!(our_sequences, their_sequences, "{command:?}");
                break (ours, theirs);
            }
        };
        assert_eq!(ours.stdout, theirs.stdout, "{command:?}");
    }
}

#[test]
#[ignore = "needs strace"]
fn blocking_agrees_with_strace_inject() {
    for (call, command) in [
        ("openat", &["/bin/cat", "/etc/hostname"][..]),
        (
            "socket",
            &[
                "/bin/sh",
                "-c",
                "exec 3<>/dev/tcp/127.0.0.1/9; echo unreachable",
            ][..],
        ),
        ("uname", &["/bin/uname", "-s"][..]),
    ] {
        let ours = blocker()
            .args(["--block", call, "--"])
            .args(command)
            .output()
            .unwrap();
        let theirs = workbook::testing::limited(&mut Command::new("strace"))
            .args(["-f", "-qq", "-o", "/dev/null", "-e"])
            .arg(format!("inject={call}:error=EPERM"))
            .args(command)
            .output()
            .expect("strace is installed");
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{call} {command:?}"
        );
        assert_eq!(ours.stdout, theirs.stdout, "{call} {command:?}");
        let our_errors = String::from_utf8_lossy(&ours.stderr);
        let our_errors = our_errors.split_once('\n').map_or("", |(_, rest)| rest);
        assert_eq!(
            our_errors,
            String::from_utf8_lossy(&theirs.stderr),
            "{call} {command:?}"
        );
    }
}

/// --seccomp must block exactly what the PTRACE_SYSCALL loop blocks: the
/// program sees the same failures, prints the same, exits the same.
#[test]
fn seccomp_mode_blocks_exactly_what_the_syscall_loop_blocks() {
    let own = get_cargo_bin("syscall-blocker").display().to_string();
    let cases: Vec<Vec<String>> = [
        &["--block", "socket"][..],
        &[
            "--block",
            "uname",
            "--",
            "sh",
            "-c",
            "uname; uname | cat; (uname); echo done",
        ][..],
        &["--block", "openat", "--", "cat", "/etc/hostname"][..],
        &[
            "--block",
            "getcwd,uname",
            "--errno",
            "EACCES",
            "--",
            "sh",
            "-c",
            "pwd; uname -a; exit 7",
        ][..],
        &["--block", "execve", "--", "/bin/true"][..],
        &[
            "--block",
            "tgkill",
            "--",
            "bash",
            "-c",
            "exec -a builtin:threads \"$0\"",
            &own,
        ][..],
        &[
            "--block",
            "getppid",
            "--",
            "bash",
            "-c",
            "exec -a builtin:threads \"$0\"",
            &own,
        ][..],
    ]
    .iter()
    .map(|case| case.iter().map(|arg| arg.to_string()).collect())
    .collect();
    for case in cases {
        let plain = blocker().args(&case).output().unwrap();
        let filtered = blocker().arg("--seccomp").args(&case).output().unwrap();
        let narration = |output: &Output| {
            String::from_utf8_lossy(&output.stderr)
                .replace("; a seccomp filter picks the stops", "")
        };
        assert_eq!(plain.status.code(), filtered.status.code(), "{case:?}");
        assert_eq!(plain.stdout, filtered.stdout, "{case:?}");
        assert_eq!(narration(&plain), narration(&filtered), "{case:?}");
    }
}

/// With --seccomp, --trace shows only the calls the filter sent over.
#[test]
fn seccomp_trace_shows_only_the_filtered_calls() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(blocker().args(["--seccomp", "--trace"]));
}

/// A thread that calls execve: the kernel gives it the leader's pid and
/// the old thread id disappears. Both modes must follow the new program
/// and end when it does, not wait for the vanished thread.
#[test]
#[ignore = "needs python3"]
fn execve_from_a_thread() {
    let script = "import threading, os, time\n\
                  threading.Thread(target=lambda: os.execv('/bin/sh', \
                  ['sh', '-c', 'uname; echo exec from a thread'])).start()\n\
                  time.sleep(30)";
    for mode in [None, Some("--seccomp")] {
        let started = std::time::Instant::now();
        let output = blocker()
            .args(mode)
            .args(["--block", "uname", "--", "python3", "-c", script])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "exec from a thread\n",
            "{stderr}"
        );
        assert!(
            stderr.contains("uname: cannot get system name: Operation not permitted"),
            "{stderr}"
        );
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(
            started.elapsed().as_secs() < 20,
            "{mode:?} waited for the old thread"
        );
    }
}

/// The built-in target `abis`: getppid, socket and dup through `syscall`,
/// `int 0x80` and the x32 bit.
fn under_abis(mut command: Command) -> Command {
    command
        .args(["--", "bash", "-c", "exec -a builtin:abis \"$0\""])
        .arg(get_cargo_bin("syscall-blocker"));
    command
}

/// A name is blocked in every ABI by that ABI's own number, in both modes,
/// exactly as `strace -e inject=NAME:error=EPERM` does it.
#[test]
#[ignore = "needs strace"]
fn blocking_in_every_abi_agrees_with_strace_inject() {
    for call in ["socket", "getppid", "dup"] {
        let mut strace = Command::new("strace");
        strace
            .args(["-f", "-qq", "-o", "/dev/null", "-e"])
            .arg(format!("inject={call}:error=EPERM"));
        let theirs = workbook::testing::run(&mut under_abis(strace));
        for mode in [&[][..], &["--seccomp"][..]] {
            let mut ours = blocker();
            ours.args(mode).args(["--block", call]);
            let ours = workbook::testing::run(&mut under_abis(ours));
            let stderr = String::from_utf8_lossy(&ours.stderr);
            assert_eq!(
                String::from_utf8_lossy(&ours.stdout),
                String::from_utf8_lossy(&theirs.stdout),
                "--block {call} {mode:?}: {stderr}"
            );
            assert_eq!(ours.status.code(), theirs.status.code(), "{call} {mode:?}");
        }
    }
}

/// `--trace` names a 32-bit call by the i386 table and says when a process
/// changes ABI, as strace does.
// x86_64 only: int 0x80 and x32 are x86_64's ABIs; arm64 has neither.
#[cfg(target_arch = "x86_64")]
#[test]
fn trace_names_calls_by_their_abi() {
    let mut command = blocker();
    command.args(["--trace", "--block", "socket"]);
    let output = workbook::testing::run(&mut under_abis(command));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let switch = stderr.find("[ Process PID=").expect("an ABI switch");
    let from = stderr[..switch]
        .rfind("getppid() = ")
        .expect("the target's 64-bit getppid");
    // Results that vary from run to run (pids, new fds) become [N].
    let calls: Vec<String> = stderr[from..]
        .lines()
        .take(10)
        .map(|line| match line.split_once(" runs in ") {
            Some((_, mode)) => format!("[ Process PID=[PID] runs in {mode}"),
            None => match line.split_once(" = ") {
                Some((call, result)) if !result.starts_with("-1 ") => format!("{call} = [N]"),
                _ => line.to_string(),
            },
        })
        .collect();
    assert_eq!(calls.len(), 10, "{stderr}");
    let _redactions = redactions().bind_to_scope();
    // The book shows this as what it is: ten lines from the middle of stderr.
    insta::with_settings!({ description => "stderr, an excerpt" }, {
        insta::assert_snapshot!(calls.join("\n"));
    });
}

/// `--trace` of an execve from a thread reads as strace's: the execve line
/// left open (`<pid changed to N ...>`, or `<unfinished ...>` when another
/// thread's line came between), then its result under the leader's pid,
/// and nothing of the leader's own call pinned on it.
#[test]
#[ignore = "needs python3"]
fn trace_of_an_execve_from_a_thread() {
    let script = "import threading, os, time\n\
                  threading.Thread(target=lambda: os.execv('/bin/sh', \
                  ['sh', '-c', 'exit 42'])).start()\n\
                  time.sleep(30)";
    let output = workbook::testing::run(
        blocker().args(["--trace", "--block", "uname", "--", "python3", "-c", script]),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(42), "{stderr}");
    let changed = stderr
        .lines()
        .find(|line| line.contains("execve(\"/bin/sh\""))
        .expect("the thread's execve line");
    // Left open, as strace leaves it: with `<pid changed to N ...>` when the
    // exec is the next thing the tracer sees, or `<unfinished ...>` when a
    // line of another thread came first (the leader entering its sleep after
    // the thread's execve began: a race of the program's, not ours).
    assert!(
        changed.ends_with(" ...>")
            && (changed.contains(" <pid changed to ") || changed.ends_with(" <unfinished ...>")),
        "{changed}"
    );
    assert!(
        stderr.contains("<... execve resumed>) = 0\n"),
        "the execve's result is not shown as strace shows it: {stderr}"
    );
    assert!(
        !stderr.contains("exit(0x2a) = 0"),
        "a stale call was paired with the execve's exit: {stderr}"
    );
}

/// The built-in target `own-filter`: a seccomp filter of its own returns
/// SECCOMP_RET_TRACE|0x1234 for getppid and uname, then it makes both.
const OWN_FILTER: [&str; 3] = ["bash", "-c", "exec -a builtin:own-filter \"$0\""];

/// A program's own SECCOMP_RET_TRACE is not ours: without a tracer that
/// asked for seccomp stops the kernel fails the call with ENOSYS, and so
/// must the demo, in both modes. A call we block is blocked all the same,
/// with our errno, even when the program's filter traces it too (its data
/// then reaches the stop, not ours).
#[test]
fn the_programs_own_ret_trace_gets_enosys_as_without_us() {
    let own = get_cargo_bin("syscall-blocker");
    let mut alone = Command::new(OWN_FILTER[0]);
    alone.args(&OWN_FILTER[1..]).arg(&own);
    let alone = workbook::testing::run(workbook::testing::limited(&mut alone));
    let enosys = "target: my own filter returns SECCOMP_RET_TRACE|0x1234 for getppid and uname\n\
                  target: getppid: ENOSYS (Function not implemented)\n\
                  target: uname: ENOSYS (Function not implemented)\n";
    assert_eq!(String::from_utf8_lossy(&alone.stdout), enosys);
    let uname_blocked = enosys.replace(
        "uname: ENOSYS (Function not implemented)",
        "uname: EACCES (Permission denied)",
    );
    for mode in [&[][..], &["--seccomp"][..]] {
        for (block, wanted) in [("socket", enosys), ("uname", uname_blocked.as_str())] {
            let output = workbook::testing::run(
                blocker()
                    .args(mode)
                    .args(["--block", block, "--errno", "EACCES", "--"])
                    .args(OWN_FILTER)
                    .arg(&own),
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                wanted,
                "{mode:?} --block {block}: {stderr}"
            );
            assert_eq!(output.status.code(), Some(0), "{mode:?} --block {block}");
        }
    }
}

/// The same under strace, which sets no PTRACE_O_TRACESECCOMP without
/// --seccomp-bpf: ENOSYS for both calls.
#[test]
#[ignore = "needs strace"]
fn strace_too_leaves_the_programs_own_ret_trace_enosys() {
    let own = get_cargo_bin("syscall-blocker");
    let theirs = workbook::testing::run(
        workbook::testing::limited(&mut Command::new("strace"))
            .args(["-f", "-qq", "-o", "/dev/null"])
            .args(OWN_FILTER)
            .arg(&own),
    );
    let ours = workbook::testing::run(
        blocker()
            .args(["--seccomp", "--block", "socket", "--"])
            .args(OWN_FILTER)
            .arg(&own),
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout)
    );
    assert!(String::from_utf8_lossy(&theirs.stdout).contains("getppid: ENOSYS"));
}

/// `--trace` tells the program's own RET_TRACE stops from ours.
#[test]
fn trace_tells_the_programs_own_ret_trace_from_ours() {
    let own = get_cargo_bin("syscall-blocker");
    let output = workbook::testing::run(
        blocker()
            .args(["--seccomp", "--trace", "--block", "uname", "--"])
            .args(OWN_FILTER)
            .arg(&own),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let getppid = stderr
        .lines()
        .find(|line| line.starts_with("getppid("))
        .unwrap_or_else(|| panic!("no getppid line: {stderr}"));
    assert!(!getppid.contains("(blocked)"), "{stderr}");
    assert!(getppid.contains("ENOSYS"), "{stderr}");
    assert!(getppid.contains("0x1234"), "{stderr}");
    // bash calls uname too, before the target's own filter is there.
    let uname = stderr
        .lines()
        .rfind(|line| line.starts_with("uname("))
        .unwrap_or_else(|| panic!("no uname line: {stderr}"));
    assert!(uname.contains("EPERM"), "{stderr}");
    assert!(
        uname.ends_with("(blocked; its own filter traces it too, data 0x1234)"),
        "{stderr}"
    );
}

/// The built-in target `odd-numbers`: syscall(-2), syscall(-1),
/// syscall(0x7fffffff), the x32 bit on no x32 call, getppid with the
/// upper half of the number set, and the x32 getppid.
#[cfg(target_arch = "x86_64")]
const ODD_NUMBERS: [&str; 3] = ["bash", "-c", "exec -a builtin:odd-numbers \"$0\""];

/// From `--trace` or strace's output: the target's six calls and the lines
/// between them, from its syscall(-2) on, pids shown as [PID].
#[cfg(target_arch = "x86_64")]
fn odd_number_lines(trace: &str) -> Vec<String> {
    let from = trace
        .find("syscall_0xfffffffffffffffe(")
        .unwrap_or_else(|| panic!("no syscall(-2) in {trace}"));
    // A change of mode announced for the syscall(-2) comes just before it.
    let before = trace[..from].trim_end_matches('\n');
    let previous = before.rfind('\n').map_or(0, |newline| newline + 1);
    let from = match before[previous..].starts_with("[ Process ") {
        true => previous,
        false => from,
    };
    let mut calls = 0;
    trace[from..]
        .lines()
        .take_while(|line| {
            calls += usize::from(!line.starts_with('['));
            calls <= 6
        })
        .map(|line| match line.split_once(" runs in ") {
            Some((_, mode)) => format!("[ Process PID=[PID] runs in {mode}"),
            None => line.to_string(),
        })
        .collect()
}

/// The kernel takes the number as a 32-bit int, and runs an x32 call only
/// when what follows bit 30 is an x32 number: -1, -2, 0x7fffffff and
/// 0x400003e8 are no call in any ABI, though bit 30 is set in each (strace
/// 6.1 announces x32 mode for all but -1). Unknown numbers are named as
/// strace names them, and a getppid with the upper half of its number set
/// is a getppid, blocked as such.
// x86_64 only: int 0x80 and x32 are x86_64's ABIs; arm64 has neither.
#[cfg(target_arch = "x86_64")]
#[test]
fn odd_numbers_are_named_and_blocked_as_the_kernel_runs_them() {
    let own = get_cargo_bin("syscall-blocker");
    let output = workbook::testing::run(
        blocker()
            .args(["--trace", "--block", "getppid", "--"])
            .args(ODD_NUMBERS)
            .arg(&own),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        odd_number_lines(&stderr),
        [
            "syscall_0xfffffffffffffffe(0x0, 0x0, 0x0) = -1 ENOSYS (Function not implemented)",
            "syscall_0xffffffffffffffff(0x0, 0x0, 0x0) = -1 ENOSYS (Function not implemented)",
            "syscall_0x7fffffff(0x0, 0x0, 0x0) = -1 ENOSYS (Function not implemented)",
            "syscall_0x400003e8(0x0, 0x0, 0x0) = -1 ENOSYS (Function not implemented)",
            "getppid() = -1 EPERM (Operation not permitted) (blocked)",
            "[ Process PID=[PID] runs in x32 mode. ]",
            "getppid() = -1 EPERM (Operation not permitted) (blocked)",
            "[ Process PID=[PID] runs in 64 bit mode. ]",
        ],
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("getppid with the upper half set: Operation not permitted"),
        "{stdout}"
    );
}

/// The same calls under `strace -f`: the same names and results (strace's
/// announcements of a mode are left out: it takes bit 30 alone for x32).
// x86_64 only: int 0x80 and x32 are x86_64's ABIs; arm64 has neither.
#[cfg(target_arch = "x86_64")]
#[test]
#[ignore = "needs strace"]
fn odd_numbers_are_named_as_strace_names_them() {
    let own = get_cargo_bin("syscall-blocker");
    let theirs = workbook::testing::run(
        workbook::testing::limited(&mut Command::new("strace"))
            .args(["-f", "-qq"])
            .args(ODD_NUMBERS)
            .arg(&own),
    );
    let ours = workbook::testing::run(
        blocker()
            .args(["--trace", "--"])
            .args(ODD_NUMBERS)
            .arg(&own),
    );
    // name and result, without arguments (strace shows six for an unknown
    // call), a pid's value or a mode line
    let calls = |output: &Output| -> Vec<(String, String)> {
        odd_number_lines(&String::from_utf8_lossy(&output.stderr))
            .iter()
            .filter(|line| !line.starts_with('['))
            .map(|line| {
                let (call, result) = line.rsplit_once(" = ").expect("a finished call");
                let name = call.split('(').next().unwrap_or_default().to_string();
                let result = if result.starts_with("-1 ") {
                    result.trim()
                } else {
                    "a value"
                };
                (name, result.to_string())
            })
            .collect()
    };
    assert_eq!(calls(&ours), calls(&theirs));
    assert_eq!(ours.stdout, theirs.stdout);
}

/// A command of 10,000 arguments, each 140 characters (1.4 MB; execve's
/// limit is a quarter of the stack's, 2 MB by default): the narration names
/// its first 32 arguments, as strace shows an execve's argv, each cut after
/// 128 characters, then `...`.
#[test]
fn a_long_command_line_is_narrated_abbreviated() {
    let long: Vec<String> = (0..10_000).map(|n| format!("{n:0140}")).collect();
    let output = workbook::testing::run(blocker().args(["--", "/bin/true"]).args(&long));
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown: Vec<String> = long[..31]
        .iter()
        .map(|arg| format!("{}...", &arg[..128]))
        .collect();
    assert_eq!(
        stderr,
        format!(
            "syscall-blocker: running /bin/true {} ..., blocking nothing\n",
            shown.join(" ")
        )
    );
}
