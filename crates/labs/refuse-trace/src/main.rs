//! lab-refuse-trace: the refuse-trace program with a second detector,
//! written by you in `lab.rs`: a breakpoint (int3, the byte 0xcc) that a
//! debugger planted in our own code. The program keeps a copy of its
//! `greet` function's first bytes, gives a debugger its chance (with
//! `--wait`, until a line arrives on stdin), then looks again: an int3
//! that was not there before makes it refuse to run `greet`, which
//! otherwise says "Hello world!" as the demo does.
//! `cargo run -p lab-refuse-trace -- [--wait]`.

mod lab;

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

/// Guards its own code against breakpoints: prints "Hello world!", or "DO
/// NOT DEBUG ME!!!" when an int3 was planted in it. The explanation goes
/// to stderr.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Give a debugger its chance: wait for a line on stdin between keeping
    /// the copy of our code and looking at it again.
    #[arg(long)]
    wait: bool,
}

/// Some of our own code, in our own memory: `len` bytes from the address
/// `start`. Only the program itself changes it (it doesn't), or a debugger.
pub struct Guarded {
    pub start: usize,
    pub len: usize,
}

/// How many bytes of `greet` are guarded: its start, where a debugger's
/// `break greet` goes, and the instructions after it.
const GUARDED_BYTES: usize = 64;

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let guarded = Guarded {
        start: greet as *const () as usize,
        len: GUARDED_BYTES,
    };
    let kept = lab::keep(&guarded);
    workbook::narrate!(
        "refuse-trace: kept a copy of {} bytes of greet() at {:#x}",
        kept.len(),
        guarded.start
    );
    if args.wait {
        workbook::narrate!(
            "refuse-trace: pid {}: a debugger may plant its breakpoints now; waiting for a line on stdin",
            std::process::id()
        );
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading a line from stdin")?;
    }
    if let Some(offset) = lab::planted_int3(&guarded, &kept) {
        println!("DO NOT DEBUG ME!!!");
        workbook::narrate!(
            "refuse-trace: {} was planted at offset {offset} of greet() ({:#x}): we don't run it",
            workbook::arch::A_BREAKPOINT,
            guarded.start + offset
        );
        return Ok(ExitCode::SUCCESS);
    }
    workbook::narrate!("refuse-trace: greet()'s code is as we kept it");
    // No PTRACE_TRACEME here, unlike the demo: after a successful one, an
    // int3 that went unseen would stop us for good, for a tracer (our
    // parent) that never looks; without it, it kills us with SIGTRAP.
    greet();
    Ok(ExitCode::SUCCESS)
}

/// The guarded code. Not inlined, so that it has an address of its own,
/// and it holds bytes 0xcc of its own (an immediate operand), as code
/// often does: not every 0xcc in code is an int3 somebody planted.
#[inline(never)]
fn greet() {
    let marker = std::hint::black_box(0xcccc_cccc_u32);
    if marker == 0xcccc_cccc {
        println!("Hello world!");
    }
}
