//! The grader's own tests for lab-syscall-overhead (not in the students'
//! copy): values past 32 bits, and runs of one call and of none. Their
//! points are in lab.toml's [hidden] table.

use workbook::targets::mailbox::test::random_in;

use super::{assert_emulated, run};

/// A value past 32 bits (2^33 to 2^62): the whole register is the answer.
#[test]
fn a_value_past_32_bits() {
    let (calls, value) = (random_in(1..=40), random_in(1 << 33..=1 << 62));
    let report = run(calls, value);
    assert_emulated(&report, value);
}

/// One emulated call, then none: the loop ends at the first other call,
/// whether or not a getppid came before it.
#[test]
fn one_call_and_none() {
    for calls in [1, 0] {
        let value = random_in(1 << 23..=(1 << 31) - 1);
        let report = run(calls, value);
        assert_emulated(&report, value);
    }
}
