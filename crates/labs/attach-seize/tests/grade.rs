//! Grading tests for lab-attach-seize. The lab attaches to processes the
//! test starts, and the test looks at them in /proc at set moments: the
//! lab's stderr is a pipe the test keeps full, so that the lab waits in
//! write(2) right after PTRACE_ATTACH, right after PTRACE_SEIZE and right
//! after the stop PTRACE_INTERRUPT asked for; there the kernel must say that
//! the lab traces the process, and whether it is stopped. What the lab
//! prints is compared with the demo's snapshots too, but printing alone
//! passes nothing. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use workbook::testing::random_u64;
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

/// A field of /proc/PID/status ("" once the process is gone).
fn status_field(pid: i32, field: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A run of the lab, as the demo's snapshots show one: redacted as
/// `Transcript::of_run` does, with the lab's name made the demo's, and
/// `renames` applied first. The kernel's comm holds 15 bytes: the lab's is
/// "lab-attach-seiz".
fn transcript(
    code: Option<i32>,
    stdout: &[u8],
    stderr: &[u8],
    renames: &[(&str, &str)],
) -> Transcript {
    let text = |bytes: &[u8]| {
        let mut text = String::from_utf8_lossy(bytes)
            .replace("lab-attach-seize", "attach-seize")
            .replace("(lab-attach-seiz)", "(attach-seize)");
        for (from, to) in renames {
            text = text.replace(from, to);
        }
        workbook::testing::redact(&text)
    };
    Transcript {
        exit_code: code.unwrap_or(-1),
        stdout: text(stdout),
        stderr: text(stderr).trim_end_matches('\n').to_string(),
    }
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let output = run(lab().args(args));
    let ours = transcript(output.status.code(), &output.stdout, &output.stderr, &[]);
    let demo = Transcript::of_demo("attach-seize", snapshot);
    ours.assert_same_as(&demo, &format!("`lab-attach-seize {}`", args.join(" ")));
}

/// A process of the test's own, with a random name, that sleeps in
/// pause(2); killed and reaped when the test ends.
struct Sleeper {
    pid: i32,
    comm: String,
    /// Where it sleeps: the instruction after its syscall, from
    /// /proc/PID/syscall. A tracer that stops it there reads this in rip.
    pc: String,
}

impl Sleeper {
    fn start() -> Sleeper {
        let comm = format!("sleeper-{:06x}", random_u64() & 0xff_ffff);
        let name = std::ffi::CString::new(comm.clone()).expect("no NUL");
        let null = std::ffi::CString::new("/dev/null").expect("no NUL");
        // SAFETY: the child makes only async-signal-safe calls on memory
        // prepared before the fork, and never returns into the test.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // SAFETY: see above.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The test is sealed (non-dumpable), and we inherit that:
                // the lab must be able to attach to us, not to the test.
                libc::prctl(libc::PR_SET_DUMPABLE, 1);
                libc::prctl(libc::PR_SET_NAME, name.as_ptr());
                let null = libc::open(null.as_ptr(), libc::O_RDWR);
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
                for fd in 3..1024 {
                    libc::close(fd);
                }
                loop {
                    libc::syscall(libc::SYS_pause);
                }
            }
        }
        let mut sleeper = Sleeper {
            pid,
            comm,
            pc: String::new(),
        };
        // Asleep once /proc says it waits in pause (34).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let syscall = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
            if let Some(args) = syscall.strip_prefix("34 ") {
                sleeper.pc = args
                    .split_whitespace()
                    .last()
                    .unwrap_or_default()
                    .to_string();
                break;
            }
            assert!(Instant::now() < deadline, "the sleeper did not fall asleep");
            std::thread::sleep(Duration::from_millis(2));
        }
        sleeper
    }

    /// A field of /proc/PID/status.
    fn status(&self, field: &str) -> String {
        status_field(self.pid, field)
    }

    /// Who traces it and its state: ("1234", "t (tracing stop)").
    fn seen(&self) -> (String, String) {
        (self.status("TracerPid:"), self.status("State:"))
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        // SAFETY: kill and waitpid on our own child.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

/// What the test saw of the sleeper during a stepped run of
/// `lab-attach-seize --pid PID`: (TracerPid, State) right after ATTACH,
/// right after SEIZE, at the stop INTERRUPT asked for, and after the lab
/// ended; the lab's pid, exit code and stderr.
struct Stepped {
    lab: i32,
    after_attach: (String, String),
    after_seize: Option<(String, String)>,
    after_interrupt: Option<(String, String)>,
    left: (String, String),
    code: Option<i32>,
    stderr: Vec<u8>,
}

/// The lab's stderr: a pipe of two pages that the test fills with NULs
/// before the lab starts, so its first write waits. Each step stops the
/// lab (SIGSTOP), frees one page and refills it but for `room` bytes, and
/// lets the lab go on (SIGCONT): its writes fill those bytes, and the first
/// one that does not fit waits, once the lab has printed `room` bytes or a
/// little less. (A page freed at the head of a pipe takes a write whole; a
/// write that does not fit in the last page waits for a free page.)
struct Stderr {
    read: File,
    write: File,
    lab: i32,
}

const PAGE: usize = 4096;

impl Stderr {
    fn new() -> (Stderr, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both descriptors are new and ours.
        let (read, write) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on our own descriptors.
        unsafe {
            let size = libc::fcntl(
                write.as_raw_fd(),
                libc::F_SETPIPE_SZ,
                2 * PAGE as libc::c_int,
            );
            assert_eq!(size, 2 * PAGE as libc::c_int, "F_SETPIPE_SZ");
        }
        (&write)
            .write_all(&[0u8; 2 * PAGE])
            .expect("filling the pipe");
        let for_lab = write.try_clone().expect("dup").into();
        (
            Stderr {
                read,
                write,
                lab: 0,
            },
            for_lab,
        )
    }

    /// Waits until `check` holds, up to 5 s or until the lab is gone; says
    /// whether it held.
    fn until(&self, check: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if check() {
                return true;
            }
            let state = status_field(self.lab, "State:");
            if state.is_empty() || state.starts_with('Z') || Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Whether the lab waits in write(2) to its stderr: asleep there (S),
    /// twice 5 ms apart, with the same arguments (a stopped lab, or one on
    /// its way elsewhere, can show a write for a moment).
    fn lab_waits_to_write(&self) -> bool {
        let sample = || {
            let before = status_field(self.lab, "State:");
            let syscall =
                fs::read_to_string(format!("/proc/{}/syscall", self.lab)).unwrap_or_default();
            let after = status_field(self.lab, "State:");
            (before.starts_with('S') && after.starts_with('S') && syscall.starts_with("1 0x2 "))
                .then_some(syscall)
        };
        let Some(first) = sample() else {
            return false;
        };
        std::thread::sleep(Duration::from_millis(5));
        sample() == Some(first)
    }

    /// Lets the lab print `room` bytes more, and waits until it waits to
    /// write again. False if it never does (it ended, or it hangs).
    fn step(&mut self, room: usize) -> bool {
        // SAFETY: kill takes plain numbers.
        unsafe { libc::kill(self.lab, libc::SIGSTOP) };
        let lab = self.lab;
        if !self.until(|| status_field(lab, "State:").starts_with('T')) {
            return false;
        }
        let mut page = vec![0u8; PAGE];
        self.read
            .read_exact(&mut page)
            .expect("reading the lab's stderr");
        self.write
            .write_all(&vec![0u8; PAGE - room.min(PAGE)])
            .expect("refilling the lab's stderr");
        // SAFETY: kill takes plain numbers.
        unsafe { libc::kill(self.lab, libc::SIGCONT) };
        self.until(|| self.lab_waits_to_write())
    }

    /// Everything the lab printed (the NULs left out), once it is done.
    fn drain(self, mut child: Child) -> (Option<i32>, Vec<u8>) {
        let Stderr {
            mut read, write, ..
        } = self;
        drop(write);
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = read.read_to_end(&mut bytes);
            bytes
        });
        let status = child.wait().expect("waiting for the lab");
        let mut bytes = reader.join().expect("the reader");
        bytes.retain(|&byte| byte != 0);
        (status.code(), bytes)
    }
}

/// The demo's words for the run on a running process, split where the
/// stepped run stops the lab: through the ATTACH round (its last line
/// "PTRACE_DETACH"), and through "PTRACE_INTERRUPT", with the sleeper's
/// and the lab's pids, names and address put in.
fn expected_rounds(sleeper: &Sleeper, lab: i32, lab_comm: &str) -> (String, String) {
    let demo =
        Transcript::of_demo("attach-seize", "pid_of_a_running_process_is_left_running").stderr;
    let fill = |text: &str| {
        text.replace(
            "pid [PID] (attach-seize)",
            &format!("pid {lab} ({lab_comm})"),
        )
        .replace("[PID]", &sleeper.pid.to_string())
        .replace("(sleep)", &format!("({})", sleeper.comm))
        .replace("[ADDR]", &sleeper.pc)
    };
    let attach_end = demo.find("\n\n== PTRACE_SEIZE").expect("the SEIZE round") + 1;
    let interrupt = "attach-seize: PTRACE_INTERRUPT\n";
    let interrupt_end = demo.find(interrupt).expect("PTRACE_INTERRUPT") + interrupt.len();
    (
        fill(&demo[..attach_end]),
        fill(&demo[attach_end..interrupt_end]),
    )
}

/// `lab-attach-seize --pid PID` on a new sleeper, looked at in three
/// places (see `Stderr`).
fn stepped_run() -> (Sleeper, Stepped) {
    let sleeper = Sleeper::start();
    let (mut stderr, for_lab) = Stderr::new();
    let mut command = lab();
    command
        .args(["--pid", &sleeper.pid.to_string()])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::from(for_lab));
    let child = limited(&mut command)
        .spawn()
        .expect("starting lab-attach-seize");
    // Its copy of the pipe's write end: only the lab's is to be left.
    drop(command);
    let lab_pid = child.id() as i32;
    stderr.lab = lab_pid;
    let mut seen = Stepped {
        lab: lab_pid,
        after_attach: (String::new(), String::new()),
        after_seize: None,
        after_interrupt: None,
        left: (String::new(), String::new()),
        code: None,
        stderr: Vec::new(),
    };
    // Its first words wait: it has attached, and our SIGSTOP stops the sleeper.
    let traced_by_lab = |seen: &(String, String)| seen.0 == lab_pid.to_string();
    // (A lab that waits to write and has not attached never will.)
    stderr.until(|| {
        let now = sleeper.seen();
        (traced_by_lab(&now) && now.1.starts_with('t'))
            || (!traced_by_lab(&now) && stderr.lab_waits_to_write())
    });
    seen.after_attach = sleeper.seen();
    let lab_comm = fs::read_to_string(format!("/proc/{lab_pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string();
    let (attach_round, seize_round) = expected_rounds(&sleeper, lab_pid, &lab_comm);
    // The ATTACH round, and its next words wait: it has seized, no more.
    // (12 bytes to spare: the next write, "\n== PTRACE_SEIZE to pid ", is 24.)
    if stderr.step(attach_round.len() + 12) {
        seen.after_seize = Some(sleeper.seen());
        // Through "PTRACE_INTERRUPT", and the wait for its stop; the next
        // write, "attach-seize: waitpid: status ", is 30 bytes.
        if stderr.step(seize_round.len() + 12) {
            seen.after_interrupt = Some(sleeper.seen());
        }
    }
    let (code, bytes) = stderr.drain(child);
    seen.code = code;
    seen.stderr = bytes;
    // Detached, it goes back to sleep.
    let deadline = Instant::now() + Duration::from_secs(2);
    while sleeper.seen() != ("0".to_string(), "S (sleeping)".to_string())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    seen.left = sleeper.seen();
    (sleeper, seen)
}

impl Stepped {
    fn says(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// After PTRACE_ATTACH, before the lab waits for it: the sleeper is
    /// the lab's, and in a tracing stop (its SIGSTOP).
    fn assert_attach_stopped_it(&self) {
        let (tracer, state) = &self.after_attach;
        assert!(
            *tracer == self.lab.to_string() && state.starts_with('t'),
            "right after PTRACE_ATTACH the process must be traced by the lab (pid {}) and \
             stopped (t); it had TracerPid {tracer}, State {state}\n{}",
            self.lab,
            self.says()
        );
    }
}

/// PTRACE_ATTACH stops the process the test started (the kernel says so
/// while the lab waits to print), and after both rounds it sleeps on,
/// untraced; the lab's stderr is the demo's, its rip is where the process
/// sleeps. And on the demo's own victim the lab runs as the demo does.
#[test]
fn attach_stops_the_process_and_detach_lets_it_go() {
    let (sleeper, seen) = stepped_run();
    seen.assert_attach_stopped_it();
    let stderr = seen.says();
    let ours = transcript(
        seen.code,
        b"",
        &seen.stderr,
        &[(&format!("({})", sleeper.comm), "(sleep)")],
    );
    let demo = Transcript::of_demo("attach-seize", "pid_of_a_running_process_is_left_running");
    ours.assert_same_as(&demo, "`lab-attach-seize --pid PID`");
    assert_eq!(
        stderr
            .matches(&format!("stopped at rip = {}\n", sleeper.pc))
            .count(),
        2,
        "both stops are where the process sleeps, {}: {stderr}",
        sleeper.pc
    );
    let (tracer, state) = &seen.left;
    assert!(
        tracer == "0" && state.starts_with('S'),
        "after the lab, the process must sleep on, untraced: TracerPid {tracer}, State {state}\n{stderr}"
    );
    same_as_demo(&[], "default_run_attaches_seizes_and_shows_the_three_facts");
    assert_no_orphaned_targets();
}

/// Right after PTRACE_SEIZE the process is the lab's and still sleeps, not
/// stopped; at the stop of PTRACE_INTERRUPT it is in a tracing stop. The
/// kernel says so while the lab waits to print.
#[test]
fn seize_does_not_stop_it_but_interrupt_does() {
    let (_sleeper, seen) = stepped_run();
    let stderr = seen.says();
    let lab = seen.lab.to_string();
    let Some((tracer, state)) = &seen.after_seize else {
        panic!("the lab never went past the ATTACH round as the demo does:\n{stderr}");
    };
    assert!(
        *tracer == lab && state.starts_with('S'),
        "right after PTRACE_SEIZE the process must be traced by the lab (pid {lab}) and \
         still sleep (S); it had TracerPid {tracer}, State {state}\n{stderr}"
    );
    let Some((tracer, state)) = &seen.after_interrupt else {
        panic!("the lab never went past PTRACE_INTERRUPT as the demo does:\n{stderr}");
    };
    assert!(
        *tracer == lab && state.starts_with('t'),
        "at the stop of PTRACE_INTERRUPT the process must be traced by the lab (pid {lab}) \
         and stopped (t); it had TracerPid {tracer}, State {state}\n{stderr}"
    );
    assert_eq!(seen.code, Some(0), "{stderr}");
}

/// What the kernel refuses is an error that names the call and the pid.
/// (And a process it may trace is attached to and stopped.)
#[test]
fn errors_name_the_call_and_the_pid() {
    let (_sleeper, seen) = stepped_run();
    seen.assert_attach_stopped_it();
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
    let fifo = std::env::temp_dir().join(format!("lab-attach-seize-{:016x}", random_u64()));
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
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let tracer = target.status("TracerPid:");
    target.let_go();
    let lab_pid = running.id();
    let output = running.wait_with_output().expect("waiting for the lab");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        tracer,
        lab_pid.to_string(),
        "the lab (pid {lab_pid}) never attached to the process: {stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("WSTOPSIG = 19 (SIGSTOP)").count(),
        1,
        "the ATTACH stop must be the SIGSTOP: {stderr}"
    );
    // Its handler runs once the process is scheduled after the detach.
    assert_eq!(
        target.report(Duration::from_secs(2)),
        String::from_utf8_lossy(REPORT.get().expect("set at the start")),
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
/// "caught SIGUSR1" and a random token into a pipe that `report` reads.
struct HeldInVfork {
    pid: i32,
    fifo: std::path::PathBuf,
    report: Option<std::fs::File>,
}

/// What the SIGUSR1 handler writes: "caught SIGUSR1 " and 16 random hex
/// digits, chosen before the fork.
static REPORT: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();

/// The write end of the report pipe, for the SIGUSR1 handler.
static REPORT_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn report_sigusr1(_: libc::c_int) {
    let fd = REPORT_FD.load(std::sync::atomic::Ordering::Relaxed);
    if let Some(message) = REPORT.get() {
        // SAFETY: write(2) is async-signal-safe; `message` is a static buffer.
        unsafe { libc::write(fd, message.as_ptr().cast(), message.len()) };
    }
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
        REPORT.get_or_init(|| {
            let mut report = [0u8; 32];
            let text = format!("caught SIGUSR1 {:016x}\n", random_u64());
            report.copy_from_slice(text.as_bytes());
            report
        });
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
