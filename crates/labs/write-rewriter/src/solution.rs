//! Lab: reach into the tracee's memory (chapter write-rewriter). The
//! reference solution.
#![allow(unused_imports, unused_variables)]

use std::io::{IoSlice, IoSliceMut};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;

pub const WORD: usize = std::mem::size_of::<libc::c_long>();

pub fn read_buffer(pid: Pid, base: usize, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buffer = vec![0u8; len];
    let remote = [RemoteIoVec { base, len }];
    let got = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buffer)], &remote)?;
    buffer.truncate(got);
    Ok(buffer)
}

pub fn write_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    let remote = [RemoteIoVec {
        base,
        len: data.len(),
    }];
    process_vm_writev(pid, &[IoSlice::new(data)], &remote)
}

pub fn poke_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    let start = base - base % WORD;
    let end = base + data.len();
    let mut words = 0;
    let mut addr = start;
    while addr < end {
        // A word only partly ours: its other bytes are kept as they are.
        let mut word = if addr < base || addr + WORD > end {
            ptrace::read(pid, addr as ptrace::AddressType)?.to_ne_bytes()
        } else {
            [0; WORD]
        };
        for (i, byte) in word.iter_mut().enumerate() {
            if (base..end).contains(&(addr + i)) {
                *byte = data[addr + i - base];
            }
        }
        ptrace::write(
            pid,
            addr as ptrace::AddressType,
            libc::c_long::from_ne_bytes(word),
        )?;
        words += 1;
        addr += WORD;
    }
    Ok(words)
}
