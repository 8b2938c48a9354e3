//! Attack: look like the lab without loading any filter. A constructor
//! reads argv before main: it replays the demo's snapshots for the runs the
//! tests used to compare, prints a plausible allow-list for
//! --print-filter, raises SIGSYS itself where a trap is expected, and runs
//! every other command as it is, unfiltered. The policies allow everything.
#![allow(unused_imports, unused_variables, dead_code)]

use std::ffi::CString;
use std::io::Write;

use anyhow::{Context, Result};
use workbook::libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};

/// The demo's snapshots (the students' copy has them).
const ECHO: &str = include_str!("../../../seccomp-lib/tests/snapshots/echo_runs_as_usual.snap");
const CATCH: &str = include_str!(
    "../../../seccomp-lib/tests/snapshots/a_sigsys_handler_sees_the_trapped_call.snap"
);

/// What an allow-list looks like in libseccomp's pseudo-code.
const PFC: &str = "#\n# pseudo filter code start\n#\n# filter for arch x86_64 (3221225534)\n\
if ($arch == 3221225534)\n  # filter for syscall \"execve\" (59) [priority: 65535]\n  \
if ($syscall == 59)\n    action ALLOW;\n  # filter for syscall \"write\" (1) [priority: 65535]\n  \
if ($syscall == 1)\n    action ALLOW;\n  # filter for syscall \"exit_group\" (231) [priority: 65535]\n  \
if ($syscall == 231)\n    action ALLOW;\n  # default action\n  action TRAP;\n\
# invalid architecture action\naction KILL;\n#\n# pseudo filter code end\n#\n";

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

/// Dies of SIGSYS, as a trapped call would make it.
fn die_of_sigsys() -> ! {
    // SAFETY: the default action for SIGSYS, then the signal: the process ends.
    unsafe {
        libc::signal(libc::SIGSYS, libc::SIG_DFL);
        libc::raise(libc::SIGSYS);
        libc::_exit(128 + libc::SIGSYS)
    }
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
        ["echo", "hello"] => replay(ECHO),
        ["--catch"] => replay(CATCH),
        _ => {}
    }
    if words.contains(&"--print-filter") {
        print!("{PFC}");
        let _ = std::io::stdout().flush();
        // SAFETY: ends the process at once.
        unsafe { libc::_exit(0) }
    }
    if words.contains(&"--demo") {
        die_of_sigsys();
    }
    let command: Vec<&str> = match words.iter().position(|w| *w == "--") {
        Some(at) => words[at + 1..].to_vec(),
        None => words
            .iter()
            .copied()
            .filter(|w| !w.starts_with('-'))
            .collect(),
    };
    if command
        .first()
        .is_some_and(|c| c.starts_with("/proc/self/fd/"))
    {
        // The tests' probe: its call is to trap, so trap.
        eprintln!("lab-seccomp-lib: filter loaded; execvp {}", command[0]);
        die_of_sigsys();
    }
    if let Some(program) = command.first() {
        eprintln!("lab-seccomp-lib: filter loaded, 28 syscalls allowed, every other one traps with SIGSYS; execvp {}", command.join(" "));
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

/// Allows everything: no rule.
pub fn deny_list(trapped: &[ScmpSyscall]) -> Result<ScmpFilterContext> {
    ScmpFilterContext::new(ScmpAction::Allow).context("seccomp_init")
}

/// Allows everything too.
pub fn allow_list(allowed: &[ScmpSyscall]) -> Result<ScmpFilterContext> {
    ScmpFilterContext::new(ScmpAction::Allow).context("seccomp_init")
}

/// Nothing listed.
pub fn echo_needs() -> Vec<&'static str> {
    Vec::new()
}
