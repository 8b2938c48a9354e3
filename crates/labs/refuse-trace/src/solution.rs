//! Lab: refuse to be debugged (chapter refuse-trace). The reference solution.

use crate::Guarded;

/// The breakpoint instruction a debugger plants, in memory order: int3,
/// the one byte 0xcc, on x86_64; BRK #0, the four bytes 00 00 20 d4 at an
/// offset that is a multiple of 4 (every arm64 instruction is 4 bytes,
/// aligned), on arm64.
const BREAKPOINT: &[u8] = &workbook::arch::BREAKPOINT;

/// Our own code, read now, in our own memory.
fn read_now(guarded: &Guarded) -> Vec<u8> {
    // SAFETY: `guarded` is code of this program, mapped and readable for
    // as long as the program runs; the bytes are copied out at once.
    unsafe { std::slice::from_raw_parts(guarded.start as *const u8, guarded.len) }.to_vec()
}

pub fn keep(guarded: &Guarded) -> Vec<u8> {
    read_now(guarded)
}

/// Instruction by instruction (greet() starts at an instruction; on
/// x86_64 every byte may start one), the first that is a breakpoint now
/// and was something else in `kept`.
pub fn planted_int3(guarded: &Guarded, kept: &[u8]) -> Option<usize> {
    let size = BREAKPOINT.len();
    read_now(guarded)
        .chunks_exact(size)
        .zip(kept.chunks_exact(size))
        .position(|(now, before)| now == BREAKPOINT && before != BREAKPOINT)
        .map(|instruction| instruction * size)
}
