//! Lab: a tracer that answers a call itself, with PTRACE_SYSEMU (chapter
//! syscall-overhead).
//!
//! Under PTRACE_SYSCALL a tracee stops twice a call, and the kernel runs
//! the call in between. PTRACE_SYSEMU (`ptrace(PTRACE_SYSEMU, pid, 0,
//! sig)`, x86, and arm64 since Linux 5.3) restarts the tracee like
//! PTRACE_SYSCALL, but the next stop is a call's entry and the kernel will
//! not run that call: whatever the tracer leaves in the return register at
//! that stop is what the call returns. There is no exit stop: one stop a
//! call. User-Mode Linux and gVisor's ptrace platform run programs this
//! way, answering every call.
//!
//! Write the loop that answers getppid. `main.rs` gives the rest: the
//! target traced up to its first getppid, the call that ends your loop run
//! for real, and the table with your row. Run it with
//! `cargo run --release -p lab-syscall-overhead`, or alone on a small
//! target with `cargo run -p lab-syscall-overhead -- --emulate 12345`, and
//! check it with `scripts/labs check syscall-overhead`.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Context, Result};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::arch::{read_regs, set_return_value, syscall_number, write_regs};
use workbook::signal::ptrace_sysemu;
use workbook::{wait_for, Stop};

/// Emulates the target's getppid calls: each returns `value`, and the
/// kernel runs none of them.
///
/// `pid` is stopped at the exit of its first getppid (PTRACE_SYSCALL got
/// it there, with PTRACE_O_TRACESYSGOOD set). Restart it with
/// PTRACE_SYSEMU (`ptrace_sysemu(pid, signal)`) and wait for it
/// (`wait_for(pid, WaitPidFlag::__WALL)`), again and again:
///
/// - at a syscall-entry stop of getppid (`Stop::SyscallEnter { nr, .. }`,
///   `libc::SYS_getppid`): put `value` where the call's result goes
///   (`read_regs`, `set_return_value`, `write_regs`), count it, restart;
/// - at a signal-delivery-stop: restart passing the signal on;
/// - at the entry of any other call: stop emulating. Return how many
///   getppid calls you answered, leaving the target stopped where it is
///   (`main.rs` then makes that call run for real);
/// - if the target is gone (`Stop::Exited`, `Stop::Killed`), that is an
///   error (`bail!`): it made no other call.
pub fn emulate_getppid(pid: Pid, value: u64) -> Result<u64> {
    todo!("PTRACE_SYSEMU, wait; at getppid's entry set the result and go on")
}
