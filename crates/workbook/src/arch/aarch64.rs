//! arm64 (aarch64): the lecture's calls the arm64 way. There is no
//! PTRACE_GETREGS and no `orig_rax`: the registers come and go with
//! PTRACE_GETREGSET/SETREGSET, the general ones as the NT_PRSTATUS set and
//! the syscall number the kernel will run as a set of its own,
//! NT_ARM_SYSTEM_CALL. The syscall number is passed in x8, the arguments in
//! x0 to x5, and the result comes back in x0.

use anyhow::Result;
use nix::errno::Errno;
use nix::sys::ptrace::{self, regset};
use nix::unistd::Pid;

use crate::gone::OrGone;

// ANCHOR: regs
/// The registers: the general ones as PTRACE_GETREGSET's NT_PRSTATUS set
/// returns them (`x0`..`x30` in `regs`, then sp, pc, pstate), and the
/// syscall number the kernel will run, its NT_ARM_SYSTEM_CALL set. The
/// kernel reads the number from x8 at syscall entry into a field of its
/// own, so writing x8 at a syscall-enter-stop changes nothing: that field
/// is what a tracer changes, x86_64's `orig_rax`.
#[derive(Clone, Copy)]
pub struct Regs {
    pub general: libc::user_regs_struct,
    pub syscall: i32,
}

/// The register set of the syscall number (linux/elf.h; not in libc).
const NT_ARM_SYSTEM_CALL: libc::c_int = 0x404;

/// PTRACE_GETREGSET of NT_PRSTATUS and of NT_ARM_SYSTEM_CALL.
pub fn read_regs(pid: Pid) -> Result<Regs> {
    let general = ptrace::getregset::<regset::NT_PRSTATUS>(pid)
        .or_gone("PTRACE_GETREGSET NT_PRSTATUS", pid)?;
    let mut syscall: i32 = 0;
    regset_request(libc::PTRACE_GETREGSET, pid, &mut syscall)
        .or_gone("PTRACE_GETREGSET NT_ARM_SYSTEM_CALL", pid)?;
    Ok(Regs { general, syscall })
}

/// PTRACE_SETREGSET of NT_PRSTATUS, then of NT_ARM_SYSTEM_CALL: the
/// number, unchanged or not, is written back as read.
pub fn write_regs(pid: Pid, regs: Regs) -> Result<()> {
    ptrace::setregset::<regset::NT_PRSTATUS>(pid, regs.general)
        .or_gone("PTRACE_SETREGSET NT_PRSTATUS", pid)?;
    let mut syscall = regs.syscall;
    regset_request(libc::PTRACE_SETREGSET, pid, &mut syscall)
        .or_gone("PTRACE_SETREGSET NT_ARM_SYSTEM_CALL", pid)
}

/// ptrace(request, pid, NT_ARM_SYSTEM_CALL, &iov), the iovec holding one int.
fn regset_request(request: libc::c_uint, pid: Pid, syscall: &mut i32) -> Result<(), Errno> {
    let mut iov = libc::iovec {
        iov_base: (syscall as *mut i32).cast(),
        iov_len: std::mem::size_of::<i32>(),
    };
    // SAFETY: the iovec points at one int, which outlives the call; the
    // kernel reads or writes at most iov_len bytes there.
    let ret = unsafe {
        libc::ptrace(
            request,
            pid.as_raw(),
            NT_ARM_SYSTEM_CALL as usize as *mut libc::c_void,
            &mut iov as *mut libc::iovec,
        )
    };
    Errno::result(ret).map(drop)
}
// ANCHOR_END: regs

/// Shown by demos that name the architecture they run on.
pub const NAME: &str = "aarch64";

/// `AUDIT_ARCH_AARCH64`, the value seccomp puts in `seccomp_data.arch`.
pub const AUDIT_ARCH: u32 = 0xc000_00b7;

/// `AUDIT_ARCH_ARM`: a call from AArch32 code (a 32-bit arm process, where
/// the CPU runs one), arm64's counterpart of x86_64's `int 0x80`.
pub const AUDIT_ARCH_COMPAT: u32 = 0x4000_0028;

/// The names of `AUDIT_ARCH` and `AUDIT_ARCH_COMPAT`, as strace prints them.
pub const AUDIT_ARCH_NAME: &str = "AUDIT_ARCH_AARCH64";
pub const AUDIT_ARCH_COMPAT_NAME: &str = "AUDIT_ARCH_ARM";

/// The top of user space (TASK_SIZE_64) with 48-bit virtual addresses, the
/// kernel's default map window: the stack is just below it. With 52-bit
/// addresses it is higher, but the kernel maps nothing there unless a
/// program asks.
pub const USER_SPACE_TOP: u64 = 1 << 48;

/// Where the tracee will execute next.
pub fn instruction_pointer(regs: &Regs) -> u64 {
    regs.general.pc
}

/// Sets the result of a call a SIGSYS handler trapped: x0 in the context
/// the kernel saved, which sigreturn restores.
pub fn set_result_in_context(context: &mut libc::ucontext_t, value: i64) {
    context.uc_mcontext.regs[0] = value as u64;
}

/// The register names, for narration.
pub const INSTRUCTION_POINTER: &str = "pc";
pub const SYSCALL_NUMBER: &str = "x8";
pub const RETURN_VALUE: &str = "x0";

// ANCHOR: syscall
/// The syscall number at a syscall stop: the kernel's copy, which x8 was
/// at entry (-1 once a tracer has skipped the call).
pub fn syscall_number(regs: &Regs) -> u64 {
    regs.syscall as i64 as u64
}

/// Changing the number at syscall entry changes which syscall runs; -1 runs
/// none, and x0 is then the call's result: still the first argument, unless
/// the tracer sets it at the exit stop (x86_64 leaves -ENOSYS in rax). The
/// kernel's number is an int.
pub fn set_syscall_number(regs: &mut Regs, nr: u64) {
    regs.syscall = nr as i32;
}

/// At a syscall-enter-stop whose call the kernel skips (PTRACE_SYSEMU):
/// back to its `svc #0`, 4 bytes before pc. x8 still holds the number and
/// x0 the first argument (nothing has overwritten them), so the call runs
/// when the thread goes on.
pub fn run_syscall_again(regs: &mut Regs) {
    regs.general.pc -= 4;
}

/// The six syscall arguments, x0 to x5. Only at a syscall-enter-stop: at
/// the exit x0 holds the result. (x7 is no argument, and the kernel
/// overwrites it at every syscall stop to tell entry from exit; tracers
/// read the arguments with PTRACE_GET_SYSCALL_INFO, as `stop` does.)
pub fn syscall_args(regs: &Regs) -> [u64; 6] {
    let x = &regs.general.regs;
    [x[0], x[1], x[2], x[3], x[4], x[5]]
}

/// The return value at syscall exit: a value, or -errno, in x0.
pub fn return_value(regs: &Regs) -> i64 {
    regs.general.regs[0] as i64
}

pub fn set_return_value(regs: &mut Regs, value: i64) {
    regs.general.regs[0] = value as u64;
}
// ANCHOR_END: syscall

/// The six arguments of a call made through `abi`: AArch32 passes them in
/// r0 to r5, the lower halves of x0 to x5.
pub fn syscall_args_of(abi: Abi, regs: &Regs) -> [u64; 6] {
    match abi {
        Abi::Aarch64 => syscall_args(regs),
        Abi::Arm => syscall_args(regs).map(|value| value & 0xffff_ffff),
    }
}

/// The number of a syscall in the AArch32 ABI (the `arm` table).
pub fn compat_syscall_number(name: &str) -> Option<u64> {
    name.parse::<syscalls::arm::Sysno>()
        .ok()
        .map(|sysno| sysno.id() as u64)
}

/// The syscall ABIs of an arm64 kernel. A 64-bit process has one: `svc #0`
/// with arm64 numbers. There is no x32, and no `int 0x80`: a 64-bit process
/// can't make a 32-bit call. Its counterpart is AArch32 code, a 32-bit arm
/// process, where the CPU runs one (many arm64 CPUs don't).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abi {
    /// `svc #0` from 64-bit code: arm64 numbers, AUDIT_ARCH_AARCH64.
    Aarch64,
    /// `svc #0` from AArch32 code: arm numbers, AUDIT_ARCH_ARM.
    Arm,
}

impl Abi {
    /// The ABI of this architecture's 64-bit programs.
    pub const NATIVE: Abi = Abi::Aarch64;

    /// The 32-bit ABI: AArch32 code's.
    pub const COMPAT: Abi = Abi::Arm;

    /// Every ABI a process may call through here.
    pub const ALL: [Abi; 2] = [Abi::Aarch64, Abi::Arm];

    /// The ABI of a call, from the `arch` that PTRACE_GET_SYSCALL_INFO or
    /// seccomp_data reports.
    pub fn of(audit_arch: u32, _nr: u64) -> Abi {
        match audit_arch {
            AUDIT_ARCH_COMPAT => Abi::Arm,
            _ => Abi::Aarch64,
        }
    }

    /// Where the kernel lacks PTRACE_GET_SYSCALL_INFO: pstate's bit 4
    /// (PSR_MODE32_BIT) is set in AArch32 code. (The NT_PRSTATUS set of
    /// such a process is the 32-bit one, which this workbook doesn't read.)
    pub fn from_registers(regs: &Regs) -> Abi {
        const PSR_MODE32_BIT: u64 = 0x10;
        if regs.general.pstate & PSR_MODE32_BIT != 0 {
            Abi::Arm
        } else {
            Abi::Aarch64
        }
    }

    /// strace's words when a process starts making calls through this ABI.
    pub fn mode(self) -> &'static str {
        match self {
            Abi::Aarch64 => "64 bit",
            Abi::Arm => "32 bit",
        }
    }

    /// The number of the syscall `name` in this ABI.
    pub fn number(self, name: &str) -> Option<u64> {
        match self {
            Abi::Aarch64 => crate::names::syscall_number(name),
            Abi::Arm => compat_syscall_number(name),
        }
    }

    /// The name of call `nr` in this ABI, or strace's `syscall_0x1d6` for a
    /// number the tables don't know.
    pub fn name(self, nr: u64) -> String {
        let known = match self {
            Abi::Aarch64 => crate::names::known_syscall(nr),
            Abi::Arm => usize::try_from(nr)
                .ok()
                .and_then(syscalls::arm::Sysno::new)
                .map(|sysno| sysno.name()),
        };
        known.map_or_else(|| format!("syscall_{nr:#x}"), str::to_string)
    }
}

// ANCHOR: breakpoint
/// `BRK #0`, the breakpoint instruction (0xd4200000), in memory order:
/// arm64 instructions are 4 bytes, little-endian and 4-byte aligned. The
/// kernel turns it into a SIGTRAP with si_code TRAP_BRKPT.
pub const BREAKPOINT: [u8; 4] = 0xd420_0000_u32.to_le_bytes();

/// The breakpoint instruction, as the narration names it.
pub const BREAKPOINT_NAME: &str = "BRK #0";

/// The same, with its article, for the narration.
pub const A_BREAKPOINT: &str = "a BRK #0";

/// The request that reads the registers, as the narration names it.
pub const GETREGS: &str = "PTRACE_GETREGSET";
pub const SETREGS: &str = "PTRACE_SETREGSET";

/// How far the instruction pointer has moved past the breakpoint's address
/// when the trap is reported: BRK is an exception taken before it runs, so
/// pc is still at it, and there is nothing to rewind.
pub const PAST_THE_BREAKPOINT: u64 = 0;

/// The si_code of the SIGTRAP a BRK raises: TRAP_BRKPT. A single step's
/// is TRAP_TRACE.
pub const BREAKPOINT_SI_CODE: i32 = 1;

/// Whether a SIGTRAP is the kernel's after one PTRACE_SINGLESTEP, in one of
/// its three forms:
/// - si_code TRAP_TRACE (2): the instruction ran;
/// - si_code SIGTRAP (5, which strace shows as TRAP_UNK), from the tracee's
///   own pid: the step delivered a signal, and the tracee stops at its
///   handler's first instruction (the kernel's ptrace_notify(SIGTRAP),
///   which puts the signal's number in si_code);
/// - SI_USER from pid 0: a step over `svc #0`, reported at the syscall's
///   exit in the generic form.
///
/// A BRK is TRAP_BRKPT, and kill -TRAP is SI_USER from its sender.
pub fn is_single_step_trap(info: &libc::siginfo_t) -> bool {
    const TRAP_TRACE: i32 = 2;
    // SAFETY: si_pid reads the union's kill member, which a SIGTRAP's
    // siginfo always has room for; for a fault it holds the address.
    let from_the_kernel = info.si_code == libc::SI_USER && unsafe { info.si_pid() } == 0;
    info.si_code == TRAP_TRACE || info.si_code == libc::SIGTRAP || from_the_kernel
}

/// Whether a program can single-step itself: not on arm64, where PSTATE.SS
/// is the debugger's alone. A step's trap is never the program's own.
pub const PROGRAM_CAN_SINGLE_STEP: bool = false;

/// Nothing to rewind: pc is at the BRK already (x86_64 moves rip back
/// over its int3 here). Returns pc.
pub fn rewind_over_breakpoint(pid: Pid) -> Result<u64> {
    read_regs(pid).map(|regs| regs.general.pc)
}
// ANCHOR_END: breakpoint

/// The registers of a function's first three integer arguments, by the
/// AAPCS64 calling convention (the same as a syscall's).
pub const FUNCTION_ARGS: [&str; 3] = ["x0", "x1", "x2"];

/// The values of `FUNCTION_ARGS`, at a function's first instruction.
pub fn function_args(regs: &Regs) -> [u64; 3] {
    let x = &regs.general.regs;
    [x[0], x[1], x[2]]
}

/// Changes the function's first argument (gdb's `set $x0 = value`).
pub fn set_first_function_arg(regs: &mut Regs, value: u64) {
    regs.general.regs[0] = value;
}

// ANCHOR: call
/// The registers for a call of `function`, with no argument, from a thread
/// stopped with `saved`, that returns to `return_to`: arm64's `bl` puts the
/// return address in the link register, x30, not on the stack, so nothing
/// is written to memory; sp goes below the stack in use, 16-aligned as
/// AAPCS64 wants. (glibc's arm64 resolvers of its own functions read the
/// loader's CPU features, as x86_64's do; x0 and x1 are 0.)
pub fn call_from(_pid: Pid, saved: &Regs, function: u64, return_to: u64) -> Result<Regs> {
    let mut regs = *saved;
    regs.general.sp = (saved.general.sp - 512) & !0xf;
    regs.general.pc = function;
    regs.general.regs[30] = return_to;
    regs.general.regs[0] = 0;
    regs.general.regs[1] = 0;
    // No syscall to restart when this thread goes on.
    regs.syscall = -1;
    Ok(regs)
}

/// Whether a function that started with `start` has returned: `ret`
/// jumped to the link register it was called with, and sp is back.
pub fn has_returned(start: &Regs, now: &Regs) -> bool {
    now.general.pc == start.general.regs[30] && now.general.sp >= start.general.sp
}
// ANCHOR_END: call

/// What a function returned, in x0.
pub fn function_result(regs: &Regs) -> u64 {
    regs.general.regs[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brk_0_in_memory_order() {
        assert_eq!(BREAKPOINT, [0x00, 0x00, 0x20, 0xd4]);
    }

    #[test]
    fn one_name_two_numbers() {
        assert_eq!(Abi::Aarch64.number("getppid"), Some(173));
        assert_eq!(Abi::Arm.number("getppid"), Some(64));
        assert_eq!(Abi::Aarch64.name(239), "move_pages");
        assert_eq!(Abi::Aarch64.number("open"), None);
        assert_eq!(Abi::of(AUDIT_ARCH_COMPAT, 1), Abi::Arm);
        assert_eq!(Abi::of(AUDIT_ARCH, 1), Abi::Aarch64);
    }
}
