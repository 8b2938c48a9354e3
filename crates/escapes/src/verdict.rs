//! A cell's verdict, from what its run printed and how it ended: by an
//! effect where the target can't fake one (a file's random contents,
//! a child's exit status, the time of day), otherwise by the kernel's
//! answer as the target reports it, and by how the target died.

use workbook::signal::Sig;

use crate::rows::{Judge, Row};
use crate::watchers::Watcher;

/// What one cell says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// ✔: the watcher stopped the escape; how.
    Stopped(String),
    /// ✘: the escape got through; the effect seen.
    Through(String),
    /// —: the watcher has nothing to do with this way around.
    NotApplicable(&'static str),
    /// The escape itself is not available here (no x32 ABI, io_uring off).
    Unavailable(String),
    /// Only root can try it, and we are not root.
    RootOnly,
    /// The watcher's binary is not built.
    NotBuilt(String),
    /// The run says neither (a hang, a watcher that refused nothing).
    Unclear(String),
}

/// How a run ended, as a shell says it: the exit code, or 128 + N for a
/// signal N; and everything it printed, stdout and stderr in order.
pub struct Outcome {
    pub code: i32,
    pub output: String,
    pub timed_out: bool,
}

impl Outcome {
    /// The signal that killed the target, by the watcher's 128 + N.
    fn signal(&self) -> Option<String> {
        (129..=192)
            .contains(&self.code)
            .then(|| Sig::new(self.code - 128).map(Sig::name))
            .flatten()
    }

    /// The first line that starts with `prefix`, without it.
    fn line(&self, prefix: &str) -> Option<&str> {
        self.output
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
    }

    /// Whether the target printed a line of its own: it ran.
    fn target_spoke(&self) -> bool {
        self.output.lines().any(is_the_targets)
    }

    /// The target's last line of its own (`probe:` or `target:`).
    fn last_word(&self) -> String {
        self.output
            .lines()
            .rev()
            .find(|line| is_the_targets(line))
            .map_or_else(|| format!("exit {}", self.code), str::to_string)
    }
}

/// The targets start their lines so; the watchers name themselves.
fn is_the_targets(line: &str) -> bool {
    line.starts_with("probe: ") || line.starts_with("target: ")
}

/// Judges one run of `row` under `watcher`. `secret` is the secret file's
/// contents; `now` the time of day in seconds.
pub fn judge(row: &Row, watcher: Watcher, run: &Outcome, secret: &str, now: u64) -> Verdict {
    if run.timed_out {
        return Verdict::Unclear("no answer in time: killed".into());
    }
    if run.signal().is_none() && !run.target_spoke() {
        // A watcher that refused its options (or failed to start the
        // target) stopped nothing: the target never ran.
        let said = run.output.lines().next().unwrap_or_default().to_string();
        return Verdict::Unclear(format!("the target never ran: {said}"));
    }
    let verdict = match row.judge {
        Judge::Secret { plain } => {
            if let Some(refused) = plain.filter(|_| watcher.takes_a_name()) {
                if run.line(refused).is_some_and(|said| said.starts_with("ok")) {
                    return Verdict::Unclear("the watcher let the plain call through too".into());
                }
            }
            match run.output.contains(secret) {
                true => Verdict::Through("the secret file's contents were read".into()),
                false => stopped(run),
            }
        }
        Judge::Bypass => bypass(run),
        Judge::Mount => match run.line("target: a new tmpfs is mounted on /tmp") {
            Some(_) if run.code == 0 => Verdict::Through("a tmpfs was mounted on /tmp".into()),
            _ => stopped(run),
        },
        Judge::Clone3 => match run.line("probe: clone3: child exited with 42") {
            Some(_) => Verdict::Through("clone3's child ran and exited with 42".into()),
            None => stopped(run),
        },
        Judge::Vdso => {
            let told = run
                .line("probe: clock_gettime through the vDSO: ")
                .and_then(|seconds| seconds.trim().parse::<u64>().ok());
            match told {
                Some(seconds) if seconds.abs_diff(now) < 120 => {
                    Verdict::Through("the vDSO told the time of day".into())
                }
                _ => stopped(run),
            }
        }
    };
    // Without a watcher a way around that fails is not there to be tried.
    match (watcher, verdict) {
        (Watcher::Alone, Verdict::Stopped(why)) => Verdict::Unavailable(why),
        (_, verdict) => verdict,
    }
}

/// Stopped: by a signal, or with the target's last word on it.
fn stopped(run: &Outcome) -> Verdict {
    match run.signal() {
        Some(signal) => Verdict::Stopped(format!("killed by {signal}")),
        None => Verdict::Stopped(run.last_word()),
    }
}

/// The `bypass` target says whether get_mempolicy ran, failed, or met no
/// such ABI (ENOSYS: the kernel was built without x32).
fn bypass(run: &Outcome) -> Verdict {
    if let Some(signal) = run.signal() {
        return Verdict::Stopped(format!("killed by {signal}"));
    }
    if run.output.contains("no such ABI (ENOSYS)") {
        Verdict::Unavailable("this kernel has no x32 ABI (ENOSYS)".into())
    } else if run.output.contains("it ran and returned") {
        Verdict::Through("get_mempolicy ran and returned".into())
    } else if run.output.contains("the filter stopped it") {
        Verdict::Stopped(run.last_word())
    } else {
        Verdict::Unclear(run.last_word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::by_key;

    fn run(code: i32, output: &str) -> Outcome {
        Outcome {
            code,
            output: output.into(),
            timed_out: false,
        }
    }

    #[test]
    fn the_secret_read_is_through_and_a_sigsys_is_stopped() {
        let row = by_key("io-uring").unwrap();
        let read = run(0, "probe: openat: EPERM\nprobe: ... it holds: secret-1\n");
        let judged = judge(row, Watcher::Ptrace, &read, "secret-1", 0);
        assert!(matches!(judged, Verdict::Through(_)), "{judged:?}");
        let killed = run(159, "probe: openat: ok\n");
        assert_eq!(
            judge(row, Watcher::Libseccomp, &killed, "secret-1", 0),
            Verdict::Stopped("killed by SIGSYS".into())
        );
    }

    #[test]
    fn a_secret_in_words_only_is_not_enough() {
        let row = by_key("openat2").unwrap();
        let claimed = run(0, "probe: openat: EPERM\nprobe: it holds: secret-2\n");
        let judged = judge(row, Watcher::Ptrace, &claimed, "secret-9", 0);
        assert!(matches!(judged, Verdict::Stopped(_)), "{judged:?}");
    }

    #[test]
    fn a_watcher_that_refused_nothing_is_unclear() {
        let row = by_key("openat2").unwrap();
        let lax = run(0, "probe: openat: ok (nothing refuses it)\nsecret-3\n");
        let judged = judge(row, Watcher::Notify, &lax, "secret-3", 0);
        assert!(matches!(judged, Verdict::Unclear(_)), "{judged:?}");
    }

    #[test]
    fn no_escape_without_a_watcher_is_not_available() {
        let row = by_key("x32").unwrap();
        let enosys = run(
            0,
            "target: the filter let it through; the kernel has no such ABI (ENOSYS)\n",
        );
        assert!(matches!(
            judge(row, Watcher::Alone, &enosys, "s", 0),
            Verdict::Unavailable(_)
        ));
    }

    #[test]
    fn a_target_that_never_ran_stopped_nothing() {
        let row = by_key("toctou").unwrap();
        let refused = run(2, "error: unexpected argument '--no-such-option' found\n");
        let judged = judge(row, Watcher::Notify, &refused, "secret-4", 0);
        assert!(matches!(judged, Verdict::Unclear(_)), "{judged:?}");
    }

    #[test]
    fn the_vdso_time_must_be_the_time_of_day() {
        let row = by_key("vdso").unwrap();
        let said = run(0, "probe: clock_gettime through the vDSO: 1000\n");
        assert!(matches!(
            judge(row, Watcher::Ptrace, &said, "s", 1010),
            Verdict::Through(_)
        ));
        assert!(matches!(
            judge(row, Watcher::Ptrace, &said, "s", 99_999),
            Verdict::Stopped(_)
        ));
    }
}
