//! The grader's own tests of lab-refuse-trace (not in the students' copy):
//! a debugger that takes its int3 out again, and one that plants two.

use super::*;

/// A debugger plants an int3 at a random offset, then puts the original
/// byte back before it leaves: greet() is as it was, and runs. Then, against
/// an answer that refuses whenever somebody attached, one int3 is left in.
#[test]
fn an_int3_taken_out_again_is_no_breakpoint() {
    let (ended, pokes) = run_with_debugger(|original| {
        let offset = random_offsets(original, 1)[0];
        vec![(offset, 0xcc), (offset, original[offset])]
    });
    assert_ran_greet(
        &ended,
        &format!(
            "a debugger planted an int3 at offset {} and took it out again",
            pokes[0].0
        ),
    );
    let (ended, pokes) = run_with_debugger(|original| {
        let offsets = random_offsets(original, 2);
        vec![
            (offsets[0], 0xcc),
            (offsets[1], 0xcc),
            (offsets[0], original[offsets[0]]),
        ]
    });
    let left = pokes[1].0;
    assert_refused_at(
        &ended,
        left,
        &format!(
            "a debugger planted int3s at offsets {} and {left}, and took the first out again",
            pokes[0].0
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
                .map(|offset| (offset, 0xcc))
                .collect()
        });
        let offsets: Vec<usize> = pokes.iter().map(|&(offset, _)| offset).collect();
        let first = *offsets.iter().min().expect("planted");
        assert_refused_at(
            &ended,
            first,
            &format!("a debugger planted int3s at offsets {offsets:?}"),
        );
    }
}
