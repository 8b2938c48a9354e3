//! Grading tests for lab-syscall-overhead. It measures, so its numbers
//! can't be compared: the tests never check how fast anything is. They
//! check what your code must get right whatever the speed, with inputs only
//! they know: how many times your tracers stopped a target that made a
//! number of calls chosen at random, and the bytes your read returns of a
//! buffer filled from a seed chosen at random. Each test's points are in
//! lab.toml.
//!
//! Your code runs only in the lab binary, never in this process. The
//! targets are the demo's, started from its binary: your tracers trace them
//! through `lab-syscall-overhead --count-stops ROW -- CMD`.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::workspace_bin;

#[path = "../../../syscall-overhead/tests/common/calls.rs"]
mod calls;
use calls::{count_stops, random_count};

/// `lab-syscall-overhead --count-stops ROW` on the demo's `calls` target,
/// told to make `count` calls of `syscall`: the stops your tracer counted.
fn stops(row: &str, syscall: i64, count: u64) -> u64 {
    let lab = get_cargo_bin("lab-syscall-overhead");
    let demo = workspace_bin("syscall-overhead");
    let counted = count_stops(&lab, &demo, row, syscall, count);
    let what = format!("`lab-syscall-overhead --count-stops {row}` ({count} calls)");
    assert!(
        counted.output.status.success(),
        "{what} failed ({}): {}",
        counted.output.status,
        String::from_utf8_lossy(&counted.output.stderr)
    );
    counted.stops(&what)
}

/// Your syscall_stops (the row "ptrace: PTRACE_SYSCALL, 2 stops a call")
/// on a target that makes getppid calls, two runs with counts chosen at
/// random and told to the target alone: two stops a call, so the counts
/// differ by twice the difference of the calls (the target's other calls,
/// its start-up and exit, are the same in both runs).
#[test]
fn ptrace_syscall_stops_twice_a_call() {
    let first = random_count(50, 1000);
    let second = loop {
        let count = random_count(50, 1000);
        if count != first {
            break count;
        }
    };
    let (a, b) = (
        stops("syscall", libc::SYS_getppid, first),
        stops("syscall", libc::SYS_getppid, second),
    );
    assert!(
        a >= 2 * first && b >= 2 * second,
        "{a} stops for {first} getppid calls, {b} for {second}: at least two a call"
    );
    assert_eq!(
        a as i64 - b as i64,
        2 * (first as i64 - second as i64),
        "{a} stops for {first} getppid calls, {b} for {second}: the difference must be \
         two stops for each call more, no fewer, no more"
    );
}

/// Your seccomp_stops (the row "ptrace: SECCOMP_RET_TRACE, no stops"),
/// with the row's filter, which returns SECCOMP_RET_TRACE for reboot(2)
/// alone: a target that makes a number of reboot calls chosen at random
/// (each fails: no magic numbers) stops exactly that many times, one that
/// makes only getppid calls never.
#[test]
fn seccomp_ret_trace_stops_at_the_traced_calls_only() {
    let count = random_count(1, 300);
    assert_eq!(
        stops("seccomp", libc::SYS_reboot, count),
        count,
        "seccomp stops for {count} reboot calls: one each, and none for anything else"
    );
    let count = random_count(1, 300);
    assert_eq!(
        stops("seccomp", libc::SYS_getppid, count),
        0,
        "seccomp stops for {count} getppid calls, which the filter allows"
    );
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
