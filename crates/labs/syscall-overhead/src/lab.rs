//! Lab: the two ways to watch syscalls, and a fast read (chapter
//! syscall-overhead).
//!
//! Write the tracer loops of two rows of the table: PTRACE_SYSCALL, which
//! stops the target at every call, and SECCOMP_RET_TRACE, where a filter
//! decides which calls stop it; and the one-call read of the tracee's
//! memory. The rest (the target, the filters, the timing, the tables) is
//! given in `main.rs`; run your version with
//! `cargo run --release -p lab-syscall-overhead`, and check it with
//! `scripts/labs check syscall-overhead`.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Context, Result};
use nix::sys::ptrace;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::stop::Event;
use workbook::targets::overhead::BUFFER_LEN;
use workbook::{ptrace_cont, ptrace_syscall, wait_for, Stop};

/// The tracer of the row "ptrace: PTRACE_SYSCALL, 2 stops a call": the
/// traced target `pid` is stopped (after the start-up handshake, with
/// PTRACE_O_TRACESYSGOOD and PTRACE_O_TRACEEXEC set). Restart it with
/// `ptrace(PTRACE_SYSCALL, pid, 0, 0)`, then loop: `waitpid(pid, &status,
/// __WALL)` (`wait_for(pid, WaitPidFlag::__WALL)`), and restart it with
/// PTRACE_SYSCALL (`ptrace_syscall(pid, signal)`), passing a
/// signal-delivery-stop's signal on and nothing else.
///
/// Count the syscall stops (`Stop::SyscallEnter` and `Stop::SyscallExit`):
/// two for every call. When the target is gone (`Stop::Exited` or
/// `Stop::Killed`), return that stop and the count; `main.rs` checks that
/// there were at least two per getppid call.
pub fn syscall_stops(pid: Pid) -> Result<(Stop, u64)> {
    todo!("PTRACE_SYSCALL, then waitpid and PTRACE_SYSCALL until the target is gone")
}

/// The tracer of the row "ptrace: SECCOMP_RET_TRACE, no stops": the target
/// `pid` is stopped as above, with PTRACE_O_TRACESECCOMP set, and runs under
/// a filter that returns SECCOMP_RET_TRACE for reboot(2) only. Restart it
/// with `ptrace(PTRACE_CONT, pid, 0, 0)`, then loop: wait (`__WALL`), and
/// restart with PTRACE_CONT (`ptrace_cont(pid, signal)`), passing a
/// signal-delivery-stop's signal on.
///
/// Count the seccomp stops (`Stop::Event(Event::Seccomp { .. })`), and
/// nothing else; the target never calls reboot, so there should be none.
/// When the target is gone, return that stop and the count.
pub fn seccomp_stops(pid: Pid) -> Result<(Stop, u64)> {
    todo!("PTRACE_CONT, then waitpid and PTRACE_CONT until the target is gone")
}

/// Read `BUFFER_LEN` bytes at `address` of the stopped process `pid` with
/// `process_vm_readv(pid, local_iov, 1, remote_iov, 1, 0)`: one call moves
/// them all (`nix::sys::uio::process_vm_readv` with one `IoSliceMut` over
/// your buffer and one `RemoteIoVec { base, len }`). It may return fewer
/// bytes than asked: read on from there until you have them all. A call
/// that reads nothing is an error (`bail!`), not a reason to loop for ever.
pub fn vm_readv(pid: Pid, address: u64) -> Result<Vec<u8>> {
    todo!("process_vm_readv, until BUFFER_LEN bytes are read")
}
