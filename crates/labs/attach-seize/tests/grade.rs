//! Grading tests for lab-attach-seize: the lab must run as the demo does,
//! and leave the processes it traced running. Each test's points are in
//! lab.toml.

use std::fs;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use workbook::testing::{assert_no_orphaned_targets, Transcript};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-attach-seize"));
    workbook::testing::limited(&mut command);
    command
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let mut ours = Transcript::of_run(lab().args(args), ("lab-attach-seize", "attach-seize"));
    // The kernel's comm holds 15 bytes: the lab's is "lab-attach-seiz".
    ours.stderr = ours.stderr.replace("(lab-attach-seiz)", "(attach-seize)");
    let demo = Transcript::of_demo("attach-seize", snapshot);
    assert_eq!(
        ours,
        demo,
        "`lab-attach-seize {}` differs from the demo",
        args.join(" ")
    );
}

/// The demo's own victim: ATTACH and its SIGSTOP, DETACH, SEIZE without a
/// stop, INTERRUPT and its PTRACE_EVENT_STOP, DETACH; the victim ticks on
/// after each.
#[test]
fn the_default_run_is_the_demos() {
    same_as_demo(&[], "default_run_attaches_seizes_and_shows_the_three_facts");
    assert_no_orphaned_targets();
}

/// A process the test started: after both rounds it runs, untraced.
#[test]
fn a_running_process_is_left_running() {
    let sleeper = Sleeper::start();
    same_as_demo(
        &["--pid", &sleeper.pid().to_string()],
        "pid_of_a_running_process_is_left_running",
    );
    let state = sleeper.status("State:");
    assert!(
        state.starts_with('S') || state.starts_with('R'),
        "the process is left in state {state}"
    );
    assert_eq!(
        sleeper.status("TracerPid:"),
        "0",
        "the process is still traced"
    );
}

/// What the kernel refuses is an error that names the call and the pid.
#[test]
fn errors_name_the_call_and_the_pid() {
    same_as_demo(&["--pid", "2147483647"], "missing_pid_is_esrch");
    let mut zombie = Command::new("true").spawn().expect("true");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(format!("/proc/{}/status", zombie.id()))
        .unwrap_or_default()
        .contains("State:\tZ")
    {
        assert!(Instant::now() < deadline, "true did not become a zombie");
        std::thread::sleep(Duration::from_millis(5));
    }
    same_as_demo(&["--pid", &zombie.id().to_string()], "zombie_is_named");
    zombie.wait().expect("reaping true");
}

/// `sleep 60`, killed and reaped when the test ends.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Sleeper {
        let sleeper = Sleeper(Command::new("sleep").arg("60").spawn().expect("sleep"));
        // Attach only once it runs `sleep`, not while it is still our fork.
        let deadline = Instant::now() + Duration::from_secs(5);
        while fs::read_to_string(format!("/proc/{}/comm", sleeper.pid())).unwrap_or_default()
            != "sleep\n"
        {
            assert!(Instant::now() < deadline, "sleep did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        sleeper
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// A field of /proc/PID/status.
    fn status(&self, field: &str) -> String {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
