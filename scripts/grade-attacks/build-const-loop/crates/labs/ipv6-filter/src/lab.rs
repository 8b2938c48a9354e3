//! Attack: a const evaluation that never ends (long_running_const_eval allowed): the build hangs.
#![allow(unused_imports, unused_variables)]
#![allow(long_running_const_eval)]

use workbook::bpf::sock_filter;

/// Counts for ever, at compile time.
const fn forever() -> u32 {
    let mut i: u32 = 0;
    loop {
        i = i.wrapping_add(1);
    }
}

#[allow(long_running_const_eval)]
const NEVER: u32 = forever();

/// Needs NEVER, so rustc must evaluate it.
pub fn ip6_udp_dst_port(port: u16) -> Vec<sock_filter> {
    panic!("{}", NEVER)
}

