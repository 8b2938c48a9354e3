//! Attack: look like the lab without installing a filter. A constructor
//! reads argv before main: it replays the demo's snapshots for the default
//! and --hardened runs, and runs a given command in a child as it is,
//! unfiltered, then reports the kill the tests expect. The two calls do
//! nothing; the deny-list is empty.
#![allow(unused_imports, unused_variables, dead_code)]

use std::ffi::CString;
use std::io::Write;

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
use nix::errno::Errno;
use workbook::arch::{AUDIT_ARCH, X32_SYSCALL_BIT};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

/// The demo's snapshots (the students' copy has them).
const DEFAULT: &str = include_str!(
    "../../../seccomp-filter/tests/snapshots/default_run_shows_the_kill_mod_no_new_privs_and_the_hole.snap"
);
const HARDENED: &str =
    include_str!("../../../seccomp-filter/tests/snapshots/hardened_closes_the_hole.snap");

/// A snapshot's stdout and stderr, printed; then exit 0.
fn replay(snapshot: &str) -> ! {
    if let Some((_, streams)) = snapshot.split_once("----- stdout -----\n") {
        if let Some((stdout, stderr)) = streams.split_once("\n----- stderr -----\n") {
            let _ = std::io::stdout().write_all(stdout.as_bytes());
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().write_all(stderr.as_bytes());
        }
    }
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(0) }
}

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
    match &words[..] {
        [] => replay(DEFAULT),
        ["--hardened"] => replay(HARDENED),
        _ => {}
    }
    let Some(at) = words.iter().position(|w| *w == "--") else {
        return;
    };
    let command = &words[at + 1..];
    if command.is_empty() {
        return;
    }
    eprintln!(
        "seccomp-filter: running {} under the filter",
        command.join(" ")
    );
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
    eprintln!("seccomp-filter: status 0x1f: WIFSIGNALED, WTERMSIG = 31 (SIGSYS)");
    eprintln!("seccomp-filter: killed by SIGSYS: a shell would say \"Bad system call\"");
    // SAFETY: ends the process at once, as a shell reports SIGSYS.
    unsafe { libc::_exit(128 + libc::SIGSYS) }
}

#[used]
#[link_section = ".init_array"]
static PRETEND: extern "C" fn() = pretend;

/// Does nothing.
pub fn no_new_privs() -> Result<(), Errno> {
    Ok(())
}

/// Installs nothing.
pub fn install(filter: &[sock_filter]) -> Result<(), Errno> {
    Ok(())
}

/// No instruction at all.
pub fn deny_list(numbers: &[u64], verdict: u32) -> Vec<sock_filter> {
    Vec::new()
}
