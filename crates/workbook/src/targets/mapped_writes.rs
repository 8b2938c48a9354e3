//! The built-in targets `mapped-writes` and `int80-write`: write(2)s whose
//! buffers a tracer that rewrites them must treat with care.
//!
//! `mapped-writes MODE [FILE]` maps memory and writes all of it to stdout
//! in one write(2), then checks whether its buffer is as it was:
//!
//! - `shared FILE`: FILE mapped MAP_SHARED, readable and writable. Its
//!   pages are the file's pages in the page cache: a change to them is a
//!   change to FILE on disk.
//! - `private FILE`: FILE mapped MAP_PRIVATE, readable and writable. A
//!   change to a page copies it first (copy-on-write): FILE stays as it is.
//! - `shared-anonymous`: MAP_SHARED|MAP_ANONYMOUS memory, which a child
//!   forked later would share with us.
//! - `memfd`: a memfd (a file in memory, without a name on disk) mapped
//!   MAP_SHARED, as programs share memory with other processes.
//!
//! Exit status: 0 if the buffer is as it was after the write, 3 if it was
//! changed behind the program's back, 1 on an error. In the `shared` and
//! `private` modes a changed buffer is expected (a rewriter may rewrite a
//! private copy), so they exit 0 either way; the test looks at FILE.
//!
//! `int80-write` writes a line through the i386 ABI (`int 0x80`, call 4)
//! from a 64-bit process, from a buffer mapped below 4 GiB (the i386 ABI
//! passes 32-bit pointers).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitCode;

use super::write_raw;
#[cfg(target_arch = "x86_64")]
use crate::arch::{compat_syscall, compat_syscall_number};

/// What the modes without a file write.
const TEXT: &[u8] = b"from shared memory\n";

pub fn mapped_writes(mode: Option<&str>, path: Option<&str>) -> ExitCode {
    let result = match (mode, path) {
        (Some("shared"), Some(path)) => file_mapping(path, libc::MAP_SHARED),
        (Some("private"), Some(path)) => file_mapping(path, libc::MAP_PRIVATE),
        (Some("shared-anonymous"), None) => shared_anonymous().and_then(write_and_compare),
        (Some("memfd"), None) => memfd().and_then(write_and_compare),
        _ => {
            Err("usage: mapped-writes shared FILE | private FILE | shared-anonymous | memfd".into())
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("target: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A mapping of ours, unmapped when dropped.
struct Mapped {
    base: *mut u8,
    len: usize,
}

impl Mapped {
    fn bytes(&self) -> Vec<u8> {
        (0..self.len)
            // SAFETY: each index is inside the mapping, which is readable.
            // Volatile: the compiler can't assume the bytes are unchanged
            // across the write(2).
            .map(|i| unsafe { std::ptr::read_volatile(self.base.add(i)) })
            .collect()
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping this value made, no longer referred to.
        unsafe { libc::munmap(self.base.cast(), self.len.max(1)) };
    }
}

/// mmap(2) of `len` readable and writable bytes with `flags`, of `fd`.
fn map(len: usize, flags: libc::c_int, fd: libc::c_int) -> Result<Mapped, String> {
    // SAFETY: a fresh mapping; no memory of ours is touched.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len.max(1),
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(format!("mmap: {}", std::io::Error::last_os_error()));
    }
    Ok(Mapped {
        base: base.cast(),
        len,
    })
}

/// MAP_SHARED|MAP_ANONYMOUS memory holding TEXT.
fn shared_anonymous() -> Result<Mapped, String> {
    let mapped = map(TEXT.len(), libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1)?;
    // SAFETY: the mapping is writable and TEXT.len() long.
    unsafe { std::ptr::copy_nonoverlapping(TEXT.as_ptr(), mapped.base, TEXT.len()) };
    Ok(mapped)
}

/// A memfd holding TEXT, mapped MAP_SHARED. TEXT goes in through the
/// mapping, not with write(2), which a rewriting tracer would rewrite.
fn memfd() -> Result<Mapped, String> {
    let name = CString::new("mapped-writes").expect("no NUL");
    // SAFETY: memfd_create reads a NUL-terminated name.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a new descriptor that nothing else owns.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.set_len(TEXT.len() as u64)
        .map_err(|error| format!("ftruncate of the memfd: {error}"))?;
    // The mapping keeps the memfd alive after the descriptor is closed.
    let mapped = map(TEXT.len(), libc::MAP_SHARED, file.as_raw_fd())?;
    // SAFETY: the mapping is writable and TEXT.len() long.
    unsafe { std::ptr::copy_nonoverlapping(TEXT.as_ptr(), mapped.base, TEXT.len()) };
    Ok(mapped)
}

/// One write(2) of the whole mapping to stdout; exit 3 if it changed
/// behind the program's back (said on stderr too, which a rewriter may
/// rewrite: the exit status is what counts).
fn write_and_compare(mapped: Mapped) -> Result<ExitCode, String> {
    let before = mapped.bytes();
    let written = write_raw(libc::STDOUT_FILENO, mapped.base, mapped.len);
    if written != mapped.len as isize {
        return Err(format!("write returned {written}, not {}", mapped.len));
    }
    if mapped.bytes() == before {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("target: my shared buffer was changed behind my back");
        Ok(ExitCode::from(3))
    }
}

/// PATH mapped with `flags`, readable and writable, written to stdout whole.
fn file_mapping(path: &str, flags: libc::c_int) -> Result<ExitCode, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        // MAP_SHARED with PROT_WRITE needs the file open for writing;
        // MAP_PRIVATE does not (its changes never reach the file).
        .write(flags == libc::MAP_SHARED)
        .open(path)
        .map_err(|error| format!("{path}: {error}"))?;
    let len = file
        .metadata()
        .map_err(|error| format!("{path}: {error}"))?
        .len() as usize;
    if len == 0 {
        return Err(format!("{path} is empty: nothing to map"));
    }
    let mapped = map(len, flags, file.as_raw_fd())?;
    let written = write_raw(libc::STDOUT_FILENO, mapped.base, mapped.len);
    if written != len as isize {
        return Err(format!("write returned {written}, not {len}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// One line through `int 0x80`: the i386 ABI's write (call 4), with a
/// pointer that fits in ebx's 32 bits.
#[cfg(target_arch = "x86_64")]
pub fn int80_write() -> ExitCode {
    const LINE: &[u8] = b"written through int 0x80\n";
    let nr = compat_syscall_number("write").expect("i386 has write") as u32;
    let mapped = match map(
        LINE.len(),
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
        -1,
    ) {
        Ok(mapped) => mapped,
        Err(error) => {
            eprintln!("target: {error}");
            return ExitCode::FAILURE;
        }
    };
    // SAFETY: the mapping is writable and LINE.len() long.
    unsafe { std::ptr::copy_nonoverlapping(LINE.as_ptr(), mapped.base, LINE.len()) };
    let args = [1, mapped.base as u32, LINE.len() as u32, 0, 0];
    let written = compat_syscall(nr, args);
    if written == LINE.len() as i32 {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "target: write through int 0x80 returned {written}, not {}",
            LINE.len()
        );
        ExitCode::FAILURE
    }
}
