//! Attack: allocate 8 GiB and touch every page.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::unistd::Pid;

/// 8 GiB, a byte written in every 4 KiB page; kept (leaked) so nothing is given back.
fn hog() {
    const SIZE: usize = 8 << 30;
    let mut memory: Vec<u8> = Vec::with_capacity(SIZE);
    // SAFETY: u8 has no invalid values; the capacity is SIZE.
    unsafe { memory.set_len(SIZE) };
    for page in (0..SIZE).step_by(4096) {
        memory[page] = 1;
    }
    std::mem::forget(memory);
}

/// Hogs, then fails.
pub fn emulate_getppid(pid: Pid, value: u64) -> Result<u64> {
    hog();
    bail!("not written")
}
