//! Lab: a deny-list with two holes closed (chapter escapes). The
//! reference solution.
#![allow(unused_imports, unused_variables, dead_code)]

use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W};
use workbook::arch::AUDIT_ARCH;
#[cfg(target_arch = "x86_64")]
use workbook::arch::X32_SYSCALL_BIT;
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::seccomp::{load, ret, ARCH, NR};

pub const NEW_NAMESPACES: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

/// The low half of the first argument, in `struct seccomp_data`.
const FIRST_ARGUMENT: u32 = 16;

/// Mounting, old and new, and joining a namespace.
const ALWAYS_REFUSED: [i64; 9] = [
    libc::SYS_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_setns,
];

pub fn closed(errno: u16) -> Vec<sock_filter> {
    let refused = libc::SECCOMP_RET_ERRNO | u32::from(errno);
    let no_such_call = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    let jeq = |nr: i64, jt: u8, jf: u8| bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, jt, jf);
    let jset = |mask: u32, jt: u8, jf: u8| bpf_jump(BPF_JMP | BPF_JSET | BPF_K, mask, jt, jf);
    let mut filter = vec![
        load(ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        load(NR),
    ];
    // x86_64's x32 numbers: ENOSYS.
    #[cfg(target_arch = "x86_64")]
    filter.extend([
        bpf_jump(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT as u32, 0, 1),
        ret(no_such_call),
    ]);
    filter.extend([jeq(libc::SYS_clone3, 0, 1), ret(no_such_call)]);
    // The end: six instructions of flag checks, `ret ALLOW`, `ret errno`.
    // The i-th of n refused calls jumps over the rest, the six and ALLOW.
    let n = ALWAYS_REFUSED.len();
    for (i, &nr) in ALWAYS_REFUSED.iter().enumerate() {
        filter.push(jeq(nr, (n - 1 - i + 7) as u8, 0));
    }
    let unshare_mask = NEW_NAMESPACES | libc::CLONE_NEWTIME as u32;
    filter.extend([
        jeq(libc::SYS_clone, 0, 2),
        load(FIRST_ARGUMENT),
        jset(NEW_NAMESPACES, 4, 3),
        // Not clone: A still holds the number.
        jeq(libc::SYS_unshare, 0, 2),
        load(FIRST_ARGUMENT),
        jset(unshare_mask, 1, 0),
        ret(libc::SECCOMP_RET_ALLOW),
        ret(refused),
    ]);
    filter
}
