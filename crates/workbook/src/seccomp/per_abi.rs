//! Filters with a list of calls per ABI, for the tracers: the filter reads
//! `arch` first, then the number, since each ABI numbers the calls its own
//! way. x86_64 has three ABIs (`syscall`, `int 0x80`, x32), arm64 two (its
//! own and AArch32 code's).

#[cfg(target_arch = "x86_64")]
use libc::BPF_JGE;
use libc::{BPF_JEQ, BPF_JMP, BPF_K};

use super::{listed, load, ret, ARCH, NR};
#[cfg(target_arch = "x86_64")]
use crate::arch::X32_SYSCALL_BIT;
use crate::arch::{Abi, AUDIT_ARCH, AUDIT_ARCH_COMPAT};
use crate::bpf::{bpf_jump, sock_filter};

// ANCHOR: trace_list
/// The data `trace_only` returns with SECCOMP_RET_TRACE (its low 16 bits),
/// which the tracer reads with PTRACE_GETEVENTMSG at the stop. The program
/// may install filters of its own that return RET_TRACE too, with data of
/// their own: this value tells our filter's stops from theirs.
pub const TRACE_ONLY_DATA: u16 = 0x7ace;

/// SECCOMP_RET_TRACE | TRACE_ONLY_DATA for the listed syscalls, ALLOW for
/// the rest: a tracer with PTRACE_O_TRACESECCOMP is stopped for those calls
/// only. Each ABI has its own list, since each numbers the calls its own
/// way: the filter reads `arch` first, then the number, and x32 numbers
/// carry bit 30.
#[cfg(target_arch = "x86_64")]
pub fn trace_only(x86_64: &[u64], x32: &[u64], i386: &[u64]) -> Vec<sock_filter> {
    let trace = libc::SECCOMP_RET_TRACE | u32::from(TRACE_ONLY_DATA);
    only_these(trace, x86_64, x32, i386)
}

/// `verdict` for the listed syscalls of each ABI, ALLOW for the rest: the
/// filter of `trace_only`, with any verdict (seccomp-notify's is
/// SECCOMP_RET_USER_NOTIF).
#[cfg(target_arch = "x86_64")]
pub fn only_these(verdict: u32, x86_64: &[u64], x32: &[u64], i386: &[u64]) -> Vec<sock_filter> {
    let native = listed(x86_64, verdict);
    let x32 = listed(x32, verdict);
    // The number is in A: x32 numbers (bit 30 set) jump over the x86_64 list.
    let mut own = vec![bpf_jump(
        BPF_JMP | BPF_JGE | BPF_K,
        X32_SYSCALL_BIT as u32,
        native.len() as u8,
        0,
    )];
    own.extend(native);
    own.extend(x32);
    by_arch(own, listed(i386, verdict))
}

/// `ld [arch]`; this architecture's calls go to `own` with the number in
/// A, the compat ABI's to `compat` likewise, any other's are allowed.
fn by_arch(own: Vec<sock_filter>, compat: Vec<sock_filter>) -> Vec<sock_filter> {
    let to_compat = 1 + own.len();
    assert!(to_compat <= 255, "too many syscalls for one jump");
    let mut filter = vec![
        load(ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 0, to_compat as u8),
        load(NR),
    ];
    filter.extend(own);
    filter.extend([
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_COMPAT, 1, 0),
        ret(libc::SECCOMP_RET_ALLOW),
        load(NR),
    ]);
    filter.extend(compat);
    filter
}
// ANCHOR_END: trace_list

// ANCHOR: trace_list_aarch64
/// arm64's `trace_only`: one list for 64-bit calls, one for AArch32 ones
/// (arm64 has no x32, so no bit 30 to test).
#[cfg(target_arch = "aarch64")]
pub fn trace_only(aarch64: &[u64], arm: &[u64]) -> Vec<sock_filter> {
    let trace = libc::SECCOMP_RET_TRACE | u32::from(TRACE_ONLY_DATA);
    only_these(trace, aarch64, arm)
}

/// arm64's `only_these`.
#[cfg(target_arch = "aarch64")]
pub fn only_these(verdict: u32, aarch64: &[u64], arm: &[u64]) -> Vec<sock_filter> {
    by_arch(listed(aarch64, verdict), listed(arm, verdict))
}
// ANCHOR_END: trace_list_aarch64

/// `only_these` with each ABI's list from `numbers`, on any architecture.
pub fn only_these_each_abi(verdict: u32, numbers: impl Fn(Abi) -> Vec<u64>) -> Vec<sock_filter> {
    #[cfg(target_arch = "x86_64")]
    return only_these(
        verdict,
        &numbers(Abi::X86_64),
        &numbers(Abi::X32),
        &numbers(Abi::I386),
    );
    #[cfg(target_arch = "aarch64")]
    return only_these(verdict, &numbers(Abi::Aarch64), &numbers(Abi::Arm));
}

/// `only_these` for calls of this architecture's own ABI only.
pub fn only_these_native(verdict: u32, numbers: &[u64]) -> Vec<sock_filter> {
    only_these_each_abi(verdict, |abi| {
        if abi == Abi::NATIVE {
            numbers.to_vec()
        } else {
            Vec::new()
        }
    })
}

/// `trace_only` with each ABI's list from `numbers`, on any architecture.
pub fn trace_only_each_abi(numbers: impl Fn(Abi) -> Vec<u64>) -> Vec<sock_filter> {
    only_these_each_abi(
        libc::SECCOMP_RET_TRACE | u32::from(TRACE_ONLY_DATA),
        numbers,
    )
}

/// `trace_only` for calls of this architecture's own ABI only.
pub fn trace_only_native(numbers: &[u64]) -> Vec<sock_filter> {
    only_these_native(
        libc::SECCOMP_RET_TRACE | u32::from(TRACE_ONLY_DATA),
        numbers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(program: &[sock_filter]) -> Vec<(u16, u8, u8, u32)> {
        program.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn trace_only_has_a_list_per_abi() {
        let x32: u32 = 0x4000_0000;
        assert_eq!(
            raw(&trace_only(&[41, 42], &[u64::from(41 | x32)], &[359])),
            [
                (0x20, 0, 0, 4),
                (0x15, 0, 9, 0xc000_003e),
                (0x20, 0, 0, 0),
                (0x35, 4, 0, x32),
                (0x15, 2, 0, 41),
                (0x15, 1, 0, 42),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0x7ff0_7ace),
                (0x15, 1, 0, 41 | x32),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0x7ff0_7ace),
                (0x15, 1, 0, 0x4000_0003),
                (0x06, 0, 0, 0x7fff_0000),
                (0x20, 0, 0, 0),
                (0x15, 1, 0, 359),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0x7ff0_7ace),
            ]
        );
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn trace_only_has_a_list_per_abi_on_arm64() {
        assert_eq!(
            raw(&trace_only(&[41, 42], &[359])),
            [
                (0x20, 0, 0, 4),
                (0x15, 0, 5, 0xc000_00b7),
                (0x20, 0, 0, 0),
                (0x15, 2, 0, 41),
                (0x15, 1, 0, 42),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0x7ff0_7ace),
                (0x15, 1, 0, 0x4000_0028),
                (0x06, 0, 0, 0x7fff_0000),
                (0x20, 0, 0, 0),
                (0x15, 1, 0, 359),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0x7ff0_7ace),
            ]
        );
    }
}
