//! What the dynamic loader (ld.so) does that a debugger must follow, as
//! gdb follows it: IFUNC symbols, whose implementation is chosen at run
//! time by a resolver function, and the libraries it maps while the
//! program runs (dlopen), announced through `_r_debug.r_brk`.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use workbook::arch;

/// Runs an IFUNC's resolver in the stopped thread `pid`, as gdb does (its
/// `elf_gnu_ifunc_resolve_addr` calls it "by hand"), and returns what it
/// returns: the implementation the program calls (`strlen` is
/// `__strlen_avx2` on one CPU, `__strlen_sse2` on another). Sound once
/// the loader has relocated the library and filled in the CPU features
/// the resolver reads: at the entry point, not before.
///
/// `return_to` is an address where an int3 of ours stands (the entry
/// point's): the resolver returns there, and the trap gives the thread
/// back. Its registers and signal mask are put back as they were; while
/// it runs, every signal is blocked (PTRACE_SETSIGMASK) and waits.
pub fn call_resolver(pid: Pid, resolver: u64, return_to: u64) -> Result<u64> {
    let saved = arch::read_regs(pid)?;
    let mask = sigmask(pid, libc::PTRACE_GETSIGMASK, u64::MAX)?;
    let result = call(pid, saved, resolver, return_to);
    // Put back even after a failed call, unless the thread is gone.
    let restored = arch::write_regs(pid, saved).and_then(|()| {
        sigmask(pid, libc::PTRACE_SETSIGMASK, mask)?;
        Ok(())
    });
    let value = result?;
    restored?;
    Ok(value)
}

fn call(pid: Pid, saved: arch::Regs, resolver: u64, return_to: u64) -> Result<u64> {
    // Below the red zone (128 bytes), 16-aligned before the call pushes
    // its return address, as the ABI wants at a function's first
    // instruction (rsp + 8 a multiple of 16).
    let rsp = ((saved.rsp - 512) & !0xf) - 8;
    ptrace::write(pid, rsp as ptrace::AddressType, return_to as i64)
        .with_context(|| format!("PTRACE_POKEDATA the return address at {rsp:#x} in pid {pid}"))?;
    let mut regs = saved;
    regs.rsp = rsp;
    regs.rip = resolver;
    // glibc's x86_64 resolvers take no argument; gdb passes AT_HWCAP, which
    // other architectures' read. rax 0: no vector registers in a varargs call.
    regs.rdi = 0;
    regs.rax = 0;
    // The kernel would restart an interrupted syscall at rip - 2.
    regs.orig_rax = u64::MAX;
    arch::write_regs(pid, regs)?;
    ptrace::cont(pid, None).with_context(|| format!("PTRACE_CONT pid {pid}"))?;
    match waitpid(pid, Some(WaitPidFlag::__WALL))
        .with_context(|| format!("waitpid for pid {pid}"))?
    {
        WaitStatus::Stopped(_, nix::sys::signal::Signal::SIGTRAP) => {}
        WaitStatus::Stopped(_, signal) => {
            bail!("pid {pid} got {signal} in the IFUNC resolver at {resolver:#x}")
        }
        other => bail!("pid {pid} ended in the IFUNC resolver at {resolver:#x}: {other:?}"),
    }
    let after = arch::read_regs(pid)?;
    if after.rip != return_to + 1 {
        bail!(
            "pid {pid} stopped at {:#x} in the IFUNC resolver at {resolver:#x}, not on its return",
            after.rip
        );
    }
    Ok(after.rax)
}

/// PTRACE_GETSIGMASK (returns the mask) or PTRACE_SETSIGMASK (sets `mask`).
fn sigmask(pid: Pid, request: libc::c_uint, mask: u64) -> Result<u64> {
    let mut mask = mask;
    // SAFETY: the kernel reads or writes one 8-byte sigset at `&mut mask`,
    // a local that outlives the call.
    let ret = unsafe {
        libc::ptrace(
            request,
            pid.as_raw(),
            std::mem::size_of::<u64>(),
            std::ptr::from_mut(&mut mask),
        )
    };
    Errno::result(ret).with_context(|| format!("PTRACE_GET/SETSIGMASK on pid {pid}"))?;
    Ok(mask)
}
