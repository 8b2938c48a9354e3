//! The grader's own tests for lab-escapes (students do not have this
//! file): the other doors to the same calls.

use super::*;

/// A refused call, chosen at random, through `int 0x80` kills the process
/// (its i386 number is another x86_64 call's); with the x32 bit it fails
/// with ENOSYS; a harmless call with the x32 bit does too.
#[test]
fn other_abis_are_closed_too() {
    let (name, _) = an_errno();
    let through_int80 = pick(&["mount", "setns", "unshare", "clone"]);
    let call = Call::new(Abi::I386, through_int80);
    let (outcome, shown) = probe(name, call, &[]);
    assert_eq!(
        outcome,
        Outcome::Killed {
            syscall: Some(call.nr)
        },
        "{call} comes through int 0x80 (AUDIT_ARCH_I386): it must kill the process \
         (SECCOMP_RET_KILL_PROCESS), whatever its number\n{shown}"
    );
    for call in [pick(&ALWAYS_REFUSED), pick(HARMLESS)] {
        let call = Call::new(Abi::X32, call);
        let (outcome, shown) = probe(name, call, &[]);
        assert_eq!(
            outcome,
            Outcome::Returned(libc::ENOSYS),
            "{call}: a number with the x32 bit must fail with ENOSYS\n{shown}"
        );
    }
}
