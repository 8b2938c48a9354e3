//! Mistake: the next-header offsets are counted from the IPv6 header, as
//! the RFC draws it (6 and 40), not from the start of the frame: the
//! 14-byte Ethernet header comes first.
#![allow(unused_imports, unused_variables)]

use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{Context, Result};
use libc::{BPF_ABS, BPF_B, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET};
use nix::errno::Errno;
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};

pub fn ip6_udp_filter() -> Vec<sock_filter> {
    vec![
        bpf_stmt(BPF_LD | BPF_H | BPF_ABS, 12),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 0, 6),
        bpf_stmt(BPF_LD | BPF_B | BPF_ABS, 6),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 17, 3, 0),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 44, 0, 3),
        bpf_stmt(BPF_LD | BPF_B | BPF_ABS, 40),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 1),
        bpf_stmt(BPF_RET | BPF_K, 0x0004_0000),
        bpf_stmt(BPF_RET | BPF_K, 0),
    ]
}

pub fn attach_filter(fd: BorrowedFd<'_>, program: &[sock_filter]) -> Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `program`, which outlives the call; the
    // kernel copies the instructions before setsockopt returns.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&prog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    Errno::result(ret)
        .map(drop)
        .context("setsockopt(SO_ATTACH_FILTER)")
}
