//! Lab: rules that look at a call's arguments (chapter seccomp-lib).
//! The reference solution.
#![allow(unused_imports, unused_variables)]

use anyhow::{Context, Result};
use workbook::libseccomp::{
    ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};

/// The flags that make an open more than a read, as (mask, value) pairs
/// for SCMP_CMP_MASKED_EQ: `flags & mask == value`. Each is a rule of its
/// own, since the comparisons of one rule must all hold.
const WRITING: [(i32, i32); 4] = [
    (libc::O_ACCMODE, libc::O_WRONLY),
    (libc::O_ACCMODE, libc::O_RDWR),
    (libc::O_CREAT, libc::O_CREAT),
    (libc::O_TRUNC, libc::O_TRUNC),
];

fn syscall(name: &str) -> Result<ScmpSyscall> {
    ScmpSyscall::from_name(name).with_context(|| format!("seccomp_syscall_resolve_name({name})"))
}

pub fn refuse_writing(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    let refused = ScmpAction::Errno(errno);
    for (name, flags_arg) in [("openat", 2), ("open", 1)] {
        let call = syscall(name)?;
        for (mask, value) in WRITING {
            let flags = ScmpArgCompare::new(
                flags_arg,
                ScmpCompareOp::MaskedEqual(mask as u64),
                value as u64,
            );
            ctx.add_rule_conditional(refused, call, &[flags])
                .with_context(|| {
                    format!("seccomp_rule_add({name}, flags & {mask:#o} == {value:#o})")
                })?;
        }
    }
    ctx.add_rule(refused, syscall("creat")?)
        .context("seccomp_rule_add(creat)")?;
    // openat2's flags are in memory the filter can't read: "no such call".
    ctx.add_rule(ScmpAction::Errno(libc::ENOSYS), syscall("openat2")?)
        .context("seccomp_rule_add(openat2)")?;
    Ok(())
}

pub fn refuse_network(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    let not_local = ScmpArgCompare::new(0, ScmpCompareOp::NotEqual, libc::AF_UNIX as u64);
    ctx.add_rule_conditional(ScmpAction::Errno(errno), syscall("socket")?, &[not_local])
        .context("seccomp_rule_add(socket, domain != AF_UNIX)")?;
    Ok(())
}
