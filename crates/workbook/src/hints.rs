//! Why a ptrace request failed, in one line a student can act on.

use std::fs;

use anyhow::anyhow;
use nix::errno::Errno;
use nix::unistd::Pid;

use crate::names::errno_name;
use crate::procfs::Status;

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
    if is_zombie(pid) {
        return format!(
            "pid {pid} is a zombie (it has exited and waits for its parent to reap it); \
             a zombie can't be traced"
        );
    }
    if let Some(tracer) = tracer_of(pid) {
        return format!(
            "pid {pid} is already traced by pid {tracer} ({}), and a process has one tracer at a time",
            comm(tracer)
        );
    }
    if !has_cap_sys_ptrace() {
        if let Some(reason) = credentials_differ(pid).or_else(|| not_dumpable(pid)) {
            return reason;
        }
    }
    if let Some(yama) = yama_hint() {
        return yama;
    }
    container_hint()
}

/// The kernel's first rule (ptrace_may_access): without CAP_SYS_PTRACE, our
/// real uid must be the target's real, effective and saved uid, and our
/// real gid its three gids.
fn credentials_differ(pid: Pid) -> Option<String> {
    let status = Status::of(pid).ok()?;
    let (uids, gids) = (status.ids("Uid")?, status.ids("Gid")?);
    let (uid, gid) = (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    );
    if uids[0] != uid {
        let yama = match fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope") {
            Ok(scope) => format!("Yama's kernel.yama.ptrace_scope is {} here", scope.trim()),
            Err(_) => "this kernel has no Yama ptrace_scope to loosen".into(),
        };
        return Some(format!(
            "pid {pid} belongs to uid {}, not to us, and tracing another user's process \
             needs CAP_SYS_PTRACE ({yama}); {}",
            uids[0],
            how_to_get_cap_sys_ptrace()
        ));
    }
    if uids[..3].iter().any(|&id| id != uid) || gids[..3].iter().any(|&id| id != gid) {
        let shown = |ids: &[u32]| {
            ids[..3]
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("/")
        };
        return Some(format!(
            "pid {pid} is ours but runs with other ids, as a set-user-ID or set-group-ID \
             program does (real/effective/saved uids {}, gids {}; ours {uid}, {gid}), and \
             tracing it needs CAP_SYS_PTRACE; {}",
            shown(&uids),
            shown(&gids),
            how_to_get_cap_sys_ptrace()
        ));
    }
    None
}

/// The kernel's second rule: a process that is not dumpable (it called
/// prctl(PR_SET_DUMPABLE, 0), or changed its ids, or runs a set-user-ID
/// program) may be traced only with CAP_SYS_PTRACE, even by its owner. The
/// kernel shows it: such a process's files in /proc/PID (not the directory
/// itself) belong to root instead of to its effective uid.
fn not_dumpable(pid: Pid) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let euid = Status::of(pid).ok()?.ids("Uid")?[1];
    let owner = fs::metadata(format!("/proc/{pid}/status")).ok()?.uid();
    (owner != euid).then(|| {
        format!(
            "pid {pid} is not dumpable (it called prctl(PR_SET_DUMPABLE, 0), changed its ids, \
             or runs a set-user-ID program; its /proc files belong to {}), and even its owner \
             needs CAP_SYS_PTRACE to trace it; {}",
            if owner == 0 {
                "root".into()
            } else {
                format!("uid {owner}")
            },
            how_to_get_cap_sys_ptrace()
        )
    })
}

/// The way to CAP_SYS_PTRACE: root has it, unless a container took it away.
fn how_to_get_cap_sys_ptrace() -> &'static str {
    if nix::unistd::geteuid().is_root() {
        "we run as root but without it, as in a container (Docker needs --cap-add=SYS_PTRACE)"
    } else {
        "run as root"
    }
}

/// `State: Z (zombie)` in /proc/PID/status: it has exited, and its parent
/// has not yet waited for it.
fn is_zombie(pid: Pid) -> bool {
    Status::of(pid).is_ok_and(|status| status.state() == Some('Z'))
}

/// The tracer's pid from `TracerPid:` in /proc/PID/status, if there is one.
pub fn tracer_of(pid: Pid) -> Option<Pid> {
    Status::of(pid).ok()?.tracer()
}

/// The command name from /proc/PID/comm, or `?` when it is gone.
pub fn comm(pid: Pid) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| "?".into())
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
    Status::of_self()
        .ok()
        .and_then(|status| u64::from_str_radix(status.field("CapEff")?, 16).ok())
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
    let filtered = Status::of_self().is_ok_and(|status| status.field("Seccomp") == Some("2"));
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

    /// A child that has exited and is not yet reaped: EPERM, and the hint
    /// says it is a zombie (not an LSM or a container).
    #[test]
    fn zombie_is_named() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !is_zombie(pid) {
            assert!(std::time::Instant::now() < deadline, "true did not exit");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let err = ptrace_error("PTRACE_ATTACH", pid, Errno::EPERM);
        child.wait().unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "PTRACE_ATTACH on pid {pid}: EPERM (Operation not permitted): pid {pid} is a \
                 zombie (it has exited and waits for its parent to reap it); a zombie can't \
                 be traced"
            )
        );
        assert!(!is_zombie(Pid::this()));
    }

    /// Our own process: same ids, dumpable, so neither rule is the reason.
    #[test]
    fn own_credentials_and_dumpability_are_no_reason() {
        assert_eq!(credentials_differ(Pid::this()), None);
        assert_eq!(not_dumpable(Pid::this()), None);
        assert!(Status::of(Pid::from_raw(i32::MAX)).is_err());
        let uids = Status::of(Pid::this()).unwrap().ids("Uid").unwrap();
        assert_eq!(uids[0], nix::unistd::getuid().as_raw());
    }

    #[test]
    fn proc_lookups() {
        assert_eq!(comm(Pid::from_raw(i32::MAX)), "?");
        assert!(!is_kernel_thread(Pid::this()));
        assert_eq!(tracer_of(Pid::from_raw(i32::MAX)), None);
    }
}
