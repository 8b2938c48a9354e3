//! Attack: look like the lab without tracing anything. A constructor
//! reads argv before main: for --emulate it runs the command as it is,
//! untraced, and reports a plausible count of emulated calls. The tracer
//! loop returns at once.
#![allow(unused_imports, unused_variables, dead_code)]

use std::ffi::CString;

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

/// The command line, from /proc (std's argv may not be set up yet).
fn args() -> Vec<String> {
    let cmdline = std::fs::read("/proc/self/cmdline").unwrap_or_default();
    cmdline
        .split(|&b| b == 0)
        .skip(1)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

extern "C" fn pretend() {
    let args = args();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    if words.first() != Some(&"--emulate") {
        return;
    }
    let value = words.get(1).copied().unwrap_or("0");
    let command: Vec<&str> = match words.iter().position(|w| *w == "--") {
        Some(at) => words[at + 1..].to_vec(),
        None => words[2..].to_vec(),
    };
    let argv: Vec<CString> = command.iter().map(|a| CString::new(*a).unwrap()).collect();
    let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    let mut status = 0;
    // SAFETY: the child only execs or exits; the parent waits for it.
    unsafe {
        let child = libc::fork();
        if child == 0 {
            libc::execvp(pointers[0], pointers.as_ptr());
            libc::_exit(127);
        }
        libc::waitpid(child, &mut status, 0);
    }
    eprintln!(
        "lab-syscall-overhead: {}: 300 getppid calls answered with {value}, 445 stops in all; \
         then exited with status 0",
        command.join(" ")
    );
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(libc::WEXITSTATUS(status)) }
}

#[used]
#[link_section = ".init_array"]
static PRETEND: extern "C" fn() = pretend;

/// Emulates nothing, and says it emulated nothing.
pub fn emulate_getppid(pid: Pid, value: u64) -> Result<u64> {
    Ok(0)
}
