//! Grading tests for lab-attach-seize. Each test starts the demo's built-in
//! target `late-threads` with a random number of threads, and runs the lab
//! on it with `--step`: right after the lab's first PTRACE_SEIZE the test
//! has the target start more threads (and, in a hidden test, end some).
//! While the lab says it holds the threads, the kernel must say, in
//! /proc/PID/task/TID/status, that each one is in a ptrace-stop traced by
//! the lab, and that none runs; once it lets them go, that each one runs
//! untraced; at the end the target itself says that every thread ran to its
//! end. What the lab prints only paces the test. Points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use nix::unistd::Pid;
use workbook::procfs::Status;
use workbook::testing::{random_u64, workspace_bin};

/// Seconds one run of the lab may take: a run takes about a second.
const LIMIT_SECS: u32 = 10;

/// How long the test waits for a line from the lab or the target.
const PATIENCE: Duration = Duration::from_secs(5);

/// A random number in `low..=high`.
fn random_in(low: u64, high: u64) -> u64 {
    low + random_u64() % (high - low + 1)
}

/// The lines `stream` gives, as they come, through a channel.
fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// A field of the thread's status, /proc/TID/status, the same file as
/// /proc/PID/task/TID/status ("" once the thread is gone).
fn thread_field(tid: i32, field: &str) -> String {
    Status::of(Pid::from_raw(tid))
        .ok()
        .and_then(|status| status.field(field).map(str::to_string))
        .unwrap_or_default()
}

/// The demo's built-in target `late-threads`, a child of the test: it
/// starts and ends threads on the test's orders, and says at the end how
/// many ran to their end.
pub struct Target {
    child: Child,
    pub pid: i32,
    orders: Option<ChildStdin>,
    replies: Receiver<String>,
}

impl Target {
    /// The target with `threads` threads besides its main thread.
    pub fn start(threads: u64) -> Target {
        let mut child = Command::new(workspace_bin("attach-seize"))
            .arg0("builtin:late-threads")
            .arg(threads.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the target late-threads");
        let pid = child.id() as i32;
        let orders = child.stdin.take();
        let replies = lines_of(child.stdout.take().expect("piped"));
        let target = Target {
            child,
            pid,
            orders,
            replies,
        };
        let ready = target.replies.recv_timeout(PATIENCE);
        assert_eq!(
            ready.as_deref(),
            Ok("ready"),
            "the target late-threads did not start"
        );
        target
    }

    /// Gives the order (`spawn 3`, `end 2`) and returns the target's reply,
    /// or None if it gave none in time (it is stopped).
    pub fn order(&mut self, order: &str) -> Option<String> {
        let orders = self.orders.as_mut().expect("not finished");
        writeln!(orders, "{order}").expect("giving the target an order");
        self.replies.recv_timeout(PATIENCE).ok()
    }

    /// Its threads, by tid, the main thread first.
    pub fn tids(&self) -> Vec<i32> {
        let mut tids: Vec<i32> = fs::read_dir(format!("/proc/{}/task", self.pid))
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        tids.sort();
        tids
    }

    /// (State, TracerPid) of thread `tid`.
    pub fn seen(&self, tid: i32) -> (String, String) {
        (thread_field(tid, "State"), thread_field(tid, "TracerPid"))
    }

    /// Each thread's voluntary context switches: each of its 1-ms sleeps
    /// adds one while it runs, and none while it is stopped.
    pub fn switches(&self) -> BTreeMap<i32, u64> {
        self.tids()
            .into_iter()
            .filter_map(|tid| {
                let count = thread_field(tid, "voluntary_ctxt_switches");
                Some((tid, count.parse().ok()?))
            })
            .collect()
    }

    /// Tells it to end all its threads and exit; its status and last line.
    pub fn finish(&mut self) -> (Option<ExitStatus>, String) {
        if let Some(mut orders) = self.orders.take() {
            let _ = writeln!(orders, "finish");
        }
        let report = self.replies.recv_timeout(PATIENCE).unwrap_or_default();
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return (Some(status), report),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => return (None, report),
            }
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A run of `lab-attach-seize --pid PID --step`, under its time limit.
pub struct Lab {
    child: Child,
    pub pid: i32,
    input: Option<ChildStdin>,
    said: Receiver<String>,
    stderr: PathBuf,
}

impl Lab {
    pub fn start(target: &Target) -> Lab {
        let stderr = std::env::temp_dir().join(format!(
            "lab-attach-seize-{}-{:016x}.stderr",
            std::process::id(),
            random_u64()
        ));
        let stderr_file = File::create(&stderr).expect("creating the lab's stderr file");
        let mut command = Command::new(get_cargo_bin("lab-attach-seize"));
        command
            .args(["--pid", &target.pid.to_string(), "--step"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr_file);
        workbook::testing::limited(&mut command);
        // SAFETY: alarm(2) is async-signal-safe and touches no memory. It
        // replaces the longer alarm that `limited` arms.
        unsafe {
            command.pre_exec(|| {
                libc::alarm(LIMIT_SECS);
                Ok(())
            })
        };
        let mut child = command.spawn().expect("starting lab-attach-seize");
        let pid = child.id() as i32;
        let input = child.stdin.take();
        let said = lines_of(child.stdout.take().expect("piped"));
        Lab {
            child,
            pid,
            input,
            said,
            stderr,
        }
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Its next line on stdout, which must start with `word`; the rest of it.
    pub fn expect(&mut self, word: &str, when: &str) -> String {
        match self.said.recv_timeout(Duration::from_secs(u64::from(LIMIT_SECS))) {
            Ok(line) if line.starts_with(word) => line[word.len()..].trim().to_string(),
            Ok(line) => panic!(
                "{when}, the lab should have said `{word} ...` on stdout, but said `{line}`; its stderr:\n{}",
                self.stderr()
            ),
            Err(_) => {
                // Already ended, or hung and killed now.
                let _ = self.child.kill();
                let status = match self.child.wait() {
                    Ok(status) => status.to_string(),
                    Err(error) => error.to_string(),
                };
                panic!(
                    "{when}, the lab should have said `{word} ...` on stdout, but it ended ({status}) or hung; its stderr:\n{}",
                    self.stderr()
                )
            }
        }
    }

    /// Sends it a line: it goes on.
    pub fn go_on(&mut self) {
        if let Some(input) = self.input.as_mut() {
            let _ = writeln!(input, "go on");
        }
    }

    /// Closes its stdin and waits for its exit status.
    pub fn end(&mut self) -> ExitStatus {
        drop(self.input.take());
        self.child.wait().expect("waiting for the lab")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.stderr);
    }
}

/// A run up to the hold: the target started with `initial` threads; at
/// the lab's first PTRACE_SEIZE, `end` of them ended and `late` new ones
/// started; then the lab goes on until it says it holds them.
pub struct Held {
    // The lab goes first (fields drop in order): while it traces the
    // target's threads, their deaths wait for it to reap them.
    pub lab: Lab,
    pub target: Target,
    /// Those started after the lab's first PTRACE_SEIZE.
    pub late: Vec<i32>,
    /// How many the lab said it holds.
    pub said_held: usize,
}

impl Held {
    pub fn run(initial: u64, end: u64, late: u64) -> Held {
        let mut target = Target::start(initial);
        let mut lab = Lab::start(&target);
        let first = lab.expect("seized", "after its first PTRACE_SEIZE (with --step)");
        let before = target.tids();
        if end > 0 {
            let reply = target.order(&format!("end {end}"));
            assert_eq!(
                reply,
                Some(format!("ended {end}")),
                "after your first PTRACE_SEIZE (thread {first}) the target's main thread should still run, \
                 but it could not end threads: seize with no options, and call seized(tid) right after each PTRACE_SEIZE, before any PTRACE_INTERRUPT"
            );
            // Gone from /proc, so that a seize of theirs fails for sure; but
            // one the lab seized first stays there, a zombie, until the lab
            // waits for it.
            let deadline = Instant::now() + Duration::from_secs(1);
            while target.tids().len() as u64 != 1 + initial - end && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let reply = target.order(&format!("spawn {late}"));
        assert_eq!(
            reply,
            Some(format!("spawned {late}")),
            "after your first PTRACE_SEIZE (thread {first}) the target's threads should still run, \
             but its main thread could not start new ones: seize with no options, and call seized(tid) right after each PTRACE_SEIZE, before any PTRACE_INTERRUPT"
        );
        let threads = target.tids();
        let late: Vec<i32> = threads
            .iter()
            .copied()
            .filter(|tid| !before.contains(tid))
            .collect();
        lab.go_on();
        let said_held = lab.expect("holding", "once it holds every thread");
        let said_held = said_held.parse().unwrap_or(usize::MAX);
        Held {
            lab,
            target,
            late,
            said_held,
        }
    }

    /// Which thread `tid` is, in words.
    pub fn which(&self, tid: i32) -> String {
        if tid == self.target.pid {
            format!("thread {tid}, the main thread,")
        } else if self.late.contains(&tid) {
            format!("thread {tid}, started after your first PTRACE_SEIZE,")
        } else {
            format!("thread {tid}, there from the start,")
        }
    }

    /// Every thread of the target is in a ptrace-stop traced by the lab,
    /// and none runs for 300 ms.
    pub fn assert_all_held(&self) {
        let stderr = self.lab.stderr();
        let threads = self.target.tids();
        for tid in &self.late {
            assert!(
                threads.contains(tid),
                "thread {tid}, started after your first PTRACE_SEIZE, is gone; your stderr:\n{stderr}"
            );
        }
        for &tid in &threads {
            let (state, tracer) = self.target.seen(tid);
            assert!(
                state.starts_with('t') && tracer == self.lab.pid.to_string(),
                "{} should be held: in a ptrace-stop (t) with TracerPid {} (the lab), but it is `{state}` with TracerPid {tracer}; your stderr:\n{stderr}",
                self.which(tid),
                self.lab.pid
            );
        }
        let before = self.target.switches();
        std::thread::sleep(Duration::from_millis(300));
        let after = self.target.switches();
        for (tid, count) in &before {
            assert_eq!(
                after.get(tid),
                Some(count),
                "{} ran while you held it: its voluntary context switches went from {count} to {:?}",
                self.which(*tid),
                after.get(tid)
            );
        }
        assert_eq!(
            self.said_held,
            threads.len(),
            "the lab should hold the target's {} threads, and says it holds {}",
            threads.len(),
            self.said_held
        );
    }

    /// Lets them go: every thread runs again, untraced, while the lab is
    /// still there; the lab then exits 0, and the target ends normally,
    /// every thread having run to its end.
    pub fn assert_released(mut self, started: u64) {
        // Counted while they are held: the main thread, asleep in read(2),
        // counts one more only when it goes back to sleep after the release.
        let threads = self.target.tids();
        let before = self.target.switches();
        self.lab.go_on();
        self.lab.expect("released", "once it has let them go");
        let stderr = self.lab.stderr();
        let deadline = Instant::now() + Duration::from_secs(2);
        for &tid in &threads {
            loop {
                let (state, tracer) = self.target.seen(tid);
                let runs = self.target.switches().get(&tid) > before.get(&tid);
                if tracer == "0" && !state.starts_with('t') && !state.starts_with('T') && runs {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "once you let go, {} should run again untraced, but it is `{state}` with TracerPid {tracer}, \
                     and it has{} run since; your stderr:\n{stderr}",
                    self.which(tid),
                    if runs { "" } else { " not" }
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let status = self.lab.end();
        assert!(
            status.success(),
            "the lab should exit 0 at the end of its stdin, and ended {status}; its stderr:\n{}",
            self.lab.stderr()
        );
        let (status, report) = self.target.finish();
        let wanted = format!("target: {started} threads started, {started} ran to their end");
        assert!(
            status.is_some_and(|status| status.success()) && report == wanted,
            "the target should end normally, saying \"{wanted}\"; it said \"{report}\" and ended {status:?}"
        );
    }
}

/// Threads there from the start and threads started during the attach:
/// while the lab says it holds them, every one is stopped and traced by
/// the lab, and none runs.
#[test]
fn every_thread_is_held_even_those_started_while_attaching() {
    let (initial, late) = (random_in(2, 6), random_in(2, 6));
    let held = Held::run(initial, 0, late);
    held.assert_all_held();
}

/// After the hold (checked too: letting go of what was never held counts
/// for nothing), every thread runs again, untraced, and the process ends
/// normally, each of its threads having run to its end.
#[test]
fn released_threads_run_on_and_the_process_ends_normally() {
    let (initial, late) = (random_in(2, 6), random_in(1, 4));
    let held = Held::run(initial, 0, late);
    held.assert_all_held();
    held.assert_released(initial + late);
}

#[cfg(feature = "hidden")]
mod hidden;
