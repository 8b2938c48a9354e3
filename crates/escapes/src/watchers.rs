//! The columns: each watcher is another demo of this workspace, run as its
//! own binary from the folder this one lies in (cargo puts every binary of
//! the workspace in target/debug or target/release).

use std::path::PathBuf;

/// One column of the table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Watcher {
    /// No watcher: the escape's baseline, which shows it works at all.
    Alone,
    /// syscall-blocker: PTRACE_SYSCALL, a stop at every call.
    Ptrace,
    /// syscall-blocker --seccomp: a filter sends the named calls to ptrace.
    PtraceSeccomp,
    /// seccomp-filter: the lecture's four-`jeq` filter.
    Lecture,
    /// seccomp-filter --hardened: the arch check and the x32 bit first.
    Hardened,
    /// seccomp-lib: libseccomp, 63 dangerous calls trap.
    Libseccomp,
    /// seccomp-notify: a user-notification supervisor.
    Notify,
}

pub const ALL: [Watcher; 7] = [
    Watcher::Alone,
    Watcher::Ptrace,
    Watcher::PtraceSeccomp,
    Watcher::Lecture,
    Watcher::Hardened,
    Watcher::Libseccomp,
    Watcher::Notify,
];

impl Watcher {
    /// Its name in `--cell ROW:COLUMN` and in the table's header.
    pub fn key(self) -> &'static str {
        match self {
            Watcher::Alone => "alone",
            Watcher::Ptrace => "ptrace",
            Watcher::PtraceSeccomp => "ptrace+bpf",
            Watcher::Lecture => "lecture",
            Watcher::Hardened => "hardened",
            Watcher::Libseccomp => "libseccomp",
            Watcher::Notify => "notify",
        }
    }

    /// The demo that watches, and the options that make it this column.
    pub fn command(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Watcher::Alone => None,
            Watcher::Ptrace => Some(("syscall-blocker", &[])),
            Watcher::PtraceSeccomp => Some(("syscall-blocker", &["--seccomp"])),
            Watcher::Lecture => Some(("seccomp-filter", &[])),
            Watcher::Hardened => Some(("seccomp-filter", &["--hardened"])),
            Watcher::Libseccomp => Some(("seccomp-lib", &["--"])),
            Watcher::Notify => Some(("seccomp-notify", &[])),
        }
    }

    /// Whether it is told which call to refuse (`--block NAME`); the
    /// filters refuse their own lists.
    pub fn takes_a_name(self) -> bool {
        matches!(
            self,
            Watcher::Ptrace | Watcher::PtraceSeccomp | Watcher::Notify
        )
    }

    /// How the table's key line describes it.
    pub fn described(self) -> String {
        match self {
            Watcher::Alone => "no watcher: the escape works at all".into(),
            Watcher::Ptrace => "syscall-blocker --block CALL (PTRACE_SYSCALL)".into(),
            Watcher::PtraceSeccomp => "syscall-blocker --seccomp --block CALL".into(),
            Watcher::Lecture => "seccomp-filter: the lecture's 4 calls".into(),
            Watcher::Hardened => "seccomp-filter --hardened".into(),
            Watcher::Libseccomp => format!(
                "seccomp-lib: {} calls trap, other ABIs killed",
                workbook::seccomp::lecture_dangerous_here()
            ),
            Watcher::Notify => "seccomp-notify --block CALL (user notification)".into(),
        }
    }
}

/// Where a watcher's binary is: beside this one. None when it is not
/// there (not built yet).
pub fn binary(name: &str) -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?;
    let path = me.parent()?.join(name);
    path.is_file().then_some(path)
}
