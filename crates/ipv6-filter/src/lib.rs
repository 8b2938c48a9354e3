//! ipv6-filter's library: what the demo's program runs on, which the lab
//! of this chapter (crates/labs/ipv6-filter) runs its own program on too:
//! SetIPV6Filter, tcpdump's `-d`/`-dd`/`-ddd` forms, the kernel's verdict,
//! the live run's namespace and packet socket; and the same program in eBPF.

use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{Context, Result};
use workbook::bpf::disasm::{ddd, listing};
use workbook::bpf::sock_filter;

pub mod bpf_insn;
pub mod ebpf;
pub mod explain;
pub mod frames;
pub mod kernel;
pub mod live;

// ANCHOR: attach
/// SetIPV6Filter from the slide: hand the program to the kernel for `fd`.
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
            libc::SOL_SOCKET, // apply at the socket level
            libc::SO_ATTACH_FILTER,
            (&prog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    nix::errno::Errno::result(ret)
        .map(drop)
        .context("setsockopt(SO_ATTACH_FILTER)")
}
// ANCHOR_END: attach

/// The program as `tcpdump` prints it with `-d` (the listing), `-dd` (an
/// initializer of a C array of `struct sock_filter`, one `{ code, jt, jf, k }`
/// a line) or `-ddd` (the count, then `code jt jf k` in decimal, what
/// `--disasm` reads); more `d`s are `-ddd`, as in tcpdump. The formats are
/// libpcap's `bpf_dump()`'s: `{ 0x%x, %d, %d, 0x%08x },` and `%u %u %u %u`.
pub fn dump(program: &[sock_filter], ds: u8) -> String {
    match ds {
        1 => listing(program),
        2 => program
            .iter()
            .map(|i| format!("{{ {:#x}, {}, {}, {:#010x} }},\n", i.code, i.jt, i.jf, i.k))
            .collect(),
        _ => ddd(program),
    }
}
