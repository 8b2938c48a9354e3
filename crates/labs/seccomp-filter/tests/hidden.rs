//! The grader's own tests for lab-seccomp-filter (students do not have
//! this file): a long list.

use super::*;

/// What a process calls to die, of an exit or a signal: off the long list,
/// so that a filter that refuses what it lists (one a student got the
/// wrong way round) does not leave the lab, whose execve it refused,
/// retrying its exit or its signal handler's return for ever, until the
/// time limit.
const HOW_A_PROCESS_DIES: &[&str] = &[
    "exit",
    "rt_sigreturn",
    "rt_sigaction",
    "rt_sigprocmask",
    "sigaltstack",
    "munmap",
    "mmap",
    "mprotect",
    "madvise",
    "brk",
    "futex",
    "tgkill",
    "tkill",
    "kill",
    "getpid",
    "gettid",
];

/// A list of 150 to 240 calls, every other native call among them, in a
/// random order: a call with an effect, at random, placed anywhere in it,
/// runs; one left off it fails with EPERM and does nothing; a harmless
/// call with the x32 bit (on x86_64), listed or not, fails with ENOSYS; a
/// harmless call through the other ABI (int 0x80, AArch32 code) is
/// killed.
#[test]
fn a_long_list_in_any_order() {
    let effects: Vec<&str> = EFFECTS
        .iter()
        .map(|effect| effect.name(Abi::NATIVE))
        .collect();
    let listed = Try::new(pick(&EFFECTS));
    let unlisted = loop {
        let attempt = Try::new(pick(&EFFECTS));
        if attempt.effect != listed.effect {
            break attempt;
        }
    };
    let harmless = Call::any_of(Abi::NATIVE, HARMLESS);
    let mut names: Vec<String> = workbook::names::syscall_names()
        .filter(|name| !effects.contains(name) && *name != harmless.name)
        .filter(|name| !PROBE_NEEDS.contains(name))
        .filter(|name| !HOW_A_PROCESS_DIES.contains(name))
        .map(str::to_string)
        .collect();
    names = shuffled(names);
    names.truncate(150 + random_below(88));
    names.extend(PROBE_NEEDS.iter().map(|n| n.to_string()));
    names.push(listed.name(Abi::NATIVE).to_string());
    let names = shuffled(names);

    let call = listed.call(Abi::NATIVE);
    let (outcome, shown) = probe(&names, call, &listed.args(Abi::NATIVE));
    assert!(
        outcome == Outcome::Returned(0) && listed.happened(),
        "{call}, to {}, is on a list of {} calls: it must run and succeed, but it was \
         {outcome}\n{shown}",
        listed.what(),
        names.len()
    );
    let call = unlisted.call(Abi::NATIVE);
    let (outcome, shown) = probe(&names, call, &unlisted.args(Abi::NATIVE));
    assert!(
        outcome == Outcome::Returned(libc::EPERM) && !unlisted.happened(),
        "{call}, to {}, is off a list of {} calls: it must fail with EPERM and do nothing, \
         but it was {outcome}\n{shown}",
        unlisted.what(),
        names.len()
    );
    #[cfg(target_arch = "x86_64")]
    {
        let x32 = Call::any_of(Abi::X32, HARMLESS);
        let (outcome, shown) = probe(&names, x32, &[]);
        assert_eq!(
            outcome,
            Outcome::Returned(libc::ENOSYS),
            "{x32}: a number with the x32 bit must fail with ENOSYS\n{shown}"
        );
    }
    let compat = Call::any_of(Abi::COMPAT, HARMLESS);
    if probe::compat_runs() {
        let (outcome, shown) = probe(&names, compat, &[]);
        assert_eq!(
            outcome,
            Outcome::Killed {
                syscall: Some(compat.nr)
            },
            "{compat}: a call through another ABI must kill the process\n{shown}"
        );
    } else {
        let verdict = printed_filter_on(&names, &compat);
        assert_eq!(
            verdict & libc::SECCOMP_RET_ACTION_FULL,
            libc::SECCOMP_RET_KILL_PROCESS,
            "{compat}: a call through another ABI must kill the process (the printed \
             filter's verdict, this machine runs no code of that ABI: {verdict:#x})"
        );
    }
}
