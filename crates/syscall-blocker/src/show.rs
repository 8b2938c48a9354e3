//! One strace-like line per syscall: name(arguments) = result.

use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::memory::{quoted, read_bytes, read_c_string};
use workbook::names::{errno_name, syscall_name};

use crate::Call;

const SHOWN_BYTES: usize = 32;

pub fn syscall(pid: Pid, prefix: Option<Pid>, call: &Call, ret: i64, blocked: bool) {
    let name = syscall_name(call.nr);
    let args = arguments(pid, &name, call, ret);
    let result = if (-4095..0).contains(&ret) {
        format!("-1 {}", errno_name(Errno::from_raw(-ret as i32)))
    } else if ret.unsigned_abs() > 0xffff {
        format!("{ret:#x}")
    } else {
        ret.to_string()
    };
    let mark = if blocked { " (blocked)" } else { "" };
    let prefix = prefix
        .map(|pid| format!("[pid {pid}] "))
        .unwrap_or_default();
    eprintln!("{prefix}{name}({args}) = {result}{mark}");
}

fn arguments(pid: Pid, name: &str, call: &Call, ret: i64) -> String {
    let a = call.args;
    let string = |addr: u64| match read_c_string(pid, addr, SHOWN_BYTES + 1) {
        Ok(bytes) if addr != 0 => quoted(&bytes, SHOWN_BYTES),
        _ => format!("{addr:#x}"),
    };
    let buffer =
        |addr: u64, len: u64| match read_bytes(pid, addr, (len as usize).min(SHOWN_BYTES + 1)) {
            Ok(bytes) => quoted(&bytes, SHOWN_BYTES),
            Err(_) => format!("{addr:#x}"),
        };
    match name {
        "open" => format!("{}, {:#x}", string(a[0]), a[1]),
        "openat" => format!("{}, {}, {:#x}", dirfd(a[0]), string(a[1]), a[2]),
        "execve" => format!("{}, {:#x}, {:#x}", string(a[0]), a[1], a[2]),
        "write" => format!("{}, {}, {}", a[0] as i32, buffer(a[1], a[2]), a[2]),
        "read" if ret >= 0 => format!("{}, {}, {}", a[0] as i32, buffer(a[1], ret as u64), a[2]),
        _ => {
            let count = argument_count(name);
            a[..count]
                .iter()
                .map(|v| format!("{v:#x}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

fn dirfd(fd: u64) -> String {
    if fd as i32 == libc::AT_FDCWD {
        "AT_FDCWD".into()
    } else {
        (fd as i32).to_string()
    }
}

/// How many raw arguments to show: enough for the common calls, without a
/// hand-written table of every signature.
fn argument_count(name: &str) -> usize {
    match name {
        "getpid" | "getppid" | "gettid" | "getuid" | "geteuid" | "getgid" | "getegid"
        | "sched_yield" | "fork" | "vfork" | "pause" | "sync" => 0,
        "close" | "exit" | "exit_group" | "uname" | "brk" | "dup" | "chdir" | "set_tid_address" => {
            1
        }
        "getcwd" | "munmap" | "dup2" | "kill" | "sigaltstack" | "pipe2" | "arch_prctl" => 2,
        _ => 3,
    }
}

/// A call that never returned: exit_group, or one cut short by SIGKILL.
pub fn unfinished(prefix: Option<Pid>, call: &Call) {
    let prefix = prefix
        .map(|pid| format!("[pid {pid}] "))
        .unwrap_or_default();
    let args = call.args[..argument_count(&syscall_name(call.nr))]
        .iter()
        .map(|v| format!("{v:#x}"))
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!("{prefix}{}({args}) = ?", syscall_name(call.nr));
}
