//! The three syscall ABIs a 64-bit process can call through on x86_64.

use super::{compat_syscall_number, Regs, AUDIT_ARCH, AUDIT_ARCH_COMPAT, X32_SYSCALL_BIT};

/// The syscall ABIs an x86_64 kernel accepts from a 64-bit process. A call
/// is made through one of them, and its number means something different
/// in each: 41 is `socket` for `syscall`, `dup` for `int 0x80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abi {
    /// The `syscall` instruction, x86_64 numbers.
    X86_64,
    /// `int 0x80` (or a 32-bit process): i386 numbers, AUDIT_ARCH_I386.
    I386,
    /// `syscall` with bit 30 set in the number: the x32 ABI.
    X32,
}

impl Abi {
    /// The ABI of this architecture's 64-bit programs: the `syscall`
    /// instruction.
    pub const NATIVE: Abi = Abi::X86_64;

    /// The 32-bit ABI: `int 0x80`.
    pub const COMPAT: Abi = Abi::I386;

    /// Every ABI a process may call through here.
    pub const ALL: [Abi; 3] = [Abi::X86_64, Abi::I386, Abi::X32];

    /// The ABI of a call, from the `arch` that PTRACE_GET_SYSCALL_INFO or
    /// seccomp_data reports and the number as the program passed it.
    ///
    /// x32 calls report AUDIT_ARCH_X86_64 too; the number tells them apart,
    /// as the kernel does: it takes the number as a 32-bit int
    /// (`do_syscall_64(regs, int nr)`) and runs an x32 call only when
    /// `(unsigned int)(nr - __X32_SYSCALL_BIT) < X32_NR_syscalls`
    /// (`do_syscall_x32`). So -1, -2 or 0x7fffffff, which have bit 30 set,
    /// are no x32 call: nothing runs, and the call is an x86_64 one that
    /// fails with ENOSYS. (strace takes bit 30 alone, -1 excepted, and
    /// announces x32 mode for them.)
    pub fn of(audit_arch: u32, nr: u64) -> Abi {
        let x32_index = (nr as u32).wrapping_sub(X32_SYSCALL_BIT as u32);
        match audit_arch {
            AUDIT_ARCH_COMPAT => Abi::I386,
            _ if x32_index < X32_NR_SYSCALLS => Abi::X32,
            _ => Abi::X86_64,
        }
    }

    /// Where the kernel lacks PTRACE_GET_SYSCALL_INFO, the code segment
    /// tells a 32-bit process apart (cs 0x23). An `int 0x80` from 64-bit
    /// code can't be told apart this way; such kernels (before 5.3) show
    /// it as an x86_64 call.
    pub fn from_registers(regs: &Regs) -> Abi {
        const USER32_CS: u64 = 0x23;
        Abi::of(
            if regs.cs == USER32_CS {
                AUDIT_ARCH_COMPAT
            } else {
                AUDIT_ARCH
            },
            regs.orig_rax,
        )
    }

    /// strace's words when a process starts making calls through this ABI:
    /// `[ Process PID=N runs in 32 bit mode. ]`.
    pub fn mode(self) -> &'static str {
        match self {
            Abi::X86_64 => "64 bit",
            Abi::I386 => "32 bit",
            Abi::X32 => "x32",
        }
    }

    /// The number of the syscall `name` in this ABI. x32 shares x86_64's
    /// numbers with bit 30 set, except for the calls whose arguments differ
    /// in a 32-bit process, which have numbers of their own from 512 on.
    pub fn number(self, name: &str) -> Option<u64> {
        match self {
            Abi::X86_64 => crate::names::syscall_number(name),
            Abi::I386 => compat_syscall_number(name),
            Abi::X32 => X32_OWN_NUMBERS
                .iter()
                .find(|&&(own, _)| own == name)
                .map(|&(_, nr)| nr)
                .or_else(|| crate::names::syscall_number(name))
                .map(|nr| nr | X32_SYSCALL_BIT),
        }
    }

    /// The name of call `nr` in this ABI, or strace's `syscall_0x1d6` for a
    /// number the tables don't know.
    pub fn name(self, nr: u64) -> String {
        let known = match self {
            Abi::X86_64 => crate::names::known_syscall(nr),
            Abi::I386 => usize::try_from(nr)
                .ok()
                .and_then(syscalls::x86::Sysno::new)
                .map(|sysno| sysno.name()),
            Abi::X32 => {
                let nr = nr & !X32_SYSCALL_BIT;
                X32_OWN_NUMBERS
                    .iter()
                    .find(|&&(_, own)| own == nr)
                    .map(|&(name, _)| name)
                    .or_else(|| crate::names::known_syscall(nr))
            }
        };
        known.map_or_else(|| format!("syscall_{nr:#x}"), str::to_string)
    }
}

/// The kernel's X32_NR_syscalls: one past the highest x32 number, the
/// last of the x32 ABI's own numbers (pwritev2, 547).
const X32_NR_SYSCALLS: u32 = X32_OWN_NUMBERS[X32_OWN_NUMBERS.len() - 1].1 as u32 + 1;

/// The x32 ABI's calls with numbers of their own (the kernel's
/// arch/x86/entry/syscalls/syscall_64.tbl, "x32" rows; asm/unistd_x32.h):
/// their structures hold pointers or longs, which are 32-bit there. The
/// x86_64 numbers of these calls fail with ENOSYS under x32.
const X32_OWN_NUMBERS: [(&str, u64); 36] = [
    ("rt_sigaction", 512),
    ("rt_sigreturn", 513),
    ("ioctl", 514),
    ("readv", 515),
    ("writev", 516),
    ("recvfrom", 517),
    ("sendmsg", 518),
    ("recvmsg", 519),
    ("execve", 520),
    ("ptrace", 521),
    ("rt_sigpending", 522),
    ("rt_sigtimedwait", 523),
    ("rt_sigqueueinfo", 524),
    ("sigaltstack", 525),
    ("timer_create", 526),
    ("mq_notify", 527),
    ("kexec_load", 528),
    ("waitid", 529),
    ("set_robust_list", 530),
    ("get_robust_list", 531),
    ("vmsplice", 532),
    ("move_pages", 533),
    ("preadv", 534),
    ("pwritev", 535),
    ("rt_tgsigqueueinfo", 536),
    ("recvmmsg", 537),
    ("sendmmsg", 538),
    ("process_vm_readv", 539),
    ("process_vm_writev", 540),
    ("setsockopt", 541),
    ("getsockopt", 542),
    ("io_setup", 543),
    ("io_submit", 544),
    ("execveat", 545),
    ("preadv2", 546),
    ("pwritev2", 547),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_number_three_calls() {
        assert_eq!(Abi::X86_64.name(41), "socket");
        assert_eq!(Abi::I386.name(41), "dup");
        assert_eq!(Abi::X32.name(41 | X32_SYSCALL_BIT), "socket");
        assert_eq!(Abi::X86_64.name(999), "syscall_0x3e7");
    }

    #[test]
    fn one_name_three_numbers() {
        assert_eq!(Abi::X86_64.number("socket"), Some(41));
        assert_eq!(Abi::I386.number("socket"), Some(359));
        assert_eq!(Abi::X32.number("socket"), Some(41 | X32_SYSCALL_BIT));
        assert_eq!(Abi::I386.number("getppid"), Some(64));
    }

    #[test]
    fn x32_has_numbers_of_its_own() {
        assert_eq!(Abi::X32.number("execve"), Some(520 | X32_SYSCALL_BIT));
        assert_eq!(Abi::X32.number("ptrace"), Some(521 | X32_SYSCALL_BIT));
        assert_eq!(Abi::X32.number("pwritev2"), Some(547 | X32_SYSCALL_BIT));
        assert_eq!(Abi::X32.number("getppid"), Some(110 | X32_SYSCALL_BIT));
        assert_eq!(Abi::X32.name(520 | X32_SYSCALL_BIT), "execve");
        assert_eq!(Abi::X32.name(59 | X32_SYSCALL_BIT), "execve");
        assert_eq!(Abi::X32.name(548 | X32_SYSCALL_BIT), "syscall_0x40000224");
        // Every one of them is an x86_64 call too, under another number.
        for (name, nr) in X32_OWN_NUMBERS {
            let native = crate::names::syscall_number(name).expect(name);
            assert!(native < 512 && nr >= 512, "{name}");
        }
    }

    #[test]
    fn abi_from_the_reported_arch() {
        assert_eq!(Abi::of(AUDIT_ARCH, 1), Abi::X86_64);
        assert_eq!(Abi::of(AUDIT_ARCH_COMPAT, 1), Abi::I386);
        assert_eq!(Abi::of(AUDIT_ARCH, 1 | X32_SYSCALL_BIT), Abi::X32);
        assert_eq!(Abi::of(AUDIT_ARCH, u64::MAX), Abi::X86_64);
    }

    #[test]
    fn x32_only_where_the_kernel_runs_an_x32_call() {
        assert_eq!(X32_NR_SYSCALLS, 548);
        let x32 = |nr: u64| Abi::of(AUDIT_ARCH, nr) == Abi::X32;
        // syscall(-2), syscall(-1): bit 30 set, and no call at all.
        assert!(!x32(u64::MAX - 1));
        assert!(!x32(u64::MAX));
        assert!(!x32(0x7fff_ffff));
        assert!(!x32(X32_SYSCALL_BIT | 548));
        assert!(x32(X32_SYSCALL_BIT));
        assert!(x32(X32_SYSCALL_BIT | 547));
        // The kernel reads only the lower 32 bits of the number.
        assert!(x32(0xffff_ffff_4000_0029));
        assert!(!x32(0x4000_0000_0000_0029));
    }
}
