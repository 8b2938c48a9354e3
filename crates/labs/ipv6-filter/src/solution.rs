//! Lab: a classic BPF program for a port given at run time (chapter
//! ipv6-filter). The reference solution.
#![allow(unused_imports, unused_variables)]

use libc::{BPF_ABS, BPF_B, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};

/// The ethertype of IPv6; the next header of UDP.
const ETH_P_IPV6: u32 = 0x86dd;
const IPPROTO_UDP: u32 = 17;

/// Where the headers start in the frame: Ethernet's is 14 bytes long,
/// IPv6's fixed header 40.
const IPV6_AT: u32 = 14;
const UDP_AT: u32 = IPV6_AT + 40;

pub fn ip6_udp_dst_port(port: u16) -> Vec<sock_filter> {
    vec![
        bpf_stmt(BPF_LD | BPF_H | BPF_ABS, 12),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 5),
        // The next-header byte.
        bpf_stmt(BPF_LD | BPF_B | BPF_ABS, IPV6_AT + 6),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 3),
        // The destination port: ldh gives it in host order already.
        bpf_stmt(BPF_LD | BPF_H | BPF_ABS, UDP_AT + 2),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, u32::from(port), 0, 1),
        bpf_stmt(BPF_RET | BPF_K, 0x0004_0000),
        bpf_stmt(BPF_RET | BPF_K, 0),
    ]
}
