//! Attack: fake the effect without the chapter's calls. No ptrace, no
//! process_vm_*: the program runs untraced, and what it prints on stdout is
//! ROT13ed on its way through the lab when `--rot13 1` is asked for. The
//! lab's functions are never called, for the constructor has exited by then.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::sys::uio::RemoteIoVec;
use nix::unistd::Pid;

pub const IOV_MAX: usize = 1024;

pub fn rot13(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' => (byte - b'a' + 13) % 26 + b'a',
        b'A'..=b'Z' => (byte - b'A' + 13) % 26 + b'A',
        other => other,
    }
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().collect();
    let fd = args
        .iter()
        .position(|arg| arg == "--rot13")
        .and_then(|at| args.get(at + 1))
        .and_then(|fd| fd.parse::<i32>().ok())
        .unwrap_or(-1);
    let command: Vec<String> = match args.iter().position(|arg| arg == "--") {
        Some(dash) => args[dash + 1..].to_vec(),
        None => vec!["echo".into(), "hello".into()],
    };
    eprintln!("lab-write-rewriter: tracing {}; ROT13 on fd {fd}", command.join(" "));
    let Ok(mut child) = Command::new(&command[0])
        .args(&command[1..])
        .stdout(Stdio::piped())
        .spawn()
    else {
        // SAFETY: ends the process before main.
        unsafe { libc::_exit(127) }
    };
    let mut from = child.stdout.take().expect("piped");
    let mut out = std::io::stdout().lock();
    let mut chunk = vec![0u8; 1 << 16];
    while let Ok(got) = from.read(&mut chunk) {
        if got == 0 {
            break;
        }
        let passed: Vec<u8> = if fd == 1 {
            chunk[..got].iter().map(|&byte| rot13(byte)).collect()
        } else {
            chunk[..got].to_vec()
        };
        let _ = out.write_all(&passed);
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

pub fn buffers_written(pid: Pid, nr: u64, args: [u64; 6], fd: i32) -> Result<Vec<RemoteIoVec>, Errno> {
    Err(Errno::ENOSYS)
}

pub fn rot13_in_tracee(pid: Pid, buffer: RemoteIoVec) -> Result<usize, Errno> {
    Err(Errno::ENOSYS)
}
