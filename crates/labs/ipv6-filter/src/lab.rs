//! Lab: a classic BPF program of your own (chapter ipv6-filter).
//!
//! The chapter builds `tcpdump -d ip6` by hand. Here you build
//! `tcpdump -d 'ip6 and udp'`, and attach programs to sockets as the
//! slide's SetIPV6Filter does. The rest (the listing, the interpreter, the
//! live run in a network namespace) is given in `main.rs`; run your version
//! with `cargo run -p lab-ipv6-filter -- -d` (or `--explain`, or no option
//! for the live run), and check it with `scripts/labs check ipv6-filter`.
#![allow(unused_imports, unused_variables)]

use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{Context, Result};
use libc::{BPF_ABS, BPF_B, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET};
use nix::errno::Errno;
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};

/// `tcpdump -d 'ip6 and udp'`, instruction for instruction: nine
/// instructions built with `bpf_stmt` (BPF_STMT) and `bpf_jump` (BPF_JUMP).
///
/// - Load the ethertype, the halfword at offset 12 (`BPF_LD | BPF_H |
///   BPF_ABS`); anything but IPv6 (0x86dd) is dropped.
/// - Load IPv6's next-header field, one byte (`BPF_B`) at offset 14 + 6:
///   the 14-byte Ethernet header comes first. UDP (17) is kept.
/// - tcpdump also looks behind a fragment header (next header 44): its
///   own next-header byte is the first byte after the fixed 40-byte IPv6
///   header, at 14 + 40. UDP there is kept too; anything else is dropped.
/// - Keep is `ret #262144` (0x40000 bytes, the whole frame, as tcpdump
///   says it), drop is `ret #0`. Like tcpdump, have one `ret` of each, at
///   the end, and jump to them (`jt` and `jf` count the instructions
///   skipped).
///
/// `cargo run -p lab-ipv6-filter -- -d` must print what
/// `tcpdump -d 'ip6 and udp'` prints (tests/data/tcpdump-d-ip6-and-udp).
pub fn ip6_udp_filter() -> Vec<sock_filter> {
    todo!("ldh [12], jeq #0x86dd, ldb [20], jeq #17, jeq #44, ldb [54], jeq #17, ret, ret")
}

/// SetIPV6Filter from the slide: hand `program` to the kernel for the
/// socket `fd`, with `setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
/// sizeof prog)`, where `prog` is a `libc::sock_fprog` holding the
/// program's length and a pointer to its first instruction. The kernel
/// copies the program before setsockopt returns.
///
/// A failure is an error that names the call,
/// `setsockopt(SO_ATTACH_FILTER)`, around the `Errno` (`Errno::result`,
/// then `.context(...)`): `--explain` reads the errno back from it.
pub fn attach_filter(fd: BorrowedFd<'_>, program: &[sock_filter]) -> Result<()> {
    todo!("setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &sock_fprog, size)")
}
