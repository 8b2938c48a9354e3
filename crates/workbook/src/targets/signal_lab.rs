//! Targets for the signal-control demo: a program whose signals a tracer
//! can read, rewrite, unblock and suppress, and programs that die of a
//! fault at a known address or queue a signal with a value. Its mailbox
//! mode is the signal-control lab's: signals a child sends, and what the
//! handlers got.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicUsize, Ordering};

use super::mailbox::{Reader, Writer};

/// si_value of the last signal `note_value` handled, its si_code and si_pid.
static VALUE: AtomicI64 = AtomicI64::new(-1);
static CODE: AtomicI32 = AtomicI32::new(0);
static SENDER: AtomicI32 = AtomicI32::new(0);
static USR2_COUNT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn note_value(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let (value, code, sender) = read_siginfo(info);
    VALUE.store(value, Ordering::SeqCst);
    CODE.store(code, Ordering::SeqCst);
    SENDER.store(sender, Ordering::SeqCst);
}

/// si_value, si_code and si_pid of the siginfo an SA_SIGINFO handler got.
fn read_siginfo(info: *mut libc::siginfo_t) -> (i64, i32, i32) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t.
    unsafe {
        (
            (*info).si_value().sival_ptr as i64,
            (*info).si_code,
            (*info).si_pid(),
        )
    }
}

extern "C" fn count_usr2(_: libc::c_int) {
    USR2_COUNT.fetch_add(1, Ordering::SeqCst);
}

/// SIGWINCH's handler: the signal is only the tracer's cue.
extern "C" fn do_nothing(_: libc::c_int) {}

/// Installs `handler` for `signal`; with `siginfo`, as an SA_SIGINFO
/// three-argument handler.
fn handle(signal: libc::c_int, handler: usize, siginfo: bool) -> bool {
    // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the
    // handlers only touch atomics, which is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        if siginfo {
            action.sa_flags = libc::SA_SIGINFO;
        }
        if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
            eprintln!(
                "target: sigaction({signal}): {}",
                std::io::Error::last_os_error()
            );
            return false;
        }
    }
    true
}

/// sigqueue(getpid(), signal, value): a queued signal carries si_value.
fn queue_self(signal: libc::c_int, value: usize) -> bool {
    let value = libc::sigval {
        sival_ptr: value as *mut libc::c_void,
    };
    // SAFETY: sigqueue takes plain values.
    if unsafe { libc::sigqueue(libc::getpid(), signal, value) } != 0 {
        eprintln!("target: sigqueue: {}", std::io::Error::last_os_error());
        return false;
    }
    true
}

fn raise(signal: libc::c_int) {
    // SAFETY: raise takes a plain number.
    unsafe { libc::raise(signal) };
}

/// Blocks or unblocks one signal (SIG_BLOCK, SIG_UNBLOCK).
fn block(how: libc::c_int, signal: libc::c_int) {
    // SAFETY: the set is a local, filled in before sigprocmask reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::sigprocmask(how, &set, std::ptr::null_mut());
    }
}

fn is_pending(signal: libc::c_int) -> bool {
    // SAFETY: sigpending fills a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set);
        libc::sigismember(&set, signal) == 1
    }
}

fn is_blocked(signal: libc::c_int) -> bool {
    // SAFETY: sigprocmask with no new set only writes the current mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
        libc::sigismember(&set, signal) == 1
    }
}

/// Four acts, each of which a tracer can change: a queued SIGUSR1 with
/// si_value 1, a SIGUSR2 left blocked and pending until a SIGWINCH, a
/// SIGTERM that would end the program, and a child that dies
/// of a SIGSEGV at address 0x10. It prints what it saw; without a tracer
/// it ends at the SIGTERM, killed (143).
pub fn signal_lab() -> ExitCode {
    let handler = note_value as extern "C" fn(_, _, _) as usize;
    if !handle(libc::SIGUSR1, handler, true)
        || !handle(
            libc::SIGUSR2,
            count_usr2 as extern "C" fn(_) as usize,
            false,
        )
        || !handle(
            libc::SIGWINCH,
            do_nothing as extern "C" fn(_) as usize,
            false,
        )
    {
        return ExitCode::FAILURE;
    }

    println!("target: sigqueue(getpid(), SIGUSR1, si_value 1)");
    if !queue_self(libc::SIGUSR1, 1) {
        return ExitCode::FAILURE;
    }
    println!(
        "target: my SIGUSR1 handler got si_value {}",
        VALUE.load(Ordering::SeqCst)
    );

    block(libc::SIG_BLOCK, libc::SIGUSR2);
    raise(libc::SIGUSR2);
    let pending = if is_pending(libc::SIGUSR2) {
        "pending"
    } else {
        "not pending"
    };
    println!("target: SIGUSR2 blocked and raised: it is {pending}");
    println!("target: raise(SIGWINCH)");
    raise(libc::SIGWINCH);
    match USR2_COUNT.load(Ordering::SeqCst) {
        0 => println!("target: my SIGUSR2 handler has not run: SIGUSR2 is still blocked"),
        _ if is_blocked(libc::SIGUSR2) => {
            println!("target: my SIGUSR2 handler ran, yet SIGUSR2 is blocked again")
        }
        _ => println!("target: my SIGUSR2 handler ran: someone unblocked SIGUSR2"),
    }

    println!("target: raise(SIGTERM), whose default action ends me");
    raise(libc::SIGTERM);
    println!("target: still here after SIGTERM");

    println!("target: a child of mine writes to address 0x10");
    // SAFETY: the child only calls prctl and faults; fork in a
    // single-threaded program.
    match unsafe { libc::fork() } {
        -1 => {
            eprintln!("target: fork: {}", std::io::Error::last_os_error());
            ExitCode::FAILURE
        }
        0 => fault_at_0x10(),
        child => {
            let mut status = 0;
            // SAFETY: waitpid writes the status of our own child.
            unsafe { libc::waitpid(child, &mut status, 0) };
            if libc::WIFSIGNALED(status) {
                let name = crate::signal::Sig::new(libc::WTERMSIG(status))
                    .map_or_else(|| "?".to_string(), |sig| sig.name());
                println!("target: my child was killed by {name}");
            } else {
                println!("target: my child ended with status {status:#x}");
            }
            ExitCode::SUCCESS
        }
    }
}

/// A write to address 0x10: SIGSEGV, SEGV_MAPERR, si_addr=0x10. The
/// process makes itself non-dumpable first, so that no core is dumped
/// whatever the machine's core_pattern: it dies the same way everywhere.
/// The Rust runtime's SIGSEGV handler (it looks for stack overflows, then
/// faults again) goes too: one fault, one SIGSEGV, as in a C program.
fn fault_at_0x10() -> ! {
    // SAFETY: PR_SET_DUMPABLE and signal(SIG_DFL) take plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
    }
    // SAFETY: nothing is mapped at 0x10 (mmap_min_addr keeps the first
    // pages free): the write faults, as intended, and writes nothing.
    unsafe { std::ptr::write_volatile(0x10 as *mut u32, 1) };
    unreachable!("the write to 0x10 faults");
}

/// TracerPid in /proc/self/status: who traces us (0: nobody).
fn tracer_pid() -> u64 {
    crate::procfs::Status::of_self()
        .and_then(|status| status.number("TracerPid"))
        .unwrap_or(0)
}

/// How the mailbox mode's child sends a signal to the target: kill(2)
/// (SI_USER), sigqueue(3) with a value (SI_QUEUE), or tgkill(2) (SI_TKILL).
pub const BY_KILL: u64 = 0;
pub const BY_SIGQUEUE: u64 = 1;
pub const BY_TGKILL: u64 = 2;

/// The most signals the mailbox mode records.
const MAX_DELIVERIES: usize = 256;

/// What each delivery's SA_SIGINFO handler got, in the order the handlers
/// ran: the signal, si_code, si_pid and si_value, one slot each.
static DELIVERIES: AtomicUsize = AtomicUsize::new(0);
static DELIVERED: [[AtomicI64; 4]; MAX_DELIVERIES] =
    [const { [const { AtomicI64::new(0) }; 4] }; MAX_DELIVERIES];

extern "C" fn note_delivery(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let (value, code, sender) = read_siginfo(info);
    let slot = DELIVERIES.fetch_add(1, Ordering::SeqCst);
    if let Some(slot) = DELIVERED.get(slot) {
        for (field, got) in slot
            .iter()
            .zip([signal.into(), code.into(), sender.into(), value])
        {
            field.store(got, Ordering::SeqCst);
        }
    }
}

/// A signal set as sigprocmask takes it, from the kernel's 64-bit mask.
fn sigset(mask: u64) -> libc::sigset_t {
    // SAFETY: the set is a local, emptied before it is filled.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in (1..=64).filter(|signal| mask & 1 << (signal - 1) != 0) {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

fn set_mask(mask: u64) {
    let set = sigset(mask);
    // SAFETY: sigprocmask reads a set that lives for the call.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
}

/// One signal sent to `target` as the test asked: false if the call failed.
fn send(target: libc::pid_t, how: u64, signal: libc::c_int, value: u64) -> bool {
    // SAFETY: kill, sigqueue and tgkill take plain values.
    let result = unsafe {
        match how {
            BY_KILL => libc::kill(target, signal),
            BY_SIGQUEUE => libc::sigqueue(
                target,
                signal,
                libc::sigval {
                    sival_ptr: value as usize as *mut libc::c_void,
                },
            ),
            BY_TGKILL => libc::syscall(libc::SYS_tgkill, target, target, signal) as libc::c_int,
            _ => -1,
        }
    };
    result == 0
}

/// `builtin:signal-lab mailbox`, for the signal-control lab's grading
/// tests: signals sent to the target by its children, as the test asks
/// through the mailbox (see `super::mailbox`), which the program that traces
/// the target never sees, and what the target's handlers got.
///
/// The input (little-endian u64s): the signals to handle (a mask: bit N-1
/// for signal N), each with an SA_SIGINFO handler that notes si_signo,
/// si_code, si_pid and si_value; then the steps, their count first. A step
/// is a mask of signals to keep blocked a while longer, and the signals a
/// child sends, their count first, each as how (`BY_KILL`, `BY_SIGQUEUE`,
/// `BY_TGKILL`), the signal and the value to queue. In each step the
/// target blocks every handled signal, forks the child, which sends its
/// signals to the target in order and exits, and waits for it; then it
/// unblocks all but the signals to keep blocked, and then those: each
/// pending signal is delivered (or not) before sigprocmask returns, so
/// the step's deliveries are all there when it ends.
///
/// The report: its TracerPid; then for each step the child's pid and wait
/// status, and the deliveries, their count first, each as the signal,
/// si_code, si_pid and si_value. Signals set to be ignored, or blocked, when it started count
/// for nothing: it sets them back first.
pub fn mailbox() -> ExitCode {
    super::mailbox::serve(|input| {
        let mut input = Reader::new(input);
        let handled = input.u64()?;
        let mut steps = Vec::new();
        for _ in 0..input.u64()?.min(64) {
            let keep_blocked = input.u64()?;
            let mut sends = Vec::new();
            for _ in 0..input.u64()?.min(64) {
                let how = input.u64()?;
                let signal = libc::c_int::try_from(input.u64()?)
                    .map_err(|_| "a signal number past c_int")?;
                sends.push((how, signal, input.u64()?));
            }
            steps.push((keep_blocked, sends));
        }
        set_mask(0);
        let handler = note_delivery as extern "C" fn(_, _, _) as usize;
        for signal in (1..=64).filter(|signal| handled & 1 << (signal - 1) != 0) {
            if !handle(signal, handler, true) {
                return Err(format!("sigaction for signal {signal} failed"));
            }
        }
        let mut report = Writer::new();
        report.u64(tracer_pid());
        for (keep_blocked, sends) in steps {
            set_mask(handled);
            let first = DELIVERIES.load(Ordering::SeqCst);
            // SAFETY: the child only sends signals and calls _exit; fork in
            // a single-threaded program.
            let child = match unsafe { libc::fork() } {
                -1 => return Err(format!("fork: {}", std::io::Error::last_os_error())),
                0 => {
                    // SAFETY: getppid can't fail.
                    let parent = unsafe { libc::getppid() };
                    let failed = sends
                        .iter()
                        .filter(|&&(how, signal, value)| !send(parent, how, signal, value))
                        .count();
                    // SAFETY: ends the child without running the parent's atexit handlers.
                    unsafe { libc::_exit(failed.min(100) as libc::c_int) }
                }
                child => child,
            };
            let mut status = 0;
            // SAFETY: waitpid writes the status of our own child.
            while unsafe { libc::waitpid(child, &mut status, 0) } == -1 {
                if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
                }
            }
            set_mask(keep_blocked & handled);
            set_mask(0);
            let last = DELIVERIES.load(Ordering::SeqCst).min(MAX_DELIVERIES);
            report.u64(child as u64).u64(status as u64);
            report.u64(last.saturating_sub(first) as u64);
            for slot in DELIVERED.get(first..last).unwrap_or_default() {
                for field in slot {
                    report.u64(field.load(Ordering::SeqCst) as u64);
                }
            }
        }
        Ok((report.0, 0))
    })
}

/// Dies of SIGSEGV at address 0x10.
pub fn segv() -> ExitCode {
    fault_at_0x10()
}

/// `builtin:sigqueue SIGNO VALUE`: sigqueue(getpid(), SIGNO, VALUE) with an
/// SA_SIGINFO handler, which prints the si_value it got.
pub fn sigqueue(signal: Option<&str>, value: Option<&str>) -> ExitCode {
    let signal: libc::c_int = signal.and_then(|s| s.parse().ok()).unwrap_or(libc::SIGUSR1);
    let value: usize = value.and_then(|v| v.parse().ok()).unwrap_or(1);
    let handler = note_value as extern "C" fn(_, _, _) as usize;
    if !handle(signal, handler, true) || !queue_self(signal, value) {
        return ExitCode::FAILURE;
    }
    println!(
        "target: my handler of signal {signal} got si_value {}",
        VALUE.load(Ordering::SeqCst)
    );
    ExitCode::SUCCESS
}
