//! Grading tests for lab-refuse-trace. What the lab prints is checked
//! against what the kernel says at that moment: who really traces it (read
//! by the test from /proc while the lab waits to print), and with which errno
//! PTRACE_TRACEME really failed (one the test picks at random, that only the
//! kernel tells the lab). Printing the expected lines is not enough. Each
//! test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use nix::errno::Errno;
use workbook::names::errno_name;
use workbook::testing::random_u64;
use workbook::testing::{bin_dir, deny_syscall, workspace_bin, Transcript};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-refuse-trace"));
    workbook::testing::limited(&mut command);
    command
}

/// The test binary's own name, as the snapshots show it: [TEST].
fn own_comm() -> String {
    fs::read_to_string("/proc/self/comm")
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// `ours` (a run of the lab) as the demo's snapshot `snapshot` shows it.
fn assert_same_as_demo(mut ours: Transcript, snapshot: &str, what: &str) {
    ours.stderr = ours.stderr.replace(&own_comm(), "[TEST]");
    let demo = Transcript::of_demo("refuse-trace", snapshot);
    ours.assert_same_as(&demo, &format!("{what} (the demo's snapshot {snapshot})"));
}

/// A field of /proc/PID/status ("" when the process is gone).
fn status_field(pid: u32, field: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A pipe whose buffer is already full: a process that writes to it waits
/// in write(2) until the test reads. Returns (read end, write end).
fn full_pipe() -> (File, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors are new and ours.
    let (read, write) = unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on our own descriptor; the flag goes before the lab
    // inherits the pipe (it must block, not fail with EAGAIN).
    unsafe {
        libc::fcntl(write.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
        let filler = [0u8; 4096];
        while libc::write(write.as_raw_fd(), filler.as_ptr().cast(), filler.len()) > 0 {}
        libc::fcntl(write.as_raw_fd(), libc::F_SETFL, 0);
    }
    (read, write)
}

/// Nobody traces the lab: it says hello. And PTRACE_TRACEME succeeded, so
/// its parent, this test, is now its tracer: the kernel says so in the
/// lab's /proc/PID/status while "Hello world!" waits in a full pipe.
#[test]
fn untraced_it_says_hello() {
    let (mut stdout, write_end) = full_pipe();
    let mut child = lab()
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting lab-refuse-trace");
    let pid = child.id();
    // Until it waits in write(1, ...), or has ended.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let syscall = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        let state = status_field(pid, "State:");
        if syscall.starts_with("1 0x1 ") || state.is_empty() || state.starts_with('Z') {
            break;
        }
        assert!(Instant::now() < deadline, "the lab never wrote to stdout");
        std::thread::sleep(Duration::from_millis(2));
    }
    let tracer = status_field(pid, "TracerPid:");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr);
    let status = child.wait().expect("waiting for the lab");
    let stdout = reader.join().expect("the reader");
    let stdout = String::from_utf8_lossy(&stdout)
        .trim_start_matches('\0')
        .to_string();
    // Its parent is the test's thread that started it.
    // SAFETY: gettid has no arguments and can't fail.
    let parent = unsafe { libc::gettid() };
    assert_eq!(
        tracer,
        parent.to_string(),
        "while it printed {stdout:?}, the lab's TracerPid was {tracer:?}, not its parent's \
         (this test's): PTRACE_TRACEME did not succeed\n{stderr}"
    );
    let ours = Transcript {
        exit_code: status.code().unwrap_or(-1),
        stdout: workbook::testing::redact(&stdout),
        stderr: workbook::testing::redact(&stderr.replace("lab-refuse-trace", "refuse-trace"))
            .trim_end_matches('\n')
            .to_string(),
    };
    assert_same_as_demo(ours, "untraced_it_says_hello", "lab-refuse-trace");
}

/// Under a tracer, the lab refuses and names it. First under the demo
/// tracer-tracee, as the demo's snapshot shows. Then, three times, under a
/// tracer that is not its parent: one of ten like processes of the test,
/// picked at random, seizes it before it starts. Its TracerPid is that
/// process's pid, which the lab can learn only from the kernel (a guess is
/// right once in a thousand runs).
#[test]
fn under_a_tracer_it_refuses_and_names_it() {
    let mut tracer = Command::new(workspace_bin("tracer-tracee"));
    workbook::testing::limited(&mut tracer);
    tracer
        .current_dir(bin_dir())
        .args(["--", "./lab-refuse-trace"]);
    let mut ours = Transcript::of_run(&mut tracer, ("lab-refuse-trace", "refuse-trace"));
    ours.stderr = ours.stderr.replace(&own_comm(), "[TEST]");
    assert_same_as_demo(
        ours,
        "under_tracer_tracee_it_refuses",
        "tracer-tracee -- ./lab-refuse-trace",
    );
    for _ in 0..3 {
        refuses_a_tracer_that_is_not_its_parent();
    }
}

fn refuses_a_tracer_that_is_not_its_parent() {
    let mut helpers = Helpers::start(10);
    // sh waits for a line on stdin, then execs the lab (same pid); the
    // chosen helper seizes sh meanwhile, so it traces the lab from its start.
    let mut command = Command::new("sh");
    workbook::testing::limited(&mut command);
    command
        .args(["-c", "read go && exec \"$0\""])
        .arg(get_cargo_bin("lab-refuse-trace"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("starting sh");
    let chosen = (random_u64() % helpers.pids.len() as u64) as usize;
    let tracer = helpers.seize(chosen, child.id() as libc::pid_t);
    let tracer_comm = fs::read_to_string(format!("/proc/{tracer}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string();
    let mut go = child.stdin.take().expect("piped");
    go.write_all(b"go\n").expect("writing to sh");
    drop(go);
    let output = child.wait_with_output().expect("waiting for the lab");
    drop(helpers);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "DO NOT PTRACE ME!!!\n",
        "the lab, traced by pid {tracer}, did not refuse: {stderr}"
    );
    let expected = format!(
        "refuse-trace: PTRACE_TRACEME failed with EPERM (Operation not permitted)\n\
         refuse-trace: we are already traced by pid {tracer} ({tracer_comm}): TracerPid in /proc/self/status\n"
    );
    assert_eq!(
        stderr, expected,
        "traced by pid {tracer}, a process that is not its parent"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

/// Children of the test, alike until one of them is told to seize a
/// process: it then passes its signals on until it ends. The others only
/// wait for the end.
struct Helpers {
    pids: Vec<libc::pid_t>,
    orders: Vec<File>,
    replies: Vec<File>,
}

/// A helper's life: read a pid (0: nobody), seize it if any and say so,
/// then trace it to its end, or wait for the test to close its orders.
/// Only async-signal-safe calls: it runs in a fork of the test.
fn helper(orders: libc::c_int, replies: libc::c_int) -> ! {
    // SAFETY: prctl, read, write, ptrace, waitpid and _exit, on our own
    // descriptors and locals.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Nothing of the test's: other helpers' pipes must reach their end.
        for fd in 3..1024 {
            if fd != orders && fd != replies {
                libc::close(fd);
            }
        }
        let mut tracee: libc::pid_t = 0;
        let size = std::mem::size_of::<libc::pid_t>();
        if libc::read(orders, (&mut tracee as *mut libc::pid_t).cast(), size) != size as isize {
            libc::_exit(0);
        }
        let seized = tracee > 0
            && libc::ptrace(
                libc::PTRACE_SEIZE,
                tracee,
                0,
                libc::PTRACE_O_EXITKILL as libc::c_ulong,
            ) == 0;
        let reply = if seized { b'y' } else { b'n' };
        libc::write(replies, (&reply as *const u8).cast(), 1);
        if !seized {
            let mut byte = 0u8;
            while libc::read(orders, (&mut byte as *mut u8).cast(), 1) > 0 {}
            libc::_exit(0);
        }
        loop {
            let mut status = 0;
            if libc::waitpid(tracee, &mut status, libc::__WALL) != tracee {
                libc::_exit(1);
            }
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                libc::_exit(0);
            }
            // A signal is passed on; a stop of the tracer's own (an event) is not.
            let signal = match status >> 16 {
                0 => libc::WSTOPSIG(status),
                _ => 0,
            };
            libc::ptrace(libc::PTRACE_CONT, tracee, 0, signal as libc::c_ulong);
        }
    }
}

impl Helpers {
    fn start(count: usize) -> Helpers {
        let mut helpers = Helpers {
            pids: Vec::new(),
            orders: Vec::new(),
            replies: Vec::new(),
        };
        for _ in 0..count {
            let (mut orders, mut replies) = ([0; 2], [0; 2]);
            // SAFETY: each array has room for two descriptors.
            unsafe {
                assert_eq!(libc::pipe2(orders.as_mut_ptr(), libc::O_CLOEXEC), 0);
                assert_eq!(libc::pipe2(replies.as_mut_ptr(), libc::O_CLOEXEC), 0);
            }
            // SAFETY: the child runs `helper`, which never returns.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork");
            if pid == 0 {
                helper(orders[0], replies[1]);
            }
            // SAFETY: the other ends are the child's; these are ours.
            unsafe {
                libc::close(orders[0]);
                libc::close(replies[1]);
                helpers.orders.push(File::from_raw_fd(orders[1]));
                helpers.replies.push(File::from_raw_fd(replies[0]));
            }
            helpers.pids.push(pid);
        }
        helpers
    }

    /// Helper `chosen` seizes `tracee`; the others are told nobody. Returns
    /// the tracer's pid.
    fn seize(&mut self, chosen: usize, tracee: libc::pid_t) -> libc::pid_t {
        for (n, orders) in self.orders.iter_mut().enumerate() {
            let pid: libc::pid_t = if n == chosen { tracee } else { 0 };
            orders
                .write_all(&pid.to_ne_bytes())
                .expect("ordering a helper");
        }
        for (n, replies) in self.replies.iter_mut().enumerate() {
            let mut reply = [0u8];
            let _ = replies.read(&mut reply);
            if n == chosen {
                assert_eq!(&reply, b"y", "the test's tracer could not seize the lab");
            }
        }
        self.pids[chosen]
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        // Closed orders end the idle ones; the tracer ends with its tracee.
        self.orders.clear();
        for &pid in &self.pids {
            // SAFETY: waitpid on our own children.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        }
    }
}

/// PTRACE_TRACEME refused by a seccomp filter, as a container may do, with
/// an errno the test picks at random: the refusal names that errno, and no
/// tracer is listed in /proc/self/status.
#[test]
fn a_refusal_without_a_tracer_names_nobody() {
    // errno values with a name (Linux has no 41 or 58).
    let known: Vec<i32> = (1..=133)
        .filter(|&errno| Errno::from_raw(errno) != Errno::UnknownErrno)
        .collect();
    let mut picked = Vec::new();
    while picked.len() < 3 {
        let errno = known[(random_u64() % known.len() as u64) as usize];
        if !picked.contains(&errno) {
            picked.push(errno);
        }
    }
    for errno in picked {
        let name = errno_name(Errno::from_raw(errno));
        let mut command = lab();
        // SAFETY: the closure only calls prctl, which is async-signal-safe.
        unsafe { command.pre_exec(deny_syscall(libc::SYS_ptrace, Some(0), errno)) };
        let output = workbook::testing::run(&mut command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "DO NOT PTRACE ME!!!\n",
            "PTRACE_TRACEME failed with {name}: {stderr}"
        );
        assert_eq!(
            stderr,
            format!(
                "refuse-trace: PTRACE_TRACEME failed with {name}\n\
                 refuse-trace: no tracer is listed in /proc/self/status\n"
            ),
            "PTRACE_TRACEME failed with {name}, and TracerPid is 0: nobody traces the lab"
        );
    }
}
