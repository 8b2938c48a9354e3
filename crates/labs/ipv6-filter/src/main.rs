//! lab-ipv6-filter: the ipv6-filter demo, with the program and the attach
//! written by you in `lab.rs`: `tcpdump -d 'ip6 and udp'` built with
//! BPF_STMT and BPF_JUMP, and SetIPV6Filter's setsockopt(SO_ATTACH_FILTER).
//! It runs like the demo: `cargo run -p lab-ipv6-filter -- [-d | --explain
//! | --disasm | --iface NAME | --attach-fd FD]`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its `ipv6_filter` and `attach_filter`, your
//! `ip6_udp_filter` and `attach_filter` are used.
// What only the demo's own program and attach need goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../ipv6-filter/src/main.rs");
