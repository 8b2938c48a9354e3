//! Raw syscalls, and the few numbers and flags the probe needs (from
//! <asm/unistd.h>, <fcntl.h>, <linux/sched.h>): x86_64's `syscall`, or
//! arm64's `svc #0`, whose numbers are the generic table's.

use std::arch::asm;

#[cfg(target_arch = "x86_64")]
mod numbers {
    pub const SYS_MMAP: i64 = 9;
    pub const SYS_CLOSE: i64 = 3;
    pub const SYS_CLONE: i64 = 56;
    pub const SYS_EXIT: i64 = 60;
    pub const SYS_WAIT4: i64 = 61;
    pub const SYS_CLOCK_GETTIME: i64 = 228;
    pub const SYS_OPENAT: i64 = 257;
}

#[cfg(target_arch = "aarch64")]
mod numbers {
    pub const SYS_MMAP: i64 = 222;
    pub const SYS_CLOSE: i64 = 57;
    pub const SYS_CLONE: i64 = 220;
    pub const SYS_EXIT: i64 = 93;
    pub const SYS_WAIT4: i64 = 260;
    pub const SYS_CLOCK_GETTIME: i64 = 113;
    pub const SYS_OPENAT: i64 = 56;
}

pub use numbers::*;
// The same on both: the calls added since Linux 5.1 have one number everywhere.
pub const SYS_IO_URING_SETUP: i64 = 425;
pub const SYS_IO_URING_ENTER: i64 = 426;
pub const SYS_CLONE3: i64 = 435;
pub const SYS_OPENAT2: i64 = 437;

pub const AT_FDCWD: i64 = -100;
pub const O_RDONLY: i64 = 0;
pub const SIGCHLD: u64 = 17;

/// One syscall with up to six arguments; the raw result (-errno on failure).
#[cfg(target_arch = "x86_64")]
pub fn syscall(nr: i64, args: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: the `syscall` instruction clobbers rcx and r11 only; each
    // caller passes arguments that are valid for its call.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") args[0], in("rsi") args[1], in("rdx") args[2],
            in("r10") args[3], in("r8") args[4], in("r9") args[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// One syscall with up to six arguments; the raw result (-errno on failure).
#[cfg(target_arch = "aarch64")]
pub fn syscall(nr: i64, args: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: `svc #0` takes the number in x8 and the arguments in x0 to
    // x5, and returns in x0, clobbering nothing else; each caller passes
    // arguments that are valid for its call.
    unsafe {
        asm!(
            "svc #0",
            inlateout("x0") args[0] as i64 => ret,
            in("x1") args[1], in("x2") args[2], in("x3") args[3],
            in("x4") args[4], in("x5") args[5], in("x8") nr,
            options(nostack),
        );
    }
    ret
}

/// A raw result as Ok(value) or Err(the errno's text, as strace names it).
pub fn check(ret: i64) -> Result<i64, String> {
    if (-4095..0).contains(&ret) {
        let errno = -ret as i32;
        Err(format!(
            "{} ({})",
            errno_name(errno),
            std::io::Error::from_raw_os_error(errno)
                .to_string()
                .split(" (os error")
                .next()
                .unwrap_or("")
        ))
    } else {
        Ok(ret)
    }
}

fn errno_name(errno: i32) -> &'static str {
    match errno {
        1 => "EPERM",
        2 => "ENOENT",
        13 => "EACCES",
        22 => "EINVAL",
        38 => "ENOSYS",
        _ => "errno",
    }
}

/// A path as the kernel reads it: NUL-terminated.
pub fn c_path(path: &str) -> Vec<u8> {
    let mut bytes = path.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

pub fn openat(path: *const u8, flags: i64) -> i64 {
    syscall(
        SYS_OPENAT,
        [AT_FDCWD as u64, path as u64, flags as u64, 0, 0, 0],
    )
}

pub fn close(fd: i64) {
    syscall(SYS_CLOSE, [fd as u64, 0, 0, 0, 0, 0]);
}

/// Waits for child `pid`; its raw wait status.
pub fn wait(pid: i64) -> Result<i32, String> {
    let mut status: i32 = 0;
    check(syscall(
        SYS_WAIT4,
        [pid as u64, &mut status as *mut i32 as u64, 0, 0, 0, 0],
    ))?;
    Ok(status)
}

/// _exit(2) of this thread: what a child made by clone calls, so that it
/// runs none of its parent's exit code.
pub fn exit(code: u64) -> ! {
    loop {
        syscall(SYS_EXIT, [code, 0, 0, 0, 0, 0]);
    }
}

/// `struct timespec`.
#[repr(C)]
#[derive(Default)]
pub struct Timespec {
    pub seconds: i64,
    pub nanoseconds: i64,
}

/// clock_gettime(CLOCK_REALTIME) as a real syscall, past the vDSO.
pub fn clock_gettime_syscall() -> Result<i64, String> {
    let mut now = Timespec::default();
    check(syscall(
        SYS_CLOCK_GETTIME,
        [0, &mut now as *mut Timespec as u64, 0, 0, 0, 0],
    ))?;
    Ok(now.seconds)
}
