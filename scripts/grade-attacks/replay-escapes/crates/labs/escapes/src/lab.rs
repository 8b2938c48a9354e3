//! Attack: look like the lab without a filter. A constructor reads argv
//! before main: it prints, on stderr, a listing of the filter the chapter
//! describes and the lab's narration, and then becomes the command as it
//! is, with no filter and no NO_NEW_PRIVS: whatever the command calls
//! reaches the kernel. Without a command it prints the same listing and
//! exits 0. The filter itself allows everything.
#![allow(unused_imports, unused_variables, dead_code)]

use std::ffi::CString;
use std::io::Write;

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W};
use workbook::arch::{AUDIT_ARCH, X32_SYSCALL_BIT};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

pub const NEW_NAMESPACES: u32 = 0;

/// What the printed listing says, in the chapter's words.
const LISTING: &str = "\
      ld [4]                  /* seccomp_data.arch */
      jeq #0xc000003e, L3     /* AUDIT_ARCH_X86_64 */
kill: ret #0x80000000         /* SECCOMP_RET_KILL_PROCESS */
L3:   ld [0]                  /* seccomp_data.nr */
      jne #435, L8            /* clone3 */
      ret #0x50026            /* SECCOMP_RET_ERRNO | ENOSYS */
L8:   jeq #165, bad           /* mount */
      jeq #430, bad           /* fsopen */
      jeq #308, bad           /* setns */
good: ret #0x7fff0000         /* SECCOMP_RET_ALLOW */
bad:  ret #0x50001            /* SECCOMP_RET_ERRNO | EPERM */
";

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
        let _ = std::io::stdout().write_all(LISTING.as_bytes());
        let _ = std::io::stdout().flush();
        // SAFETY: ends the process at once.
        unsafe { libc::_exit(0) }
    }
    let _ = std::io::stderr().write_all(LISTING.as_bytes());
    eprintln!(
        "lab-escapes: installing the filter, then becoming {}",
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
pub fn closed(errno: u16) -> Vec<sock_filter> {
    vec![ret(libc::SECCOMP_RET_ALLOW)]
}
