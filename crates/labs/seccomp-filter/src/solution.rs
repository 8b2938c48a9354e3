//! Lab: an allow-list with the arch check (chapter seccomp-filter). The
//! reference solution.
#![allow(unused_imports, unused_variables)]

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
use workbook::arch::AUDIT_ARCH;
#[cfg(target_arch = "x86_64")]
use workbook::arch::X32_SYSCALL_BIT;
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

pub fn allow_list(numbers: &[u64]) -> Vec<sock_filter> {
    let n = numbers.len();
    let refused = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let mut filter = vec![
        load(ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        load(NR),
    ];
    // x86_64's x32 numbers: over nothing to ENOSYS; else over it.
    #[cfg(target_arch = "x86_64")]
    filter.extend([
        bpf_jump(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT as u32, 0, 1),
        ret(libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
    ]);
    // The i-th of n jumps over the n - 1 - i after it and `ret EPERM`,
    // to `ret ALLOW`.
    for (i, &nr) in numbers.iter().enumerate() {
        filter.push(bpf_jump(
            BPF_JMP | BPF_JEQ | BPF_K,
            nr as u32,
            (n - i) as u8,
            0,
        ));
    }
    filter.push(ret(refused));
    filter.push(ret(libc::SECCOMP_RET_ALLOW));
    filter
}
