//! The --break names: found in the program and its libraries (or given as
//! addresses), planted, or pending until a library that has them is
//! loaded; and, at the end, what stayed pending and why. Methods of the
//! `Debugger` (debugger.rs), which owns the state.

use anyhow::{bail, Result};
use breakpoint::symbols::{self, Image};
use nix::unistd::Pid;
use workbook::gone::{gone_if_killed, unless_gone};
use workbook::memory::{self, Mapping};

use super::ifunc::{Resolve, Resolved};
use super::{plant, Breakpoint, Debugger};
use crate::cli::{is_address, parse_number};
use crate::procfs::exe_path;

impl Debugger {
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
        let Some((maps, exe, images)) = unless_gone(gone_if_killed(pid, found))? else {
            return Ok(None);
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
                match self.resolve_ifunc(pid, &spec, address, &resolve, &maps)? {
                    Resolved::At(resolved) => address = resolved,
                    Resolved::Later => continue,
                    Resolved::Gone => return Ok(None),
                }
            }
            if self.plant_at(pid, spec, address, symbol)?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    }

    /// `spec`'s breakpoint at `address`, unless one is there already.
    /// `None` if the tracee was killed meanwhile.
    pub(super) fn plant_at(
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
        let Some(original) = unless_gone(plant(pid, address, true))? else {
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
