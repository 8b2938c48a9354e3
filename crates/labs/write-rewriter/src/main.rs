//! lab-write-rewriter: ROT13 what a program writes to one file descriptor.
//!
//! `cargo run -p lab-write-rewriter -- --rot13 FD [-- CMD ARGS...]` runs the
//! command (by default the demo's built-in target `writes`) under
//! PTRACE_SYSCALL. At the entry of each write(2) or writev(2) to FD, every
//! buffer the call hands the kernel is rewritten in the tracee's memory with
//! ROT13, before the kernel reads it: what reaches FD is ROT13, whatever FD
//! is (a file, a pipe, a terminal), and writes to other descriptors pass
//! unchanged. The demo's rules hold: a buffer the kernel would not copy
//! whole, or one in a shared mapping, is left as it was.
//!
//! Given here: the loop, the checks (from the demo's library) and the
//! narration. Yours, in `lab.rs`: which buffers a call writes to FD, and the
//! ROT13 of one buffer in the tracee's memory.

mod lab;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use nix::sys::uio::RemoteIoVec;
use nix::unistd::Pid;
use workbook::arch::Abi;
use workbook::memory::{self, Mapping};
use workbook::names::errno_name;
use workbook::trace::trace_syscall_entries;
use workbook::CommandArgs;
use write_rewriter::{shared_mapping_under, what_the_kernel_copies};

/// Runs a command and rewrites, with ROT13, every buffer it passes to
/// write(2) or writev(2) on one file descriptor, narrating each on stderr.
///
/// With no command it runs the demo's built-in target `writes`.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The file descriptor whose writes are rewritten (1 for stdout).
    #[arg(long, value_name = "FD", value_parser = clap::value_parser!(i32).range(0..))]
    rot13: i32,
    #[command(flatten)]
    command: CommandArgs,
}

/// Narration goes to stderr, one line per event, under the lab's name.
macro_rules! say {
    ($($arg:tt)*) => { workbook::narrate!("lab-write-rewriter: {}", format_args!($($arg)*)) };
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = args.command.program("writes")?;
    say!("tracing {}; ROT13 on fd {}", program.label, args.rot13);
    let code = trace_syscall_entries(&program, |entry| {
        // Only the 64-bit ABI: through int 0x80 (AArch32 code on arm64)
        // the numbers, and the iovec's layout, are the 32-bit ones. Nothing the demo's own child
        // writes before its execve is the program's.
        if entry.abi == Abi::NATIVE && entry.execed {
            rot13_at_entry(entry.pid, entry.nr, entry.args, args.rot13);
        }
        Ok(())
    })?;
    Ok(ExitCode::from(code))
}

/// One syscall entry: the buffers it writes to `fd` (yours), each checked
/// by the demo's rules, then ROT13ed in the tracee (yours).
fn rot13_at_entry(pid: Pid, nr: u64, call: [u64; 6], fd: i32) {
    let name = workbook::names::syscall_name(nr);
    // The call's own descriptor (the kernel takes the low 32 bits).
    let its_fd = call[0] as u32 as i32;
    let buffers = match lab::buffers_written(pid, nr, call, fd) {
        Ok(buffers) if buffers.is_empty() => return,
        Ok(buffers) => buffers,
        Err(errno) => {
            say!(
                "[pid {pid}] {name}(fd {its_fd}): its buffers: {}",
                errno_name(errno)
            );
            return;
        }
    };
    say!(
        "[pid {pid}] {name}(fd {its_fd}): {} buffer(s)",
        buffers.len()
    );
    // The thread is stopped at its syscall entry: one look at its maps
    // serves every buffer.
    let maps = match memory::maps(pid) {
        Ok(maps) => maps,
        Err(error) => {
            say!("[pid {pid}]   left unchanged: {error:#}");
            return;
        }
    };
    for buffer in buffers {
        if let Some(why) = why_left_alone(&maps, buffer) {
            say!(
                "[pid {pid}]   {} bytes at {:#x}: left unchanged: {why}",
                buffer.len,
                buffer.base
            );
            continue;
        }
        match lab::rot13_in_tracee(pid, buffer) {
            Ok(count) => say!(
                "[pid {pid}]   {} bytes at {:#x}: {count} bytes rewritten",
                buffer.len,
                buffer.base
            ),
            Err(errno) => say!(
                "[pid {pid}]   {} bytes at {:#x}: {}",
                buffer.len,
                buffer.base,
                errno_name(errno)
            ),
        }
    }
}

/// Why the demo's rules leave `buffer` alone, if they do: empty, not copied
/// whole by the kernel, or in a shared mapping (where ROT13 would change a
/// file, or memory other processes see).
fn why_left_alone(maps: &[Mapping], buffer: RemoteIoVec) -> Option<String> {
    if buffer.len == 0 {
        return Some("empty".into());
    }
    match what_the_kernel_copies(maps, buffer.base, buffer.len) {
        Err(why) => return Some(why),
        Ok(count) if count < buffer.len => {
            return Some(format!("the kernel would copy only {count} bytes of it"))
        }
        Ok(_) => {}
    }
    shared_mapping_under(maps, buffer.base, buffer.len).map(|shared| {
        format!(
            "it is in a shared mapping ({:#x}-{:#x} {})",
            shared.start, shared.end, shared.path
        )
    })
}
