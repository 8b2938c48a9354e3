//! The grader's own tests for lab-attach-seize (not in the students' copy).

use super::{random_in, Held};

/// Threads that end after the lab listed them, before it seized them, are
/// skipped (PTRACE_SEIZE says ESRCH); the others, late ones too, are all
/// held, then all let go, and the process ends normally.
#[test]
fn threads_that_end_while_attaching_are_skipped() {
    let initial = random_in(4, 8);
    let (end, late) = (random_in(1, initial - 2), random_in(1, 4));
    let held = Held::run(initial, end, late);
    held.assert_all_held();
    held.assert_released(initial + late);
}
