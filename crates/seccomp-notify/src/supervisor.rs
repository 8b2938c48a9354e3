//! The supervisor: it starts the program, then waits on two fds at once,
//! the listener (a call to answer) and a signalfd (a child to reap), until
//! no process is left that the filter could send a call from.

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::notify::{self, Sizes};
use workbook::signal::hold_fatal_signals;
use workbook::stop::{decode, wait_for, wait_raw};
use workbook::{ChildGuard, Program};

use crate::answer::{self, Policy};
use crate::child;
use crate::filter::notify_filter;
use crate::show::Printer;

/// Runs `program` under the filter and answers its calls; returns its exit
/// code (128+N for signal N).
pub fn run(program: &Program, policy: &Policy) -> Result<u8> {
    let filter = notify_filter(&policy.calls());
    // Ctrl-C is the program's: SIGINT, SIGTERM, SIGHUP, SIGQUIT wait,
    // blocked, in this process, while the program gets them.
    hold_fatal_signals()?;
    let children = reaper()?;
    let (guard, listener) = child::start(program, &filter)?;
    let Some(listener) = listener else {
        // The child failed before passing the listener on, and said why.
        return ended(guard);
    };
    let mut supervisor = Supervisor {
        first: guard.pid(),
        guard: Some(guard),
        exit_code: None,
        seen: HashSet::new(),
        sizes: notify::notif_sizes()?,
        printer: Printer::new(policy.trace),
    };
    let result = supervisor.serve(listener.as_fd(), &children, policy);
    if result.is_err() {
        supervisor.kill_all();
    }
    result
}

/// The first child, waited for in full, when there is nothing to serve.
fn ended(guard: ChildGuard) -> Result<u8> {
    let waited = wait_for(guard.pid(), WaitPidFlag::empty())?;
    guard.reaped();
    Ok(waited.stop.exit_code().unwrap_or(1))
}

/// SIGCHLD as an fd to poll: blocked, and read from a signalfd. This
/// process is also made a child subreaper, so that an orphan of the
/// program (a daemon's double fork) comes to it to be reaped; a filter is
/// in use until its last process is reaped.
fn reaper() -> Result<SignalFd> {
    let mut sigchld = SigSet::empty();
    sigchld.add(Signal::SIGCHLD);
    // After hold_fatal_signals, which keeps the mask the children restore.
    sigchld
        .thread_block()
        .context("sigprocmask(SIG_BLOCK, SIGCHLD)")?;
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
        .context("prctl(PR_SET_CHILD_SUBREAPER)")?;
    SignalFd::with_flags(&sigchld, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("signalfd(SIGCHLD)")
}

struct Supervisor {
    first: Pid,
    guard: Option<ChildGuard>,
    exit_code: Option<u8>,
    /// Every thread that sent a call: whom to kill if we fail.
    seen: HashSet<Pid>,
    sizes: Sizes,
    printer: Printer,
}

impl Supervisor {
    // ANCHOR: serve
    /// The loop: a call comes, it is answered; a child ends, it is reaped.
    /// The listener says POLLHUP once no process uses the filter any more:
    /// the program and every process it started are gone.
    fn serve(&mut self, listener: BorrowedFd, children: &SignalFd, policy: &Policy) -> Result<u8> {
        loop {
            let mut fds = [
                PollFd::new(listener, PollFlags::POLLIN),
                PollFd::new(children.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Err(Errno::EINTR) => continue,
                other => other.context("poll of the listener and the signalfd")?,
            };
            let calls = fds[0].revents().unwrap_or(PollFlags::empty());
            let ended = fds[1].revents().unwrap_or(PollFlags::empty());
            if ended.contains(PollFlags::POLLIN) {
                self.reap(children)?;
            }
            if calls.contains(PollFlags::POLLIN) {
                // ioctl(SECCOMP_IOCTL_NOTIF_RECV): the call, its thread waiting.
                if let Some(call) = notify::recv(listener, self.sizes)? {
                    self.seen.insert(call.pid);
                    let prefix = (call.pid != self.first).then_some(call.pid);
                    answer::answer(
                        listener,
                        self.sizes,
                        &call,
                        policy,
                        &mut self.printer,
                        prefix,
                    )?;
                }
            } else if calls.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                return self.exit_code();
            }
        }
    }
    // ANCHOR_END: serve

    /// Reaps every child that has ended: the program, a CLONE_PARENT
    /// sibling of it, an orphan that came to us.
    fn reap(&mut self, children: &SignalFd) -> Result<()> {
        while let Ok(Some(_)) = children.read_signal() {}
        loop {
            match wait_raw(None, WaitPidFlag::WNOHANG | WaitPidFlag::__WALL) {
                Ok(Some((pid, raw))) if pid == self.first => {
                    self.exit_code = decode(pid, raw)?.exit_code();
                    if let Some(guard) = self.guard.take() {
                        guard.reaped();
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => return Ok(()),
                Err(error) if error.downcast_ref::<Errno>() == Some(&Errno::ECHILD) => {
                    return Ok(())
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The program's exit code, once the listener has hung up. The first
    /// child was reaped before (the filter was in use until then), but a
    /// wait costs nothing if it was not.
    fn exit_code(&mut self) -> Result<u8> {
        if let Some(code) = self.exit_code {
            return Ok(code);
        }
        let guard = self
            .guard
            .take()
            .context("the program's exit status was never seen")?;
        ended(guard)
    }

    /// On an error of ours: every thread that sent a call dies (its
    /// process with it), then the first child, through its guard.
    fn kill_all(&mut self) {
        for &pid in &self.seen {
            let _ = kill(pid, Signal::SIGKILL);
        }
        self.guard.take();
    }
}
