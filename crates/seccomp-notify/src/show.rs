//! `--trace`: a line for each call the supervisor answered, on stderr, as
//! strace writes it: `[pid N] openat(AT_FDCWD, "/etc/hostname", 0x80000) =
//! -1 EPERM (Operation not permitted) (blocked)`. A notification comes
//! whole (the arguments, then our answer), so each line is printed whole.

use nix::unistd::Pid;
use workbook::arch::Abi;
use workbook::memory::quoted;
use workbook::names::{argument_count, AT_CALLS};

/// A call as the filter saw it.
pub struct Call {
    pub abi: Abi,
    pub name: String,
    pub args: [u64; 6],
}

/// The calls whose first argument is a path.
const PATH_FIRST: &[&str] = &[
    "open", "creat", "execve", "stat", "lstat", "access", "chdir", "mkdir", "rmdir", "unlink",
    "readlink", "truncate", "chmod", "chown", "lchown", "statfs", "uselib", "acct",
];

/// How many bytes of a path a line shows, as strace's `-s 32` does.
const SHOWN_BYTES: usize = 32;

impl Call {
    pub fn new(abi: Abi, nr: u64, args: [u64; 6]) -> Call {
        Call {
            abi,
            name: abi.name(nr),
            args,
        }
    }

    /// Which argument is a path, if one is.
    pub fn path_argument(&self) -> Option<usize> {
        let name = self.name.as_str();
        if PATH_FIRST.contains(&name) {
            Some(0)
        } else if AT_CALLS.contains(&name) {
            Some(1)
        } else {
            None
        }
    }

    /// The arguments, as raw numbers (as many as syscall-blocker shows),
    /// but a path as a string and a directory fd of AT_FDCWD by that name.
    fn arguments(&self, path: Option<&[u8]>) -> String {
        let at = self.path_argument();
        (0..argument_count(&self.name))
            .map(|i| match (at, path) {
                (Some(at), Some(path)) if at == i => quoted(path, SHOWN_BYTES),
                (Some(1), _) if i == 0 && self.args[0] as i32 == libc::AT_FDCWD => {
                    "AT_FDCWD".to_string()
                }
                _ => format!("{:#x}", self.args[i]),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The --trace printer: silent without --trace.
pub struct Printer {
    enabled: bool,
}

impl Printer {
    pub fn new(enabled: bool) -> Printer {
        Printer { enabled }
    }

    /// `[pid N] name(arguments) = result`; the pid when it is not the
    /// program's first, as strace -f writes it. A call through another ABI
    /// than x86_64's says which.
    pub fn show(&mut self, prefix: Option<Pid>, call: &Call, path: Option<&[u8]>, result: &str) {
        if !self.enabled {
            return;
        }
        let pid = prefix.map_or(String::new(), |pid| format!("[pid {pid}] "));
        let abi = match call.abi {
            Abi::X86_64 => "",
            Abi::I386 => " [int 0x80]",
            Abi::X32 => " [x32]",
        };
        workbook::narrate!(
            "{pid}{}({}) = {result}{abi}",
            call.name,
            call.arguments(path)
        );
    }
}
