//! The grader's own tests for lab-seccomp-notify (not in the students'
//! copy): the id calls through every ABI, calls interrupted by signals,
//! and quiet spells in which nothing comes. Their points are in lab.toml's
//! [hidden] table.

use workbook::targets::mailbox::test::random_in;

use super::{check_faked, check_ids, fake_id, run, Plan};

/// The id calls through `int 0x80` (getuid32...) and x32 as well: the
/// same number means another call in another ABI, so the decision goes by
/// the call's name in its ABI (`arch` and `nr` together). On arm64 a
/// 64-bit program has no other ABI to call through (AArch32 code is a
/// program of its own): the target's calls are all native there.
#[test]
fn every_abi_gets_the_fake_id() {
    let plan = Plan {
        abis: true,
        ..Plan::new(random_in(1..=3))
    };
    let seen = run(&plan, fake_id());
    #[cfg(target_arch = "x86_64")]
    {
        let through = |abi: &str| seen.results.iter().any(|(label, ..)| label.ends_with(abi));
        assert!(
            through("[int 0x80]") && through("[x32]"),
            "{}: the target's report has no int 0x80 or x32 calls.\n{}",
            seen.what,
            seen.said
        );
    }
    check_ids(&seen, "", seen.lab_pid, plan.rounds);
}

/// A thread calls getuid without a pause while another sends it SIGUSR1
/// 1000 to 3000 times (an SA_RESTART handler): an interrupted call's
/// answer finds nobody (ENOENT), and the call comes again as a new
/// notification, which must get the fake id.
#[test]
fn calls_interrupted_by_signals_come_again() {
    let plan = Plan {
        signals: random_in(1000..=3000),
        ..Plan::new(1)
    };
    let seen = run(&plan, fake_id());
    assert!(
        seen.signals_handled > 0
            && seen
                .results
                .iter()
                .any(|(label, ..)| label == "signalled: getuid"),
        "{}: the signalled thread made no getuid call, or took no signal ({} handled).\n{}",
        seen.what,
        seen.signals_handled,
        seen.said
    );
    check_faked(&seen, "signalled: ");
    check_ids(&seen, "", seen.lab_pid, 1);
}

/// Three rounds 0.2 to 0.6 s apart, with a grandchild outliving the
/// target: a supervisor that takes a quiet listener for the end (a poll
/// timeout) leaves the later calls unanswered (ENOSYS).
#[test]
fn quiet_spells_are_not_the_end() {
    let folder = workbook::targets::mailbox::test::Folder::new("seccomp-notify");
    let late = folder.0.join("late");
    let plan = Plan {
        pause_ms: random_in(200..=600),
        child: true,
        late: Some((late.clone(), random_in(200..=600))),
        ..Plan::new(3)
    };
    let seen = run(&plan, fake_id());
    check_ids(&seen, "", seen.lab_pid, 3);
    check_ids(&seen, "child: ", seen.target_pid, 1);
    let late_said = std::fs::read_to_string(&late).unwrap_or_default();
    assert_eq!(
        late_said.trim().parse::<i64>().ok(),
        Some(i64::from(seen.fake)),
        "{}: a grandchild of the target, still running after the target had ended, got \
         {:?} from getuid, where the supervisor should have answered {}.\n{}",
        seen.what,
        late_said.trim(),
        seen.fake,
        seen.said
    );
}
