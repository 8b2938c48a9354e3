//! Lab: a seccomp deny-list that checks the ABI (chapter seccomp-filter).
//! The reference solution.
#![allow(unused_imports, unused_variables)]

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
use nix::errno::Errno;
use workbook::arch::{AUDIT_ARCH, X32_SYSCALL_BIT};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

pub fn no_new_privs() -> Result<(), Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }).map(drop)
}

pub fn install(filter: &[sock_filter]) -> Result<(), Errno> {
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `filter`, which outlives the call; the
    // kernel copies the program before returning.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        )
    };
    Errno::result(ret).map(drop)
}

pub fn deny_list(numbers: &[u64], verdict: u32) -> Vec<sock_filter> {
    let n = numbers.len();
    assert!(n < 255, "a jump reaches at most 255 instructions ahead");
    let mut filter = vec![
        load(ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        load(NR),
        // Over the n jeqs and `ret ALLOW`, to `ret verdict`.
        bpf_jump(
            BPF_JMP | BPF_JGE | BPF_K,
            X32_SYSCALL_BIT as u32,
            n as u8 + 1,
            0,
        ),
    ];
    for (i, &nr) in numbers.iter().enumerate() {
        filter.push(bpf_jump(
            BPF_JMP | BPF_JEQ | BPF_K,
            nr as u32,
            (n - i) as u8,
            0,
        ));
    }
    filter.push(ret(libc::SECCOMP_RET_ALLOW));
    filter.push(ret(verdict));
    filter
}
