//! Lab: refuse to open files under a folder (chapter syscall-blocker).
//!
//! `lab-syscall-blocker --deny-under DIR -- CMD ARGS...` runs CMD under a
//! PTRACE_SYSCALL tracer, given in `main.rs`. At every syscall-enter-stop
//! it asks `named_file` which file the call opens, if any, and
//! `lies_under` whether that file is DIR or lies below it; if so, it calls
//! `refuse`, and the program sees the call fail with EACCES ("Permission
//! denied"). Every other call, and every open outside DIR, runs as usual.
//! Write the three functions; run your version with
//! `cargo run -p lab-syscall-blocker -- --deny-under /tmp/secret -- touch /tmp/secret/x`,
//! and check it with `scripts/labs check syscall-blocker`.
#![allow(unused_imports, unused_variables)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::arch;
use workbook::gone::unless_gone;
use workbook::memory::read_c_string;

/// At the syscall-enter-stop of the call `call` (its name, as the tracee's
/// ABI names it: "openat", "open", "write"...) with the arguments `args`
/// (`args[0]` is the first, as in the C prototype): the file the call is to
/// open, or `None` for a call that opens no file by name.
///
/// The calls that open a file by its path are `open(path, flags, mode)`,
/// `creat(path, mode)`, `openat(dirfd, path, flags, mode)` and
/// `openat2(dirfd, path, how, size)`. The path is not in the registers:
/// the argument is its address in the tracee's memory, where a
/// NUL-terminated string lies (up to PATH_MAX, 4096 bytes; it may run
/// across a page boundary, or end at the very end of a mapping). Read it
/// from there (the chapter's `--trace` reads strings with
/// `workbook::memory::read_c_string`, one process_vm_readv per page).
///
/// A relative path starts from the tracee's working folder, not ours, or,
/// for openat and openat2, from the folder its `dirfd` refers to, unless
/// `dirfd` is AT_FDCWD. The kernel reads `dirfd` as a C `int`: the low 32
/// bits of the argument. Procfs shows both to the tracer as symlinks to
/// those folders: `/proc/PID/cwd` and `/proc/PID/fd/N`. Return a path this
/// process can use to reach the same file: an absolute path as it is, a
/// relative one joined to one of those.
///
/// An error (a path that can't be read) makes the tracer refuse the call.
pub fn named_file(pid: Pid, call: &str, args: [u64; 6]) -> Result<Option<PathBuf>> {
    todo!("which argument is the path; read it from the tracee; where a relative one starts")
}

/// Whether `file`, a path from `named_file`, names `folder` or something
/// below it, in the file system as the kernel will resolve it when the
/// call runs. `folder` is absolute and fully resolved (no symlink, `.` or
/// `..` in it).
///
/// `file` is not resolved yet: it may go through `/proc/PID/cwd`, a
/// symlink to a folder, `..` or `.`, and its last part may not exist yet
/// (a file the call is to create). `std::fs::canonicalize` resolves a path
/// that exists, as the kernel does (a symlink in it is followed, `..` is
/// the real parent); for a file still to be made, resolve the folder it is
/// to be made in and add its name. When even that folder does not
/// exist, the call can't open anything: not under `folder`.
///
/// Compare paths part by part, not as strings: `/tmp/secret-plans` is not
/// under `/tmp/secret`.
pub fn lies_under(file: &Path, folder: &Path) -> bool {
    todo!("resolve the file's path, then compare it with the folder part by part")
}

/// At the syscall-enter-stop of a call to refuse: make it fail with EACCES
/// without running it. `Ok(None)` when the tracee was killed meanwhile
/// (wrap the ptrace calls in `unless_gone`, as the chapter does).
///
/// The chapter does it in two steps, the syscall number (`orig_rax`) set
/// to -1 at the entry and the result (`rax`) set to `-errno` at the exit.
/// Here the tracer does nothing at the exit stop of a refused call: the
/// result must be in place by the time the kernel skips the call. What
/// does the kernel leave in `rax` when it runs no syscall (number -1)?
pub fn refuse(pid: Pid) -> Result<Option<()>> {
    todo!("PTRACE_GETREGS, no syscall to run and the result it returns, PTRACE_SETREGS")
}
