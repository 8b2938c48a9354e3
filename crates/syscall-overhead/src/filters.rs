//! The filters of the seccomp rows: the lecture's, a long chain of checks,
//! the same behind a load of an argument, and libseccomp's.

use anyhow::{Context, Result};
use workbook::bpf::sock_filter;
use workbook::libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};
use workbook::seccomp::{self, listed, load, LECTURE_DANGEROUS, NR};

// ANCHOR: filters
/// The lecture's filter: `ld [0]`, a `jeq` for each of open_by_handle_at,
/// delete_module, get_mempolicy and move_pages, `ret ALLOW`, `ret KILL`.
pub fn lecture_filter() -> Vec<sock_filter> {
    let forbidden = [
        libc::SYS_open_by_handle_at,
        libc::SYS_delete_module,
        libc::SYS_get_mempolicy,
        libc::SYS_move_pages,
    ];
    let numbers: Vec<u64> = forbidden.iter().map(|&nr| nr as u64).collect();
    let mut filter = vec![load(NR)];
    filter.extend(listed(&numbers, libc::SECCOMP_RET_KILL_PROCESS));
    filter
}

/// 299 numbers that are no syscall at all (x86_64 and arm64 have fewer
/// than 500):
/// rules that never match anything the target does, only cost time.
pub fn decoys() -> Vec<u64> {
    (1000..1299).collect()
}

/// 300 checks one after the other: a `jeq` and a `ret KILL` for each
/// decoy, then getppid's own `jeq`, whose verdict is ALLOW, and `ret ALLOW`
/// for everything else. getppid is compared with all 300 numbers before
/// it gets through: 601 instructions run for each call.
pub fn long_chain() -> Vec<sock_filter> {
    let mut rules: Vec<(u64, u32)> = decoys()
        .into_iter()
        .map(|nr| (nr, libc::SECCOMP_RET_KILL_PROCESS))
        .collect();
    rules.push((libc::SYS_getppid as u64, libc::SECCOMP_RET_ALLOW));
    seccomp::chain(&rules, libc::SECCOMP_RET_ALLOW)
}

/// `ld [16]` (the low half of the first argument) in front of `filter`,
/// which loads what it needs itself. Since Linux 5.11 the kernel runs a new
/// filter once per syscall number at install time, and where the verdict
/// can only be ALLOW (the filter reads nothing but `nr` and `arch`) it
/// remembers that in a bitmap and never runs the filter for that call
/// again. A filter that reads an argument can't be answered in advance:
/// it runs, instruction by instruction, at every call.
pub fn reading_an_argument(filter: Vec<sock_filter>) -> Vec<sock_filter> {
    let mut program = vec![load(ARG0)];
    program.extend(filter);
    program
}

/// Offset of `args[0]` in `struct seccomp_data`.
const ARG0: u32 = 16;

/// The lecture's 63 dangerous calls, as seccomp-lib resolves them: those
/// this architecture lacks (arm64 has no iopl, ioperm, sysfs, _sysctl,
/// uselib nor modify_ldt) resolve to a negative pseudo-number, and are
/// left out, as seccomp-lib skips them.
pub fn lecture_numbers() -> Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for name in LECTURE_DANGEROUS {
        let syscall = ScmpSyscall::from_name(name)
            .with_context(|| format!("seccomp_syscall_resolve_name({name})"))?;
        if let Ok(nr) = u64::try_from(syscall.as_raw_syscall()) {
            numbers.push(nr);
        }
    }
    Ok(numbers)
}

/// A libseccomp filter: ALLOW by default, `action` for each number.
/// `optimize` is SCMP_FLTATR_CTL_OPTIMIZE: 1 checks the rules one after
/// the other (the default), 2 as a binary tree of syscall numbers.
pub fn libseccomp_filter(
    numbers: &[u64],
    action: ScmpAction,
    optimize: u32,
) -> Result<ScmpFilterContext> {
    let mut ctx = ScmpFilterContext::new(ScmpAction::Allow).context("seccomp_init")?;
    ctx.set_ctl_optimize(optimize)
        .with_context(|| format!("seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, {optimize})"))?;
    for &nr in numbers {
        let syscall = ScmpSyscall::from(i32::try_from(nr).context("a syscall number")?);
        ctx.add_rule(action, syscall)
            .with_context(|| format!("seccomp_rule_add({action:?}, {nr})"))?;
    }
    Ok(ctx)
}
// ANCHOR_END: filters
