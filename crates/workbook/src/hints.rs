//! Why a ptrace request failed, in one line a student can act on.

use std::fs;

use anyhow::anyhow;
use nix::errno::Errno;
use nix::unistd::Pid;

use crate::names::errno_name;

/// An error for a failed `request` on `pid` that names both and says why.
pub fn ptrace_error(request: &str, pid: Pid, errno: Errno) -> anyhow::Error {
    let base = format!("{request} on pid {pid}: {}", errno_name(errno));
    match why(pid, errno) {
        Some(reason) => anyhow!("{base}: {reason}"),
        None => anyhow!("{base}"),
    }
}

fn why(pid: Pid, errno: Errno) -> Option<String> {
    match errno {
        Errno::ESRCH => Some("no such process (or it is not stopped for us)".into()),
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
    if let Some(container) = container_hint() {
        return container;
    }
    permission_hint()
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

/// Containers deny ptrace with a seccomp filter or by dropping CAP_SYS_PTRACE.
fn container_hint() -> Option<String> {
    let filtered = status_field(Pid::this(), "Seccomp:").as_deref() == Some("2");
    let marked = ["/.dockerenv", "/run/.containerenv"]
        .iter()
        .any(|marker| fs::metadata(marker).is_ok());
    (filtered || marked).then(|| {
        "this process runs in a container or under a seccomp filter that denies ptrace; \
         Docker needs --cap-add=SYS_PTRACE (and, before Docker 19.03, \
         --security-opt seccomp=unconfined)"
            .into()
    })
}

fn permission_hint() -> String {
    let scope = fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok());
    match scope {
        Some(1) => "Yama's ptrace_scope is 1, so only a parent may trace its descendants; \
                    run as root (CAP_SYS_PTRACE) or set kernel.yama.ptrace_scope=0"
            .into(),
        Some(2) => "Yama's ptrace_scope is 2, so only a process with CAP_SYS_PTRACE may attach; \
                    run as root"
            .into(),
        Some(3) => "Yama's ptrace_scope is 3: attaching is disabled until reboot".into(),
        _ => "tracing another user's process needs CAP_SYS_PTRACE; run as root \
              (and check Yama's kernel.yama.ptrace_scope)"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_trace_is_named() {
        let err = ptrace_error("PTRACE_ATTACH", Pid::this(), Errno::EPERM);
        assert!(err.to_string().ends_with("a process can't trace itself"), "{err}");
    }

    #[test]
    fn missing_pid_is_esrch() {
        let err = ptrace_error("PTRACE_ATTACH", Pid::from_raw(i32::MAX), Errno::ESRCH);
        assert!(err.to_string().contains("ESRCH (No such process)"), "{err}");
    }

    #[test]
    fn our_own_status_is_readable() {
        assert_eq!(comm(Pid::from_raw(i32::MAX)), "?");
        assert!(!is_kernel_thread(Pid::this()));
    }
}
