//! The grader's own tests of lab-refuse-trace (not in the students' copy):
//! a debugger that takes its breakpoint (int3, or BRK #0 on arm64) out
//! again, and one that plants two.

use super::*;

/// A debugger plants an int3 at a random offset, then puts the original
/// byte back before it leaves: greet() is as it was, and runs. Then, against
/// an answer that refuses whenever somebody attached, one int3 is left in.
#[test]
fn an_int3_taken_out_again_is_no_breakpoint() {
    let (ended, pokes) = run_with_debugger(|original| {
        let offset = random_offsets(original, 1)[0];
        [breakpoint_at(offset), original_at(original, offset)].concat()
    });
    assert_ran_greet(
        &ended,
        &format!(
            "a debugger planted {} at offset {} and took it out again",
            workbook::arch::A_BREAKPOINT,
            pokes[0].0
        ),
    );
    let (ended, pokes) = run_with_debugger(|original| {
        let offsets = random_offsets(original, 2);
        [
            breakpoint_at(offsets[0]),
            breakpoint_at(offsets[1]),
            original_at(original, offsets[0]),
        ]
        .concat()
    });
    let (taken_out, left) = (pokes[0].0, pokes[BREAKPOINT.len()].0);
    assert_refused_at(
        &ended,
        left,
        &format!(
            "a debugger planted {} at offsets {taken_out} and {left}, and took the first out \
             again",
            workbook::arch::BREAKPOINT_NAME
        ),
    );
}

/// Two or three int3s at random offsets: the lab names the first one (the
/// lowest offset), twice.
#[test]
fn of_several_int3s_the_first_is_named() {
    for count in [2, 3] {
        let (ended, pokes) = run_with_debugger(|original| {
            random_offsets(original, count)
                .into_iter()
                .rev()
                .flat_map(breakpoint_at)
                .collect()
        });
        // Each breakpoint's pokes, its first byte's offset.
        let offsets: Vec<usize> = pokes
            .iter()
            .step_by(BREAKPOINT.len())
            .map(|&(offset, _)| offset)
            .collect();
        let first = *offsets.iter().min().expect("planted");
        assert_refused_at(
            &ended,
            first,
            &format!(
                "a debugger planted {} at offsets {offsets:?}",
                workbook::arch::BREAKPOINT_NAME
            ),
        );
    }
}
