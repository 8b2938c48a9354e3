//! Reading a tracee's memory and showing it: one process_vm_readv per read,
//! and bytes escaped the way strace prints them.

use std::io::IoSliceMut;

use anyhow::{Context, Result};
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

/// Up to `len` bytes at `addr` in `pid`; fewer when the range runs into
/// unmapped memory.
pub fn read_bytes(pid: Pid, addr: u64, len: usize) -> Result<Vec<u8>> {
    let mut buffer = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let read = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buffer)], &remote)
        .with_context(|| format!("process_vm_readv of {len} bytes at {addr:#x} in pid {pid}"))?;
    buffer.truncate(read);
    Ok(buffer)
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
