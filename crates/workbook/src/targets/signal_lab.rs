//! Targets for the signal-control demo: a program whose signals a tracer
//! can read, rewrite, unblock and suppress, and programs that die of a
//! fault at a known address or queue a signal with a value.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicUsize, Ordering};

use super::mailbox::{Mailbox, Reader, Writer};

/// si_value of the last signal `note_value` handled, its si_code and si_pid.
static VALUE: AtomicI64 = AtomicI64::new(-1);
static CODE: AtomicI32 = AtomicI32::new(0);
static SENDER: AtomicI32 = AtomicI32::new(0);
static USR2_COUNT: AtomicUsize = AtomicUsize::new(0);
/// The same as VALUE, CODE and SENDER, for the mailbox mode's other signal.
static OTHER_VALUE: AtomicI64 = AtomicI64::new(-1);
static OTHER_CODE: AtomicI32 = AtomicI32::new(0);
static OTHER_SENDER: AtomicI32 = AtomicI32::new(0);

extern "C" fn note_value(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let (value, code, sender) = read_siginfo(info);
    VALUE.store(value, Ordering::SeqCst);
    CODE.store(code, Ordering::SeqCst);
    SENDER.store(sender, Ordering::SeqCst);
}

extern "C" fn note_other(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let (value, code, sender) = read_siginfo(info);
    OTHER_VALUE.store(value, Ordering::SeqCst);
    OTHER_CODE.store(code, Ordering::SeqCst);
    OTHER_SENDER.store(sender, Ordering::SeqCst);
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

/// A child that writes to address 0x10: the signal that killed it (0 if
/// none did), or None if fork or waitpid failed.
fn child_fault() -> Option<libc::c_int> {
    // SAFETY: the child only calls prctl and faults; fork in a
    // single-threaded program.
    match unsafe { libc::fork() } {
        -1 => None,
        0 => fault_at_0x10(),
        child => {
            let mut status = 0;
            // SAFETY: waitpid writes the status of our own child.
            if unsafe { libc::waitpid(child, &mut status, 0) } != child {
                return None;
            }
            Some(match libc::WIFSIGNALED(status) {
                true => libc::WTERMSIG(status),
                false => 0,
            })
        }
    }
}

/// The signals blocked now, as the kernel's 64-bit set: bit N-1 for signal N.
fn blocked_now() -> u64 {
    (1..=64)
        .filter(|&signal| is_blocked(signal))
        .fold(0, |set, signal| set | 1 << (signal - 1))
}

/// TracerPid in /proc/self/status: who traces us (0: nobody).
fn tracer_pid() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("TracerPid:"))
                .and_then(|pid| pid.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Signals the test may ask the mailbox mode to block beside SIGUSR2: none
/// that its acts use (SIGUSR1, SIGUSR2, SIGWINCH, SIGTERM, SIGCHLD,
/// SIGSEGV), that can't be blocked (SIGKILL, SIGSTOP), or that glibc keeps
/// (32, 33).
pub const MAY_BLOCK: u64 = {
    let mut set = 0u64;
    let mut signal = 1;
    while signal <= 64 {
        let used = matches!(
            signal,
            libc::SIGUSR1
                | libc::SIGUSR2
                | libc::SIGWINCH
                | libc::SIGTERM
                | libc::SIGCHLD
                | libc::SIGSEGV
                | libc::SIGKILL
                | libc::SIGSTOP
                | 32
                | 33
        );
        if !used {
            set |= 1 << (signal - 1);
        }
        signal += 1;
    }
    set
};

/// `builtin:signal-lab mailbox`: `signal_lab`'s acts, with inputs from the
/// test through the mailbox (see `super::mailbox`), which the program that
/// traces the target never sees: a set of signals to block beside SIGUSR2
/// (of `MAY_BLOCK`), and a real-time signal and a value to queue first,
/// which a tracer must pass on as they are. What the target saw goes into
/// its report, for the test alone (little-endian u64s): its TracerPid; the
/// real-time signal's si_value, si_code and whether it came from itself;
/// the same for the SIGUSR1 it queued with 1; whether SIGUSR2 was pending,
/// how often its handler ran, the blocked set after SIGWINCH; and the
/// signal that killed its child. Its own SIGTERM comes between: only a
/// tracer that suppresses it lets the report be written. Last, a child of
/// the target sends it SIGTERM, which must end it (status 0 if it does not).
/// Signals set to be ignored, or blocked, when it started count for
/// nothing: it sets them back first.
pub fn mailbox() -> ExitCode {
    let result = Mailbox::open().and_then(|mailbox| {
        let input = mailbox.receive()?;
        let mut input = Reader::new(&input);
        let block = input.u64()? & MAY_BLOCK;
        let other =
            libc::c_int::try_from(input.u64()?).map_err(|_| "a signal number past c_int")?;
        let value = input.u64()?;
        if !(libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&other) || block & 1 << (other - 1) != 0
        {
            return Err(format!(
                "signal {other} is not a real-time signal apart from the blocked ones"
            ));
        }
        let report = mailbox_acts(block, other, value)?;
        mailbox.reply(&report)
    });
    if let Err(why) = result {
        eprintln!("target: mailbox: {why}");
        return ExitCode::from(3);
    }
    // A SIGTERM from another process: a tracer must pass it on.
    // SAFETY: the child only calls kill, getppid and _exit; fork in a
    // single-threaded program.
    match unsafe { libc::fork() } {
        -1 => ExitCode::FAILURE,
        0 => unsafe {
            libc::kill(libc::getppid(), libc::SIGTERM);
            libc::_exit(0)
        },
        child => {
            // SAFETY: waitpid on our own child; the SIGTERM is delivered
            // (or not) by the time it returns.
            unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
            println!("target: still here after a SIGTERM from my child");
            ExitCode::SUCCESS
        }
    }
}

fn mailbox_acts(block: u64, other: libc::c_int, value: u64) -> Result<Vec<u8>, String> {
    // SAFETY: sigprocmask with an empty local set; signal(2) with SIG_DFL.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
    }
    let tracer = tracer_pid();
    let with_info = note_value as extern "C" fn(_, _, _) as usize;
    let other_info = note_other as extern "C" fn(_, _, _) as usize;
    if !handle(libc::SIGUSR1, with_info, true)
        || !handle(other, other_info, true)
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
        return Err("sigaction failed".into());
    }
    if !queue_self(other, value as usize) || !queue_self(libc::SIGUSR1, 1) {
        return Err("sigqueue failed".into());
    }
    // SAFETY: the set is a local, filled in before sigprocmask reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        for signal in (1..=64).filter(|signal| block & 1 << (signal - 1) != 0) {
            libc::sigaddset(&mut set, signal);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    raise(libc::SIGUSR2);
    let pending = is_pending(libc::SIGUSR2);
    raise(libc::SIGWINCH);
    let blocked = blocked_now();
    raise(libc::SIGTERM);
    let child = child_fault().ok_or("fork or waitpid failed")?;
    // SAFETY: getpid can't fail.
    let me = unsafe { libc::getpid() };
    let mut report = Writer::new();
    report
        .u64(tracer)
        .u64(OTHER_VALUE.load(Ordering::SeqCst) as u64)
        .u64(OTHER_CODE.load(Ordering::SeqCst) as u64)
        .u64(u64::from(OTHER_SENDER.load(Ordering::SeqCst) == me))
        .u64(VALUE.load(Ordering::SeqCst) as u64)
        .u64(CODE.load(Ordering::SeqCst) as u64)
        .u64(u64::from(SENDER.load(Ordering::SeqCst) == me))
        .u64(u64::from(pending))
        .u64(USR2_COUNT.load(Ordering::SeqCst) as u64)
        .u64(blocked)
        .u64(child as u64);
    Ok(report.0)
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
