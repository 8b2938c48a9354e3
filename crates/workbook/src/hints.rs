//! Why a ptrace request failed, in one line a student can act on.

use std::fs;

use anyhow::anyhow;
use nix::errno::Errno;
use nix::unistd::Pid;

use crate::names::errno_name;

/// An error for a failed `request` on `pid` that names both and says why.
pub fn ptrace_error(request: &str, pid: Pid, errno: Errno) -> anyhow::Error {
    let base = format!("{request} on pid {pid}: {}", errno_name(errno));
    match why(request, pid, errno) {
        Some(reason) => anyhow!("{base}: {reason}"),
        None => anyhow!("{base}"),
    }
}

fn why(request: &str, pid: Pid, errno: Errno) -> Option<String> {
    let attaching = matches!(request, "PTRACE_ATTACH" | "PTRACE_SEIZE");
    match errno {
        Errno::ESRCH if attaching => Some(format!("there is no process or thread {pid}")),
        Errno::ESRCH => Some(format!(
            "pid {pid} is gone, or not traced and stopped by us"
        )),
        Errno::EPERM => Some(why_not_permitted(pid)),
        _ => None,
    }
}

fn why_not_permitted(pid: Pid) -> String {
    if pid == nix::unistd::getpid() {
        return "a process can't trace itself".into();
    }
    if is_kernel_thread(pid) {
        return format!("pid {pid} is a kernel thread, and kernel threads can't be traced");
    }
    if let Some(tracer) = tracer_of(pid) {
        return format!(
            "pid {pid} is already traced by pid {tracer} ({}), and a process has one tracer at a time",
            comm(tracer)
        );
    }
    let ours = status_field(Pid::this(), "Uid:");
    let theirs = status_field(pid, "Uid:");
    if ours != theirs && !has_cap_sys_ptrace() {
        let owner = theirs
            .as_deref()
            .and_then(|uids| uids.split_whitespace().next());
        let yama = match fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope") {
            Ok(scope) => format!("Yama's kernel.yama.ptrace_scope is {} here", scope.trim()),
            Err(_) => "this kernel has no Yama ptrace_scope to loosen".into(),
        };
        return format!(
            "pid {pid} belongs to uid {}, not to us, and tracing another user's process \
             needs CAP_SYS_PTRACE ({yama}); run as root",
            owner.unwrap_or("?")
        );
    }
    if let Some(yama) = yama_hint() {
        return yama;
    }
    container_hint()
}

/// The tracer's pid from `TracerPid:` in /proc/PID/status, if there is one.
pub fn tracer_of(pid: Pid) -> Option<Pid> {
    status_field(pid, "TracerPid:")
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|&tracer| tracer != 0)
        .map(Pid::from_raw)
}

/// The command name from /proc/PID/comm, or `?` when it is gone.
pub fn comm(pid: Pid) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn status_field(pid: Pid, field: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .map(|v| v.trim().to_string())
}

fn is_kernel_thread(pid: Pid) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name may contain spaces and parentheses; the fields after
    // its closing parenthesis are plain numbers. flags is the 9th field.
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_comm
        .split_whitespace()
        .nth(6)
        .and_then(|flags| flags.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_KTHREAD != 0)
}

fn has_cap_sys_ptrace() -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    status_field(Pid::this(), "CapEff:")
        .and_then(|caps| u64::from_str_radix(&caps, 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
}

/// Yama restricts attaching beyond the classic uid rule; scope 1 allows
/// only ancestors, 2 only CAP_SYS_PTRACE, 3 nobody.
fn yama_hint() -> Option<String> {
    let scope = fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").ok()?;
    match scope.trim() {
        "1" if !has_cap_sys_ptrace() => Some(
            "Yama's ptrace_scope is 1, so only an ancestor may attach; run as root \
             (CAP_SYS_PTRACE) or set kernel.yama.ptrace_scope=0"
                .into(),
        ),
        "2" if !has_cap_sys_ptrace() => Some(
            "Yama's ptrace_scope is 2, so only a process with CAP_SYS_PTRACE may attach; run as root"
                .into(),
        ),
        "3" => Some("Yama's ptrace_scope is 3: attaching is disabled until reboot".into()),
        _ => None,
    }
}

/// We may trace the process by uid, capability and Yama, and still the
/// kernel said no: something above us denies ptrace, as containers do.
fn container_hint() -> String {
    let filtered = status_field(Pid::this(), "Seccomp:").as_deref() == Some("2");
    let filter = if filtered {
        "a seccomp filter on this process (Seccomp: 2 in /proc/self/status) may deny ptrace"
    } else {
        "something outside this process denies ptrace (an LSM, or a container's policy)"
    };
    format!(
        "{filter}; in a container, Docker needs --cap-add=SYS_PTRACE \
         (and, before Docker 19.03, --security-opt seccomp=unconfined)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_trace_is_named() {
        let err = ptrace_error("PTRACE_ATTACH", Pid::this(), Errno::EPERM);
        assert!(
            err.to_string().ends_with("a process can't trace itself"),
            "{err}"
        );
    }

    #[test]
    fn missing_pid_is_esrch() {
        let err = ptrace_error("PTRACE_ATTACH", Pid::from_raw(i32::MAX), Errno::ESRCH);
        assert_eq!(
            err.to_string(),
            "PTRACE_ATTACH on pid 2147483647: ESRCH (No such process): \
             there is no process or thread 2147483647"
        );
    }

    #[test]
    fn proc_lookups() {
        assert_eq!(comm(Pid::from_raw(i32::MAX)), "?");
        assert!(!is_kernel_thread(Pid::this()));
        assert_eq!(tracer_of(Pid::from_raw(i32::MAX)), None);
    }
}
