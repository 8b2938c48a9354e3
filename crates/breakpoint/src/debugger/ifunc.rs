//! IFUNC symbols, whose implementation is chosen at run time by a resolver
//! function: run in the tracee as gdb does, or, in a static program, the
//! program's own call of it followed. Methods of the `Debugger`
//! (debugger.rs), which owns the state, and the call made by hand.

use anyhow::{bail, Context, Result};
use breakpoint::int3;
use breakpoint::symbols;
use nix::sys::ptrace;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use workbook::arch;
use workbook::gone::{unless_gone, OrGone};
use workbook::memory::Mapping;
use workbook::siginfo::{getsigmask, setsigmask};
use workbook::Sig;

use super::{plant, unplant, Breakpoint, Debugger, Next};

impl Debugger {
    /// An IFUNC, `spec`, whose resolver is at `address`: where its
    /// breakpoint goes, if `resolve` lets the resolver run now; else its
    /// resolver is awaited, or it stays pending.
    pub(super) fn resolve_ifunc(
        &mut self,
        pid: Pid,
        spec: &str,
        address: u64,
        resolve: &Resolve,
        maps: &[Mapping],
    ) -> Result<Resolved> {
        let return_to = match *resolve {
            Resolve::Now(return_to) => return_to,
            Resolve::AtItsCall => {
                match self.breakpoints.get_mut(&address) {
                    // Another name of the same IFUNC (index for
                    // strchr), or a --break of the resolver itself.
                    Some(planted) => {
                        say!(
                            "{spec} is an IFUNC: its resolver is at {address:#x}, where \
                             {} is; what the program's call of it returns is awaited",
                            planted.name
                        );
                        planted.resolving.push(spec.to_string());
                    }
                    None => {
                        let awaited = self.await_resolver(pid, spec.to_string(), address);
                        if unless_gone(awaited)?.is_none() {
                            return Ok(Resolved::Gone);
                        }
                    }
                }
                return Ok(Resolved::Later);
            }
            Resolve::NotYet => {
                // Announced by the loader before it relocates the
                // library: the resolver can't run yet.
                let library = symbols::executable_mapping(address, maps);
                let library = library.map_or(String::new(), |m| symbols::one_line(&m.path));
                self.unresolved_ifuncs.insert(spec.to_string(), library);
                self.pending.push(spec.to_string());
                return Ok(Resolved::Later);
            }
        };
        let resolved = call_resolver(pid, address, return_to)
            .with_context(|| format!("--break {spec}: calling its IFUNC resolver"));
        let Some(resolved) = unless_gone(resolved)? else {
            return Ok(Resolved::Gone);
        };
        say!(
            "{spec} is an IFUNC: its resolver at {address:#x}, run in the tracee, \
             returns {resolved:#x}, the implementation the program calls"
        );
        Ok(Resolved::At(resolved))
    }

    /// An IFUNC of a static program, at its entry point. Its resolver
    /// can't be run yet: glibc's __libc_start_main, after the entry point,
    /// first initialises the CPU features the resolvers read, then calls
    /// each of them (apply_irel) and stores what it returns in the GOT
    /// slot the program calls through. Run now, the resolver would answer
    /// with a baseline implementation (__strlen_sse2) that the program
    /// never calls (__strlen_avx2). So, as gdb does, an int3 on the
    /// resolver, to follow the program's own call and take its answer.
    /// (Run at `main` instead, it would answer the same, but the calls
    /// libc makes before `main` would not be hits, and gdb has them.)
    pub(super) fn await_resolver(&mut self, pid: Pid, spec: String, address: u64) -> Result<()> {
        say!(
            "{spec} is an IFUNC: its resolver at {address:#x} picks the implementation for \
             this CPU, and in a static program glibc calls it after the entry point, once it \
             knows the CPU (apply_irel): {} there, to see what the program's call returns",
            arch::A_BREAKPOINT
        );
        let original = plant(pid, address, false)?;
        self.breakpoints.insert(
            address,
            Breakpoint {
                name: format!("{spec}'s IFUNC resolver"),
                original,
                hits: 0,
                symbol: None,
                listed: true,
                loader: true,
                resolving: vec![spec],
            },
        );
        Ok(())
    }

    /// The program calls an IFUNC's resolver: its int3 goes (unless it is
    /// a --break of the user's too: a hit, and the int3 back after), the
    /// thread runs the resolver to its return one instruction at a time
    /// (where gdb plants an int3 at the return address), and where it
    /// returns, the implementation the program will call, the names
    /// waiting for it are planted. Calls of them from here on are hits:
    /// none came before, as the program can't call what it has not
    /// resolved yet.
    pub(super) fn resolver_called(&mut self, pid: Pid, address: u64) -> Result<Next> {
        let mut resolver = self
            .breakpoints
            .remove(&address)
            .with_context(|| format!("no breakpoint of ours at the resolver {address:#x}"))?;
        unplant(pid, address, resolver.original, false)?;
        int3::rewind(pid)?;
        let specs = std::mem::take(&mut resolver.resolving);
        if !resolver.loader {
            resolver.hits += 1;
            let regs = arch::read_regs(pid)?;
            self.say_hit(pid, resolver.hits, &resolver.name, address, &regs);
        }
        let (resolved, deferred) = self.run_to_return(pid).with_context(|| {
            format!(
                "following the call of {}'s IFUNC resolver",
                specs.join(", ")
            )
        })?;
        say!(
            "[pid {pid}] the program called {}'s IFUNC resolver itself (glibc's apply_irel, the \
             CPU features known): run to its return one instruction at a time, it returned \
             {resolved:#x}, the implementation the program calls",
            specs.join(", ")
        );
        if !resolver.loader {
            resolver.original = plant(pid, address, false)?;
            self.breakpoints.insert(address, resolver);
        }
        for spec in specs {
            let symbol = Some(spec.clone());
            if self.plant_at(pid, spec, resolved, symbol)?.is_none() {
                return Ok(Next::Nothing);
            }
        }
        Ok(Next::Cont(deferred))
    }

    /// Single-steps `pid`, at a function's first instruction, until it
    /// returns (rsp above where its return address was), with every signal
    /// blocked (PTRACE_SETSIGMASK); returns rax then, and a signal that
    /// stopped it meanwhile (SIGSTOP, which can't be blocked), to be
    /// delivered after. An int3 of ours on the way is stepped over, its
    /// original byte back for that one instruction.
    fn run_to_return(&mut self, pid: Pid) -> Result<(u64, Option<Sig>)> {
        let mask = getsigmask(pid)?;
        setsigmask(pid, u64::MAX)?;
        let result = self.step_out(pid);
        let restored = setsigmask(pid, mask);
        let value = result?;
        restored?;
        Ok(value)
    }

    fn step_out(&mut self, pid: Pid) -> Result<(u64, Option<Sig>)> {
        // A resolver reads a few words and returns: tens of instructions.
        // Bounded, so that one that loops is an error, not a hang.
        const MOST: u32 = 100_000;
        let start = arch::read_regs(pid)?;
        let mut regs = start;
        let mut deferred = None;
        for _ in 0..MOST {
            let at = arch::instruction_pointer(&regs);
            let ours = self.breakpoints.get(&at).map(|planted| planted.original);
            if let Some(original) = ours {
                int3::unplant(pid, at, original)?;
            }
            int3::single_step(pid, None)?;
            let status = waitpid(pid, Some(WaitPidFlag::__WALL))
                .with_context(|| format!("waitpid for pid {pid}"))?;
            if ours.is_some() {
                int3::plant(pid, at)?;
            }
            match status {
                WaitStatus::Stopped(_, nix::sys::signal::Signal::SIGTRAP) => {}
                WaitStatus::Stopped(_, signal) => {
                    if deferred.is_none() {
                        deferred = Sig::new(signal as i32);
                    }
                }
                WaitStatus::PtraceEvent(..) => {}
                other => bail!(
                    "pid {pid} ended in the function at {:#x}: {other:?}",
                    arch::instruction_pointer(&start)
                ),
            }
            regs = arch::read_regs(pid)?;
            if arch::has_returned(&start, &regs) {
                return Ok((arch::function_result(&regs), deferred));
            }
        }
        bail!(
            "pid {pid}: the function at {:#x} did not return within {MOST} instructions",
            arch::instruction_pointer(&start)
        )
    }
}

/// When an IFUNC's resolver may tell the implementation.
pub(super) enum Resolve {
    /// The libraries are mapped and relocated (the first RT_CONSISTENT):
    /// the resolver runs in the tracee now, returning to the int3 there.
    Now(u64),
    /// A static program at its entry point: the program's own call of the
    /// resolver, later, is followed.
    AtItsCall,
    /// A library announced before it is relocated (dlopen): not yet.
    NotYet,
}

/// What became of an IFUNC's --break.
pub(super) enum Resolved {
    /// Its resolver ran: the implementation, where the breakpoint goes.
    At(u64),
    /// Its resolver is awaited, or it stays pending.
    Later,
    /// The tracee was killed meanwhile.
    Gone,
}

/// Runs an IFUNC's resolver in the stopped thread `pid`, as gdb does (its
/// `elf_gnu_ifunc_resolve_addr` calls it "by hand"), and returns what it
/// returns: the implementation the program calls (`strlen` is
/// `__strlen_avx2` on one CPU, `__strlen_sse2` on another). Sound once
/// the loader has relocated the library and filled in the CPU features
/// the resolver reads: at the first RT_CONSISTENT, not before (a static
/// program's glibc fills them in itself later: its call is followed,
/// `resolver_called`).
///
/// `return_to` is an address where an int3 of ours stands (the
/// loader's hook): the resolver returns there, and the trap gives the thread
/// back. Its registers and signal mask are put back as they were; while
/// it runs, every signal is blocked (PTRACE_SETSIGMASK) and waits.
pub fn call_resolver(pid: Pid, resolver: u64, return_to: u64) -> Result<u64> {
    let saved = arch::read_regs(pid)?;
    let mask = getsigmask(pid)?;
    let result = call(pid, saved, resolver, return_to);
    // Put back even after a failed call, unless the thread is gone.
    let restored = arch::write_regs(pid, saved).and_then(|()| setsigmask(pid, mask));
    let value = result?;
    restored?;
    Ok(value)
}

fn call(pid: Pid, saved: arch::Regs, resolver: u64, return_to: u64) -> Result<u64> {
    // The call's registers, and on x86_64 its return address pushed.
    let regs = arch::call_from(pid, &saved, resolver, return_to)?;
    arch::write_regs(pid, regs)?;
    ptrace::cont(pid, None).or_gone("PTRACE_CONT", pid)?;
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
    let at = arch::instruction_pointer(&after);
    if at != return_to + arch::PAST_THE_BREAKPOINT {
        bail!(
            "pid {pid} stopped at {at:#x} in the IFUNC resolver at {resolver:#x}, not on its return"
        );
    }
    Ok(arch::function_result(&after))
}
