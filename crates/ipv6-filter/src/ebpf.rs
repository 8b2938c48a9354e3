//! The same `ip6` test in eBPF: written by hand with bpf_insn.rs, loaded
//! with `bpf(BPF_PROG_LOAD)` as a `BPF_PROG_TYPE_SOCKET_FILTER`, which the
//! verifier checks first, and attached with `SO_ATTACH_BPF`; and programs
//! the verifier refuses, with its log.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use workbook::names::errno_name;

use crate::bpf_insn::*;

// ANCHOR: program
/// `tcpdump ip6` again, in eBPF. R1 holds the context, the packet's
/// `struct __sk_buff *`; `BPF_LD_ABS` reads the packet from R6.
pub fn ipv6_filter_ebpf() -> [bpf_insn; 7] {
    [
        bpf_mov64_reg(R6, R1),               // r6 = r1
        bpf_ld_abs(BPF_H, 12),               // r0 = *(u16 *)skb[12]
        bpf_jmp_imm(BPF_JEQ, R0, 0x86dd, 2), // if r0 == 0x86dd goto +2
        bpf_mov64_imm(R0, 0),                // r0 = 0
        bpf_exit_insn(),                     // exit: drop the frame
        bpf_mov64_imm(R0, 0x0004_0000),      // r0 = 0x40000
        bpf_exit_insn(),                     // exit: keep 256 KiB of it
    ]
}
// ANCHOR_END: program

// ANCHOR: rejected
/// A program the verifier refuses, for `--ebpf-rejected`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Rejected {
    /// A backward jump that never ends: `while (r0 == 0);`.
    Loop,
    /// A read of the context past the end of `struct __sk_buff`.
    OutOfBounds,
}

impl Rejected {
    pub fn program(self) -> Vec<bpf_insn> {
        match self {
            Rejected::Loop => vec![
                bpf_mov64_imm(R0, 0),            // r0 = 0
                bpf_jmp_imm(BPF_JEQ, R0, 0, -1), // if r0 == 0 goto -1: itself
                bpf_exit_insn(),                 // exit, never reached
            ],
            Rejected::OutOfBounds => vec![
                bpf_ldx_mem(BPF_W, R0, R1, 4096), // r0 = *(u32 *)(r1 + 4096)
                bpf_exit_insn(),                  // exit
            ],
        }
    }
}
// ANCHOR_END: rejected

/// `union bpf_attr` for `BPF_PROG_LOAD`, up to `prog_name`: the kernel
/// takes a shorter attr and treats what is missing as zero.
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// What `bpf(BPF_PROG_LOAD)` answered: the program's descriptor or the
/// errno, and the verifier's log either way.
pub struct Loaded {
    pub program: std::result::Result<OwnedFd, Errno>,
    pub log: String,
}

// ANCHOR: load
/// bpf(BPF_PROG_LOAD): the verifier checks `program`, and the kernel
/// keeps it, JIT-compiled, as long as a descriptor refers to it.
pub fn prog_load(name: &str, program: &[bpf_insn], log_level: u32) -> Loaded {
    let mut log = vec![0u8; 64 * 1024];
    let mut prog_name = [0u8; 16];
    for (slot, byte) in prog_name[..15].iter_mut().zip(name.bytes()) {
        *slot = byte;
    }
    let attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_SOCKET_FILTER,
        insn_cnt: program.len() as u32,
        insns: program.as_ptr() as u64,
        // Only GPL-only helpers check it; this program calls no helper.
        license: c"GPL".as_ptr() as u64,
        log_level,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name,
    };
    // SAFETY: `attr` is a BPF_PROG_LOAD attr whose pointers (the
    // instructions, the license, the log buffer of `log_size` bytes) stay
    // valid for the call.
    let program = unsafe { sys_bpf(BPF_PROG_LOAD, &attr) }.map(|fd| {
        // SAFETY: BPF_PROG_LOAD returned a new descriptor, ours alone.
        unsafe { OwnedFd::from_raw_fd(fd) }
    });
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let log = String::from_utf8_lossy(&log[..end]).into_owned();
    Loaded { program, log }
}

/// bpf(2): `cmd`, with `attr` as the start of its `union bpf_attr` (the
/// kernel treats the rest as zero).
///
/// # Safety
///
/// `attr` must be what `cmd` expects, with every pointer in it valid for
/// what the kernel reads or writes there.
unsafe fn sys_bpf<Attr>(cmd: libc::c_long, attr: &Attr) -> nix::Result<i32> {
    // SAFETY: the caller vouches for `attr`; its size is passed with it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *const Attr,
            std::mem::size_of::<Attr>() as u32,
        )
    };
    Errno::result(ret).map(|fd| fd as i32)
}
// ANCHOR_END: load

/// From <linux/bpf.h>: the `bpf(2)` commands and the program type used.
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;

/// The one-line refusal when loading is not allowed here at all: the
/// kernel answers EPERM before the verifier sees the program.
fn not_permitted() -> anyhow::Error {
    let sysctl = std::fs::read_to_string("/proc/sys/kernel/unprivileged_bpf_disabled")
        .map(|value| value.trim().to_string())
        .unwrap_or_else(|_| "unreadable".into());
    anyhow::anyhow!(
        "bpf(BPF_PROG_LOAD): {}: loading an eBPF program needs CAP_BPF (or CAP_SYS_ADMIN, \
         or root) unless sysctl kernel.unprivileged_bpf_disabled is 0 (here it is {sysctl}); \
         without --ebpf the classic filter needs no root",
        errno_name(Errno::EPERM)
    )
}

/// The log, narrated: a line to say what it is, then its lines indented.
fn narrate_log(what: &str, log_level: u32, log: &str) {
    workbook::narrate!("ipv6-filter: the verifier's log for {what} (log_level {log_level}):");
    for line in log.lines().filter(|line| !line.is_empty()) {
        workbook::narrate!("  {line}");
    }
}

/// How much the verifier says: at 2, every path, instruction by
/// instruction, with the registers after each; at 1, only the path that
/// failed and why (and, for a program it accepts, only a summary).
const EVERY_STEP: u32 = 2;
const THE_FAILED_PATH: u32 = 1;

/// The program `name`, loaded, after the verifier's log; or why not: no
/// bpf(2) here, no privilege for it (refused before the verifier runs),
/// or the verifier's refusal, after its log.
fn load(name: &str, program: &[bpf_insn], log_level: u32) -> Result<OwnedFd> {
    let loaded = prog_load(&name.replace('-', "_"), program, log_level);
    match loaded.program {
        Err(Errno::EPERM) if loaded.log.is_empty() => Err(not_permitted()),
        Err(Errno::ENOSYS) => bail!(
            "bpf(BPF_PROG_LOAD): {}: this kernel has no bpf(2) (CONFIG_BPF_SYSCALL)",
            errno_name(Errno::ENOSYS)
        ),
        Err(errno) => {
            narrate_log(&format!("the {name} program"), log_level, &loaded.log);
            bail!(
                "bpf(BPF_PROG_LOAD): the verifier refused the {name} program: {}",
                errno_name(errno)
            )
        }
        Ok(fd) => {
            narrate_log(&format!("the {name} program"), log_level, &loaded.log);
            Ok(fd)
        }
    }
}

/// `--ebpf`: the ip6 program, loaded, with what the verifier said and what
/// the kernel made of it.
pub fn load_ipv6_filter() -> Result<OwnedFd> {
    let program = ipv6_filter_ebpf();
    let fd = load("ip6", &program, EVERY_STEP)?;
    narrate_info(fd.as_raw_fd(), program.len())?;
    Ok(fd)
}

/// `--ebpf-rejected`: the program, refused, with the verifier's log and
/// the errno; an error either way, since nothing was loaded.
pub fn show_rejected(which: Rejected) -> Result<()> {
    let name = clap::ValueEnum::to_possible_value(&which)
        .map(|value| value.get_name().to_string())
        .unwrap_or_default();
    let loaded = load(&name, &which.program(), THE_FAILED_PATH);
    match loaded {
        Err(error) => Err(error.context(format!("--ebpf-rejected {name}"))),
        Ok(_) => bail!(
            "--ebpf-rejected {name}: the kernel accepted a program its verifier should refuse"
        ),
    }
}

/// The start of `struct bpf_prog_info`, which is all we read: the kernel
/// fills in as much of it as we say we have room for.
#[repr(C)]
#[derive(Default)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
}

/// `union bpf_attr` for `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// BPF_OBJ_GET_INFO_BY_FD: how long the program is after the verifier's
/// rewriting, and whether the JIT turned it into machine code.
fn narrate_info(fd: i32, loaded: usize) -> Result<()> {
    let mut info = ProgInfo::default();
    let attr = InfoAttr {
        bpf_fd: fd as u32,
        info_len: std::mem::size_of::<ProgInfo>() as u32,
        info: &mut info as *mut ProgInfo as u64,
    };
    // SAFETY: `attr` is a BPF_OBJ_GET_INFO_BY_FD attr, and `info` has
    // room for the `info_len` bytes the kernel writes.
    unsafe { sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) }.context("bpf(BPF_OBJ_GET_INFO_BY_FD)")?;
    let insn = std::mem::size_of::<bpf_insn>() as u32;
    workbook::narrate!(
        "ipv6-filter: loaded: {loaded} instructions, {} after the verifier's rewriting; {}",
        info.xlated_prog_len / insn,
        match info.jited_prog_len {
            0 => "not JIT-compiled (sysctl net.core.bpf_jit_enable is 0)".to_string(),
            bytes => format!("JIT-compiled to {bytes} bytes of machine code"),
        }
    );
    Ok(())
}

// ANCHOR: attach
/// `SO_ATTACH_BPF`: the socket runs the loaded program on every packet.
/// The socket takes a reference, so the descriptor may be closed after.
pub fn attach_bpf(socket: BorrowedFd<'_>, program: BorrowedFd<'_>) -> Result<()> {
    let program_fd: libc::c_int = program.as_raw_fd();
    // SAFETY: the option value is the program's descriptor, an int of the
    // size passed.
    let ret = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_BPF,
            (&program_fd as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    Errno::result(ret)
        .map(drop)
        .context("setsockopt(SO_ATTACH_BPF)")
}
// ANCHOR_END: attach
