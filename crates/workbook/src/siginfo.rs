//! What PTRACE_GETSIGINFO says about a signal, printed as strace prints it
//! (`{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10}`), and the
//! tracee's signal mask (PTRACE_GETSIGMASK, PTRACE_SETSIGMASK) by name, as
//! strace prints masks: `[INT USR1]`.

use std::fmt::Write as _;

use anyhow::Result;
use nix::errno::Errno;
use nix::unistd::Pid;

use crate::gone::OrGone;
use crate::signal::Sig;

/// The siginfo_t of a signal, with its union read by the kernel's x86_64
/// layout: si_signo, si_errno, si_code and 4 bytes of padding, then the
/// union at offset 16. libc's siginfo_t has accessors for a few members
/// only, and no way to change si_value, which PTRACE_SETSIGINFO needs.
#[derive(Clone, Copy)]
pub struct SigInfo([u8; 128]);

const UNION: usize = 16;

impl SigInfo {
    pub fn from_raw(info: &libc::siginfo_t) -> SigInfo {
        const { assert!(std::mem::size_of::<libc::siginfo_t>() == 128) };
        // SAFETY: siginfo_t is 128 bytes of plain data (asserted above).
        SigInfo(unsafe { std::mem::transmute_copy(info) })
    }

    pub fn to_raw(&self) -> libc::siginfo_t {
        // SAFETY: as in from_raw: any 128 bytes are a siginfo_t.
        unsafe { std::mem::transmute_copy(&self.0) }
    }

    fn i32_at(&self, offset: usize) -> i32 {
        i32::from_ne_bytes(self.0[offset..offset + 4].try_into().expect("4 bytes"))
    }

    fn u64_at(&self, offset: usize) -> u64 {
        u64::from_ne_bytes(self.0[offset..offset + 8].try_into().expect("8 bytes"))
    }

    pub fn signo(&self) -> i32 {
        self.i32_at(0)
    }

    pub fn errno(&self) -> i32 {
        self.i32_at(4)
    }

    pub fn code(&self) -> i32 {
        self.i32_at(8)
    }

    /// The sender (SI_USER, SI_QUEUE, SI_TKILL) or the child (SIGCHLD).
    pub fn pid(&self) -> i32 {
        self.i32_at(UNION)
    }

    pub fn uid(&self) -> u32 {
        self.i32_at(UNION + 4) as u32
    }

    /// si_value of a queued signal (sigqueue) or a timer's, as sival_ptr;
    /// sival_int is its low 32 bits.
    pub fn value(&self) -> u64 {
        self.u64_at(UNION + 8)
    }

    pub fn set_value(&mut self, value: u64) {
        self.0[UNION + 8..UNION + 16].copy_from_slice(&value.to_ne_bytes());
    }

    /// The faulting address of SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP.
    pub fn addr(&self) -> u64 {
        self.u64_at(UNION)
    }

    /// SIGCHLD's exit status (CLD_EXITED) or signal number.
    pub fn status(&self) -> i32 {
        self.i32_at(UNION + 8)
    }

    /// si_code by name, as strace names it: the generic codes (SI_USER,
    /// SI_QUEUE, SI_TKILL, SI_KERNEL...) first, then the signal's own
    /// (SEGV_MAPERR, CLD_EXITED...).
    pub fn code_name(&self) -> Option<&'static str> {
        code_name(self.signo(), self.code())
    }

    /// strace's `{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10}`:
    /// the same fields, in the same order, for every kind of signal.
    pub fn describe(&self) -> String {
        let mut out = String::from("{");
        if self.signo() != 0 {
            let _ = write!(out, "si_signo={}", signal_name(self.signo()));
            match self.code_name() {
                Some(name) => {
                    let _ = write!(out, ", si_code={name}");
                }
                None => {
                    let _ = write!(out, ", si_code={}", c_hex(self.code() as u32));
                }
            }
            self.describe_fields(&mut out);
        }
        out.push('}');
        out
    }

    fn describe_fields(&self, out: &mut String) {
        let mut fields = Fields(out);
        if self.errno() != 0 {
            let errno = Errno::from_raw(self.errno());
            let name = match errno {
                Errno::UnknownErrno => self.errno().to_string(),
                errno => format!("{errno:?}"),
            };
            fields.add("si_errno", name);
        }
        // Codes up to 0 come from a process (kill, sigqueue, tgkill), the
        // others from the kernel, and their fields depend on the signal.
        if self.code() <= 0 {
            self.sent_fields(&mut fields);
        } else {
            self.kernel_fields(&mut fields);
        }
    }

    /// The fields of a signal a process sent, by how it was sent.
    fn sent_fields(&self, fields: &mut Fields) {
        match self.code() {
            libc::SI_USER | libc::SI_TKILL => self.source_fields(fields),
            libc::SI_TIMER => {
                fields.add("si_timerid", c_hex(self.i32_at(UNION) as u32));
                fields.add("si_overrun", self.i32_at(UNION + 4).to_string());
                self.sigval_fields(fields);
            }
            libc::SI_SIGIO => self.poll_fields(fields),
            _ => {
                self.source_fields(fields);
                if self.value() != 0 {
                    self.sigval_fields(fields);
                }
            }
        }
    }

    /// The fields of a signal the kernel sent, by signal.
    fn kernel_fields(&self, fields: &mut Fields) {
        match self.signo() {
            libc::SIGCHLD => {
                self.source_fields(fields);
                let status = match self.code() {
                    libc::CLD_EXITED => self.status().to_string(),
                    _ => signal_name(self.status()),
                };
                fields.add("si_status", status);
                fields.add("si_utime", clock_ticks(self.u64_at(UNION + 16)));
                fields.add("si_stime", clock_ticks(self.u64_at(UNION + 24)));
            }
            libc::SIGILL | libc::SIGFPE | libc::SIGTRAP => {
                fields.add("si_addr", pointer(self.addr()))
            }
            libc::SIGBUS | libc::SIGSEGV => self.fault_fields(fields),
            libc::SIGIO if (1..=3).contains(&self.code()) => self.poll_fields(fields),
            libc::SIGSYS => self.sigsys_fields(fields),
            libc::SIGIO => {}
            _ => {
                if self.pid() != 0 || self.uid() != 0 {
                    self.source_fields(fields);
                }
                if self.value() != 0 {
                    self.sigval_fields(fields);
                }
            }
        }
    }

    /// Who sent it: si_pid and si_uid.
    fn source_fields(&self, fields: &mut Fields) {
        fields.add("si_pid", self.pid().to_string());
        fields.add("si_uid", self.uid().to_string());
    }

    /// What came with it (sigqueue, a timer): si_int and si_ptr.
    fn sigval_fields(&self, fields: &mut Fields) {
        fields.add("si_int", (self.value() as i32).to_string());
        fields.add("si_ptr", pointer(self.value()));
    }

    /// SIGIO's (or SI_SIGIO's) si_band and si_fd.
    fn poll_fields(&self, fields: &mut Fields) {
        fields.add("si_band", (self.u64_at(UNION) as i64).to_string());
        fields.add("si_fd", self.i32_at(UNION + 8).to_string());
    }

    /// SIGSEGV's and SIGBUS's address, and what some of their codes add.
    fn fault_fields(&self, fields: &mut Fields) {
        fields.add("si_addr", pointer(self.addr()));
        match (self.signo(), self.code()) {
            (libc::SIGBUS, BUS_MCEERR_AR | BUS_MCEERR_AO) => {
                let lsb = i16::from_ne_bytes([self.0[UNION + 8], self.0[UNION + 9]]);
                fields.add("si_addr_lsb", c_hex(u32::from(lsb as u16)));
            }
            (libc::SIGSEGV, SEGV_BNDERR) => {
                fields.add("si_lower", pointer(self.u64_at(UNION + 16)));
                fields.add("si_upper", pointer(self.u64_at(UNION + 24)));
            }
            (libc::SIGSEGV, SEGV_PKUERR) => {
                fields.add("si_pkey", (self.i32_at(UNION + 16) as u32).to_string())
            }
            _ => {}
        }
    }

    /// A seccomp SIGSYS: where the call was made, which call, which ABI.
    fn sigsys_fields(&self, fields: &mut Fields) {
        let nr = self.i32_at(UNION + 8);
        let arch = self.i32_at(UNION + 12) as u32;
        fields.add("si_call_addr", pointer(self.addr()));
        let abi = crate::arch::Abi::of(arch, nr as u64);
        fields.add("si_syscall", format!("__NR_{}", abi.name(nr as u64)));
        let arch = match arch {
            crate::arch::AUDIT_ARCH => "AUDIT_ARCH_X86_64".to_string(),
            crate::arch::AUDIT_ARCH_COMPAT => "AUDIT_ARCH_I386".to_string(),
            other => format!("{other:#x}"),
        };
        fields.add("si_arch", arch);
    }
}

/// The `, name=value` pairs of a description, written one by one.
struct Fields<'a>(&'a mut String);

impl Fields<'_> {
    fn add(&mut self, name: &str, value: String) {
        let _ = write!(self.0, ", {name}={value}");
    }
}

const BUS_MCEERR_AR: i32 = 4;
const BUS_MCEERR_AO: i32 = 5;
const SEGV_BNDERR: i32 = 3;
const SEGV_PKUERR: i32 = 4;

/// strace's printaddr: NULL, or the address in hex.
fn pointer(value: u64) -> String {
    match value {
        0 => "NULL".to_string(),
        value => format!("{value:#x}"),
    }
}

/// CPU time in clock ticks (sysconf(_SC_CLK_TCK), 100 a second), with
/// strace's comment in seconds when it is not 0: `2 /* 0.02 s */`.
fn clock_ticks(ticks: u64) -> String {
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    match u64::try_from(per_second) {
        Ok(per_second) if per_second > 0 && ticks > 0 => {
            let digits = per_second.ilog10().min(9) as usize;
            format!(
                "{ticks} /* {}.{:0digits$} s */",
                ticks / per_second,
                ticks % per_second
            )
        }
        _ => ticks.to_string(),
    }
}

/// A signal's name, or its number if it is none of the 64.
fn signal_name(number: i32) -> String {
    Sig::new(number).map_or_else(|| number.to_string(), Sig::name)
}

/// si_code's name, as strace's tables have it for x86_64.
pub fn code_name(signo: i32, code: i32) -> Option<&'static str> {
    if let Some(&(_, name)) = GENERIC_CODES.iter().find(|&&(number, _)| number == code) {
        return Some(name);
    }
    let names: &[&str] = match (signo, code) {
        (libc::SIGFPE, 14) => return Some("FPE_FLTUNK"),
        (libc::SIGFPE, 15) => return Some("FPE_CONDTRAP"),
        (libc::SIGILL, _) => ILL_CODES,
        (libc::SIGFPE, _) => FPE_CODES,
        (libc::SIGSEGV, _) => SEGV_CODES,
        (libc::SIGBUS, _) => BUS_CODES,
        (libc::SIGTRAP, _) => TRAP_CODES,
        (libc::SIGCHLD, _) => CLD_CODES,
        (libc::SIGIO, _) => POLL_CODES,
        (libc::SIGSYS, _) => &["SYS_SECCOMP", "SYS_USER_DISPATCH"],
        _ => &[],
    };
    // A signal's own codes start at 1.
    usize::try_from(code - 1)
        .ok()
        .and_then(|index| names.get(index).copied())
}

/// The codes any signal can have: who sent it, and how.
const GENERIC_CODES: &[(i32, &str)] = &[
    (0, "SI_USER"),
    (0x80, "SI_KERNEL"),
    (-1, "SI_QUEUE"),
    (-2, "SI_TIMER"),
    (-3, "SI_MESGQ"),
    (-4, "SI_ASYNCIO"),
    (-5, "SI_SIGIO"),
    (-6, "SI_TKILL"),
    (-7, "SI_DETHREAD"),
    (-60, "SI_ASYNCNL"),
];

const ILL_CODES: &[&str] = &[
    "ILL_ILLOPC",
    "ILL_ILLOPN",
    "ILL_ILLADR",
    "ILL_ILLTRP",
    "ILL_PRVOPC",
    "ILL_PRVREG",
    "ILL_COPROC",
    "ILL_BADSTK",
];

/// SIGFPE's codes from 1 to 8; 14 and 15 are named apart.
const FPE_CODES: &[&str] = &[
    "FPE_INTDIV",
    "FPE_INTOVF",
    "FPE_FLTDIV",
    "FPE_FLTOVF",
    "FPE_FLTUND",
    "FPE_FLTRES",
    "FPE_FLTINV",
    "FPE_FLTSUB",
];

const SEGV_CODES: &[&str] = &[
    "SEGV_MAPERR",
    "SEGV_ACCERR",
    "SEGV_BNDERR",
    "SEGV_PKUERR",
    "SEGV_ACCADI",
    "SEGV_ADIDERR",
    "SEGV_ADIPERR",
    "SEGV_MTEAERR",
    "SEGV_MTESERR",
    "SEGV_CPERR",
];

const BUS_CODES: &[&str] = &[
    "BUS_ADRALN",
    "BUS_ADRERR",
    "BUS_OBJERR",
    "BUS_MCEERR_AR",
    "BUS_MCEERR_AO",
];

const TRAP_CODES: &[&str] = &[
    "TRAP_BRKPT",
    "TRAP_TRACE",
    "TRAP_BRANCH",
    "TRAP_HWBKPT",
    "TRAP_UNK",
    "TRAP_PERF",
];

const CLD_CODES: &[&str] = &[
    "CLD_EXITED",
    "CLD_KILLED",
    "CLD_DUMPED",
    "CLD_TRAPPED",
    "CLD_STOPPED",
    "CLD_CONTINUED",
];

const POLL_CODES: &[&str] = &[
    "POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP",
];

/// A signal mask: bit N-1 stands for signal N, as in the kernel's sigset_t
/// (8 bytes on x86_64).
pub type Mask = u64;

/// The mask with only `sig` in it.
pub fn mask_of(sig: Sig) -> Mask {
    1 << (sig.number() - 1)
}

/// A mask as strace prints one: names without `SIG`, `[]` when empty, and
/// when two thirds or more of the signals are in it, `~[...]` with those
/// that are not: `[INT USR1]`, `[RT_2]`, `~[RTMIN RT_1]`.
pub fn mask_names(mask: Mask) -> String {
    let (shown, prefix) = match mask.count_ones() >= 64 * 2 / 3 {
        true => (!mask, "~["),
        false => (mask, "["),
    };
    let names: Vec<String> = (1..=64)
        .filter(|n| shown & (1 << (n - 1)) != 0)
        .map(|n| {
            let name = signal_name(n);
            name.strip_prefix("SIG")
                .map_or(name.clone(), str::to_string)
        })
        .collect();
    format!("{prefix}{}]", names.join(" "))
}

/// The kernel's sigset_t, for PTRACE_GETSIGMASK and PTRACE_SETSIGMASK:
/// their `addr` must be its size, 8, not glibc's 128-byte sigset_t.
const KERNEL_SIGSET_SIZE: usize = std::mem::size_of::<Mask>();

/// ptrace(PTRACE_GETSIGMASK, pid, 8, &mask): the signals `pid` blocks now.
pub fn getsigmask(pid: Pid) -> Result<Mask> {
    let mut mask: Mask = 0;
    // SAFETY: the kernel writes KERNEL_SIGSET_SIZE bytes into `mask`.
    let ret = unsafe {
        libc::ptrace(
            libc::PTRACE_GETSIGMASK,
            pid.as_raw(),
            KERNEL_SIGSET_SIZE as *mut libc::c_void,
            &mut mask as *mut Mask,
        )
    };
    Errno::result(ret).or_gone("PTRACE_GETSIGMASK", pid)?;
    Ok(mask)
}

/// ptrace(PTRACE_SETSIGMASK, pid, 8, &mask): `pid` blocks these signals
/// from now on (the kernel leaves SIGKILL and SIGSTOP out).
pub fn setsigmask(pid: Pid, mask: Mask) -> Result<()> {
    // SAFETY: the kernel reads KERNEL_SIGSET_SIZE bytes from `mask`.
    let ret = unsafe {
        libc::ptrace(
            libc::PTRACE_SETSIGMASK,
            pid.as_raw(),
            KERNEL_SIGSET_SIZE as *mut libc::c_void,
            &mask as *const Mask,
        )
    };
    Errno::result(ret).or_gone("PTRACE_SETSIGMASK", pid)?;
    Ok(())
}

/// A number as C's `%#x` prints it, as strace does: `0x1f`, but `0` for zero.
fn c_hex(value: u32) -> String {
    if value == 0 {
        "0".to_string()
    } else {
        format!("{value:#x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(signo: i32, code: i32, words: &[(usize, u64)]) -> SigInfo {
        let mut raw = [0u8; 128];
        raw[0..4].copy_from_slice(&signo.to_ne_bytes());
        raw[8..12].copy_from_slice(&code.to_ne_bytes());
        for &(offset, value) in words {
            raw[offset..offset + 8].copy_from_slice(&value.to_ne_bytes());
        }
        SigInfo(raw)
    }

    /// pid and uid as one word: pid in the low half.
    fn source(pid: u32, uid: u32) -> (usize, u64) {
        (16, u64::from(pid) | u64::from(uid) << 32)
    }

    #[test]
    fn lines_read_as_strace_prints_them() {
        let kill = info(libc::SIGUSR1, libc::SI_USER, &[source(1281, 0)]);
        assert_eq!(
            kill.describe(),
            "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=1281, si_uid=0}"
        );
        let queued = info(34 + 2, libc::SI_QUEUE, &[source(5106, 0), (24, 7)]);
        assert_eq!(
            queued.describe(),
            "{si_signo=SIGRT_4, si_code=SI_QUEUE, si_pid=5106, si_uid=0, si_int=7, si_ptr=0x7}"
        );
        let no_value = info(libc::SIGUSR1, libc::SI_QUEUE, &[source(5106, 0)]);
        assert_eq!(
            no_value.describe(),
            "{si_signo=SIGUSR1, si_code=SI_QUEUE, si_pid=5106, si_uid=0}"
        );
        let segv = info(libc::SIGSEGV, 1, &[(16, 0x10)]);
        assert_eq!(
            segv.describe(),
            "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10}"
        );
        let killed = info(
            libc::SIGCHLD,
            libc::CLD_KILLED,
            &[source(5107, 0), (24, 11)],
        );
        assert_eq!(
            killed.describe(),
            "{si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=5107, si_uid=0, si_status=SIGSEGV, si_utime=0, si_stime=0}"
        );
        let exited = info(libc::SIGCHLD, libc::CLD_EXITED, &[source(5108, 0), (24, 3)]);
        assert_eq!(
            exited.describe(),
            "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=5108, si_uid=0, si_status=3, si_utime=0, si_stime=0}"
        );
        let kernel = info(libc::SIGSEGV, libc::SI_KERNEL, &[]);
        assert_eq!(
            kernel.describe(),
            "{si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL}"
        );
    }

    #[test]
    fn unknown_codes_and_errno_as_strace_shows_them() {
        let mut odd = info(libc::SIGUSR2, -10, &[source(5106, 5)]);
        odd.0[4..8].copy_from_slice(&1i32.to_ne_bytes());
        assert_eq!(
            odd.describe(),
            "{si_signo=SIGUSR2, si_code=0xfffffff6, si_errno=EPERM, si_pid=5106, si_uid=5}"
        );
    }

    /// The offsets agree with libc's accessors, which follow the kernel's
    /// layout too.
    #[test]
    fn fields_sit_where_libc_reads_them() {
        let queued = info(
            libc::SIGUSR1,
            libc::SI_QUEUE,
            &[source(77, 1000), (24, 0x2a)],
        );
        let raw = queued.to_raw();
        // SAFETY: the union members read are those a queued signal and a
        // child's end fill in; all are plain integers.
        unsafe {
            assert_eq!(raw.si_pid(), 77);
            assert_eq!(raw.si_uid(), 1000);
            assert_eq!(raw.si_value().sival_ptr as u64, 0x2a);
        }
        let child = info(
            libc::SIGCHLD,
            libc::CLD_EXITED,
            &[source(78, 0), (24, 3), (32, 5), (40, 6)],
        );
        assert_eq!(
            child.describe(),
            "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=78, si_uid=0, si_status=3, si_utime=5 /* 0.05 s */, si_stime=6 /* 0.06 s */}"
        );
        let raw = child.to_raw();
        // SAFETY: as above.
        unsafe {
            assert_eq!(raw.si_status(), child.status());
            assert_eq!(raw.si_utime(), 5);
            assert_eq!(raw.si_stime(), 6);
        }
        let fault = info(libc::SIGSEGV, 1, &[(16, 0x10)]);
        // SAFETY: as above.
        assert_eq!(unsafe { fault.to_raw().si_addr() } as u64, fault.addr());
    }

    #[test]
    fn value_can_be_rewritten() {
        let mut queued = info(libc::SIGUSR1, libc::SI_QUEUE, &[source(1, 0), (24, 1)]);
        queued.set_value(42);
        assert_eq!(queued.value(), 42);
        assert_eq!(SigInfo::from_raw(&queued.to_raw()).value(), 42);
        assert_eq!(queued.pid(), 1);
    }

    #[test]
    fn masks_read_as_strace_prints_them() {
        let sig = |n| Sig::new(n).unwrap();
        assert_eq!(mask_names(0), "[]");
        let some = mask_of(sig(libc::SIGINT)) | mask_of(sig(libc::SIGUSR2)) | mask_of(sig(34));
        assert_eq!(mask_names(some), "[INT USR2 RT_2]");
        let all_but_glibcs = !(mask_of(sig(32)) | mask_of(sig(33)));
        assert_eq!(mask_names(all_but_glibcs), "~[RTMIN RT_1]");
        assert_eq!(mask_names(u64::MAX), "~[]");
    }
}
