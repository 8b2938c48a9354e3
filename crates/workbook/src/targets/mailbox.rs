//! The mailbox: how a test hands a built-in target inputs that the program
//! tracing it never sees, and reads back what the target saw.
//!
//! A target started in its `mailbox` mode (`builtin:breakme mailbox`,
//! `builtin:tries mailbox`, `builtin:writes mailbox`, `builtin:signal-lab
//! mailbox`) maps `LEN` bytes at the fixed address `ADDRESS`, says it is
//! ready there, and waits. The
//! test, an ancestor of the target, first makes sure the process runs the
//! demo's own binary and nothing else (its executable, the files it maps,
//! its mount namespace and root), then writes the inputs into that memory
//! with process_vm_writev: they go from the test to trusted code through
//! the kernel alone, past the lab program that started the target. The
//! target does its work with them and writes a report (the bytes it saw,
//! what its calls returned) into the same memory, and the test reads it with
//! process_vm_readv: a report the lab program can't forge by printing.
//! Only the target's output and exit status pass through the lab.
//!
//! The layout: three words (the state, the input's length, the report's
//! length), the input from `INPUT_AT`, the report from `REPORT_AT`. Inputs
//! and reports are sequences of little-endian `u64`s and length-prefixed
//! byte strings (`Writer`, `Reader`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where a target maps its mailbox: page-aligned, between where the kernel
/// puts programs (0x55..., 0x56...) and where it puts mappings (0x7f...).
pub const ADDRESS: usize = 0x5eed_0000_0000;
/// The mailbox's size.
pub const LEN: usize = 256 << 10;
/// Where the input starts, and how long it may be.
pub const INPUT_AT: usize = 4096;
pub const INPUT_MAX: usize = REPORT_AT - INPUT_AT;
/// Where the report starts, and how long it may be.
pub const REPORT_AT: usize = LEN / 2;
pub const REPORT_MAX: usize = LEN - REPORT_AT;

/// The states, in the first word: the target is ready, the test has posted
/// the input, the target has written its report, the test has read it.
pub const READY: u64 = 0x5eed_b0c5_0001;
pub const POSTED: u64 = 0x5eed_b0c5_0002;
pub const DONE: u64 = 0x5eed_b0c5_0003;
pub const READ: u64 = 0x5eed_b0c5_0004;

/// How long each side waits for the other.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A sequence of `u64`s and byte strings, as a mailbox holds them.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn u64(&mut self, value: u64) -> &mut Writer {
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Writer {
        self.u64(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }
}

/// Reads back what a `Writer` wrote.
pub struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, at: 0 }
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        let word = self
            .data
            .get(self.at..self.at + 8)
            .ok_or_else(|| format!("the mailbox's message ends at byte {}", self.at))?;
        self.at += 8;
        Ok(u64::from_le_bytes(word.try_into().expect("8 bytes")))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = usize::try_from(self.u64()?).map_err(|_| "a length past usize".to_string())?;
        let bytes = self
            .data
            .get(self.at..self.at.saturating_add(len))
            .ok_or_else(|| format!("the mailbox's message ends before {len} bytes"))?;
        self.at += len;
        Ok(bytes)
    }
}

/// The target's side: its mailbox, mapped.
pub struct Mailbox {
    base: *mut u8,
}

impl Mailbox {
    /// Maps the mailbox at `ADDRESS` and says it is ready.
    pub fn open() -> Result<Mailbox, String> {
        // SAFETY: a fresh anonymous mapping at an address where nothing is
        // (MAP_FIXED_NOREPLACE fails rather than replace a mapping).
        let base = unsafe {
            libc::mmap(
                ADDRESS as *mut libc::c_void,
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED || base as usize != ADDRESS {
            return Err(format!(
                "mapping the mailbox at {ADDRESS:#x}: {}",
                std::io::Error::last_os_error()
            ));
        }
        let mailbox = Mailbox { base: base.cast() };
        mailbox.word(0).store(READY, Ordering::Release);
        Ok(mailbox)
    }

    fn word(&self, n: usize) -> &AtomicU64 {
        // SAFETY: the first words of the mapping, aligned, live as long as
        // the process (the mailbox is never unmapped).
        unsafe { &*self.base.add(8 * n).cast::<AtomicU64>() }
    }

    /// Waits for the state to become `state`.
    fn wait_for(&self, state: u64, what: &str) -> Result<(), String> {
        let start = Instant::now();
        while self.word(0).load(Ordering::Acquire) != state {
            if start.elapsed() > PATIENCE {
                return Err(format!("nobody {what} in {} s", PATIENCE.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// The input, once the test has posted it.
    pub fn receive(&self) -> Result<Vec<u8>, String> {
        self.wait_for(POSTED, "posted an input to the mailbox")?;
        let len = (self.word(1).load(Ordering::Acquire) as usize).min(INPUT_MAX);
        // SAFETY: INPUT_AT + len lies inside the mapping.
        Ok(unsafe { std::slice::from_raw_parts(self.base.add(INPUT_AT), len) }.to_vec())
    }

    /// Leaves `report` for the test, and waits until it has read it.
    pub fn reply(&self, report: &[u8]) -> Result<(), String> {
        if report.len() > REPORT_MAX {
            return Err(format!(
                "a report of {} bytes: the mailbox holds {REPORT_MAX}",
                report.len()
            ));
        }
        // SAFETY: REPORT_AT + report.len() lies inside the mapping, which
        // nothing else in this process refers to.
        unsafe {
            std::ptr::copy_nonoverlapping(report.as_ptr(), self.base.add(REPORT_AT), report.len())
        };
        self.word(2).store(report.len() as u64, Ordering::Release);
        self.word(0).store(DONE, Ordering::Release);
        self.wait_for(READ, "read the report in the mailbox")
    }
}

/// A built-in target's `mailbox` mode, around `work`: the mailbox opened,
/// the input received, the report left for the test, and the exit status
/// `work` chose. Any failure of the mailbox is said on stderr: status 3.
pub fn serve(work: impl FnOnce(&[u8]) -> Result<(Vec<u8>, u8), String>) -> std::process::ExitCode {
    let result = Mailbox::open().and_then(|mailbox| {
        let input = mailbox.receive()?;
        let (report, status) = work(&input)?;
        mailbox.reply(&report)?;
        Ok(status)
    });
    match result {
        Ok(status) => std::process::ExitCode::from(status),
        Err(why) => {
            eprintln!("target: mailbox: {why}");
            std::process::ExitCode::from(3)
        }
    }
}

/// The test's side: random inputs, the target found and checked, the
/// input posted, the report read.
#[cfg(feature = "testing")]
pub mod test {
    use std::ffi::OsString;
    use std::io::{IoSlice, IoSliceMut, Read};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, ExitStatus, Output, Stdio};
    use std::sync::mpsc::Receiver;
    use std::time::{Duration, Instant};

    use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
    use nix::unistd::Pid;

    use super::{ADDRESS, DONE, INPUT_AT, INPUT_MAX, PATIENCE, POSTED, READ, READY, REPORT_AT};

    /// `n` random bytes, from getrandom(2).
    pub fn random_bytes(n: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; n];
        let mut filled = 0;
        while filled < n {
            // SAFETY: getrandom writes at most `n - filled` bytes from there.
            let got =
                unsafe { libc::getrandom(bytes[filled..].as_mut_ptr().cast(), n - filled, 0) };
            assert!(got > 0, "getrandom: {}", std::io::Error::last_os_error());
            filled += got as usize;
        }
        bytes
    }

    /// A random number.
    pub fn random_u64() -> u64 {
        u64::from_le_bytes(random_bytes(8).try_into().expect("8 bytes"))
    }

    /// A random number in `range` (as good as uniform for small ranges).
    pub fn random_in(range: std::ops::RangeInclusive<u64>) -> u64 {
        let span = range.end() - range.start();
        match span.checked_add(1) {
            Some(count) => range.start() + random_u64() % count,
            None => random_u64(),
        }
    }

    /// One of `items`, at random.
    pub fn pick<T: Copy>(items: &[T]) -> T {
        items[random_in(0..=items.len() as u64 - 1) as usize]
    }

    /// A demo's built-in target, to be run in its mailbox mode by a lab
    /// program: a fresh folder with a symlink `builtin:NAME` to the demo's
    /// binary, put first in PATH, so that the lab runs the demo's binary
    /// with that argv[0] (and breakpoints go into the target itself).
    pub struct Target {
        demo: PathBuf,
        argv: Vec<String>,
        /// Where the link is; removed with the target.
        dir: Folder,
        /// How long the lab may run, in seconds (`testing::limited_to`).
        time_limit: u32,
    }

    impl Target {
        pub fn new(demo: &Path, name: &str, args: &[&str]) -> Target {
            let dir = Folder::new("mailbox");
            let link = crate::targets::argv0(name);
            std::os::unix::fs::symlink(demo, dir.0.join(&link)).expect("the target's link");
            let mut argv = vec![link];
            argv.extend(args.iter().map(|arg| arg.to_string()));
            Target {
                demo: demo.to_path_buf(),
                argv,
                dir,
                time_limit: crate::testing::TIME_LIMIT_SECS,
            }
        }

        /// The lab is killed (SIGALRM) after `secs` seconds rather than
        /// `testing::TIME_LIMIT_SECS`: a hang fails the test soon.
        pub fn time_limit(mut self, secs: u32) -> Target {
            self.time_limit = secs;
            self
        }

        /// The command line the lab is to run: `builtin:NAME mailbox ...`.
        pub fn argv(&self) -> &[String] {
            &self.argv
        }

        /// PATH with the link's folder first.
        fn path(&self) -> OsString {
            let mut path = self.dir.0.clone().into_os_string();
            if let Some(rest) = std::env::var_os("PATH") {
                path.push(":");
                path.push(rest);
            }
            path
        }

        /// Runs `lab` (whose command line ends with `argv()`), finds the
        /// target it starts, checks it is the demo's, posts `input` to it,
        /// and reads its report; then waits for the lab to end.
        pub fn run(&self, lab: &mut Command, input: &[u8]) -> Traced {
            assert!(
                input.len() <= INPUT_MAX,
                "an input too long for the mailbox"
            );
            lab.env("PATH", self.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            crate::testing::limited_to(lab, self.time_limit);
            let shown = format!("{lab:?}");
            let mut child = lab
                .spawn()
                .unwrap_or_else(|error| panic!("could not start {shown}: {error}"));
            let stdout = reader(child.stdout.take());
            let stderr = reader(child.stderr.take());
            let mut found = None;
            let report = self.talk(&mut child, input, &mut found);
            if report.is_err() {
                let _ = child.kill();
            }
            let status = child.wait().expect("waiting for the lab");
            if let Some(target) = found {
                target.kill();
            }
            // A process the lab left behind may hold the pipes open: the
            // output is what came by then.
            let output = Output {
                status,
                stdout: stdout
                    .recv_timeout(Duration::from_secs(5))
                    .unwrap_or_default(),
                stderr: stderr
                    .recv_timeout(Duration::from_secs(5))
                    .unwrap_or_default(),
            };
            Traced {
                lab: child.id(),
                output,
                report,
            }
        }

        fn talk(
            &self,
            child: &mut Child,
            input: &[u8],
            found: &mut Option<Remote>,
        ) -> Result<Vec<u8>, String> {
            let start = Instant::now();
            let remote = loop {
                if let Some(remote) = self.find(child.id())? {
                    break remote;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "the lab ended ({}) without starting the demo's {} with its mailbox ready",
                        describe(status),
                        self.argv.join(" ")
                    ));
                }
                if start.elapsed() > PATIENCE {
                    return Err(format!(
                        "no process of the demo's {} with its mailbox ready after {} s",
                        self.argv.join(" "),
                        PATIENCE.as_secs()
                    ));
                }
                std::thread::sleep(Duration::from_millis(2));
            };
            let remote = found.insert(remote);
            remote.post(input)?;
            remote.collect()
        }

        /// The lab (pid `lab`), or a descendant of it, that runs our target
        /// with its mailbox ready, checked; `Err` when one runs it but fails
        /// a check.
        fn find(&self, lab: u32) -> Result<Option<Remote>, String> {
            let demo = std::fs::metadata(&self.demo)
                .map_err(|error| format!("{}: {error}", self.demo.display()))?;
            let entries = std::fs::read_dir("/proc").map_err(|error| format!("/proc: {error}"))?;
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<i32>().ok())
                else {
                    continue;
                };
                if pid as u32 != lab && !descends_from(pid, lab) {
                    continue;
                }
                // The pidfd first: what is checked next is then this
                // process's, if it is still alive once the input is posted.
                let Some(remote) = Remote::open(pid) else {
                    continue;
                };
                let Ok(exe) = std::fs::metadata(format!("/proc/{pid}/exe")) else {
                    continue;
                };
                if (exe.dev(), exe.ino()) != (demo.dev(), demo.ino()) || cmdline(pid) != self.argv {
                    continue;
                }
                if remote.state() != Some(READY) {
                    continue;
                }
                remote.check_trusted()?;
                return Ok(Some(remote));
            }
            Ok(None)
        }
    }

    /// A fresh folder of a test's in the temporary directory (its name:
    /// `prefix`, the test's pid and a random number), removed with all it
    /// holds when dropped.
    pub struct Folder(pub PathBuf);

    impl Folder {
        pub fn new(prefix: &str) -> Folder {
            let path = std::env::temp_dir().join(format!(
                "{prefix}-{}-{:016x}",
                std::process::id(),
                random_u64()
            ));
            std::fs::create_dir_all(&path).expect("a folder of the test's");
            Folder(path)
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// What a lab's run gave: its output and exit status, and the target's
    /// report (or why there is none).
    pub struct Traced {
        /// The lab's pid.
        pub lab: u32,
        pub output: Output,
        pub report: Result<Vec<u8>, String>,
    }

    impl Traced {
        pub fn stdout(&self) -> String {
            String::from_utf8_lossy(&self.output.stdout).into_owned()
        }

        pub fn stderr(&self) -> String {
            String::from_utf8_lossy(&self.output.stderr).into_owned()
        }

        pub fn code(&self) -> Option<i32> {
            self.output.status.code()
        }

        /// The report, or a panic that says why there is none and what the
        /// lab said.
        pub fn report(&self) -> &[u8] {
            match &self.report {
                Ok(report) => report,
                Err(why) => panic!(
                    "the target's report: {why}\nthe lab's stderr:\n{}",
                    tail(&self.stderr())
                ),
            }
        }
    }

    /// The last lines of `text`, enough for a failure message.
    pub fn tail(text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn describe(status: ExitStatus) -> String {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (_, Some(signal)) => format!("killed by signal {signal}"),
            _ => format!("{status:?}"),
        }
    }

    /// Everything `stream` gives until its end, from a thread of its own.
    fn reader(stream: Option<impl Read + Send + 'static>) -> Receiver<Vec<u8>> {
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            let _ = send.send(bytes);
        });
        receive
    }

    /// Whether `pid`'s parent, or its parent's, ... is `ancestor`.
    fn descends_from(mut pid: i32, ancestor: u32) -> bool {
        for _ in 0..8 {
            let Some(parent) = crate::procfs::Status::of(nix::unistd::Pid::from_raw(pid))
                .ok()
                .and_then(|status| status.parent())
                .map(|parent| parent.as_raw())
            else {
                return false;
            };
            if parent as u32 == ancestor {
                return true;
            }
            if parent <= 1 {
                return false;
            }
            pid = parent;
        }
        false
    }

    fn cmdline(pid: i32) -> Vec<String> {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|bytes| {
                bytes
                    .split(|&byte| byte == 0)
                    .map(|arg| String::from_utf8_lossy(arg).into_owned())
                    .filter(|arg| !arg.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A target process, held by a pidfd: while it is open and the process
    /// alive, `pid` is that process and no other.
    struct Remote {
        pid: i32,
        pidfd: OwnedFd,
    }

    impl Remote {
        fn open(pid: i32) -> Option<Remote> {
            // SAFETY: pidfd_open takes a pid and flags; it returns a new fd.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            if fd < 0 {
                return None;
            }
            // SAFETY: the fd was just made for us, and nothing else owns it.
            let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
            Some(Remote { pid, pidfd })
        }

        fn alive(&self) -> bool {
            let mut poll = libc::pollfd {
                fd: self.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd, valid for the call; no waiting.
            let ready = unsafe { libc::poll(&mut poll, 1, 0) };
            ready == 0
        }

        fn kill(&self) {
            // SAFETY: pidfd_send_signal with our pidfd, no siginfo.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    self.pidfd.as_raw_fd(),
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
        }

        fn read(&self, at: usize, len: usize) -> Result<Vec<u8>, String> {
            let mut bytes = vec![0u8; len];
            let remote = [RemoteIoVec {
                base: ADDRESS + at,
                len,
            }];
            let got = process_vm_readv(
                Pid::from_raw(self.pid),
                &mut [IoSliceMut::new(&mut bytes)],
                &remote,
            )
            .map_err(|errno| format!("process_vm_readv of the target's mailbox: {errno}"))?;
            if got != len {
                return Err(format!(
                    "process_vm_readv of the target's mailbox: {got} of {len} bytes"
                ));
            }
            Ok(bytes)
        }

        fn write(&self, at: usize, bytes: &[u8]) -> Result<(), String> {
            let remote = [RemoteIoVec {
                base: ADDRESS + at,
                len: bytes.len(),
            }];
            let put = process_vm_writev(Pid::from_raw(self.pid), &[IoSlice::new(bytes)], &remote)
                .map_err(|errno| {
                format!("process_vm_writev into the target's mailbox: {errno}")
            })?;
            if put != bytes.len() {
                return Err(format!(
                    "process_vm_writev into the target's mailbox: {put} of {} bytes",
                    bytes.len()
                ));
            }
            Ok(())
        }

        fn word(&self, n: usize) -> Result<u64, String> {
            let bytes = self.read(8 * n, 8)?;
            Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
        }

        fn state(&self) -> Option<u64> {
            self.word(0).ok()
        }

        /// The process runs the demo's code and nobody else's: the same
        /// mount namespace and root as ours (so that a path means the same
        /// file to both of us), and every file it maps is its executable
        /// or a system library (no LD_PRELOAD, no library of the lab's).
        fn check_trusted(&self) -> Result<(), String> {
            let pid = self.pid;
            for (what, ours, theirs) in [
                (
                    "mount namespace",
                    "/proc/self/ns/mnt".to_string(),
                    format!("/proc/{pid}/ns/mnt"),
                ),
                (
                    "root",
                    "/proc/self/root".to_string(),
                    format!("/proc/{pid}/root"),
                ),
            ] {
                let ours = std::fs::metadata(&ours).map_err(|e| format!("{ours}: {e}"))?;
                let theirs = std::fs::metadata(&theirs).map_err(|e| format!("{theirs}: {e}"))?;
                if (ours.dev(), ours.ino()) != (theirs.dev(), theirs.ino()) {
                    return Err(format!("the target (pid {pid}) has a {what} of its own"));
                }
            }
            let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
                .map_err(|error| format!("/proc/{pid}/exe: {error}"))?;
            let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
                .map_err(|error| format!("/proc/{pid}/maps: {error}"))?;
            for line in maps.lines() {
                let fields: Vec<&str> = line.splitn(6, ' ').collect();
                let (Some(inode), Some(path)) = (fields.get(4), fields.get(5)) else {
                    continue;
                };
                let path = path.trim_start();
                if *inode == "0" || path.starts_with('[') {
                    continue;
                }
                let system = ["/usr/", "/lib/", "/lib64/", "/lib32/", "/libx32/"]
                    .iter()
                    .any(|dir| path.starts_with(dir));
                if (Path::new(path) != exe && !system) || path.ends_with(" (deleted)") {
                    return Err(format!(
                        "the target (pid {pid}) maps {path}, neither its program nor a system library"
                    ));
                }
            }
            Ok(())
        }

        fn post(&self, input: &[u8]) -> Result<(), String> {
            self.write(INPUT_AT, input)?;
            self.write(8, &(input.len() as u64).to_le_bytes())?;
            self.write(0, &POSTED.to_le_bytes())?;
            // Still alive: the pid was this process all along.
            if !self.alive() {
                return Err("the target ended before its input was posted".into());
            }
            Ok(())
        }

        fn collect(&self) -> Result<Vec<u8>, String> {
            let start = Instant::now();
            loop {
                match self.state() {
                    Some(DONE) => break,
                    Some(POSTED) => {}
                    Some(other) => return Err(format!("the mailbox's state is {other:#x}")),
                    None if !self.alive() => return Err("the target ended without a report".into()),
                    None => {}
                }
                if start.elapsed() > PATIENCE {
                    return Err(format!(
                        "no report from the target in {} s",
                        PATIENCE.as_secs()
                    ));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            let len = self.word(2)? as usize;
            if len > super::REPORT_MAX {
                return Err(format!("a report of {len} bytes"));
            }
            let report = self.read(REPORT_AT, len)?;
            self.write(0, &READ.to_le_bytes())?;
            if !self.alive() {
                return Err("the target ended before its report was read".into());
            }
            Ok(report)
        }
    }
}
