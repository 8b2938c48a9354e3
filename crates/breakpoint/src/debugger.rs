//! The debugger around the lesson: when to plant (the dynamic loader's hook
//! or the entry point first, then the symbols), what a SIGTRAP is, forks,
//! vforks and execve. Its parts: the hits and the step over a breakpoint
//! with the other threads stopped (hits.rs), the dynamic loader followed
//! (loader.rs), the --break names found and planted (pending.rs), IFUNC
//! resolvers (ifunc.rs). The requests themselves are int3.rs's.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use anyhow::{Context, Result};
use breakpoint::int3::{self, single_step};
use breakpoint::symbols::{self, Image};
use nix::sys::ptrace;
use nix::unistd::Pid;
use workbook::arch::{self, A_BREAKPOINT, BREAKPOINT_SI_CODE, PAST_THE_BREAKPOINT};
use workbook::gone::{gone_if_killed, unless_gone, OrGone};
use workbook::memory;
use workbook::trace::{spawn_traced, Resume, Tracees, FOLLOW_CHILDREN};
use workbook::{ptrace_cont, ptrace_listen, Event, Program, Sig, Stop};

use crate::procfs::{exe_path, same_memory};
use crate::show;

mod hits;
mod ifunc;
mod loader;
mod pending;

use hits::StepOver;
use ifunc::Resolve;

/// One planted int3.
struct Breakpoint {
    /// As the user named it: `target_fn`, or `0x401136`.
    name: String,
    /// The byte the 0xCC replaced.
    original: int3::Original,
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

pub struct Debugger {
    wanted: Vec<String>,
    /// Only `main` by default: a program without it just runs.
    optional: bool,
    set_first_arg: Option<u64>,
    /// The process whose text holds the breakpoints (its first execve).
    leader: Option<Pid>,
    /// The temporary breakpoint at the entry point, and its original byte.
    entry: Option<(u64, int3::Original)>,
    breakpoints: BTreeMap<u64, Breakpoint>,
    step: Option<StepOver>,
    /// Threads that hit a breakpoint during a step-over: theirs come next.
    queue: VecDeque<(Pid, u64)>,
    /// Threads sent our SIGSTOP, which they must not get.
    stopping: HashSet<Pid>,
    /// Of those, the ones the step-over waits for.
    interrupting: HashSet<Pid>,
    /// Each vfork parent, with its child, until the child's execve or
    /// end: the parent can't stop before then, and is never waited for.
    vfork_parents: HashMap<Pid, Pid>,
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
    pub fn new(wanted: Vec<String>, optional: bool, set_first_arg: Option<u64>) -> Debugger {
        Debugger {
            wanted,
            optional,
            set_first_arg,
            leader: None,
            entry: None,
            breakpoints: BTreeMap::new(),
            step: None,
            queue: VecDeque::new(),
            stopping: HashSet::new(),
            interrupting: HashSet::new(),
            vfork_parents: HashMap::new(),
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
        let spawned = spawn_traced(program, FOLLOW_CHILDREN)?;
        let mut tracees = Tracees::new(spawned, Resume::Cont);
        ptrace_cont(tracees.first(), None)?;
        while let Some(waited) = tracees.wait()? {
            let pid = waited.pid;
            // Whatever the stop, the thread is no longer running.
            self.interrupting.remove(&pid);
            self.listening.remove(&pid);
            if matches!(
                waited.stop,
                Stop::Event(Event::Exec { .. }) | Stop::Exited(_) | Stop::Killed { .. }
            ) {
                // A vfork child that execs or ends lets its parent go on.
                self.vfork_parents.retain(|_, child| *child != pid);
            }
            let next = match waited.stop {
                Stop::Event(Event::Exec { .. }) if pid == tracees.first() => self.exec(pid)?,
                // A vfork child's execve in the middle of its step: it has
                // left the parent's memory, where the int3 goes back.
                Stop::Event(Event::Exec { .. }) if self.is_stepper(pid) => self.left(pid)?,
                Stop::Signal(Sig::SIGTRAP) => self.trap(pid)?,
                // Our SIGSTOP, that stopped it for a step-over: not delivered.
                Stop::Signal(Sig::SIGSTOP) if self.stopping.remove(&pid) => self.resume(pid, None),
                Stop::Signal(signal) => self.resume(pid, Some(signal)),
                Stop::Event(Event::Vfork { child }) => {
                    self.vfork_parents.insert(pid, child);
                    self.born(pid, child)?
                }
                Stop::Event(Event::Clone { child } | Event::Fork { child }) => {
                    self.born(pid, child)?
                }
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
        let loaded = gone_if_killed(pid, loaded.context("reading the program's symbols"));
        let (image, exe) = match unless_gone(loaded) {
            Ok(Some(loaded)) => loaded,
            // Killed meanwhile: its death is the next report.
            Ok(None) => return Ok(Next::Nothing),
            // No --break given: a program we can't read just runs.
            Err(error) if self.optional => {
                say!("{error:#}: running it without breakpoints");
                return Ok(Next::Cont(None));
            }
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
        match unless_gone(self.hook_the_loader(pid))? {
            None => return Ok(Next::Nothing),
            Some(true) => return Ok(Next::Cont(None)),
            Some(false) => {}
        }
        say!(
            "entry point e_entry {:#x} + base = {entry:#x}: {A_BREAKPOINT} there first, \
             where the program's own code starts",
            image.entry
        );
        let Some(original) = unless_gone(plant(pid, entry, false))? else {
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
        let Some(info) = unless_gone(ptrace::getsiginfo(pid).or_gone("PTRACE_GETSIGINFO", pid))?
        else {
            return Ok(Next::Nothing);
        };
        if let Some(step) = &self.step {
            if step.pid == pid && step.lifted {
                // The kernel's own trap after one instruction.
                if arch::is_single_step_trap(&info) {
                    return self.step_done(pid);
                }
                return Ok(self.resume(pid, Some(Sig::SIGTRAP)));
            }
        }
        if !arch::PROGRAM_CAN_SINGLE_STEP && arch::is_single_step_trap(&info) {
            // A step's trap with no step of ours under way (a step may end
            // late, e.g. one that entered a signal handler). Where the
            // program can't single-step itself (arm64), it is not its
            // SIGTRAP: passed on, it would kill it.
            return Ok(self.resume(pid, None));
        }
        if info.si_code != BREAKPOINT_SI_CODE {
            // kill -TRAP, raise(SIGTRAP): the program's signal.
            say!(
                "[pid {pid}] SIGTRAP, si_code {:#x} ({}): not ours, the program's; passed on",
                info.si_code,
                crate::show::si_code_name(info.si_code)
            );
            return Ok(self.resume(pid, Some(Sig::SIGTRAP)));
        }
        let Some(regs) = unless_gone(arch::read_regs(pid))? else {
            return Ok(Next::Nothing);
        };
        let address = arch::instruction_pointer(&regs).wrapping_sub(PAST_THE_BREAKPOINT);
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
            return Ok(unless_gone(self.resolver_called(pid, address))?.unwrap_or(Next::Nothing));
        }
        if self.breakpoints[&address].loader {
            return Ok(unless_gone(self.loader_changed(pid, address))?.unwrap_or(Next::Nothing));
        }
        unless_gone(self.hit(pid, address, &info, regs))?;
        Ok(Next::Nothing)
    }
    // ANCHOR_END: trap

    /// Threads of the leader, and vfork children before their execve,
    /// share its memory: the breakpoints are theirs too.
    fn shares_text(&self, pid: Pid) -> bool {
        let Some(leader) = self.leader else {
            return false;
        };
        pid == leader || same_memory(pid, leader)
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
fn plant(pid: Pid, address: u64, explain: bool) -> Result<int3::Original> {
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
fn unplant(pid: Pid, address: u64, original: int3::Original, explain: bool) -> Result<()> {
    let restored = int3::unplant(pid, address, original)?;
    if explain {
        say!(
            "[pid {pid}] PTRACE_POKETEXT {address:#x}, {} back: {}",
            show::ORIGINAL,
            show::word_bytes(restored)
        );
    }
    Ok(())
}
