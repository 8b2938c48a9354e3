//! What the dynamic loader (ld.so) does that a debugger must follow, as
//! gdb follows it: the libraries it maps, at start-up and later (dlopen),
//! announced through its `_dl_debug_state` (`_r_debug.r_brk`), where the
//! breakpoints that wait for them are planted (pending.rs). Methods of the
//! `Debugger` (debugger.rs), which owns the state.

use anyhow::{Context, Result};
use breakpoint::int3;
use breakpoint::symbols;
use nix::unistd::Pid;
use workbook::gone::unless_gone;
use workbook::{arch, memory};

use super::{plant, unplant, Breakpoint, Debugger, Next, Resolve};
use crate::procfs::exe_path;

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
            "the dynamic loader's _dl_debug_state is at {address:#x}: {} there first; \
             the loader calls it once the libraries are mapped and relocated, before their \
             constructors run, and at every dlopen",
            arch::A_BREAKPOINT
        );
        self.hook(pid, address, r_debug, "_dl_debug_state", false)?;
        Ok(true)
    }
    // ANCHOR_END: hook

    /// Without `_dl_debug_state` (a static program): at the entry point, an
    /// int3 at `_r_debug.r_brk`, if there is one, for what is pending.
    fn watch_the_loader(&mut self, pid: Pid) -> Result<()> {
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
            "_r_debug.r_brk = {r_brk:#x}: {} there too; the dynamic loader calls it \
             whenever it has mapped a library (dlopen)",
            arch::A_BREAKPOINT
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
    pub(super) fn reached_entry(
        &mut self,
        pid: Pid,
        entry: u64,
        original: breakpoint::int3::Original,
    ) -> Result<Next> {
        self.entry = None;
        if unless_gone(int3::rewind(pid))?.is_none() {
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
                if unless_gone(unplant(pid, entry, original, false))?.is_none() {
                    return Ok(Next::Nothing);
                }
            }
        }
        for spec in &self.pending {
            say!("Breakpoint ({spec}) pending.");
        }
        if !self.pending.is_empty() {
            let watched = unless_gone(self.watch_the_loader(pid))?;
            if watched.is_none() {
                return Ok(Next::Nothing);
            }
        }
        Ok(Next::Cont(None))
    }
}
