//! Mistake: the meaning is turned round. PTRACE_TRACEME succeeding is
//! taken for "somebody traces us", so the program refuses when alone and
//! greets its tracer.
#![allow(unused_imports, unused_variables)]

use std::fs;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

pub fn traceme_refused() -> Option<Errno> {
    match ptrace::traceme() {
        Ok(()) => Some(Errno::EPERM),
        Err(_) => None,
    }
}

pub fn tracer_pid() -> Result<Option<Pid>> {
    let status = fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let field = status
        .lines()
        .find_map(|line| line.strip_prefix("TracerPid:"))
        .context("no TracerPid: line in /proc/self/status")?;
    let tracer: i32 = field
        .trim()
        .parse()
        .with_context(|| format!("TracerPid: {field:?} in /proc/self/status"))?;
    Ok((tracer != 0).then(|| Pid::from_raw(tracer)))
}
