//! Attack: a fork bomb for 20 s (every child forks too), then give up and fail.
#![allow(unused_imports, unused_variables)]

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use nix::unistd::Pid;

/// Forks until 20 s after the first call; the children do the same, then _exit.
fn bomb() {
    let deadline = Instant::now() + Duration::from_secs(20);
    let parent = std::process::id();
    while Instant::now() < deadline {
        // SAFETY: fork; a child runs only this loop, then _exit.
        if unsafe { libc::fork() } < 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if std::process::id() != parent {
        // SAFETY: a child of the bomb ends here, without running anything else.
        unsafe { libc::_exit(0) };
    }
}

/// Bombs, then fails.
pub fn limit_execs(pid: Pid, max_execs: u32) -> Result<u8> {
    bomb();
    bail!("not written")
}
