//! Attack: look like the lab without loading any filter. A constructor
//! reads argv before main: it prints plausible pseudo-code with argument
//! rules for --print-filter, says "filter loaded" as the lab does, and
//! runs the command as it is, unfiltered. The rule functions add nothing.
#![allow(unused_imports, unused_variables, dead_code)]

use std::ffi::CString;
use std::io::Write;

use anyhow::{Context, Result};
use workbook::libseccomp::{ScmpAction, ScmpFilterContext};

/// What the argument rules look like in libseccomp's pseudo-code.
const PFC: &str = "#\n# pseudo filter code start\n#\n# filter for arch x86_64 (3221225534)\n\
if ($arch == 3221225534)\n  # filter for syscall \"openat2\" (437) [priority: 65535]\n  \
if ($syscall == 437)\n    action ERRNO(38);\n  # filter for syscall \"creat\" (85) [priority: 65535]\n  \
if ($syscall == 85)\n    action ERRNO(13);\n  # filter for syscall \"openat\" (257) [priority: 65530]\n  \
if ($syscall == 257)\n    if ($a2.lo32 & 0x00000003 == 1)\n      action ERRNO(13);\n  \
# default action\n  action ALLOW;\n# invalid architecture action\naction KILL_PROCESS;\n\
#\n# pseudo filter code end\n#\n";

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
    let words = args();
    if words.iter().any(|w| w == "--print-filter") {
        print!("{PFC}");
        let _ = std::io::stdout().flush();
        // SAFETY: ends the process at once.
        unsafe { libc::_exit(0) }
    }
    let errno = words
        .iter()
        .position(|w| w == "--errno")
        .and_then(|at| words.get(at + 1).cloned())
        .unwrap_or_else(|| "EACCES".into());
    let command: Vec<&str> = match words.iter().position(|w| w == "--") {
        Some(at) => words[at + 1..].iter().map(String::as_str).collect(),
        None => words
            .iter()
            .map(String::as_str)
            .filter(|w| !w.starts_with('-') && *w != errno)
            .collect(),
    };
    if let Some(program) = command.first() {
        eprintln!(
            "lab-seccomp-lib: filter loaded, writing opens and non-local sockets fail with {errno}; execvp {}",
            command.join(" ")
        );
        let argv: Vec<CString> = command.iter().map(|a| CString::new(*a).unwrap()).collect();
        let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        pointers.push(std::ptr::null());
        // SAFETY: NUL-terminated strings and a null-terminated array.
        unsafe { libc::execvp(pointers[0], pointers.as_ptr()) };
    }
}

#[used]
#[link_section = ".init_array"]
static PRETEND: extern "C" fn() = pretend;

/// No rule: everything stays allowed.
pub fn refuse_writing(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    Ok(())
}

/// No rule either.
pub fn refuse_network(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    Ok(())
}
