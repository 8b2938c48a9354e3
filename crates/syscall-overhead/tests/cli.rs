//! syscall-overhead measures, so its numbers can't be snapshotted: these
//! tests run it with tiny loops and one run, and check the shape of what it
//! prints. Never how fast anything is: that claim lives in the chapter.

use std::process::{Command, Output};

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};
use workbook::testing::assert_no_orphaned_targets;

const LABELS: &[&str] = &[
    "baseline: untraced",
    "seccomp: allow everything, 1 instruction",
    "seccomp: the lecture's 4 checks",
    "seccomp: libseccomp, the lecture's 42 traps",
    "seccomp: 300 checks in a row",
    "seccomp: libseccomp, the 300 as a tree",
    "seccomp: reads an argument, then allows",
    "seccomp: reads an argument, then 300 checks",
    "ptrace: PTRACE_SYSCALL, 2 stops a call",
    "ptrace: SECCOMP_RET_TRACE, no stops",
];

const STRACE_LABELS: &[&str] = &["reference: strace -f", "reference: strace --seccomp-bpf -f"];

fn quick(extra: &[&str]) -> Output {
    let output = Command::new(get_cargo_bin("syscall-overhead"))
        .args(["-n", "40", "-r", "1"])
        .args(extra)
        .output()
        .expect("running syscall-overhead");
    assert!(
        output.status.success(),
        "syscall-overhead failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn has_strace() -> bool {
    workbook::process::find_executable("strace".as_ref()).is_ok()
        && workbook::process::find_executable("bash".as_ref()).is_ok()
}

/// The numbers right before each " ns" or " MB/s" on a line.
fn figures(line: &str, unit: &str) -> Vec<f64> {
    line.split(unit)
        .filter_map(|before| before.split_whitespace().last())
        .filter_map(|word| word.parse().ok())
        .collect()
}

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
    let strace = has_strace();
    for label in LABELS
        .iter()
        .chain(if strace { STRACE_LABELS } else { &[] })
    {
        let line = line_of(label);
        let ns = figures(&line, " ns");
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

#[test]
fn zero_runs_is_a_usage_error() {
    let output = Command::new(get_cargo_bin("syscall-overhead"))
        .args(["--runs", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--runs"));
}

#[test]
fn help() {
    assert_cmd_snapshot!(Command::new(get_cargo_bin("syscall-overhead")).arg("--help"));
}
