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

/// At the entry, before the function's first instruction has run, rsp
/// points at the return address that `call` pushed: PTRACE_PEEKDATA it,
/// and plant an int3 there.
pub fn at_entry(pid: Pid) -> Result<ReturnBreakpoint> {
    let regs = arch::read_regs(pid)?;
    let stack_top = regs.rsp;
    let return_address = ptrace::read(pid, stack_top as AddressType)
        .or_gone(&format!("PTRACE_PEEKDATA at rsp {stack_top:#x}"), pid)?
        as u64;
    let planted = int3::plant(pid, return_address)?;
    Ok(ReturnBreakpoint {
        address: return_address,
        original: planted.original,
    })
}

/// Back in the caller, one byte past the int3: rax is the result. The
/// original byte back, and rip back onto it, so that the caller's
/// instruction runs whole and the int3 is never hit again.
pub fn at_return(pid: Pid, planted: &ReturnBreakpoint) -> Result<u64> {
    let regs = arch::read_regs(pid)?;
    let result = regs.rax;
    int3::unplant(pid, planted.address, planted.original)?;
    int3::rewind(pid)?;
    Ok(result)
}
