//! The victim: a built-in target that prints a tick every 100 ms into a
//! pipe we read, so the demo can show that it keeps running.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::{children::builtin_command, wait_for, ChildGuard};

pub struct Victim {
    guard: ChildGuard,
    ticks: File,
    unread: Vec<u8>,
}

impl Victim {
    pub fn start() -> Result<Victim> {
        let mut child = builtin_command("ticker")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting the victim")?;
        let guard = ChildGuard::new(Pid::from_raw(child.id() as i32));
        let ticks = File::from(std::os::fd::OwnedFd::from(
            child.stdout.take().expect("piped"),
        ));
        fcntl(ticks.as_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).context("O_NONBLOCK")?;
        Ok(Victim {
            guard,
            ticks,
            unread: Vec::new(),
        })
    }

    pub fn pid(&self) -> Pid {
        self.guard.pid()
    }

    /// Waits for a tick printed after this call, proving the victim runs.
    pub fn expect_tick(&mut self, when: &str) -> Result<()> {
        self.read_available()?;
        self.unread.clear();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(end) = self.unread.iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&self.unread[..end]).into_owned();
                workbook::narrate!("attach-seize: the victim runs {when}: it printed \"{line}\"");
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("the victim printed no tick for 5 s {when}");
            }
            let timeout =
                PollTimeout::try_from(left.as_millis() as i32).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.ticks.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, timeout).context("poll on the victim's output")?;
            self.read_available()?;
        }
    }

    fn read_available(&mut self) -> Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            match self.ticks.read(&mut buf) {
                Ok(0) => bail!("the victim closed its output: it has exited"),
                Ok(n) => self.unread.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading the victim's output"),
            }
        }
    }

    /// Kills and reaps the victim.
    pub fn end(self) -> Result<()> {
        let pid = self.pid();
        kill(pid, Signal::SIGKILL).with_context(|| format!("kill pid {pid}"))?;
        let status = wait_for(pid, WaitPidFlag::__WALL)?;
        workbook::narrate!(
            "\nattach-seize: the victim ran through it all; now it is {}",
            status.stop
        );
        self.guard.reaped();
        Ok(())
    }
}
