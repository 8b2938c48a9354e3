//! What the dynamic loader (ld.so) does that a debugger must follow, as
//! gdb follows it: the libraries it maps, at start-up and later (dlopen),
//! announced through its `_dl_debug_state` (`_r_debug.r_brk`), where the
//! breakpoints that wait for them are planted; and IFUNC symbols, whose
//! implementation is chosen at run time by a resolver function.
//!
//! A part of the debugger (tracer.rs declares it as its own module, so
//! these methods of `Debugger` see its state).

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use workbook::arch;
use workbook::trace::unless_vanished;
use workbook::Sig;

use super::{
    exe_path, is_address, parse_number, plant, tracee_gone, unplant, Breakpoint, Debugger, Next,
};
use crate::int3;
use crate::symbols::{self, Image};
use workbook::memory::{self, Mapping};

/// `struct r_debug` (link.h): r_brk at offset 16, r_state at 24.
const R_BRK: u64 = 16;
const R_STATE: u64 = 24;
const RT_CONSISTENT: u32 = 0;

/// The loader's function for debuggers, with an int3 of ours on it.
pub(super) struct Hook {
    address: u64,
    /// The loader's `struct r_debug`, whose r_state says what it did.
    r_debug: u64,
    /// Whether the libraries the program starts with are in (planted at
    /// the entry point: they are).
    started: bool,
}

impl Debugger {
    // ANCHOR: hook
    /// At the exec stop the kernel has mapped the program and its dynamic
    /// loader, not the libraries. The loader calls `_dl_debug_state`
    /// (which `_r_debug.r_brk` will point to) with r_state RT_ADD, then
    /// RT_CONSISTENT, around every change to its list of libraries: at
    /// start-up, once they are mapped and relocated but before their
    /// constructors run, and at every dlopen. An int3 there, from the
    /// start, as gdb does. False: no such loader (a static program).
    pub(super) fn hook_the_loader(&mut self, pid: Pid) -> Result<bool> {
        let maps = memory::maps(pid)?;
        let images = symbols::images(pid, &exe_path(pid)?, &maps)?;
        // Beside the program, only the loader is mapped yet.
        let found = images.iter().skip(1).find_map(|loader| {
            let hook = loader.address_of("_dl_debug_state")?;
            Some((hook, loader.address_of("_r_debug")?))
        });
        let Some((address, r_debug)) = found else {
            return Ok(false);
        };
        say!(
            "the dynamic loader's _dl_debug_state is at {address:#x}: an int3 there first; \
             the loader calls it once the libraries are mapped and relocated, before their \
             constructors run, and at every dlopen"
        );
        self.hook(pid, address, r_debug, "_dl_debug_state", false)?;
        Ok(true)
    }
    // ANCHOR_END: hook

    /// Without `_dl_debug_state` (a static program): at the entry point, an
    /// int3 at `_r_debug.r_brk`, if there is one, for what is pending.
    pub(super) fn watch_the_loader(&mut self, pid: Pid) -> Result<()> {
        let maps = memory::maps(pid)?;
        let images = symbols::images(pid, &exe_path(pid)?, &maps)?;
        let Some(r_debug) = images.iter().find_map(|image| image.address_of("_r_debug")) else {
            return Ok(());
        };
        let r_brk = u64::from_le_bytes(workbook::memory::read_array(pid, r_debug + R_BRK)?);
        if r_brk == 0 || self.breakpoints.contains_key(&r_brk) {
            return Ok(());
        }
        say!(
            "_r_debug.r_brk = {r_brk:#x}: an int3 there too; the dynamic loader calls it \
             whenever it has mapped a library (dlopen)"
        );
        self.hook(pid, r_brk, r_debug, "_r_debug.r_brk", true)
    }

    fn hook(
        &mut self,
        pid: Pid,
        address: u64,
        r_debug: u64,
        name: &str,
        started: bool,
    ) -> Result<()> {
        let original = plant(pid, address, false)?;
        self.hook = Some(Hook {
            address,
            r_debug,
            started,
        });
        self.breakpoints.insert(
            address,
            Breakpoint {
                name: name.to_string(),
                original,
                hits: 0,
                symbol: None,
                listed: true,
                loader: true,
                resolving: Vec::new(),
            },
        );
        Ok(())
    }

    /// The loader called its hook. At the first RT_CONSISTENT the
    /// program's libraries are in; at a later one, a dlopen's, mapped but
    /// not yet relocated, their constructors still to run: what they
    /// define of what is pending is planted.
    pub(super) fn loader_changed(&mut self, pid: Pid, address: u64) -> Result<Next> {
        let Some(hook) = self.hook.as_mut().filter(|hook| hook.address == address) else {
            return Ok(Next::Nothing);
        };
        let state = u32::from_le_bytes(workbook::memory::read_array(pid, hook.r_debug + R_STATE)?);
        if state == RT_CONSISTENT && !hook.started {
            hook.started = true;
            return self.libraries_in(pid, address);
        }
        if state == RT_CONSISTENT && !self.pending.is_empty() {
            let before = self.pending.clone();
            if self.plant_pending(pid, Resolve::NotYet)?.is_none() {
                return Ok(Next::Nothing);
            }
            for spec in before.iter().filter(|spec| !self.pending.contains(spec)) {
                say!("[pid {pid}] a library was loaded: Breakpoint ({spec}) resolved");
            }
        }
        self.line_up(pid, address)?;
        Ok(Next::Nothing)
    }

    /// The first RT_CONSISTENT: every library the program starts with is
    /// mapped and relocated (IFUNC resolvers may run, returning to the
    /// int3 at `address`); no constructor has run, nor the program's code.
    /// What is nowhere yet is pending, as in gdb; with nothing pending the
    /// hook's int3 goes, as the entry point's does.
    fn libraries_in(&mut self, pid: Pid, address: u64) -> Result<Next> {
        say!(
            "[pid {pid}] _dl_debug_state, r_state RT_CONSISTENT: the libraries are mapped and \
             relocated; none of their constructors has run, nor the program's own code"
        );
        if self.plant_pending(pid, Resolve::Now(address))?.is_none() {
            return Ok(Next::Nothing);
        }
        for spec in &self.pending {
            say!("Breakpoint ({spec}) pending.");
        }
        if !self.pending.is_empty() {
            self.line_up(pid, address)?;
            return Ok(Next::Nothing);
        }
        let hook = self
            .breakpoints
            .remove(&address)
            .with_context(|| format!("no int3 of ours at the loader's hook {address:#x}"))?;
        self.hook = None;
        unplant(pid, address, hook.original, false)?;
        int3::rewind(pid)?;
        Ok(Next::Cont(None))
    }

    /// At the entry point of a static program: find every wanted address
    /// and plant it (an IFUNC's resolver gets an int3, for the program's
    /// own call of it), then take the temporary int3 out. What is nowhere
    /// yet is pending, as in gdb, until a library that has it is loaded.
    pub(super) fn reached_entry(&mut self, pid: Pid, entry: u64, original: u8) -> Result<Next> {
        self.entry = None;
        if unless_vanished(int3::rewind(pid))?.is_none() {
            return Ok(Next::Nothing);
        }
        say!("entry point reached: the program's own code has not run");
        if self.plant_pending(pid, Resolve::AtItsCall)?.is_none() {
            return Ok(Next::Nothing);
        }
        match self.breakpoints.get_mut(&entry) {
            // A breakpoint on the entry point itself: its 0xCC stays.
            Some(planted) => planted.original = original,
            None => {
                if unless_vanished(unplant(pid, entry, original, false))?.is_none() {
                    return Ok(Next::Nothing);
                }
            }
        }
        for spec in &self.pending {
            say!("Breakpoint ({spec}) pending.");
        }
        if !self.pending.is_empty() {
            let watched = unless_vanished(self.watch_the_loader(pid))?;
            if watched.is_none() {
                return Ok(Next::Nothing);
            }
        }
        Ok(Next::Cont(None))
    }

    /// At the end: what stayed pending, and why.
    pub(super) fn report_pending(&self) {
        for (address, resolver) in &self.breakpoints {
            for spec in &resolver.resolving {
                say!(
                    "--break {spec}: the program never called {spec}'s IFUNC resolver \
                     ({address:#x}), so never chose its implementation: no breakpoint"
                );
            }
        }
        for spec in &self.pending {
            match self.unresolved_ifuncs.get(spec) {
                Some(library) => say!(
                    "--break {spec}: still pending at the end: {spec} is an IFUNC of {library}, \
                     loaded later (dlopen), which the loader announces before it relocates it: \
                     too early to run the resolver that picks the implementation"
                ),
                None => say!(
                    "--break {spec}: still pending at the end: no symbol '{spec}' in {}",
                    self.searched
                ),
            }
        }
    }

    /// Plants what is pending and can be found now in the program and its
    /// libraries; an IFUNC as `resolve` says. `None` if the tracee was
    /// killed meanwhile.
    pub(super) fn plant_pending(&mut self, pid: Pid, resolve: Resolve) -> Result<Option<()>> {
        let found = memory::maps(pid).and_then(|maps| {
            let exe = exe_path(pid)?;
            let images = symbols::images(pid, &exe, &maps)?;
            Ok((maps, exe, images))
        });
        let (maps, exe, images) = match found {
            Ok(found) => found,
            Err(_) if tracee_gone(pid) => return Ok(None),
            Err(error) => return Err(error),
        };
        for spec in std::mem::take(&mut self.pending) {
            let (mut address, symbol, ifunc) = match locate(&spec, &images, &maps, self.optional) {
                Ok(Some(found)) => found,
                Ok(None) if self.optional => {
                    say!(
                        "{} has no symbol '{spec}': running it without breakpoints",
                        symbols::one_line(&exe)
                    );
                    continue;
                }
                Ok(None) => {
                    self.searched = symbols::searched(&images);
                    self.pending.push(spec);
                    continue;
                }
                Err(error) => bail!(
                    "--break {spec}: {error:#} (the program is killed before any of its own code ran)"
                ),
            };
            if ifunc {
                let return_to = match resolve {
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
                                planted.resolving.push(spec);
                            }
                            None => {
                                let awaited = self.await_resolver(pid, spec, address);
                                if unless_vanished(awaited)?.is_none() {
                                    return Ok(None);
                                }
                            }
                        }
                        continue;
                    }
                    Resolve::NotYet => {
                        // Announced by the loader before it relocates the
                        // library: the resolver can't run yet.
                        let library = symbols::executable_mapping(address, &maps);
                        let library = library.map_or(String::new(), |m| symbols::one_line(&m.path));
                        self.unresolved_ifuncs.insert(spec.clone(), library);
                        self.pending.push(spec);
                        continue;
                    }
                };
                let resolved = call_resolver(pid, address, return_to)
                    .with_context(|| format!("--break {spec}: calling its IFUNC resolver"));
                let Some(resolved) = unless_vanished(resolved)? else {
                    return Ok(None);
                };
                say!(
                    "{spec} is an IFUNC: its resolver at {address:#x}, run in the tracee, \
                     returns {resolved:#x}, the implementation the program calls"
                );
                address = resolved;
            }
            if self.plant_at(pid, spec, address, symbol)?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    }

    /// `spec`'s breakpoint at `address`, unless one is there already.
    /// `None` if the tracee was killed meanwhile.
    fn plant_at(
        &mut self,
        pid: Pid,
        spec: String,
        address: u64,
        symbol: Option<String>,
    ) -> Result<Option<()>> {
        if let Some(planted) = self.breakpoints.get_mut(&address) {
            if planted.loader && !planted.resolving.is_empty() {
                // An IFUNC's resolver, awaited: the user's breakpoint too.
                say!("{spec} is at {address:#x}, an IFUNC's resolver");
                (planted.name, planted.symbol) = (spec, symbol);
                (planted.loader, planted.listed) = (false, false);
                return Ok(Some(()));
            }
            say!("{spec} is {address:#x}, where {} already is", planted.name);
            return Ok(Some(()));
        }
        say!("{spec} is at {address:#x}");
        let Some(original) = unless_vanished(plant(pid, address, true))? else {
            return Ok(None);
        };
        self.breakpoints.insert(
            address,
            Breakpoint {
                name: spec,
                original,
                hits: 0,
                symbol,
                listed: false,
                loader: false,
                resolving: Vec::new(),
            },
        );
        Ok(Some(()))
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
    fn await_resolver(&mut self, pid: Pid, spec: String, address: u64) -> Result<()> {
        say!(
            "{spec} is an IFUNC: its resolver at {address:#x} picks the implementation for \
             this CPU, and in a static program glibc calls it after the entry point, once it \
             knows the CPU (apply_irel): an int3 there, to see what the program's call returns"
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
            .with_context(|| format!("no int3 of ours at the resolver {address:#x}"))?;
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
        let mask = sigmask(pid, libc::PTRACE_GETSIGMASK, u64::MAX)?;
        sigmask(pid, libc::PTRACE_SETSIGMASK, u64::MAX)?;
        let result = self.step_out(pid);
        let restored = sigmask(pid, libc::PTRACE_SETSIGMASK, mask);
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
            let ours = self
                .breakpoints
                .get(&regs.rip)
                .map(|planted| planted.original);
            if let Some(original) = ours {
                int3::unplant(pid, regs.rip, original)?;
            }
            int3::single_step(pid, None)?;
            let status = waitpid(pid, Some(WaitPidFlag::__WALL))
                .with_context(|| format!("waitpid for pid {pid}"))?;
            if ours.is_some() {
                int3::plant(pid, regs.rip)?;
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
                    start.rip
                ),
            }
            regs = arch::read_regs(pid)?;
            if regs.rsp > start.rsp {
                return Ok((regs.rax, deferred));
            }
        }
        bail!(
            "pid {pid}: the function at {:#x} did not return within {MOST} instructions",
            start.rip
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

/// Where `spec` is: a symbol's address, or an address given as such; it
/// must be in code. `None` for a symbol no file defines (the program's own
/// only, when `optional`). And whether it is an IFUNC's resolver.
fn locate(
    spec: &str,
    images: &[Image],
    maps: &[Mapping],
    optional: bool,
) -> Result<Option<(u64, Option<String>, bool)>> {
    let (address, symbol, ifunc) = if is_address(spec) {
        (parse_number(spec).map_err(anyhow::Error::msg)?, None, false)
    } else {
        let searched = if optional { &images[..1] } else { images };
        match symbols::resolve(spec, searched) {
            Ok(found) => (found.address, Some(spec.to_string()), found.ifunc),
            Err(_) => return Ok(None),
        }
    };
    if symbols::executable_mapping(address, maps).is_none() {
        bail!("{address:#x} is not in any executable mapping of the program (/proc/PID/maps)");
    }
    Ok(Some((address, symbol, ifunc)))
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
