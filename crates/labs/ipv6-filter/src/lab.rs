//! Lab: a classic BPF program for a port given at run time (chapter
//! ipv6-filter).
//!
//! The chapter builds `tcpdump -d ip6` by hand, a program fixed at compile
//! time. Here you build, when the program runs, the one for `tcpdump 'ip6
//! and udp dst port PORT'`, for the PORT the user gives. The rest (the
//! listing, SetIPV6Filter, the live run in a network namespace) is given
//! in `main.rs`; look at your program with `cargo run -p lab-ipv6-filter
//! -- --port 53 -d`, run it with `cargo run -p lab-ipv6-filter -- --port
//! 53`, and check it with `scripts/labs check ipv6-filter`.
#![allow(unused_imports, unused_variables)]

use libc::{BPF_ABS, BPF_B, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};

/// A classic BPF program that keeps, whole, every Ethernet frame that
/// carries a UDP datagram over IPv6 to the destination port `port`, and
/// drops every other frame. It is built with `bpf_stmt` (BPF_STMT) and
/// `bpf_jump` (BPF_JUMP), as the chapter builds `ip6`.
///
/// A frame is kept when all three hold:
/// - its ethertype (the halfword at offset 12, as in the chapter) is IPv6,
///   0x86dd;
/// - the next-header field of its IPv6 header is UDP, 17. That field is
///   one byte (`BPF_B`), 6 bytes into the 40-byte IPv6 header, which
///   starts after the 14-byte Ethernet header. Other headers in between
///   (a fragment header, options) are not looked through: such a frame is
///   dropped, as `tcpdump 'ip6 and udp dst port PORT'` drops it;
/// - the UDP destination port, the halfword 2 bytes into the UDP header
///   (which starts right after the IPv6 header), is `port`.
///
/// Offsets in `BPF_ABS` loads count from the first byte of the frame. A
/// halfword load gives the two bytes as a number in the machine's order:
/// compare it with the port as the user typed it. Keep is `ret #262144`,
/// drop is `ret #0`; a load past the end of a short frame drops it
/// anyway. `jt` and `jf` count the instructions skipped.
pub fn ip6_udp_dst_port(port: u16) -> Vec<sock_filter> {
    todo!("ethertype, next header, destination port: three loads, three jeqs, two rets")
}
