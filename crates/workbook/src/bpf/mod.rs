//! Classic BPF: instructions built with the C macros' shapes, listed the way
//! tcpdump lists them, and run in a small userspace interpreter.

pub mod disasm;
pub mod interp;

pub use libc::sock_filter;

/// `BPF_STMT(code, k)`: an instruction that does not jump.
pub const fn bpf_stmt(code: u32, k: u32) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

/// `BPF_JUMP(code, k, jt, jf)`: a conditional jump, `jt` or `jf`
/// instructions forward.
pub const fn bpf_jump(code: u32, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}
