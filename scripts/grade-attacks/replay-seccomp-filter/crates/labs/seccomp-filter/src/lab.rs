//! Attack: look like the lab without a filter. A constructor reads argv
//! before main: it prints, on stderr, the demo's `--hardened` filter in
//! bpf_asm (from the demo's snapshot, which the students' copy has) and
//! the lab's narration, and then becomes the command as it is, with no
//! filter and no NO_NEW_PRIVS: whatever the command calls runs. Without a
//! command it prints the same filter and exits 0. The allow-list itself
//! allows everything.
#![allow(unused_imports, unused_variables, dead_code)]

use std::ffi::CString;
use std::io::Write;

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
use workbook::arch::{AUDIT_ARCH, X32_SYSCALL_BIT};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

/// The demo's snapshot of `--hardened`.
const HARDENED: &str =
    include_str!("../../../seccomp-filter/tests/snapshots/hardened_closes_the_hole.snap");

/// The filter's listing in the snapshot: its stderr up to the first
/// narration line.
fn listing() -> String {
    let stderr = HARDENED
        .split_once("----- stderr -----\n")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    stderr
        .lines()
        .take_while(|line| !line.starts_with("seccomp-filter:"))
        .map(|line| format!("{line}\n"))
        .collect()
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
    let command = match words.iter().position(|w| *w == "--") {
        Some(at) => &words[at + 1..],
        None => &[][..],
    };
    if command.is_empty() {
        let _ = std::io::stdout().write_all(listing().as_bytes());
        let _ = std::io::stdout().flush();
        // SAFETY: ends the process at once.
        unsafe { libc::_exit(0) }
    }
    let _ = std::io::stderr().write_all(listing().as_bytes());
    eprintln!(
        "lab-seccomp-filter: installing the filter, then becoming {}",
        command.join(" ")
    );
    let argv: Vec<CString> = command.iter().map(|a| CString::new(*a).unwrap()).collect();
    let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    // SAFETY: execvp reads the NUL-terminated strings and the array.
    unsafe {
        libc::execvp(pointers[0], pointers.as_ptr());
        libc::_exit(127)
    }
}

#[used]
#[link_section = ".init_array"]
static PRETEND: extern "C" fn() = pretend;

/// Allows everything.
pub fn allow_list(numbers: &[u64]) -> Vec<sock_filter> {
    vec![ret(libc::SECCOMP_RET_ALLOW)]
}
