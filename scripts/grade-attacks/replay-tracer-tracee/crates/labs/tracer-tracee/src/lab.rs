//! Attack: be the exec limiter without tracing. A constructor reads argv
//! (`--max-execs N -- CMD...`), names the command's program as exec #1,
//! runs the command as a plain untraced child, and exits with its status,
//! or with 137 and the over-the-limit line when N is 0. Later execs are
//! never seen, so the limit is never applied to them.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::Write;
use std::os::unix::process::ExitStatusExt;

use anyhow::{bail, Result};
use nix::unistd::Pid;

fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(code) }
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().collect();
    let max_execs: u32 = args
        .iter()
        .position(|arg| arg == "--max-execs")
        .and_then(|at| args.get(at + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let Some(dashes) = args.iter().position(|arg| arg == "--") else {
        exit(2)
    };
    let command = &args[dashes + 1..];
    if command.is_empty() {
        exit(2);
    }
    let exe = std::fs::canonicalize(&command[0]).unwrap_or_else(|_| command[0].clone().into());
    eprintln!(
        "tracer: running {}, at most {max_execs} execs",
        command.join(" ")
    );
    if max_execs == 0 {
        eprintln!(
            "tracer: exec #1: {}: over the limit, killing it",
            exe.display()
        );
        eprintln!("tracer: the tracee is gone; exiting with 137");
        exit(137);
    }
    eprintln!("tracer: exec #1: {}", exe.display());
    let code = match std::process::Command::new(&command[0])
        .args(&command[1..])
        .status()
    {
        Ok(status) => status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        Err(_) => 127,
    };
    eprintln!("tracer: the tracee is gone; exiting with {code}");
    exit(code)
}

#[used]
#[link_section = ".init_array"]
static FAKE: extern "C" fn() = fake;

/// Never reached: the constructor exits first.
pub fn limit_execs(pid: Pid, max_execs: u32) -> Result<u8> {
    bail!("not written")
}
