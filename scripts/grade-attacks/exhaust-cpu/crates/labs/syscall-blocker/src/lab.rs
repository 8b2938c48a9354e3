//! Attack: spin every CPU until killed.
#![allow(unused_imports, unused_variables)]

use anyhow::Result;
use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::Waited;

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
pub fn block_at_entry(pid: Pid) -> Result<Option<()>> {
    spin()
}

/// Spins.
pub fn fail_at_exit(pid: Pid, errno: Errno) -> Result<Option<i64>> {
    spin()
}

/// Spins.
pub fn resume(pid: Pid, status: &Waited) -> Result<()> {
    spin()
}
