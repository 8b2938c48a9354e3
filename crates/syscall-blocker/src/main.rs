//! syscall-blocker: the lecture's PTRACE_SYSCALL loop. At each syscall
//! entry a blocked call gets the number -1, so the kernel runs nothing; at
//! its exit the return value becomes -EPERM, and the program sees a failure.

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::unistd::Pid;
use workbook::names::{errno_by_name, similar_syscalls, syscall_name, syscall_number};
use workbook::seccomp;
use workbook::trace::{spawn_traced, spawn_traced_with, unless_gone, Resume, Tracees};
use workbook::{arch, CommandArgs, Event, Program, Stop};

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
    /// Print every syscall, strace-style, on stderr (with --seccomp: only
    /// the calls the filter sends to the tracer).
    #[arg(long)]
    trace: bool,
    /// Let a seccomp filter pick the calls to stop at (SECCOMP_RET_TRACE for
    /// the blocked ones), instead of stopping at every syscall.
    #[arg(long)]
    seccomp: bool,
    #[command(flatten)]
    command: CommandArgs,
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
        .collect::<Result<BTreeSet<u64>>>()?;
    let errno = errno_by_name(&args.errno).with_context(|| {
        format!(
            "--errno {}: not an errno name such as EPERM or EACCES",
            args.errno
        )
    })?;
    let program = args.command.program("tries")?;
    let shown: Vec<String> = blocked.iter().map(|&nr| syscall_name(nr)).collect();
    let shown = match shown.as_slice() {
        [] => "nothing".to_string(),
        names => format!("{} with {errno:?}", names.join(",")),
    };
    let way = if args.seccomp {
        "; a seccomp filter picks the stops"
    } else {
        ""
    };
    eprintln!(
        "syscall-blocker: running {}, blocking {shown}{way}",
        program.label
    );
    let code = match args.seccomp {
        false => trace(&program, &blocked, errno, args.trace)?,
        true => trace_with_seccomp(&program, &blocked, errno, args.trace)?,
    };
    Ok(ExitCode::from(code))
}

// ANCHOR: loop
fn trace(program: &Program, blocked: &BTreeSet<u64>, errno: Errno, verbose: bool) -> Result<u8> {
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE;
    let mut tracees = Tracees::new(spawn_traced(program, options)?, Resume::Syscall);
    let first = tracees.first();
    // Syscalls between entry and exit, per thread, and whether we blocked them.
    let mut in_call: HashMap<Pid, (Call, bool)> = HashMap::new();
    // Until its execve, the first tracee runs our own fork's code, not the program.
    let mut started = false;
    ptrace::syscall(first, None).context("PTRACE_SYSCALL")?;
    while let Some(status) = tracees.wait()? {
        let pid = status.pid;
        let signal = match status.stop {
            Stop::SyscallEnter { nr, args } => {
                let block = blocked.contains(&nr);
                if block {
                    // Is this system call permitted? No: run syscall -1 instead.
                    let mut regs = arch::read_regs(pid)?;
                    arch::set_syscall_number(&mut regs, u64::MAX);
                    arch::write_regs(pid, regs)?;
                }
                started |= pid == first && nr == libc::SYS_execve as u64 && !block;
                in_call.insert(pid, (Call { nr, args }, block));
                None
            }
            Stop::SyscallExit { mut ret, .. } => {
                let call = in_call.remove(&pid);
                if let Some((_, true)) = call {
                    // errno = EPERM: the program sees the call fail.
                    let mut regs = arch::read_regs(pid)?;
                    ret = -(errno as i64);
                    arch::set_return_value(&mut regs, ret);
                    arch::write_regs(pid, regs)?;
                }
                if let (true, Some((call, blocked))) = (verbose && (started || pid != first), call)
                {
                    show::syscall(pid, prefix(&tracees, pid), &call, ret, blocked);
                }
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Group(_) | Stop::Event(_) => None,
            Stop::Exited(_) | Stop::Killed { .. } => {
                // exit_group, and a call cut short by SIGKILL, never return.
                if let (true, Some((call, _))) =
                    (verbose && (started || pid != first), in_call.remove(&pid))
                {
                    show::unfinished(prefix(&tracees, pid), &call);
                }
                continue;
            }
        };
        // On to the next syscall entry or exit, passing a signal on.
        unless_gone(ptrace::syscall(pid, signal), pid)?;
    }
    say_if_never_started(&tracees, blocked);
    tracees.exit_code()
}
// ANCHOR_END: loop

// ANCHOR: seccomp
/// The same blocking with a seccomp filter in front: the tracee stops only
/// at the calls the filter returns SECCOMP_RET_TRACE for, and every other
/// syscall runs at full speed. At that stop the call has not run yet:
/// syscall number -1 skips it, and rax becomes its result.
fn trace_with_seccomp(
    program: &Program,
    blocked: &BTreeSet<u64>,
    errno: Errno,
    verbose: bool,
) -> Result<u8> {
    let options = Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE;
    let numbers: Vec<u64> = blocked.iter().copied().collect();
    let filter = seccomp::trace_only(&numbers);
    let install = || seccomp::no_new_privs().and_then(|()| seccomp::install(&filter));
    let mut tracees = Tracees::new(spawn_traced_with(program, options, install)?, Resume::Cont);
    let first = tracees.first();
    ptrace::cont(first, None).context("PTRACE_CONT")?;
    while let Some(status) = tracees.wait()? {
        let pid = status.pid;
        let signal = match status.stop {
            Stop::Event(Event::Seccomp { .. }) => {
                let mut regs = arch::read_regs(pid)?;
                let call = Call {
                    nr: arch::syscall_number(&regs),
                    args: arch::syscall_args(&regs),
                };
                arch::set_syscall_number(&mut regs, u64::MAX);
                arch::set_return_value(&mut regs, -(errno as i64));
                arch::write_regs(pid, regs)?;
                if verbose {
                    show::syscall(pid, prefix(&tracees, pid), &call, -(errno as i64), true);
                }
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Exited(_) | Stop::Killed { .. } => {
                continue;
            }
            _ => None,
        };
        unless_gone(ptrace::cont(pid, signal), pid)?;
    }
    say_if_never_started(&tracees, blocked);
    tracees.exit_code()
}
// ANCHOR_END: seccomp

/// A blocked execve fails inside our own child, before the program runs.
fn say_if_never_started(tracees: &Tracees, blocked: &BTreeSet<u64>) {
    if !tracees.first_execed() && blocked.contains(&(libc::SYS_execve as u64)) {
        eprintln!("syscall-blocker: the program could not start: execve itself is blocked");
    }
}

/// strace's habit: a `[pid N]` prefix once more than one process is traced.
fn prefix(tracees: &Tracees, pid: Pid) -> Option<Pid> {
    (tracees.count() > 1 || pid != tracees.first()).then_some(pid)
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
