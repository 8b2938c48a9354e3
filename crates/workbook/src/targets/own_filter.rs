//! A program with a seccomp filter of its own that returns
//! SECCOMP_RET_TRACE: it asks for a tracer that understands its data
//! value, as a sandbox's supervisor would. Without one (no tracer, or a
//! tracer that did not set PTRACE_O_TRACESECCOMP) the kernel fails each
//! such call with ENOSYS.

use std::process::ExitCode;

use libc::{BPF_JEQ, BPF_JMP, BPF_K};

use crate::arch::AUDIT_ARCH;
use crate::bpf::bpf_jump;
use crate::names::errno_name;
use crate::seccomp::{install, listed, load, no_new_privs, ret, ARCH, NR};

/// The data value of this program's own RET_TRACE: any tracer's stop for
/// it carries this value in PTRACE_GETEVENTMSG.
pub const OWN_TRACE_DATA: u16 = 0x1234;

/// Installs a filter returning SECCOMP_RET_TRACE | 0x1234 for getppid and
/// uname (x86_64 numbers; every other ABI is allowed), then makes both
/// calls and prints what each returned.
pub fn own_filter() -> ExitCode {
    let traced = [libc::SYS_getppid as u64, libc::SYS_uname as u64];
    let mut filter = vec![
        load(ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        ret(libc::SECCOMP_RET_ALLOW),
        load(NR),
    ];
    filter.extend(listed(
        &traced,
        libc::SECCOMP_RET_TRACE | u32::from(OWN_TRACE_DATA),
    ));
    if let Err(errno) = no_new_privs().and_then(|()| install(&filter)) {
        eprintln!("target: installing my own seccomp filter: {errno}");
        return ExitCode::FAILURE;
    }
    println!(
        "target: my own filter returns SECCOMP_RET_TRACE|{OWN_TRACE_DATA:#x} for getppid and uname"
    );
    // What a call returned, read at once: the next call overwrites errno.
    let answer = |result: libc::c_long| {
        if result < 0 {
            errno_name(nix::errno::Errno::last())
        } else {
            "ok".to_string()
        }
    };
    // SAFETY: getppid takes no arguments.
    let getppid = answer(unsafe { libc::syscall(libc::SYS_getppid) });
    let mut name = std::mem::MaybeUninit::<libc::utsname>::uninit();
    // SAFETY: uname writes one struct utsname into `name`, which is that
    // big; nothing reads it afterwards.
    let uname = answer(unsafe { libc::syscall(libc::SYS_uname, name.as_mut_ptr()) });
    println!("target: getppid: {getppid}");
    println!("target: uname: {uname}");
    ExitCode::SUCCESS
}
