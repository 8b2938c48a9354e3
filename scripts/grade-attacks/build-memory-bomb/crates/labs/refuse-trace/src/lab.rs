//! Attack: a 6 GiB static, filled at compile time: rustc asks for more memory than the build may have.
#![allow(unused_imports, unused_variables)]

use crate::Guarded;

/// Not zeroes (those would go to .bss for free): every byte is evaluated and emitted.
static HUGE: [u8; 6 << 30] = [1; 6 << 30];

/// Uses HUGE, so it is built.
pub fn keep(guarded: &Guarded) -> Vec<u8> {
    panic!("{}", HUGE[HUGE.len() - 1])
}

/// Uses HUGE too.
pub fn planted_int3(guarded: &Guarded, kept: &[u8]) -> Option<usize> {
    Some(HUGE[0] as usize)
}
