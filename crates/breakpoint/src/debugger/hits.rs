//! A hit, and the step over the breakpoint (the original byte back, rip
//! back, one PTRACE_SINGLESTEP, the 0xCC again) with every other thread in
//! the same memory stopped meanwhile (those born meanwhile too), one thread
//! at a time. Methods of the `Debugger` (debugger.rs), which owns the
//! state.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use breakpoint::int3::{self, single_step};
use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::arch::{self, BREAKPOINT, PAST_THE_BREAKPOINT};
use workbook::gone::unless_gone;
use workbook::{ptrace_cont, Sig};

use super::{plant, unplant, Debugger, Next};
use crate::procfs::{same_memory, thread_state, threads, traced_by_us, write_mem};
use crate::show::{self, plural, si_code_name};

/// The one step over a breakpoint in progress: `pid` will run the
/// original instruction at `address`, once every other thread is stopped.
pub(super) struct StepOver {
    pub(super) pid: Pid,
    pub(super) address: u64,
    /// The original byte is in place, and the thread single-stepping.
    pub(super) lifted: bool,
    /// A signal that came for the thread meanwhile, delivered after.
    pub(super) deferred: Option<Sig>,
}

impl Debugger {
    // ANCHOR: hit
    /// Our int3 ran in `pid`: show the trap and the arguments, and line the
    /// thread up to step over it.
    pub(super) fn hit(
        &mut self,
        pid: Pid,
        address: u64,
        info: &libc::siginfo_t,
        regs: arch::Regs,
    ) -> Result<()> {
        let explain = !self.explained;
        self.explained = true;
        let breakpoint = self
            .breakpoints
            .get_mut(&address)
            .expect("a planted breakpoint");
        breakpoint.hits += 1;
        let hits = breakpoint.hits;
        let name = breakpoint.name.clone();
        let rip = arch::instruction_pointer(&regs);
        if explain {
            say!(
                "[pid {pid}] SIGTRAP; PTRACE_GETSIGINFO: si_signo {} si_code {:#x} ({}): {} ran",
                info.si_signo,
                info.si_code,
                si_code_name(info.si_code),
                arch::A_BREAKPOINT,
            );
            say!(
                "[pid {pid}] {}: {} = {rip:#x} = {name} + {PAST_THE_BREAKPOINT}: {}",
                arch::GETREGS,
                arch::INSTRUCTION_POINTER,
                if PAST_THE_BREAKPOINT != 0 {
                    "the int3 is behind it"
                } else {
                    "at the BRK, which has not run"
                }
            );
        }
        self.say_hit(pid, hits, &name, address, &regs);
        if let Some(value) = self.set_first_arg.take() {
            let mut changed = regs;
            arch::set_first_function_arg(&mut changed, value);
            arch::write_regs(pid, changed)?;
            let (register, was) = (arch::FUNCTION_ARGS[0], arch::function_args(&regs)[0]);
            say!(
                "[pid {pid}] {}: {register} = {value:#x} (was {was:#x})",
                arch::SETREGS
            );
        }
        if explain {
            self.narrated_step = Some(pid);
        }
        self.line_up(pid, address)
    }

    /// `hit N at NAME (ADDRESS): rdi=… rsi=… rdx=…`, with the thread's
    /// id when it is not the leader.
    pub(super) fn say_hit(&self, pid: Pid, hits: u64, name: &str, address: u64, regs: &arch::Regs) {
        let prefix = match Some(pid) == self.leader {
            true => String::new(),
            false => format!("[pid {pid}] "),
        };
        // The first three integer arguments, by the x86_64 calling convention.
        let args: Vec<String> = arch::FUNCTION_ARGS
            .iter()
            .zip(arch::function_args(regs))
            .map(|(register, value)| format!("{register}={value:#x}"))
            .collect();
        say!(
            "{prefix}hit {hits} at {name} ({address:#x}): {}",
            args.join(" ")
        );
    }

    /// `pid` steps over the breakpoint at `address` now, with the other
    /// threads stopped, or after the step-over under way.
    pub(super) fn line_up(&mut self, pid: Pid, address: u64) -> Result<()> {
        if self.step.is_some() {
            // Another thread is stepping over a breakpoint: this one waits.
            self.queue.push_back((pid, address));
            return Ok(());
        }
        self.step = Some(StepOver {
            pid,
            address,
            lifted: false,
            deferred: None,
        });
        self.stop_the_others(pid)
    }

    /// While the original byte is back, another thread could run through
    /// the address unseen: every other thread in the same memory is
    /// stopped first, as gdb stops them all, and as gdb does it: a SIGSTOP
    /// to each thread (tkill), which the tracer sees at its
    /// signal-delivery-stop and does not deliver. So are the processes
    /// that share the memory (CLONE_VM), and their threads; kcmp says
    /// which do still.
    fn stop_the_others(&mut self, pid: Pid) -> Result<()> {
        let Some(leader) = self.leader else {
            return Ok(());
        };
        let everyone: BTreeSet<Pid> = std::iter::once(leader)
            .chain(self.sharers.iter().copied())
            .flat_map(threads)
            .collect();
        let mut stopped = 0;
        // Only our tracees: io_uring's threads (iou-wrk-N, iou-sqp-N) are
        // threads of the process too, but ptrace never attaches them and
        // no SIGSTOP stops them; waiting for theirs would be forever.
        let others = everyone
            .into_iter()
            .filter(|&thread| traced_by_us(thread) && same_memory(thread, pid));
        for thread in others {
            let busy = thread == pid
                || self.held.contains_key(&thread)
                || self.listening.contains(&thread)
                || self.stopping.contains(&thread)
                || self.queue.iter().any(|&(queued, _)| queued == thread);
            if !busy && self.stop_thread(thread, false)? {
                stopped += 1;
            }
        }
        if stopped > 0 && !self.explained_interrupt {
            self.explained_interrupt = true;
            say!(
                "[pid {pid}] tkill(SIGSTOP) to {stopped} other thread(s): they stop while \
                 the {} is out, and get no SIGSTOP",
                arch::BREAKPOINT_NAME
            );
        }
        Ok(())
    }

    /// SIGSTOP to one thread; the step-over waits for its stop. Not for a
    /// vfork parent whose child has not yet exec'd or ended, nor for any
    /// thread in uninterruptible sleep (D): it can't run the program's code
    /// before its stop, which comes when it wakes, and the child it waits
    /// for may be the one stepping. (A vfork parent is D only once it
    /// sleeps; just after its PTRACE_EVENT_VFORK stop it may still be
    /// runnable, so the state alone is not enough.) A new thread is always
    /// waited for.
    pub(super) fn stop_thread(&mut self, thread: Pid, newborn: bool) -> Result<bool> {
        // SAFETY: tkill sends a signal; it touches no memory.
        let sent = unsafe { libc::syscall(libc::SYS_tkill, thread.as_raw(), libc::SIGSTOP) };
        match Errno::result(sent) {
            Ok(_) => {}
            // Gone already.
            Err(Errno::ESRCH) => return Ok(false),
            Err(errno) => return Err(errno).with_context(|| format!("tkill({thread}, SIGSTOP)")),
        }
        self.stopping.insert(thread);
        let waits_for_vfork_child = self.vfork_parents.contains_key(&thread);
        if newborn || (!waits_for_vfork_child && thread_state(thread) != Some('D')) {
            self.interrupting.insert(thread);
        }
        Ok(true)
    }

    /// Once every other thread has stopped: (1) the original byte back,
    /// (2) rip back by one byte, to the instruction the int3 stood in for,
    /// with PTRACE_PEEKUSER and PTRACE_POKEUSER, (3) PTRACE_SINGLESTEP.
    pub(super) fn step_when_ready(&mut self) -> Result<()> {
        let Some(step) = &self.step else {
            return Ok(());
        };
        if step.lifted || !self.interrupting.is_empty() {
            return Ok(());
        }
        let (pid, address) = (step.pid, step.address);
        let explain = self.narrated_step == Some(pid);
        let planted = &self.breakpoints[&address];
        let (name, symbol, original) = (
            planted.name.clone(),
            planted.symbol.clone(),
            planted.original,
        );
        let done = unless_gone((|| {
            // (1)
            unplant(pid, address, original, explain)?;
            // (2)
            let at = int3::rewind(pid)?;
            #[cfg(target_arch = "aarch64")]
            if explain {
                say!("[pid {pid}] no rewind: pc = {at:#x} = {name}, at the BRK already");
            }
            #[cfg(target_arch = "x86_64")]
            if explain {
                let offset = arch::user_offset_of_instruction_pointer();
                say!(
                    "[pid {pid}] PTRACE_PEEKUSER offset {offset} ({} in struct user): {at:#x} = {name} + 1",
                    arch::INSTRUCTION_POINTER
                );
                say!(
                    "[pid {pid}] PTRACE_POKEUSER offset {offset}: {} = {address:#x} = {name}",
                    arch::INSTRUCTION_POINTER
                );
            }
            Ok(())
        })())?;
        if let Some(step) = &mut self.step {
            step.lifted = true;
        }
        if done.is_none() {
            // Killed meanwhile: its end comes next, and `gone` puts the int3 back.
            return Ok(());
        }
        if let Some(planted) = self.breakpoints.get_mut(&address).filter(|b| !b.listed) {
            planted.listed = true;
            self.list(pid, address, symbol.as_deref());
        }
        // (3) The original instruction, alone.
        if explain {
            say!("[pid {pid}] PTRACE_SINGLESTEP: the original instruction runs, and only it");
        }
        single_step(pid, None)
    }

    /// (4) The step is done: the 0xCC back in, and the next thread in line
    /// steps over its breakpoint, or everyone goes on (PTRACE_CONT).
    pub(super) fn step_done(&mut self, pid: Pid) -> Result<Next> {
        let Some(step) = self.step.take() else {
            return Ok(Next::Cont(None));
        };
        let explain = self.narrated_step == Some(pid);
        if explain {
            self.narrated_step = None;
            if let Some(regs) = unless_gone(arch::read_regs(pid))? {
                let rip = arch::instruction_pointer(&regs);
                let whereto = match rip.checked_sub(step.address) {
                    Some(further) if further > 0 => format!("{} further", plural(further, "byte")),
                    _ => "not past the instruction: it jumped, or it faulted and the \
                          signal's handler was entered"
                        .to_string(),
                };
                say!(
                    "[pid {pid}] SIGTRAP after one instruction: {} = {rip:#x}, {whereto}",
                    arch::INSTRUCTION_POINTER,
                );
            }
        }
        if unless_gone(plant(pid, step.address, explain))?.is_none() {
            return Ok(Next::Nothing);
        }
        if explain {
            say!("[pid {pid}] PTRACE_CONT: on to the next hit");
        }
        Ok(match self.next_in_line()? {
            true => Next::Hold(step.deferred),
            false => Next::Cont(step.deferred),
        })
    }

    /// The next thread that hit a breakpoint steps over it (the others are
    /// still stopped), or, with none left, every held thread goes on.
    /// Whether a step-over is under way again.
    fn next_in_line(&mut self) -> Result<bool> {
        if let Some((pid, address)) = self.queue.pop_front() {
            self.step = Some(StepOver {
                pid,
                address,
                lifted: false,
                deferred: None,
            });
            return Ok(true);
        }
        for (pid, signal) in std::mem::take(&mut self.held) {
            ptrace_cont(pid, signal)?;
        }
        Ok(false)
    }

    /// A thread or process ended, or a vfork child left for a new program
    /// (then it goes on: the returned `Next`). If it was stepping over a
    /// breakpoint, the 0xCC goes back through another thread of the
    /// process, if any is left.
    pub(super) fn left(&mut self, pid: Pid) -> Result<Next> {
        self.held.remove(&pid);
        self.sharers.remove(&pid);
        self.stopping.remove(&pid);
        self.queue.retain(|&(queued, _)| queued != pid);
        if self.narrated_step == Some(pid) {
            self.narrated_step = None;
        }
        let Some(step) = self.step.take_if(|step| step.pid == pid) else {
            return Ok(self.resume(pid, None));
        };
        if step.lifted {
            let leader = self.leader.into_iter().filter(|&leader| leader != pid);
            let held = self.held.keys().copied();
            let queued = self.queue.iter().map(|&(queued, _)| queued);
            // Any thread of the process will do: they share the text. They
            // need not be stopped (a vfork parent is not): /proc/PID/mem.
            for other in leader.chain(held).chain(queued).collect::<Vec<_>>() {
                if write_mem(other, step.address, &BREAKPOINT).is_ok() {
                    break;
                }
            }
        }
        Ok(match self.next_in_line()? {
            true => Next::Hold(step.deferred),
            false => Next::Cont(step.deferred),
        })
    }

    pub(super) fn is_stepper(&self, pid: Pid) -> bool {
        self.step.as_ref().is_some_and(|step| step.pid == pid)
    }
    // ANCHOR_END: hit

    /// A new thread or process. One in the memory of the process with the
    /// breakpoints (a thread; a vfork or other CLONE_VM child) must not run
    /// past a lifted int3 either: born during a step-over, it is stopped
    /// at once, and every step-over stops it from now on, like a thread.
    pub(super) fn born(&mut self, parent: Pid, child: Pid) -> Result<Next> {
        if self.shares_text(parent) && same_memory(child, parent) {
            self.sharers.insert(child);
            if self.step.is_some() {
                self.stop_thread(child, true)?;
            }
        }
        Ok(self.resume(parent, None))
    }

    /// gdb's `x/3i $pc`: the instructions from the breakpoint on, with the
    /// original bytes in place of any 0xCC of ours, as gdb shows them.
    fn list(&self, pid: Pid, address: u64, symbol: Option<&str>) {
        let Ok(mut code) = workbook::memory::read_bytes(pid, address, 3 * 15) else {
            return;
        };
        for (&at, planted) in self.breakpoints.range(address..address + code.len() as u64) {
            let from = (at - address) as usize;
            let to = (from + BREAKPOINT.len()).min(code.len());
            code[from..to].copy_from_slice(&planted.original[..to - from]);
        }
        say!("[pid {pid}] x/3i $pc:");
        for line in show::instructions(&code, address, 3, symbol.map(|s| (s, address))) {
            say!("  {line}");
        }
    }

    /// A forked child ran into the 0xCC it inherited in its copy of the
    /// text: put the original byte back in that copy, rip back, and let it
    /// go on uncounted, as gdb does with a child it detaches at fork.
    pub(super) fn inherited(&mut self, pid: Pid, address: u64) -> Result<Next> {
        let planted = &self.breakpoints[&address];
        let restored = unless_gone(
            unplant(pid, address, planted.original, false).and_then(|()| int3::rewind(pid)),
        )?;
        if restored.is_none() {
            return Ok(Next::Nothing);
        }
        if self.copies.insert(pid) {
            say!(
                "[pid {pid}] a forked child ran into the {} it inherited at {}: \
                 {} in its copy (its hits are not counted)",
                arch::BREAKPOINT_NAME,
                planted.name,
                show::ORIGINAL_IS_BACK
            );
        }
        Ok(Next::Cont(None))
    }
}
