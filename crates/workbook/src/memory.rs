//! Reading a tracee's memory and showing it: one process_vm_readv per read,
//! and bytes escaped the way strace prints them; and what the tracee has
//! mapped where, from /proc/PID/maps.

use std::io::IoSliceMut;

use anyhow::{Context, Result};
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

use crate::gone::OrGone;

/// Up to `len` bytes at `addr` in `pid`; fewer when the range runs into
/// unmapped memory.
pub fn read_bytes(pid: Pid, addr: u64, len: usize) -> Result<Vec<u8>> {
    let mut buffer = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let read = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buffer)], &remote).or_gone(
        &format!("process_vm_readv of {len} bytes at {addr:#x}"),
        pid,
    )?;
    buffer.truncate(read);
    Ok(buffer)
}

/// Exactly `N` bytes at `addr` in `pid` (a word, say): an error, naming
/// the address, when fewer are there.
pub fn read_array<const N: usize>(pid: Pid, addr: u64) -> Result<[u8; N]> {
    let bytes = read_bytes(pid, addr, N)?;
    let got = bytes.len();
    bytes.try_into().map_err(|_| {
        anyhow::anyhow!("only {got} of {N} bytes at {addr:#x} in pid {pid} are mapped")
    })
}

/// A NUL-terminated string at `addr`, at most `max` bytes of it. Reads
/// page by page so that a string near the end of a mapping still reads.
pub fn read_c_string(pid: Pid, addr: u64, max: usize) -> Result<Vec<u8>> {
    const PAGE: u64 = 4096;
    let mut text = Vec::new();
    let mut at = addr;
    while text.len() < max {
        let chunk = ((PAGE - at % PAGE) as usize).min(max - text.len());
        let bytes = read_bytes(pid, at, chunk)?;
        if let Some(nul) = bytes.iter().position(|&b| b == 0) {
            text.extend_from_slice(&bytes[..nul]);
            return Ok(text);
        }
        if bytes.len() < chunk {
            text.extend_from_slice(&bytes);
            return Ok(text);
        }
        text.extend_from_slice(&bytes);
        at += chunk as u64;
    }
    Ok(text)
}

/// One line of /proc/PID/maps: `start-end perms offset dev inode path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// `r`, `w`, `x` or `-` each, then `p` (private) or `s` (shared).
    pub perms: String,
    /// Where in the file the mapping starts.
    pub offset: u64,
    /// The file's inode; 0 for memory that no file backs.
    pub inode: u64,
    /// The file, a name such as `[heap]` or `[stack]`, or empty.
    pub path: String,
}

impl Mapping {
    pub fn readable(&self) -> bool {
        self.perms.starts_with('r')
    }

    pub fn executable(&self) -> bool {
        self.perms.as_bytes().get(2) == Some(&b'x')
    }

    /// MAP_SHARED: the pages are not this process's own. They are a
    /// file's pages in the page cache (the file itself, for anyone who
    /// reads it), or memory other processes map too. A change to them is
    /// seen there.
    pub fn shared(&self) -> bool {
        self.perms.as_bytes().get(3) == Some(&b's')
    }

    /// Whether any byte of `start..end` lies in this mapping.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end
    }

    /// `start-end perms offset dev inode   path`, or `None` for a line
    /// that isn't one. The first five fields are separated by one space
    /// each; the path is the rest of the line after the padding, as it is:
    /// it may hold spaces (`/dev/zero (deleted)`) and end in one. The
    /// kernel writes a newline in it as `\012`, which stands for it again.
    pub fn parse(line: &str) -> Option<Mapping> {
        let mut fields = line.splitn(6, ' ');
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?.to_string();
        let offset = u64::from_str_radix(fields.next()?, 16).ok()?;
        let _device = fields.next()?;
        let inode = fields.next()?.parse().ok()?;
        let path = fields.next().unwrap_or_default().trim_start_matches(' ');
        Some(Mapping {
            start: u64::from_str_radix(start, 16).ok()?,
            end: u64::from_str_radix(end, 16).ok()?,
            perms,
            offset,
            inode,
            path: path.replace("\\012", "\n"),
        })
    }
}

/// What `pid` has mapped, in address order, as /proc/PID/maps lists it.
pub fn maps(pid: Pid) -> Result<Vec<Mapping>> {
    let path = format!("/proc/{pid}/maps");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // Not `lines()`, which would take a '\r' that ends a path for part of
    // the line ending.
    Ok(text.split('\n').filter_map(Mapping::parse).collect())
}

/// `"hello\n"...` as strace shows a buffer: escaped, quoted, and cut after
/// `cap` bytes with `...`.
pub fn quoted(bytes: &[u8], cap: usize) -> String {
    let mut out = String::from("\"");
    for &byte in bytes.iter().take(cap) {
        match byte {
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push('"');
    if bytes.len() > cap {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_and_caps() {
        assert_eq!(quoted(b"hi\n", 32), "\"hi\\n\"");
        assert_eq!(quoted(b"a\x01\"b", 32), "\"a\\x01\\\"b\"");
        assert_eq!(quoted(b"abcdef", 3), "\"abc\"...");
    }

    #[test]
    fn maps_lines_parse() {
        let shared = Mapping::parse(
            "7f8cb38f1000-7f8cb38f2000 rw-s 00000000 00:01 50919   /dev/zero (deleted)",
        )
        .unwrap();
        assert_eq!(
            (shared.start, shared.end),
            (0x7f8c_b38f_1000, 0x7f8c_b38f_2000)
        );
        assert!(shared.readable() && shared.shared());
        assert_eq!(
            (shared.inode, shared.path.as_str()),
            (50919, "/dev/zero (deleted)")
        );
        let anonymous = Mapping::parse("7f8cb2aa7000-7f8cb2bda000 rw-p 00000000 00:00 0 ").unwrap();
        assert!(!anonymous.shared());
        assert_eq!((anonymous.inode, anonymous.path.as_str()), (0, ""));
        assert!(anonymous.overlaps(0x7f8c_b2bd_9fff, 0x7f8c_b2bd_a001));
        assert!(!anonymous.overlaps(0x7f8c_b2bd_a000, 0x7f8c_b2bd_b000));
        assert!(Mapping::parse("not a mapping").is_none());
        let odd = Mapping::parse(
            "55d0c1a00000-55d0c1a01000 r-xp 00001000 fe:01 42     /tmp/odd  dir\\012name /prog ",
        )
        .unwrap();
        assert!(odd.executable() && odd.offset == 0x1000);
        assert_eq!(odd.path, "/tmp/odd  dir\nname /prog ");
    }

    #[test]
    fn our_own_maps_hold_our_stack() {
        let local = 0u8;
        let at = std::ptr::addr_of!(local) as u64;
        let maps = maps(Pid::this()).unwrap();
        let stack = maps.iter().find(|m| m.overlaps(at, at + 1)).unwrap();
        assert!(stack.readable() && !stack.shared(), "{stack:?}");
    }

    #[test]
    fn reads_a_word_whole_or_not_at_all() {
        let word: u64 = 0x0123_4567_89ab_cdef;
        let at = std::ptr::addr_of!(word) as u64;
        assert_eq!(
            read_array::<8>(Pid::this(), at).unwrap(),
            word.to_le_bytes()
        );
        // A word that runs off the end of a page with nothing after it.
        // SAFETY: a fresh anonymous mapping of two pages, the second then
        // unmapped; no memory of ours is touched.
        let page = unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                8192,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(base, libc::MAP_FAILED);
            libc::munmap(base.cast::<u8>().add(4096).cast(), 4096);
            base as u64
        };
        let error = read_array::<8>(Pid::this(), page + 4092).unwrap_err();
        assert!(error.to_string().contains("only 4 of 8 bytes"), "{error:#}");
        // SAFETY: the first page, mapped above and used by nothing else.
        unsafe { libc::munmap(page as *mut libc::c_void, 4096) };
    }

    #[test]
    fn reads_our_own_memory() {
        let text = b"from far away\0";
        let addr = text.as_ptr() as u64;
        assert_eq!(
            read_c_string(Pid::this(), addr, 64).unwrap(),
            b"from far away"
        );
        assert_eq!(read_bytes(Pid::this(), addr, 4).unwrap(), b"from");
    }
}
