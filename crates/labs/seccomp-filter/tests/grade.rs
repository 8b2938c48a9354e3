//! Grading tests for lab-seccomp-filter: your allow-list, judged by what
//! the kernel does to a program of the test's own under it, and by what
//! that program's calls did, or did not do, to the file system.
//!
//! Each run writes a probe (tests/common/probe.rs): a tiny program, new
//! for each run, that writes a line of random text and makes one syscall
//! chosen at random by the test, through the ABI the test chose: here a
//! call with an effect (make a folder, a fifo, a link, rename, remove,
//! chmod or truncate a file), in a scratch folder of the test's, with
//! names chosen at random. The lab gets the list of calls to allow, also
//! chosen at random around what the probe needs, and becomes the probe
//! (`lab-seccomp-filter --allow NAMES -- PROBE`), as this test's tracee:
//! the test sees the lab execute the probe under a filter, with
//! NO_NEW_PRIVS set, and how its call ended (a seccomp kill, or a return
//! with an errno); then it looks at the scratch folder. What the lab prints
//! is not what counts. Each test's points are in lab.toml.
//!
//! On x86_64 the other doors are `int 0x80` and x32; on arm64, AArch32
//! code. Where this machine can't run the other ABI's code (an arm64 CPU
//! without AArch32, an x86_64 kernel without ia32 emulation), nobody can
//! call through it here, and the kernel can't be asked: the filter the lab
//! prints (`--ddd`) is run on that call's seccomp_data instead.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::arch::Abi;
use workbook::targets::mailbox::test::Folder;

#[path = "common/probe.rs"]
mod probe;
use probe::{pick, random_below, random_word, trace, Arg, Call, Outcome, Probe, Runner};
use probe::{HARMLESS, PROBE_PATH};

/// What the probe itself calls, besides the call it is there for: the lab
/// becomes it with execve, it writes its line and ends with exit_group.
const PROBE_NEEDS: [&str; 3] = ["execve", "write", "exit_group"];

/// More calls a list may have, which the probe never makes.
const OTHERS: &[&str] = &[
    "read",
    "close",
    "getpid",
    "getuid",
    "uname",
    "getcwd",
    "dup",
    "pipe2",
    "nanosleep",
    "brk",
    "mmap",
    "munmap",
    "futex",
    "openat",
    "newfstatat",
    "lseek",
    "ioctl",
    "getrandom",
];

/// The lab, killed if it runs past the time limit, with core dumps off.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-seccomp-filter"));
    workbook::testing::without_core_dumps(&mut command);
    workbook::testing::limited(&mut command);
    command
}

/// A call with an effect on the file system, one the test can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    MakeFolder,
    MakeFifo,
    Symlink,
    HardLink,
    Rename,
    Remove,
    Chmod,
    Truncate,
}

const EFFECTS: [Effect; 8] = [
    Effect::MakeFolder,
    Effect::MakeFifo,
    Effect::Symlink,
    Effect::HardLink,
    Effect::Rename,
    Effect::Remove,
    Effect::Chmod,
    Effect::Truncate,
];

impl Effect {
    /// The syscall's name in `abi`: the *at calls natively (as libc makes
    /// them; arm64 has no others), the old ones for i386 and arm.
    fn name(self, abi: Abi) -> &'static str {
        let i386 = abi == Abi::COMPAT;
        match self {
            Effect::MakeFolder if i386 => "mkdir",
            Effect::MakeFolder => "mkdirat",
            Effect::MakeFifo if i386 => "mknod",
            Effect::MakeFifo => "mknodat",
            Effect::Symlink if i386 => "symlink",
            Effect::Symlink => "symlinkat",
            Effect::HardLink if i386 => "link",
            Effect::HardLink => "linkat",
            Effect::Rename if i386 => "rename",
            Effect::Rename => "renameat",
            Effect::Remove if i386 => "unlink",
            Effect::Remove => "unlinkat",
            Effect::Chmod if i386 => "chmod",
            Effect::Chmod => "fchmodat",
            Effect::Truncate => "truncate",
        }
    }
}

/// AT_FDCWD, as a 64-bit register holds it.
const AT_FDCWD: u64 = libc::AT_FDCWD as i64 as u64;

/// One try of an effect: the call, and the paths it works on, in a
/// scratch folder: `existing`, a file the test made (mode 0644, some
/// bytes in it), and `new`, a name nothing has yet.
struct Try {
    effect: Effect,
    existing: PathBuf,
    new: PathBuf,
    _scratch: Folder,
}

impl Try {
    fn new(effect: Effect) -> Try {
        let scratch = Folder::new("lab-seccomp-filter");
        let existing = scratch.0.join(format!("file-{}", random_word(8)));
        let new = scratch.0.join(format!("new-{}", random_word(8)));
        std::fs::write(&existing, random_word(24)).expect("writing the scratch file");
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644))
            .expect("chmod of the scratch file");
        Try {
            effect,
            existing,
            new,
            _scratch: scratch,
        }
    }

    /// The syscall's name in `abi`.
    fn name(&self, abi: Abi) -> &'static str {
        self.effect.name(abi)
    }

    fn call(&self, abi: Abi) -> Call {
        Call::new(abi, self.name(abi))
    }

    fn args(&self, abi: Abi) -> Vec<Arg> {
        let path = |p: &Path| Arg::Text(p.display().to_string());
        let (existing, new) = (path(&self.existing), path(&self.new));
        let number = Arg::Number;
        let fifo = number(u64::from(libc::S_IFIFO | 0o600));
        let at = number(AT_FDCWD);
        if abi == Abi::COMPAT {
            return match self.effect {
                Effect::MakeFolder => vec![new, number(0o700)],
                Effect::MakeFifo => vec![new, fifo, number(0)],
                Effect::Symlink | Effect::HardLink | Effect::Rename => vec![existing, new],
                Effect::Remove => vec![existing],
                Effect::Chmod => vec![existing, number(0o600)],
                Effect::Truncate => vec![existing, number(0)],
            };
        }
        match self.effect {
            Effect::MakeFolder => vec![at, new, number(0o700)],
            Effect::MakeFifo => vec![at, new, fifo, number(0)],
            Effect::Symlink => vec![existing, at, new],
            Effect::HardLink => vec![at.clone(), existing, at, new, number(0)],
            Effect::Rename => vec![at.clone(), existing, at, new],
            Effect::Remove => vec![at, existing, number(0)],
            Effect::Chmod => vec![at, existing, number(0o600)],
            Effect::Truncate => vec![existing, number(0)],
        }
    }

    /// Whether the call did what it does.
    fn happened(&self) -> bool {
        let new = std::fs::symlink_metadata(&self.new);
        let existing = std::fs::symlink_metadata(&self.existing);
        match self.effect {
            Effect::MakeFolder => new.is_ok_and(|m| m.is_dir()),
            Effect::MakeFifo => new.is_ok_and(|m| m.file_type().is_fifo()),
            Effect::Symlink => new.is_ok_and(|m| m.file_type().is_symlink()),
            Effect::HardLink => new.is_ok_and(|m| m.is_file()),
            Effect::Rename => new.is_ok() && existing.is_err(),
            Effect::Remove => existing.is_err(),
            Effect::Chmod => existing.is_ok_and(|m| m.permissions().mode() & 0o777 == 0o600),
            Effect::Truncate => existing.is_ok_and(|m| m.len() == 0),
        }
    }

    /// What the call was to do, for a message.
    fn what(&self) -> String {
        let (existing, new) = (self.existing.display(), self.new.display());
        match self.effect {
            Effect::MakeFolder => format!("make the folder {new}"),
            Effect::MakeFifo => format!("make the fifo {new}"),
            Effect::Symlink => format!("make the symlink {new}"),
            Effect::HardLink => format!("link {existing} as {new}"),
            Effect::Rename => format!("rename {existing} to {new}"),
            Effect::Remove => format!("remove {existing}"),
            Effect::Chmod => format!("chmod {existing} to 0600"),
            Effect::Truncate => format!("truncate {existing}"),
        }
    }
}

/// `names` in a random order.
fn shuffled(mut names: Vec<String>) -> Vec<String> {
    for i in (1..names.len()).rev() {
        names.swap(i, random_below(i + 1));
    }
    names
}

/// A list to allow: what the probe needs, `listed`, and up to `padding`
/// other calls the probe never makes (none of `unlisted`), in a random
/// order.
fn allow(listed: &[&str], unlisted: &[&str], padding: usize) -> Vec<String> {
    let mut names: Vec<String> = PROBE_NEEDS
        .iter()
        .chain(listed)
        .map(|n| n.to_string())
        .collect();
    for _ in 0..random_below(padding + 1) {
        let other = pick(OTHERS);
        if !unlisted.contains(&other) && !names.iter().any(|n| n == other) {
            names.push(other.to_string());
        }
    }
    shuffled(names)
}

/// `lab-seccomp-filter --allow NAMES -- PROBE`, the probe making `call`
/// with `args`, as this test's tracee: the lab must have become the probe,
/// under a filter, with NO_NEW_PRIVS set. Returns how the call ended.
fn probe(allowed: &[String], call: Call, args: &[Arg]) -> (Outcome, String) {
    let probe = Probe::with_args(call, args);
    let list = allowed.join(",");
    let mut command = lab();
    command.args(["--allow", &list, "--", PROBE_PATH]);
    let run = trace(command, Some(&probe));
    let (outcome, exec) = run.outcome(&probe, Runner::Itself);
    assert_eq!(
        exec.status.no_new_privs,
        1,
        "the probe runs without NO_NEW_PRIVS\n{}",
        run.shown()
    );
    let shown = format!("`lab-seccomp-filter --allow {list}`\n{}", run.shown());
    (outcome, shown)
}

/// A call with an effect, chosen at random, left off a list chosen at
/// random (with what the probe needs): it fails with EPERM and does
/// nothing. So does a harmless call off the list.
#[test]
fn a_call_off_the_list_fails_with_eperm_and_does_nothing() {
    let attempt = Try::new(pick(&EFFECTS));
    let name = attempt.name(Abi::NATIVE);
    let allowed = allow(&[], &[name], 6);
    let call = attempt.call(Abi::NATIVE);
    let (outcome, shown) = probe(&allowed, call, &attempt.args(Abi::NATIVE));
    assert_eq!(
        outcome,
        Outcome::Returned(libc::EPERM),
        "{call}, to {}, is not on the list: it must fail with EPERM (SECCOMP_RET_ERRNO | EPERM)\n{shown}",
        attempt.what()
    );
    assert!(
        !attempt.happened(),
        "{call} is not on the list, but it was made: it did {}\n{shown}",
        attempt.what()
    );
    let harmless = Call::any_of(Abi::NATIVE, HARMLESS);
    let (outcome, shown) = probe(&allow(&[], &[harmless.name], 6), harmless, &[]);
    assert_eq!(
        outcome,
        Outcome::Returned(libc::EPERM),
        "{harmless} is not on the list: it must fail with EPERM\n{shown}"
    );
}

/// A call with an effect, chosen at random, at a random place in a list
/// chosen at random: it runs, and does what it does. So does a harmless
/// call on the list.
#[test]
fn the_listed_calls_run() {
    let attempt = Try::new(pick(&EFFECTS));
    let name = attempt.name(Abi::NATIVE);
    let allowed = allow(&[name], &[], 12);
    let call = attempt.call(Abi::NATIVE);
    let (outcome, shown) = probe(&allowed, call, &attempt.args(Abi::NATIVE));
    assert_eq!(
        outcome,
        Outcome::Returned(0),
        "{call}, to {}, is on the list: it must run, and succeed\n{shown}",
        attempt.what()
    );
    assert!(
        attempt.happened(),
        "{call} is on the list and returned 0, but it did not {}\n{shown}",
        attempt.what()
    );
    let harmless = Call::any_of(Abi::NATIVE, HARMLESS);
    let (outcome, shown) = probe(&allow(&[harmless.name], &[], 12), harmless, &[]);
    assert!(
        matches!(outcome, Outcome::Returned(errno) if errno != libc::EPERM),
        "{harmless} is on the list: it must run (and fail with the kernel's own errno, \
         not EPERM), but it was {outcome}\n{shown}"
    );
}

/// The other doors. A call with an effect, chosen at random, through the
/// other ABI (`int 0x80` on x86_64, AArch32 code on arm64) is killed and
/// does nothing, though the list has its native twin and the native call
/// whose number its number is (i386's mkdir is 39, x86_64's getpid; arm's
/// mkdir is 39 too, arm64's umount2). On x86_64, a listed call, chosen at
/// random, with the x32 bit fails with ENOSYS and does nothing.
#[test]
fn other_abis_are_closed() {
    let attempt = Try::new(pick(&EFFECTS));
    let call = attempt.call(Abi::COMPAT);
    let twin = workbook::names::known_syscall(call.nr).expect("a native call of that number");
    let allowed = allow(&[attempt.name(Abi::NATIVE), twin], &[], 6);
    if probe::compat_runs() {
        let (outcome, shown) = probe(&allowed, call, &attempt.args(Abi::COMPAT));
        assert_eq!(
            outcome,
            Outcome::Killed {
                syscall: Some(call.nr)
            },
            "{call}, to {}, comes through another ABI ({}): it must kill the process \
             (SECCOMP_RET_KILL_PROCESS), whatever its number\n{shown}",
            attempt.what(),
            workbook::arch::AUDIT_ARCH_COMPAT_NAME
        );
        assert!(
            !attempt.happened(),
            "{call} was made: it did {}\n{shown}",
            attempt.what()
        );
    } else {
        let verdict = printed_filter_on(&allowed, &call);
        assert_eq!(
            verdict & libc::SECCOMP_RET_ACTION_FULL,
            libc::SECCOMP_RET_KILL_PROCESS,
            "{call} (this machine runs no code of that ABI: the filter `lab-seccomp-filter \
             --allow {} --ddd` printed, run on its seccomp_data) must kill the process \
             (SECCOMP_RET_KILL_PROCESS), whatever its number; the verdict was {verdict:#x}",
            allowed.join(",")
        );
    }
    #[cfg(target_arch = "x86_64")]
    x32_gets_enosys();
}

/// A listed call, chosen at random, with the x32 bit fails with ENOSYS
/// and does nothing.
#[cfg(target_arch = "x86_64")]
fn x32_gets_enosys() {
    let attempt = Try::new(pick(&EFFECTS));
    let name = attempt.name(Abi::NATIVE);
    let call = attempt.call(Abi::X32);
    let (outcome, shown) = probe(&allow(&[name], &[], 6), call, &attempt.args(Abi::X32));
    assert_eq!(
        outcome,
        Outcome::Returned(libc::ENOSYS),
        "{call}, to {}: a number with the x32 bit must fail with ENOSYS \
         (SECCOMP_RET_ERRNO | ENOSYS), listed or not\n{shown}",
        attempt.what()
    );
    assert!(
        !attempt.happened(),
        "{call} was made: it did {}\n{shown}",
        attempt.what()
    );
}

/// The verdict of the filter that `lab-seccomp-filter --allow NAMES --ddd`
/// prints, run on the seccomp_data of `call`.
fn printed_filter_on(allowed: &[String], call: &Call) -> u32 {
    probe::printed_verdict(lab().args(["--allow", &allowed.join(","), "--ddd"]), call)
}

#[cfg(feature = "hidden")]
mod hidden;
