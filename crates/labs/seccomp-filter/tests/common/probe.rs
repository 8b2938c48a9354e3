//! What the seccomp labs' grading tests run under the lab's filter, and how
//! they watch it: a probe program written for each run, and the test as the
//! lab's tracer. Included by `#[path]` in the grading tests of
//! lab-seccomp-filter and lab-escapes.
//!
//! The probe is a tiny static program (no loader, no libc: an ELF header,
//! one segment, a few instructions) that the test writes into a sealed
//! memfd, so nobody can change it. It writes a line of random text to
//! stdout, makes one syscall chosen at random by the test, through the ABI
//! the test chose (on x86_64 `syscall`, `syscall` with the x32 bit, or
//! `int 0x80`; on arm64 `svc #0` from a 64-bit program, or from a 32-bit
//! arm one, which makes no write first: all its calls are of that ABI),
//! with arguments that make any call fail harmlessly if it runs
//! (or the arguments the test gives, `Probe::with_args`: numbers, and
//! strings the probe carries, such as paths in a folder of the test's),
//! and exits with the call's errno (or 200 if its write did not go
//! through). It makes no other call, so it runs under any filter that
//! allows execve, write and exit_group.
//!
//! The lab runs as this test's tracee from its first instruction
//! (PTRACE_TRACEME), its children too (PTRACE_O_TRACEFORK). The test sees
//! each execve, and checks that the probe was executed, what
//! /proc/PID/status said of it then (a seccomp filter, no signal pending),
//! each SIGSYS it got with its siginfo (a trap made by the kernel has
//! si_code SYS_SECCOMP and names the call, which nobody else can forge for
//! the probe), and the syscall each process was in when it ended
//! (PTRACE_O_TRACEEXIT: a seccomp kill leaves the killed call there). Only
//! one tracer at a time: nothing else can make the probe do anything. So
//! what the lab prints does not matter: the kernel's answers do.

// Each lab uses part of it.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use workbook::arch::{Abi, AUDIT_ARCH, AUDIT_ARCH_COMPAT};

pub use workbook::testing::random_bytes;

/// A number below `n`, at random.
pub fn random_below(n: usize) -> usize {
    let bytes: [u8; 8] = random_bytes(8).try_into().expect("8 bytes");
    (u64::from_ne_bytes(bytes) % n as u64) as usize
}

/// One of `items`, at random.
pub fn pick<T: Copy>(items: &[T]) -> T {
    items[random_below(items.len())]
}

/// Random lowercase hex, `len` characters: text nobody can know in advance.
pub fn random_word(len: usize) -> String {
    random_bytes(len.div_ceil(2))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..len]
        .to_string()
}

/// The lecture's dangerous calls (seccomp-lib's list) that fail harmlessly
/// with the probe's arguments, root or not: every pointer is bad, every
/// number out of range. All of them do.
pub const DANGEROUS: &[&str] = workbook::seccomp::LECTURE_DANGEROUS;

/// Calls nobody lists for echo or true and that the probe may make under
/// any filter that lets them through: with its arguments each fails (with
/// EFAULT or EINVAL, never EPERM) or returns 0, and changes nothing.
pub const HARMLESS: &[&str] = &[
    "times",
    "sysinfo",
    "getcpu",
    "getitimer",
    "getrusage",
    "capget",
    "getpriority",
    "sched_yield",
];

/// The probe's argument for every parameter: as a pointer it points
/// nowhere (the top page of the address space, never mapped), as a number
/// it is out of range (-4096), as a file descriptor it is none.
const BAD: u64 = 0xffff_ffff_ffff_f000;

/// The exit code of a probe whose write to stdout did not go through.
pub const WRITE_FAILED: i32 = 200;

/// SYS_SECCOMP: the si_code of a SIGSYS sent by a seccomp trap.
const SYS_SECCOMP: i32 = 1;

/// The syscall the probe makes: which one, through which ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub abi: Abi,
    pub name: &'static str,
    /// The number in that ABI (with the x32 bit for x32), as the probe
    /// puts it in eax and seccomp_data.nr (and si_syscall) shows it.
    pub nr: u64,
}

impl Call {
    pub fn new(abi: Abi, name: &'static str) -> Call {
        let nr = abi
            .number(name)
            .unwrap_or_else(|| panic!("{name} has no number in the {abi:?} ABI"));
        Call { abi, name, nr }
    }

    /// One of `names`, at random, through `abi`.
    pub fn any_of(abi: Abi, names: &[&'static str]) -> Call {
        Call::new(abi, pick(names))
    }

    /// The AUDIT_ARCH_* value seccomp sees for it.
    pub fn arch(&self) -> u32 {
        if self.abi == Abi::COMPAT {
            AUDIT_ARCH_COMPAT
        } else {
            AUDIT_ARCH
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.abi {
            Abi::X86_64 => write!(f, "{} (syscall {})", self.name, self.nr),
            Abi::X32 => write!(f, "{} with the x32 bit (syscall {:#x})", self.name, self.nr),
            Abi::I386 => write!(
                f,
                "{} through int 0x80 (i386 syscall {})",
                self.name, self.nr
            ),
        }
    }
}

#[cfg(target_arch = "aarch64")]
impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.abi {
            Abi::Aarch64 => write!(f, "{} (syscall {})", self.name, self.nr),
            Abi::Arm => write!(
                f,
                "{} from AArch32 code (arm syscall {})",
                self.name, self.nr
            ),
        }
    }
}

/// Where the probe's file is seen by the lab and what it runs: the test
/// hands the memfd over as descriptor 3.
pub const PROBE_PATH: &str = "/proc/self/fd/3";

/// Whether this machine runs calls through the other ABI (`Abi::COMPAT`):
/// a probe that calls sched_yield through it, run here with no filter,
/// exits with 0. It does not where an x86_64 kernel has no ia32 emulation
/// (int 0x80 faults), nor on an arm64 CPU without AArch32 (the execve
/// fails with ENOEXEC).
pub fn compat_runs() -> bool {
    static RUNS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *RUNS.get_or_init(|| {
        let probe = Probe::new(Call::new(Abi::COMPAT, "sched_yield"));
        let memfd = probe.memfd.as_raw_fd();
        let mut command = Command::new(PROBE_PATH);
        workbook::testing::without_core_dumps(&mut command);
        workbook::testing::limited(&mut command);
        workbook::testing::with_descriptor_3(&mut command, memfd);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// The verdict for `call` of the filter that `lab` (a lab run with `--ddd`
/// and no command) prints: for a machine that runs no code of the call's
/// ABI, where the kernel can't be asked.
pub fn printed_verdict(lab: &mut Command, call: &Call) -> u32 {
    let what = format!("{lab:?}");
    let output = workbook::testing::run(lab);
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    verdict(&String::from_utf8_lossy(&output.stdout), call)
        .unwrap_or_else(|error| panic!("the filter {what} printed: {error:#}"))
}

/// What the filter `printed` (as `tcpdump -ddd` prints a program) returns
/// for `call`, run as seccomp would on its seccomp_data: `nr` and `arch`,
/// the instruction pointer and the arguments 0. The BPF interpreter is a
/// socket filter's, which loads words in network order: the fields are
/// laid out big-endian, so that each load reads the value seccomp's would.
pub fn verdict(printed: &str, call: &Call) -> anyhow::Result<u32> {
    let program = workbook::bpf::disasm::parse_ddd(printed)?;
    workbook::bpf::interp::check(&program)?;
    let mut data = Vec::with_capacity(64);
    data.extend((call.nr as u32).to_be_bytes());
    data.extend(call.arch().to_be_bytes());
    data.resize(64, 0);
    Ok(workbook::bpf::interp::run(&program, &data).verdict())
}

/// A probe, ready to run: its program in a sealed memfd.
pub struct Probe {
    /// What it writes to stdout, a line of random text.
    pub text: String,
    pub call: Call,
    memfd: OwnedFd,
    /// The memfd's device and inode: what /proc/PID/exe of a process
    /// running it leads to.
    identity: (u64, u64),
}

/// An argument of the probe's call, where a test gives one: a number, or
/// a string the probe carries (NUL-terminated), passed by its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Number(u64),
    Text(String),
}

impl Probe {
    pub fn new(call: Call) -> Probe {
        Probe::with_args(call, &[])
    }

    /// A probe whose call gets `args`, in order; the parameters after
    /// them get the bad value, as with `new`.
    pub fn with_args(call: Call, args: &[Arg]) -> Probe {
        assert!(args.len() <= 6, "a syscall takes 6 arguments at most");
        let text = format!("probe {}\n", random_word(32));
        let program = elf(text.as_bytes(), &call, args);
        let memfd = sealed_memfd(&program);
        let metadata = std::fs::File::from(memfd.try_clone().expect("dup of the memfd"))
            .metadata()
            .expect("fstat of the memfd");
        Probe {
            text,
            call,
            memfd,
            identity: (metadata.dev(), metadata.ino()),
        }
    }
}

/// The probe's program: an ELF header, one program header, the code, the
/// text, the strings of `args`. Everything is one read-and-execute segment
/// at 0x400000, so every address fits in 32 bits, for `int 0x80` too.
#[cfg(target_arch = "x86_64")]
fn elf(text: &[u8], call: &Call, args: &[Arg]) -> Vec<u8> {
    const HEADERS: u64 = 64 + 56;
    let mut code = Vec::new();
    // write(1, text, len): mov eax, 1; mov edi, 1; mov rsi, imm64; mov edx, imm32; syscall
    code.extend([0xb8, 1, 0, 0, 0, 0xbf, 1, 0, 0, 0, 0x48, 0xbe]);
    let text_address_at = code.len();
    code.extend([0; 8]);
    code.push(0xba);
    code.extend((text.len() as u32).to_le_bytes());
    code.extend([0x0f, 0x05]);
    // cmp rax, len; je over the next 12 bytes: exit_group(200).
    code.extend([0x48, 0x3d]);
    code.extend((text.len() as u32).to_le_bytes());
    code.extend([0x74, 12]);
    code.push(0xbf);
    code.extend((WRITE_FAILED as u32).to_le_bytes());
    code.extend([0xb8, 231, 0, 0, 0, 0x0f, 0x05]);
    // Where each argument's immediate is in the code, its width, and the
    // argument (None: the bad value stays).
    let mut strings_at: Vec<(usize, usize, Option<&Arg>)> = Vec::new();
    match call.abi {
        Abi::X86_64 | Abi::X32 => {
            // mov rax, nr; mov rdi, rsi, rdx, r10, r8, r9, BAD; syscall
            code.extend([0x48, 0xb8]);
            code.extend(call.nr.to_le_bytes());
            for (n, register) in [
                [0x48, 0xbf],
                [0x48, 0xbe],
                [0x48, 0xba],
                [0x49, 0xba],
                [0x49, 0xb8],
                [0x49, 0xb9],
            ]
            .into_iter()
            .enumerate()
            {
                code.extend(register);
                strings_at.push((code.len(), 8, args.get(n)));
                code.extend(BAD.to_le_bytes());
            }
            code.extend([0x0f, 0x05]);
        }
        Abi::I386 => {
            // mov eax, nr; mov ebx, ecx, edx, esi, edi, ebp, BAD; int 0x80
            code.push(0xb8);
            code.extend((call.nr as u32).to_le_bytes());
            for (n, register) in [0xbb, 0xb9, 0xba, 0xbe, 0xbf, 0xbd].into_iter().enumerate() {
                code.push(register);
                strings_at.push((code.len(), 4, args.get(n)));
                code.extend((BAD as u32).to_le_bytes());
            }
            code.extend([0xcd, 0x80]);
        }
    }
    // exit_group(-eax): neg eax; mov edi, eax; mov eax, 231; syscall
    code.extend([0xf7, 0xd8, 0x89, 0xc7, 0xb8, 231, 0, 0, 0, 0x0f, 0x05]);
    let text_address = BASE + HEADERS + code.len() as u64;
    code[text_address_at..text_address_at + 8].copy_from_slice(&text_address.to_le_bytes());
    let mut data = text.to_vec();
    for (at, width, arg) in strings_at {
        let value = match arg {
            None => continue,
            Some(Arg::Number(number)) => *number,
            Some(Arg::Text(string)) => {
                let address = text_address + data.len() as u64;
                data.extend(string.as_bytes());
                data.push(0);
                address
            }
        };
        code[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
    }
    let size = HEADERS + code.len() as u64 + data.len() as u64;

    let mut file = elf64_headers(EM_X86_64, size);
    file.extend(code);
    file.extend(data);
    assert_eq!(file.len() as u64, size);
    file
}

/// Where the probes are loaded: every address fits in 32 bits, for the
/// 32-bit ABI's too.
const BASE: u64 = 0x40_0000;

/// e_machine of an x86_64 program, of an arm64 one, of a 32-bit arm one.
#[cfg(target_arch = "x86_64")]
const EM_X86_64: u16 = 62;
#[cfg(target_arch = "aarch64")]
const EM_AARCH64: u16 = 183;
#[cfg(target_arch = "aarch64")]
const EM_ARM: u16 = 40;

/// The headers of a 64-bit probe for `machine`, `size` bytes in all: the
/// ELF header (little-endian, an executable), then one program header, a
/// PT_LOAD of the whole file at `BASE`, readable and executable. The code
/// follows them, at the entry point.
fn elf64_headers(machine: u16, size: u64) -> Vec<u8> {
    const HEADERS: u64 = 64 + 56;
    let mut file = Vec::with_capacity(size as usize);
    file.extend([0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    file.extend(2u16.to_le_bytes()); // ET_EXEC
    file.extend(machine.to_le_bytes());
    file.extend(1u32.to_le_bytes());
    file.extend((BASE + HEADERS).to_le_bytes()); // entry: the code
    file.extend(64u64.to_le_bytes()); // program headers right after
    file.extend(0u64.to_le_bytes()); // no section headers
    file.extend(0u32.to_le_bytes());
    for half in [64u16, 56, 1, 64, 0, 0] {
        file.extend(half.to_le_bytes());
    }
    file.extend(1u32.to_le_bytes()); // PT_LOAD
    file.extend(5u32.to_le_bytes()); // PF_R | PF_X
    for word in [0, BASE, BASE, size, size, 0x1000] {
        file.extend(word.to_le_bytes());
    }
    file
}

/// The same for a 32-bit arm probe (ELF32, EM_ARM, EABI version 5: arm64's
/// kernel runs no other 32-bit kind), its code in A32 state.
#[cfg(target_arch = "aarch64")]
fn elf32_arm_headers(size: u64) -> Vec<u8> {
    const HEADERS: u64 = 52 + 32;
    let (base, size) = (BASE as u32, size as u32);
    let mut file = Vec::with_capacity(size as usize);
    file.extend([0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    file.extend(2u16.to_le_bytes()); // ET_EXEC
    file.extend(EM_ARM.to_le_bytes());
    file.extend(1u32.to_le_bytes());
    file.extend((base + HEADERS as u32).to_le_bytes()); // entry: the code
    file.extend(52u32.to_le_bytes()); // program headers right after
    file.extend(0u32.to_le_bytes()); // no section headers
    file.extend(0x0500_0000u32.to_le_bytes()); // EF_ARM_EABI_VER5
    for half in [52u16, 32, 1, 40, 0, 0] {
        file.extend(half.to_le_bytes());
    }
    // PT_LOAD, at 0 in the file, at `BASE`, the whole file, PF_R | PF_X.
    for word in [1, 0, base, base, size, size, 5, 0x1000] {
        file.extend(word.to_le_bytes());
    }
    file
}

/// The probe's program on arm64: an ELF header, one program header, the
/// code, the text, the strings of `args`, all one read-and-execute segment
/// at `BASE`. For `Abi::Aarch64` a 64-bit program (`svc #0`, the number in
/// x8, the arguments in x0 to x5); for `Abi::Arm` a 32-bit one, AArch32
/// code (`svc #0`, the number in r7, the arguments in r0 to r5), which runs
/// where the CPU and the kernel have AArch32 (`compat_runs`).
#[cfg(target_arch = "aarch64")]
fn elf(text: &[u8], call: &Call, args: &[Arg]) -> Vec<u8> {
    let compat = call.abi == Abi::Arm;
    let headers: u64 = if compat { 52 + 32 } else { 64 + 56 };
    // The code's length does not depend on the values it loads: laid out
    // once to place the text and the strings after it, then for real.
    let code_length = probe_code(compat, text.len(), call.nr, &[BAD; 6], 0).len() as u64;
    let text_address = BASE + headers + code_length;
    let mut data = text.to_vec();
    let mut values = [BAD; 6];
    for (value, arg) in values.iter_mut().zip(args) {
        *value = match arg {
            Arg::Number(number) => *number,
            Arg::Text(string) => {
                let address = text_address + data.len() as u64;
                data.extend(string.as_bytes());
                data.push(0);
                address
            }
        };
    }
    let code = probe_code(compat, text.len(), call.nr, &values, text_address);
    let size = headers + code.len() as u64 + data.len() as u64;
    let mut file = match compat {
        true => elf32_arm_headers(size),
        false => elf64_headers(EM_AARCH64, size),
    };
    file.extend(code);
    file.extend(data);
    assert_eq!(file.len() as u64, size);
    file
}

/// The probe's instructions on arm64, each loaded value in a fixed number
/// of instructions (so the length is the same whatever the values):
/// write(1, text, length); exit_group(200) unless all of it was written;
/// the call `nr` with `args`; exit_group(-result). The AArch32 probe makes
/// the call first, with no write.
#[cfg(target_arch = "aarch64")]
fn probe_code(compat: bool, length: usize, nr: u64, args: &[u64; 6], text: u64) -> Vec<u8> {
    assert!(length < 256, "the probe's text fits a compare's immediate");
    let mut words: Vec<u32> = Vec::new();
    if compat {
        // AArch32 (A32): movw, movt; svc #0 is 0xef000000. exit_group is
        // 248 in the arm table.
        let load = |words: &mut Vec<u32>, register: u32, value: u64| {
            let value = value as u32;
            for (opcode, half) in [(0xe300_0000u32, value & 0xffff), (0xe340_0000, value >> 16)] {
                words.push(opcode | ((half >> 12) << 16) | (register << 12) | (half & 0xfff));
            }
        };
        // No write first: every call of this program comes through the
        // AArch32 ABI, and a filter that kills that ABI's calls would kill
        // the write, not the call the test is there for.
        let svc = 0xef00_0000u32;
        load(&mut words, 7, nr);
        for (register, value) in (0..6).zip(args) {
            load(&mut words, register, *value);
        }
        words.push(svc);
        words.push(0xe260_0000); // rsb r0, r0, #0
        load(&mut words, 7, 248);
        words.push(svc);
    } else {
        // AArch64: movz and three movk; svc #0 is 0xd4000001. write is 64
        // and exit_group 94 in the arm64 table.
        let load = |words: &mut Vec<u32>, register: u32, value: u64| {
            for shift in 0..4u32 {
                let opcode = if shift == 0 {
                    0xd280_0000u32
                } else {
                    0xf280_0000
                };
                let half = ((value >> (16 * shift)) & 0xffff) as u32;
                words.push(opcode | (shift << 21) | (half << 5) | register);
            }
        };
        let svc = 0xd400_0001u32;
        for (register, value) in [(8, 64), (0, 1), (1, text), (2, length as u64)] {
            load(&mut words, register, value);
        }
        words.push(svc);
        words.push(0xf100_001f | ((length as u32) << 10)); // cmp x0, #length
        words.push(0x5400_0000 | (10 << 5)); // b.eq over the next 9 instructions
        load(&mut words, 0, WRITE_FAILED as u64);
        load(&mut words, 8, 94);
        words.push(svc);
        load(&mut words, 8, nr);
        for (register, value) in (0..6).zip(args) {
            load(&mut words, register, *value);
        }
        words.push(svc);
        words.push(0xcb00_03e0); // neg x0, x0
        load(&mut words, 8, 94);
        words.push(svc);
    }
    words.iter().flat_map(|word| word.to_le_bytes()).collect()
}

/// A memfd holding `program`, sealed: no one can write, grow or shrink it
/// any more, so what runs from it is what the test wrote.
fn sealed_memfd(program: &[u8]) -> OwnedFd {
    let name = c"seccomp-probe";
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // MFD_EXEC (Linux 6.3) says it may be executed, where vm.memfd_noexec
    // asks; older kernels refuse the flag and allow it anyway.
    // SAFETY: memfd_create reads the NUL-terminated name.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | libc::MFD_EXEC) };
    if fd < 0 {
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
    // SAFETY: memfd_create returned a new descriptor that nothing else owns.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(memfd.try_clone().expect("dup of the memfd"));
    std::io::Write::write_all(&mut file, program).expect("writing the probe");
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS takes an int.
    let sealed = unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    assert_eq!(
        sealed,
        0,
        "sealing the probe: {}",
        std::io::Error::last_os_error()
    );
    memfd
}

/// What /proc/PID/status said of a process when it had just executed a
/// program.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub seccomp: u32,
    pub filters: u32,
    pub no_new_privs: u32,
    /// Signals pending for the thread and for the process, as the kernel
    /// shows them (hex masks).
    pub pending: String,
}

fn read_status(pid: i32) -> Status {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    let number = |name: &str| field(name).parse().unwrap_or(0);
    Status {
        seccomp: number("Seccomp"),
        filters: number("Seccomp_filters"),
        no_new_privs: number("NoNewPrivs"),
        pending: format!("{} {}", field("SigPnd"), field("ShdPnd")),
    }
}

/// An execve the test saw: who made it, what it runs now.
#[derive(Debug, Clone)]
pub struct Exec {
    pub pid: i32,
    /// The device and inode of /proc/PID/exe right after the execve.
    pub identity: (u64, u64),
    pub path: String,
    pub status: Status,
}

/// A SIGSYS the test saw on its way to a process, with its siginfo.
#[derive(Debug, Clone, Copy)]
pub struct Sigsys {
    pub pid: i32,
    pub code: i32,
    pub syscall: i32,
    pub arch: u32,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Exited(i32),
    Killed(i32),
}

/// A run of the lab, as its tracer saw it.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    pub root: i32,
    pub stdout: String,
    pub stderr: String,
    pub execs: Vec<Exec>,
    pub sigsys: Vec<Sigsys>,
    pub ends: HashMap<i32, End>,
    pub parents: HashMap<i32, i32>,
    /// The syscall each process was in when it ended (orig_rax at its
    /// PTRACE_EVENT_EXIT stop): exit_group, or the call a seccomp kill
    /// stopped.
    pub last_calls: HashMap<i32, u64>,
}

/// Runs `command` (the lab) as this test's tracee, with its children, and
/// returns what happened. With a probe, the probe's memfd is the lab's
/// descriptor 3 (`PROBE_PATH`).
pub fn trace(mut command: Command, probe: Option<&Probe>) -> Run {
    let what = format!("{command:?}");
    let memfd = probe.map(|probe| probe.memfd.as_raw_fd());
    workbook::testing::without_core_dumps(&mut command);
    workbook::testing::limited(&mut command);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(memfd) = memfd {
        workbook::testing::with_descriptor_3(&mut command, memfd);
    }
    // SAFETY: ptrace is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(move || {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Reaped by `follow`, with its children: waitpid, not Child::wait.
    #[allow(clippy::zombie_processes)]
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("starting {what}: {error}"));
    let root = child.id() as i32;
    let stdout = reader(child.stdout.take().expect("piped"));
    let stderr = reader(child.stderr.take().expect("piped"));
    let mut run = Run {
        what,
        root,
        stdout: String::new(),
        stderr: String::new(),
        execs: Vec::new(),
        sigsys: Vec::new(),
        ends: HashMap::new(),
        parents: HashMap::new(),
        last_calls: HashMap::new(),
    };
    follow(&mut run);
    run.stdout = stdout.join().expect("reading stdout");
    run.stderr = stderr.join().expect("reading stderr");
    run
}

fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The tracer's loop: every tracee restarted after every stop, signals
/// passed on, until all of them are gone.
fn follow(run: &mut Run) {
    let root = run.root;
    let mut status = 0;
    // The lab stops at its own execve (PTRACE_TRACEME without options).
    // SAFETY: waitpid writes the status into `status`.
    let waited = unsafe { libc::waitpid(root, &mut status, libc::__WALL) };
    assert_eq!(waited, root, "waitpid: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP,
        "{}: expected the stop at its execve, got status {status:#x}",
        run.what
    );
    let options = libc::PTRACE_O_TRACEEXEC
        | libc::PTRACE_O_TRACEFORK
        | libc::PTRACE_O_TRACEVFORK
        | libc::PTRACE_O_TRACECLONE
        | libc::PTRACE_O_TRACEEXIT
        | libc::PTRACE_O_EXITKILL;
    // SAFETY: PTRACE_SETOPTIONS takes the options as its data.
    let set = unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, root, 0, options) };
    assert_eq!(
        set,
        0,
        "PTRACE_SETOPTIONS: {}",
        std::io::Error::last_os_error()
    );
    let mut alive: HashSet<i32> = HashSet::from([root]);
    // New tracees whose first stop (a SIGSTOP) is still to come, and those
    // whose first stop came before their parent's fork event.
    let mut starting: HashSet<i32> = HashSet::new();
    let mut started_early: HashSet<i32> = HashSet::new();
    restart(root, 0);
    while !alive.is_empty() {
        // This thread's children and tracees only (__WNOTHREAD): the other
        // tests, run by other threads of this process, have their own.
        // SAFETY: as above.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::__WNOTHREAD) };
        if pid < 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            if error.raw_os_error() == Some(libc::ECHILD) {
                break;
            }
            panic!("waitpid: {error}");
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            let end = if libc::WIFEXITED(status) {
                End::Exited(libc::WEXITSTATUS(status))
            } else {
                End::Killed(libc::WTERMSIG(status))
            };
            run.ends.insert(pid, end);
            alive.remove(&pid);
            continue;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let signal = libc::WSTOPSIG(status);
        let event = status >> 16;
        if signal == libc::SIGTRAP && event != 0 {
            match event {
                libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                    let mut message: libc::c_ulong = 0;
                    // SAFETY: PTRACE_GETEVENTMSG writes one unsigned long.
                    unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, pid, 0, &mut message) };
                    let child = message as i32;
                    run.parents.insert(child, pid);
                    alive.insert(child);
                    if !started_early.remove(&child) {
                        starting.insert(child);
                    }
                }
                libc::PTRACE_EVENT_EXEC => run.execs.push(exec_of(pid)),
                libc::PTRACE_EVENT_EXIT => {
                    if let Some(nr) = call_in_progress(pid) {
                        run.last_calls.insert(pid, nr);
                    }
                }
                _ => {}
            }
            restart(pid, 0);
        } else if signal == libc::SIGSTOP && (starting.remove(&pid) || !alive.contains(&pid)) {
            if alive.insert(pid) {
                started_early.insert(pid);
            }
            restart(pid, 0);
        } else {
            // SAFETY: siginfo_t is plain data, which PTRACE_GETSIGINFO fills in.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: PTRACE_GETSIGINFO writes one siginfo_t.
            let got = unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, pid, 0, &mut info) };
            if got < 0 {
                // A group-stop: no signal to deliver.
                restart(pid, 0);
                continue;
            }
            if signal == libc::SIGSYS {
                // The SIGSYS member of the union: si_call_addr at 16,
                // si_syscall at 24, si_arch at 28.
                // SAFETY: siginfo_t is 128 bytes of plain data.
                let raw: [u8; 128] = unsafe { std::mem::transmute(info) };
                let word = |at: usize| u32::from_ne_bytes(raw[at..at + 4].try_into().unwrap());
                run.sigsys.push(Sigsys {
                    pid,
                    code: info.si_code,
                    syscall: word(24) as i32,
                    arch: word(28),
                });
            }
            restart(pid, signal);
        }
    }
}

/// The syscall a process was in, at its PTRACE_EVENT_EXIT stop: orig_rax
/// (PTRACE_GETREGS).
#[cfg(target_arch = "x86_64")]
fn call_in_progress(pid: i32) -> Option<u64> {
    // SAFETY: user_regs_struct is plain data, which PTRACE_GETREGS fills in.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETREGS writes one user_regs_struct.
    let got = unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, 0, &mut regs) };
    (got == 0).then_some(regs.orig_rax)
}

/// The syscall a process was in, at its PTRACE_EVENT_EXIT stop: the number
/// register of its NT_PRSTATUS set (PTRACE_GETREGSET), x8 for a 64-bit
/// process, r7 for an AArch32 one, whose set is the 32-bit one (18 words).
#[cfg(target_arch = "aarch64")]
fn call_in_progress(pid: i32) -> Option<u64> {
    let mut regs = [0u64; 34];
    let mut iov = libc::iovec {
        iov_base: regs.as_mut_ptr().cast(),
        iov_len: std::mem::size_of_val(&regs),
    };
    // SAFETY: PTRACE_GETREGSET writes at most iov_len bytes at iov_base and
    // sets iov_len to what it wrote.
    let got = unsafe { libc::ptrace(libc::PTRACE_GETREGSET, pid, libc::NT_PRSTATUS, &mut iov) };
    if got != 0 {
        return None;
    }
    Some(match iov.iov_len {
        // r7, the 8th 32-bit word: the high half of the fourth 64-bit one.
        72 => regs[3] >> 32,
        _ => regs[8],
    })
}

/// PTRACE_CONT with `signal` (0 for none); a tracee that is already gone
/// (killed meanwhile) is no failure.
fn restart(pid: i32, signal: i32) {
    // SAFETY: PTRACE_CONT takes the signal as its data.
    unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, signal as libc::c_long) };
}

fn exec_of(pid: i32) -> Exec {
    let exe = format!("/proc/{pid}/exe");
    let identity = std::fs::metadata(&exe)
        .map(|m| (m.dev(), m.ino()))
        .unwrap_or((0, 0));
    let path = std::fs::read_link(&exe)
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    Exec {
        pid,
        identity,
        path,
        status: read_status(pid),
    }
}

/// The device and inode of a program on disk (`/bin/echo`).
pub fn identity_of(path: &str) -> (u64, u64) {
    let metadata = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (metadata.dev(), metadata.ino())
}

/// What became of the probe's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// SIGSYS from a seccomp trap, for this call (number, AUDIT_ARCH).
    Trapped { syscall: i32, arch: u32 },
    /// Killed by SIGSYS without a trap the process could see: a seccomp
    /// kill, in this call (orig_rax when it ended).
    Killed { syscall: Option<u64> },
    /// The call returned: the probe exited with its errno (0 if none).
    Returned(i32),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Outcome::Trapped { syscall, arch } => {
                write!(
                    f,
                    "trapped (SIGSYS, si_syscall {syscall:#x}, si_arch {arch:#x})"
                )
            }
            Outcome::Killed { syscall: Some(nr) } => {
                write!(f, "killed by SIGSYS in syscall {nr:#x}")
            }
            Outcome::Killed { syscall: None } => write!(f, "killed by SIGSYS"),
            Outcome::Returned(0) => write!(f, "returned (the kernel ran it)"),
            Outcome::Returned(errno) => write!(
                f,
                "returned, failing with {} ({})",
                workbook::names::errno_name(nix::errno::Errno::from_raw(errno)),
                if errno == libc::EPERM {
                    "a filter's errno, or the kernel's"
                } else {
                    "the kernel ran it"
                }
            ),
        }
    }
}

/// Who runs the command the lab is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// The lab's process itself, after execve (seccomp-lib).
    Itself,
    /// A child the lab forked (seccomp-filter).
    Child,
}

impl Run {
    /// A message for a failed check: what ran, what it said.
    pub fn shown(&self) -> String {
        let traps: Vec<String> = self
            .sigsys
            .iter()
            .map(|s| {
                let abi = Abi::of(s.arch, s.syscall as u32 as u64);
                format!(
                    "pid {} got SIGSYS (si_code {}) for {}",
                    s.pid,
                    s.code,
                    abi.name(s.syscall as u32 as u64)
                )
            })
            .collect();
        let lab = match self.ends.get(&self.root) {
            Some(End::Exited(code)) => format!("exited with {code}"),
            Some(End::Killed(signal)) => format!("was killed by signal {signal}"),
            None => "did not end".into(),
        };
        format!(
            "{}\nthe lab's process {lab}{}\nstdout: {}\nstderr: {}",
            self.what,
            traps.iter().map(|t| format!("; {t}")).collect::<String>(),
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }

    /// The execve of the program `identity` by the process the lab runs
    /// commands in, `runner`, and no other execve by it: panics otherwise.
    pub fn exec_of(&self, identity: (u64, u64), runner: Runner, what: &str) -> &Exec {
        let of_it: Vec<&Exec> = self
            .execs
            .iter()
            .filter(|e| e.identity == identity)
            .collect();
        let [exec] = of_it[..] else {
            panic!(
                "{what} was executed {} times, expected once: execs {:?}\n{}",
                of_it.len(),
                self.execs
                    .iter()
                    .map(|e| (e.pid, &e.path))
                    .collect::<Vec<_>>(),
                self.shown()
            );
        };
        match runner {
            Runner::Itself => assert_eq!(
                exec.pid,
                self.root,
                "{what} must be executed by the lab's own process, after the filter is loaded\n{}",
                self.shown()
            ),
            Runner::Child => assert_eq!(
                self.parents.get(&exec.pid),
                Some(&self.root),
                "{what} must be executed by a child the lab forked\n{}",
                self.shown()
            ),
        }
        let others: Vec<&String> = self
            .execs
            .iter()
            .filter(|e| e.pid == exec.pid && e.identity != identity)
            .map(|e| &e.path)
            .collect();
        assert!(
            others.is_empty(),
            "the process that runs {what} executed other programs too: {others:?}\n{}",
            self.shown()
        );
        assert_eq!(
            exec.status.seccomp,
            2,
            "{what} runs without a seccomp filter (Seccomp: {} in /proc/PID/status)\n{}",
            exec.status.seccomp,
            self.shown()
        );
        assert_eq!(
            exec.status.pending,
            "0000000000000000 0000000000000000",
            "{what} started with signals pending\n{}",
            self.shown()
        );
        exec
    }

    /// How the probe's call ended, after the checks of `exec_of`.
    pub fn outcome(&self, probe: &Probe, runner: Runner) -> (Outcome, &Exec) {
        let what = format!("the probe ({})", probe.call);
        let exec = self.exec_of(probe.identity, runner, &what);
        let pid = exec.pid;
        let sigsys: Vec<&Sigsys> = self.sigsys.iter().filter(|s| s.pid == pid).collect();
        let end = self.ends.get(&pid).copied();
        let outcome = match (&sigsys[..], end) {
            ([], Some(End::Killed(libc::SIGSYS))) => Outcome::Killed {
                syscall: self.last_calls.get(&pid).copied(),
            },
            ([], Some(End::Exited(code))) => Outcome::Returned(code),
            ([trap], Some(End::Killed(libc::SIGSYS))) if trap.code == SYS_SECCOMP => {
                Outcome::Trapped {
                    syscall: trap.syscall,
                    arch: trap.arch,
                }
            }
            _ => panic!(
                "{what}: SIGSYS {sigsys:?}, end {end:?}: not a trap, a kill or a return\n{}",
                self.shown()
            ),
        };
        assert_ne!(
            outcome,
            Outcome::Returned(WRITE_FAILED),
            "{what}: its write(2) to stdout did not go through\n{}",
            self.shown()
        );
        if !matches!(outcome, Outcome::Killed { .. }) {
            // It got past its write: the text is there, once.
            assert_eq!(
                self.stdout.matches(&probe.text).count(),
                1,
                "{what}: its line {:?} is not on stdout once\n{}",
                probe.text,
                self.shown()
            );
        }
        (outcome, exec)
    }

    /// Panics unless the probe's call ended as `expected`.
    pub fn assert_probe(&self, probe: &Probe, runner: Runner, expected: Expected, why: &str) {
        let (outcome, _) = self.outcome(probe, runner);
        let call = probe.call;
        let good = match expected {
            Expected::Trapped => {
                outcome
                    == Outcome::Trapped {
                        syscall: call.nr as i32,
                        arch: call.arch(),
                    }
            }
            Expected::Killed => {
                outcome
                    == Outcome::Killed {
                        syscall: Some(call.nr),
                    }
            }
            Expected::Errno(errno) => outcome == Outcome::Returned(errno),
            Expected::Ran => matches!(outcome, Outcome::Returned(errno) if errno != WRITE_FAILED),
        };
        assert!(
            good,
            "{call}: {why}, but it was {outcome}\n{}",
            self.shown()
        );
    }
}

/// What a test wants of the probe's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A seccomp trap: SIGSYS naming this call.
    Trapped,
    /// A seccomp kill.
    Killed,
    /// The filter's errno.
    Errno(i32),
    /// Not stopped: the kernel ran it.
    Ran,
}
