//! Names for numbers: syscalls (from the `syscalls` crate's tables, never
//! hand-written), errno values and signals.

use nix::errno::Errno;
use syscalls::Sysno;

/// `write` for 1, strace's `syscall_0x3e7` for a number this architecture
/// doesn't have (or that is newer than the tables).
pub fn syscall_name(nr: u64) -> String {
    known_syscall(nr).map_or_else(|| format!("syscall_{nr:#x}"), str::to_string)
}

/// Where a table's name is not the kernel's, which strace prints: the
/// generic table (arm64's) calls 79 `fstatat` (`__NR3264_fstatat`), the
/// kernel `sys_newfstatat`, and strace `newfstatat`, as on x86_64.
const STRACE_NAMES: &[(&str, &str)] = &[("fstatat", "newfstatat")];

/// The name of syscall `nr` on this architecture, if the tables have one.
pub fn known_syscall(nr: u64) -> Option<&'static str> {
    let name = usize::try_from(nr)
        .ok()
        .and_then(Sysno::new)
        .map(|sysno| sysno.name())?;
    Some(strace_name(name))
}

/// A name of the syscalls crate's table as strace gives it.
fn strace_name(table: &'static str) -> &'static str {
    STRACE_NAMES
        .iter()
        .find(|(name, _)| *name == table)
        .map_or(table, |(_, strace)| strace)
}

/// The number of a syscall on this architecture, if it has one by that
/// name (strace's, or the table's).
pub fn syscall_number(name: &str) -> Option<u64> {
    let in_table = |name: &str| name.parse::<Sysno>().ok().map(|sysno| sysno.id() as u64);
    in_table(name).or_else(|| {
        let (table, _) = STRACE_NAMES.iter().find(|(_, strace)| *strace == name)?;
        in_table(table)
    })
}

/// The number of a syscall on x86_64, the lecture's, whatever this
/// architecture is: its numbers mean other calls elsewhere.
pub fn x86_64_syscall_number(name: &str) -> Option<u64> {
    name.parse::<syscalls::x86_64::Sysno>()
        .ok()
        .map(|sysno| sysno.id() as u64)
}

/// `EPERM (Operation not permitted)`, as strace prints it.
pub fn errno_name(errno: Errno) -> String {
    format!("{errno:?} ({})", errno.desc())
}

/// `SIGSTOP`, `SIGRT_2`: any signal, named as strace names it.
pub fn signal_name(sig: impl Into<crate::signal::Sig>) -> String {
    sig.into().name()
}

/// The calls whose first argument is a directory fd and whose second is a
/// path relative to it.
pub const AT_CALLS: &[&str] = &[
    "openat",
    "openat2",
    "newfstatat",
    "statx",
    "faccessat",
    "faccessat2",
    "mkdirat",
    "mknodat",
    "unlinkat",
    "readlinkat",
    "fchmodat",
    "fchmodat2",
    "fchownat",
    "utimensat",
    "execveat",
    "name_to_handle_at",
    "renameat",
    "renameat2",
    "linkat",
];

/// How many raw arguments to show: enough for the common calls, without a
/// hand-written table of every signature.
pub fn argument_count(name: &str) -> usize {
    match name {
        "getpid" | "getppid" | "gettid" | "getuid" | "geteuid" | "getgid" | "getegid"
        | "sched_yield" | "fork" | "vfork" | "pause" | "sync" => 0,
        "close" | "exit" | "exit_group" | "uname" | "brk" | "dup" | "chdir" | "set_tid_address" => {
            1
        }
        "getcwd" | "munmap" | "dup2" | "kill" | "sigaltstack" | "pipe2" | "arch_prctl" => 2,
        _ => 3,
    }
}

/// `--block NAME,... --errno NAME`: the calls a blocker makes fail, and
/// with which error, as syscall-blocker and seccomp-notify both take them.
#[derive(Debug, clap::Args)]
pub struct BlockArgs {
    /// Syscalls to block, by name or x86_64 number: --block socket,connect.
    /// A name is blocked in every ABI (64-bit, int 0x80, x32), each by its
    /// own number there, as strace does.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub block: Vec<String>,
    /// The error a blocked call returns.
    #[arg(long, default_value = "EPERM", value_name = "NAME")]
    pub errno: String,
}

impl BlockArgs {
    /// `--errno`'s error; a name that is none is refused in one line.
    pub fn errno(&self) -> anyhow::Result<Errno> {
        errno_by_name(&self.errno).ok_or_else(|| {
            anyhow::anyhow!(
                "--errno {}: not an errno name such as EPERM or EACCES",
                self.errno
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// newfstatat by strace's name on both architectures, 262 on x86_64
    /// and 79 on arm64, named so both ways, and suggested so.
    #[test]
    fn newfstatat_is_straces_name_everywhere() {
        let nr = syscall_number("newfstatat").expect("newfstatat");
        assert_eq!(
            nr,
            if cfg!(target_arch = "x86_64") {
                262
            } else {
                79
            }
        );
        assert_eq!(syscall_name(nr), "newfstatat");
        // The suggestions for a misspelt name offer strace's name too.
        assert!(syscall_names().any(|name| name == "newfstatat"));
        assert!(!syscall_names().any(|name| name == "fstatat"));
        assert_eq!(similar_syscalls("newfstat")[0], "newfstatat");
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn syscall_names_come_from_the_table() {
        assert_eq!(syscall_name(0), "read");
        assert_eq!(syscall_name(1), "write");
        assert_eq!(syscall_name(59), "execve");
        assert_eq!(syscall_name(100_000), "syscall_0x186a0");
        assert_eq!(syscall_name(u64::MAX), "syscall_0xffffffffffffffff");
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn syscall_names_come_from_the_arm64_table() {
        assert_eq!(syscall_name(63), "read");
        assert_eq!(syscall_name(64), "write");
        assert_eq!(syscall_name(221), "execve");
        assert_eq!(syscall_name(239), "move_pages");
        assert_eq!(syscall_number("mount"), Some(40));
        assert_eq!(syscall_number("open"), None);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
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

/// Every syscall name of this architecture, as strace gives it, for
/// suggestions.
pub fn syscall_names() -> impl Iterator<Item = &'static str> {
    Sysno::iter().map(|sysno| strace_name(sysno.name()))
}

/// Up to three known syscall names close to a misspelt one, closest first.
/// A short name gets fewer: one edit for a name of two or three characters,
/// none for a single character or an empty name, and a known name that
/// merely contains it counts only from three characters on (`sock` finds
/// `socket`, while `b` would find half the table).
pub fn similar_syscalls(name: &str) -> Vec<&'static str> {
    let length = name.chars().count();
    let max_distance = (length / 2).min(2);
    let mut close: Vec<(usize, usize, &'static str)> = syscall_names()
        .filter_map(|known| {
            let distance = edit_distance(name, known);
            // A name that contains it ranks with the one-edit ones, the
            // shorter first.
            if length >= 3 && known.contains(name) {
                Some((distance.min(1), distance, known))
            } else {
                (distance <= max_distance && distance < length)
                    .then_some((distance, distance, known))
            }
        })
        .collect();
    close.sort();
    close
        .into_iter()
        .take(3)
        .map(|(_, _, known)| known)
        .collect()
}

/// The syscall that a command-line `flag` names with `value`: a name such
/// as `socket`, or a number this architecture has. Anything else is refused
/// with one line that names the flag and the value, as strace refuses
/// `-e trace=sockt` ("invalid system call"): an unknown name gets the
/// nearest known ones, a number is checked against this architecture's
/// table (whole, never truncated to 32 bits), and an empty name is named.
pub fn parse_syscall(flag: &str, value: &str) -> anyhow::Result<u64> {
    let shown = crate::program::shell_quote(value);
    if value.is_empty() {
        anyhow::bail!("{flag} {shown}: empty syscall name");
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value
            .parse::<usize>()
            .ok()
            .and_then(Sysno::new)
            .map(|sysno| sysno.id() as u64)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{flag} {shown}: invalid system call: no syscall {value} on {}",
                    std::env::consts::ARCH
                )
            });
    }
    if let Some(number) = syscall_number(value) {
        return Ok(number);
    }
    match similar_syscalls(value).as_slice() {
        [] => anyhow::bail!(
            "{flag} {shown}: no such syscall on {}",
            std::env::consts::ARCH
        ),
        close => anyhow::bail!(
            "{flag} {shown}: no such syscall on {}; did you mean {}?",
            std::env::consts::ARCH,
            close.join(", ")
        ),
    }
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

    use std::env::consts::ARCH;

    #[test]
    fn misspelt_syscalls_get_suggestions() {
        // arm64 has no open(2), only openat.
        #[cfg(target_arch = "x86_64")]
        assert_eq!(similar_syscalls("opne")[0], "open");
        assert!(similar_syscalls("sockt").contains(&"socket"));
        assert!(similar_syscalls("zzzzzzzzzz").is_empty());
        assert!(
            similar_syscalls("sock").contains(&"socket"),
            "{:?}",
            similar_syscalls("sock")
        );
    }

    #[test]
    fn short_names_get_few_or_no_suggestions() {
        assert!(similar_syscalls("").is_empty());
        assert!(similar_syscalls("b").is_empty());
        assert!(similar_syscalls("x").is_empty());
        // Two characters: one edit at most, so no four-letter names.
        assert!(similar_syscalls("rd").iter().all(|known| known.len() <= 3));
        assert!(similar_syscalls("bp").contains(&"bpf"));
    }

    #[test]
    fn syscalls_by_name_or_number() {
        let socket = syscall_number("socket").unwrap();
        assert_eq!(parse_syscall("--block", "socket").unwrap(), socket);
        assert_eq!(
            parse_syscall("--block", &socket.to_string()).unwrap(),
            socket
        );
        assert_eq!(parse_syscall("--block", "0").unwrap(), 0);
    }

    fn refusal(value: &str) -> String {
        format!("{:#}", parse_syscall("--block", value).unwrap_err())
    }

    #[test]
    fn misspelt_names_are_refused_with_suggestions() {
        assert_eq!(
            refusal("sockt"),
            format!("--block sockt: no such syscall on {ARCH}; did you mean socket?")
        );
        assert_eq!(
            refusal("zzzzzzzzzz"),
            format!("--block zzzzzzzzzz: no such syscall on {ARCH}")
        );
        assert_eq!(
            refusal("-1"),
            format!("--block -1: no such syscall on {ARCH}")
        );
    }

    #[test]
    fn numbers_must_be_syscalls_of_this_architecture() {
        assert_eq!(
            refusal("99999"),
            format!("--block 99999: invalid system call: no syscall 99999 on {ARCH}")
        );
        // 2^32 + 41: x86_64's socket if it were cut to 32 bits; it is not.
        assert_eq!(
            refusal("4294967337"),
            format!("--block 4294967337: invalid system call: no syscall 4294967337 on {ARCH}")
        );
        // A gap in the table, between the old calls and the shared ones
        // (x86_64), or the 32-bit time64 ones (arm64).
        assert!(refusal("400").contains("no syscall 400"));
        assert!(refusal("99999999999999999999999").contains("invalid system call"));
    }

    #[test]
    fn the_empty_name_is_named() {
        assert_eq!(refusal(""), "--block '': empty syscall name");
        assert_eq!(
            refusal("a b"),
            format!("--block 'a b': no such syscall on {ARCH}")
        );
    }

    #[test]
    fn errnos_by_name() {
        assert_eq!(errno_by_name("EPERM"), Some(Errno::EPERM));
        assert_eq!(errno_by_name("eacces"), Some(Errno::EACCES));
        assert_eq!(errno_by_name("ENOPE"), None);
    }
}
