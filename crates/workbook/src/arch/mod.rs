//! Everything that depends on the CPU architecture: register names, the
//! syscall ABI and the audit architecture. The rest of the workbook asks this
//! module instead of naming `rax` or `rip` itself.
//!
//! One file per architecture, with the same names in each: `x86_64.rs`,
//! the lecture's («Под x86 — регистр rax»), and `aarch64.rs`, where the
//! same calls are made the arm64 way (PTRACE_GETREGSET, NT_ARM_SYSTEM_CALL,
//! BRK). Only the running architecture's file is built.

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "this workbook makes the lecture's ptrace calls on x86_64 and on arm64 \
     (aarch64) only: their registers, syscall numbers and AUDIT_ARCH values \
     are in crates/workbook/src/arch/, one file per architecture. Build it \
     on Linux x86_64 or arm64."
);

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

/// `BREAKPOINT`'s bytes as a little-endian number: what a program that
/// reads as many bytes of its own code sees where a debugger has planted
/// one (0xcc on x86_64, BRK #0's 0xd4200000 on arm64).
pub const BREAKPOINT_VALUE: u64 = {
    let mut word = [0u8; 8];
    let mut i = 0;
    while i < BREAKPOINT.len() {
        word[i] = BREAKPOINT[i];
        i += 1;
    }
    u64::from_le_bytes(word)
};

/// The first `BREAKPOINT.len()` bytes at `code`, as `BREAKPOINT_VALUE`
/// reads them: equal to it while a breakpoint is planted there.
///
/// # Safety
/// `code` must point at that many readable bytes (a function's first
/// instruction).
pub unsafe fn breakpoint_sized_bytes_at(code: *const u8) -> u64 {
    let mut word = [0u8; 8];
    for (i, byte) in word.iter_mut().take(BREAKPOINT.len()).enumerate() {
        // SAFETY: the caller vouches for BREAKPOINT.len() readable bytes.
        *byte = unsafe { std::ptr::read_volatile(code.add(i)) };
    }
    u64::from_le_bytes(word)
}
