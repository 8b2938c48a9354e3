//! x86_64, the lecture's architecture: the registers as PTRACE_GETREGS
//! returns them (`orig_rax`, `rip`), and the three syscall ABIs a 64-bit
//! process can use (`syscall`, `int 0x80`, x32).

use anyhow::Result;
use nix::sys::ptrace;
use nix::unistd::Pid;

use crate::gone::OrGone;

mod abi;
pub use abi::Abi;

/// The register file as PTRACE_GETREGS returns it.
pub type Regs = libc::user_regs_struct;

/// Shown by demos that name the architecture they run on.
pub const NAME: &str = "x86_64";

/// `AUDIT_ARCH_X86_64`, the value seccomp puts in `seccomp_data.arch`.
pub const AUDIT_ARCH: u32 = 0xc000_003e;

/// The names of `AUDIT_ARCH` and `AUDIT_ARCH_COMPAT`, as strace prints them.
pub const AUDIT_ARCH_NAME: &str = "AUDIT_ARCH_X86_64";
pub const AUDIT_ARCH_COMPAT_NAME: &str = "AUDIT_ARCH_I386";

/// The top of user space (TASK_SIZE_MAX) with 4-level paging: the kernel
/// refuses (EFAULT) a buffer that runs past it. With 5-level paging it is
/// higher, but the kernel maps nothing there unless a program asks.
pub const USER_SPACE_TOP: u64 = 0x7fff_ffff_f000;

/// The bit that marks a syscall number as the x32 ABI on an x86_64 kernel.
pub const X32_SYSCALL_BIT: u64 = 0x4000_0000;

/// PTRACE_GETREGS, with the pid in the error.
pub fn read_regs(pid: Pid) -> Result<Regs> {
    ptrace::getregs(pid).or_gone("PTRACE_GETREGS", pid)
}

/// PTRACE_SETREGS, with the pid in the error.
pub fn write_regs(pid: Pid, regs: Regs) -> Result<()> {
    ptrace::setregs(pid, regs).or_gone("PTRACE_SETREGS", pid)
}

/// Where the tracee will execute next.
pub fn instruction_pointer(regs: &Regs) -> u64 {
    regs.rip
}

/// Sets the result of a call a SIGSYS handler trapped: rax in the context
/// the kernel saved, which sigreturn restores.
pub fn set_result_in_context(context: &mut libc::ucontext_t, value: i64) {
    context.uc_mcontext.gregs[libc::REG_RAX as usize] = value;
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

/// At a syscall-enter-stop whose call the kernel skips (PTRACE_SYSEMU):
/// back to its `syscall` instruction, 2 bytes before rip, with its number
/// in rax again, so that the call runs when the thread goes on.
pub fn run_syscall_again(regs: &mut Regs) {
    regs.rip -= 2;
    regs.rax = regs.orig_rax;
}

/// The six syscall arguments in ABI order.
pub fn syscall_args(regs: &Regs) -> [u64; 6] {
    [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9]
}

/// The six arguments of a call made through `abi`: i386 passes them in
/// ebx, ecx, edx, esi, edi, ebp (the kernel keeps them in the 64-bit slots).
pub fn syscall_args_of(abi: Abi, regs: &Regs) -> [u64; 6] {
    match abi {
        Abi::I386 => [regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp]
            .map(|value| value & 0xffff_ffff),
        Abi::X86_64 | Abi::X32 => syscall_args(regs),
    }
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

/// `int3`, the one-byte breakpoint instruction: interrupt 3, which the
/// kernel turns into a SIGTRAP with si_code SI_KERNEL.
pub const BREAKPOINT: [u8; 1] = [0xcc];

/// The breakpoint instruction, as the narration names it.
pub const BREAKPOINT_NAME: &str = "int3";

/// The same, with its article, for the narration.
pub const A_BREAKPOINT: &str = "an int3";

/// The request that reads the registers, as the narration names it.
pub const GETREGS: &str = "PTRACE_GETREGS";
pub const SETREGS: &str = "PTRACE_SETREGS";

/// How far the instruction pointer has moved past the breakpoint's address
/// when the trap is reported: int3 is a trap, reported after it ran.
pub const PAST_THE_BREAKPOINT: u64 = 1;

/// The si_code of the SIGTRAP an int3 raises: SI_KERNEL. A single step's
/// and the debug registers' traps have si_codes of their own (TRAP_TRACE,
/// TRAP_BRKPT), above 0 too.
pub const BREAKPOINT_SI_CODE: i32 = libc::SI_KERNEL;

/// Whether a SIGTRAP is the kernel's after one PTRACE_SINGLESTEP: si_code
/// TRAP_TRACE, or TRAP_BRKPT after a syscall instruction (x86_64 reports
/// that step itself). An int3 is SI_KERNEL, and kill -TRAP is SI_USER:
/// those are the program's.
pub fn is_single_step_trap(info: &libc::siginfo_t) -> bool {
    info.si_code > 0 && info.si_code != BREAKPOINT_SI_CODE
}

/// Whether a program can single-step itself: on x86_64 it sets TF in
/// EFLAGS (popf), and its SIGTRAP handler gets the traps.
pub const PROGRAM_CAN_SINGLE_STEP: bool = true;

// ANCHOR: rewind
/// rip back over the int3, which has run: PTRACE_PEEKUSER the word of rip
/// in `struct user`, PTRACE_POKEUSER it less one byte. Returns rip as it
/// was, one past the breakpoint.
pub fn rewind_over_breakpoint(pid: Pid) -> Result<u64> {
    let offset = user_offset_of_instruction_pointer();
    let rip = peek_user(pid, offset)?;
    poke_user(pid, offset, rip.wrapping_sub(PAST_THE_BREAKPOINT))?;
    Ok(rip)
}
// ANCHOR_END: rewind

/// Where `rip` lives in `struct user`, the area PTRACE_PEEKUSER and
/// PTRACE_POKEUSER address: `offsetof(struct user, regs)` (0) plus
/// `offsetof(struct user_regs_struct, rip)`.
pub fn user_offset_of_instruction_pointer() -> usize {
    // `regs` is the first member of `struct user`.
    std::mem::offset_of!(Regs, rip)
}

/// PTRACE_PEEKUSER: one word of the tracee's `struct user` (registers).
pub fn peek_user(pid: Pid, offset: usize) -> Result<u64> {
    ptrace::read_user(pid, offset as ptrace::AddressType)
        .map(|word| word as u64)
        .or_gone(&format!("PTRACE_PEEKUSER at offset {offset}"), pid)
}

/// PTRACE_POKEUSER: one word into the tracee's `struct user`.
pub fn poke_user(pid: Pid, offset: usize, value: u64) -> Result<()> {
    ptrace::write_user(pid, offset as ptrace::AddressType, value as libc::c_long)
        .or_gone(&format!("PTRACE_POKEUSER at offset {offset}"), pid)
}

/// The registers of a function's first three integer arguments, by the
/// System V AMD64 calling convention (a syscall's fourth is r10, a
/// function's rcx: only the first three are the same).
pub const FUNCTION_ARGS: [&str; 3] = ["rdi", "rsi", "rdx"];

/// The values of `FUNCTION_ARGS`, at a function's first instruction.
pub fn function_args(regs: &Regs) -> [u64; 3] {
    [regs.rdi, regs.rsi, regs.rdx]
}

/// Changes the function's first argument (gdb's `set $rdi = value`).
pub fn set_first_function_arg(regs: &mut Regs, value: u64) {
    regs.rdi = value;
}

/// The registers for a call of `function`, with no argument, from a thread
/// stopped with `saved`, that returns to `return_to`: the return address
/// pushed (PTRACE_POKEDATA) as `call` would, below the red zone (128
/// bytes), rsp 16-aligned before the push as the ABI wants at a function's
/// first instruction (rsp + 8 a multiple of 16).
pub fn call_from(pid: Pid, saved: &Regs, function: u64, return_to: u64) -> Result<Regs> {
    let rsp = ((saved.rsp - 512) & !0xf) - 8;
    ptrace::write(pid, rsp as ptrace::AddressType, return_to as i64).or_gone(
        &format!("PTRACE_POKEDATA of the return address at {rsp:#x}"),
        pid,
    )?;
    let mut regs = *saved;
    regs.rsp = rsp;
    regs.rip = function;
    // glibc's x86_64 resolvers take no argument; gdb passes AT_HWCAP, which
    // other architectures' read. rax 0: no vector registers in a varargs call.
    regs.rdi = 0;
    regs.rax = 0;
    // The kernel would restart an interrupted syscall at rip - 2.
    regs.orig_rax = u64::MAX;
    Ok(regs)
}

/// Whether a function that started with `start` has returned: `ret`
/// popped its return address, so rsp is above where it was.
pub fn has_returned(start: &Regs, now: &Regs) -> bool {
    now.rsp > start.rsp
}

/// What a function returned, in rax.
pub fn function_result(regs: &Regs) -> u64 {
    regs.rax
}

#[cfg(test)]
mod breakpoint_tests {
    use super::*;

    #[test]
    fn rip_is_the_seventeenth_word_of_struct_user() {
        // The slide's PEEKUSER/POKEUSER address: 16 words of registers
        // (r15 ... orig_rax) come first.
        assert_eq!(user_offset_of_instruction_pointer(), 16 * 8);
    }
}
