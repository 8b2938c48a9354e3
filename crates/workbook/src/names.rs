//! Names for numbers: syscalls (from the `syscalls` crate's tables, never
//! hand-written), errno values and signals.

use nix::errno::Errno;
use nix::sys::signal::Signal;
use syscalls::Sysno;

/// `write` for 1, `syscall_999` for a number this architecture doesn't have.
pub fn syscall_name(nr: u64) -> String {
    usize::try_from(nr)
        .ok()
        .and_then(Sysno::new)
        .map_or_else(|| format!("syscall_{nr}"), |sysno| sysno.name().to_string())
}

/// The number of a syscall on this architecture, if it has one by that name.
pub fn syscall_number(name: &str) -> Option<u64> {
    name.parse::<Sysno>().ok().map(|sysno| sysno.id() as u64)
}

/// `EPERM (Operation not permitted)`, as strace prints it.
pub fn errno_name(errno: Errno) -> String {
    format!("{errno:?} ({})", errno.desc())
}

/// `SIGSTOP`.
pub fn signal_name(sig: Signal) -> &'static str {
    sig.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_names_come_from_the_table() {
        assert_eq!(syscall_name(0), "read");
        assert_eq!(syscall_name(1), "write");
        assert_eq!(syscall_name(59), "execve");
        assert_eq!(syscall_name(100_000), "syscall_100000");
        assert_eq!(syscall_name(u64::MAX), "syscall_18446744073709551615");
    }

    #[test]
    fn syscall_numbers_by_name() {
        assert_eq!(syscall_number("mount"), Some(165));
        assert_eq!(syscall_number("no_such_call"), None);
    }

    #[test]
    fn errno_names_read_like_strace() {
        assert_eq!(errno_name(Errno::EPERM), "EPERM (Operation not permitted)");
        assert_eq!(errno_name(Errno::ESRCH), "ESRCH (No such process)");
    }
}
