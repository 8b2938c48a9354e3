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

/// A list of 150 to 240 calls, every other x86_64 call among them, in a
/// random order: a call with an effect, at random, placed anywhere in it,
/// runs; one left off it fails with EPERM and does nothing; a harmless
/// call with the x32 bit, listed or not, fails with ENOSYS; a harmless
/// call through int 0x80 is killed.
#[test]
fn a_long_list_in_any_order() {
    let effects: Vec<&str> = EFFECTS
        .iter()
        .map(|effect| effect.name(Abi::X86_64))
        .collect();
    let listed = Try::new(pick(&EFFECTS));
    let unlisted = loop {
        let attempt = Try::new(pick(&EFFECTS));
        if attempt.effect != listed.effect {
            break attempt;
        }
    };
    let harmless = Call::any_of(Abi::X86_64, HARMLESS);
    let mut names: Vec<String> = workbook::names::syscall_names()
        .filter(|name| !effects.contains(name) && *name != harmless.name)
        .filter(|name| !PROBE_NEEDS.contains(name))
        .filter(|name| !HOW_A_PROCESS_DIES.contains(name))
        .map(str::to_string)
        .collect();
    names = shuffled(names);
    names.truncate(150 + random_below(88));
    names.extend(PROBE_NEEDS.iter().map(|n| n.to_string()));
    names.push(listed.name(Abi::X86_64).to_string());
    let names = shuffled(names);

    let call = listed.call(Abi::X86_64);
    let (outcome, shown) = probe(&names, call, &listed.args(Abi::X86_64));
    assert!(
        outcome == Outcome::Returned(0) && listed.happened(),
        "{call}, to {}, is on a list of {} calls: it must run and succeed, but it was \
         {outcome}\n{shown}",
        listed.what(),
        names.len()
    );
    let call = unlisted.call(Abi::X86_64);
    let (outcome, shown) = probe(&names, call, &unlisted.args(Abi::X86_64));
    assert!(
        outcome == Outcome::Returned(libc::EPERM) && !unlisted.happened(),
        "{call}, to {}, is off a list of {} calls: it must fail with EPERM and do nothing, \
         but it was {outcome}\n{shown}",
        unlisted.what(),
        names.len()
    );
    let x32 = Call::any_of(Abi::X32, HARMLESS);
    let (outcome, shown) = probe(&names, x32, &[]);
    assert_eq!(
        outcome,
        Outcome::Returned(libc::ENOSYS),
        "{x32}: a number with the x32 bit must fail with ENOSYS\n{shown}"
    );
    let i386 = Call::any_of(Abi::I386, HARMLESS);
    let (outcome, shown) = probe(&names, i386, &[]);
    assert_eq!(
        outcome,
        Outcome::Killed {
            syscall: Some(i386.nr)
        },
        "{i386}: a call through int 0x80 must kill the process\n{shown}"
    );
}
