//! Mistake: the allow-list's default kills the process rather than
//! trapping. The program dies of SIGSYS either way, but nothing can catch
//! the signal, and `--print-filter` says KILL_PROCESS.
#![allow(unused_imports, unused_variables)]

use anyhow::{Context, Result};
use workbook::libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};

pub fn deny_list(trapped: &[ScmpSyscall]) -> Result<ScmpFilterContext> {
    let mut ctx = ScmpFilterContext::new(ScmpAction::Allow).context("seccomp_init")?;
    for &syscall in trapped {
        ctx.add_rule(ScmpAction::Trap, syscall)
            .with_context(|| format!("seccomp_rule_add(SCMP_ACT_TRAP, {syscall})"))?;
    }
    Ok(ctx)
}

pub fn allow_list(allowed: &[ScmpSyscall]) -> Result<ScmpFilterContext> {
    let mut ctx = ScmpFilterContext::new(ScmpAction::KillProcess).context("seccomp_init")?;
    for &syscall in allowed {
        ctx.add_rule(ScmpAction::Allow, syscall)
            .with_context(|| format!("seccomp_rule_add(SCMP_ACT_ALLOW, {syscall})"))?;
    }
    Ok(ctx)
}

pub fn echo_needs() -> Vec<&'static str> {
    vec![
        // The kernel starts the program, and the program ends.
        "execve",
        "exit_group",
        "exit",
        // ld.so: find and map libc, set up the thread.
        "access",
        "faccessat",
        "faccessat2",
        "openat",
        "open",
        "read",
        "pread64",
        "close",
        "fstat",
        "newfstatat",
        "statx",
        "mmap",
        "mprotect",
        "munmap",
        "brk",
        "arch_prctl",
        "set_tid_address",
        "set_robust_list",
        "rseq",
        "prlimit64",
        "getrandom",
        "futex",
        // echo: the locale files, and its line.
        "lseek",
        "ioctl",
        "write",
    ]
}
