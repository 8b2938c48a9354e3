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

/// Every syscall name of this architecture, for suggestions.
pub fn syscall_names() -> impl Iterator<Item = &'static str> {
    Sysno::iter().map(|sysno| sysno.name())
}

/// Up to three known syscall names close to a misspelt one.
pub fn similar_syscalls(name: &str) -> Vec<&'static str> {
    let mut close: Vec<(usize, &'static str)> = syscall_names()
        .map(|known| (edit_distance(name, known), known))
        .filter(|&(distance, known)| distance <= 2 || known.contains(name))
        .collect();
    close.sort();
    close.into_iter().take(3).map(|(_, known)| known).collect()
}

/// An errno by its name, `EPERM` or `eperm`.
pub fn errno_by_name(name: &str) -> Option<Errno> {
    let wanted = name.to_ascii_uppercase();
    (1..4096)
        .map(Errno::from_raw)
        .find(|errno| *errno != Errno::UnknownErrno && format!("{errno:?}") == wanted)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    #[test]
    fn misspelt_syscalls_get_suggestions() {
        assert_eq!(similar_syscalls("opne")[0], "open");
        assert!(similar_syscalls("sockt").contains(&"socket"));
        assert!(similar_syscalls("zzzzzzzzzz").is_empty());
    }

    #[test]
    fn errnos_by_name() {
        assert_eq!(errno_by_name("EPERM"), Some(Errno::EPERM));
        assert_eq!(errno_by_name("eacces"), Some(Errno::EACCES));
        assert_eq!(errno_by_name("ENOPE"), None);
    }
}
