// write-rewriter: the lecture's «Лезем в адресное пространство». At every
// write(2) the tracer reads the tracee's buffer with one process_vm_readv,
// shows it, and overwrites it with 'A's with process_vm_writev, so the
// program prints AAAA. Where the page is read-only, it falls back to
// PTRACE_POKEDATA, which writes through page protection as a debugger does.
// It only rewrites what the kernel would copy whole: a range the kernel
// refuses, or one that runs into unmapped memory, is reported and left as
// it was, and so is anything the demo's own child writes before its execve.
// It never changes a file: a buffer in a shared mapping (of a file, or
// memory other processes share) is left as it was too. This file is the
// loop and one write; src/lib.rs is the memory side: which bytes the
// kernel would copy, and the calls that read and write them.

use std::collections::HashSet;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::Options;
use nix::unistd::Pid;
use workbook::arch::Abi;
use workbook::memory::{self, quoted};
use workbook::names::errno_name;
use workbook::trace::{spawn_traced, Resume, Tracees, FOLLOW_CHILDREN};
use workbook::{ptrace_listen, ptrace_syscall, CommandArgs, Stop};
use write_rewriter::{
    peek_buffer, poke_buffer, read_buffer, shared_mapping_under, what_is_shared,
    what_the_kernel_copies, write_buffer,
};

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
/// How much of one write the tracer rewrites at most; a longer one is
/// rewritten this far and reported as partly rewritten.
const REWRITE_AT_MOST: usize = 16 << 20;
/// write(2) through `int 0x80`, the i386 ABI (arch/x86/entry/syscalls/
/// syscall_32.tbl); through `syscall` it is 1, libc::SYS_write. On arm64
/// the 32-bit ABI is AArch32 code's, whose write is 4 as well
/// (arch/arm/tools/syscall.tbl).
const COMPAT_WRITE: u64 = 4;
#[cfg(target_arch = "x86_64")]
const COMPAT_VIA: &str = " via int 0x80 (i386 ABI)";
#[cfg(target_arch = "aarch64")]
const COMPAT_VIA: &str = " from AArch32 code (arm ABI)";
/// Narration goes to stderr, one line per event, under the demo's name.
macro_rules! say {
    ($($arg:tt)*) => { workbook::narrate!("write-rewriter: {}", format_args!($($arg)*)) };
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = args.command.program("writes")?;
    say!("tracing {}", program.label);
    // ANCHOR: loop
    let options = Options::PTRACE_O_TRACESYSGOOD | FOLLOW_CHILDREN;
    let mut tracees = Tracees::new(spawn_traced(&program, options)?, Resume::Syscall);
    ptrace_syscall(tracees.first(), None)?;
    // Processes in a write left (partly) unchanged: their result is shown.
    let mut partial = HashSet::new();
    while let Some(waited) = tracees.wait()? {
        let pid = waited.pid;
        let pass_on = match waited.stop {
            Stop::SyscallEnter {
                nr,
                args: call,
                abi,
            } if is_write(nr, abi) => {
                if !rewrite_write(pid, abi, call, args.peek, tracees.first_execed()) {
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
            // kill -STOP: leave it stopped, as without a tracer, until SIGCONT.
            Stop::Group(_) => {
                ptrace_listen(pid)?;
                continue;
            }
            Stop::Exited(_) | Stop::Killed { .. } => {
                partial.remove(&pid);
                continue;
            }
            // Other syscalls, fork and exec events: just go on.
            _ => None,
        };
        ptrace_syscall(pid, pass_on)?;
    }
    // ANCHOR_END: loop
    Ok(ExitCode::from(tracees.exit_code()?))
}

/// Whether a syscall-enter-stop is a write(2): call 1 through `syscall`,
/// call 4 through `int 0x80` (which a 64-bit program may use too, and
/// strace shows as the i386 write it is). The x32 ABI's write is left
/// alone: most kernels are built without x32.
fn is_write(nr: u64, abi: Abi) -> bool {
    match abi {
        Abi::NATIVE => nr == libc::SYS_write as u64,
        Abi::COMPAT => nr == COMPAT_WRITE,
        #[cfg(target_arch = "x86_64")]
        Abi::X32 => false,
    }
}

// ANCHOR: rewrite
/// One write(2) entry: check the range, read the buffer, show it, overwrite
/// it with 'A's. `started` is false while the only tracee is still the
/// demo's own child, before its execve. Returns false when the buffer was
/// left as it was, or rewritten only in part: the loop then shows what the
/// kernel's write made of it.
fn rewrite_write(pid: Pid, abi: Abi, args: [u64; 6], peek: bool, started: bool) -> bool {
    let (args, via) = match abi {
        // The i386 ABI passes 32-bit values in ebx, ecx, edx; the kernel
        // ignores the registers' upper halves, and so do we.
        Abi::COMPAT => (args.map(|arg| arg & 0xffff_ffff), COMPAT_VIA),
        _ => (args, ""),
    };
    let (fd, base, len) = (args[0] as i32, args[1] as usize, args[2] as usize);
    say!("[pid {pid}] SYS_write({fd}, len {len}){via}: base={base:#x}");
    if !started {
        say!(
            "[pid {pid}]   left unchanged: the program has not started (this \
             is the demo's own child, before a successful execve)"
        );
        return true;
    }
    let Some((wanted, count)) = bytes_to_rewrite(pid, base, len) else {
        return false;
    };
    let Some(mut data) = read_what_it_writes(pid, base, wanted, count, peek) else {
        return false;
    };
    if data.is_empty() {
        return true;
    }
    // The 'A's go over the bytes just read: no second buffer.
    let keep_newline = wanted == count && data.ends_with(b"\n");
    data.fill(b'A');
    if keep_newline {
        *data.last_mut().expect("not empty") = b'\n';
    }
    if !write_it_back(pid, base, &data) {
        return false;
    }
    if wanted < count {
        say!(
            "[pid {pid}]   partly rewritten: the first {wanted} of {count} bytes \
             (the demo rewrites {} MiB at most)",
            REWRITE_AT_MOST >> 20
        );
        return false;
    }
    true
}

/// How many bytes of the buffer to rewrite (at most REWRITE_AT_MOST), and
/// how many the kernel will copy; `None`, said why, when it is to be left
/// as it is.
fn bytes_to_rewrite(pid: Pid, base: usize, len: usize) -> Option<(usize, usize)> {
    // This thread is stopped at its syscall entry: its mappings stay as
    // they are until we let it go. One look at /proc/PID/maps serves both
    // checks below.
    let maps = match memory::maps(pid) {
        Ok(maps) => maps,
        Err(error) => {
            say!("[pid {pid}]   left unchanged: {error:#}");
            return None;
        }
    };
    let count = match what_the_kernel_copies(&maps, base, len) {
        Ok(count) => count,
        Err(why) => {
            say!("[pid {pid}]   left unchanged: {why}");
            return None;
        }
    };
    let wanted = count.min(REWRITE_AT_MOST);
    // A shared mapping is not the program's own memory: both ways of
    // writing below would change the file, or what other processes see.
    // Other threads of the program run on meanwhile, and one could map a
    // file over the buffer between this look and the write. A tracer that
    // stops one thread at a syscall, as strace does, can't rule that out;
    // only stopping every thread first (a debugger's all-stop) could.
    if let Some(shared) = shared_mapping_under(&maps, base, wanted) {
        say!(
            "[pid {pid}]   left unchanged: the buffer is in {}",
            what_is_shared(shared)
        );
        return None;
    }
    Some((wanted, count))
}

/// The first `wanted` bytes of the buffer, read from the tracee with
/// PTRACE_PEEKDATA (`peek`) or process_vm_readv; `None` when the read
/// failed or stopped short.
fn read_what_it_writes(
    pid: Pid,
    base: usize,
    wanted: usize,
    count: usize,
    peek: bool,
) -> Option<Vec<u8>> {
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
                return None;
            }
        }
    };
    if data.len() < wanted {
        // The maps said readable, but the read stopped short (another
        // thread unmapped it, or a special mapping): change nothing.
        say!(
            "[pid {pid}]   read only {} of {wanted} bytes: left unchanged",
            data.len()
        );
        return None;
    }
    if wanted < count {
        say!("[pid {pid}]   read the first {wanted} of {count} bytes");
    } else {
        say!("[pid {pid}]   read all {} bytes", data.len());
    }
    say!(
        "[pid {pid}]   Tracee invoked SYS_write with data: {}",
        quoted(&data, SHOWN)
    );
    Some(data)
}

/// `data` written over the buffer at `base`: process_vm_writev, and where
/// it stops at a read-only page, PTRACE_POKEDATA for the rest. False when
/// it could not be written whole.
fn write_it_back(pid: Pid, base: usize, data: &[u8]) -> bool {
    let written = match write_buffer(pid, base, data) {
        Ok(written) => written,
        Err(Errno::EFAULT) => 0,
        Err(errno) => {
            say!("[pid {pid}]   process_vm_writev: {}", errno_name(errno));
            return false;
        }
    };
    if written == data.len() {
        say!("[pid {pid}]   process_vm_writev: wrote {written} bytes");
        return true;
    }
    // It stopped at a read-only page: PTRACE_POKEDATA writes the rest
    // through the page protection.
    let how_far = match written {
        0 => "EFAULT".to_string(),
        _ => format!("wrote {written} bytes, then EFAULT"),
    };
    match poke_buffer(pid, base + written, &data[written..]) {
        Ok(words) => {
            say!(
                "[pid {pid}]   process_vm_writev: {how_far} (read-only page); \
                 wrote with PTRACE_POKEDATA instead ({words} words)"
            );
            true
        }
        Err(errno) => {
            say!(
                "[pid {pid}]   process_vm_writev: {how_far} (read-only page); \
                 PTRACE_POKEDATA: {}",
                errno_name(errno)
            );
            false
        }
    }
}
// ANCHOR_END: rewrite
