//! Lab: a deny-list and an allow-list with libseccomp (chapter seccomp-lib).
//!
//! Write the lecture's policy (allow everything, trap a list of calls), its
//! opposite (trap everything but a list), and the list of calls `echo`
//! needs. The rest (resolving the names, seccomp_load, execvp) is given in
//! `main.rs`; run your version with `cargo run -p lab-seccomp-lib -- echo
//! hello` (the deny-list) or `cargo run -p lab-seccomp-lib -- --allow-list
//! echo hello`, and check it with `scripts/labs check seccomp-lib`.
#![allow(unused_imports, unused_variables)]

use anyhow::{Context, Result};
use workbook::libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};

/// The lecture's seccomp_lib policy: `seccomp_init(SCMP_ACT_ALLOW)`
/// (`ScmpFilterContext::new(ScmpAction::Allow)`), then for each of
/// `trapped` `seccomp_rule_add(ctx, SCMP_ACT_TRAP, nr, 0)`
/// (`ctx.add_rule(ScmpAction::Trap, syscall)`). A trapped call is not made:
/// the thread gets SIGSYS. Errors name the libseccomp call (`.context`).
pub fn deny_list(trapped: &[ScmpSyscall]) -> Result<ScmpFilterContext> {
    todo!("seccomp_init(SCMP_ACT_ALLOW), seccomp_rule_add(SCMP_ACT_TRAP) for each call")
}

/// The opposite, the safer kind of policy: every call traps
/// (`seccomp_init(SCMP_ACT_TRAP)`) except the calls in `allowed`, which are
/// allowed (`seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)`). A call nobody
/// thought of is refused, rather than let through.
pub fn allow_list(allowed: &[ScmpSyscall]) -> Result<ScmpFilterContext> {
    todo!("seccomp_init(SCMP_ACT_TRAP), seccomp_rule_add(SCMP_ACT_ALLOW) for each call")
}

/// The syscalls, by name, that `/bin/echo hello` and `/bin/true` make,
/// from the `execve` that starts them to their `exit_group`: under
/// `allow_list` of these, both run as usual. Find them with strace
/// (`strace -f /bin/echo hello`, or `strace -c -f`), and list each call
/// once. The loader and libc make most of them: a few names differ between
/// libc versions (`newfstatat` or `fstat`, `openat` or `open`), and you may
/// list both. Nothing else: no call of the lecture's dangerous list, no
/// `mount`; the tests check that `--allow-list --demo` still traps.
///
/// `main.rs` loads the filter and then, still under it, writes one line
/// to stderr and calls `execvp`: those calls must be on the list too.
pub fn echo_needs() -> Vec<&'static str> {
    todo!("the calls strace shows for /bin/echo hello and /bin/true")
}
