//! `--count-stops` on the `calls` target, with a number of calls only the
//! test and the target know: for syscall-overhead's tests.
//!
//! The target (`builtin:calls NAME`, from the demo's binary: a program the
//! test trusts) connects to a Unix socket the test listens on, and reads
//! there which call to make and how many times. Before it answers, the test
//! asks the kernel who is on the other end (SO_PEERCRED): a process
//! running the demo's binary, a child of the tracer under test, traced by
//! it (TracerPid), which still runs its own program (not another one it
//! executed). So the count is in no argument, and only a tracer that
//! watched the target's calls can report it.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use workbook::targets::overhead::random_seed;

/// What `tracer --count-stops ROW` said of a `calls` target that made
/// `count` calls of `syscall`.
pub struct Counted {
    /// The number it reported, if it reported one.
    pub stops: Option<u64>,
    pub output: Output,
}

impl Counted {
    /// The count, or a panic that shows what the tracer said.
    pub fn stops(&self, what: &str) -> u64 {
        self.stops.unwrap_or_else(|| {
            panic!(
                "{what}: no count of stops ({}): {}",
                self.output.status,
                String::from_utf8_lossy(&self.output.stderr)
            )
        })
    }
}

/// `tracer --count-stops ROW -- bash -c 'exec -a builtin:calls "$0" "$1"'
/// TARGET NAME`: the `calls` target of `target` (a demo's binary) under the
/// tracer of `row` (`syscall` or `seccomp`) of `tracer`, told to make
/// `count` calls of `syscall` (getppid or reboot).
pub fn count_stops(tracer: &Path, target: &Path, row: &str, syscall: i64, count: u64) -> Counted {
    let name = format!(
        "workbook-calls-{:016x}{:016x}",
        random_seed().expect("getrandom"),
        random_seed().expect("getrandom")
    );
    let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("an abstract name");
    let listener = UnixListener::bind_addr(&address).expect("binding an abstract Unix socket");
    listener.set_nonblocking(true).expect("O_NONBLOCK");
    let mut command = Command::new(tracer);
    command
        .args(["--count-stops", row, "--", "bash", "-c"])
        .arg(r#"exec -a builtin:calls "$0" "$1""#)
        .arg(target)
        .arg(&name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The same calls besides the counted ones, every run: with addresses
    // randomized, arm64's dynamic loader makes one munmap more or less.
    workbook::testing::without_address_randomization(&mut command);
    workbook::testing::limited(&mut command);
    let mut child = command.spawn().expect("starting the tracer");
    let Some(mut stream) = accept_the_target(&listener, &mut child) else {
        let output = child.wait_with_output().expect("the tracer's output");
        panic!(
            "the calls target never asked what to do ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    if let Some(what) = not_the_target(peer_pid(&stream), child.id(), tracer, target) {
        // Whoever asked gets no answer: end of file, and it ends too.
        drop(stream);
        let _ = child.kill();
        let output = child.wait_with_output().expect("the tracer's output");
        panic!(
            "the process that asked for the calls' count is not the calls target started by \
             `--count-stops`: {what}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut request = Vec::new();
    request.extend((syscall as u64).to_ne_bytes());
    request.extend(count.to_ne_bytes());
    stream.write_all(&request).expect("sending the request");
    drop(stream);
    let output = child.wait_with_output().expect("the tracer's output");
    let stops = reported_stops(&String::from_utf8_lossy(&output.stderr));
    Counted { stops, output }
}

/// The target's connection, within 30 s; `None` if the tracer ended
/// first or the time ran out (then the tracer is killed).
fn accept_the_target(listener: &UnixListener, child: &mut Child) -> Option<UnixStream> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match listener.accept() {
            Ok((stream, _)) => return Some(stream),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                let ended = child.try_wait().expect("waitpid").is_some();
                if ended || Instant::now() > deadline {
                    if !ended {
                        let _ = child.kill();
                    }
                    return None;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(error) => panic!("accept: {error}"),
        }
    }
}

/// Why process `peer` is not the calls target that `tracer` (process
/// `tracer_pid`) started from `target`, or `None` when it is.
fn not_the_target(
    peer: u32,
    tracer_pid: u32,
    tracer: &Path,
    target: &Path,
) -> Option<&'static str> {
    let identity = |path: &Path| std::fs::metadata(path).map(|m| (m.dev(), m.ino())).ok();
    let exe = identity(Path::new(&format!("/proc/{peer}/exe")));
    let tracer_exe = identity(Path::new(&format!("/proc/{tracer_pid}/exe")));
    let status = std::fs::read_to_string(format!("/proc/{peer}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::trim)
            .and_then(|value| value.parse::<u32>().ok())
    };
    let checks = [
        (
            exe.is_some() && exe == identity(target),
            "it does not run the demo's binary",
        ),
        (
            tracer_exe.is_some() && tracer_exe == identity(tracer),
            "the tracer runs another program than the one started",
        ),
        (
            field("PPid:") == Some(tracer_pid),
            "it is not a child of the tracer",
        ),
        (
            field("TracerPid:") == Some(tracer_pid),
            "the tracer does not trace it (TracerPid in /proc/PID/status)",
        ),
    ];
    checks.iter().find(|(ok, _)| !ok).map(|&(_, what)| what)
}

/// The count on the tracer's last line of stderr: `... N syscall stops
/// (...)` or `... N seccomp stops (...)`.
fn reported_stops(stderr: &str) -> Option<u64> {
    let line = stderr.lines().last()?;
    let (before, _) = line
        .split_once(" syscall stops (")
        .or_else(|| line.split_once(" seccomp stops ("))?;
    before.rsplit(' ').next()?.parse().ok()
}

/// The process on the other end of `stream`, as the kernel knows it.
fn peer_pid(stream: &UnixStream) -> u32 {
    // SAFETY: ucred is plain data; all zeroes is a valid value.
    let mut credentials: libc::ucred = unsafe { std::mem::zeroed() };
    let mut length = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `length` bytes into `credentials`.
    let got = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut credentials as *mut libc::ucred).cast(),
            &mut length,
        )
    };
    assert_eq!(got, 0, "SO_PEERCRED: {}", std::io::Error::last_os_error());
    credentials.pid as u32
}

/// A number of calls from `low` to `high`, at random.
pub fn random_count(low: u64, high: u64) -> u64 {
    low + random_seed().expect("getrandom") % (high - low + 1)
}
