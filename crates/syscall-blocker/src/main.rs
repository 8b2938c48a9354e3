// syscall-blocker: the lecture's PTRACE_SYSCALL loop. At each syscall
// entry a blocked call gets the number -1, so the kernel runs nothing; at
// its exit the return value becomes -EPERM, and the program sees a failure.

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use nix::errno::Errno;
use nix::sys::ptrace::Options;
use nix::unistd::Pid;
use workbook::arch::{self, Abi};
use workbook::gone::unless_gone;
use workbook::names::{parse_syscall, syscall_name, BlockArgs};
use workbook::seccomp;
use workbook::trace::{spawn_traced, spawn_traced_with, Resume, Tracees, FOLLOW_CHILDREN};
use workbook::{
    ptrace_cont, ptrace_listen, ptrace_syscall, CommandArgs, Event, Program, Stop, Waited,
};

mod show;

use show::Call;

/// Runs a command under PTRACE_SYSCALL and makes the named syscalls fail.
///
/// With no command it runs a built-in target that tries uname, socket and
/// getcwd, and blocks socket.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    blocking: BlockArgs,
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
    let mut names = args.blocking.block.clone();
    if args.command.is_empty() && names.is_empty() {
        names.push("socket".into());
    }
    let blocked = Blocked::new(&names)?;
    let errno = args.blocking.errno()?;
    let program = args.command.program("tries")?;
    let shown = match blocked.names.as_slice() {
        [] => "nothing".to_string(),
        names => format!("{} with {errno:?}", names.join(",")),
    };
    let way = if args.seccomp {
        "; a seccomp filter picks the stops"
    } else {
        ""
    };
    workbook::narrate!(
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
fn trace(program: &Program, blocked: &Blocked, errno: Errno, verbose: bool) -> Result<u8> {
    let options = Options::PTRACE_O_TRACESYSGOOD | FOLLOW_CHILDREN;
    let mut tracees = Tracees::new(spawn_traced(program, options)?, Resume::Syscall);
    let mut printer = show::Printer::new(verbose);
    // Syscalls between entry and exit, per thread, and whether we blocked them.
    let mut in_call: HashMap<Pid, (Call, bool)> = HashMap::new();
    ptrace_syscall(tracees.first(), None)?;
    while let Some(status) = tracees.wait()? {
        let pid = status.pid;
        // Until its execve, the first tracee runs our own fork's code, not the program.
        let shown = tracees.first_execed() || pid != tracees.first();
        match status.stop {
            Stop::SyscallEnter { nr, args, abi } => {
                let call = Call { nr, args, abi };
                let block = blocked.contains(abi, nr);
                if block && block_at_entry(pid)?.is_none() {
                    continue; // killed meanwhile: its death is the next report
                }
                if shown || nr == libc::SYS_execve as u64 {
                    printer.enter(pid, prefix(&tracees, pid), &call);
                }
                in_call.insert(pid, (call, block));
            }
            Stop::SyscallExit { mut ret, .. } => {
                if let Some((call, was_blocked)) = in_call.remove(&pid) {
                    if was_blocked {
                        match fail_at_exit(pid, errno)? {
                            Some(set) => ret = set,
                            None => continue,
                        }
                    }
                    if shown || call.nr == libc::SYS_execve as u64 {
                        printer.exit(pid, prefix(&tracees, pid), &call, ret, was_blocked);
                    }
                }
            }
            // Its signal is passed on by resume, below.
            Stop::Signal(_) => {}
            // kill -STOP: leave it stopped, as without a tracer, until SIGCONT.
            Stop::Group(_) => {
                ptrace_listen(pid)?;
                continue;
            }
            Stop::Event(Event::Exec { former_pid }) if former_pid != pid => {
                // A thread's execve: it now has the leader's pid, and its
                // call in progress moves with it.
                let superseded = in_call.remove(&pid).is_some();
                printer.exec_from_thread(pid, former_pid, superseded && shown);
                if let Some(execve) = in_call.remove(&former_pid) {
                    in_call.insert(pid, execve);
                }
            }
            Stop::Event(_) | Stop::Gone | Stop::Continued => {}
            Stop::Exited(_) | Stop::Killed { .. } => {
                // exit_group, and a call cut short by SIGKILL, never return.
                if let Some((call, _)) = in_call.remove(&pid) {
                    if shown {
                        printer.never_returned(pid, prefix(&tracees, pid), &call);
                    }
                }
                if shown {
                    printer.ended(prefix(&tracees, pid), &ending(&status.stop));
                }
                continue;
            }
        }
        // On to the next syscall entry or exit, passing a signal on.
        resume(pid, &status)?;
    }
    say_if_never_started(&tracees, blocked);
    tracees.exit_code()
}

// ANCHOR: block_at_entry
/// At a blocked call's syscall-enter-stop. `None`: the tracee was killed meanwhile.
fn block_at_entry(pid: Pid) -> Result<Option<()>> {
    // Is this system call permitted? No: run syscall -1 instead.
    unless_gone(arch::read_regs(pid).and_then(|mut regs| {
        arch::set_syscall_number(&mut regs, u64::MAX);
        arch::write_regs(pid, regs)
    }))
}
// ANCHOR_END: block_at_entry

// ANCHOR: fail_at_exit
/// At its syscall-exit-stop: the value it returns, or `None` (killed meanwhile).
fn fail_at_exit(pid: Pid, errno: Errno) -> Result<Option<i64>> {
    // errno = EPERM: the program sees the call fail.
    let ret = -(errno as i64);
    let set = unless_gone(arch::read_regs(pid).and_then(|mut regs| {
        arch::set_return_value(&mut regs, ret);
        arch::write_regs(pid, regs)
    }))?;
    Ok(set.map(|()| ret))
}
// ANCHOR_END: fail_at_exit

// ANCHOR: resume
/// After any stop but a group-stop. Only a signal-delivery-stop has a
/// signal for the program; every other stop has none to deliver.
fn resume(pid: Pid, status: &Waited) -> Result<()> {
    let signal = match status.stop {
        Stop::Signal(signal) => Some(signal),
        _ => None,
    };
    ptrace_syscall(pid, signal)
}
// ANCHOR_END: resume
// ANCHOR_END: loop

// ANCHOR: seccomp
/// The same blocking with a seccomp filter in front: the tracee stops only
/// at the calls the filter returns SECCOMP_RET_TRACE for, and every other
/// syscall runs at full speed. At that stop the call has not run yet:
/// syscall number -1 skips it, and rax becomes its result.
fn trace_with_seccomp(
    program: &Program,
    blocked: &Blocked,
    errno: Errno,
    verbose: bool,
) -> Result<u8> {
    let options = Options::PTRACE_O_TRACESECCOMP | FOLLOW_CHILDREN;
    let filter = seccomp::trace_only(
        &blocked.numbers(Abi::X86_64),
        &blocked.numbers(Abi::X32),
        &blocked.numbers(Abi::I386),
    );
    let install = || seccomp::no_new_privs().and_then(|()| seccomp::install(&filter));
    let mut tracees = Tracees::new(spawn_traced_with(program, options, install)?, Resume::Cont);
    let mut printer = show::Printer::new(verbose);
    ptrace_cont(tracees.first(), None)?;
    while let Some(status) = tracees.wait()? {
        let pid = status.pid;
        let Stop::Event(Event::Seccomp {
            data,
            nr,
            args,
            abi,
        }) = status.stop
        else {
            // A signal passed on, a kill -STOP kept (PTRACE_LISTEN), as in `trace`.
            tracees.pass_on(pid, &status.stop)?;
            continue;
        };
        // Our filter's stop, or the program's own filter's: see Sent.
        let sent = Sent::by(data, blocked.contains(abi, nr));
        // Not run yet, as at a syscall entry: skip it and set its result.
        if block_at_entry(pid)?.is_none() {
            continue;
        }
        let Some(ret) = fail_at_exit(pid, sent.errno(errno))? else {
            continue;
        };
        let call = Call { nr, args, abi };
        printer.enter(pid, prefix(&tracees, pid), &call);
        printer.exit_noted(pid, prefix(&tracees, pid), &call, ret, &sent.note());
        ptrace_cont(pid, None)?;
    }
    say_if_never_started(&tracees, blocked);
    tracees.exit_code()
}

/// Who sent the call to the tracer. Filters stack: the program may install
/// its own, returning SECCOMP_RET_TRACE with data of its own for a tracer
/// that understands it. The kernel runs every filter and keeps the most
/// restrictive action; of equal ones, the first it ran, the newest filter's,
/// so when both filters trace a call the stop brings the program's data.
enum Sent {
    /// A blocked call, sent by our filter alone.
    Ours,
    /// A blocked call the program's own filter traces too.
    OursAndTheirs { data: u16 },
    /// Only the program's own filter wants this call traced.
    Theirs { data: u16 },
}

impl Sent {
    fn by(data: u16, blocked: bool) -> Sent {
        match (blocked, data == seccomp::TRACE_ONLY_DATA) {
            (true, true) => Sent::Ours,
            (true, false) => Sent::OursAndTheirs { data },
            (false, _) => Sent::Theirs { data },
        }
    }

    /// A blocked call fails with our errno. The program's own RET_TRACE
    /// gets what the kernel gives it when no tracer asked for seccomp
    /// stops (PTRACE_O_TRACESECCOMP): the call is skipped and fails with
    /// ENOSYS. That is what the program meets without us, or under strace.
    fn errno(&self, ours: Errno) -> Errno {
        match self {
            Sent::Ours | Sent::OursAndTheirs { .. } => ours,
            Sent::Theirs { .. } => Errno::ENOSYS,
        }
    }

    fn note(&self) -> String {
        match self {
            Sent::Ours => "(blocked)".to_string(),
            Sent::OursAndTheirs { data } => {
                format!("(blocked; its own filter traces it too, data {data:#x})")
            }
            Sent::Theirs { data } => format!(
                "(its own filter's SECCOMP_RET_TRACE, data {data:#x}: failed as without a tracer)"
            ),
        }
    }
}
// ANCHOR_END: seccomp

/// A blocked execve fails inside our own child, before the program runs.
fn say_if_never_started(tracees: &Tracees, blocked: &Blocked) {
    if !tracees.first_execed() && blocked.contains(Abi::X86_64, libc::SYS_execve as u64) {
        workbook::narrate!(
            "syscall-blocker: the program could not start: execve itself is blocked"
        );
    }
}

/// strace's `+++ exited with 0 +++` and `+++ killed by SIGKILL +++`.
fn ending(stop: &Stop) -> String {
    match *stop {
        Stop::Killed {
            signal,
            core_dumped: true,
        } => format!("killed by {signal} (core dumped)"),
        Stop::Killed { signal, .. } => format!("killed by {signal}"),
        Stop::Exited(code) => format!("exited with {code}"),
        _ => stop.to_string(),
    }
}

/// strace's habit: a `[pid N]` prefix once more than one process is traced.
fn prefix(tracees: &Tracees, pid: Pid) -> Option<Pid> {
    (tracees.count() > 1 || pid != tracees.first()).then_some(pid)
}

/// The calls to block, by name, and their numbers in each ABI.
struct Blocked {
    names: Vec<String>,
    numbers: BTreeSet<(Abi, u64)>,
}

impl Blocked {
    fn new(names: &[String]) -> Result<Blocked> {
        let mut blocked = Blocked {
            names: Vec::new(),
            numbers: BTreeSet::new(),
        };
        for name in names {
            let name = syscall_name(parse_syscall("--block", name)?);
            for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
                if let Some(nr) = abi.number(&name) {
                    blocked.numbers.insert((abi, nr));
                }
            }
            if !blocked.names.contains(&name) {
                blocked.names.push(name);
            }
        }
        Ok(blocked)
    }

    fn contains(&self, abi: Abi, nr: u64) -> bool {
        self.numbers.contains(&(abi, nr))
    }

    fn numbers(&self, abi: Abi) -> Vec<u64> {
        self.numbers
            .iter()
            .filter(|(of, _)| *of == abi)
            .map(|&(_, nr)| nr)
            .collect()
    }
}
