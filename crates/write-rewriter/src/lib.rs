//! write-rewriter's memory side, for its main.rs and for the lab
//! (crates/labs/write-rewriter): which bytes of a write(2) the kernel would
//! copy, whether they lie in a shared mapping, and the calls that read and
//! write them, process_vm_readv/process_vm_writev in one call, or
//! PTRACE_PEEKDATA/PTRACE_POKEDATA a word at a time.

use std::io::{IoSlice, IoSliceMut};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;
use workbook::memory::Mapping;

/// The size of a machine word (a C `long`): what one PTRACE_PEEKDATA or
/// PTRACE_POKEDATA moves.
pub const WORD: usize = std::mem::size_of::<libc::c_long>();
/// The top of user space on this architecture. A buffer above it is left
/// alone: safe.
const USER_TOP: usize = workbook::arch::USER_SPACE_TOP as usize;

// ANCHOR: range
/// How many bytes the kernel's write would copy from `base`, or why it
/// would not copy them all. The kernel checks the whole range with
/// access_ok first (EFAULT if it wraps around or ends past the top of user
/// space), then clamps `len` to MAX_RW_COUNT, then copies page by page: an
/// unmapped (or unreadable) page stops the copy, with EFAULT or a short
/// write depending on the file. Only a range that is readable to its end
/// is rewritten; anything else is the program's bug, and the program should
/// see what it would see without a tracer.
pub fn what_the_kernel_copies(maps: &[Mapping], base: usize, len: usize) -> Result<usize, String> {
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
pub fn shared_mapping_under(maps: &[Mapping], base: usize, len: usize) -> Option<&Mapping> {
    let end = base.saturating_add(len);
    maps.iter()
        .find(|mapping| mapping.shared() && mapping.overlaps(base as u64, end as u64))
}

/// The narration's words for a shared mapping, and why it is left alone.
pub fn what_is_shared(mapping: &Mapping) -> String {
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

// ANCHOR: readv
/// The tracee's bytes at `base`, with ONE process_vm_readv. Where the range
/// runs into unmapped memory the kernel copies what it can and says how much.
pub fn read_buffer(pid: Pid, base: usize, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buffer = vec![0u8; len];
    let remote = [RemoteIoVec { base, len }];
    let got = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buffer)], &remote)?;
    buffer.truncate(got);
    Ok(buffer)
}

/// Our bytes into the tracee at `base`, with ONE process_vm_writev. It
/// writes as the tracee would: a read-only page gives EFAULT.
pub fn write_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
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
pub fn peek_buffer(pid: Pid, base: usize, len: usize) -> (Vec<u8>, usize) {
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
pub fn poke_buffer(pid: Pid, base: usize, data: &[u8]) -> Result<usize, Errno> {
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
