//! Everything that depends on the CPU architecture: register names, the
//! syscall ABI and the audit architecture. The rest of the workbook asks this
//! module instead of naming `rax` or `rip` itself.

#[cfg(not(target_arch = "x86_64"))]
compile_error!(
    "this workbook follows the lecture on x86_64 only: its register names \
     (orig_rax, rip), syscall numbers and AUDIT_ARCH values are x86_64's. \
     Build it on Linux x86_64."
);

use anyhow::{Context, Result};
use nix::sys::ptrace;
use nix::unistd::Pid;

/// The register file as PTRACE_GETREGS returns it.
pub type Regs = libc::user_regs_struct;

/// Shown by demos that name the architecture they run on.
pub const NAME: &str = "x86_64";

/// `AUDIT_ARCH_X86_64`, the value seccomp puts in `seccomp_data.arch`.
pub const AUDIT_ARCH: u32 = 0xc000_003e;

/// The bit that marks a syscall number as the x32 ABI on an x86_64 kernel.
pub const X32_SYSCALL_BIT: u64 = 0x4000_0000;

/// PTRACE_GETREGS, with the pid in the error.
pub fn read_regs(pid: Pid) -> Result<Regs> {
    ptrace::getregs(pid).with_context(|| format!("PTRACE_GETREGS on pid {pid}"))
}

/// PTRACE_SETREGS, with the pid in the error.
pub fn write_regs(pid: Pid, regs: Regs) -> Result<()> {
    ptrace::setregs(pid, regs).with_context(|| format!("PTRACE_SETREGS on pid {pid}"))
}

/// Where the tracee will execute next.
pub fn instruction_pointer(regs: &Regs) -> u64 {
    regs.rip
}

/// The register names, for narration.
pub const INSTRUCTION_POINTER: &str = "rip";
pub const SYSCALL_NUMBER: &str = "orig_rax";
pub const RETURN_VALUE: &str = "rax";

/// The syscall number at a syscall stop. The kernel keeps it in `orig_rax`
/// because `rax` is overwritten by the return value.
pub fn syscall_number(regs: &Regs) -> u64 {
    regs.orig_rax
}

/// Changing the number at syscall entry changes which syscall runs; -1 runs none.
pub fn set_syscall_number(regs: &mut Regs, nr: u64) {
    regs.orig_rax = nr;
}

/// The six syscall arguments in ABI order.
pub fn syscall_args(regs: &Regs) -> [u64; 6] {
    [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9]
}

/// The return value at syscall exit: a value, or -errno.
pub fn return_value(regs: &Regs) -> i64 {
    regs.rax as i64
}

pub fn set_return_value(regs: &mut Regs, value: i64) {
    regs.rax = value as u64;
}

/// `AUDIT_ARCH_I386`: what seccomp_data.arch says for a call made through
/// the 32-bit ABI (`int 0x80`) on an x86_64 kernel.
pub const AUDIT_ARCH_COMPAT: u32 = 0x4000_0003;

/// The number of a syscall in the 32-bit (i386) ABI, which `int 0x80` uses
/// even from a 64-bit process.
pub fn compat_syscall_number(name: &str) -> Option<u64> {
    name.parse::<syscalls::x86::Sysno>()
        .ok()
        .map(|sysno| sysno.id() as u64)
}

/// A syscall through the 32-bit ABI: `int 0x80`, number in eax, arguments
/// in ebx, ecx, edx, esi, edi. Returns eax: a value, or -errno.
pub fn compat_syscall(nr: u32, args: [u32; 5]) -> i32 {
    let ret: i32;
    // SAFETY: int 0x80 enters the kernel's compat syscall path; it reads
    // only the registers named here and writes eax. rbx is reserved by the
    // compiler, so ebx is swapped in and out around the call.
    unsafe {
        std::arch::asm!(
            "xchg {arg0:r}, rbx",
            "int 0x80",
            "xchg {arg0:r}, rbx",
            arg0 = inout(reg) u64::from(args[0]) => _,
            inlateout("eax") nr => ret,
            in("ecx") args[1],
            in("edx") args[2],
            in("esi") args[3],
            in("edi") args[4],
            // Older kernels zeroed r8-r11 on int 0x80 from 64-bit code.
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
        );
    }
    ret
}
