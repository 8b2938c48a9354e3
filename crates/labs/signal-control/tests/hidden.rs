//! The grader's own tests of lab-signal-control (students have grade.rs
//! only): the same task, other cases.

use super::{another_signal, run, Send, Step};

/// The signal turned into is blocked when the turned one arrives: it waits,
/// pending, and reaches its handler once unblocked, with the siginfo kept.
#[test]
fn a_signal_turned_into_a_blocked_one_waits() {
    let from = another_signal(&[]);
    let to = another_signal(&[from]);
    let run = run(
        from,
        to,
        vec![
            Step {
                keep_blocked: vec![to],
                sends: vec![Send::sigqueue(from)],
            },
            Step {
                keep_blocked: vec![to],
                sends: vec![Send::kill(from)],
            },
        ],
    );
    run.assert_delivered(
        "A signal turned into one the program blocks must wait until it is unblocked, \
         and then arrive once, with the siginfo it was sent with.",
    );
}

/// Real-time signals queue: three of the same, each with its own value,
/// pending together, each arrive turned with its own value; another
/// queued beside them arrives as itself.
#[test]
fn each_queued_signal_keeps_its_own_value() {
    let realtime: Vec<i32> = (34..=64).collect();
    let from = workbook::targets::mailbox::test::pick(&realtime);
    let to = loop {
        let to = workbook::targets::mailbox::test::pick(&realtime);
        if to != from {
            break to;
        }
    };
    let other = another_signal(&[from, to]);
    let run = run(
        from,
        to,
        vec![Step::sending(&[
            Send::sigqueue(from),
            Send::sigqueue(other),
            Send::sigqueue(from),
            Send::sigqueue(from),
        ])],
    );
    run.assert_delivered(
        "Each real-time signal queued must arrive turned with its own value: the siginfo of \
         each stop is that signal's own.",
    );
}
