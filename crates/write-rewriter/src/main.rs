// write-rewriter: the lecture's «Лезем в адресное пространство». At every
// write(2) the tracer reads the tracee's buffer with one process_vm_readv,
// shows it, and overwrites it with 'A's with process_vm_writev, so the
// program prints AAAA. Where the page is read-only, it falls back to
// PTRACE_POKEDATA, which writes through page protection as a debugger does.
// It only rewrites what the kernel would copy whole: a range the kernel
// refuses, or one that runs into unmapped memory, is reported and left as
// it was, and so is anything the demo's own child writes before its execve.
// It never changes a file: a buffer in a shared mapping (of a file, or
// memory other processes share) is left as it was too.

use std::collections::HashSet;
use std::io::{IoSlice, IoSliceMut};
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;
use workbook::arch::Abi;
use workbook::memory::{self, quoted, Mapping};
use workbook::names::errno_name;
use workbook::trace::{spawn_traced, Resume, Tracees};
use workbook::{ptrace_listen, ptrace_syscall, CommandArgs, Stop};

// The lab (crates/labs/write-rewriter) compiles this file with cfg(lab) and
// the student's memory calls, from its lab.rs, in place of the ones below.
#[cfg(lab)]
use crate::lab::{poke_buffer, read_buffer, write_buffer, WORD};

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
/// syscall_32.tbl); through `syscall` it is 1, libc::SYS_write.
const I386_WRITE: u64 = 4;
/// The top of user space (TASK_SIZE_MAX) on x86_64 with 4-level paging. With
/// 5-level paging it is higher, and a buffer above this is left alone: safe.
const USER_TOP: usize = 0x7fff_ffff_f000;
/// Narration goes to stderr, one line per event, under the demo's name.
macro_rules! say {
    ($($arg:tt)*) => { workbook::narrate!("write-rewriter: {}", format_args!($($arg)*)) };
}

#[cfg(not(lab))]
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
        Abi::X86_64 => nr == libc::SYS_write as u64,
        Abi::I386 => nr == I386_WRITE,
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
        Abi::I386 => (
            args.map(|arg| arg & 0xffff_ffff),
            " via int 0x80 (i386 ABI)",
        ),
        Abi::X86_64 | Abi::X32 => (args, ""),
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
    // This thread is stopped at its syscall entry: its mappings stay as
    // they are until we let it go. One look at /proc/PID/maps serves both
    // checks below.
    let maps = match memory::maps(pid) {
        Ok(maps) => maps,
        Err(error) => {
            say!("[pid {pid}]   left unchanged: {error:#}");
            return false;
        }
    };
    let count = match what_the_kernel_copies(&maps, base, len) {
        Ok(count) => count,
        Err(why) => {
            say!("[pid {pid}]   left unchanged: {why}");
            return false;
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
        return false;
    }
    let mut data = if peek {
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
    if data.len() < wanted {
        // The maps said readable, but the read stopped short (another
        // thread unmapped it, or a special mapping): change nothing.
        say!(
            "[pid {pid}]   read only {} of {wanted} bytes: left unchanged",
            data.len()
        );
        return false;
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
    if data.is_empty() {
        return true;
    }
    // The 'A's go over the bytes just read: no second buffer.
    let keep_newline = wanted == count && data.ends_with(b"\n");
    data.fill(b'A');
    if keep_newline {
        *data.last_mut().expect("not empty") = b'\n';
    }
    let written = match write_buffer(pid, base, &data) {
        Ok(written) => written,
        Err(Errno::EFAULT) => 0,
        Err(errno) => {
            say!("[pid {pid}]   process_vm_writev: {}", errno_name(errno));
            return false;
        }
    };
    if written == data.len() {
        say!("[pid {pid}]   process_vm_writev: wrote {written} bytes");
    } else {
        // It stopped at a read-only page: PTRACE_POKEDATA writes the rest
        // through the page protection.
        let how_far = match written {
            0 => "EFAULT".to_string(),
            _ => format!("wrote {written} bytes, then EFAULT"),
        };
        match poke_buffer(pid, base + written, &data[written..]) {
            Ok(words) => say!(
                "[pid {pid}]   process_vm_writev: {how_far} (read-only page); \
                 wrote with PTRACE_POKEDATA instead ({words} words)"
            ),
            Err(errno) => {
                say!(
                    "[pid {pid}]   process_vm_writev: {how_far} (read-only page); \
                     PTRACE_POKEDATA: {}",
                    errno_name(errno)
                );
                return false;
            }
        }
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
// ANCHOR_END: rewrite

// ANCHOR: range
/// How many bytes the kernel's write would copy from `base`, or why it
/// would not copy them all. The kernel checks the whole range with
/// access_ok first (EFAULT if it wraps around or ends past the top of user
/// space), then clamps `len` to MAX_RW_COUNT, then copies page by page: an
/// unmapped (or unreadable) page stops the copy, with EFAULT or a short
/// write depending on the file. Only a range that is readable to its end
/// is rewritten; anything else is the program's bug, and the program should
/// see what it would see without a tracer.
fn what_the_kernel_copies(maps: &[Mapping], base: usize, len: usize) -> Result<usize, String> {
    let Some(end) = base.checked_add(len) else {
        return Err("buf + count wraps around: access_ok refuses it (EFAULT)".into());
    };
    if end > USER_TOP {
        return Err(format!(
            "buf + count = {end:#x} is past the top of user space \
             ({USER_TOP:#x}): access_ok refuses it (EFAULT)"
        ));
    }
    let count = len.min(max_rw_count());
    let readable = readable_from(maps, base, count);
    if readable < count {
        return Err(format!(
            "only the first {readable} of its {count} bytes are mapped \
             readable; the kernel stops copying there (EFAULT, or a short write)"
        ));
    }
    Ok(count)
}

/// How many bytes from `base` on, up to `len`, lie in readable mappings
/// with no gap between them, by /proc/PID/maps (sorted by address).
fn readable_from(maps: &[Mapping], base: usize, len: usize) -> usize {
    let base = base as u64;
    let mut reached = base;
    for mapping in maps {
        if mapping.end <= reached {
            continue;
        }
        if mapping.start > reached || !mapping.readable() || reached - base >= len as u64 {
            break;
        }
        reached = mapping.end;
    }
    (reached - base).min(len as u64) as usize
}

/// The most one read or write moves: INT_MAX rounded down to a page
/// (0x7ffff000 with 4 KiB pages); the kernel clamps `count` to it.
fn max_rw_count() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    i32::MAX as usize & !(page - 1)
}
// ANCHOR_END: range

// ANCHOR: shared
/// The first shared mapping (MAP_SHARED, the `s` in /proc/PID/maps) that
/// any byte of `base..base + len` lies in. Its pages are not the
/// program's own: a file's pages in the page cache ARE the file, so
/// process_vm_writev or PTRACE_POKEDATA there writes into the file on disk
/// (the kernel writes it back later, as for any change through the
/// mapping). A memfd or a file in /dev/shm is a file too, and shared
/// anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is seen by every process
/// that shares it. A private mapping, even of a file, is safe: the first
/// write to a page copies it (copy-on-write).
fn shared_mapping_under(maps: &[Mapping], base: usize, len: usize) -> Option<&Mapping> {
    let end = base.saturating_add(len);
    maps.iter()
        .find(|mapping| mapping.shared() && mapping.overlaps(base as u64, end as u64))
}

/// The narration's words for a shared mapping, and why it is left alone.
fn what_is_shared(mapping: &Mapping) -> String {
    match mapping.path.as_str() {
        // The kernel backs shared anonymous memory with a file of its own,
        // which /proc/PID/maps names so.
        "/dev/zero (deleted)" => "shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS): \
             every process that shares it would see the 'A's"
            .to_string(),
        "" => format!(
            "a shared mapping at {:#x}-{:#x}: other processes would see the 'A's",
            mapping.start, mapping.end
        ),
        path => format!(
            "a shared mapping of {path}: its pages are the file's, \
             and the 'A's would be written to the file"
        ),
    }
}
// ANCHOR_END: shared

#[cfg(not(lab))] // the lab brings its own (outside the book's listing)
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

#[cfg(not(lab))] // ANCHOR: write_buffer (mdBook leaves an ANCHOR line out of a listing)
/// Our bytes into the tracee at `base`, with ONE process_vm_writev. It
/// writes as the tracee would: a read-only page gives EFAULT.
fn write_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
    let remote = [RemoteIoVec {
        base,
        len: data.len(),
    }];
    process_vm_writev(pid, &[IoSlice::new(data)], &remote)
}
// ANCHOR_END: write_buffer
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

#[cfg(not(lab))] // ANCHOR: poke_buffer
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
// ANCHOR_END: poke_buffer
// ANCHOR_END: words
