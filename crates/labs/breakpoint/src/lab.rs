//! Lab: gdb's `finish` at every call (chapter breakpoint).
//!
//! The program (`main.rs`) breaks at a function's entry with an int3, as
//! the demo does, and calls `at_entry` at each hit, before it steps over
//! that int3. Your part: find where this call will return to, and plant a
//! one-shot int3 there (`at_entry`); when that int3 is hit, the function
//! has returned: read its return value, and leave the program as if
//! nothing had happened (`at_return`). Run your version with
//! `cargo run -p lab-breakpoint` (the built-in target, which calls
//! `lucky_draw` and `target_fn` three times each and prints what they
//! returned) or
//! `cargo run -p lab-breakpoint -- --break target_fn` (the same target),
//! and check it with `scripts/labs check breakpoint`.
//!
//! The demo's `plant`, `unplant` and `rewind` (`breakpoint::int3`) are
//! yours to use.
//!
//! The comments below speak x86_64. On arm64 the breakpoint is `BRK #0`
//! and `int3::rewind` has nothing to do (pc stays at the BRK); `bl` leaves
//! the return address in the link register, x30 (`regs.general.regs[30]`),
//! not on the stack; and an integer result comes back in x0.
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

/// Called at the hit of the int3 at the function's entry: the `call`
/// instruction has run, the function's own first instruction not yet
/// (the int3 stands in for it). Where will this call return to? `call`
/// pushed that address on the stack, and nothing has moved the stack
/// since: read the tracee's registers (PTRACE_GETREGS:
/// `arch::read_regs(pid)`) and, at the address the stack pointer holds,
/// the word of the tracee's memory (PTRACE_PEEKDATA: `ptrace::read`).
/// Plant an int3 there (`int3::plant`) and return where it is and the byte
/// it replaced.
pub fn at_entry(pid: Pid) -> Result<ReturnBreakpoint> {
    todo!("PTRACE_GETREGS, PTRACE_PEEKDATA at the stack pointer, an int3 at that address")
}

/// Called at the hit of the int3 that `at_entry` planted: the function has
/// returned, and its result is where the x86_64 calling convention puts an
/// integer result. Read it (PTRACE_GETREGS) and return it. Then leave no
/// trace: this int3 is used once, so take it out (`int3::unplant`, with
/// the original byte), and the instruction it stood in for must run, whole.
pub fn at_return(pid: Pid, planted: &ReturnBreakpoint) -> Result<u64> {
    todo!("the return value from the registers, the int3 out, rip back over it")
}
