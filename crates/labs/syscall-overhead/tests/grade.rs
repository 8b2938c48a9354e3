//! Grading tests for lab-syscall-overhead. It measures, so its numbers
//! can't be compared: the tests run it with tiny loops and one run, and
//! check the shape of what it prints and the bytes it reads, never how fast
//! anything is. Each test's points are in lab.toml.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use insta_cmd::get_cargo_bin;
use nix::unistd::Pid;
use workbook::targets::overhead::{pattern, BUFFER_LEN};

/// Your lab.rs, compiled into this test too, for `vm_readv` (the tracers
/// run only in the lab).
#[allow(dead_code)]
#[path = "../src/lab.rs"]
mod lab;

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

/// The built-in target `buffer`, killed and reaped however the test ends.
struct Buffer(Child);

impl Drop for Buffer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Your `vm_readv` on the `buffer` target, untraced: it fills 1 MiB with
/// a pattern, prints the address and stops itself with SIGSTOP.
/// process_vm_readv needs no tracer, only the right to trace (a child of
/// ours).
#[test]
fn vm_readv_reads_the_whole_buffer() {
    let mut command = Command::new(get_cargo_bin("lab-syscall-overhead"));
    command.arg0("builtin:buffer").stdout(Stdio::piped());
    workbook::testing::limited(&mut command);
    let mut target = Buffer(command.spawn().expect("starting the buffer target"));
    let mut line = String::new();
    BufReader::new(target.0.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("reading the buffer's address");
    let address = u64::from_str_radix(line.trim().trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("the buffer target printed {line:?}, not an address"));
    let pid = Pid::from_raw(target.0.id() as i32);
    let bytes = lab::vm_readv(pid, address).expect("vm_readv");
    assert_eq!(bytes.len(), BUFFER_LEN, "all of the buffer, and no more");
    let wrong = bytes
        .iter()
        .enumerate()
        .find(|&(i, &byte)| byte != pattern(i));
    assert_eq!(wrong, None, "the first byte that is not the target's");
}
