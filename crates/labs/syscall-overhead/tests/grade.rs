//! Grading tests for lab-syscall-overhead. It measures, so its numbers
//! can't be compared: the tests run it with tiny loops and one run, and
//! check the shape of what it prints and the bytes it reads, never how fast
//! anything is. Each test's points are in lab.toml.
//!
//! Your code runs only in the lab binary, never in this process.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::workspace_bin;

/// Every row of the demo's table, but strace's, which need strace and bash.
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

#[path = "../../../syscall-overhead/tests/common/table.rs"]
mod table;
use table::{figures, row_figures};

/// A quick run: every row measured (your tracers stop the target as they
/// should, or the lab says so and fails), every figure positive, and the
/// three reads of the tracee's buffer return its bytes.
#[test]
fn every_row_is_measured() {
    let mut command = Command::new(get_cargo_bin("lab-syscall-overhead"));
    command.args(["-n", "40", "-r", "1"]);
    let output = workbook::testing::run(&mut command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the lab failed: {stderr}\n{stdout}"
    );
    for label in LABELS {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no row {label:?} in:\n{stdout}"));
        let ns = row_figures(line, label);
        assert_eq!(ns.len(), 3, "median, min, max in {line:?}");
        assert!(
            ns.iter().all(|&ns| ns > 0.0),
            "positive figures in {line:?}"
        );
    }
    let rates: Vec<f64> = stdout
        .lines()
        .flat_map(|line| figures(line, " MB/s"))
        .collect();
    assert_eq!(rates.len(), 3, "three memory reads in:\n{stdout}");
    assert!(rates.iter().all(|&rate| rate > 0.0), "{stdout}");
    assert!(
        stdout.contains("the bytes matched the target's pattern, all three ways"),
        "{stdout}"
    );
    workbook::testing::assert_no_orphaned_targets();
}

#[path = "../../../syscall-overhead/tests/common/buffer.rs"]
mod buffer;
use buffer::Buffer;

/// Your `vm_readv`, in the lab (`lab-syscall-overhead --read-buffer PID
/// ADDRESS`), on the `buffer` target: started by this test from the demo's
/// binary, it fills 1 MiB from a seed chosen at random for this run, prints
/// the address and stops itself with SIGSTOP. process_vm_readv needs no
/// tracer, only the right to trace it. The bytes must be the target's, all
/// of them.
#[test]
fn vm_readv_reads_the_whole_buffer() {
    let target = Buffer::start(&workspace_bin("syscall-overhead"));
    let output =
        workbook::testing::run(Command::new(get_cargo_bin("lab-syscall-overhead")).args([
            "--read-buffer",
            &target.pid(),
            &target.address,
        ]));
    assert!(
        output.status.success(),
        "`lab-syscall-overhead --read-buffer` failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    target.assert_read(&output.stdout, "what your vm_readv read");
}
