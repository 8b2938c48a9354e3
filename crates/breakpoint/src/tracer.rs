//! The debugger around the lesson: where the breakpoints go (the dynamic
//! loader's hook or the entry point first, then the symbols: loader.rs),
//! what a SIGTRAP is, the hits, the step over a breakpoint with the other
//! threads stopped, forks, vforks and execve; and `--count`. The requests
//! themselves are int3.rs's.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::unistd::Pid;
use workbook::arch::{self, BREAKPOINT, BREAKPOINT_LENGTH};
use workbook::memory;
use workbook::trace::{spawn_traced, spawn_traced_with, unless_vanished, Resume, Tracees};
use workbook::{ptrace_cont, ptrace_listen, Event, Program, Sig, Stop};

use crate::int3::{self, single_step};
use crate::show;
use crate::symbols::{self, Image};

// The dynamic loader followed: the libraries it maps, IFUNC resolvers. A
// module of the debugger's own, for its methods to see the state here.
#[path = "loader.rs"]
mod loader;

/// `--break 0x401136`: an address, not a symbol.
pub fn is_address(spec: &str) -> bool {
    spec.starts_with("0x") || spec.starts_with("0X")
}

/// A number as gdb reads one: decimal, or hex with 0x.
pub fn parse_number(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("'{text}' is not a number (decimal, or hex with 0x)"))
}

/// One planted int3.
struct Breakpoint {
    /// As the user named it: `target_fn`, or `0x401136`.
    name: String,
    /// The byte the 0xCC replaced.
    original: u8,
    hits: u64,
    /// For `<symbol+offset>` labels in the listing.
    symbol: Option<String>,
    /// Whether `x/3i` was shown, at the first step-over.
    listed: bool,
    /// The dynamic loader's r_brk: ours, not the user's.
    loader: bool,
    /// On an IFUNC's resolver in a static program (ours too): the
    /// --break names waiting for what the program's own call returns.
    resolving: Vec<String>,
}

/// What to do with a stopped tracee once its stop is handled.
enum Next {
    /// PTRACE_CONT, passing the signal on.
    Cont(Option<Sig>),
    /// PTRACE_SINGLESTEP, passing the signal on: it is stepping over a
    /// breakpoint.
    Step(Option<Sig>),
    /// Keep it stopped while another thread steps over a breakpoint; the
    /// signal is passed on when it is let go.
    Hold(Option<Sig>),
    /// Already restarted, kept stopped for a reason of its own, or gone.
    Nothing,
}

/// The one step over a breakpoint in progress: `pid` will run the
/// original instruction at `address`, once every other thread is stopped.
struct StepOver {
    pid: Pid,
    address: u64,
    /// The original byte is in place, and the thread single-stepping.
    lifted: bool,
    /// A signal that came for the thread meanwhile, delivered after.
    deferred: Option<Sig>,
}

pub struct Debugger {
    wanted: Vec<String>,
    /// Only `main` by default: a program without it just runs.
    optional: bool,
    set_rdi: Option<u64>,
    /// The process whose text holds the breakpoints (its first execve).
    leader: Option<Pid>,
    /// The temporary breakpoint at the entry point, and its original byte.
    entry: Option<(u64, u8)>,
    breakpoints: BTreeMap<u64, Breakpoint>,
    step: Option<StepOver>,
    /// Threads that hit a breakpoint during a step-over: theirs come next.
    queue: VecDeque<(Pid, u64)>,
    /// Threads sent our SIGSTOP, which they must not get.
    stopping: HashSet<Pid>,
    /// Of those, the ones the step-over waits for.
    interrupting: HashSet<Pid>,
    /// Threads kept stopped until the step-overs are done, with the signal
    /// each is to get.
    held: BTreeMap<Pid, Option<Sig>>,
    /// Threads left in a group-stop (kill -STOP) with PTRACE_LISTEN.
    listening: HashSet<Pid>,
    /// The first hit is narrated request by request; the rest in a line.
    explained: bool,
    /// The thread whose step-over is being narrated.
    narrated_step: Option<Pid>,
    /// Whether stopping the other threads was told.
    explained_interrupt: bool,
    /// Forked children whose inherited copy of the text we have met.
    copies: HashSet<Pid>,
    /// Threads and processes born in the leader's memory (CLONE_VM: vfork
    /// and posix_spawn children, clone(CLONE_VM) without CLONE_THREAD):
    /// stopped with the threads during a step-over.
    sharers: HashSet<Pid>,
    /// What --break names that no file loaded so far defines.
    pending: Vec<String>,
    /// The files they were last looked for in.
    searched: String,
    /// Pending IFUNCs of libraries loaded later, and the library of each.
    unresolved_ifuncs: BTreeMap<String, String>,
    /// The dynamic loader's function for debuggers, once it has an int3.
    hook: Option<loader::Hook>,
}

impl Debugger {
    pub fn new(wanted: Vec<String>, optional: bool, set_rdi: Option<u64>) -> Debugger {
        Debugger {
            wanted,
            optional,
            set_rdi,
            leader: None,
            entry: None,
            breakpoints: BTreeMap::new(),
            step: None,
            queue: VecDeque::new(),
            stopping: HashSet::new(),
            interrupting: HashSet::new(),
            held: BTreeMap::new(),
            listening: HashSet::new(),
            explained: false,
            narrated_step: None,
            explained_interrupt: false,
            copies: HashSet::new(),
            sharers: HashSet::new(),
            pending: Vec::new(),
            searched: String::new(),
            unresolved_ifuncs: BTreeMap::new(),
            hook: None,
        }
    }

    // ANCHOR: loop
    pub fn debug(&mut self, program: &Program) -> Result<u8> {
        let options = Options::PTRACE_O_TRACEEXEC
            | Options::PTRACE_O_TRACEFORK
            | Options::PTRACE_O_TRACEVFORK
            | Options::PTRACE_O_TRACECLONE;
        let mut tracees = Tracees::new(spawn_traced(program, options)?, Resume::Cont);
        ptrace_cont(tracees.first(), None)?;
        while let Some(waited) = tracees.wait()? {
            let pid = waited.pid;
            // Whatever the stop, the thread is no longer running.
            self.interrupting.remove(&pid);
            self.listening.remove(&pid);
            let next = match waited.stop {
                Stop::Event(Event::Exec { .. }) if pid == tracees.first() => self.exec(pid)?,
                // A vfork child's execve in the middle of its step: it has
                // left the parent's memory, where the int3 goes back.
                Stop::Event(Event::Exec { .. }) if self.is_stepper(pid) => self.left(pid)?,
                Stop::Signal(Sig::SIGTRAP) => self.trap(pid)?,
                // Our SIGSTOP, that stopped it for a step-over: not delivered.
                Stop::Signal(Sig::SIGSTOP) if self.stopping.remove(&pid) => self.resume(pid, None),
                Stop::Signal(signal) => self.resume(pid, Some(signal)),
                Stop::Event(
                    Event::Clone { child } | Event::Vfork { child } | Event::Fork { child },
                ) => self.born(pid, child)?,
                // kill -STOP: leave it stopped, as without a tracer, until SIGCONT.
                Stop::Group(_) => {
                    ptrace_listen(pid)?;
                    self.listening.insert(pid);
                    Next::Nothing
                }
                Stop::Exited(_) | Stop::Killed { .. } => {
                    self.left(pid)?;
                    Next::Nothing
                }
                _ => self.resume(pid, None),
            };
            match next {
                Next::Cont(signal) => ptrace_cont(pid, signal)?,
                Next::Step(signal) => single_step(pid, signal)?,
                Next::Hold(signal) => {
                    self.held.insert(pid, signal);
                }
                Next::Nothing => {}
            }
            self.step_when_ready()?;
        }
        self.summary();
        tracees.exit_code()
    }
    // ANCHOR_END: loop

    /// The thread stepping over a breakpoint goes on stepping; the others
    /// that share its text stay stopped meanwhile; the rest run.
    fn resume(&mut self, pid: Pid, signal: Option<Sig>) -> Next {
        if let Some(step) = self.step.as_mut().filter(|step| step.pid == pid) {
            // Delivered now, the signal's handler would run instead of the
            // one instruction, and the int3 be hit again on its return:
            // the signal waits for the step (one at a time).
            match (signal, step.deferred) {
                (Some(signal), None) => {
                    step.deferred = Some(signal);
                    return Next::Step(None);
                }
                // The same again: the instruction itself faults (SIGSEGV,
                // SIGFPE), and so it goes now, once.
                (Some(signal), Some(deferred)) if signal == deferred && !signal.is_realtime() => {
                    step.deferred = None;
                }
                _ => {}
            }
            return Next::Step(signal);
        }
        match self.step.is_some() && self.shares_text(pid) {
            true => Next::Hold(signal),
            false => Next::Cont(signal),
        }
    }

    /// A new thread or process. One in the memory of the process with the
    /// breakpoints (a thread; a vfork or other CLONE_VM child) must not run
    /// past a lifted int3 either: born during a step-over, it is stopped
    /// at once, and every step-over stops it from now on, like a thread.
    fn born(&mut self, parent: Pid, child: Pid) -> Result<Next> {
        if self.shares_text(parent) && same_memory(child, parent) {
            self.sharers.insert(child);
            if self.step.is_some() {
                self.stop_thread(child, true)?;
            }
        }
        Ok(self.resume(parent, None))
    }

    // ANCHOR: exec
    /// PTRACE_EVENT_EXEC: the program is loaded, but of a dynamically
    /// linked one only the program and the dynamic loader are mapped, not
    /// the libraries. A first int3 in the loader (loader.rs) stops it when
    /// they all are; in a static program, at the entry point (e_entry +
    /// base).
    fn exec(&mut self, pid: Pid) -> Result<Next> {
        if self.leader.is_some() {
            if !self.breakpoints.is_empty() {
                say!("[pid {pid}] execve: a new program; the breakpoints went with the old one");
            }
            self.breakpoints.clear();
            self.pending.clear();
            self.hook = None;
            self.step = None;
            self.queue.clear();
            self.entry = None;
            for (pid, signal) in std::mem::take(&mut self.held) {
                ptrace_cont(pid, signal)?;
            }
            return Ok(Next::Cont(None));
        }
        self.leader = Some(pid);
        let loaded = exe_path(pid).and_then(|exe| {
            let maps = memory::maps(pid)?;
            Ok((Image::load(&exe, &maps)?, exe))
        });
        let (image, exe) = match loaded.context("reading the program's symbols") {
            Ok(loaded) => loaded,
            // No --break given: a program we can't read just runs.
            Err(error) if self.optional => {
                say!("{error:#}: running it without breakpoints");
                return Ok(Next::Cont(None));
            }
            // Killed meanwhile: its death is the next report.
            Err(_) if tracee_gone(pid) => return Ok(Next::Nothing),
            Err(error) => return Err(error),
        };
        let entry = image.entry.wrapping_add(image.bias);
        if image.is_pie {
            say!(
                "PTRACE_EVENT_EXEC: {} is a PIE, loaded at base {:#x}",
                symbols::one_line(&exe),
                image.bias
            );
        } else {
            say!(
                "PTRACE_EVENT_EXEC: {} is loaded at its fixed addresses",
                symbols::one_line(&exe)
            );
        }
        self.pending = self.wanted.clone();
        match unless_vanished(self.hook_the_loader(pid))? {
            None => return Ok(Next::Nothing),
            Some(true) => return Ok(Next::Cont(None)),
            Some(false) => {}
        }
        say!(
            "entry point e_entry {:#x} + base = {entry:#x}: an int3 there first, \
             where the program's own code starts",
            image.entry
        );
        let Some(original) = unless_vanished(plant(pid, entry, false))? else {
            return Ok(Next::Nothing);
        };
        self.entry = Some((entry, original));
        Ok(Next::Cont(None))
    }
    // ANCHOR_END: exec

    // ANCHOR: trap
    /// A SIGTRAP: the end of a single step, an int3 of ours (si_code
    /// SI_KERNEL, rip one past a breakpoint), or the program's own.
    fn trap(&mut self, pid: Pid) -> Result<Next> {
        let Some(info) = unless_vanished(
            ptrace::getsiginfo(pid).with_context(|| format!("PTRACE_GETSIGINFO on pid {pid}")),
        )?
        else {
            return Ok(Next::Nothing);
        };
        if let Some(step) = &self.step {
            if step.pid == pid && step.lifted {
                // The kernel's own trap after one instruction (si_code > 0).
                if info.si_code > 0 && info.si_code != libc::SI_KERNEL {
                    return self.step_done(pid);
                }
                return Ok(self.resume(pid, Some(Sig::SIGTRAP)));
            }
        }
        if info.si_code != libc::SI_KERNEL {
            // kill -TRAP, raise(SIGTRAP): the program's signal.
            return Ok(self.resume(pid, Some(Sig::SIGTRAP)));
        }
        let Some(regs) = unless_vanished(arch::read_regs(pid))? else {
            return Ok(Next::Nothing);
        };
        let address = arch::instruction_pointer(&regs).wrapping_sub(BREAKPOINT_LENGTH);
        if let Some((entry, original)) = self.entry {
            if address == entry && Some(pid) == self.leader {
                return self.reached_entry(pid, entry, original);
            }
        }
        if !self.breakpoints.contains_key(&address) {
            // An int3 in the program itself.
            return Ok(self.resume(pid, Some(Sig::SIGTRAP)));
        }
        if !self.shares_text(pid) {
            return self.inherited(pid, address);
        }
        if !self.breakpoints[&address].resolving.is_empty() {
            return Ok(
                unless_vanished(self.resolver_called(pid, address))?.unwrap_or(Next::Nothing)
            );
        }
        if self.breakpoints[&address].loader {
            return Ok(unless_vanished(self.loader_changed(pid, address))?.unwrap_or(Next::Nothing));
        }
        unless_vanished(self.hit(pid, address, &info, regs))?;
        Ok(Next::Nothing)
    }
    // ANCHOR_END: trap

    // ANCHOR: hit
    /// Our int3 ran in `pid`: show the trap and the arguments, and line the
    /// thread up to step over it.
    fn hit(
        &mut self,
        pid: Pid,
        address: u64,
        info: &libc::siginfo_t,
        regs: arch::Regs,
    ) -> Result<()> {
        let explain = !self.explained;
        self.explained = true;
        let breakpoint = self
            .breakpoints
            .get_mut(&address)
            .expect("a planted breakpoint");
        breakpoint.hits += 1;
        let hits = breakpoint.hits;
        let name = breakpoint.name.clone();
        let rip = arch::instruction_pointer(&regs);
        if explain {
            say!(
                "[pid {pid}] SIGTRAP; PTRACE_GETSIGINFO: si_signo {} si_code {:#x} ({}): an int3 ran",
                info.si_signo,
                info.si_code,
                si_code_name(info.si_code),
            );
            say!(
                "[pid {pid}] PTRACE_GETREGS: rip = {rip:#x} = {name} + {BREAKPOINT_LENGTH}: \
                 the int3 is behind it"
            );
        }
        self.say_hit(pid, hits, &name, address, &regs);
        if let Some(value) = self.set_rdi.take() {
            let mut changed = regs;
            arch::set_first_function_arg(&mut changed, value);
            arch::write_regs(pid, changed)?;
            let (register, was) = (arch::FUNCTION_ARGS[0], arch::function_args(&regs)[0]);
            say!("[pid {pid}] PTRACE_SETREGS: {register} = {value:#x} (was {was:#x})");
        }
        if explain {
            self.narrated_step = Some(pid);
        }
        self.line_up(pid, address)
    }

    /// `hit N at NAME (ADDRESS): rdi=… rsi=… rdx=…`, with the thread's
    /// id when it is not the leader.
    fn say_hit(&self, pid: Pid, hits: u64, name: &str, address: u64, regs: &arch::Regs) {
        let prefix = match Some(pid) == self.leader {
            true => String::new(),
            false => format!("[pid {pid}] "),
        };
        // The first three integer arguments, by the x86_64 calling convention.
        let args: Vec<String> = arch::FUNCTION_ARGS
            .iter()
            .zip(arch::function_args(regs))
            .map(|(register, value)| format!("{register}={value:#x}"))
            .collect();
        say!(
            "{prefix}hit {hits} at {name} ({address:#x}): {}",
            args.join(" ")
        );
    }

    /// `pid` steps over the breakpoint at `address` now, with the other
    /// threads stopped, or after the step-over under way.
    fn line_up(&mut self, pid: Pid, address: u64) -> Result<()> {
        if self.step.is_some() {
            // Another thread is stepping over a breakpoint: this one waits.
            self.queue.push_back((pid, address));
            return Ok(());
        }
        self.step = Some(StepOver {
            pid,
            address,
            lifted: false,
            deferred: None,
        });
        self.stop_the_others(pid)
    }

    /// While the original byte is back, another thread could run through
    /// the address unseen: every other thread in the same memory is
    /// stopped first, as gdb stops them all, and as gdb does it: a SIGSTOP
    /// to each thread (tkill), which the tracer sees at its
    /// signal-delivery-stop and does not deliver. So are the processes
    /// that share the memory (CLONE_VM), and their threads; kcmp says
    /// which do still.
    fn stop_the_others(&mut self, pid: Pid) -> Result<()> {
        let Some(leader) = self.leader else {
            return Ok(());
        };
        let everyone: BTreeSet<Pid> = std::iter::once(leader)
            .chain(self.sharers.iter().copied())
            .flat_map(threads)
            .collect();
        let mut stopped = 0;
        // Only our tracees: io_uring's threads (iou-wrk-N, iou-sqp-N) are
        // threads of the process too, but ptrace never attaches them and
        // no SIGSTOP stops them; waiting for theirs would be forever.
        let others = everyone
            .into_iter()
            .filter(|&thread| traced_by_us(thread) && same_memory(thread, pid));
        for thread in others {
            let busy = thread == pid
                || self.held.contains_key(&thread)
                || self.listening.contains(&thread)
                || self.stopping.contains(&thread)
                || self.queue.iter().any(|&(queued, _)| queued == thread);
            if !busy && self.stop_thread(thread, false)? {
                stopped += 1;
            }
        }
        if stopped > 0 && !self.explained_interrupt {
            self.explained_interrupt = true;
            say!(
                "[pid {pid}] tkill(SIGSTOP) to {stopped} other thread(s): they stop while \
                 the int3 is out, and get no SIGSTOP"
            );
        }
        Ok(())
    }

    /// SIGSTOP to one thread; the step-over waits for its stop. Not for a
    /// thread in uninterruptible sleep (D: one waiting for its vfork
    /// child, which may be next in line): it can't run the program's code
    /// before its stop, which comes when it wakes. A new thread is always
    /// waited for.
    fn stop_thread(&mut self, thread: Pid, newborn: bool) -> Result<bool> {
        // SAFETY: tkill sends a signal; it touches no memory.
        let sent = unsafe { libc::syscall(libc::SYS_tkill, thread.as_raw(), libc::SIGSTOP) };
        match Errno::result(sent) {
            Ok(_) => {}
            // Gone already.
            Err(Errno::ESRCH) => return Ok(false),
            Err(errno) => return Err(errno).with_context(|| format!("tkill({thread}, SIGSTOP)")),
        }
        self.stopping.insert(thread);
        if newborn || thread_state(thread) != Some('D') {
            self.interrupting.insert(thread);
        }
        Ok(true)
    }

    /// Once every other thread has stopped: (1) the original byte back,
    /// (2) rip back by one byte, to the instruction the int3 stood in for,
    /// with PTRACE_PEEKUSER and PTRACE_POKEUSER, (3) PTRACE_SINGLESTEP.
    fn step_when_ready(&mut self) -> Result<()> {
        let Some(step) = &self.step else {
            return Ok(());
        };
        if step.lifted || !self.interrupting.is_empty() {
            return Ok(());
        }
        let (pid, address) = (step.pid, step.address);
        let explain = self.narrated_step == Some(pid);
        let planted = &self.breakpoints[&address];
        let (name, symbol, original) = (
            planted.name.clone(),
            planted.symbol.clone(),
            planted.original,
        );
        let done = unless_vanished((|| {
            // (1)
            unplant(pid, address, original, explain)?;
            // (2)
            let at = int3::rewind(pid)?;
            if explain {
                let offset = arch::user_offset_of_instruction_pointer();
                say!(
                    "[pid {pid}] PTRACE_PEEKUSER offset {offset} ({} in struct user): {at:#x} = {name} + 1",
                    arch::INSTRUCTION_POINTER
                );
                say!(
                    "[pid {pid}] PTRACE_POKEUSER offset {offset}: {} = {address:#x} = {name}",
                    arch::INSTRUCTION_POINTER
                );
            }
            Ok(())
        })())?;
        if let Some(step) = &mut self.step {
            step.lifted = true;
        }
        if done.is_none() {
            // Killed meanwhile: its end comes next, and `gone` puts the int3 back.
            return Ok(());
        }
        if let Some(planted) = self.breakpoints.get_mut(&address).filter(|b| !b.listed) {
            planted.listed = true;
            self.list(pid, address, symbol.as_deref());
        }
        // (3) The original instruction, alone.
        if explain {
            say!("[pid {pid}] PTRACE_SINGLESTEP: the original instruction runs, and only it");
        }
        single_step(pid, None)
    }

    /// (4) The step is done: the 0xCC back in, and the next thread in line
    /// steps over its breakpoint, or everyone goes on (PTRACE_CONT).
    fn step_done(&mut self, pid: Pid) -> Result<Next> {
        let Some(step) = self.step.take() else {
            return Ok(Next::Cont(None));
        };
        let explain = self.narrated_step == Some(pid);
        if explain {
            self.narrated_step = None;
            if let Some(regs) = unless_vanished(arch::read_regs(pid))? {
                let rip = arch::instruction_pointer(&regs);
                say!(
                    "[pid {pid}] SIGTRAP after one instruction: rip = {rip:#x}, {} further",
                    plural(rip.wrapping_sub(step.address), "byte")
                );
            }
        }
        if unless_vanished(plant(pid, step.address, explain))?.is_none() {
            return Ok(Next::Nothing);
        }
        if explain {
            say!("[pid {pid}] PTRACE_CONT: on to the next hit");
        }
        Ok(match self.next_in_line()? {
            true => Next::Hold(step.deferred),
            false => Next::Cont(step.deferred),
        })
    }

    /// The next thread that hit a breakpoint steps over it (the others are
    /// still stopped), or, with none left, every held thread goes on.
    /// Whether a step-over is under way again.
    fn next_in_line(&mut self) -> Result<bool> {
        if let Some((pid, address)) = self.queue.pop_front() {
            self.step = Some(StepOver {
                pid,
                address,
                lifted: false,
                deferred: None,
            });
            return Ok(true);
        }
        for (pid, signal) in std::mem::take(&mut self.held) {
            ptrace_cont(pid, signal)?;
        }
        Ok(false)
    }

    /// A thread or process ended, or a vfork child left for a new program
    /// (then it goes on: the returned `Next`). If it was stepping over a
    /// breakpoint, the 0xCC goes back through another thread of the
    /// process, if any is left.
    fn left(&mut self, pid: Pid) -> Result<Next> {
        self.held.remove(&pid);
        self.sharers.remove(&pid);
        self.stopping.remove(&pid);
        self.queue.retain(|&(queued, _)| queued != pid);
        if self.narrated_step == Some(pid) {
            self.narrated_step = None;
        }
        let Some(step) = self.step.take_if(|step| step.pid == pid) else {
            return Ok(self.resume(pid, None));
        };
        if step.lifted {
            let leader = self.leader.into_iter().filter(|&leader| leader != pid);
            let held = self.held.keys().copied();
            let queued = self.queue.iter().map(|&(queued, _)| queued);
            // Any thread of the process will do: they share the text. They
            // need not be stopped (a vfork parent is not): /proc/PID/mem.
            for other in leader.chain(held).chain(queued).collect::<Vec<_>>() {
                if replant_through_mem(other, step.address).is_ok() {
                    break;
                }
            }
        }
        Ok(match self.next_in_line()? {
            true => Next::Hold(step.deferred),
            false => Next::Cont(step.deferred),
        })
    }

    fn is_stepper(&self, pid: Pid) -> bool {
        self.step.as_ref().is_some_and(|step| step.pid == pid)
    }
    // ANCHOR_END: hit

    /// gdb's `x/3i $pc`: the instructions from the breakpoint on, with the
    /// original bytes in place of any 0xCC of ours, as gdb shows them.
    fn list(&self, pid: Pid, address: u64, symbol: Option<&str>) {
        let Ok(mut code) = workbook::memory::read_bytes(pid, address, 3 * 15) else {
            return;
        };
        for (&at, planted) in self.breakpoints.range(address..address + code.len() as u64) {
            code[(at - address) as usize] = planted.original;
        }
        say!("[pid {pid}] x/3i $pc:");
        for line in show::instructions(&code, address, 3, symbol.map(|s| (s, address))) {
            say!("  {line}");
        }
    }

    /// Threads of the leader, and vfork children before their execve,
    /// share its memory: the breakpoints are theirs too.
    fn shares_text(&self, pid: Pid) -> bool {
        let Some(leader) = self.leader else {
            return false;
        };
        pid == leader || same_memory(pid, leader)
    }

    /// A forked child ran into the 0xCC it inherited in its copy of the
    /// text: put the original byte back in that copy, rip back, and let it
    /// go on uncounted, as gdb does with a child it detaches at fork.
    fn inherited(&mut self, pid: Pid, address: u64) -> Result<Next> {
        let planted = &self.breakpoints[&address];
        let restored = unless_vanished(
            unplant(pid, address, planted.original, false).and_then(|()| int3::rewind(pid)),
        )?;
        if restored.is_none() {
            return Ok(Next::Nothing);
        }
        if self.copies.insert(pid) {
            say!(
                "[pid {pid}] a forked child ran into the int3 it inherited at {}: \
                 the original byte is back in its copy (its hits are not counted)",
                planted.name
            );
        }
        Ok(Next::Cont(None))
    }

    fn summary(&self) {
        self.report_pending();
        for (address, planted) in self.breakpoints.iter().filter(|(_, b)| !b.loader) {
            let times = match planted.hits {
                1 => "once".to_string(),
                n => format!("{n} times"),
            };
            say!("{} ({address:#x}) was hit {times}", planted.name);
        }
    }
}

/// `int3::plant`, and when `explain`, what it did: the word as
/// PTRACE_PEEKTEXT read it and as PTRACE_POKETEXT wrote it back. Returns
/// the byte the 0xCC replaced.
fn plant(pid: Pid, address: u64, explain: bool) -> Result<u8> {
    let planted = int3::plant(pid, address)?;
    if explain {
        say!(
            "[pid {pid}] PTRACE_PEEKTEXT {address:#x}: {}",
            show::word_bytes(planted.read)
        );
        say!(
            "[pid {pid}] PTRACE_POKETEXT {address:#x}: {}",
            show::word_bytes(planted.written)
        );
    }
    Ok(planted.original)
}

/// `int3::unplant`, and when `explain`, the word it wrote.
fn unplant(pid: Pid, address: u64, original: u8, explain: bool) -> Result<()> {
    let restored = int3::unplant(pid, address, original)?;
    if explain {
        say!(
            "[pid {pid}] PTRACE_POKETEXT {address:#x}, the original byte back: {}",
            show::word_bytes(restored)
        );
    }
    Ok(())
}

/// The 0xCC back through /proc/PID/mem, which the tracer may write even
/// where the text is read-only (as gdb does), whether the tracee is
/// stopped or not.
fn replant_through_mem(pid: Pid, address: u64) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let path = format!("/proc/{pid}/mem");
    let mem = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {path}"))?;
    mem.write_all_at(&[BREAKPOINT], address)
        .with_context(|| format!("writing {path} at {address:#x}"))
}

/// Whether the tracee was killed since its stop: ptrace answers ESRCH.
fn tracee_gone(pid: Pid) -> bool {
    matches!(ptrace::getsiginfo(pid), Err(Errno::ESRCH))
}

/// The program's file, as the kernel knows it.
fn exe_path(pid: Pid) -> Result<String> {
    let link = format!("/proc/{pid}/exe");
    let path = std::fs::read_link(&link).with_context(|| format!("readlink {link}"))?;
    Ok(path.to_string_lossy().into_owned())
}

/// kcmp(KCMP_VM): whether two tasks share one address space. Where the
/// kernel lacks kcmp, threads of one process (same Tgid) are assumed to.
fn same_memory(a: Pid, b: Pid) -> bool {
    const KCMP_VM: libc::c_long = 1;
    // SAFETY: kcmp reads no memory of ours; it compares two tasks' mm.
    let ret = unsafe { libc::syscall(libc::SYS_kcmp, a.as_raw(), b.as_raw(), KCMP_VM, 0, 0) };
    match ret {
        0 => true,
        ret if ret > 0 => false,
        _ => thread_group(a).is_some() && thread_group(a) == thread_group(b),
    }
}

fn thread_group(pid: Pid) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Tgid:")?.trim().parse().ok())
}

/// Whether this thread traces `thread` (TracerPid in /proc/TID/status):
/// not so for the kernel's own threads in a process, such as io_uring's.
fn traced_by_us(thread: Pid) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{thread}/status")) else {
        return false;
    };
    let tracer = status
        .lines()
        .find_map(|line| line.strip_prefix("TracerPid:")?.trim().parse::<i32>().ok());
    tracer == Some(nix::unistd::gettid().as_raw())
}

/// The state letter of /proc/PID/stat: R running, S or D asleep, t traced.
fn thread_state(pid: Pid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The threads of the process, now.
fn threads(leader: Pid) -> Vec<Pid> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{leader}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| task.file_name().to_str()?.parse().ok())
        .map(Pid::from_raw)
        .collect()
}

fn si_code_name(code: i32) -> &'static str {
    match code {
        libc::SI_KERNEL => "SI_KERNEL",
        1 => "TRAP_BRKPT",
        2 => "TRAP_TRACE",
        libc::SI_USER => "SI_USER",
        libc::SI_TKILL => "SI_TKILL",
        _ => "other",
    }
}

// ANCHOR: count
/// `--count`: PTRACE_SINGLESTEP from the execve to the exit, one stop per
/// instruction in user space, counted and timed.
pub fn count(program: &Program, versus_syscall: bool) -> Result<ExitCode> {
    let cpu = workbook::bench::pin_to_one_cpu()?.one;
    say!(
        "running {}, single-stepped; pinned to CPU {cpu} (sched_setaffinity, inherited): \
         tracer and tracee take turns on one CPU; without address randomization, as under gdb",
        program.label
    );
    let options = Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE;
    // As gdb does, without address randomization: where the stack and the
    // libraries land changes how many instructions string and memory
    // routines take, and the count would differ from run to run.
    let no_randomization = || {
        // SAFETY: personality(2) takes a number and touches no memory.
        Errno::result(unsafe { libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong) })
            .map(drop)
    };
    let mut tracees = Tracees::new(
        spawn_traced_with(program, options, no_randomization)?,
        Resume::Cont,
    );
    let stepped = tracees.first();
    ptrace_cont(stepped, None)?;
    let (mut steps, mut started, mut took) = (0u64, None, Duration::ZERO);
    while let Some(waited) = tracees.wait()? {
        let pid = waited.pid;
        // The program's first thread is stepped from its execve on; threads
        // and children it starts run freely (their first stop is resumed
        // with PTRACE_CONT for us).
        let stepping = pid == stepped && started.is_some();
        let signal = match waited.stop {
            Stop::Event(Event::Exec { .. }) if pid == stepped && started.is_none() => {
                started = Some(Instant::now());
                single_step(pid, None)?;
                continue;
            }
            Stop::Signal(Sig::SIGTRAP) if stepping && is_step_trap(pid)? => {
                steps += 1;
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Group(_) => {
                ptrace_listen(pid)?;
                continue;
            }
            Stop::Exited(_) | Stop::Killed { .. } => {
                if pid == stepped {
                    took = started.map_or(Duration::ZERO, |at| at.elapsed());
                }
                continue;
            }
            _ => None,
        };
        match stepping {
            true => single_step(pid, signal)?,
            false => ptrace_cont(pid, signal)?,
        }
    }
    let code = tracees.exit_code()?;
    drop(tracees);
    say!(
        "{steps} instructions in user space (one PTRACE_SINGLESTEP stop each), {}: {} per step",
        seconds(took),
        per(took, steps)
    );
    if versus_syscall {
        let (syscalls, stops, took) = syscall_pass(program)?;
        say!(
            "the same program under PTRACE_SYSCALL (its output to /dev/null): {syscalls} syscalls, \
             {stops} stops, {}: {} per syscall, {} per stop",
            seconds(took),
            per(took, syscalls),
            per(took, stops)
        );
    }
    Ok(ExitCode::from(code))
}
// ANCHOR_END: count

/// A single step's trap comes from the kernel (si_code > 0: TRAP_TRACE, or
/// TRAP_BRKPT after a syscall instruction); an int3 is SI_KERNEL, and kill
/// -TRAP is SI_USER: those are the program's.
fn is_step_trap(pid: Pid) -> Result<bool> {
    match ptrace::getsiginfo(pid) {
        Ok(info) => Ok(info.si_code > 0 && info.si_code != libc::SI_KERNEL),
        Err(Errno::ESRCH) => Ok(false),
        Err(errno) => Err(errno).with_context(|| format!("PTRACE_GETSIGINFO on pid {pid}")),
    }
}

/// The program again, under PTRACE_SYSCALL from its execve to its exit:
/// how many syscalls, stops, and how long.
fn syscall_pass(program: &Program) -> Result<(u64, u64, Duration)> {
    let null = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .context("opening /dev/null")?;
    let null_fd = std::os::fd::AsRawFd::as_raw_fd(&null);
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE;
    let quiet = move || {
        // SAFETY: dup2 is async-signal-safe and touches no memory.
        let ok = unsafe { libc::dup2(null_fd, 1) >= 0 && libc::dup2(null_fd, 2) >= 0 };
        if ok {
            Ok(())
        } else {
            Err(Errno::last())
        }
    };
    let mut tracees = Tracees::new(spawn_traced_with(program, options, quiet)?, Resume::Syscall);
    let first = tracees.first();
    workbook::ptrace_cont(first, None)?;
    let (mut syscalls, mut stops, mut started, mut took) = (0, 0, None, Duration::ZERO);
    while let Some(waited) = tracees.wait()? {
        let pid = waited.pid;
        let signal = match waited.stop {
            Stop::Event(Event::Exec { .. }) if pid == first && started.is_none() => {
                started = Some(Instant::now());
                None
            }
            Stop::SyscallEnter { .. } => {
                syscalls += 1;
                stops += 1;
                None
            }
            Stop::SyscallExit { .. } => {
                stops += 1;
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Group(_) => {
                ptrace_listen(pid)?;
                continue;
            }
            Stop::Exited(_) | Stop::Killed { .. } => {
                if pid == first {
                    took = started.map_or(Duration::ZERO, |at| at.elapsed());
                }
                continue;
            }
            _ => None,
        };
        tracees.resume(pid, signal)?;
    }
    Ok((syscalls, stops, took))
}

fn seconds(took: Duration) -> String {
    format!("{:.3} s", took.as_secs_f64())
}

/// Time per event, in µs (or ns when below one µs).
fn per(took: Duration, events: u64) -> String {
    if events == 0 {
        return "n/a".to_string();
    }
    let ns = took.as_nanos() as f64 / events as f64;
    if ns < 1000.0 {
        format!("{ns:.1} ns")
    } else {
        format!("{:.2} µs", ns / 1000.0)
    }
}

fn plural(n: u64, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}
