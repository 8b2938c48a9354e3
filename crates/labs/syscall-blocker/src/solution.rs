//! Lab: refuse to open files under a folder (chapter syscall-blocker). The
//! reference solution.
#![allow(unused_imports, unused_variables)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::arch;
use workbook::memory::read_c_string;
use workbook::gone::unless_gone;

/// PATH_MAX: the kernel refuses a longer path with ENAMETOOLONG.
const PATH_MAX: usize = 4096;

pub fn named_file(pid: Pid, call: &str, args: [u64; 6]) -> Result<Option<PathBuf>> {
    // Where the path starts from (a dirfd, or None for the working
    // folder), and the path's address in the tracee.
    let (dirfd, address) = match call {
        "open" | "creat" => (None, args[0]),
        // The kernel takes dirfd as an int: the upper half is not its.
        "openat" | "openat2" => match args[0] as u32 as i32 {
            libc::AT_FDCWD => (None, args[1]),
            fd => (Some(fd), args[1]),
        },
        _ => return Ok(None),
    };
    let bytes = read_c_string(pid, address, PATH_MAX)
        .with_context(|| format!("the path {call} is to open, at {address:#x}"))?;
    let path = PathBuf::from(OsString::from_vec(bytes));
    if path.is_absolute() {
        return Ok(Some(path));
    }
    // The tracee's own starting point, as procfs shows it to the tracer.
    let start = match dirfd {
        None => PathBuf::from(format!("/proc/{pid}/cwd")),
        Some(fd) => PathBuf::from(format!("/proc/{pid}/fd/{fd}")),
    };
    Ok(Some(start.join(path)))
}

pub fn lies_under(file: &Path, folder: &Path) -> bool {
    // The file as the kernel will find it: symlinks followed, `..` taken
    // up; a file still to be made is its folder's, resolved, and its name.
    let resolved = match std::fs::canonicalize(file) {
        Ok(resolved) => resolved,
        Err(_) => {
            let (Some(parent), Some(name)) = (file.parent(), file.file_name()) else {
                return false;
            };
            match std::fs::canonicalize(parent) {
                Ok(parent) => parent.join(name),
                // No such folder: the call will fail of itself.
                Err(_) => return false,
            }
        }
    };
    // Part by part: /tmp/secret-plans is not under /tmp/secret.
    resolved.starts_with(folder)
}

pub fn refuse(pid: Pid) -> Result<Option<()>> {
    // Syscall -1 runs nothing, and the kernel then leaves rax as it finds
    // it: the result is set now, at the entry, with the number.
    unless_gone(arch::read_regs(pid).and_then(|mut regs| {
        arch::set_syscall_number(&mut regs, u64::MAX);
        arch::set_return_value(&mut regs, -(Errno::EACCES as i64));
        arch::write_regs(pid, regs)
    }))
}
