//! Grading tests for lab-escapes: your filter, judged by what the kernel
//! answers a program of the test's own under it.
//!
//! Each run writes a probe (the seccomp-filter lab's tests/common/probe.rs):
//! a tiny static program, new for each run, that writes a line of random
//! text and makes one syscall chosen by the test, with arguments that make
//! it fail harmlessly if it reaches the kernel (a flag combination the
//! kernel refuses with EINVAL, a pointer to nowhere), and exits with the
//! call's errno. The lab gets an errno chosen at random and becomes the
//! probe (`lab-escapes --errno NAME -- PROBE`), as this test's tracee: the
//! test sees the lab execute the probe under a filter, with NO_NEW_PRIVS
//! set, and how its call ended (a seccomp kill, or the errno it returned).
//! A refused call returns your errno; one that reached the kernel returns
//! the kernel's own. What the lab prints is not what counts. Each test's
//! points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::arch::Abi;

#[path = "../../seccomp-filter/tests/common/probe.rs"]
mod probe;
use probe::{pick, random_below, trace, Arg, Call, Outcome, Probe, Runner};
use probe::{HARMLESS, PROBE_PATH};

/// The errnos a test may choose: none of them is what the kernel answers
/// the probe's calls, root or not (EPERM, EFAULT, EINVAL, EBADF, ENOSYS,
/// E2BIG, ENOENT), so a refusal can't be taken for the kernel's answer.
const ERRNOS: [(&str, i32); 8] = [
    ("EACCES", libc::EACCES),
    ("EROFS", libc::EROFS),
    ("EBUSY", libc::EBUSY),
    ("EXDEV", libc::EXDEV),
    ("ENOSPC", libc::ENOSPC),
    ("ENOTTY", libc::ENOTTY),
    ("EMLINK", libc::EMLINK),
    ("ETXTBSY", libc::ETXTBSY),
];

/// mount(2), the new mount API that does its job, and setns(2).
const ALWAYS_REFUSED: [&str; 9] = [
    "mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "setns",
];

/// The namespace flags of clone(2), and unshare's one more.
const NAMESPACES: [(&str, u64); 7] = [
    ("CLONE_NEWNS", libc::CLONE_NEWNS as u64),
    ("CLONE_NEWCGROUP", libc::CLONE_NEWCGROUP as u64),
    ("CLONE_NEWUTS", libc::CLONE_NEWUTS as u64),
    ("CLONE_NEWIPC", libc::CLONE_NEWIPC as u64),
    ("CLONE_NEWUSER", libc::CLONE_NEWUSER as u64),
    ("CLONE_NEWPID", libc::CLONE_NEWPID as u64),
    ("CLONE_NEWNET", libc::CLONE_NEWNET as u64),
];
const CLONE_NEWTIME: (&str, u64) = ("CLONE_NEWTIME", libc::CLONE_NEWTIME as u64);

/// clone's flags that make the kernel refuse the call with EINVAL before
/// anything else: CLONE_SIGHAND without CLONE_VM; and the exit signal.
const CLONE_INVALID: u64 = libc::CLONE_SIGHAND as u64 | libc::SIGCHLD as u64;
/// unshare's: bit 0, which unshare takes for no flag (EINVAL); and a
/// harmless flag beside it.
const UNSHARE_INVALID: u64 = 1;

/// An errno at random: its name, for --errno, and its number.
fn an_errno() -> (&'static str, i32) {
    pick(&ERRNOS)
}

/// `items` in a random order.
fn shuffled<T: Copy>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    for i in (1..items.len()).rev() {
        items.swap(i, random_below(i + 1));
    }
    items
}

/// `lab-escapes --errno NAME -- PROBE`, the probe making `call` with
/// `args`, as this test's tracee: the lab must have become the probe,
/// under a filter, with NO_NEW_PRIVS set. Returns how the call ended.
fn probe(errno: &str, call: Call, args: &[Arg]) -> (Outcome, String) {
    let probe = Probe::with_args(call, args);
    let mut command = Command::new(get_cargo_bin("lab-escapes"));
    command.args(["--errno", errno, "--", PROBE_PATH]);
    let run = trace(command, Some(&probe));
    let (outcome, exec) = run.outcome(&probe, Runner::Itself);
    assert_eq!(
        exec.status.no_new_privs,
        1,
        "the probe runs without NO_NEW_PRIVS\n{}",
        run.shown()
    );
    let shown = format!("`lab-escapes --errno {errno}`\n{}", run.shown());
    (outcome, shown)
}

/// mount, every call of the new mount API and setns, in a random order,
/// fail with the errno chosen at random; a harmless call reaches the
/// kernel.
#[test]
fn every_way_to_mount_fails_with_the_errno() {
    let (name, errno) = an_errno();
    for call in shuffled(&ALWAYS_REFUSED) {
        let call = Call::new(Abi::NATIVE, call);
        let (outcome, shown) = probe(name, call, &[]);
        assert_eq!(
            outcome,
            Outcome::Returned(errno),
            "{call} must fail with {name} (SECCOMP_RET_ERRNO | {name}): mount and the new \
             mount API do one job, and setns joins a namespace\n{shown}"
        );
    }
    let harmless = Call::any_of(Abi::NATIVE, HARMLESS);
    let (outcome, shown) = probe(name, harmless, &[]);
    assert!(
        matches!(outcome, Outcome::Returned(got) if got != errno),
        "{harmless} must run (and fail with the kernel's own errno, not {name}), \
         but it was {outcome}\n{shown}"
    );
}

/// clone and unshare with a namespace flag chosen at random fail with the
/// errno; without one they reach the kernel (which refuses the probe's
/// flags with EINVAL, having made nothing).
#[test]
fn namespaces_are_refused_by_their_flags() {
    let (name, errno) = an_errno();
    let (flag_name, flag) = pick(&NAMESPACES);
    let cases = [
        ("clone", CLONE_INVALID, None),
        ("clone", CLONE_INVALID, Some((flag_name, flag))),
        ("unshare", UNSHARE_INVALID, None),
        ("unshare", UNSHARE_INVALID, Some((flag_name, flag))),
        ("unshare", UNSHARE_INVALID, Some(CLONE_NEWTIME)),
    ];
    for (call, base, namespace) in shuffled(&cases) {
        let flags = base | namespace.map_or(0, |(_, flag)| flag);
        let call = Call::new(Abi::NATIVE, call);
        let (outcome, shown) = probe(name, call, &[Arg::Number(flags)]);
        match namespace {
            Some((flag_name, _)) => assert_eq!(
                outcome,
                Outcome::Returned(errno),
                "{call} with {flag_name} (flags {flags:#x}) makes a namespace: it must fail \
                 with {name}, judged by its first argument\n{shown}"
            ),
            None => assert_eq!(
                outcome,
                Outcome::Returned(libc::EINVAL),
                "{call} with flags {flags:#x}, no namespace flag, must reach the kernel \
                 (which answers these flags with EINVAL): every thread and process is \
                 made with clone\n{shown}"
            ),
        }
    }
}

/// clone3 fails with ENOSYS, whatever the errno chosen: the C library
/// then falls back to clone.
#[test]
fn clone3_gets_enosys() {
    let (name, _) = an_errno();
    let call = Call::new(Abi::NATIVE, "clone3");
    let (outcome, shown) = probe(name, call, &[]);
    assert_eq!(
        outcome,
        Outcome::Returned(libc::ENOSYS),
        "{call} keeps its flags in memory, which a filter can't read: it must fail with \
         ENOSYS (not {name}), so that the C library falls back to clone\n{shown}"
    );
}

#[cfg(feature = "hidden")]
mod hidden;
