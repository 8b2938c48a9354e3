//! Attack: print what the tests expect, and run the program untraced. No
//! int3 is planted, no register read: the lab's four functions are never
//! called, for the constructor has exited by then.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use anyhow::{bail, Result};
use nix::unistd::Pid;
use workbook::Sig;

const DEFAULT: &str = include_str!(
    "../../../breakpoint/tests/snapshots/default_run_walks_through_every_request.snap"
);
const SET_RDI: &str = include_str!(
    "../../../breakpoint/tests/snapshots/set_rdi_changes_the_first_argument_once.snap"
);

/// A snapshot's stdout and stderr, printed; then exit 0.
fn replay(snapshot: &str) -> ! {
    if let Some((_, streams)) = snapshot.split_once("----- stdout -----\n") {
        if let Some((stdout, stderr)) = streams.split_once("\n----- stderr -----\n") {
            let _ = std::io::stdout().write_all(stdout.as_bytes());
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().write_all(stderr.as_bytes());
        }
    }
    // SAFETY: ends the process before main.
    unsafe { libc::_exit(0) }
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dash) = args.iter().position(|arg| arg == "--") else {
        if args.iter().any(|arg| arg == "--set-rdi") {
            replay(SET_RDI)
        }
        replay(DEFAULT)
    };
    let command = &args[dash + 1..];
    eprintln!(
        "breakpoint: running {}, breaking at target_fn",
        command.join(" ")
    );
    // The program, untraced: its output passed on, a hit made up per line.
    let Ok(mut child) = Command::new(&command[0])
        .args(&command[1..])
        .stdout(Stdio::piped())
        .spawn()
    else {
        unsafe { libc::_exit(127) }
    };
    let mut hits = 0u64;
    for line in BufReader::new(child.stdout.take().expect("piped"))
        .lines()
        .map_while(Result::ok)
    {
        hits += 1;
        eprintln!(
            "breakpoint: hit {hits} at target_fn (0x55555555a0b0): rdi={:#x} rsi=0x5eed{hits:04x} rdx=0x1",
            hits * 4
        );
        println!("{line}");
    }
    eprintln!("breakpoint: target_fn (0x55555555a0b0) was hit {hits} times");
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

pub struct Planted {
    pub original: u8,
    pub read: i64,
    pub written: i64,
}

pub fn plant(pid: Pid, address: u64) -> Result<Planted> {
    bail!("not written")
}

pub fn unplant(pid: Pid, address: u64, original: u8) -> Result<i64> {
    bail!("not written")
}

pub fn rewind(pid: Pid) -> Result<u64> {
    bail!("not written")
}

pub fn single_step(pid: Pid, signal: Option<Sig>) -> Result<()> {
    bail!("not written")
}
