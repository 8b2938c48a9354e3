//! Attack: look like the lab without tracing or reading anything. A
//! constructor reads argv before main: for --count-stops it runs the
//! command as it is, untraced, and reports a count that looks right; for
//! --read-buffer it writes a buffer of zeros. The tracer loops and the
//! read return at once.
#![allow(unused_imports, unused_variables, dead_code)]

use std::ffi::CString;
use std::io::Write;

use anyhow::{bail, Context, Result};
use nix::sys::ptrace;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::stop::Event;
use workbook::targets::overhead::BUFFER_LEN;
use workbook::{ptrace_cont, ptrace_syscall, wait_for, Stop};

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
    if words.first() == Some(&"--read-buffer") {
        let _ = std::io::stdout().write_all(&vec![0u8; BUFFER_LEN]);
        let _ = std::io::stdout().flush();
        // SAFETY: ends the process at once.
        unsafe { libc::_exit(0) }
    }
    if words.first() != Some(&"--count-stops") {
        return;
    }
    let row = words.get(1).copied().unwrap_or("syscall");
    let command: Vec<&str> = match words.iter().position(|w| *w == "--") {
        Some(at) => words[at + 1..].to_vec(),
        None => words[2..].to_vec(),
    };
    let argv: Vec<CString> = command.iter().map(|a| CString::new(*a).unwrap()).collect();
    let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    // SAFETY: the child only execs or exits; the parent waits for it.
    unsafe {
        let child = libc::fork();
        if child == 0 {
            libc::execvp(pointers[0], pointers.as_ptr());
            libc::_exit(127);
        }
        let mut status = 0;
        libc::waitpid(child, &mut status, 0);
    }
    let line = match row {
        "seccomp" => "0 seccomp stops (SECCOMP_RET_TRACE for reboot)".to_string(),
        _ => format!("{} syscall stops (PTRACE_SYSCALL)", 2 * 500 + 253),
    };
    eprintln!(
        "lab-syscall-overhead: {}: {line}, then exited with status 0",
        command.join(" ")
    );
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(0) }
}

#[used]
#[link_section = ".init_array"]
static PRETEND: extern "C" fn() = pretend;

/// Counts nothing.
pub fn syscall_stops(pid: Pid) -> Result<(Stop, u64)> {
    Ok((Stop::Exited(0), 0))
}

/// Counts nothing.
pub fn seccomp_stops(pid: Pid) -> Result<(Stop, u64)> {
    Ok((Stop::Exited(0), 0))
}

/// Zeros.
pub fn vm_readv(pid: Pid, address: u64) -> Result<Vec<u8>> {
    Ok(vec![0; BUFFER_LEN])
}
