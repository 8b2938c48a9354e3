//! The built-in target `hostile`: writes whose length the kernel won't take
//! at face value, for a tracer that rewrites write buffers to meet.
//!
//! `hostile` passes a 64-byte buffer on the stack to write(2) with lengths
//! of 2^40, -1 (usize::MAX), 2^62 and 2^33, then makes one normal write.
//! The kernel refuses such a range (EFAULT) or stops copying at the first
//! unmapped page (a short write), and the program goes on; it checks that
//! its buffer is as it was and that the normal write wrote everything.
//!
//! `hostile long` makes one valid but long write instead: 3 MiB of `x`
//! (the last byte a newline) from the heap, in one write(2).

use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use super::{write_raw, Aligned};

/// The lengths from the issue: far past the end of the buffer, and past the
/// end of user space.
const HUGE_LENGTHS: [usize; 4] = [1 << 40, usize::MAX, 1 << 62, 1 << 33];

/// How long the long write is.
const LONG_WRITE: usize = 3 << 20;

pub fn hostile(mode: Option<&str>) -> ExitCode {
    match mode {
        None => huge_lengths(),
        Some("long") => long_write(),
        Some(other) => {
            eprintln!("target: unknown mode {other:?} (try none, or 'long')");
            ExitCode::from(2)
        }
    }
}

fn huge_lengths() -> ExitCode {
    const TEXT: &[u8] = b"a 64-byte buffer on the stack\n";
    let mut stack = Aligned([0u8; 64]);
    stack.0[..TEXT.len()].copy_from_slice(TEXT);
    // It escapes as mutable, so it stays on the stack.
    let stack = std::hint::black_box(&mut stack);
    let before = stack.0;
    for len in HUGE_LENGTHS {
        // The result depends on the kernel and on the file: EFAULT, or as
        // many bytes as are mapped after the buffer. Either way, we go on.
        write_raw(libc::STDOUT_FILENO, stack.0.as_ptr(), len);
    }
    let stack = std::hint::black_box(stack);
    if stack.0 != before {
        eprintln!("target: my stack buffer was changed behind my back");
        return ExitCode::FAILURE;
    }
    let normal: Vec<u8> = b"still here, and this write is normal\n".to_vec();
    let written = write_raw(libc::STDOUT_FILENO, normal.as_ptr(), normal.len());
    if written == normal.len() as isize {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "target: the normal write returned {written}, not {}",
            normal.len()
        );
        ExitCode::FAILURE
    }
}

fn long_write() -> ExitCode {
    let mut long = vec![b'x'; LONG_WRITE];
    long[LONG_WRITE - 1] = b'\n';
    // A pipe takes it all before write returns (a blocking write to a pipe
    // is never short unless a signal interrupts it).
    let written = write_raw(libc::STDOUT_FILENO, long.as_ptr(), long.len());
    if written == LONG_WRITE as isize {
        ExitCode::SUCCESS
    } else {
        eprintln!("target: the long write returned {written}, not {LONG_WRITE}");
        ExitCode::FAILURE
    }
}

/// The page size, for the mailbox's pages.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// A buffer the mailbox mode writes from.
enum Buffer {
    /// A Vec, on the heap.
    Heap(Vec<u8>),
    /// A mapping (anonymous, or of a file), read-only.
    Mapped(*mut u8, usize),
}

impl Buffer {
    fn bytes(&self) -> &[u8] {
        match self {
            Buffer::Heap(bytes) => bytes,
            // SAFETY: a mapping of `len` readable bytes, alive until drop.
            Buffer::Mapped(base, len) => unsafe { std::slice::from_raw_parts(*base, *len) },
        }
    }

    /// One write(2) to `fd` of `len` bytes from `at`, straight to the
    /// kernel; then the whole buffer as it is now.
    fn write_and_read_back(
        &self,
        fd: libc::c_int,
        at: usize,
        len: usize,
    ) -> Result<Vec<u8>, String> {
        let range = self.range(at, len)?;
        let written = write_raw(fd, range.as_ptr(), len);
        if written != len as isize {
            return Err(format!("write to fd {fd} returned {written}, not {len}"));
        }
        Ok(self.read_back())
    }

    /// `len` bytes from `at`, if the buffer has them.
    fn range(&self, at: usize, len: usize) -> Result<&[u8], String> {
        let bytes = self.bytes();
        at.checked_add(len)
            .and_then(|end| bytes.get(at..end))
            .ok_or_else(|| format!("{at} + {len} is past the buffer's {}", bytes.len()))
    }

    /// The whole buffer as it is now, read through a volatile pointer: the
    /// compiler can't assume the bytes are what they were before a write.
    fn read_back(&self) -> Vec<u8> {
        let bytes = self.bytes();
        (0..bytes.len())
            // SAFETY: each index is inside the buffer.
            .map(|i| unsafe { std::ptr::read_volatile(bytes.as_ptr().add(i)) })
            .collect()
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if let Buffer::Mapped(base, len) = *self {
            // SAFETY: the mapping this buffer made, no longer referred to.
            unsafe { libc::munmap(base.cast(), len) };
        }
    }
}

/// A read-only private mapping of `len` bytes: of `file`, or anonymous and
/// filled with `contents` before it is made read-only. With `shared`, a
/// shared, writable mapping of `file` instead: its pages are the file's.
fn mapped(file: Option<&std::fs::File>, contents: &[u8], shared: bool) -> Result<Buffer, String> {
    use std::os::fd::AsRawFd;
    let len = contents.len().max(1).div_ceil(page_size()) * page_size();
    let (prot, flags, fd) = match file {
        Some(file) if shared => (
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
        ),
        Some(file) => (libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd()),
        None => (
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
        ),
    };
    // SAFETY: a fresh mapping; no memory of ours is touched.
    let base = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, 0) };
    if base == libc::MAP_FAILED {
        return Err(format!("mmap: {}", std::io::Error::last_os_error()));
    }
    let buffer = Buffer::Mapped(base.cast(), contents.len());
    if file.is_none() {
        // SAFETY: the mapping is writable and `contents.len()` long at least.
        unsafe {
            std::ptr::copy_nonoverlapping(contents.as_ptr(), base.cast(), contents.len());
            if libc::mprotect(base, len, libc::PROT_READ) != 0 {
                return Err(format!("mprotect: {}", std::io::Error::last_os_error()));
            }
        }
    }
    Ok(buffer)
}

/// A buffer as the mailbox describes it: its kind, then `1` a Vec of these
/// bytes, `2` an anonymous page of these bytes made read-only, `3` a
/// read-only private mapping of the file at this path, `5` a shared,
/// writable mapping of the file at this path.
fn buffer_from(input: &mut super::mailbox::Reader) -> Result<Buffer, String> {
    let kind = input.u64()?;
    buffer_of_kind(kind, input)
}

fn buffer_of_kind(kind: u64, input: &mut super::mailbox::Reader) -> Result<Buffer, String> {
    match kind {
        1 => Ok(Buffer::Heap(input.bytes()?.to_vec())),
        2 => mapped(None, input.bytes()?, false),
        3 | 5 => {
            let shared = kind == 5;
            let path = std::ffi::OsStr::from_bytes(input.bytes()?);
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(shared)
                .open(path)
                .map_err(|error| format!("{}: {error}", path.to_string_lossy()))?;
            let len = file.metadata().map_err(|e| e.to_string())?.len() as usize;
            mapped(Some(&file), &vec![0; len], shared)
        }
        other => Err(format!("no buffer of kind {other}")),
    }
}

/// Opens `path` for writing (created, or emptied) at the descriptor `fd`,
/// which may be any number the process is allowed.
fn open_at(path: &[u8], fd: libc::c_int) -> Result<(), String> {
    use std::os::fd::IntoRawFd;
    let path = std::ffi::OsStr::from_bytes(path);
    let file = std::fs::File::create(path)
        .map_err(|error| format!("{}: {error}", path.to_string_lossy()))?
        .into_raw_fd();
    if file == fd {
        return Ok(());
    }
    // SAFETY: dup2 and close on descriptors this process owns: `file` was
    // just opened, and `fd` is the number the test chose for it.
    unsafe {
        if libc::dup2(file, fd) != fd {
            return Err(format!(
                "dup2({file}, {fd}): {}",
                std::io::Error::last_os_error()
            ));
        }
        libc::close(file);
    }
    Ok(())
}

/// splitmix64's bytes from `seed`, `len` of them: the long write's
/// contents (the write-rewriter lab's grading test makes the same to
/// compare), and the `buffer` target's (`overhead::contents`).
pub fn long_contents(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// The `writes mailbox` mode, for grading tests. The input: the exit status,
/// then writes to stdout, one write(2) each: `1` from a Vec (its bytes, the
/// offset and length to write), `2` from an anonymous page made read-only
/// (the same), `3` from a read-only private mapping of a file (its path, the
/// offset and length), `4` a long one from the heap (a seed for its bytes,
/// its length). Then, for writes to other descriptors: `5` opens a file (its
/// path) for writing at a descriptor (its number); `6` is one write(2) to a
/// descriptor (its number, a buffer as `buffer_from` reads it, the offset
/// and length); `7` one writev(2) to a descriptor (its number, the count of
/// iovecs, and for each a buffer, an offset and a length). The report: for
/// each write from a buffer, and each buffer of a writev, the whole buffer
/// as it is after the call; for a long one, how many of its bytes are not
/// the rewriter's ('A', or the last newline kept) and where the first is.
pub fn mailbox() -> ExitCode {
    super::mailbox::serve(writes_from_the_mailbox)
}

fn writes_from_the_mailbox(input: &[u8]) -> Result<(Vec<u8>, u8), String> {
    use super::mailbox::{Reader, Writer};
    let mut input = Reader::new(input);
    let status = input.u64()? as u8;
    let count = input.u64()?;
    let mut report = Writer::new();
    for _ in 0..count {
        match input.u64()? {
            kind @ (1..=3) => {
                let buffer = buffer_of_kind(kind, &mut input)?;
                let (at, len) = (input.u64()? as usize, input.u64()? as usize);
                report.bytes(&buffer.write_and_read_back(libc::STDOUT_FILENO, at, len)?);
            }
            5 => {
                let path = input.bytes()?;
                open_at(path, input.u64()? as libc::c_int)?;
            }
            6 => {
                let fd = input.u64()? as libc::c_int;
                let buffer = buffer_from(&mut input)?;
                let (at, len) = (input.u64()? as usize, input.u64()? as usize);
                report.bytes(&buffer.write_and_read_back(fd, at, len)?);
            }
            7 => {
                let fd = input.u64()? as libc::c_int;
                let count = input.u64()?;
                let mut buffers = Vec::new();
                let mut ranges = Vec::new();
                for _ in 0..count {
                    let buffer = buffer_from(&mut input)?;
                    let (at, len) = (input.u64()? as usize, input.u64()? as usize);
                    ranges.push((at, len));
                    buffers.push(buffer);
                }
                writev_and_read_back(fd, &buffers, &ranges, &mut report)?;
            }
            4 => {
                let (seed, len) = (input.u64()?, input.u64()? as usize);
                let mut long = long_contents(seed, len);
                let last = long.len().saturating_sub(1);
                let keep_newline = long.last() == Some(&b'\n');
                let written = write_raw(libc::STDOUT_FILENO, long.as_ptr(), long.len());
                if written != len as isize {
                    return Err(format!("the long write returned {written}, not {len}"));
                }
                let long = std::hint::black_box(&mut long);
                let wrong: Vec<usize> = (0..long.len())
                    .filter(|&i| {
                        let wanted = if i == last && keep_newline {
                            b'\n'
                        } else {
                            b'A'
                        };
                        long[i] != wanted
                    })
                    .collect();
                report
                    .u64(wrong.len() as u64)
                    .u64(wrong.first().map_or(u64::MAX, |&i| i as u64));
            }
            other => return Err(format!("no write of kind {other}")),
        }
    }
    Ok((report.0, status))
}

/// One writev(2) to `fd` of `ranges` (offset, length) of `buffers`, one
/// iovec each, straight to the kernel; then each buffer as it is now, into
/// `report`.
fn writev_and_read_back(
    fd: libc::c_int,
    buffers: &[Buffer],
    ranges: &[(usize, usize)],
    report: &mut super::mailbox::Writer,
) -> Result<(), String> {
    let mut iovecs = Vec::with_capacity(buffers.len());
    for (buffer, &(at, len)) in buffers.iter().zip(ranges) {
        let range = buffer.range(at, len)?;
        iovecs.push(libc::iovec {
            iov_base: range.as_ptr().cast_mut().cast(),
            iov_len: len,
        });
    }
    let total: usize = ranges.iter().map(|&(_, len)| len).sum();
    // SAFETY: writev only reads the iovecs and the ranges they name, which
    // all lie inside buffers alive for the call.
    let written = unsafe { libc::writev(fd, iovecs.as_ptr(), iovecs.len() as libc::c_int) };
    if written != total as isize {
        return Err(format!(
            "writev to fd {fd} of {} iovecs returned {written}, not {total}",
            iovecs.len()
        ));
    }
    for buffer in buffers {
        report.bytes(&buffer.read_back());
    }
    Ok(())
}
