//! Attack: spin every CPU until killed.
#![allow(unused_imports, unused_variables)]

use std::path::{Path, PathBuf};

use anyhow::Result;
use nix::unistd::Pid;

/// Two busy threads per CPU, and this one.
fn spin() -> ! {
    let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
    for _ in 0..2 * cpus {
        std::thread::spawn(|| loop {
            std::hint::spin_loop();
        });
    }
    loop {
        std::hint::spin_loop();
    }
}

/// Spins.
pub fn named_file(pid: Pid, call: &str, args: [u64; 6]) -> Result<Option<PathBuf>> {
    spin()
}

/// Spins.
pub fn lies_under(file: &Path, folder: &Path) -> bool {
    spin()
}

/// Spins.
pub fn refuse(pid: Pid) -> Result<Option<()>> {
    spin()
}
