//! Never leaving a child behind: a guard that kills and reaps one child,
//! the tracer's last wait for all of them, and built-in targets started as
//! children that die with us.

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;

/// Owns a child process: if the demo returns early or fails, the child is
/// killed and reaped instead of outliving us as a stray or a zombie.
#[derive(Debug)]
pub struct ChildGuard {
    pid: Option<Pid>,
}

impl ChildGuard {
    pub fn new(pid: Pid) -> Self {
        ChildGuard { pid: Some(pid) }
    }

    pub fn pid(&self) -> Pid {
        self.pid.expect("guard still holds its child")
    }

    /// The child is gone and reaped; nothing is left to clean up.
    pub fn reaped(mut self) {
        self.pid = None;
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            // SIGKILL ends a tracee in any stop; then reap it so no zombie
            // stays. Waiting for -1, not for the pid: a zombie thread-group
            // leader is reported only after its other threads, which are
            // our tracees too and must be reaped first.
            let _ = kill(pid, Signal::SIGKILL);
            loop {
                match crate::stop::wait_raw(None, WaitPidFlag::__WALL) {
                    Ok(Some((found, raw))) if found == pid && !libc::WIFSTOPPED(raw) => break,
                    Ok(_) => continue,
                    Err(_) => break,
                }
            }
        }
    }
}

/// Kills every child still stopped or running and reaps them all:
/// waitpid(-1, __WALL) until ECHILD. A tracer's last word, so that no
/// tracee, thread or zombie outlives it.
///
/// Children this process had before it did anything are not ours to wait
/// for: `exec demo ... 2> >(tee log)` hands the demo the shell's `tee`,
/// which ends only when the demo closes stderr, by exiting. Once only such
/// children are left, the wait ends.
pub fn kill_and_reap_all_children() {
    loop {
        if only_inherited_children_left() {
            return;
        }
        match crate::stop::wait_raw(None, WaitPidFlag::__WALL) {
            // A stop of a tracee we did not know of: it dies too.
            Ok(Some((pid, raw))) if libc::WIFSTOPPED(raw) => {
                let _ = kill(pid, Signal::SIGKILL);
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
}

/// The children this process was started with (inherited across the
/// execve that started it), noted by `main` before it forks anything.
static INHERITED_CHILDREN: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();

pub(crate) fn note_inherited_children() {
    if let Some(children) = children_now() {
        let _ = INHERITED_CHILDREN.set(children);
    }
}

/// Whether every child left is one we were started with. False when there
/// were none such (the usual case: then the wait goes on to ECHILD, for
/// tracees that are not our children too), or when procfs can't say.
fn only_inherited_children_left() -> bool {
    let Some(inherited) = INHERITED_CHILDREN.get().filter(|pids| !pids.is_empty()) else {
        return false;
    };
    children_now().is_some_and(|now| now.iter().all(|pid| inherited.contains(pid)))
}

/// This process's children, from /proc/self/task/TID/children (every
/// thread's: a child belongs to the thread that forked it). `None` where
/// the kernel lacks those files (CONFIG_PROC_CHILDREN).
fn children_now() -> Option<Vec<i32>> {
    let mut children = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).ok()?;
        children.extend(
            list.split_whitespace()
                .filter_map(|pid| pid.parse::<i32>().ok()),
        );
    }
    Some(children)
}

/// A `Command` that runs a built-in target, for a child we don't trace from
/// birth. It dies with us (PR_SET_PDEATHSIG), so it can't be left behind.
pub fn builtin_command(name: &str) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(crate::targets::SELF_EXE);
    command
        .arg0(crate::targets::argv0(name))
        .stdin(std::process::Stdio::null());
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}
