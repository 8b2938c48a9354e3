//! What `waitpid` reports about a tracee, decoded into one enum so that every
//! tracer loop is a single `match` (the model is the `pete` crate's `Stop`).

use std::fmt;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;

use crate::arch::Abi;
use crate::gone::{is_gone, OrGone};
use crate::signal::Sig;

/// One `waitpid` result: who, the raw status word, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waited {
    pub pid: Pid,
    /// The `int status` that waitpid(2) filled in, e.g. 0x137f.
    pub raw: i32,
    pub stop: Stop,
}

/// Every state a traced process can be reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// syscall-enter-stop (PTRACE_O_TRACESYSGOOD): the call is about to
    /// run. `nr` means what `abi` says it means: 41 is socket for x86_64,
    /// dup for i386.
    SyscallEnter { nr: u64, args: [u64; 6], abi: Abi },
    /// syscall-exit-stop: the call has returned `ret` (-errno on failure).
    SyscallExit { ret: i64, is_error: bool },
    /// signal-delivery-stop: the signal (any of 1 to 64) is on its way to
    /// the tracee. The tracer must pass it on when restarting, or the
    /// tracee never sees it.
    Signal(Sig),
    /// group-stop: the process stopped because of a stop signal (`kill
    /// -STOP`, Ctrl-Z). There is nothing to deliver; a tracer that attached
    /// with PTRACE_SEIZE leaves it stopped with PTRACE_LISTEN.
    Group(Sig),
    /// A PTRACE_EVENT_* stop requested with PTRACE_SETOPTIONS.
    Event(Event),
    /// The process exited (WIFEXITED).
    Exited(i32),
    /// The process was killed by a signal (WIFSIGNALED).
    Killed { signal: Sig, core_dumped: bool },
    /// waitpid reported a stop, but the tracee was killed (SIGKILL, or
    /// another thread's exit_group) before the tracer could look at it: the
    /// kernel answered ESRCH ([`crate::gone::Gone`]). Not an error: its
    /// death is the next report.
    Gone,
    /// WIFCONTINUED (waitpid with WCONTINUED): SIGCONT woke a stopped
    /// process. A tracer that attached with PTRACE_TRACEME and left a
    /// group-stop alone hears of SIGCONT this way.
    Continued,
}

/// PTRACE_EVENT_* stops, with what PTRACE_GETEVENTMSG says about each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Fork {
        child: Pid,
    },
    Vfork {
        child: Pid,
    },
    Clone {
        child: Pid,
    },
    /// execve succeeded; `former_pid` differs when a non-leader thread exec'd.
    Exec {
        former_pid: Pid,
    },
    VforkDone,
    /// About to exit, with the raw exit status it will have.
    Exit {
        status: i32,
    },
    /// A seccomp filter returned SECCOMP_RET_TRACE with this data, for the
    /// call `nr` made through `abi`, which has not run yet.
    Seccomp {
        data: u16,
        nr: u64,
        args: [u64; 6],
        abi: Abi,
    },
    /// PTRACE_INTERRUPT, a new child's first stop, or the end of a
    /// group-stop (SIGCONT) after PTRACE_SEIZE: nothing to deliver.
    Stop(Sig),
}

/// waitpid(2) for a tracee, keeping the raw status the lecture prints.
///
/// `flags` is passed through; use `__WALL` to see threads too. Returns
/// `Ok(None)` only with WNOHANG when nothing has changed.
pub fn waitpid(pid: impl Into<Option<Pid>>, flags: WaitPidFlag) -> Result<Option<Waited>> {
    match wait_raw(pid.into(), flags)? {
        None => Ok(None),
        Some((pid, raw)) => Ok(Some(Waited {
            pid,
            raw,
            stop: decode(pid, raw)?,
        })),
    }
}

/// waitpid(2) itself: who changed state, and the raw status.
pub fn wait_raw(pid: Option<Pid>, flags: WaitPidFlag) -> Result<Option<(Pid, i32)>> {
    let target = pid.map_or(-1, Pid::as_raw);
    let mut raw = 0;
    loop {
        // SAFETY: `raw` is a valid, writable int for the duration of the call.
        let ret = unsafe { libc::waitpid(target, &mut raw, flags.bits()) };
        match Errno::result(ret) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).with_context(|| format!("waitpid({target})")),
            Ok(0) => return Ok(None),
            Ok(found) => return Ok(Some((Pid::from_raw(found), raw))),
        }
    }
}

/// waitpid(2) without WNOHANG: there is always a result.
pub fn wait_for(pid: impl Into<Option<Pid>>, flags: WaitPidFlag) -> Result<Waited> {
    match waitpid(pid, flags - WaitPidFlag::WNOHANG)? {
        Some(waited) => Ok(waited),
        None => bail!("waitpid returned 0 without WNOHANG"),
    }
}

/// Turns a raw status into a `Stop`. Stops that the status alone can't tell
/// apart (syscall entry or exit, signal or group stop) ask the kernel.
pub fn decode(pid: Pid, raw: i32) -> Result<Stop> {
    decode_tracked(pid, raw, None)
}

/// Like `decode`, for a tracer that records per thread whether it is inside
/// a syscall (`in_syscall`). Where the kernel lacks PTRACE_GET_SYSCALL_INFO
/// (before Linux 5.3), that record tells a syscall entry from its exit.
pub fn decode_tracked(pid: Pid, raw: i32, in_syscall: Option<bool>) -> Result<Stop> {
    if libc::WIFEXITED(raw) {
        return Ok(Stop::Exited(libc::WEXITSTATUS(raw)));
    }
    if libc::WIFSIGNALED(raw) {
        return Ok(Stop::Killed {
            signal: signal(libc::WTERMSIG(raw))?,
            core_dumped: libc::WCOREDUMP(raw),
        });
    }
    if libc::WIFCONTINUED(raw) {
        return Ok(Stop::Continued);
    }
    match decode_stop(pid, raw, in_syscall) {
        Err(error) if is_gone(&error) => Ok(Stop::Gone),
        other => other,
    }
}

fn decode_stop(pid: Pid, raw: i32, in_syscall: Option<bool>) -> Result<Stop> {
    if !libc::WIFSTOPPED(raw) {
        bail!("pid {pid}: wait status {raw:#x} is neither an exit, a kill nor a stop");
    }
    let stopsig = libc::WSTOPSIG(raw);
    let event = (raw >> 16) & 0xff;
    if stopsig == libc::SIGTRAP | 0x80 {
        return syscall_stop(pid, in_syscall);
    }
    if event != 0 {
        return event_stop(pid, event, signal(stopsig)?);
    }
    let sig = signal(stopsig)?;
    if sig.is_stop_signal() && is_group_stop(pid)? {
        return Ok(Stop::Group(sig));
    }
    Ok(Stop::Signal(sig))
}

/// A syscall stop read from the registers, as tracers did before
/// PTRACE_GET_SYSCALL_INFO: the tracer says whether the thread was inside a
/// syscall, so this stop is its exit, or not, so this is an entry.
pub fn syscall_stop_from_registers(pid: Pid, in_syscall: bool) -> Result<Stop> {
    let regs = crate::arch::read_regs(pid)?;
    let abi = Abi::from_registers(&regs);
    Ok(if in_syscall {
        let ret = crate::arch::return_value(&regs);
        Stop::SyscallExit {
            ret,
            is_error: (-4095..0).contains(&ret),
        }
    } else {
        Stop::SyscallEnter {
            nr: crate::arch::syscall_number(&regs),
            args: crate::arch::syscall_args_of(abi, &regs),
            abi,
        }
    })
}

/// Whether a SIGTRAP signal-delivery-stop is the legacy exec trap: after
/// execve, a tracee traced without PTRACE_O_TRACEEXEC sends itself SIGTRAP.
/// Passing that on would kill the process, so a tracer drops it.
pub fn is_legacy_exec_trap(pid: Pid) -> bool {
    let Ok(info) = ptrace::getsiginfo(pid) else {
        return false;
    };
    // SAFETY: si_pid is valid for SI_USER signals, checked first.
    let sender = (info.si_code == libc::SI_USER).then(|| unsafe { info.si_pid() });
    info.si_signo == libc::SIGTRAP && sender.is_some_and(|sender| sender == thread_group(pid))
}

fn thread_group(pid: Pid) -> i32 {
    crate::procfs::thread_group(pid).as_raw()
}

fn signal(number: i32) -> Result<Sig> {
    Sig::new(number).with_context(|| format!("signal number {number} is not a signal (1 to 64)"))
}

/// PTRACE_GETSIGINFO fails with EINVAL in a group-stop: there is no signal
/// being delivered, only a process that has stopped.
fn is_group_stop(pid: Pid) -> Result<bool> {
    match ptrace::getsiginfo(pid) {
        Ok(_) => Ok(false),
        Err(Errno::EINVAL) => Ok(true),
        Err(errno) => Err(errno).or_gone("PTRACE_GETSIGINFO", pid),
    }
}

/// PTRACE_GET_SYSCALL_INFO, or `None` where the kernel lacks it (before
/// Linux 5.3 it answers an unknown request with EIO).
fn syscall_info(pid: Pid) -> Result<Option<libc::ptrace_syscall_info>> {
    match ptrace::syscall_info(pid) {
        Ok(info) => Ok(Some(info)),
        Err(Errno::EIO | Errno::EINVAL) => Ok(None),
        Err(errno) => Err(errno).or_gone("PTRACE_GET_SYSCALL_INFO", pid),
    }
}

fn syscall_stop(pid: Pid, in_syscall: Option<bool>) -> Result<Stop> {
    let info = match (syscall_info(pid)?, in_syscall) {
        (Some(info), _) => info,
        (None, Some(in_syscall)) => return syscall_stop_from_registers(pid, in_syscall),
        (None, None) => bail!(
            "PTRACE_GET_SYSCALL_INFO on pid {pid}: this kernel lacks it (Linux 5.3 or newer has it)"
        ),
    };
    // SAFETY: `op` says which member of the union the kernel filled in.
    unsafe {
        match info.op {
            libc::PTRACE_SYSCALL_INFO_ENTRY => Ok(Stop::SyscallEnter {
                nr: info.u.entry.nr,
                args: info.u.entry.args,
                abi: Abi::of(info.arch, info.u.entry.nr),
            }),
            libc::PTRACE_SYSCALL_INFO_EXIT => Ok(Stop::SyscallExit {
                ret: info.u.exit.sval,
                is_error: info.u.exit.is_error != 0,
            }),
            op => bail!("pid {pid}: syscall stop with unexpected PTRACE_SYSCALL_INFO op {op}"),
        }
    }
}

/// The call a SECCOMP_RET_TRACE stopped: PTRACE_GET_SYSCALL_INFO says which
/// ABI it came through; without it, the registers.
fn seccomp_event(pid: Pid, data: u16) -> Result<Event> {
    if let Some(info) = syscall_info(pid)? {
        if info.op == libc::PTRACE_SYSCALL_INFO_SECCOMP {
            // SAFETY: op SECCOMP means the kernel filled in `seccomp`.
            let call = unsafe { info.u.seccomp };
            return Ok(Event::Seccomp {
                data,
                nr: call.nr,
                args: call.args,
                abi: Abi::of(info.arch, call.nr),
            });
        }
    }
    let regs = crate::arch::read_regs(pid)?;
    let abi = Abi::from_registers(&regs);
    Ok(Event::Seccomp {
        data,
        nr: crate::arch::syscall_number(&regs),
        args: crate::arch::syscall_args_of(abi, &regs),
        abi,
    })
}

fn event_stop(pid: Pid, event: i32, sig: Sig) -> Result<Stop> {
    let message = || ptrace::getevent(pid).or_gone("PTRACE_GETEVENTMSG", pid);
    let child = || message().map(|m| Pid::from_raw(m as i32));
    let event = match event {
        libc::PTRACE_EVENT_FORK => Event::Fork { child: child()? },
        libc::PTRACE_EVENT_VFORK => Event::Vfork { child: child()? },
        libc::PTRACE_EVENT_CLONE => Event::Clone { child: child()? },
        libc::PTRACE_EVENT_EXEC => Event::Exec {
            former_pid: child()?,
        },
        libc::PTRACE_EVENT_VFORK_DONE => Event::VforkDone,
        libc::PTRACE_EVENT_EXIT => Event::Exit {
            status: message()? as i32,
        },
        libc::PTRACE_EVENT_SECCOMP => seccomp_event(pid, message()? as u16)?,
        libc::PTRACE_EVENT_STOP if sig.is_stop_signal() => return Ok(Stop::Group(sig)),
        libc::PTRACE_EVENT_STOP => Event::Stop(sig),
        other => bail!("pid {pid}: unknown ptrace event {other}"),
    };
    Ok(Stop::Event(event))
}

impl Stop {
    /// The exit code a shell would report: the status, or 128+N for signal N.
    pub fn exit_code(&self) -> Option<u8> {
        match *self {
            Stop::Exited(code) => Some(code as u8),
            Stop::Killed { signal, .. } => Some((128 + signal.number()) as u8),
            _ => None,
        }
    }

    /// Whether the process has ended: exited or killed, and reaped by this
    /// wait.
    pub fn has_ended(&self) -> bool {
        matches!(self, Stop::Exited(_) | Stop::Killed { .. })
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Stop::SyscallEnter { nr, abi, .. } => {
                write!(f, "syscall-enter-stop: {} is about to run", abi.name(nr))?;
                if abi != Abi::NATIVE {
                    write!(f, " ({} ABI)", abi.mode())?;
                }
                Ok(())
            }
            Stop::SyscallExit { ret, .. } => write!(f, "syscall-exit-stop: returned {ret}"),
            Stop::Signal(sig) => {
                write!(f, "signal-delivery-stop: {sig} is on its way to the tracee")
            }
            Stop::Group(sig) => write!(f, "group-stop: the tracee stopped on {sig}"),
            Stop::Event(event) => write!(f, "{event}"),
            Stop::Exited(code) => write!(f, "exited with status {code}"),
            Stop::Killed {
                signal,
                core_dumped,
            } => {
                write!(f, "killed by {signal}")?;
                if core_dumped {
                    write!(f, " (core dumped)")?;
                }
                Ok(())
            }
            Stop::Gone => write!(f, "gone: killed before the tracer could look at the stop"),
            Stop::Continued => write!(f, "continued: SIGCONT woke the stopped process"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Event::Fork { child } => write!(f, "PTRACE_EVENT_FORK: new child pid {child}"),
            Event::Vfork { child } => write!(f, "PTRACE_EVENT_VFORK: new child pid {child}"),
            Event::Clone { child } => write!(f, "PTRACE_EVENT_CLONE: new thread pid {child}"),
            Event::Exec { .. } => {
                write!(f, "PTRACE_EVENT_EXEC: execve succeeded, a new program runs")
            }
            Event::VforkDone => write!(f, "PTRACE_EVENT_VFORK_DONE: the vfork child let go"),
            Event::Exit { status } => {
                write!(f, "PTRACE_EVENT_EXIT: about to exit (status {status:#x})")
            }
            Event::Seccomp { data, nr, abi, .. } => write!(
                f,
                "PTRACE_EVENT_SECCOMP: the filter returned RET_TRACE, data {data}, for {}",
                abi.name(nr)
            ),
            Event::Stop(sig) => write!(f, "PTRACE_EVENT_STOP: stopped by the tracer ({sig})"),
        }
    }
}

/// The raw status in the words of the C macros, e.g.
/// `WIFSTOPPED, WSTOPSIG = 19 (SIGSTOP)`.
pub fn describe_raw(raw: i32) -> String {
    if libc::WIFEXITED(raw) {
        format!("WIFEXITED, WEXITSTATUS = {}", libc::WEXITSTATUS(raw))
    } else if libc::WIFSIGNALED(raw) {
        let sig = libc::WTERMSIG(raw);
        let core = if libc::WCOREDUMP(raw) {
            ", WCOREDUMP"
        } else {
            ""
        };
        format!(
            "WIFSIGNALED, WTERMSIG = {sig} ({}){core}",
            raw_signal_name(sig)
        )
    } else if libc::WIFSTOPPED(raw) {
        let sig = libc::WSTOPSIG(raw);
        let event = (raw >> 16) & 0xff;
        let mut text = if sig == libc::SIGTRAP | 0x80 {
            format!("WIFSTOPPED, WSTOPSIG = SIGTRAP|0x80 ({sig:#x})")
        } else {
            format!("WIFSTOPPED, WSTOPSIG = {sig} ({})", raw_signal_name(sig))
        };
        if event != 0 {
            text += &format!(", event (status>>16) = {event} ({})", event_name(event));
        }
        text
    } else if libc::WIFCONTINUED(raw) {
        "WIFCONTINUED".to_string()
    } else {
        "not a status the wait macros know".to_string()
    }
}

fn raw_signal_name(number: i32) -> String {
    Sig::new(number).map_or_else(|| "not a signal".to_string(), Sig::name)
}

fn event_name(event: i32) -> &'static str {
    match event {
        libc::PTRACE_EVENT_FORK => "PTRACE_EVENT_FORK",
        libc::PTRACE_EVENT_VFORK => "PTRACE_EVENT_VFORK",
        libc::PTRACE_EVENT_CLONE => "PTRACE_EVENT_CLONE",
        libc::PTRACE_EVENT_EXEC => "PTRACE_EVENT_EXEC",
        libc::PTRACE_EVENT_VFORK_DONE => "PTRACE_EVENT_VFORK_DONE",
        libc::PTRACE_EVENT_EXIT => "PTRACE_EVENT_EXIT",
        libc::PTRACE_EVENT_SECCOMP => "PTRACE_EVENT_SECCOMP",
        libc::PTRACE_EVENT_STOP => "PTRACE_EVENT_STOP",
        _ => "unknown event",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lectures_sigstop_status() {
        assert_eq!(describe_raw(0x137f), "WIFSTOPPED, WSTOPSIG = 19 (SIGSTOP)");
    }

    #[test]
    fn exec_event_status() {
        assert_eq!(
            describe_raw(0x4057f),
            "WIFSTOPPED, WSTOPSIG = 5 (SIGTRAP), event (status>>16) = 4 (PTRACE_EVENT_EXEC)"
        );
    }

    #[test]
    fn exit_and_kill_statuses() {
        assert_eq!(describe_raw(3 << 8), "WIFEXITED, WEXITSTATUS = 3");
        assert_eq!(describe_raw(9), "WIFSIGNALED, WTERMSIG = 9 (SIGKILL)");
        assert_eq!(
            describe_raw(11 | 0x80),
            "WIFSIGNALED, WTERMSIG = 11 (SIGSEGV), WCOREDUMP"
        );
    }

    #[test]
    fn exits_decode_without_asking_the_kernel() {
        let nobody = Pid::from_raw(i32::MAX);
        assert_eq!(decode(nobody, 7 << 8).unwrap(), Stop::Exited(7));
        assert_eq!(
            decode(nobody, 15).unwrap(),
            Stop::Killed {
                signal: Sig::new(libc::SIGTERM).unwrap(),
                core_dumped: false
            }
        );
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(Stop::Exited(3).exit_code(), Some(3));
        let killed = Stop::Killed {
            signal: Sig::SIGKILL,
            core_dumped: false,
        };
        assert_eq!(killed.exit_code(), Some(137));
        let realtime = Stop::Killed {
            signal: Sig::new(39).unwrap(),
            core_dumped: false,
        };
        assert_eq!(realtime.exit_code(), Some(167));
        assert_eq!(Stop::Signal(Sig::SIGUSR1).exit_code(), None);
    }
}
