//! `builtin:tries opens` (a mode of the `tries` target): opens the files a grading test names, each in
//! its own way (open, openat, creat or openat2; relative to a working
//! folder or to a dirfd; from a path laid across a page boundary or ending
//! at the end of a mapping), and reports what each call returned. The
//! test, not the tracer, chooses the files and sees the results: a tracer
//! that refuses a call can only do it in the call itself.
//!
//! The dirfds are the test's: it opens their folders itself and the target
//! inherits them (through the tracer), so the target opens nothing but
//! the cases' files, and a folder it may not open can still be a dirfd.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use super::super::mailbox::{Reader, Writer};
use super::open_call;

/// Where the path's bytes lie when the call is made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Placement {
    /// On the heap, as any string.
    Plain = 0,
    /// Across a page boundary: it starts `offset` bytes before the end of
    /// a page, and the next page is mapped too.
    Across = 1,
    /// At the very end of a mapping: its NUL is the last byte of a page,
    /// and the page after it is not mapped.
    AtTheEnd = 2,
}

/// One call the target makes.
pub struct Case {
    /// open, openat, creat or openat2.
    pub call: String,
    /// The folder it works in while making the call.
    pub cwd: Vec<u8>,
    /// The dirfd of openat and openat2, an inherited descriptor, or
    /// AT_FDCWD.
    pub dirfd: i32,
    /// The upper 32 bits of the dirfd's register: 0 for what C puts there
    /// (the int, sign-extended, as glibc passes it), or bits of their own,
    /// which the kernel ignores, for it reads the dirfd as an int.
    pub dirfd_high_bits: u32,
    pub path: Vec<u8>,
    pub placement: Placement,
    /// For `Across`: how many bytes of the path lie before the page's end.
    pub offset: u64,
    /// Create the file (O_CREAT | O_EXCL | O_WRONLY), or open an existing
    /// one to read (O_RDONLY). creat(2) always creates.
    pub create: bool,
    /// A path the target checks with access(2) just before the call: the
    /// folder a file is to be made in (read, write and search), or the
    /// file to read (read). The test made it so; a tracer that refuses by
    /// changing permissions instead shows here.
    pub probe: Vec<u8>,
}

impl Case {
    /// The case as the test posts it.
    pub fn write(&self, out: &mut Writer) {
        out.bytes(self.call.as_bytes())
            .bytes(&self.cwd)
            .u64(self.dirfd as u32 as u64)
            .u64(u64::from(self.dirfd_high_bits))
            .bytes(&self.path)
            .u64(self.placement as u64)
            .u64(self.offset)
            .u64(u64::from(self.create))
            .bytes(&self.probe);
    }

    fn read(input: &mut Reader) -> Result<Case, String> {
        let call = String::from_utf8_lossy(input.bytes()?).into_owned();
        let cwd = input.bytes()?.to_vec();
        let dirfd = input.u64()? as u32 as i32;
        let dirfd_high_bits = input.u64()? as u32;
        let path = input.bytes()?.to_vec();
        let placement = match input.u64()? {
            0 => Placement::Plain,
            1 => Placement::Across,
            2 => Placement::AtTheEnd,
            other => return Err(format!("no placement numbered {other}")),
        };
        Ok(Case {
            call,
            cwd,
            dirfd,
            dirfd_high_bits,
            path,
            placement,
            offset: input.u64()?,
            create: input.u64()? != 0,
            probe: input.bytes()?.to_vec(),
        })
    }
}

/// What one call returned: its raw result and errno (0 when it succeeded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub ret: i64,
    pub errno: i32,
    /// access(2)'s errno for the probe, 0 when it was allowed.
    pub probe: i32,
}

/// The input: the exit status, then the cases (their count first). The
/// report: the target's TracerPid, then each case's `Outcome`, both read
/// back by `read_report`.
pub fn mailbox(input: &[u8]) -> Result<(Vec<u8>, u8), String> {
    let mut input = Reader::new(input);
    let status = input.u64()? as u8;
    let count = input.u64()?;
    let cases = (0..count)
        .map(|_| Case::read(&mut input))
        .collect::<Result<Vec<_>, _>>()?;
    let proc_status = crate::procfs::Status::of_self().ok();
    let mut out = Writer::new();
    out.u64(super::super::tries::status_number(
        &proc_status,
        "TracerPid",
    ));
    for case in &cases {
        let outcome = make(case)?;
        let shown = String::from_utf8_lossy(&case.path);
        match outcome.errno {
            0 => println!("target: {} {shown}: ok", case.call),
            errno => println!(
                "target: {} {shown}: failed: {}",
                case.call,
                std::io::Error::from_raw_os_error(errno)
            ),
        }
        out.u64(outcome.ret as u64)
            .u64(outcome.errno as u64)
            .u64(outcome.probe as u64);
    }
    Ok((out.0, status))
}

/// The target's TracerPid and each case's outcome, from its report.
pub fn read_report(report: &[u8], cases: usize) -> Result<(u64, Vec<Outcome>), String> {
    let mut fields = Reader::new(report);
    let tracer = fields.u64()?;
    let outcomes = (0..cases)
        .map(|_| {
            Ok(Outcome {
                ret: fields.u64()? as i64,
                errno: fields.u64()? as i32,
                probe: fields.u64()? as i32,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((tracer, outcomes))
}

/// One case: into its folder, its path put in place, the call made
/// straight through syscall(2), what it opened closed.
fn make(case: &Case) -> Result<Outcome, String> {
    std::env::set_current_dir(OsStr::from_bytes(&case.cwd))
        .map_err(|error| format!("chdir {}: {error}", String::from_utf8_lossy(&case.cwd)))?;
    let probe = CString::new(case.probe.as_slice()).map_err(|_| "a NUL inside a probe")?;
    let mode = match case.create {
        true => libc::R_OK | libc::W_OK | libc::X_OK,
        false => libc::R_OK,
    };
    // SAFETY: access reads a NUL-terminated string that outlives the call.
    let probed = match unsafe { libc::access(probe.as_ptr(), mode) } {
        0 => 0,
        _ => std::io::Error::last_os_error().raw_os_error().unwrap_or(-1),
    };
    let placed = Placed::new(&case.path, case.placement, case.offset)?;
    let (ret, errno) = call(case, placed.address())?;
    Ok(Outcome {
        ret,
        errno,
        probe: probed,
    })
}

/// The case's call of `path`: its raw result, and its errno (0 when it
/// succeeded). What it opened is closed.
fn call(case: &Case, path: *const libc::c_char) -> Result<(i64, i32), String> {
    let flags = match case.create {
        true => libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
        false => libc::O_RDONLY | libc::O_CLOEXEC,
    };
    // The kernel reads the dirfd as an int: the upper half of its register
    // is ignored, whatever it holds.
    let dirfd = match case.dirfd_high_bits {
        0 => libc::c_long::from(case.dirfd),
        high => (u64::from(case.dirfd as u32) | (u64::from(high) << 32)) as libc::c_long,
    };
    // openat2 refuses a mode with nothing to create (EINVAL).
    let mode = if case.create { 0o600 } else { 0 };
    let (ret, errno) = open_call(&case.call, dirfd, path, flags as u64, mode)?;
    if ret >= 0 {
        // SAFETY: the descriptor the call just returned is ours.
        unsafe { libc::close(ret as libc::c_int) };
    }
    Ok((ret, errno))
}

/// A path's bytes and its NUL where the case wants them.
enum Placed {
    Heap(CString),
    Mapped {
        base: *mut u8,
        len: usize,
        at: usize,
    },
}

impl Placed {
    fn new(path: &[u8], placement: Placement, offset: u64) -> Result<Placed, String> {
        let string = CString::new(path).map_err(|_| "a NUL inside a path")?;
        if placement == Placement::Plain {
            return Ok(Placed::Heap(string));
        }
        let bytes = string.as_bytes_with_nul();
        let (base, page) =
            super::super::map_two_pages().map_err(|error| format!("mmap: {error}"))?;
        let mut len = 2 * page;
        let at = match placement {
            Placement::AtTheEnd => page.checked_sub(bytes.len()),
            _ => usize::try_from(offset)
                .ok()
                .filter(|&offset| (1..bytes.len()).contains(&offset))
                .map(|offset| page - offset),
        };
        let Some(at) = at else {
            // Dropped, the mapping is unmapped.
            drop(Placed::Mapped { base, len, at: 0 });
            return Err(format!("a path of {} bytes can't be placed so", path.len()));
        };
        // SAFETY: the mapping was just made, and only this function knows
        // of it; `at + bytes.len()` lies inside what stays mapped.
        unsafe {
            if placement == Placement::AtTheEnd {
                libc::munmap(base.add(page).cast(), page);
                len = page;
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(at), bytes.len());
        }
        Ok(Placed::Mapped { base, len, at })
    }

    fn address(&self) -> *const libc::c_char {
        match self {
            Placed::Heap(string) => string.as_ptr(),
            // SAFETY: `at` lies inside the mapping (see `new`).
            Placed::Mapped { base, at, .. } => unsafe { base.add(*at).cast() },
        }
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        if let Placed::Mapped { base, len, .. } = *self {
            // SAFETY: the mapping made in `new`, which nothing refers to now.
            unsafe { libc::munmap(base.cast(), len) };
        }
    }
}
