//! attach-seize on its own victim and on a process the test starts, and its
//! one-line errors for pids it can't or may not trace.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use workbook::procfs::Status;
use workbook::testing::{
    assert_no_orphaned_targets, deny_syscall, redactions, redactions_per_arch, unprivileged,
};

/// The demo, killed if it runs past the time limit.
fn attach_seize() -> Command {
    let mut command = Command::new(get_cargo_bin("attach-seize"));
    workbook::testing::limited(&mut command);
    command
}

#[test]
fn default_run_attaches_seizes_and_shows_the_three_facts() {
    let _redactions = redactions_per_arch().bind_to_scope();
    workbook::assert_limited_snapshot!(attach_seize());
    assert_no_orphaned_targets();
}

/// A process the test started: after both rounds it is running, not stopped.
#[test]
fn pid_of_a_running_process_is_left_running() {
    let sleeper = Sleeper::start();
    let _redactions = redactions_per_arch().bind_to_scope();
    workbook::assert_limited_snapshot!(attach_seize().args(["--pid", &sleeper.pid().to_string()]));
    let state = sleeper.state();
    assert!(
        matches!(state, 'S' | 'R'),
        "the process is left in state {state}"
    );
}

/// A process stopped with `kill -STOP`: seizing it shows its group-stop at
/// once, so no PTRACE_INTERRUPT (which would bring no new stop) is waited
/// for; the demo ends, and the process is still stopped after it.
#[test]
fn pid_of_a_stopped_process_is_left_stopped() {
    let sleeper = Sleeper::start();
    let pid = nix::unistd::Pid::from_raw(sleeper.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while sleeper.state() != 'T' {
        assert!(Instant::now() < deadline, "sleep did not stop");
        std::thread::sleep(Duration::from_millis(5));
    }
    for _ in 0..5 {
        let output =
            workbook::testing::run(attach_seize().args(["--pid", &sleeper.pid().to_string()]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        // PTRACE_DETACH wakes a tracee in group-stop so that it stops again
        // untraced; under load the demo may end before it has, and for that
        // moment the process shows `R`. A resumed `sleep` never comes back.
        let deadline = Instant::now() + Duration::from_secs(5);
        while sleeper.state() == 'R' && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            sleeper.state(),
            'T',
            "the stopped process was resumed: {stderr}"
        );
        assert_eq!(sleeper.tracer(), None, "still traced: {stderr}");
    }
}

#[test]
fn missing_pid_is_esrch() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(attach_seize().args(["--pid", "2147483647"]));
}

#[test]
fn pid_must_be_positive() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(attach_seize().args(["--pid", "0"]));
}

#[test]
fn kernel_thread_is_refused() {
    let comm = fs::read_to_string("/proc/2/comm").unwrap_or_default();
    assert_eq!(
        comm.trim(),
        "kthreadd",
        "this test expects pid 2 to be kthreadd"
    );
    let output = attach_seize().args(["--pid", "2"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr,
        "attach-seize: PTRACE_ATTACH on pid 2: EPERM (Operation not permitted): \
         pid 2 is a kernel thread, and kernel threads can't be traced\n"
    );
}

/// Another user's process: EPERM, with the CAP_SYS_PTRACE hint. As root the
/// demo drops to uid 65534 first, so the test means the same for everyone.
#[test]
fn another_users_process_is_eperm_with_a_hint() {
    let mut command = attach_seize();
    command.args(["--pid", "1"]);
    unprivileged(&mut command);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "not a one-line error: {stderr}");
    assert!(stderr.contains("PTRACE_ATTACH on pid 1: EPERM"), "{stderr}");
    assert!(stderr.contains("needs CAP_SYS_PTRACE"), "{stderr}");
    assert!(stderr.contains("Yama"), "{stderr}");
}

/// Where a seccomp filter denies ptrace, as a container's may, the error
/// says so and names Docker's fix; the victim is not left behind.
#[test]
fn ptrace_denied_by_a_filter_gets_the_container_hint() {
    let mut command = attach_seize();
    // SAFETY: prctl is async-signal-safe; the filter lives in the child only.
    unsafe { command.pre_exec(deny_syscall(libc::SYS_ptrace, None, libc::EPERM)) };
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let error = stderr.lines().last().unwrap_or_default();
    assert!(
        error.starts_with("attach-seize: PTRACE_ATTACH on pid "),
        "{stderr}"
    );
    assert!(
        error.contains("a seccomp filter on this process"),
        "{stderr}"
    );
    assert!(
        error.contains("Docker needs --cap-add=SYS_PTRACE"),
        "{stderr}"
    );
    assert_no_orphaned_targets();
}

/// `sleep 60`, killed and reaped when the test ends.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Sleeper {
        let sleeper = Sleeper(Command::new("sleep").arg("60").spawn().unwrap());
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

    fn state(&self) -> char {
        state_of(self.pid())
    }

    fn tracer(&self) -> Option<nix::unistd::Pid> {
        status_of(self.pid()).tracer()
    }
}

fn status_of(pid: u32) -> Status {
    Status::of(nix::unistd::Pid::from_raw(pid as i32)).unwrap()
}

/// The state's letter in `/proc/PID/status` (`S`, `R`, `T`...).
fn state_of(pid: u32) -> char {
    status_of(pid).state().unwrap()
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A zombie (our child `true`, exited and not yet reaped) can't be traced:
/// EPERM, and the error says why instead of blaming an LSM or a container.
#[test]
fn zombie_is_named() {
    let mut child = Command::new("true").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap_or_default()
        .contains("State:\tZ")
    {
        assert!(Instant::now() < deadline, "true did not become a zombie");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(attach_seize().args(["--pid", &child.id().to_string()]));
    child.wait().unwrap();
}

/// A process of our own user that called prctl(PR_SET_DUMPABLE, 0), as a
/// set-user-ID program is non-dumpable: only CAP_SYS_PTRACE may trace it,
/// and the error says so. Both run unprivileged (as nobody under root).
#[test]
fn non_dumpable_process_needs_cap_sys_ptrace() {
    let target = Undumpable::start();
    let mut command = attach_seize();
    command.args(["--pid", &target.pid().to_string()]);
    unprivileged(&mut command);
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(command);
    // Refused, it sleeps on untraced: `S`, or `R` on its way back to sleep.
    let state = state_of(target.pid());
    assert!(
        matches!(state, 'S' | 'R'),
        "the target was disturbed: {state}"
    );
}

/// The built-in target `undumpable`, run unprivileged, killed and reaped
/// when the test ends.
struct Undumpable(Child);

impl Undumpable {
    fn start() -> Undumpable {
        use std::os::unix::fs::MetadataExt;
        let mut command = Command::new(get_cargo_bin("attach-seize"));
        command
            .arg0(workbook::targets::argv0("undumpable"))
            .stdin(std::process::Stdio::null());
        unprivileged(&mut command);
        let target = Undumpable(command.spawn().unwrap());
        // Ready once it is non-dumpable: its /proc/PID/status then belongs to root.
        let deadline = Instant::now() + Duration::from_secs(10);
        while fs::metadata(format!("/proc/{}/status", target.pid()))
            .map_or(true, |meta| meta.uid() != 0)
            || fs::read_to_string(format!("/proc/{}/comm", target.pid())).unwrap_or_default()
                != "undumpable\n"
        {
            assert!(
                Instant::now() < deadline,
                "the undumpable target did not start"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        target
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Undumpable {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
