//! Lab: ROT13 what goes to one file descriptor (chapter write-rewriter).
//!
//! `lab-write-rewriter --rot13 FD -- CMD ...` stops the command at the
//! entry of every syscall. At a write(2) or writev(2) to FD, it rewrites
//! the bytes the call hands the kernel, in the tracee's own memory, with
//! ROT13 (each letter 13 places on in the alphabet, so that doing it twice
//! gives the text back), before the kernel reads them: what reaches FD is
//! ROT13, and writes to other descriptors pass unchanged. The loop, the
//! demo's checks (a buffer the kernel would not copy whole, or one in a
//! shared mapping, is left alone) and the narration are given in `main.rs`.
//! Yours: the three functions below. Run your version with
//! `cargo run -p lab-write-rewriter -- --rot13 1 -- echo hello`, and check
//! it with `scripts/labs check write-rewriter`.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::{IoSlice, IoSliceMut};

use nix::errno::Errno;
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;
use write_rewriter::poke_buffer;

/// The most iovecs one writev takes (UIO_MAXIOV).
pub const IOV_MAX: usize = 1024;

/// ROT13 of one byte: a letter `a`..`z` or `A`..`Z` moves 13 places on in
/// its own alphabet, going round from `z` to `a` (`a` <-> `n`, `M` <-> `Z`);
/// every other byte (digits, punctuation, newlines, bytes past ASCII) stays
/// as it is.
pub fn rot13(byte: u8) -> u8 {
    todo!("ROT13 of one byte")
}

/// The buffers that the syscall `nr` (x86_64 numbers: `libc::SYS_write`,
/// `libc::SYS_writev`), stopped at its entry with the arguments `args`,
/// hands the kernel to write to the descriptor `fd`; none for any other
/// call, or for another descriptor.
///
/// - `write(fd, buf, count)`: one buffer, `count` bytes at `buf`.
/// - `writev(fd, iov, iovcnt)`: `iov` is the address, in the tracee, of an
///   array of `iovcnt` `struct iovec { void *iov_base; size_t iov_len; }`
///   (`libc::iovec`, 16 bytes on x86_64): one buffer per iovec, in order.
///   Read the array out of the tracee with ONE process_vm_readv, as the
///   chapter reads a buffer. `iovcnt` is an `int`: when it is not
///   between 1 and `IOV_MAX`, the kernel refuses the call before reading
///   anything, and there are no buffers. When the array can't be read
///   whole, the kernel's call fails with EFAULT: return that error.
///
/// Don't check the buffers themselves: `main.rs` does, with the demo's rules.
pub fn buffers_written(
    pid: Pid,
    nr: u64,
    args: [u64; 6],
    fd: i32,
) -> Result<Vec<RemoteIoVec>, Errno> {
    todo!("which buffers the call writes to fd, reading writev's iovec array from the tracee")
}

/// ROT13 of `buffer` in the tracee's memory: read its bytes with one
/// process_vm_readv (all of them, or the errno; fewer bytes than asked for
/// is EFAULT), rotate each (`rot13`), and write them back with one
/// process_vm_writev. Where that stops at a read-only page (a string
/// literal in `.rodata`, a read-only mapping), process_vm_writev writes
/// fewer bytes, or fails with EFAULT: write the rest with PTRACE_POKEDATA,
/// as the demo does (its `poke_buffer(pid, base, data)` is yours to call).
/// Return the number of bytes rewritten, or the errno of the call that
/// failed.
pub fn rot13_in_tracee(pid: Pid, buffer: RemoteIoVec) -> Result<usize, Errno> {
    todo!("process_vm_readv, ROT13, process_vm_writev, PTRACE_POKEDATA where read-only")
}
