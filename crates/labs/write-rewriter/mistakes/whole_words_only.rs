//! Mistake: only whole words are poked (`chunks_exact`), and the bytes of
//! a last, partial word are forgotten: the end of a read-only buffer
//! (`"a\n"` of `"...rodata\n"`) is left as it was.
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
    let mut words = 0;
    for (n, chunk) in data.chunks_exact(WORD).enumerate() {
        let word = libc::c_long::from_ne_bytes(chunk.try_into().expect("a word"));
        ptrace::write(pid, (base + n * WORD) as ptrace::AddressType, word)?;
        words += 1;
    }
    Ok(words)
}
