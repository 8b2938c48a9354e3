//! The grader's own tests for lab-write-rewriter (not in the students'
//! copy): the same checks as tests/grade.rs, on other cases.

use workbook::targets::mailbox::test::{pick, random_in};

use super::{run, two_fds, Kind, Piece, Step};

/// A writev to the chosen descriptor with one buffer in a shared, writable
/// mapping of a file, between two on the heap: the heap buffers are ROT13,
/// the shared one is left as it is (its pages are the file's, which must not
/// change), and comes out unchanged.
#[test]
fn a_shared_mapping_is_left_alone() {
    let (chosen, _) = two_fds();
    let shared = Piece::new(Kind::SharedFile, random_in(20..=300) as usize);
    run(
        chosen,
        &[chosen],
        &[Step::Writev(
            chosen,
            vec![Piece::heap(), shared, Piece::heap()],
        )],
    );
}

/// Eight calls at random, write or writev (of 1 to 6 iovecs, some of them
/// empty), from buffers of every private kind, to the chosen descriptor,
/// another file or stdout.
#[test]
fn a_random_mix_of_writes_and_writevs() {
    let (chosen, other) = two_fds();
    let piece = || {
        let len = pick(&[0, 1, 7, 8, 9, 64, 300, 1000]) as usize;
        Piece::new(pick(&[Kind::Heap, Kind::ReadOnly, Kind::PrivateFile]), len)
    };
    let steps = (0..8)
        .map(|_| {
            let fd = pick(&[chosen, chosen, other, 1]);
            if random_in(0..=1) == 0 {
                Step::Write(fd, piece())
            } else {
                Step::Writev(fd, (0..random_in(1..=6)).map(|_| piece()).collect())
            }
        })
        .collect::<Vec<_>>();
    run(chosen, &[chosen, other], &steps);
}
