//! Lab: rules that look at a call's arguments (chapter seccomp-lib).
//!
//! The demo's rules name a call, and every use of it traps. Here a rule
//! also compares the call's arguments, so one call is allowed or refused by
//! what it asks for: a command may open files to read them but not to
//! write, create or truncate them, and may make AF_UNIX sockets but no
//! network ones. `main.rs` makes the context (`ScmpFilterContext::new(
//! ScmpAction::Allow)`: what no rule matches runs), calls your two
//! functions, loads the filter and becomes the command. Try it with
//! `cargo run -p lab-seccomp-lib -- --print-filter` and
//! `cargo run -p lab-seccomp-lib -- --errno EROFS touch /tmp/x`, and check
//! it with `scripts/labs check seccomp-lib`.
#![allow(unused_imports, unused_variables)]

use anyhow::{Context, Result};
use workbook::libseccomp::{
    ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};

/// Adds to `ctx` the rules that keep files read-only: an open that asks to
/// write (`O_WRONLY` or `O_RDWR` in its access mode), to create
/// (`O_CREAT`) or to truncate (`O_TRUNC`) fails with `errno`
/// (`ScmpAction::Errno(errno)`, seccomp's `SCMP_ACT_ERRNO`), whatever
/// other flags it carries (`O_CLOEXEC`, `O_APPEND`, `O_NONBLOCK`...); a
/// read-only open runs as before.
///
/// Every way in: `openat` (its flags are argument 2), `open` (argument 1),
/// and `creat`, which always creates. `openat2` keeps its flags in a struct
/// in the caller's memory, which a seccomp filter can't read: make it fail
/// with `ENOSYS` whatever it asks, as if the kernel were too old to have
/// it, so that libc and programs fall back to `openat`, whose flags the
/// filter sees.
///
/// The calls: `seccomp_rule_add(ctx, action, nr, count, SCMP_A2(...))`, in
/// the crate `ctx.add_rule_conditional(action, syscall, &[ScmpArgCompare])`
/// (or `add_rule` with no comparison); `ScmpSyscall::from_name`;
/// `ScmpArgCompare::new(arg, op, datum)` with an `ScmpCompareOp`. Mind
/// that the comparisons of one rule must all hold for it to match (AND),
/// while the rules of one call are tried each on its own (OR). Errors name
/// the libseccomp call (`.context`).
pub fn refuse_writing(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    todo!("rules on openat's and open's flags (writing, O_CREAT, O_TRUNC), creat, openat2")
}

/// Adds to `ctx` the rule that keeps the command off the network:
/// `socket` fails with `errno` for every domain (argument 0) but
/// `AF_UNIX`, so that `AF_INET` and `AF_INET6` (and `AF_NETLINK`,
/// `AF_PACKET`, and whatever families a later kernel adds) are refused,
/// and a local socket is made as before. Think allow-list: name what may
/// pass, not every family that may not.
pub fn refuse_network(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    todo!("one rule on socket's domain")
}
