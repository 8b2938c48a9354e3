//! Lab: a deny-list with two holes closed (chapter escapes).
//!
//! The escapes table shows a filter that refuses `mount` letting the new
//! mount API mount anyway, and a watcher that refuses `clone` letting
//! `clone3` make the same child. Here you write a seccomp filter that
//! keeps a program out of new mounts and new namespaces, and closes both
//! holes. The rest (the errno's name, the install, the exec) is given in
//! `main.rs`; print your filter with `cargo run -p lab-escapes`, run a
//! command under it with `cargo run -p lab-escapes -- --errno EACCES --
//! CMD ARGS`, and check it with `scripts/labs check escapes`.
#![allow(unused_imports, unused_variables, dead_code)]

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W};
use workbook::arch::AUDIT_ARCH;
// x86_64's alone: arm64 has no x32 ABI.
#[cfg(target_arch = "x86_64")]
use workbook::arch::X32_SYSCALL_BIT;
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

/// The flags of clone(2) that make a new namespace. CLONE_NEWTIME
/// (0x80) is not among them: in clone(2)'s first argument the low byte is
/// the exit signal, so only clone3(2) and unshare(2) take CLONE_NEWTIME.
pub const NEW_NAMESPACES: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

/// A seccomp filter that lets a program run as before but
/// mount nothing and make or join no namespace, whichever call it tries:
///
/// - a call whose `arch` is not `AUDIT_ARCH` kills the process
///   (`SECCOMP_RET_KILL_PROCESS`), and on x86_64 a number with the x32
///   bit (`X32_SYSCALL_BIT`) or above fails with ENOSYS, as in the
///   seccomp-filter chapter's `--hardened` (arm64 has no x32 ABI:
///   `#[cfg(target_arch = "x86_64")]` keeps that check x86_64's);
/// - `mount` fails with `errno` (`SECCOMP_RET_ERRNO | errno`), and so does
///   every call of the new mount API, which does mount's job without it:
///   `fsopen`, `fsconfig`, `fsmount`, `fspick`, `move_mount`, `open_tree`
///   and `mount_setattr`;
/// - `clone` and `unshare` fail with `errno` when their first argument has
///   a namespace flag (`NEW_NAMESPACES`; for `unshare` also
///   `libc::CLONE_NEWTIME`), and run otherwise: every thread and process
///   is made with `clone`; `setns`, which joins a namespace, fails with
///   `errno` always;
/// - `clone3` fails with ENOSYS: its flags are in memory, which a filter
///   can't read, and ENOSYS (not `errno`) is what makes the C library fall
///   back to `clone`, whose flags the filter checks;
/// - every other call is allowed (`SECCOMP_RET_ALLOW`).
///
/// `load(offset)` loads a 32-bit word of `struct seccomp_data`: `nr` is at
/// 0 (`NR`), `arch` at 4 (`ARCH`), the instruction pointer at 8, and the
/// six arguments from 16 on, 8 bytes each, their low half first (x86_64
/// and arm64 are little-endian). `bpf_jump(BPF_JMP | BPF_JSET | BPF_K, mask, jt, jf)`
/// takes `jt` when `A & mask` is not 0. Jumps go forward only, by at most
/// 255 instructions.
pub fn closed(errno: u16) -> Vec<sock_filter> {
    todo!("the arch and the x32 bit, the mount calls, clone3, and clone's and unshare's flags")
}
