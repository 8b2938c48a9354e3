//! Lab: ROT13 what goes to one file descriptor (chapter write-rewriter).
//! The reference solution.
#![allow(unused_imports, unused_variables)]

use std::io::{IoSlice, IoSliceMut};

use nix::errno::Errno;
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;
use write_rewriter::poke_buffer;

/// The most iovecs one writev takes (UIO_MAXIOV).
pub const IOV_MAX: usize = 1024;

pub fn rot13(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' => b'a' + (byte - b'a' + 13) % 26,
        b'A'..=b'Z' => b'A' + (byte - b'A' + 13) % 26,
        _ => byte,
    }
}

pub fn buffers_written(
    pid: Pid,
    nr: u64,
    args: [u64; 6],
    fd: i32,
) -> Result<Vec<RemoteIoVec>, Errno> {
    // The kernel takes the descriptor as an unsigned int: the register's
    // upper half does not count.
    if args[0] as u32 != fd as u32 {
        return Ok(Vec::new());
    }
    match nr as i64 {
        libc::SYS_write => Ok(vec![RemoteIoVec {
            base: args[1] as usize,
            len: args[2] as usize,
        }]),
        libc::SYS_writev => {
            // iovcnt is an int: negative or past IOV_MAX, the kernel
            // refuses the call (EINVAL) before it reads any iovec.
            let count = args[2] as i32;
            if count <= 0 || count as usize > IOV_MAX {
                return Ok(Vec::new());
            }
            let size = std::mem::size_of::<libc::iovec>();
            let mut array = vec![0u8; count as usize * size];
            let remote = [RemoteIoVec {
                base: args[1] as usize,
                len: array.len(),
            }];
            let got = process_vm_readv(pid, &mut [IoSliceMut::new(&mut array)], &remote)?;
            if got < array.len() {
                // The kernel can't copy the array either: EFAULT.
                return Err(Errno::EFAULT);
            }
            // struct iovec { void *iov_base; size_t iov_len; }: two words.
            Ok(array
                .chunks_exact(size)
                .map(|iovec| {
                    let (base, len) = iovec.split_at(size / 2);
                    RemoteIoVec {
                        base: usize::from_ne_bytes(base.try_into().expect("a word")),
                        len: usize::from_ne_bytes(len.try_into().expect("a word")),
                    }
                })
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

pub fn rot13_in_tracee(pid: Pid, buffer: RemoteIoVec) -> Result<usize, Errno> {
    let mut bytes = vec![0u8; buffer.len];
    let got = process_vm_readv(pid, &mut [IoSliceMut::new(&mut bytes)], &[buffer])?;
    if got < buffer.len {
        return Err(Errno::EFAULT);
    }
    for byte in bytes.iter_mut() {
        *byte = rot13(*byte);
    }
    let written = match process_vm_writev(pid, &[IoSlice::new(&bytes)], &[buffer]) {
        Ok(written) => written,
        Err(Errno::EFAULT) => 0,
        Err(errno) => return Err(errno),
    };
    if written < bytes.len() {
        // A read-only page: process_vm_writev writes as the tracee would,
        // PTRACE_POKEDATA through the protection (on a private copy).
        poke_buffer(pid, buffer.base + written, &bytes[written..])?;
    }
    Ok(bytes.len())
}
