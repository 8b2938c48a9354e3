//! The grader's own tests for lab-breakpoint (students do not have this
//! file): another function, another caller. target_fn(n, seed, shift) =
//! (n * n + seed) << shift, in the demo's `mailbox` mode, with random
//! arguments whose first has bits in its upper half: the test knows each
//! result, the lab must report it, and the caller must get it whole.

use super::*;

/// One call of target_fn.
#[derive(Clone, Copy, Debug)]
struct Call {
    n: u64,
    seed: u64,
    shift: u64,
}

impl Call {
    fn random() -> Call {
        Call {
            n: random_in(1 << 32..=u64::MAX),
            seed: random_u64(),
            shift: random_in(0..=3),
        }
    }

    fn result(self) -> u64 {
        self.n
            .wrapping_mul(self.n)
            .wrapping_add(self.seed)
            .wrapping_shl(self.shift as u32)
    }
}

/// `--break target_fn`: every call's result reported, in order, the int3
/// at the entry in place at every call, and the program as without the
/// lab: each result right, its output its own, its exit status the lab's.
#[test]
fn target_fn_results_are_reported_and_received_whole() {
    let status = random_in(0..=99) as u8;
    let calls: Vec<Call> = (0..random_in(2..=6)).map(|_| Call::random()).collect();
    let mut input = Writer::new();
    input.u64(u64::from(status)).u64(calls.len() as u64);
    for call in &calls {
        input.u64(call.n).u64(call.seed).u64(call.shift);
    }
    let traced = follow("target_fn", "mailbox", &input);
    let mut report = Reader::new(traced.report());
    assert_eq!(
        report.u64().expect("the report's count"),
        calls.len() as u64,
        "the target's calls"
    );
    let wanted: Vec<u64> = calls.iter().map(|call| call.result()).collect();
    let mut received = Vec::new();
    for number in 1..=calls.len() {
        let seen = report.u64().expect("a byte in the report");
        assert_eq!(
            seen,
            workbook::arch::BREAKPOINT_VALUE,
            "before call {number}, target_fn began with {seen:#04x}, not {} ({:#04x}) at \
             its entry: the program was not run under the lab's breakpoint\n\
             the lab's stderr:\n{}",
            workbook::arch::A_BREAKPOINT,
            workbook::arch::BREAKPOINT_VALUE,
            tail(&traced)
        );
        received.push(report.u64().expect("a result in the report"));
    }
    assert_eq!(
        reported(&traced),
        wanted,
        "the return values the lab reported, for the calls {calls:x?}\nthe lab's stderr:\n{}",
        tail(&traced)
    );
    assert_eq!(
        received,
        wanted,
        "the results target_fn's caller received, for the calls {calls:x?}\nthe lab's stderr:\n{}",
        tail(&traced)
    );
    let stdout: String = wanted
        .iter()
        .enumerate()
        .map(|(at, result)| format!("target: call {} = {result:#x}\n", at + 1))
        .collect();
    assert_eq!(
        traced.stdout(),
        stdout,
        "the program's output\nthe lab's stderr:\n{}",
        tail(&traced)
    );
    assert_eq!(
        traced.code(),
        Some(i32::from(status)),
        "the lab should exit with the program's status, {status}\nthe lab's stderr:\n{}",
        tail(&traced)
    );
}
