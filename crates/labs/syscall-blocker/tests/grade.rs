//! Grading tests for lab-syscall-blocker. The lab blocks a call chosen at
//! random, with an errno chosen at random, in the demo's own built-in
//! target (trusted code, not the lab's), run in its mailbox mode: the test
//! posts into the target's memory, past the lab, the name the call is to
//! make (random), a file to make with another call, and a signal to queue;
//! the target makes the calls and reports, in its memory, what they
//! returned, whether the name exists afterwards, who traces it and what its
//! signal handler got. So a call the lab lets run leaves its name behind, and
//! the errno is the one the program saw, not one the lab printed. Each
//! test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::path::{Path, PathBuf};
use std::process::Command;

use insta_cmd::get_cargo_bin;
use nix::errno::Errno;
use workbook::names::errno_name;
use workbook::targets::mailbox::test::{pick, random_in, random_u64, tail, Target, Traced};
use workbook::targets::mailbox::{Reader, Writer};
use workbook::testing::{tracer_checks, Transcript};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-syscall-blocker"));
    workbook::testing::limited(&mut command);
    command
}

/// The demo's binary: the built-in target comes from it, never from the lab.
fn demo() -> PathBuf {
    workbook::testing::workspace_bin("syscall-blocker")
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let ours = Transcript::of_run(lab().args(args), ("lab-syscall-blocker", "syscall-blocker"));
    let demo = Transcript::of_demo("syscall-blocker", snapshot);
    ours.assert_same_as(&demo, &format!("`lab-syscall-blocker {}`", args.join(" ")));
}

/// The calls the target can make at a name, each of which makes something
/// there (a directory, a FIFO, a link, a file) when it runs.
const CREATING_CALLS: &[&str] = &[
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "symlink",
    "symlinkat",
    "link",
    "linkat",
    "creat",
];

/// Errors no call here fails with of itself: the program sees one only
/// if the tracer puts it there.
const ERRNOS: &[Errno] = &[
    Errno::E2BIG,
    Errno::ENOEXEC,
    Errno::ECHILD,
    Errno::ENOTTY,
    Errno::ETXTBSY,
    Errno::ESPIPE,
    Errno::EDOM,
    Errno::ERANGE,
    Errno::ENOMSG,
    Errno::EIDRM,
    Errno::ENOLINK,
    Errno::EPROTO,
    Errno::EBADMSG,
    Errno::EOVERFLOW,
    Errno::EILSEQ,
    Errno::ENOTSOCK,
    Errno::ECONNRESET,
    Errno::ETIMEDOUT,
    Errno::EHOSTUNREACH,
    Errno::ESTALE,
];

/// A folder of the test's, removed at the end.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Folder {
        let path = std::env::temp_dir().join(format!(
            "blocker-{}-{:016x}",
            std::process::id(),
            random_u64()
        ));
        std::fs::create_dir_all(&path).expect("the test's folder");
        Folder(path)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run is to do: the call to block and with which errno, and the
/// signal (0: none) and value the target queues to itself.
struct Plan {
    call: &'static str,
    errno: Errno,
    signal: i32,
    value: u64,
}

impl Plan {
    fn random(calls: &[&'static str]) -> Plan {
        Plan {
            call: pick(calls),
            errno: pick(ERRNOS),
            signal: 0,
            value: 0,
        }
    }
}

/// The target's report.
#[derive(Debug)]
struct Report {
    /// open(2)'s errno for the file it makes, 0 when it made it.
    made: u64,
    ret: i64,
    errno: i32,
    exists: bool,
    tracer: u64,
    seccomp: u64,
    filters: u64,
    handled: u64,
    value: u64,
}

struct Run {
    traced: Traced,
    report: Report,
    name: String,
}

/// `Seccomp` and `Seccomp_filters` of this process (u64::MAX if absent).
fn own_seccomp() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(u64::MAX)
    };
    (field("Seccomp"), field("Seccomp_filters"))
}

/// The lab (with `flags`) blocks `plan.call` with `plan.errno` in the
/// demo's target, which makes a file with open(2), then tries the call at a
/// random name, then queues the signal, and exits with a random status.
/// Checked here for every run: the target was traced by the lab, the
/// open(2) ran and the blocked call did not (its name exists neither for
/// the target right after the call nor for the test afterwards), the call
/// failed, no seccomp filter was added but the demo's own with --seccomp,
/// and the exit status is the target's.
fn run(flags: &[&str], plan: &Plan) -> Run {
    let folder = Folder::new();
    let name = format!("{:016x}", random_u64());
    let control = format!("{:016x}", random_u64());
    let contents = format!(
        "{:032x}\n",
        u128::from(random_u64()) << 64 | u128::from(random_u64())
    );
    let status = random_in(0..=99) as u8;
    let mut input = Writer::new();
    input
        .u64(u64::from(status))
        .bytes(folder.0.as_os_str().as_encoded_bytes())
        .bytes(control.as_bytes())
        .bytes(contents.as_bytes())
        .bytes(plan.call.as_bytes())
        .bytes(name.as_bytes())
        .u64(plan.signal as u64)
        .u64(plan.value);
    let target = Target::new(&demo(), "tries", &["mailbox"]);
    let errno = format!("{:?}", plan.errno);
    let mut command = lab();
    command
        .args(["--block", plan.call, "--errno", &errno])
        .args(flags)
        .arg("--")
        .args(target.argv());
    let traced = target.run(&mut command, &input.0);
    let mut fields = Reader::new(traced.report());
    let mut next = || fields.u64().expect("a field of the target's report");
    let report = Report {
        made: next(),
        ret: next() as i64,
        errno: next() as i32,
        exists: next() != 0,
        tracer: next(),
        seccomp: next(),
        filters: next(),
        handled: next(),
        value: next(),
    };
    let what = format!(
        "lab-syscall-blocker --block {} --errno {errno}{}",
        plan.call,
        flags
            .iter()
            .map(|flag| format!(" {flag}"))
            .collect::<String>()
    );
    let said = tail(&traced.stderr());
    assert_eq!(
        report.tracer,
        u64::from(traced.lab),
        "{what}: the target's TracerPid is {}, not the lab's pid {}: it was not traced by the \
         lab\nthe lab's stderr:\n{said}",
        report.tracer,
        traced.lab
    );
    assert_eq!(
        report.made, 0,
        "{what}: the target's open(2) of a file of its own, a call not blocked, failed with \
         errno {}\n{said}",
        report.made
    );
    assert_eq!(
        std::fs::read_to_string(folder.0.join(&control))
            .ok()
            .as_deref(),
        Some(contents.as_str()),
        "{what}: the file the target made with open(2) and write(2)\n{said}"
    );
    let left = Path::new(&folder.0).join(&name);
    assert!(
        !report.exists && std::fs::symlink_metadata(&left).is_err(),
        "{what}: the blocked {} ran: it made {} (and returned {}): only its result was \
         changed\n{said}",
        plan.call,
        left.display(),
        report.ret
    );
    assert_eq!(
        report.ret, -1,
        "{what}: the blocked {} returned {} to the program, not -1 (a failure)\n{said}",
        plan.call, report.ret
    );
    let (seccomp, filters) = own_seccomp();
    let added = u64::from(flags.contains(&"--seccomp"));
    if filters != u64::MAX {
        assert_eq!(
            report.filters,
            filters + added,
            "{what}: the target has {} seccomp filters, where the test has {filters}: \
             blocking is the tracer's work\n{said}",
            report.filters
        );
    } else if added == 0 {
        assert_eq!(
            report.seccomp, seccomp,
            "{what}: the target's seccomp mode\n{said}"
        );
    }
    assert_eq!(
        traced.code(),
        Some(i32::from(status)),
        "{what}: the lab's exit status should be the program's\n{said}"
    );
    Run {
        traced,
        report,
        name,
    }
}

/// A blocked call must not happen: the name it would make is not there,
/// and the program sees it fail; the same with --seccomp (a filter picks
/// the stops). (A call whose result alone is changed has run.)
#[test]
fn a_blocked_call_does_not_run() {
    for flags in [&[][..], &["--seccomp"][..]] {
        run(flags, &Plan::random(CREATING_CALLS));
    }
}

/// The program sees the errno asked for (a random one), in the call's
/// result and in what it prints; and a blocked execve keeps the program
/// from starting.
#[test]
fn the_program_sees_the_errno_asked_for() {
    let plan = Plan::random(CREATING_CALLS);
    let run = run(&[], &plan);
    let wanted = plan.errno as i32;
    assert_eq!(
        run.report.errno,
        wanted,
        "--errno {:?}: the program saw errno {} ({}), not {wanted}\n{}",
        plan.errno,
        run.report.errno,
        Errno::from_raw(run.report.errno).desc(),
        tail(&run.traced.stderr())
    );
    let line = format!(
        "target: {}: failed: {}\n",
        plan.call,
        std::io::Error::from_raw_os_error(wanted)
    );
    assert!(
        run.traced.stdout().contains(&line),
        "the program prints {line:?}: {}",
        run.traced.stdout()
    );
    same_as_demo(
        &["--block", "execve", "--", "/bin/true"],
        "blocking_execve_means_the_program_never_starts",
    );
}

/// Signals reach the program's handlers: a signal chosen at random (a
/// classic or a real-time one) with a random value, queued by the target
/// to itself while a call of its is blocked; a trapped SIGUSR1 in a shell,
/// and a real-time signal.
#[test]
fn signals_reach_the_program() {
    let signals: Vec<i32> = [libc::SIGUSR1, libc::SIGUSR2]
        .into_iter()
        .chain((0..8).map(|n| libc::SIGRTMIN() + n))
        .collect();
    let plan = Plan {
        signal: pick(&signals),
        value: random_u64() >> 1,
        ..Plan::random(CREATING_CALLS)
    };
    let run = run(&[], &plan);
    assert_eq!(
        (run.report.handled, run.report.value),
        (1, plan.value),
        "signal {} queued with value {:#x}: (times the handler ran, the value it got)\n{}",
        plan.signal,
        plan.value,
        tail(&run.traced.stderr())
    );
    let script = "trap 'echo caught' USR1; kill -USR1 $$; echo after; exit 3";
    let output = workbook::testing::run(lab().args(["--", "bash", "-c", script]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "caught\nafter\n",
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    tracer_checks::realtime_signal_reaches_its_handler(lab());
}

/// With --trace, the blocked call's line shows the name it was to make
/// (read from the tracee's memory: the test chose it) and the errno; the
/// built-in target's default run, and --seccomp --trace, are the demo's.
#[test]
fn the_trace_and_the_default_run_are_the_demos() {
    let plan = Plan::random(&["mkdirat", "mknodat"]);
    let run = run(&["--trace"], &plan);
    let mode = match plan.call {
        "mkdirat" => 0o755u32,
        _ => libc::S_IFIFO | 0o600,
    };
    let line = format!(
        "{}(AT_FDCWD, \"{}\", {mode:#x}) = -1 {} (blocked)",
        plan.call,
        run.name,
        errno_name(plan.errno)
    );
    let stderr = run.traced.stderr();
    assert!(
        stderr.lines().any(|shown| shown == line),
        "--trace should show {line:?}:\n{}",
        tail(&stderr)
    );
    same_as_demo(&[], "default_run_blocks_socket_only");
    same_as_demo(
        &["--seccomp", "--trace"],
        "seccomp_trace_shows_only_the_filtered_calls",
    );
}
