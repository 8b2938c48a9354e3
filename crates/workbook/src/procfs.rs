//! The one reader of `/proc/PID/status`: every "who traces it", "is it a
//! zombie", "which thread group" and "how many context switches" of the
//! support crate and its targets comes through here. (`/proc/PID/maps` has
//! its own reader, `memory::maps`.)
//!
//! A status file is lines of `Name:<tab>value`; a process that is gone has
//! none, which the readers below say with `None` (or an error naming the
//! file), never a panic.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::unistd::Pid;

/// One read of a status file.
pub struct Status {
    path: PathBuf,
    text: String,
}

impl Status {
    /// `/proc/PID/status` (PID may be a thread's id).
    pub fn of(pid: Pid) -> Result<Status> {
        Status::read(format!("/proc/{pid}/status"))
    }

    /// `/proc/self/status`: this process.
    pub fn of_self() -> Result<Status> {
        Status::read("/proc/self/status")
    }

    /// `/proc/thread-self/status`: the calling thread.
    pub fn of_this_thread() -> Result<Status> {
        Status::read("/proc/thread-self/status")
    }

    fn read(path: impl AsRef<Path>) -> Result<Status> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(Status { path, text })
    }

    /// The value of the `name:` line, trimmed.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.text
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    }

    /// A field that is one number (`TracerPid`, `Seccomp`, `Tgid`,
    /// `voluntary_ctxt_switches`...); an error names the file and the field.
    pub fn number(&self, name: &str) -> Result<u64> {
        let value = self
            .field(name)
            .with_context(|| format!("no {name} in {}", self.path.display()))?;
        value.parse().with_context(|| {
            format!(
                "{name} in {} is not a number: {value:?}",
                self.path.display()
            )
        })
    }

    /// Who traces it (`TracerPid`), or `None` for nobody.
    pub fn tracer(&self) -> Option<Pid> {
        self.field("TracerPid")
            .and_then(|value| value.parse::<i32>().ok())
            .filter(|&tracer| tracer != 0)
            .map(Pid::from_raw)
    }

    /// Its parent (`PPid`), or `None` where it has none (pid 1, or a
    /// process of another pid namespace: `PPid: 0`).
    pub fn parent(&self) -> Option<Pid> {
        self.field("PPid")
            .and_then(|value| value.parse::<i32>().ok())
            .filter(|&parent| parent != 0)
            .map(Pid::from_raw)
    }

    /// The state's letter (`State: Z (zombie)` gives `Z`).
    pub fn state(&self) -> Option<char> {
        self.field("State")?.chars().next()
    }

    /// The four ids of a `Uid` or `Gid` line: real, effective, saved, filesystem.
    pub fn ids(&self, name: &str) -> Option<[u32; 4]> {
        let ids: Vec<u32> = self
            .field(name)?
            .split_whitespace()
            .map(|id| id.parse().ok())
            .collect::<Option<_>>()?;
        ids.try_into().ok()
    }
}

/// The thread group (process) a thread belongs to: `Tgid`, or the thread's
/// own id when it is gone.
pub fn thread_group(tid: Pid) -> Pid {
    Status::of(tid)
        .ok()
        .and_then(|status| status.number("Tgid").ok())
        .map_or(tid, |tgid| Pid::from_raw(tgid as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(text: &str) -> Status {
        Status {
            path: "/proc/test/status".into(),
            text: text.into(),
        }
    }

    #[test]
    fn fields_are_read_by_exact_name() {
        let s = status("Name:\tcat\nState:\tt (tracing stop)\nTgid:\t42\nPPid:\t41\nTracerPid:\t7\nSeccomp:\t2\nSeccomp_filters:\t1\nUid:\t1\t2\t3\t4\n");
        assert_eq!(s.field("Name"), Some("cat"));
        assert_eq!(s.state(), Some('t'));
        assert_eq!(s.tracer(), Some(Pid::from_raw(7)));
        assert_eq!(s.parent(), Some(Pid::from_raw(41)));
        assert_eq!(s.number("Seccomp").unwrap(), 2);
        assert_eq!(s.number("Seccomp_filters").unwrap(), 1);
        assert_eq!(s.ids("Uid"), Some([1, 2, 3, 4]));
        let missing = s.number("NoSuch").unwrap_err().to_string();
        assert!(
            missing.contains("NoSuch") && missing.contains("/proc/test/status"),
            "{missing}"
        );
    }

    #[test]
    fn nobody_traces_at_zero() {
        assert_eq!(status("TracerPid:\t0\n").tracer(), None);
        assert_eq!(status("PPid:\t0\n").parent(), None);
    }

    #[test]
    fn this_process_is_read() {
        let own = Status::of_self().unwrap();
        assert_eq!(own.number("Tgid").unwrap(), u64::from(std::process::id()));
        assert_eq!(thread_group(Pid::this()), Pid::this());
    }
}
