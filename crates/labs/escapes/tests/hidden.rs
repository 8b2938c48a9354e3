//! The grader's own tests for lab-escapes (students do not have this
//! file): the other doors to the same calls.

use super::*;

/// A refused call, chosen at random, through the other ABI (`int 0x80`,
/// or AArch32 code on arm64) kills the process (its number there is
/// another native call's); on x86_64, with the x32 bit it fails with
/// ENOSYS, and a harmless call with the x32 bit does too.
#[test]
fn other_abis_are_closed_too() {
    let (name, _) = an_errno();
    let refused = pick(&["mount", "setns", "unshare", "clone"]);
    let call = Call::new(Abi::COMPAT, refused);
    if probe::compat_runs() {
        let (outcome, shown) = probe(name, call, &[]);
        assert_eq!(
            outcome,
            Outcome::Killed {
                syscall: Some(call.nr)
            },
            "{call} comes through another ABI ({}): it must kill the process \
             (SECCOMP_RET_KILL_PROCESS), whatever its number\n{shown}",
            workbook::arch::AUDIT_ARCH_COMPAT_NAME
        );
    } else {
        // This machine runs no code of that ABI: the printed filter, run
        // on the call's seccomp_data.
        let mut lab = Command::new(get_cargo_bin("lab-escapes"));
        let verdict = probe::printed_verdict(lab.args(["--errno", name, "--ddd"]), &call);
        assert_eq!(
            verdict & libc::SECCOMP_RET_ACTION_FULL,
            libc::SECCOMP_RET_KILL_PROCESS,
            "{call}: a call through another ABI must kill the process (the printed \
             filter's verdict: {verdict:#x})"
        );
    }
    #[cfg(target_arch = "x86_64")]
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
