//! The tracer/tracee start-up from the tracer-tracee chapter, packaged for
//! the demos that come after it.

use std::collections::{HashSet, VecDeque};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{kill, raise, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{execvp, fork, ForkResult, Pid};

use crate::arch::Abi;
use crate::children::ChildGuard;
use crate::process::exit_child;
use crate::program::Program;
use crate::signal::{
    hold_fatal_signals, ptrace_cont, ptrace_listen, ptrace_syscall, release_fatal_signals_in_child,
    Sig,
};
use crate::stop::{decode_tracked, wait_for, wait_raw, Event, Stop, Waited};

/// The options with which a tracer follows the whole program, as `strace -f`
/// and gdb do: every child it forks or vforks and every thread it clones
/// becomes a tracee too (PTRACE_EVENT_FORK, _VFORK, _CLONE), and an execve
/// stops with PTRACE_EVENT_EXEC, so that the tracer learns of the new program
/// (and of the thread that vanished into it).
pub const FOLLOW_CHILDREN: Options = Options::PTRACE_O_TRACEEXEC
    .union(Options::PTRACE_O_TRACEFORK)
    .union(Options::PTRACE_O_TRACEVFORK)
    .union(Options::PTRACE_O_TRACECLONE);

/// Forks `program` as a tracee, attached with PTRACE_SEIZE and stopped
/// right before its execve.
///
/// The child stops itself with SIGSTOP, as in the lecture; the parent waits
/// for that stop, attaches with PTRACE_SEIZE (so that later group-stops can
/// be left stopped with PTRACE_LISTEN, as strace does), sets `options` plus
/// PTRACE_O_EXITKILL so the tracee dies with the tracer, and wakes it with
/// SIGCONT. The tracee is left in the SIGCONT's signal-delivery-stop: the
/// caller restarts it with the ptrace request of its choice and no signal.
/// From here on Ctrl-C is the program's (`hold_fatal_signals`).
pub fn spawn_traced(program: &Program, options: Options) -> Result<ChildGuard> {
    spawn_traced_with(program, options, || Ok(()))
}

/// personality(ADDR_NO_RANDOMIZE), as gdb sets it for the program it
/// starts: a `before_exec` for a run that must be the same every time.
/// Where the stack and the libraries land changes how many instructions
/// string routines take, and on arm64 how many munmap calls the dynamic
/// loader makes (it trims a 64 KiB-aligned library's reservation on the
/// side that is not aligned already). Inherited across fork and execve.
/// The other personality flags stay as they were (`setarch`'s, say).
pub fn no_address_randomization() -> Result<(), Errno> {
    // 0xffffffff asks for the current personality and changes nothing.
    // SAFETY: personality(2) takes a number and touches no memory.
    let current = Errno::result(unsafe { libc::personality(0xffff_ffff) })?;
    let wanted = current as libc::c_ulong | libc::ADDR_NO_RANDOMIZE as libc::c_ulong;
    // SAFETY: as above.
    Errno::result(unsafe { libc::personality(wanted) }).map(drop)
}

/// `spawn_traced`, with `before_exec` run in the child after the SIGSTOP
/// handshake, so after the tracer has set its options: the place to
/// install a seccomp filter whose SECCOMP_RET_TRACE the tracer must see.
pub fn spawn_traced_with(
    program: &Program,
    options: Options,
    before_exec: impl FnOnce() -> Result<(), Errno>,
) -> Result<ChildGuard> {
    hold_fatal_signals()?;
    // SAFETY: the child only makes async-signal-safe calls before execvp or _exit.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => exec_stopped(program, before_exec),
        ForkResult::Parent { child } => {
            let guard = ChildGuard::new(child);
            // Not traced yet: WUNTRACED (WSTOPPED) is what reports the stop.
            let (_, raw) = wait_raw(Some(child), WaitPidFlag::WSTOPPED)?
                .context("waitpid returned 0 without WNOHANG")?;
            if !libc::WIFSTOPPED(raw) || libc::WSTOPSIG(raw) != libc::SIGSTOP {
                bail!(
                    "pid {child}: unexpected wait status {raw:#x} ({}) instead of the SIGSTOP stop",
                    crate::stop::describe_raw(raw)
                );
            }
            ptrace::seize(child, options | Options::PTRACE_O_EXITKILL)
                .with_context(|| format!("PTRACE_SEIZE of pid {child}"))?;
            kill(child, Signal::SIGCONT).with_context(|| format!("kill({child}, SIGCONT)"))?;
            // The seize turns the stop into a ptrace group-stop; SIGCONT
            // ends it and then arrives as a signal-delivery-stop.
            loop {
                let waited = wait_for(child, WaitPidFlag::__WALL)?;
                match waited.stop {
                    Stop::Signal(Sig::SIGCONT) => return Ok(guard),
                    Stop::Group(_) | Stop::Event(Event::Stop(_)) => ptrace_cont(child, None)?,
                    other => bail!(
                        "pid {child}: unexpected stop {other} ({:#x}) while attaching",
                        waited.raw
                    ),
                }
            }
        }
    }
}

/// The child's half: stop until the tracer has attached, then become
/// `program`. It never returns: it execs or exits with the shell's code for
/// a program that can't run (127 not found, 126 otherwise).
fn exec_stopped(program: &Program, before_exec: impl FnOnce() -> Result<(), Errno>) -> ! {
    if let Err(errno) = release_fatal_signals_in_child() {
        exit_child(1, &format!("sigprocmask: {}", errno.desc()));
    }
    if let Err(errno) = raise(Signal::SIGSTOP) {
        exit_child(1, &format!("raise(SIGSTOP): {}", errno.desc()));
    }
    exec_after(program, before_exec)
}

/// Forks `program` untraced, with `before_exec` run in the child first:
/// the same child as `spawn_traced_with`'s, without the SIGSTOP handshake
/// and the tracer. The caller waits for it through the guard.
pub fn spawn_with(
    program: &Program,
    before_exec: impl FnOnce() -> Result<(), Errno>,
) -> Result<ChildGuard> {
    // SAFETY: the child only makes async-signal-safe calls before execvp or
    // _exit, or the caller has one thread and `before_exec` may allocate.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            if let Err(errno) = release_fatal_signals_in_child() {
                exit_child(1, &format!("sigprocmask: {}", errno.desc()));
            }
            exec_after(program, before_exec)
        }
        ForkResult::Parent { child } => Ok(ChildGuard::new(child)),
    }
}

/// The child's last steps: `before_exec`, then execvp, or an exit with the
/// shell's code for a program that can't run (127 not found, 126
/// otherwise), or 1 when `before_exec` failed.
fn exec_after(program: &Program, before_exec: impl FnOnce() -> Result<(), Errno>) -> ! {
    if let Err(errno) = before_exec() {
        exit_child(1, &format!("before execvp: {}", errno.desc()));
    }
    let errno = execvp(&program.file, &program.argv).unwrap_err();
    exit_child(
        exec_failure_code(errno),
        &format!("execvp {}: {}", program.name, errno.desc()),
    )
}

/// A shell's exit code for a program that could not be executed.
pub fn exec_failure_code(errno: Errno) -> i32 {
    if errno == Errno::ENOENT {
        127
    } else {
        126
    }
}

/// How a tracer restarts its tracees: to the next syscall stop, or on until
/// the next signal or event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    Syscall,
    Cont,
}

/// The bookkeeping of a tracer that follows forks and threads: who is alive,
/// which new tracees still owe us their first SIGSTOP, and the first
/// tracee's exit status. The demo's loop stays a `match` on `Stop`; this
/// only takes away the parts every such loop repeats.
#[derive(Debug)]
pub struct Tracees {
    guard: Option<ChildGuard>,
    first: Pid,
    resume: Resume,
    alive: HashSet<Pid>,
    newborn: HashSet<Pid>,
    /// Threads between a syscall's entry stop and its exit stop.
    in_syscall: HashSet<Pid>,
    first_execed: bool,
    exit_code: Option<u8>,
    /// Reports taken from waitpid and not yet handed to the loop, oldest
    /// first (see `wait`).
    pending: VecDeque<(Pid, i32)>,
}

impl Tracees {
    /// Takes over the tracee that `spawn_traced` started, still stopped.
    pub fn new(guard: ChildGuard, resume: Resume) -> Tracees {
        let first = guard.pid();
        Tracees {
            guard: Some(guard),
            first,
            resume,
            alive: HashSet::from([first]),
            newborn: HashSet::new(),
            in_syscall: HashSet::new(),
            first_execed: false,
            exit_code: None,
            pending: VecDeque::new(),
        }
    }

    /// The process we started.
    pub fn first(&self) -> Pid {
        self.first
    }

    /// How many threads and processes are traced now.
    pub fn count(&self) -> usize {
        self.alive.len()
    }

    /// PTRACE_SYSCALL or PTRACE_CONT, passing `signal` on.
    pub fn resume(&self, pid: Pid, signal: Option<Sig>) -> Result<()> {
        match self.resume {
            Resume::Syscall => ptrace_syscall(pid, signal),
            Resume::Cont => ptrace_cont(pid, signal),
        }
    }

    /// After a stop the tracer has nothing to do at, as strace and gdb
    /// leave it: a signal-delivery-stop resumed with its signal, a
    /// group-stop (kill -STOP) kept with PTRACE_LISTEN until SIGCONT, a
    /// tracee that is gone left alone, any other stop resumed with none.
    pub fn pass_on(&self, pid: Pid, stop: &Stop) -> Result<()> {
        match *stop {
            Stop::Signal(signal) => self.resume(pid, Some(signal)),
            Stop::Group(_) => ptrace_listen(pid),
            Stop::Exited(_) | Stop::Killed { .. } => Ok(()),
            _ => self.resume(pid, None),
        }
    }

    /// waitpid(-1, __WALL) for the next stop of any tracee, or `None` once
    /// all are gone. A new tracee's first stop (PTRACE_EVENT_STOP after
    /// PTRACE_SEIZE) is ptrace's, not the program's: it is resumed here. So
    /// is a stop whose tracee was killed before we could look at it: its
    /// death is reported next.
    ///
    /// Every tracee is served in turn, as strace does. waitpid(-1) always
    /// reports the first waiting tracee in the kernel's list (the newest
    /// thread first), so a tracer that took one report at a time would
    /// serve a few busy threads for ever and starve the rest. Instead, when
    /// the loop has handled every report it was given, this takes all the
    /// reports waiting at that moment (WNOHANG), and hands them out one by
    /// one before it asks the kernel again.
    pub fn wait(&mut self) -> Result<Option<Waited>> {
        loop {
            if self.alive.is_empty() {
                return Ok(None);
            }
            let Some((pid, raw)) = self.next_report()? else {
                // Nobody left to wait for, whatever our bookkeeping thought.
                self.alive.clear();
                return Ok(None);
            };
            let in_syscall = self.in_syscall.contains(&pid);
            let waited = Waited {
                pid,
                raw,
                stop: decode_tracked(pid, raw, Some(in_syscall))?,
            };
            // A child's first stop may come before its parent's fork event.
            let first_sight = self.alive.insert(pid);
            match waited.stop {
                Stop::Gone => continue,
                Stop::SyscallEnter { .. } => {
                    self.in_syscall.insert(pid);
                }
                Stop::SyscallExit { .. } => {
                    self.in_syscall.remove(&pid);
                }
                Stop::Event(Event::Stop(_)) if self.newborn.remove(&pid) || first_sight => {
                    self.resume(pid, None)?;
                    continue;
                }
                // A new tracee whose first stop is still to come.
                Stop::Event(
                    Event::Fork { child } | Event::Vfork { child } | Event::Clone { child },
                ) if self.alive.insert(child) => {
                    self.newborn.insert(child);
                }
                Stop::Event(Event::Exec { former_pid }) => {
                    self.first_execed |= pid == self.first;
                    // After execve in a non-leader thread, the thread takes
                    // the leader's pid, and its old thread id is gone; it is
                    // still inside its execve, now under the leader's pid.
                    if former_pid != pid {
                        self.alive.remove(&former_pid);
                        self.in_syscall.remove(&pid);
                        if self.in_syscall.remove(&former_pid) {
                            self.in_syscall.insert(pid);
                        }
                    }
                }
                Stop::Exited(_) | Stop::Killed { .. } => {
                    self.alive.remove(&pid);
                    self.newborn.remove(&pid);
                    self.in_syscall.remove(&pid);
                    if pid == self.first {
                        self.exit_code = waited.stop.exit_code();
                        if let Some(guard) = self.guard.take() {
                            guard.reaped();
                        }
                    }
                }
                _ => {}
            }
            return Ok(Some(waited));
        }
    }

    /// The oldest report not yet handed out; when there is none, waits for
    /// one, then takes every other report already waiting. `None`: the
    /// tracer has no children left (ECHILD).
    fn next_report(&mut self) -> Result<Option<(Pid, i32)>> {
        if let Some(report) = self.pending.pop_front() {
            return Ok(Some(report));
        }
        let mut flags = WaitPidFlag::__WALL;
        loop {
            match wait_raw(None, flags) {
                Ok(Some(report)) => self.pending.push_back(report),
                Ok(None) if flags.contains(WaitPidFlag::WNOHANG) => break,
                Ok(None) => continue,
                Err(error) if error.downcast_ref::<Errno>() == Some(&Errno::ECHILD) => break,
                Err(error) => return Err(error),
            }
            flags |= WaitPidFlag::WNOHANG;
        }
        Ok(self.pending.pop_front())
    }

    /// Whether the first tracee got as far as running its program (a
    /// successful execve, seen with PTRACE_O_TRACEEXEC).
    pub fn first_execed(&self) -> bool {
        self.first_execed
    }

    /// The first tracee's exit code (128+N for signal N), once it is gone.
    pub fn exit_code(&self) -> Result<u8> {
        self.exit_code
            .context("the traced program's exit status was never seen")
    }
}

impl Drop for Tracees {
    /// Whatever ended the loop, an error included, nothing is left behind:
    /// every tracee is killed and reaped, and so is any child we never
    /// heard of (a fork caught between its birth and its first stop).
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            // Reaped below, with all the others.
            guard.reaped();
        }
        for &pid in &self.alive {
            let _ = kill(pid, Signal::SIGKILL);
        }
        crate::children::kill_and_reap_all_children();
    }
}

/// A syscall-enter-stop, as `trace_syscall_entries` hands it over.
pub struct Entry {
    pub pid: Pid,
    pub nr: u64,
    pub args: [u64; 6],
    pub abi: Abi,
    /// Whether the program has started: before the first tracee's execve
    /// succeeds, it runs the tracer's own child code.
    pub execed: bool,
}

/// The whole loop of a tracer that acts at syscall entries only (the labs'
/// programs): `program` runs under PTRACE_SYSCALL with its children and
/// threads followed, `at_entry` is called at each syscall-enter-stop, every
/// signal is passed on, and a group-stop (kill -STOP) stays stopped, as
/// without a tracer, until SIGCONT. Returns the program's exit code.
pub fn trace_syscall_entries(
    program: &Program,
    mut at_entry: impl FnMut(&Entry) -> Result<()>,
) -> Result<u8> {
    let options = Options::PTRACE_O_TRACESYSGOOD | FOLLOW_CHILDREN;
    let mut tracees = Tracees::new(spawn_traced(program, options)?, Resume::Syscall);
    ptrace_syscall(tracees.first(), None)?;
    while let Some(waited) = tracees.wait()? {
        let Stop::SyscallEnter { nr, args, abi } = waited.stop else {
            tracees.pass_on(waited.pid, &waited.stop)?;
            continue;
        };
        at_entry(&Entry {
            pid: waited.pid,
            nr,
            args,
            abi,
            execed: tracees.first_execed(),
        })?;
        ptrace_syscall(waited.pid, None)?;
    }
    tracees.exit_code()
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use nix::unistd::dup2_stderr;

    use super::*;

    /// How `spawn_with`'s child of `file` ends, with its stderr (the
    /// message on its way out) into /dev/null; `fail` makes `before_exec`
    /// fail.
    fn exit_of(file: &str, fail: bool) -> Stop {
        let quiet = std::fs::File::create("/dev/null").expect("/dev/null opens");
        let program = Program {
            file: CString::new(file).expect("no NUL"),
            argv: vec![CString::new(file).expect("no NUL")],
            label: file.to_string(),
            name: file.to_string(),
        };
        let guard = spawn_with(&program, || {
            dup2_stderr(&quiet)?;
            if fail {
                Err(Errno::EPERM)
            } else {
                Ok(())
            }
        })
        .expect("fork");
        let waited = wait_for(guard.pid(), WaitPidFlag::empty()).expect("waitpid");
        guard.reaped();
        waited.stop
    }

    #[test]
    fn spawn_with_exits_as_a_shell_does() {
        assert_eq!(exit_of("/no/such/program", false), Stop::Exited(127));
        assert_eq!(exit_of("/dev/null", false), Stop::Exited(126));
        assert_eq!(exit_of("true", true), Stop::Exited(1));
        assert_eq!(exit_of("true", false), Stop::Exited(0));
    }
}
