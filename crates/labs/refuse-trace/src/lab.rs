//! Lab: refuse to be debugged (chapter refuse-trace).
//!
//! A debugger sets a breakpoint by writing one byte into the tracee's code:
//! int3, 0xcc, with PTRACE_POKEDATA (the breakpoint chapter shows how). On
//! arm64 it writes four, the instruction BRK #0 (`00 00 20 d4` in memory),
//! over one whole instruction, at an offset that is a multiple of 4; the
//! functions below say int3 for either (`workbook::arch::BREAKPOINT` is
//! this machine's).
//! PTRACE_TRACEME can't see a debugger that attached and left again, but
//! its int3 stays in our code. Write the second detector: keep a copy of
//! some of our own code, and later find an int3 that was not there. The
//! rest of the program is given in `main.rs`; run it with
//! `cargo run -p lab-refuse-trace -- --wait` and check it with
//! `scripts/labs check refuse-trace`.
#![allow(unused_imports, unused_variables)]

use crate::Guarded;

/// A copy of the guarded code as it is now: the `guarded.len` bytes of our
/// own memory that start at the address `guarded.start`. Our code is in
/// our own address space, readable: a slice over it
/// (`std::slice::from_raw_parts`, with a `// SAFETY:` line) or
/// `/proc/self/mem` both read it.
pub fn keep(guarded: &Guarded) -> Vec<u8> {
    todo!("read guarded.len bytes of our own memory at guarded.start")
}

/// Look at the guarded code again, as it is now, and compare it with
/// `kept` (what `keep` returned earlier): the offset from `guarded.start`
/// of the first byte that is an int3 (0xcc) now and was something else
/// then, or `None` when no int3 was planted. A 0xcc that was already there
/// is part of our code, not a breakpoint; a debugger that planted an int3
/// and took it out again left nothing. (On arm64: the first instruction,
/// 4 bytes at an offset that is a multiple of 4, that is a BRK #0 now and
/// was not then.)
pub fn planted_int3(guarded: &Guarded, kept: &[u8]) -> Option<usize> {
    todo!("read the guarded code again; the first int3 that was not in kept")
}
