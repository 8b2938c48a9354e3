//! syscall-blocker: the lecture's PTRACE_SYSCALL loop. At each syscall
//! entry a blocked call gets the number -1, so the kernel runs nothing; at
//! its exit the return value becomes -EPERM, and the program sees a failure.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;
use workbook::names::{errno_by_name, similar_syscalls, syscall_name, syscall_number};
use workbook::trace::spawn_traced;
use workbook::{arch, wait_for, Event, Program, Stop};

mod show;

/// Runs a command under PTRACE_SYSCALL and makes the named syscalls fail.
///
/// With no command it runs a built-in target that tries uname, socket and
/// getcwd, and blocks socket.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Syscalls to block, by name or number: --block socket,connect
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    block: Vec<String>,
    /// The error a blocked call returns.
    #[arg(long, default_value = "EPERM", value_name = "NAME")]
    errno: String,
    /// Print every syscall, strace-style, on stderr.
    #[arg(long)]
    trace: bool,
    /// The command to run, with its arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD ARGS"
    )]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let mut names = args.block.clone();
    if args.command.is_empty() && names.is_empty() {
        names.push("socket".into());
    }
    let blocked = names
        .iter()
        .map(|name| parse_syscall(name))
        .collect::<Result<HashSet<u64>>>()?;
    let errno = errno_by_name(&args.errno).with_context(|| {
        format!(
            "--errno {}: not an errno name such as EPERM or EACCES",
            args.errno
        )
    })?;
    let program = Program::from_command_line(&args.command, "tries")?;
    let shown: Vec<String> = blocked.iter().map(|&nr| syscall_name(nr)).collect();
    eprintln!(
        "syscall-blocker: running {}, blocking {} with {errno:?}",
        program.label,
        shown.join(",")
    );
    let code = trace(&program, &blocked, errno, args.trace)?;
    Ok(ExitCode::from(code))
}

// ANCHOR: loop
fn trace(program: &Program, blocked: &HashSet<u64>, errno: Errno, verbose: bool) -> Result<u8> {
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE;
    let guard = spawn_traced(program, options)?;
    let main = guard.pid();
    let mut tracees = Tracees::new(main);
    ptrace::syscall(main, None).context("PTRACE_SYSCALL")?;
    let mut exit_code = None;
    while !tracees.is_empty() {
        let status = wait_for(None, WaitPidFlag::__WALL)?;
        let pid = status.pid;
        let signal = match status.stop {
            Stop::SyscallEnter { nr, args } => {
                if blocked.contains(&nr) {
                    // Is this system call permitted? No: run syscall -1 instead.
                    let mut regs = arch::read_regs(pid)?;
                    arch::set_syscall_number(&mut regs, u64::MAX);
                    arch::write_regs(pid, regs)?;
                }
                tracees.entered(pid, nr, args, blocked.contains(&nr));
                None
            }
            Stop::SyscallExit { ret, .. } => {
                let (call, was_blocked) = tracees.exited(pid);
                let ret = if was_blocked {
                    // errno = EPERM: the program sees the call fail.
                    let mut regs = arch::read_regs(pid)?;
                    arch::set_return_value(&mut regs, -(errno as i64));
                    arch::write_regs(pid, regs)?;
                    -(errno as i64)
                } else {
                    ret
                };
                if verbose && tracees.started(pid) {
                    if let Some(call) = call {
                        show::syscall(pid, tracees.prefix(pid), &call, ret, was_blocked);
                    }
                }
                None
            }
            Stop::Signal(Signal::SIGSTOP) if tracees.is_newborn(pid) => None,
            Stop::Signal(signal) => Some(signal),
            Stop::Group(_) => None,
            Stop::Event(
                Event::Fork { child } | Event::Vfork { child } | Event::Clone { child },
            ) => {
                tracees.born(child);
                None
            }
            Stop::Event(Event::Exec { former_pid }) => {
                tracees.execed(pid, former_pid);
                None
            }
            Stop::Event(_) => None,
            Stop::Exited(_) | Stop::Killed { .. } => {
                if pid == main {
                    exit_code = status.stop.exit_code();
                    if !tracees.started(main) && blocked.contains(&(libc::SYS_execve as u64)) {
                        eprintln!("syscall-blocker: the program could not start: execve itself is blocked");
                    }
                }
                // exit_group and a call cut short by SIGKILL never return.
                if let Some(call) = tracees.gone(pid) {
                    if verbose && tracees.started(pid) {
                        show::unfinished(tracees.prefix(pid), &call);
                    }
                }
                continue;
            }
        };
        restart(pid, signal)?;
    }
    guard.reaped();
    exit_code.context("the traced program's exit status was never seen")
}
// ANCHOR_END: loop

/// PTRACE_SYSCALL again. A tracee killed (SIGKILL) between its stop and now
/// is gone already: its exit is reported by the next waitpid.
fn restart(pid: Pid, signal: Option<Signal>) -> Result<()> {
    match ptrace::syscall(pid, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(errno) => Err(errno).with_context(|| format!("PTRACE_SYSCALL on pid {pid}")),
    }
}

fn parse_syscall(name: &str) -> Result<u64> {
    if let Ok(number) = name.parse::<u64>() {
        return Ok(number);
    }
    if let Some(number) = syscall_number(name) {
        return Ok(number);
    }
    let close = similar_syscalls(name);
    if close.is_empty() {
        bail!("--block {name}: no such syscall on {}", arch::NAME);
    }
    bail!(
        "--block {name}: no such syscall on {}; did you mean {}?",
        arch::NAME,
        close.join(", ")
    );
}

/// A syscall seen at its entry, kept until its exit.
pub struct Call {
    pub nr: u64,
    pub args: [u64; 6],
}

/// What the loop knows about each traced thread.
struct Tracees {
    main: Pid,
    in_call: HashMap<Pid, (Call, bool)>,
    alive: HashSet<Pid>,
    newborn: HashSet<Pid>,
    /// The main process runs our own fork's code until its first execve.
    main_started: bool,
}

impl Tracees {
    fn new(main: Pid) -> Self {
        Tracees {
            main,
            in_call: HashMap::new(),
            alive: HashSet::from([main]),
            newborn: HashSet::new(),
            main_started: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.alive.is_empty()
    }

    fn entered(&mut self, pid: Pid, nr: u64, args: [u64; 6], blocked: bool) {
        self.alive.insert(pid);
        if pid == self.main && nr == libc::SYS_execve as u64 && !blocked {
            self.main_started = true;
        }
        self.in_call.insert(pid, (Call { nr, args }, blocked));
    }

    fn exited(&mut self, pid: Pid) -> (Option<Call>, bool) {
        match self.in_call.remove(&pid) {
            Some((call, blocked)) => (Some(call), blocked),
            None => (None, false),
        }
    }

    fn started(&self, pid: Pid) -> bool {
        pid != self.main || self.main_started
    }

    /// A new child's first stop is a SIGSTOP that is ours, not its.
    fn born(&mut self, child: Pid) {
        if self.alive.insert(child) {
            self.newborn.insert(child);
        }
    }

    fn is_newborn(&mut self, pid: Pid) -> bool {
        // The child's stop may be reported before its parent's fork event.
        let first_sight = self.alive.insert(pid);
        self.newborn.remove(&pid) || first_sight
    }

    /// After execve in a thread that was not the leader, the kernel gives it
    /// the leader's pid; the former thread id is gone.
    fn execed(&mut self, pid: Pid, former: Pid) {
        if former != pid {
            self.gone(former);
            if let Some(call) = self.in_call.remove(&former) {
                self.in_call.insert(pid, call);
            }
        }
    }

    fn gone(&mut self, pid: Pid) -> Option<Call> {
        self.alive.remove(&pid);
        self.newborn.remove(&pid);
        self.in_call.remove(&pid).map(|(call, _)| call)
    }

    fn prefix(&self, pid: Pid) -> Option<Pid> {
        (self.alive.len() > 1 || pid != self.main).then_some(pid)
    }
}
