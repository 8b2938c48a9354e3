//! Where a name is in a running program: the ELF files' symbol tables
//! (.symtab and .dynsym, read with the `object` crate) plus where the
//! kernel and the dynamic loader put each file (/proc/PID/maps).

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;
use object::elf;
use object::read::elf::{ElfFile64, ElfSymbol64};
use object::{Endianness, Object, ObjectSegment, ObjectSymbol};
use workbook::memory::Mapping;

/// A path as the narration shows it, on one line: a newline in it as `\n`.
pub fn one_line(path: &str) -> String {
    path.replace('\n', "\\n")
}

/// An ELF file as loaded in the tracee: its symbols and its load bias
/// (0 for a fixed-address executable; the base for a PIE or a library).
pub struct Image {
    pub path: String,
    pub bias: u64,
    pub entry: u64,
    pub is_pie: bool,
    has_symtab: bool,
    /// Defined symbols, from .symtab then .dynsym.
    symbols: Vec<Symbol>,
}

/// A defined symbol: its name, its address in the file, and whether it is
/// an IFUNC (STT_GNU_IFUNC): then the address is its resolver's, a
/// function that returns the implementation the program really calls.
struct Symbol {
    name: String,
    address: u64,
    ifunc: bool,
}

/// Where a name is: the address, and whether that is an IFUNC's resolver.
#[derive(Clone, Copy)]
pub struct Found {
    pub address: u64,
    pub ifunc: bool,
}

impl Image {
    // ANCHOR: load
    /// Reads `path` and finds where its first segment was mapped.
    pub fn load(path: &str, maps: &[Mapping]) -> Result<Image> {
        let shown = one_line(path);
        let data = std::fs::read(path).with_context(|| format!("reading {shown}"))?;
        let file = ElfFile64::<Endianness>::parse(&*data)
            .with_context(|| format!("{shown}: not a 64-bit ELF file"))?;
        let lowest = file
            .segments()
            .map(|segment| segment.address())
            .min()
            .with_context(|| format!("{shown}: no loadable segments"))?;
        // The file's mapping at offset 0 holds its lowest segment, page-aligned.
        let base = maps
            .iter()
            .find(|m| m.path == path && m.offset == 0)
            .with_context(|| format!("{shown} is not mapped at offset 0 (/proc/PID/maps)"))?
            .start;
        let bias = base.wrapping_sub(lowest & !0xfff);
        Ok(Image {
            path: path.to_string(),
            bias,
            entry: file.entry(),
            is_pie: file.kind() == object::ObjectKind::Dynamic,
            has_symtab: file.section_by_name(".symtab").is_some(),
            symbols: defined_symbols(&file),
        })
    }
    // ANCHOR_END: load

    /// The run-time address of `name`: its value in the file plus the bias.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.find(name).map(|found| found.address)
    }

    /// `name`'s run-time address, and whether it is an IFUNC's resolver.
    pub fn find(&self, name: &str) -> Option<Found> {
        self.symbols
            .iter()
            .find(|symbol| symbol.name == name)
            .map(|symbol| Found {
                address: symbol.address.wrapping_add(self.bias),
                ifunc: symbol.ifunc,
            })
    }

    /// How the refusal names a file searched: a stripped one says so.
    fn searched(&self) -> String {
        if self.has_symtab {
            one_line(&self.path)
        } else {
            format!(
                "{} (stripped: no .symtab, and .dynsym lists only what it exports)",
                one_line(&self.path)
            )
        }
    }
}

/// The defined symbols of `file`, .symtab first. A .dynsym symbol of a
/// version that is not the default one (the hidden bit of .gnu.version:
/// `memcpy@GLIBC_2.2.5` beside the default `memcpy@@GLIBC_2.14`) is named
/// with its version, as gdb and the linker do: a plain name is the
/// default version, the one a program linked today calls.
fn defined_symbols(file: &ElfFile64<Endianness>) -> Vec<Symbol> {
    let endian = file.endian();
    let versions = file
        .elf_section_table()
        .versions(endian, file.data())
        .ok()
        .flatten();
    let symbol = |symbol: ElfSymbol64<Endianness>, dynamic: bool| {
        // object's is_definition() leaves IFUNCs out (their kind is Unknown).
        let ifunc = symbol.elf_symbol().st_type() == elf::STT_GNU_IFUNC;
        let defined = symbol.is_definition() || (ifunc && !symbol.is_undefined());
        if !defined || symbol.address() == 0 {
            return None;
        }
        let mut name = symbol.name().ok()?.to_string();
        if let Some(versions) = versions.as_ref().filter(|_| dynamic) {
            let index = versions.version_index(endian, symbol.index());
            if index.is_hidden() {
                let version = versions.version(index).ok().flatten()?;
                name = format!("{name}@{}", String::from_utf8_lossy(version.name()));
            }
        }
        Some(Symbol {
            name,
            address: symbol.address(),
            ifunc,
        })
    };
    let statics = file.symbols().filter_map(|s| symbol(s, false));
    let dynamics = file.dynamic_symbols().filter_map(|s| symbol(s, true));
    statics.chain(dynamics).collect()
}

/// The program and every shared library with code mapped in `pid` now.
pub fn images(pid: Pid, exe: &str, maps: &[Mapping]) -> Result<Vec<Image>> {
    let mut paths = vec![exe.to_string()];
    let mut seen = BTreeSet::from([exe.to_string()]);
    for m in maps {
        if m.executable() && m.path.starts_with('/') && seen.insert(m.path.clone()) {
            paths.push(m.path.clone());
        }
    }
    let mut images = Vec::new();
    for path in paths {
        match Image::load(&path, maps) {
            Ok(image) => images.push(image),
            // The program itself must be readable; a library we can't read
            // (deleted since, or not ELF) just has no symbols for us.
            Err(error) if path == exe => return Err(error).context(format!("pid {pid}")),
            Err(_) => {}
        }
    }
    Ok(images)
}

/// Where `name` is in the first image that defines it; or an error naming
/// every file searched.
pub fn resolve(name: &str, images: &[Image]) -> Result<Found> {
    for image in images {
        if let Some(found) = image.find(name) {
            return Ok(found);
        }
    }
    bail!("{}", not_found(name, images))
}

/// `no symbol 'NAME' in FILES`.
pub fn not_found(name: &str, images: &[Image]) -> String {
    format!("no symbol '{name}' in {}", searched(images))
}

/// The files searched, as the refusal names them.
pub fn searched(images: &[Image]) -> String {
    let searched: Vec<String> = images.iter().map(Image::searched).collect();
    searched.join(", ")
}

/// Whether `address` lies in an executable mapping, and which.
pub fn executable_mapping(address: u64, maps: &[Mapping]) -> Option<&Mapping> {
    maps.iter()
        .find(|m| m.executable() && (m.start..m.end).contains(&address))
}
