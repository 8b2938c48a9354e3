//! What the debugger reads (and once writes) of /proc: the program's file,
//! the threads of a process and their state, who traces them, and the
//! tracee's memory written through /proc/PID/mem. Status files are read
//! with the support crate's one reader, `workbook::procfs`.

use anyhow::{Context, Result};
use nix::unistd::Pid;
use workbook::procfs::Status;

/// `bytes` written at `address` through /proc/PID/mem, which the tracer
/// may write even where the text is read-only (as gdb does), whether the
/// tracee is stopped or not.
pub fn write_mem(pid: Pid, address: u64, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let path = format!("/proc/{pid}/mem");
    let mem = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {path}"))?;
    mem.write_all_at(bytes, address)
        .with_context(|| format!("writing {path} at {address:#x}"))
}

/// The program's file, as the kernel knows it.
pub fn exe_path(pid: Pid) -> Result<String> {
    let link = format!("/proc/{pid}/exe");
    let path = std::fs::read_link(&link).with_context(|| format!("readlink {link}"))?;
    Ok(path.to_string_lossy().into_owned())
}

/// kcmp(KCMP_VM): whether two tasks share one address space. Where the
/// kernel lacks kcmp, threads of one process (same Tgid) are assumed to.
pub fn same_memory(a: Pid, b: Pid) -> bool {
    const KCMP_VM: libc::c_long = 1;
    // SAFETY: kcmp reads no memory of ours; it compares two tasks' mm.
    let ret = unsafe { libc::syscall(libc::SYS_kcmp, a.as_raw(), b.as_raw(), KCMP_VM, 0, 0) };
    match ret {
        0 => true,
        ret if ret > 0 => false,
        _ => thread_group(a).is_some() && thread_group(a) == thread_group(b),
    }
}

pub fn thread_group(pid: Pid) -> Option<i32> {
    let tgid = Status::of(pid).ok()?.number("Tgid").ok()?;
    Some(tgid as i32)
}

/// Whether this thread traces `thread` (TracerPid in /proc/TID/status):
/// not so for the kernel's own threads in a process, such as io_uring's.
pub fn traced_by_us(thread: Pid) -> bool {
    Status::of(thread).is_ok_and(|status| status.tracer() == Some(nix::unistd::gettid()))
}

/// The state letter of /proc/PID/status: R running, S or D asleep, t traced.
pub fn thread_state(pid: Pid) -> Option<char> {
    Status::of(pid).ok()?.state()
}

/// The threads of the process, now.
pub fn threads(leader: Pid) -> Vec<Pid> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{leader}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| task.file_name().to_str()?.parse().ok())
        .map(Pid::from_raw)
        .collect()
}
