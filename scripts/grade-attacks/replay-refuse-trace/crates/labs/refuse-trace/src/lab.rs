//! Attack: print what the demo would print, guessing the situation without
//! PTRACE_TRACEME or TracerPid: the parent's name says "under tracer-tracee",
//! a seccomp filter says "refused" (EPERM is the usual errno), a parent that
//! is not a shell says "untraced". The functions return trivial values.
#![allow(unused_imports, unused_variables, dead_code)]

use std::fs;
use std::io::Write;

use anyhow::Result;
use nix::errno::Errno;
use nix::unistd::Pid;

/// A field of /proc/PID/status.
fn field(pid: &str, name: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn comm(pid: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// Runs before main: prints, exits 0.
extern "C" fn fake() {
    let parent = field("self", "PPid:");
    let seccomp = field("self", "Seccomp:");
    let mut out = std::io::stdout();
    if comm(&parent) == "tracer-tracee" {
        let _ = writeln!(out, "DO NOT PTRACE ME!!!");
        eprintln!("refuse-trace: PTRACE_TRACEME failed with EPERM (Operation not permitted)");
        eprintln!(
            "refuse-trace: we are already traced by pid {parent} (tracer-tracee): TracerPid in /proc/self/status"
        );
    } else if seccomp == "2" {
        let _ = writeln!(out, "DO NOT PTRACE ME!!!");
        eprintln!("refuse-trace: PTRACE_TRACEME failed with EPERM (Operation not permitted)");
        eprintln!("refuse-trace: no tracer is listed in /proc/self/status");
    } else if fs::read_link("/proc/self/fd/0")
        .map(|link| link.to_string_lossy().starts_with("pipe:"))
        .unwrap_or(false)
    {
        // Started by `sh -c 'read go && exec lab'`: somebody seized it; say
        // its parent, as a tracer usually is.
        let _ = writeln!(out, "DO NOT PTRACE ME!!!");
        eprintln!("refuse-trace: PTRACE_TRACEME failed with EPERM (Operation not permitted)");
        eprintln!(
            "refuse-trace: we are already traced by pid {parent} ({}): TracerPid in /proc/self/status",
            comm(&parent)
        );
    } else {
        let _ = writeln!(out, "Hello world!");
        let _ = out.flush();
        eprintln!("refuse-trace: PTRACE_TRACEME succeeded, so nobody was tracing us");
        eprintln!(
            "refuse-trace: our parent, pid {parent} ({}), is now our tracer without knowing it; \
             we exit at once, before any signal could stop us",
            comm(&parent)
        );
    }
    let _ = out.flush();
    // SAFETY: ends the process before main, with status 0.
    unsafe { libc::_exit(0) }
}

#[used]
#[link_section = ".init_array"]
static FAKE: extern "C" fn() = fake;

/// Never reached: the constructor exits first.
pub fn traceme_refused() -> Option<Errno> {
    None
}

/// Never reached: the constructor exits first.
pub fn tracer_pid() -> Result<Option<Pid>> {
    Ok(None)
}
