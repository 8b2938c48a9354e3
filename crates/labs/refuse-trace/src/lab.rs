//! Lab: refuse to be traced (chapter refuse-trace).
//!
//! Write the lecture's detector and its second opinion. The rest of the
//! program (what it prints) is given in `main.rs`; run your version with
//! `cargo run -p lab-refuse-trace`, or under a tracer with
//! `cargo run -p tracer-tracee -- target/debug/lab-refuse-trace`, and check
//! it with `scripts/labs check refuse-trace`.
#![allow(unused_imports, unused_variables)]

use std::fs;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

/// The lecture's test: ask our parent to trace us
/// (`ptrace(PTRACE_TRACEME, 0, NULL, NULL)`, in nix `ptrace::traceme()`).
/// A process has at most one tracer, so the call fails when somebody traces
/// us already. Return the errno it failed with (`Some(errno)`, whatever it
/// is: `main.rs` prints it), or `None` when it succeeded.
pub fn traceme_refused() -> Option<Errno> {
    todo!("PTRACE_TRACEME, and its errno")
}

/// The second opinion: who traces us? The kernel says so in
/// `/proc/self/status`, on the line `TracerPid:\t<pid>`; 0 means nobody.
/// Return `Some(pid)` of the tracer, or `None` when the line says 0. A file
/// that can't be read, or has no such line, is an error that names
/// `/proc/self/status`.
pub fn tracer_pid() -> Result<Option<Pid>> {
    todo!("read /proc/self/status, find TracerPid:, 0 means nobody")
}
