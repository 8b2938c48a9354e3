//! syscall-overhead measures, so its numbers can't be snapshotted: these
//! tests run it with tiny loops and one run, and check the shape of what it
//! prints. Never how fast anything is: that claim lives in the chapter.

use std::process::{Command, Output};

use insta_cmd::get_cargo_bin;
use syscall_overhead::watchers::LIBSECCOMP_LECTURE;
use workbook::assert_limited_snapshot;
use workbook::testing::{assert_no_orphaned_targets, run};

const LABELS: &[&str] = &[
    "baseline: untraced",
    "seccomp: allow everything, 1 instruction",
    "seccomp: the lecture's 4 checks",
    LIBSECCOMP_LECTURE,
    "seccomp: 300 checks in a row",
    "seccomp: libseccomp, the 300 as a tree",
    "seccomp: reads an argument, then allows",
    "seccomp: reads an argument, then 300 checks",
    "ptrace: PTRACE_SYSCALL, 2 stops a call",
    ACROSS_TWO_CPUS,
    "ptrace: SECCOMP_RET_TRACE, no stops",
    "notify: USER_NOTIF, CONTINUE each call",
    "notify: USER_NOTIF, a value for each call",
    NOTIFY_ACROSS_TWO_CPUS,
];

/// The rows whose tracee runs on another CPU; skipped where there is one.
const ACROSS_TWO_CPUS: &str = "ptrace: PTRACE_SYSCALL, across two CPUs";
const NOTIFY_ACROSS_TWO_CPUS: &str = "notify: USER_NOTIF, across two CPUs";

const STRACE_LABELS: &[&str] = &["reference: strace -f", "reference: strace --seccomp-bpf -f"];

fn quick_command(extra: &[&str]) -> Command {
    let mut command = Command::new(get_cargo_bin("syscall-overhead"));
    command.args(["-n", "40", "-r", "1"]).args(extra);
    command
}

fn quick(extra: &[&str]) -> Output {
    let output = run(&mut quick_command(extra));
    assert!(
        output.status.success(),
        "syscall-overhead failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn has_strace() -> bool {
    workbook::program::find_executable("strace".as_ref()).is_ok()
        && workbook::program::find_executable("bash".as_ref()).is_ok()
}

/// How many CPUs this test may run on: with one, the row across two CPUs
/// is skipped.
fn usable_cpus() -> usize {
    let allowed = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    (0..nix::sched::CpuSet::count())
        .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
        .count()
}

#[path = "common/table.rs"]
mod table;
use table::{figures, row_figures};

#[test]
fn every_row_has_positive_figures() {
    let output = quick(&[]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line_of = |label: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no row {label:?} in:\n{stdout}"))
            .to_string()
    };
    assert!(
        stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("tracer and tracee pinned to CPU "),
        "the pinning is said in:\n{stdout}"
    );
    let strace = has_strace();
    let apart = usable_cpus() > 1;
    for label in LABELS
        .iter()
        .filter(|&&label| apart || (label != ACROSS_TWO_CPUS && label != NOTIFY_ACROSS_TWO_CPUS))
        .chain(if strace { STRACE_LABELS } else { &[] })
    {
        let line = line_of(label);
        let ns = row_figures(&line, label);
        assert_eq!(ns.len(), 3, "median, min, max in {line:?}");
        assert!(
            ns.iter().all(|&ns| ns > 0.0),
            "positive figures in {line:?}"
        );
    }
    if !strace {
        for label in STRACE_LABELS {
            assert!(line_of(label).contains("skipped"));
        }
    }
    if !apart {
        for label in [ACROSS_TWO_CPUS, NOTIFY_ACROSS_TWO_CPUS] {
            assert!(line_of(label).contains("skipped: this process may use one CPU only"));
        }
    }
    let rates: Vec<f64> = stdout
        .lines()
        .flat_map(|line| figures(line, " MB/s"))
        .collect();
    assert_eq!(rates.len(), 3, "three memory reads in:\n{stdout}");
    assert!(rates.iter().all(|&rate| rate > 0.0));
    assert!(stdout.contains("the bytes matched the target's pattern, all three ways"));
    assert_no_orphaned_targets();
}

#[test]
fn json_has_the_rows_and_the_reads() {
    let output = quick(&["--json"]);
    let json = String::from_utf8(output.stdout).unwrap();
    let json = json.trim();
    assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
    assert_eq!(
        json.matches('{').count(),
        json.matches('}').count(),
        "balanced braces in {json}"
    );
    for key in [
        "\"runs\": 1",
        "\"cpu\": ",
        "\"other_cpu\": ",
        "\"syscalls\": [",
        "\"median_ns\": ",
        "\"bytes_match\": true",
    ] {
        assert!(json.contains(key), "{key} in {json}");
    }
    for label in LABELS {
        let quoted = format!("\"setting\": \"{}\"", label);
        assert!(json.contains(&quoted), "{quoted} in {json}");
    }
    assert_eq!(json.matches("\"mb_per_s\": ").count(), 3);
}

#[test]
fn svg_chart_is_written() {
    let path = std::env::temp_dir().join(format!("syscall-overhead-{}.svg", std::process::id()));
    quick(&["--svg", path.to_str().unwrap()]);
    let svg = std::fs::read_to_string(&path).expect("the chart was written");
    let _ = std::fs::remove_file(&path);
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.contains("baseline: untraced"));
}

/// A path that can't be written fails at once, before any measuring, in
/// one line that names it.
#[test]
fn svg_path_is_checked_before_measuring() {
    assert_limited_snapshot!(
        Command::new(get_cargo_bin("syscall-overhead")).args(["--svg", "/nonexistent/x.svg"])
    );
}

/// A chart that can't be written after measuring loses no table: /dev/full
/// opens, and every write to it fails.
#[test]
fn svg_write_failure_keeps_the_tables() {
    let output = run(&mut quick_command(&["--svg", "/dev/full"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("baseline: untraced"), "{stdout}");
    assert!(
        stdout.contains("the bytes matched the target's pattern, all three ways"),
        "{stdout}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "syscall-overhead: writing /dev/full: No space left on device (os error 28)"
    );
    assert_no_orphaned_targets();
}

#[test]
fn zero_runs_is_a_usage_error() {
    let output = run(Command::new(get_cargo_bin("syscall-overhead")).args(["--runs", "0"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--runs"));
}

#[path = "common/calls.rs"]
mod calls;

/// `--count-stops ROW -- CMD` runs CMD under the row's tracer and says how
/// many times it stopped. The `calls` target, told over a socket how many
/// calls to make: under PTRACE_SYSCALL each getppid call is two stops more,
/// under SECCOMP_RET_TRACE each reboot call one, each getppid call none.
#[test]
fn count_stops_counts_the_targets_calls() {
    let demo = get_cargo_bin("syscall-overhead");
    let counted = |row, syscall, count| {
        let counted = calls::count_stops(&demo, &demo, row, syscall, count);
        assert!(counted.output.status.success(), "{row} {count}");
        let stderr = String::from_utf8_lossy(&counted.output.stderr).into_owned();
        let line = stderr.lines().last().unwrap_or_default().to_string();
        assert!(
            line.starts_with("syscall-overhead: bash -c ")
                && line.ends_with(", then exited with status 0"),
            "{stderr}"
        );
        counted.stops(row)
    };
    // The runs differ only in the counted calls: count_stops turns address
    // randomization off. With it on, arm64's dynamic loader made one or two
    // munmap calls fewer in about one run in five (2 or 4 stops).
    let calls = calls::random_count(20, 200);
    let few = counted("syscall", libc::SYS_getppid, calls);
    let more = counted("syscall", libc::SYS_getppid, calls + 100);
    assert!(few >= 2 * calls, "{few} stops for {calls} calls");
    assert_eq!(
        more - few,
        200,
        "{few} stops for {calls} calls, {more} for {} calls",
        calls + 100
    );
    assert_eq!(counted("seccomp", libc::SYS_reboot, calls), calls);
    assert_eq!(counted("seccomp", libc::SYS_getppid, 25), 0);
}

/// --count-stops wants a command, and goes with no measuring option.
#[test]
fn count_stops_usage_errors() {
    for args in [
        &["--count-stops", "syscall"][..],
        &["--count-stops", "syscall", "-r", "3", "--", "true"],
        &["--", "true"],
    ] {
        let output = run(Command::new(get_cargo_bin("syscall-overhead")).args(args));
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[path = "common/buffer.rs"]
mod buffer;
use buffer::Buffer;

/// `--read-buffer PID ADDRESS`: the 1 MiB of a `buffer` target started by
/// the test (so the demo is not its parent), read with process_vm_readv and
/// written to stdout; the test knows the bytes from the seed it gave.
#[test]
fn read_buffer_writes_the_targets_bytes() {
    let target = Buffer::start(&get_cargo_bin("syscall-overhead"));
    let output = run(Command::new(get_cargo_bin("syscall-overhead")).args([
        "--read-buffer",
        &target.pid(),
        &target.address,
    ]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr, "");
    target.assert_read(&output.stdout, "syscall-overhead --read-buffer");
    drop(target);
    assert_no_orphaned_targets();
}

/// No such process: one line, naming the call and the errno.
#[test]
fn read_buffer_of_no_process() {
    assert_limited_snapshot!(Command::new(get_cargo_bin("syscall-overhead")).args([
        "--read-buffer",
        "2147483647",
        "0x1000"
    ]));
}

/// Two numbers, and nothing that belongs to measuring; anything else is a
/// usage error.
#[test]
fn read_buffer_usage_errors() {
    for args in [
        &["--read-buffer", "1"][..],
        &["--read-buffer", "1", "x1000"],
        &["--read-buffer", "1", "0x1000", "--json"],
        &["-n", "5", "--read-buffer", "1", "0x1000"],
    ] {
        let output = run(Command::new(get_cargo_bin("syscall-overhead")).args(args));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--read-buffer"), "{args:?}: {stderr}");
    }
}

#[test]
fn help() {
    assert_limited_snapshot!(Command::new(get_cargo_bin("syscall-overhead")).arg("--help"));
}
