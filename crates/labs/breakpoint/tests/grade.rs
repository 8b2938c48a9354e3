//! Grading tests for lab-breakpoint. The lab follows a function of the
//! demo's own built-in target (trusted code, not the lab's), run in a
//! mailbox mode: the test posts the calls' arguments (random, a random
//! number of calls, and a random exit status) into the target's memory,
//! past the lab, and reads back what the target saw: the function's first
//! bytes before each call (0xCC, or arm64's BRK #0, only while the
//! breakpoint at its entry is in place), what each call returned and what
//! its caller received.
//! `lucky_draw` returns 8 bytes from getrandom(2), drawn inside it: nobody,
//! the test included, knows a result before the function has returned, and
//! the target does not print it. So the values the lab reports can only
//! come from the tracee's registers at the return, and the target's report,
//! not the lab's output, says whether the program ran as without the lab.
//! Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::path::PathBuf;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::arch;
use workbook::targets::mailbox::test::{random_in, random_u64, Target, Traced};
use workbook::targets::mailbox::{Reader, Writer};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-breakpoint"));
    workbook::testing::limited(&mut command);
    command
}

/// The demo's binary: the built-in target comes from it, never from the lab.
fn demo() -> PathBuf {
    workbook::testing::workspace_bin("breakpoint")
}

/// The last lines of the lab's stderr, for a failure message.
fn tail(traced: &Traced) -> String {
    workbook::targets::mailbox::test::tail(&traced.stderr())
}

/// A run of the lab with `--break function` on the demo's target
/// `builtin:breakme mode`, which gets `input` through its mailbox.
fn follow(function: &str, mode: &str, input: &Writer) -> Traced {
    let target = Target::new(&demo(), "breakme", &[mode]);
    let mut command = lab();
    command
        .args(["--break", function, "--"])
        .args(target.argv());
    target.run(&mut command, &input.0)
}

/// The values the lab reported, in order: its lines `... returned 0x...`.
fn reported(traced: &Traced) -> Vec<u64> {
    traced
        .stderr()
        .lines()
        .filter_map(|line| line.split_once(" returned 0x"))
        .filter_map(|(_, value)| u64::from_str_radix(value.trim(), 16).ok())
        .collect()
}

/// One call of lucky_draw, as the target reported it.
#[derive(Debug)]
struct Draw {
    /// lucky_draw's first bytes before the call (`arch::BREAKPOINT_VALUE`
    /// while the breakpoint at its entry is planted).
    seen: u64,
    /// What lucky_draw returned, as it recorded it itself.
    returned: u64,
    /// What its caller received.
    received: u64,
}

/// A run of the lab with `--break lucky_draw` on the demo's target, which
/// draws `count` times (random) with random arguments and exits with a
/// random status; the target has reported, and the int3 at the entry was
/// in place at every call.
struct Run {
    traced: Traced,
    draws: Vec<Draw>,
    status: u8,
}

fn draws() -> Run {
    let status = random_in(0..=99) as u8;
    let count = random_in(2..=6);
    let mut input = Writer::new();
    input.u64(u64::from(status)).u64(count);
    for _ in 0..count {
        input.u64(random_u64());
    }
    let traced = follow("lucky_draw", "mailbox-draws", &input);
    let mut report = Reader::new(traced.report());
    assert_eq!(
        report.u64().expect("the report's count"),
        count,
        "the target's calls"
    );
    let mut draws = Vec::new();
    for number in 1..=count {
        let draw = Draw {
            seen: report.u64().expect("a byte in the report"),
            returned: report.u64().expect("a result in the report"),
            received: report.u64().expect("a result in the report"),
        };
        assert_eq!(
            draw.seen,
            arch::BREAKPOINT_VALUE,
            "before call {number} of {count}, lucky_draw began with {:#04x}, not {} ({:#04x}) \
             that main.rs plants at its entry: the program was not run under the lab's \
             breakpoint\nthe lab's stderr:\n{}",
            draw.seen,
            arch::A_BREAKPOINT,
            arch::BREAKPOINT_VALUE,
            tail(&traced)
        );
        draws.push(draw);
    }
    Run {
        traced,
        draws,
        status,
    }
}

/// Each call's return value, reported once and in order: what lucky_draw
/// returned (random, drawn inside it) is what the lab read at the return.
#[test]
fn every_return_value_is_reported() {
    let run = draws();
    let returned: Vec<u64> = run.draws.iter().map(|draw| draw.returned).collect();
    let reported = reported(&run.traced);
    assert_eq!(
        reported.len(),
        returned.len(),
        "the target called lucky_draw {} times, and the lab reported {} return values \
         ({reported:#x?}); the values lucky_draw returned: {returned:#x?}\nthe lab's stderr:\n{}",
        returned.len(),
        reported.len(),
        tail(&run.traced)
    );
    for (number, (got, wanted)) in reported.iter().zip(&returned).enumerate() {
        assert_eq!(
            got,
            wanted,
            "call {} of lucky_draw returned {wanted:#x}, and the lab reported {got:#x}\n\
             the lab's stderr:\n{}",
            number + 1,
            tail(&run.traced)
        );
    }
}

/// The return breakpoints, hit once per call, leave the program as it
/// was: each caller received what lucky_draw returned, the program's
/// output is its own, and its exit status (random) is the lab's.
#[test]
fn the_program_runs_as_without_the_lab() {
    let run = draws();
    // A program left alone runs as without the lab too: this test counts
    // only when every call was followed to its return.
    let reported = reported(&run.traced).len();
    assert_eq!(
        reported,
        run.draws.len(),
        "the target called lucky_draw {} times, and the lab reported {reported} return \
         values: each call's return breakpoint should be hit once\nthe lab's stderr:\n{}",
        run.draws.len(),
        tail(&run.traced)
    );
    for (number, draw) in run.draws.iter().enumerate() {
        assert_eq!(
            draw.received,
            draw.returned,
            "call {} of lucky_draw returned {:#x}, but its caller received {:#x}: the \
             caller did not go on as without the return breakpoint\nthe lab's stderr:\n{}",
            number + 1,
            draw.returned,
            draw.received,
            tail(&run.traced)
        );
    }
    let count = run.draws.len();
    let stdout: String = (1..=count)
        .map(|number| format!("target: draw {number} of {count}\n"))
        .collect();
    assert_eq!(
        run.traced.stdout(),
        stdout,
        "the program's output\nthe lab's stderr:\n{}",
        tail(&run.traced)
    );
    assert_eq!(
        run.traced.code(),
        Some(i32::from(run.status)),
        "the lab should exit with the program's status, {}\nthe lab's stderr:\n{}",
        run.status,
        tail(&run.traced)
    );
}

#[cfg(feature = "hidden")]
mod hidden;
