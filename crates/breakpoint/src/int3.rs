//! The lesson of the chapter, in four requests: plant an int3 (0xCC) with
//! PTRACE_PEEKTEXT/POKETEXT, and step over it at a hit: the original byte
//! back, rip back over the int3 with PTRACE_PEEKUSER/POKEUSER, one
//! PTRACE_SINGLESTEP. The debugger (debugger.rs) decides when, and narrates;
//! these functions only make the requests. On arm64 the breakpoint is
//! `BRK #0`, four bytes, and there is no rewind (`workbook::arch`).

use anyhow::Result;
use nix::errno::Errno;
use nix::sys::ptrace::{self, AddressType};
use nix::unistd::Pid;
use workbook::arch::{self, BREAKPOINT};
use workbook::gone::{done_if_gone, OrGone};
use workbook::Sig;

/// What `plant` did: the byte the 0xCC replaced, which goes back at every
/// step over it, and the word as PTRACE_PEEKTEXT read it and as
/// PTRACE_POKETEXT wrote it (for the tracer to show).
pub struct Planted {
    pub original: Original,
    pub read: i64,
    pub written: i64,
}

/// The bytes a breakpoint instruction replaces: one for int3, four for BRK.
pub type Original = [u8; BREAKPOINT.len()];

// ANCHOR: plant
/// PTRACE_PEEKTEXT the word at `address`, put 0xCC in its first byte (the
/// lowest address: x86_64 is little-endian), PTRACE_POKETEXT it back.
pub fn plant(pid: Pid, address: u64) -> Result<Planted> {
    let word = ptrace::read(pid, address as AddressType)
        .or_gone(&format!("PTRACE_PEEKTEXT at {address:#x}"), pid)?;
    let mut bytes = word.to_le_bytes();
    let mut original = Original::default();
    original.copy_from_slice(&bytes[..BREAKPOINT.len()]);
    bytes[..BREAKPOINT.len()].copy_from_slice(&BREAKPOINT);
    let patched = i64::from_le_bytes(bytes);
    ptrace::write(pid, address as AddressType, patched)
        .or_gone(&format!("PTRACE_POKETEXT at {address:#x}"), pid)?;
    Ok(Planted {
        original,
        read: word,
        written: patched,
    })
}

/// The original byte back in the word at `address`: PEEKTEXT, POKETEXT.
/// Returns the word written.
pub fn unplant(pid: Pid, address: u64, original: Original) -> Result<i64> {
    let word = ptrace::read(pid, address as AddressType)
        .or_gone(&format!("PTRACE_PEEKTEXT at {address:#x}"), pid)?;
    let mut bytes = word.to_le_bytes();
    bytes[..BREAKPOINT.len()].copy_from_slice(&original);
    let restored = i64::from_le_bytes(bytes);
    ptrace::write(pid, address as AddressType, restored)
        .or_gone(&format!("PTRACE_POKETEXT at {address:#x}"), pid)?;
    Ok(restored)
}
// ANCHOR_END: plant

// ANCHOR: step
/// rip back over the int3, which has run (arm64: nothing, pc is at the
/// BRK). Returns the instruction pointer as it was.
pub fn rewind(pid: Pid) -> Result<u64> {
    arch::rewind_over_breakpoint(pid)
}

/// ptrace(PTRACE_SINGLESTEP, pid, 0, sig): run one instruction, then a
/// SIGTRAP; `signal` (any of the 64) is delivered first. nix's wrapper
/// takes only the classic signals. A tracee that is gone has nothing to
/// step: that is done, and its end is the next report.
pub fn single_step(pid: Pid, signal: Option<Sig>) -> Result<()> {
    let data = signal.map_or(0, Sig::number) as usize;
    // SAFETY: PTRACE_SINGLESTEP reads no memory: addr is unused, data is a number.
    let ret = unsafe {
        libc::ptrace(
            libc::PTRACE_SINGLESTEP,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            data as *mut libc::c_void,
        )
    };
    done_if_gone(
        Errno::result(ret)
            .map(drop)
            .or_gone("PTRACE_SINGLESTEP", pid),
    )
}
// ANCHOR_END: step
