//! Mistake: no PTRACE_POKEDATA. The fallback tries process_vm_writev
//! again, which writes as the tracee would and fails on the read-only
//! page the same way: the string literal in .rodata is printed unchanged.
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
    let written = write_buffer(pid, base, data)?;
    Ok(written.div_ceil(WORD))
}
