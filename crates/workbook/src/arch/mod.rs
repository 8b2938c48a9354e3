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
