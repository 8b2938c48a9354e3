//! The rows: each way around a watcher, the target that tries it, what the
//! watchers are told to refuse, and how a run is judged.

use crate::watchers::Watcher;

/// One row of the table.
pub struct Row {
    /// Its name in `--only ROW` and `--cell ROW:COLUMN`.
    pub key: &'static str,
    /// What the row tries, in a few words, for the table.
    pub title: &'static str,
    /// What the target does, for the notes under the table.
    pub escape: &'static str,
    /// What the watchers that take a name are told to refuse.
    pub refuse: Refuse,
    pub target: Target,
    /// Only root can do it at all (a mount).
    pub root_only: bool,
    /// How a run is judged.
    pub judge: Judge,
    /// Why a watcher has nothing to do with this row, if so.
    pub not_for: fn(Watcher) -> Option<&'static str>,
}

/// What a watcher that takes a name is told.
#[derive(Clone, Copy)]
pub enum Refuse {
    /// `--block NAME`.
    Call(&'static str),
    /// `--redirect SECRET=PUBLIC` (seccomp-notify): an open whose path
    /// reads as the secret file gets the public one instead, which the
    /// supervisor opens itself; every other open goes on.
    SecretPath,
}

/// The program that tries the escape.
pub enum Target {
    /// escape-probe (static), with these arguments.
    Probe(&'static [Arg]),
    /// A built-in target of the workbook, `builtin:NAME ARGS`.
    Builtin(&'static str, &'static [&'static str]),
}

/// An argument of the probe: words, or the run's files.
pub enum Arg {
    Word(&'static str),
    /// The file whose random contents only an open can learn.
    Secret,
    /// A harmless file, named as long as the secret one.
    Public,
}

/// How a run's output and end are judged (see `judge`).
#[derive(Clone, Copy)]
pub enum Judge {
    /// Through when the secret's contents appear: the probe opened it.
    /// `plain` starts the probe's line about the plain call, which a
    /// watcher told to refuse it must have refused.
    Secret { plain: Option<&'static str> },
    /// The `bypass` target: what get_mempolicy answered, or SIGSYS.
    Bypass,
    /// The `new-mount` target: a tmpfs mounted, or a failed step.
    Mount,
    /// Through when clone3's child exited with its own status, 42.
    Clone3,
    /// Through when the vDSO gave the time of day.
    Vdso,
}

const FILTERS_LACK_IT: &str = "none of the filter's calls does this job";

/// The rows of x86_64's other ABIs, elsewhere: arm64 has neither.
const X86_64_ONLY: Option<&str> = if cfg!(target_arch = "x86_64") {
    None
} else {
    Some("x86_64 only: this architecture has no int 0x80 and no x32")
};

// ANCHOR: rows
pub const ROWS: [Row; 8] = [
    Row {
        key: "int80",
        title: "int 0x80",
        escape: "get_mempolicy through int 0x80, the i386 ABI, whose numbers differ",
        refuse: Refuse::Call("get_mempolicy"),
        target: Target::Builtin("bypass", &["i386"]),
        root_only: false,
        judge: Judge::Bypass,
        not_for: |_| X86_64_ONLY,
    },
    Row {
        key: "x32",
        title: "x32",
        escape: "get_mempolicy with the x32 bit (0x40000000) set in its number",
        refuse: Refuse::Call("get_mempolicy"),
        target: Target::Builtin("bypass", &["x32"]),
        root_only: false,
        judge: Judge::Bypass,
        not_for: |_| X86_64_ONLY,
    },
    Row {
        key: "io-uring",
        title: "io_uring",
        escape: "openat refused, the file opened by an IORING_OP_OPENAT request",
        refuse: Refuse::Call("openat"),
        target: Target::Probe(&[Arg::Word("io-uring"), Arg::Secret]),
        root_only: false,
        judge: Judge::Secret {
            plain: Some("probe: openat: "),
        },
        not_for: |watcher| match watcher {
            Watcher::Lecture | Watcher::Hardened => Some(FILTERS_LACK_IT),
            _ => None,
        },
    },
    Row {
        key: "openat2",
        title: "openat2",
        escape: "openat refused, the file opened with openat2 (Linux 5.6)",
        refuse: Refuse::Call("openat"),
        target: Target::Probe(&[Arg::Word("openat2"), Arg::Secret]),
        root_only: false,
        judge: Judge::Secret {
            plain: Some("probe: openat: "),
        },
        not_for: |watcher| match watcher {
            Watcher::Lecture | Watcher::Hardened => Some(FILTERS_LACK_IT),
            Watcher::Libseccomp => Some("openat is not on its list"),
            _ => None,
        },
    },
    Row {
        key: "new-mount",
        title: "fsopen, fsmount",
        escape: "mount refused, a tmpfs mounted with fsopen, fsconfig, fsmount, move_mount",
        refuse: Refuse::Call("mount"),
        target: Target::Builtin("new-mount", &[]),
        root_only: true,
        judge: Judge::Mount,
        not_for: |watcher| match watcher {
            Watcher::Lecture | Watcher::Hardened => Some(FILTERS_LACK_IT),
            _ => None,
        },
    },
    Row {
        key: "clone3",
        title: "clone3",
        escape: "clone refused, a child made with clone3 (Linux 5.3)",
        refuse: Refuse::Call("clone"),
        target: Target::Probe(&[Arg::Word("clone3")]),
        root_only: false,
        judge: Judge::Clone3,
        not_for: |watcher| match watcher {
            Watcher::Lecture | Watcher::Hardened => Some(FILTERS_LACK_IT),
            Watcher::Libseccomp => Some("clone is not on its list: every thread needs it"),
            _ => None,
        },
    },
    Row {
        key: "toctou",
        title: "path swapped",
        escape: "a thread swaps the path between the watcher's read and the kernel's",
        refuse: Refuse::SecretPath,
        target: Target::Probe(&[Arg::Word("toctou"), Arg::Public, Arg::Secret]),
        root_only: false,
        judge: Judge::Secret { plain: None },
        not_for: |watcher| match watcher {
            Watcher::Ptrace | Watcher::PtraceSeccomp => {
                Some("it refuses calls by name, and reads no path")
            }
            Watcher::Lecture | Watcher::Hardened | Watcher::Libseccomp => {
                Some("a filter sees the pointer, never the path it points to")
            }
            _ => None,
        },
    },
    Row {
        key: "vdso",
        title: "vDSO",
        escape: "clock_gettime refused, the time read through the vDSO",
        refuse: Refuse::Call("clock_gettime"),
        target: Target::Probe(&[Arg::Word("vdso")]),
        root_only: false,
        judge: Judge::Vdso,
        not_for: |watcher| match watcher {
            Watcher::Lecture | Watcher::Hardened => Some(FILTERS_LACK_IT),
            Watcher::Libseccomp => Some("clock_gettime is not on its list"),
            _ => None,
        },
    },
];
// ANCHOR_END: rows

/// The row named `key`.
pub fn by_key(key: &str) -> Option<&'static Row> {
    ROWS.iter().find(|row| row.key == key)
}

/// Every row's key, for error messages.
pub fn keys() -> String {
    ROWS.iter()
        .map(|row| row.key)
        .collect::<Vec<_>>()
        .join(", ")
}
