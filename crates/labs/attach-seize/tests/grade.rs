//! Grading tests for lab-attach-seize: the lab must run as the demo does,
//! and leave the processes it traced running. Each test's points are in
//! lab.toml.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use workbook::testing::{assert_no_orphaned_targets, Transcript};

/// Seconds one run may take. The lab's runs take about a second; but a
/// process left stopped makes the SEIZE round wait for ever (PTRACE_INTERRUPT
/// brings no new stop), and that must cost only this lab's points, within
/// its time_limit.
const LIMIT_SECS: u32 = 10;

/// The lab.
fn lab() -> Command {
    Command::new(get_cargo_bin("lab-attach-seize"))
}

/// Runs `command` to its end, killed (SIGALRM) after `LIMIT_SECS`.
/// (`workbook::testing::run` would arm its own, longer limit.)
fn run(command: &mut Command) -> Output {
    workbook::testing::limited(command);
    // SAFETY: alarm(2) is async-signal-safe and touches no memory. This
    // alarm replaces the longer one that `limited` arms.
    unsafe {
        command.pre_exec(|| {
            libc::alarm(LIMIT_SECS);
            Ok(())
        })
    };
    command.output().expect("starting lab-attach-seize")
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it:
/// redacted as `Transcript::of_run` does, with the lab's name made the
/// demo's. The kernel's comm holds 15 bytes: the lab's is "lab-attach-seiz".
fn same_as_demo(args: &[&str], snapshot: &str) {
    let output = run(lab().args(args));
    let text = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes)
            .replace("lab-attach-seize", "attach-seize")
            .replace("(lab-attach-seiz)", "(attach-seize)");
        workbook::testing::redact(&text)
    };
    let ours = Transcript {
        exit_code: output.status.code().unwrap_or(-1),
        stdout: text(&output.stdout),
        stderr: text(&output.stderr).trim_end_matches('\n').to_string(),
    };
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
