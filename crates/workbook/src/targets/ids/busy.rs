//! Callers that go away in the middle of a call the supervisor holds: a
//! supervisor must take that in its stride (SECCOMP_IOCTL_NOTIF_SEND
//! fails with ENOENT: nobody is left to answer) and serve the next one.
//!
//! - Killed: two children call getuid without a pause, and one of them
//!   is killed (SIGKILL) again and again, at random moments, and forked
//!   anew.
//! - Signalled: a thread calls getuid without a pause while another sends
//!   it SIGUSR1 again and again; the handler has SA_RESTART, so each
//!   interrupted call starts over, as a new notification, and must still
//!   get its answer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::{raw, Results};

/// The two counters the killed children share with the target.
struct Shared {
    base: *mut AtomicU64,
}

impl Shared {
    fn new() -> Result<Shared, String> {
        // SAFETY: a fresh shared anonymous page; the kernel picks where.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        Ok(Shared { base: base.cast() })
    }

    /// 0: calls made, 1: wrong answers.
    fn counter(&self, n: usize) -> &AtomicU64 {
        // SAFETY: the page is zeroed, aligned and never unmapped (a page a
        // run; the target is short-lived).
        unsafe { &*self.base.add(n) }
    }
}

/// A small random number generator (xorshift), seeded from getrandom:
/// when to kill, not a secret.
struct Random(u64);

impl Random {
    fn new() -> Random {
        let mut seed = [0u8; 8];
        // SAFETY: getrandom writes at most 8 bytes into `seed`.
        unsafe { libc::getrandom(seed.as_mut_ptr().cast(), 8, 0) };
        Random(u64::from_ne_bytes(seed) | 1)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// A child that calls getuid until it is killed, counting its calls and
/// the answers other than `expected`. It dies with the target.
fn busy_child(shared: &Shared, expected: i64) -> Result<i32, String> {
    // SAFETY: this process has one thread; the child makes raw calls only.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            // SAFETY: prctl with integer arguments.
            unsafe {
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                )
            };
            loop {
                let result = raw(libc::SYS_getuid);
                shared.counter(0).fetch_add(1, Ordering::SeqCst);
                if result != expected {
                    shared.counter(1).fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        pid => Ok(pid),
    }
}

fn kill_and_reap(pid: i32) {
    // SAFETY: our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// `kills` times, one of two busy children is killed at a random moment
/// and replaced. Returns (calls made, wrong answers) of all of them.
pub fn killed_callers(kills: u64, expected: i64) -> Result<(u64, u64), String> {
    if kills == 0 {
        return Ok((0, 0));
    }
    let shared = Shared::new()?;
    let mut random = Random::new();
    let mut children = [
        busy_child(&shared, expected)?,
        busy_child(&shared, expected)?,
    ];
    for n in 0..kills {
        std::thread::sleep(Duration::from_micros(random.below(200)));
        let which = (n % 2) as usize;
        kill_and_reap(children[which]);
        children[which] = busy_child(&shared, expected)?;
    }
    for child in children {
        kill_and_reap(child);
    }
    let calls = shared.counter(0).load(Ordering::SeqCst);
    Ok((calls, shared.counter(1).load(Ordering::SeqCst)))
}

static STOP: AtomicBool = AtomicBool::new(false);
static HANDLED: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// A thread calls getuid until told to stop, while this one sends it
/// `signals` SIGUSR1s. Its results go into `results` as "signalled:
/// getuid"; returns how many signals its handler ran for.
pub fn signalled_caller(signals: u64, results: &mut Results) -> Result<u64, String> {
    if signals == 0 {
        return Ok(0);
    }
    // SAFETY: a handler that only adds to an atomic, with SA_RESTART.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        if libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) != 0 {
            return Err(format!("sigaction: {}", std::io::Error::last_os_error()));
        }
    }
    let (tid_sender, tid) = mpsc::channel();
    let caller = std::thread::spawn(move || {
        // SAFETY: gettid has no arguments.
        let _ = tid_sender.send(unsafe { libc::gettid() });
        let mut mine = Results::new();
        while !STOP.load(Ordering::SeqCst) {
            let result = raw(libc::SYS_getuid);
            *mine
                .entry(("signalled: getuid".to_string(), result))
                .or_default() += 1;
        }
        mine
    });
    let tid = tid
        .recv()
        .map_err(|_| "the signalled thread ended at once")?;
    let mut random = Random::new();
    for _ in 0..signals {
        // SAFETY: tgkill to a thread of ours that runs until STOP.
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
        std::thread::sleep(Duration::from_micros(random.below(100)));
    }
    STOP.store(true, Ordering::SeqCst);
    let mine = caller.join().map_err(|_| "the signalled thread panicked")?;
    for (key, count) in mine {
        *results.entry(key).or_default() += count;
    }
    Ok(HANDLED.load(Ordering::SeqCst))
}
