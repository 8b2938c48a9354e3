//! Lab: gdb's `finish` at every call (chapter breakpoint). The reference
//! solution.
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{Context, Result};
use breakpoint::int3;
use nix::sys::ptrace::{self, AddressType};
use nix::unistd::Pid;
use workbook::arch;
use workbook::gone::OrGone;

/// A one-shot breakpoint at a return address: where it is, and the byte
/// its 0xCC replaced.
pub struct ReturnBreakpoint {
    pub address: u64,
    pub original: int3::Original,
}

/// At the entry, before the function's first instruction has run, the
/// return address is where the call instruction left it: plant an int3
/// there.
pub fn at_entry(pid: Pid) -> Result<ReturnBreakpoint> {
    let regs = arch::read_regs(pid)?;
    let return_address = return_address(pid, &regs)?;
    let planted = int3::plant(pid, return_address)?;
    Ok(ReturnBreakpoint {
        address: return_address,
        original: planted.original,
    })
}

/// x86_64: `call` pushed the return address, and rsp points at it:
/// PTRACE_PEEKDATA it.
#[cfg(target_arch = "x86_64")]
fn return_address(pid: Pid, regs: &arch::Regs) -> Result<u64> {
    let stack_top = regs.rsp;
    let word = ptrace::read(pid, stack_top as AddressType)
        .or_gone(&format!("PTRACE_PEEKDATA at rsp {stack_top:#x}"), pid)?;
    Ok(word as u64)
}

/// arm64: `bl` put the return address in the link register, x30, and
/// nothing is on the stack yet.
#[cfg(target_arch = "aarch64")]
fn return_address(pid: Pid, regs: &arch::Regs) -> Result<u64> {
    Ok(regs.general.regs[30])
}

/// Back in the caller, at the int3: the result is in the register the
/// calling convention names. The original byte back, and the instruction
/// pointer back onto it, so that the caller's instruction runs whole and
/// the int3 is never hit again.
pub fn at_return(pid: Pid, planted: &ReturnBreakpoint) -> Result<u64> {
    let regs = arch::read_regs(pid)?;
    let result = integer_result(&regs);
    int3::unplant(pid, planted.address, planted.original)?;
    int3::rewind(pid)?;
    Ok(result)
}

/// x86_64 (System V): an integer result is in rax.
#[cfg(target_arch = "x86_64")]
fn integer_result(regs: &arch::Regs) -> u64 {
    regs.rax
}

/// arm64 (AAPCS64): an integer result is in x0, where the first argument
/// came in.
#[cfg(target_arch = "aarch64")]
fn integer_result(regs: &arch::Regs) -> u64 {
    regs.general.regs[0]
}
