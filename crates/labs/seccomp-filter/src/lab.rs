//! Lab: an allow-list with the arch check (chapter seccomp-filter).
//!
//! The chapter's filters are deny-lists: they name what is forbidden and
//! let everything else through, and `--hardened` shows the doors the
//! slide's filter leaves open. Here you write the safer kind: name what is
//! allowed, and refuse everything else, through every door. The rest (the
//! names, the install, the exec) is given in `main.rs`; print your filter
//! with `cargo run -p lab-seccomp-filter -- --allow write,exit_group`, run
//! a command under it with `... --allow NAMES -- CMD ARGS`, and check it
//! with `scripts/labs check seccomp-filter`.
#![allow(unused_imports, unused_variables)]

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
use workbook::arch::AUDIT_ARCH;
// x86_64's alone: arm64 has no x32 ABI.
#[cfg(target_arch = "x86_64")]
use workbook::arch::X32_SYSCALL_BIT;
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

/// The allow-list: a seccomp filter under which the x86_64 syscalls in
/// `numbers` (at most 250 of them, in any order) run, and nothing else:
///
/// - a call whose `seccomp_data.arch` is not `AUDIT_ARCH`
///   (AUDIT_ARCH_X86_64) kills the process, `SECCOMP_RET_KILL_PROCESS`:
///   through `int 0x80` a process makes i386 calls, whose numbers mean
///   other calls (i386's mkdir is 39, x86_64's getpid), and the list knows
///   none of them;
/// - a number with the x32 bit (`X32_SYSCALL_BIT`) set, or above it, fails
///   with ENOSYS, as on a kernel built without the x32 ABI:
///   `SECCOMP_RET_ERRNO` with the errno in its low 16 bits;
/// - a listed call is allowed, `SECCOMP_RET_ALLOW`;
/// - any other call fails with EPERM, `SECCOMP_RET_ERRNO` likewise, and
///   is not made.
///
/// On arm64 the same list, with arm64's numbers: `AUDIT_ARCH` is
/// AUDIT_ARCH_AARCH64, the other ABI is AArch32 code (a 32-bit arm
/// program, where the CPU runs one), whose numbers mean other calls too
/// (arm's mkdir is 39, arm64's umount2), and there is no x32 ABI, so no
/// x32 check (`#[cfg(target_arch = "x86_64")]` keeps it x86_64's).
///
/// `load(ARCH)` and `load(NR)` read the fields of `struct seccomp_data`,
/// `ret(value)` returns a verdict, and `bpf_jump(BPF_JMP | BPF_JEQ |
/// BPF_K, k, jt, jf)` (or `BPF_JGE`) compares A with k: `jt` and `jf`
/// count the instructions to skip, at most 255.
pub fn allow_list(numbers: &[u64]) -> Vec<sock_filter> {
    todo!("the arch, the x32 bit, one jeq per listed number, and the verdicts")
}
