//! Lab: plant the 0xCC, then step over it (chapter breakpoint).
//!
//! Write the four requests of a breakpoint. The debugger around them (where
//! the breakpoints go, what a SIGTRAP is, the hits, when to step over, the
//! threads, and all it prints) is the demo's, given in `main.rs`: it calls
//! your functions at the right stops and shows what they return. Run your
//! version with `cargo run -p lab-breakpoint` (the built-in target) or
//! `cargo run -p lab-breakpoint -- --break write -- sh -c 'echo hi'`, and
//! check it with `scripts/labs check breakpoint`.
//!
//! Every request may fail with ESRCH when the tracee was killed meanwhile:
//! let that error through (`?`), with its `Errno` inside (`.with_context`
//! keeps it): the tracer recognizes it and carries on.
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace::{self, AddressType};
use nix::unistd::Pid;
use workbook::arch::{self, BREAKPOINT, BREAKPOINT_LENGTH};
use workbook::Sig;

/// What `plant` did: the byte the 0xCC replaced, which goes back at every
/// step over it, and the word as PTRACE_PEEKTEXT read it and as
/// PTRACE_POKETEXT wrote it (for the tracer to show).
pub struct Planted {
    pub original: u8,
    pub read: i64,
    pub written: i64,
}

/// Plant an int3 at `address` in the tracee `pid`. ptrace reads and writes
/// the tracee's memory a word (8 bytes) at a time: read the word at
/// `address` (`ptrace(PTRACE_PEEKTEXT)`: `ptrace::read(pid, address as
/// AddressType)`, an `i64`), put `BREAKPOINT` (0xCC) in place of the byte
/// at `address`, and write the word back (`ptrace(PTRACE_POKETEXT)`:
/// `ptrace::write(pid, address as AddressType, word)`).
///
/// Which byte of the number is the one at `address`? x86_64 is
/// little-endian: `word.to_le_bytes()` gives the bytes in memory order,
/// lowest address first, and `i64::from_le_bytes` makes the number again.
/// Return the byte you replaced and both words.
pub fn plant(pid: Pid, address: u64) -> Result<Planted> {
    todo!("PTRACE_PEEKTEXT, 0xCC into the byte at the address, PTRACE_POKETEXT")
}

/// Take the int3 at `address` out: the same PEEKTEXT and POKETEXT as
/// `plant`, with `original` (the byte `plant` returned) back in place of
/// the 0xCC, and the other seven bytes as they are now. Return the word
/// you wrote.
pub fn unplant(pid: Pid, address: u64, original: u8) -> Result<i64> {
    todo!("PTRACE_PEEKTEXT, the original byte back, PTRACE_POKETEXT")
}

/// At a hit the int3 has run: the SIGTRAP comes with rip one past it (an
/// int3 is `BREAKPOINT_LENGTH`, one byte, long), and the instruction the
/// 0xCC stood in for starts one byte earlier. Move rip back by that byte,
/// with the lecture's one-register requests: read rip's word in the
/// tracee's `struct user` (`ptrace(PTRACE_PEEKUSER)`:
/// `arch::peek_user(pid, offset)`, with `offset =
/// arch::user_offset_of_instruction_pointer()`, 128 on x86_64) and write
/// it back less one (`ptrace(PTRACE_POKEUSER)`: `arch::poke_user(pid,
/// offset, value)`). Return rip as you read it.
pub fn rewind(pid: Pid) -> Result<u64> {
    todo!("PTRACE_PEEKUSER rip, PTRACE_POKEUSER rip - 1")
}

/// Restart the tracee for one instruction: `ptrace(PTRACE_SINGLESTEP, pid,
/// 0, sig)`. It then stops again with a SIGTRAP, and the tracer puts the
/// 0xCC back. `sig` is the signal to deliver, `signal.map_or(0,
/// Sig::number)`: any of the 64, so make the request with
/// `libc::ptrace(libc::PTRACE_SINGLESTEP, pid.as_raw(), addr, data)`
/// (addr a null pointer, data the number cast to a pointer; nix's
/// `ptrace::step` takes only the classic signals), and check its result
/// with `Errno::result(ret)`. ESRCH (the tracee was killed meanwhile) is no
/// error here: return `Ok(())`, its end is the next report.
pub fn single_step(pid: Pid, signal: Option<Sig>) -> Result<()> {
    todo!("PTRACE_SINGLESTEP, the signal as data")
}
