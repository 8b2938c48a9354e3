//! Targets that try to get past a deny-list of syscall names (seccomp-lib's
//! list): the new mount API in place of mount(2), io_uring in place of
//! open and socket, and a thread that calls through `int 0x80`, where the
//! x86_64 numbers mean nothing. Each says what it is about to call before
//! it calls it, so a run that dies of SIGSYS shows where.

use std::process::ExitCode;

#[cfg(target_arch = "x86_64")]
use crate::arch::{compat_syscall, compat_syscall_number};

// From <linux/mount.h>; spelt out here because libc exposes them only in
// its newer modules.
/// fsopen(2): close the filesystem context's descriptor on exec.
const FSOPEN_CLOEXEC: libc::c_long = 1;
/// fsconfig(2): create the superblock from the parameters given so far.
const FSCONFIG_CMD_CREATE: libc::c_long = 6;
/// fsmount(2): close the mount's descriptor on exec.
const FSMOUNT_CLOEXEC: libc::c_long = 1;
/// move_mount(2): the source is the descriptor itself, its path "".
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_long = 4;

/// `struct mount_attr` of mount_setattr(2), its first version (32 bytes).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Where the new tmpfs goes: a directory that is always there, so the
/// target creates nothing that a SIGSYS could leave behind. The mount is
/// made only in the target's own mount namespace, after that namespace's
/// mounts were made private, so nobody else ever sees it.
const MOUNT_POINT: &std::ffi::CStr = c"/tmp";

/// Prints `call`, then makes it: under a filter that traps it, that line is
/// the last. A failure is reported, and ends the target with status 1.
fn step(call: &str, syscall: impl FnOnce() -> libc::c_long) -> Result<libc::c_long, ExitCode> {
    println!("target: {call}");
    let ret = syscall();
    if ret < 0 {
        let error = std::io::Error::last_os_error();
        println!("target: {call} failed: {error}");
        return Err(ExitCode::FAILURE);
    }
    Ok(ret)
}

/// fsopen("tmpfs"), fsconfig(FSCONFIG_CMD_CREATE), fsmount: a new tmpfs,
/// as a descriptor, attached nowhere yet. Returns the mount's descriptor.
fn detached_tmpfs() -> Result<libc::c_long, ExitCode> {
    let context = step("fsopen(\"tmpfs\", FSOPEN_CLOEXEC)", || {
        // SAFETY: fsopen reads a NUL-terminated literal.
        unsafe { libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), FSOPEN_CLOEXEC) }
    })?;
    step("fsconfig(FSCONFIG_CMD_CREATE)", || {
        // SAFETY: FSCONFIG_CMD_CREATE takes no key, value or aux.
        unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                context,
                FSCONFIG_CMD_CREATE,
                std::ptr::null::<libc::c_char>(),
                std::ptr::null::<libc::c_void>(),
                0,
            )
        }
    })?;
    step("fsmount(FSMOUNT_CLOEXEC)", || {
        // SAFETY: fsmount takes integers only.
        unsafe { libc::syscall(libc::SYS_fsmount, context, FSMOUNT_CLOEXEC, 0) }
    })
}

/// The device a path or a descriptor lives on.
fn device_of(stat: impl FnOnce(&mut libc::stat) -> libc::c_int) -> Option<libc::dev_t> {
    // SAFETY: stat is plain data, filled in by the call.
    let mut buffer: libc::stat = unsafe { std::mem::zeroed() };
    (stat(&mut buffer) == 0).then_some(buffer.st_dev)
}

/// Mounts a tmpfs without mount(2): in a mount namespace of its own
/// (unshare), with every mount in it made private first (mount_setattr), so
/// the host never sees it; then fsopen, fsconfig, fsmount, move_mount onto
/// /tmp. With `detached`, only fsopen, fsconfig and fsmount: a mount that
/// is attached nowhere, which needs no namespace. Exits 0 when the tmpfs
/// was made (and, in full, is on /tmp), 1 when a call failed.
pub fn new_mount(mode: Option<&str>) -> ExitCode {
    let detached = match mode {
        None => false,
        Some("detached") => true,
        Some(other) => {
            eprintln!("target: new-mount: unknown mode {other} (try none, or detached)");
            return ExitCode::from(2);
        }
    };
    match mount_tmpfs(detached) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn mount_tmpfs(detached: bool) -> Result<(), ExitCode> {
    if detached {
        let mount = detached_tmpfs()?;
        println!("target: a new tmpfs, descriptor {mount}, attached nowhere: nothing stopped it");
        return Ok(());
    }
    step("unshare(CLONE_NEWNS)", || {
        // SAFETY: unshare takes flags only.
        unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_NEWNS) }
    })?;
    // Until this succeeds, a mount made here would propagate to the host's
    // namespace: stop if it fails.
    let private = MountAttr {
        attr_set: 0,
        attr_clr: 0,
        propagation: libc::MS_PRIVATE,
        userns_fd: 0,
    };
    step("mount_setattr(\"/\", AT_RECURSIVE, MS_PRIVATE)", || {
        // SAFETY: the kernel reads `private`, whose size is passed with it.
        unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                libc::AT_FDCWD,
                c"/".as_ptr(),
                libc::AT_RECURSIVE,
                &private as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            )
        }
    })?;
    let mount = detached_tmpfs()?;
    step("move_mount(onto /tmp, MOVE_MOUNT_F_EMPTY_PATH)", || {
        // SAFETY: both paths are NUL-terminated literals.
        unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                mount,
                c"".as_ptr(),
                libc::AT_FDCWD,
                MOUNT_POINT.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            )
        }
    })?;
    // SAFETY: fstat and stat fill in the buffer they are given.
    let ours = device_of(|buffer| unsafe { libc::fstat(mount as libc::c_int, buffer) });
    // SAFETY: as above; MOUNT_POINT is NUL-terminated.
    let on_tmp = device_of(|buffer| unsafe { libc::stat(MOUNT_POINT.as_ptr(), buffer) });
    if ours.is_none() || ours != on_tmp {
        println!("target: move_mount succeeded, yet /tmp is not the new tmpfs");
        return Err(ExitCode::FAILURE);
    }
    println!(
        "target: a new tmpfs is mounted on /tmp, in my own mount namespace: nothing stopped it"
    );
    Ok(())
}

/// `struct io_uring_params` of io_uring_setup(2): 120 bytes, zero for the
/// defaults; the kernel fills in the rest.
#[repr(C)]
struct IoUringParams {
    bytes: [u32; 30],
}

/// io_uring_setup(8, &params): a ring through which openat, socket,
/// connect, read and write are submitted as requests, not made as
/// syscalls of their own, so no syscall filter ever sees them. Exits 0
/// with the ring's descriptor made, 1 when the kernel refused it.
pub fn io_uring_setup() -> ExitCode {
    let mut params = IoUringParams { bytes: [0; 30] };
    let ring = step("io_uring_setup(8, &params)", || {
        // SAFETY: the kernel reads and writes `params`, 120 bytes as it expects.
        unsafe {
            libc::syscall(
                libc::SYS_io_uring_setup,
                8,
                &mut params as *mut IoUringParams,
            )
        }
    });
    match ring {
        Ok(ring) => {
            println!(
                "target: an io_uring, descriptor {ring}: what it opens or connects, no filter sees"
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// A thread makes a harmless call, getpid, through `int 0x80`: the i386
/// ABI, which a filter written for x86_64 numbers must refuse whole. The
/// main thread waits until that thread is gone (or has returned), then
/// says it is still here and exits 0. Under a filter whose answer to a
/// foreign architecture kills only the calling thread, that line appears.
#[cfg(target_arch = "x86_64")]
pub fn int80_thread() -> ExitCode {
    let nr = compat_syscall_number("getpid").expect("i386 has getpid") as u32;
    // Not join(): a thread killed by seccomp never returns from the call.
    let watched = super::seccomp::watch_a_thread("int80", move || {
        println!("target: thread: getpid through int 0x80 (i386 syscall {nr})");
        let ret = compat_syscall(nr, [0; 5]);
        println!("target: thread: it returned {ret}: nothing stopped it");
    });
    if let Err(code) = watched {
        return code;
    }
    println!("target: main thread: the thread is gone, and I am still here; exit 0");
    ExitCode::SUCCESS
}
