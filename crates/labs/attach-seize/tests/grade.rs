//! Grading tests for lab-attach-seize: the lab must run as the demo does,
//! and leave the processes it traced running. Each test's points are in
//! lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::fs;
use std::os::fd::FromRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use workbook::testing::{assert_no_orphaned_targets, Transcript};

/// Seconds one run may take. The lab's runs take about a second; but a
/// process left stopped makes the SEIZE round wait for ever (PTRACE_INTERRUPT
/// brings no new stop), and that must cost only this lab's points, within
/// its time_limit.
const LIMIT_SECS: u32 = 8;

/// The lab.
fn lab() -> Command {
    Command::new(get_cargo_bin("lab-attach-seize"))
}

/// `command`, killed (SIGALRM) if it runs past `LIMIT_SECS`.
/// (`workbook::testing::run` would arm its own, longer limit.)
fn limited(command: &mut Command) -> &mut Command {
    workbook::testing::limited(command);
    // SAFETY: alarm(2) is async-signal-safe and touches no memory. This
    // alarm replaces the longer one that `limited` arms.
    unsafe {
        command.pre_exec(|| {
            libc::alarm(LIMIT_SECS);
            Ok(())
        })
    };
    command
}

/// Runs `command` to its end, under `limited`.
fn run(command: &mut Command) -> Output {
    limited(command)
        .output()
        .expect("starting lab-attach-seize")
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
    ours.assert_same_as(&demo, &format!("`lab-attach-seize {}`", args.join(" ")));
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

/// A signal that reaches the process before the SIGSTOP of PTRACE_ATTACH
/// is the process's: the lab must pass it on, then wait on for its stop.
/// To make it come first every time, the target is held where signals wait
/// (in vfork, until its child has opened a FIFO), gets SIGUSR1 there, and
/// is let go only once the lab has attached: SIGUSR1 (10) and SIGSTOP (19)
/// are then both pending, and the kernel delivers the lower first.
#[test]
fn a_signal_that_comes_first_is_passed_on() {
    let fifo = std::env::temp_dir().join(format!("lab-attach-seize-{}-fifo", std::process::id()));
    let mut target = HeldInVfork::start(&fifo);
    let pid = target.pid.to_string();
    // SAFETY: tgkill takes numbers and touches no memory of ours.
    let sent = unsafe { libc::syscall(libc::SYS_tgkill, target.pid, target.pid, libc::SIGUSR1) };
    assert_eq!(sent, 0, "tgkill SIGUSR1");
    let mut command = lab();
    command
        .args(["--pid", &pid])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut running = limited(&mut command)
        .spawn()
        .expect("starting lab-attach-seize");
    // Until it attaches, or fails to.
    let deadline = Instant::now() + Duration::from_secs(5);
    while target.status("TracerPid:") == "0" && matches!(running.try_wait(), Ok(None)) {
        assert!(Instant::now() < deadline, "the lab did not attach");
        std::thread::sleep(Duration::from_millis(5));
    }
    target.let_go();
    let output = running.wait_with_output().expect("waiting for the lab");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("WSTOPSIG = 19 (SIGSTOP)").count(),
        1,
        "the ATTACH stop must be the SIGSTOP: {stderr}"
    );
    // Its handler runs once the process is scheduled after the detach.
    assert_eq!(
        target.report(Duration::from_secs(2)),
        "caught SIGUSR1\n",
        "the SIGUSR1 never reached the process's handler: {stderr}"
    );
    let state = target.status("State:");
    assert!(
        state.starts_with('S') || state.starts_with('R'),
        "the process is left in state {state}: {stderr}"
    );
}

/// The test's child, held in vfork (clone with CLONE_VM | CLONE_VFORK):
/// until the child it made ends, it sleeps where only SIGKILL wakes it, and
/// the signals sent to it wait. Its child opens a FIFO for reading, which
/// blocks until `let_go` opens it for writing. Its SIGUSR1 handler writes
/// "caught SIGUSR1" into a pipe that `report` reads.
struct HeldInVfork {
    pid: i32,
    fifo: std::path::PathBuf,
    report: Option<std::fs::File>,
}

/// The write end of the report pipe, for the SIGUSR1 handler.
static REPORT_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn report_sigusr1(_: libc::c_int) {
    let message = b"caught SIGUSR1\n";
    let fd = REPORT_FD.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: write(2) is async-signal-safe; `message` is a static buffer.
    unsafe { libc::write(fd, message.as_ptr().cast(), message.len()) };
}

extern "C" fn open_the_fifo(path: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `path` is the NUL-terminated path the parent keeps alive (it
    // waits for us); prctl, open and _exit are async-signal-safe.
    unsafe {
        // Should the target die first, so do we: nobody waits on the FIFO.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::open(path.cast::<libc::c_char>(), libc::O_RDONLY);
        libc::_exit(0)
    }
}

impl HeldInVfork {
    fn start(fifo: &std::path::Path) -> HeldInVfork {
        use std::os::unix::ffi::OsStrExt;
        let _ = fs::remove_file(fifo);
        let path = std::ffi::CString::new(fifo.as_os_str().as_bytes()).expect("a path");
        // SAFETY: `path` is NUL-terminated.
        let made = unsafe { libc::mkfifo(path.as_ptr(), 0o600) };
        assert_eq!(made, 0, "mkfifo {}", fifo.display());
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: the descriptors are new and ours.
        let report = unsafe { std::fs::File::from_raw_fd(fds[0]) };
        let null = std::ffi::CString::new("/dev/null").expect("a path");
        let mut stack = vec![0u8; 256 << 10];
        // The stack grows down, from its 16-byte aligned top.
        let top = (stack.as_mut_ptr() as usize + stack.len()) & !15;
        // SAFETY: the child makes only async-signal-safe calls (sigaction,
        // clone, pause) on memory prepared before the fork, and never
        // returns into the test.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // SAFETY: see above; `action` is zeroed, then filled in.
            unsafe {
                // Nothing of the test's: no streams to hold open, and no
                // life past the test's thread.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The grader runs this test from an execute-only copy, so the
                // kernel made the test non-dumpable, and we inherit that:
                // the lab must be able to attach to us, not to the test.
                libc::prctl(libc::PR_SET_DUMPABLE, 1);
                let null = libc::open(null.as_ptr(), libc::O_RDWR);
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
                REPORT_FD.store(fds[1], std::sync::atomic::Ordering::Relaxed);
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = report_sigusr1 as *const () as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut());
                let child = libc::clone(
                    open_the_fifo,
                    top as *mut libc::c_void,
                    libc::CLONE_VM | libc::CLONE_VFORK,
                    path.as_ptr() as *mut libc::c_void,
                );
                // It has exited: no zombie is left behind.
                libc::waitpid(child, std::ptr::null_mut(), libc::__WALL);
                loop {
                    libc::pause();
                }
            }
        }
        // SAFETY: the write end is ours to close here; the child has its copy.
        unsafe { libc::close(fds[1]) };
        let held = HeldInVfork {
            pid,
            fifo: fifo.to_path_buf(),
            report: Some(report),
        };
        // Held once it sleeps uninterruptibly (D), in the vfork.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !held.status("State:").starts_with('D') {
            assert!(
                Instant::now() < deadline,
                "the target was not held in vfork"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(stack);
        held
    }

    /// A field of /proc/PID/status.
    fn status(&self, field: &str) -> String {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid)).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Opens the FIFO for writing: the child's open returns, it exits, and
    /// the vfork ends.
    fn let_go(&self) {
        // Its child may not have reached its open() yet: then a writer's
        // non-blocking open fails with ENXIO, and we try again.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.open_the_fifo() {
                Ok(_) => return,
                Err(error)
                    if error.raw_os_error() == Some(libc::ENXIO) && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(error) => panic!("opening the FIFO for writing: {error}"),
            }
        }
    }

    fn open_the_fifo(&self) -> std::io::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.fifo)
    }

    /// What its handler reported: a line, or what came within `wait`.
    fn report(&mut self, wait: Duration) -> String {
        use std::os::fd::AsRawFd;
        let deadline = Instant::now() + wait;
        let mut report = Vec::new();
        let Some(file) = self.report.as_mut() else {
            return String::new();
        };
        while !report.ends_with(b"\n") {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut poll = libc::pollfd {
                fd: file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd, ours.
            if unsafe { libc::poll(&mut poll, 1, left.as_millis() as libc::c_int) } <= 0 {
                break;
            }
            let mut buffer = [0u8; 64];
            match std::io::Read::read(file, &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => report.extend_from_slice(&buffer[..n]),
            }
        }
        String::from_utf8_lossy(&report).into_owned()
    }

    fn end(&mut self) {
        if self.pid > 0 {
            // Its child may still wait on the FIFO (ENXIO if it does not).
            let _ = self.open_the_fifo();
            // SAFETY: kill and waitpid on our own child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
            self.pid = 0;
            let _ = fs::remove_file(&self.fifo);
        }
    }
}

impl Drop for HeldInVfork {
    fn drop(&mut self) {
        self.end();
    }
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
