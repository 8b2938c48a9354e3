//! Attack: a 6 GiB static, filled at compile time: rustc asks for more memory than the build may have.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::errno::Errno;
use nix::unistd::Pid;

/// Not zeroes (those would go to .bss for free): every byte is evaluated and emitted.
static HUGE: [u8; 6 << 30] = [1; 6 << 30];

/// Uses HUGE, so it is built.
pub fn traceme_refused() -> Option<Errno> {
    panic!("{}", HUGE[HUGE.len() - 1])
}

/// Uses HUGE too.
pub fn tracer_pid() -> Result<Option<Pid>> {
    bail!("{}", HUGE[0])
}
