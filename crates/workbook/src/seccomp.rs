//! Installing seccomp filters, and the filters the tracers share. Filters
//! are per thread and can never be removed: call these in a child process.

#[cfg(target_arch = "x86_64")]
use libc::BPF_JGE;
use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
use nix::errno::Errno;

#[cfg(target_arch = "x86_64")]
use crate::arch::{AUDIT_ARCH, X32_SYSCALL_BIT};
use crate::bpf::{bpf_jump, bpf_stmt, sock_filter};

/// Offsets into `struct seccomp_data`.
pub const NR: u32 = 0;
pub const ARCH: u32 = 4;

// ANCHOR: install
/// prctl(PR_SET_NO_NEW_PRIVS, 1): nothing this process executes may gain
/// privileges. Without it, only CAP_SYS_ADMIN may install a filter, since a
/// filter could otherwise trick a setuid program into misbehaving.
pub fn no_new_privs() -> Result<(), Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }).map(drop)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog): from now on every syscall
/// of this thread, and of the processes it starts, goes through `filter`.
pub fn install(filter: &[sock_filter]) -> Result<(), Errno> {
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `filter`, which outlives the call; the
    // kernel copies the program before returning.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        )
    };
    Errno::result(ret).map(drop)
}
// ANCHOR_END: install

/// `no_new_privs`, then `install`: for a program that becomes a command
/// under a filter someone wrote by hand (a lab's). An error names the
/// call; a program the kernel refuses gets the likely reasons.
pub fn install_explained(filter: &[sock_filter]) -> anyhow::Result<()> {
    use anyhow::Context;
    no_new_privs().context("prctl(PR_SET_NO_NEW_PRIVS)")?;
    install(filter).map_err(|errno| {
        let name = crate::names::errno_name(errno);
        match errno {
            Errno::EINVAL | Errno::EFAULT => anyhow::anyhow!(
                "seccomp(SECCOMP_SET_MODE_FILTER): {name}: the kernel refuses the program \
                 (a jump past its end, an instruction seccomp does not take, no ret at the end?)"
            ),
            _ => anyhow::anyhow!("seccomp(SECCOMP_SET_MODE_FILTER): {name}"),
        }
    })
}

// ANCHOR: listed
/// `ld [offset]` of seccomp_data.
pub fn load(offset: u32) -> sock_filter {
    bpf_stmt(BPF_LD | BPF_W | BPF_ABS, offset)
}

/// `ret #value`.
pub fn ret(value: u32) -> sock_filter {
    bpf_stmt(BPF_RET | BPF_K, value)
}

/// Kills the process unless the call comes through the x86_64 ABI without
/// the x32 bit; leaves the syscall number in A.
#[cfg(target_arch = "x86_64")]
pub fn native_abi_only() -> Vec<sock_filter> {
    vec![
        load(ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        load(NR),
        bpf_jump(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT as u32, 0, 1),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
    ]
}

/// Everything allowed: the cost of having a filter at all.
pub fn allow_all() -> Vec<sock_filter> {
    vec![ret(libc::SECCOMP_RET_ALLOW)]
}

/// `jeq #nr, listed` for each number, then `ret ALLOW`, then
/// `listed: ret verdict`. Jumps are 8 bits wide, so at most 255 numbers.
pub fn listed(numbers: &[u64], verdict: u32) -> Vec<sock_filter> {
    let n = numbers.len();
    assert!(n <= 255, "a jeq can jump at most 255 instructions ahead");
    let mut filter: Vec<sock_filter> = numbers
        .iter()
        .enumerate()
        .map(|(i, &nr)| bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, (n - i) as u8, 0))
        .collect();
    filter.push(ret(libc::SECCOMP_RET_ALLOW));
    filter.push(ret(verdict));
    filter
}
// ANCHOR_END: listed

mod per_abi;
pub use per_abi::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_all_is_one_instruction() {
        let raw: Vec<_> = allow_all()
            .iter()
            .map(|i| (i.code, i.jt, i.jf, i.k))
            .collect();
        assert_eq!(raw, [(0x06, 0, 0, 0x7fff_0000)]);
    }
}

// ANCHOR: lecture_dangerous
/// Our `sys_numbers[]` (the slide elides it): calls a sandboxed program has
/// no business making. By name: libseccomp finds each one's number on the
/// running architecture. Checked against Docker's default seccomp profile
/// (`default.json` of github.com/moby/profiles/seccomp v0.2.3, as vendored
/// by moby/moby commit 35797366d7cd, May 2026), which refuses a default
/// container each of these calls, or allows it only with a capability such
/// a container lacks; the few Docker allows are marked.
pub const LECTURE_DANGEROUS: &[&str] = &[
    // Mounting: mount(2) and umount2, then the new mount API (Linux 5.2;
    // mount_setattr 5.12), which does mount(2)'s job without it.
    "mount",
    "umount2",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "pivot_root",
    // Namespaces: a mount namespace of one's own, or someone else's.
    "unshare",
    "setns",
    // Tracing and reading other processes. (Docker allows the first three
    // on Linux 4.8 and later, where a tracer can no longer change a call
    // after seccomp has checked it.)
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "process_madvise",
    "kcmp",
    // Another kernel, kernel modules.
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    // io_uring: opens, reads, writes, connects as requests, not syscalls,
    // so no syscall filter sees them (Docker refuses it since 2023).
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    // The rest of Docker's CAP_SYS_ADMIN-only calls (but clone and clone3:
    // every thread and process is started with them).
    "bpf",
    "quotactl",
    "quotactl_fd",
    "sethostname",
    "setdomainname",
    "lookup_dcookie",
    "perf_event_open",
    "fanotify_init",
    "syslog",
    // Files by handle, raw I/O ports, swap, accounting.
    "open_by_handle_at",
    "iopl",
    "ioperm",
    "swapon",
    "swapoff",
    "acct",
    // Keyrings.
    "add_key",
    "request_key",
    "keyctl",
    // Obsolete: Docker refuses them.
    "sysfs",
    "_sysctl",
    "uselib",
    // Docker allows these (the clock read or tuned, the LDT, the old async
    // I/O, page tricks); no ordinary program run here needs them.
    "adjtimex",
    "clock_adjtime",
    "modify_ldt",
    "io_setup",
    "io_destroy",
    "io_getevents",
    "io_submit",
    "io_cancel",
    "remap_file_pages",
    "vmsplice",
    // NUMA memory policy (Docker: with CAP_SYS_NICE only).
    "mbind",
    "get_mempolicy",
    "set_mempolicy",
    "set_mempolicy_home_node",
    "migrate_pages",
    "move_pages",
];
// ANCHOR_END: lecture_dangerous

/// How many of `LECTURE_DANGEROUS` this architecture has: all 63 on
/// x86_64; arm64 lacks six (iopl, ioperm, sysfs, _sysctl, uselib,
/// modify_ldt), which the filters leave out.
pub fn lecture_dangerous_here() -> usize {
    LECTURE_DANGEROUS
        .iter()
        .filter(|name| crate::names::syscall_number(name).is_some())
        .count()
}

// ANCHOR: chain
/// `ld [0]`, then one pair per rule, `jeq #nr, 0, 1` and `ret verdict`
/// (a call that doesn't match jumps over its verdict), then `ret default`.
/// Every jump is short, so the chain may be as long as the kernel allows
/// (BPF_MAXINSNS, 4096 instructions); a call that matches no rule runs
/// through all of them.
pub fn chain(rules: &[(u64, u32)], default: u32) -> Vec<sock_filter> {
    let mut filter = vec![load(NR)];
    for &(nr, verdict) in rules {
        filter.push(bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1));
        filter.push(ret(verdict));
    }
    filter.push(ret(default));
    filter
}
// ANCHOR_END: chain

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn chain_jumps_over_each_verdict() {
        let filter = chain(
            &[
                (1000, libc::SECCOMP_RET_KILL_PROCESS),
                (110, libc::SECCOMP_RET_ALLOW),
            ],
            libc::SECCOMP_RET_ALLOW,
        );
        let raw: Vec<_> = filter.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect();
        assert_eq!(
            raw,
            [
                (0x20, 0, 0, 0),
                (0x15, 0, 1, 1000),
                (0x06, 0, 0, 0x8000_0000),
                (0x15, 0, 1, 110),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0x7fff_0000),
            ]
        );
    }

    #[test]
    fn the_lectures_list_has_63_calls_each_once() {
        assert_eq!(LECTURE_DANGEROUS.len(), 63);
        let mut names = LECTURE_DANGEROUS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            LECTURE_DANGEROUS.len(),
            "a name is listed twice"
        );
    }
}
