//! Lab: reach into the tracee's memory (chapter write-rewriter).
//!
//! Write the three memory calls of the lecture's rewriter: read a write(2)
//! buffer with one process_vm_readv, write the 'A's back with one
//! process_vm_writev, and, where that fails on a read-only page, write with
//! PTRACE_POKEDATA a word at a time. The rest (the PTRACE_SYSCALL loop, the
//! check that the kernel would copy the whole range, the narration, and the
//! fallback from one call to the other) is given in `main.rs`; run your
//! version with `cargo run -p lab-write-rewriter -- echo hello`, and check it
//! with `scripts/labs check write-rewriter`.
#![allow(unused_imports, unused_variables)]

use std::io::{IoSlice, IoSliceMut};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;

/// The size of a machine word (a C `long`): what one PTRACE_PEEKDATA or
/// PTRACE_POKEDATA moves.
pub const WORD: usize = std::mem::size_of::<libc::c_long>();

/// The tracee's `len` bytes at `base`, with ONE
/// `process_vm_readv(pid, local_iov, 1, remote_iov, 1, 0)`: one local
/// buffer (`IoSliceMut`) of `len` bytes, and one remote range
/// (`RemoteIoVec { base, len }`). Where the range runs into unmapped memory
/// the kernel copies what it can and returns how much: return only the
/// bytes it read. An error is the call's errno.
pub fn read_buffer(pid: Pid, base: usize, len: usize) -> Result<Vec<u8>, Errno> {
    todo!("one process_vm_readv")
}

/// Our `data` into the tracee at `base`, with ONE `process_vm_writev`
/// (`IoSlice` here, `RemoteIoVec` there). It writes as the tracee itself
/// would, so a read-only page stops it: return the number of bytes it
/// wrote (fewer than `data.len()` when it stopped at such a page), or its
/// errno (EFAULT when not even the first byte could be written).
pub fn write_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    todo!("one process_vm_writev")
}

/// The fallback: `data` into the tracee at `base` with
/// `ptrace(PTRACE_POKEDATA, pid, addr, word)` (`ptrace::write`), which
/// writes through page protection, as a debugger sets a breakpoint in
/// read-only code. It moves whole aligned words (`WORD` bytes at an address
/// that is a multiple of `WORD`), and `base` and `base + data.len()` need
/// not be aligned: a word that is only partly ours is read first
/// (`ptrace(PTRACE_PEEKDATA)`: `ptrace::read`), so that its other bytes
/// are written back as they were. Not one byte outside
/// `base..base + data.len()` may change. Return the number of words
/// written, or the errno of the first call that failed.
pub fn poke_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    todo!("PTRACE_PEEKDATA and PTRACE_POKEDATA, word by word")
}
