//! write-rewriter: the lecture's «Лезем в адресное пространство». At every
//! write(2) the tracer reads the tracee's buffer with one process_vm_readv,
//! shows it, and overwrites it with 'A's with process_vm_writev, so the
//! program prints AAAA. Where the page is read-only, it falls back to
//! PTRACE_POKEDATA, which writes through page protection as a debugger does.

use std::collections::HashSet;
use std::io::{IoSlice, IoSliceMut};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;
use workbook::memory::quoted;
use workbook::names::errno_name;
use workbook::trace::{spawn_traced, unless_gone, Resume, Tracees};
use workbook::{CommandArgs, Stop};

/// Runs a command and rewrites every buffer it passes to write(2) with 'A's,
/// narrating each one on stderr.
///
/// With no command it runs a built-in target that writes from the stack, the
/// heap, a string literal, to stderr, and from a buffer that runs into an
/// unmapped page.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Read the buffer word by word with PTRACE_PEEKDATA instead, and count
    /// the ptrace calls that takes.
    #[arg(long)]
    peek: bool,
    #[command(flatten)]
    command: CommandArgs,
}

/// How much of a buffer the narration shows.
const SHOWN: usize = 64;
/// How much of one write the tracer reads at most.
const READ_AT_MOST: usize = 1 << 20;
/// Narration goes to stderr, one line per event, under the demo's name.
macro_rules! say {
    ($($arg:tt)*) => { eprintln!("write-rewriter: {}", format_args!($($arg)*)) };
}

const WORD: usize = std::mem::size_of::<libc::c_long>();

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = args.command.program("writes")?;
    say!("tracing {}", program.label);
    // ANCHOR: loop
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE;
    let mut tracees = Tracees::new(spawn_traced(&program, options)?, Resume::Syscall);
    ptrace::syscall(tracees.first(), None).context("PTRACE_SYSCALL")?;
    // Processes in a write whose buffer was only partly readable.
    let mut partial = HashSet::new();
    while let Some(waited) = tracees.wait()? {
        let pid = waited.pid;
        let pass_on = match waited.stop {
            Stop::SyscallEnter { nr, args: call } if nr == libc::SYS_write as u64 => {
                if !rewrite_write(pid, call, args.peek) {
                    partial.insert(pid);
                }
                None
            }
            Stop::SyscallExit { ret, is_error } if partial.remove(&pid) => {
                let result = if is_error {
                    errno_name(Errno::from_raw(-ret as i32))
                } else {
                    format!("{ret}")
                };
                say!("[pid {pid}]   the kernel's write returned {result}");
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Exited(_) | Stop::Killed { .. } => {
                partial.remove(&pid);
                continue;
            }
            // Other syscalls, group-stops, fork and exec events: just go on.
            _ => None,
        };
        unless_gone(ptrace::syscall(pid, pass_on), pid)?;
    }
    // ANCHOR_END: loop
    Ok(ExitCode::from(tracees.exit_code()?))
}

// ANCHOR: rewrite
/// One write(2) entry: read the buffer, show it, overwrite it with 'A's.
/// Returns false when only part of the buffer could be read.
fn rewrite_write(pid: Pid, args: [u64; 6], peek: bool) -> bool {
    let (fd, base, len) = (args[0] as i32, args[1] as usize, args[2] as usize);
    say!("[pid {pid}] SYS_write({fd}, len {len}): base={base:#x}");
    let wanted = len.min(READ_AT_MOST);
    let data = if peek {
        let (data, calls) = peek_buffer(pid, base, wanted);
        say!(
            "[pid {pid}]   PTRACE_PEEKDATA: {calls} ptrace calls for {} bytes \
             (process_vm_readv: 1 call)",
            data.len()
        );
        data
    } else {
        match read_buffer(pid, base, wanted) {
            Ok(data) => data,
            Err(errno) => {
                say!("[pid {pid}]   process_vm_readv: {}", errno_name(errno));
                return false;
            }
        }
    };
    let whole = data.len() == wanted;
    if whole {
        say!("[pid {pid}]   read all {} bytes", data.len());
    } else {
        say!(
            "[pid {pid}]   read {} of {wanted} bytes (the rest is unmapped)",
            data.len()
        );
    }
    say!(
        "[pid {pid}]   Tracee invoked SYS_write with data: {}",
        quoted(&data, SHOWN)
    );
    if data.is_empty() {
        return whole;
    }
    let mut aaaa = vec![b'A'; data.len()];
    if data.ends_with(b"\n") {
        *aaaa.last_mut().expect("not empty") = b'\n';
    }
    match write_buffer(pid, base, &aaaa) {
        Ok(written) => say!("[pid {pid}]   process_vm_writev: wrote {written} bytes"),
        Err(Errno::EFAULT) => match poke_buffer(pid, base, &aaaa) {
            Ok(words) => say!(
                "[pid {pid}]   process_vm_writev: EFAULT (read-only page); \
                 wrote with PTRACE_POKEDATA instead ({words} words)"
            ),
            Err(errno) => say!("[pid {pid}]   PTRACE_POKEDATA: {}", errno_name(errno)),
        },
        Err(errno) => say!("[pid {pid}]   process_vm_writev: {}", errno_name(errno)),
    }
    whole
}
// ANCHOR_END: rewrite

// ANCHOR: readv
/// The tracee's bytes at `base`, with ONE process_vm_readv. Where the range
/// runs into unmapped memory the kernel copies what it can and says how much.
fn read_buffer(pid: Pid, base: usize, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buffer = vec![0u8; len];
    let remote = [RemoteIoVec { base, len }];
    let got = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buffer)], &remote)?;
    buffer.truncate(got);
    Ok(buffer)
}

/// Our bytes into the tracee at `base`, with ONE process_vm_writev. It
/// writes as the tracee would: a read-only page gives EFAULT.
fn write_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    let remote = [RemoteIoVec {
        base,
        len: data.len(),
    }];
    process_vm_writev(pid, &[IoSlice::new(data)], &remote)
}
// ANCHOR_END: readv

// ANCHOR: words
/// The same bytes the old way, one machine word (a long) per PTRACE_PEEKDATA,
/// from the aligned word that holds `base` up to the first word that fails.
/// Returns the bytes and the number of ptrace calls made.
fn peek_buffer(pid: Pid, base: usize, len: usize) -> (Vec<u8>, usize) {
    let start = base - base % WORD;
    let end = base.saturating_add(len);
    let (mut bytes, mut calls) = (Vec::with_capacity(len + 2 * WORD), 0);
    let mut addr = start;
    while addr < end {
        calls += 1;
        match ptrace::read(pid, addr as ptrace::AddressType) {
            Ok(word) => bytes.extend_from_slice(&word.to_ne_bytes()),
            Err(_) => break,
        }
        addr += WORD;
    }
    let skip = base - start;
    let data = bytes.get(skip..).unwrap_or_default();
    (data[..data.len().min(len)].to_vec(), calls)
}

/// Writes `data` at `base` with PTRACE_POKEDATA, a word at a time. A word
/// only partly ours is read first (PEEKDATA) so its other bytes survive.
/// Returns the number of words written.
fn poke_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    let start = base - base % WORD;
    let end = base + data.len();
    let mut words = 0;
    let mut addr = start;
    while addr < end {
        let mut word = if addr < base || addr + WORD > end {
            ptrace::read(pid, addr as ptrace::AddressType)?.to_ne_bytes()
        } else {
            [0; WORD]
        };
        for (i, byte) in word.iter_mut().enumerate() {
            if (base..end).contains(&(addr + i)) {
                *byte = data[addr + i - base];
            }
        }
        ptrace::write(
            pid,
            addr as ptrace::AddressType,
            libc::c_long::from_ne_bytes(word),
        )?;
        words += 1;
        addr += WORD;
    }
    Ok(words)
}
// ANCHOR_END: words
