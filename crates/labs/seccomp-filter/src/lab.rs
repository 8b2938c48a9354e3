//! Lab: a seccomp deny-list that checks the ABI (chapter seccomp-filter).
//!
//! Write the two calls that install a seccomp filter, and the filter that
//! `--hardened` runs: the lecture's deny-list, after the checks the slide
//! leaves out. The rest (the fork, the built-in targets, the report) is
//! given in `main.rs`; run your version with
//! `cargo run -p lab-seccomp-filter -- --hardened`, and check it with
//! `scripts/labs check seccomp-filter`.
#![allow(unused_imports, unused_variables)]

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
use nix::errno::Errno;
use workbook::arch::{AUDIT_ARCH, X32_SYSCALL_BIT};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

/// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`: nothing this process executes
/// may gain privileges. Without it only a process with CAP_SYS_ADMIN may
/// install a filter (seccomp(2) says EACCES). Called in the child after
/// `fork`: make the one call (`libc::prctl`, in an `unsafe` block with a
/// `// SAFETY:` comment) and return its errno on failure (`Errno::result`).
pub fn no_new_privs() -> Result<(), Errno> {
    todo!("prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)")
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)`, where `prog` is a
/// `libc::sock_fprog` holding the number of instructions and a pointer to
/// the first: from then on every syscall of this thread, and of what it
/// executes, goes through `filter`. libc has no wrapper: use
/// `libc::syscall(libc::SYS_seccomp, ...)`. Called in the child after
/// `fork`; return the errno on failure.
pub fn install(filter: &[sock_filter]) -> Result<(), Errno> {
    todo!("syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sock_fprog)")
}

/// The deny-list: `verdict` for each syscall in `numbers` (x86_64 numbers),
/// SECCOMP_RET_ALLOW for every other call. `struct seccomp_data` has `nr`
/// at offset 0 (`NR`) and `arch` at offset 4 (`ARCH`); `load(offset)` is
/// `ld [offset]`, `ret(value)` is `ret #value`.
///
/// The slide's filter loads `nr` and compares it with each number
/// (`BPF_JMP | BPF_JEQ | BPF_K`), and that is a hole: a call made through
/// another ABI has other numbers. So, first:
///
/// 1. `arch` must be `AUDIT_ARCH` (AUDIT_ARCH_X86_64): a call through
///    `int 0x80` says AUDIT_ARCH_I386 and carries i386 numbers. Any other
///    arch gets SECCOMP_RET_KILL_PROCESS, whatever `verdict` is.
/// 2. A number with the x32 bit (`X32_SYSCALL_BIT`, 0x40000000) set, or
///    above it (`BPF_JGE`), is the x32 ABI's: it gets `verdict`.
/// 3. Then the slide's `jeq`s, `ret ALLOW`, and `ret verdict` last.
///
/// `cargo run -p lab-seccomp-filter -- --hardened` prints your filter in
/// bpf_asm, and runs the built-in targets under it: the demo's
/// `--hardened` run prints the same.
pub fn deny_list(numbers: &[u64], verdict: u32) -> Vec<sock_filter> {
    todo!("ld [4], jeq AUDIT_ARCH, ret KILL_PROCESS, ld [0], jge x32 bit, jeq..., ret ALLOW, ret verdict")
}
