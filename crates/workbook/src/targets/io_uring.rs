//! The `io-uring` target: target_fn called five times while the process
//! has io_uring's kernel threads among its own: an io-wq worker
//! (`iou-wrk-N`, from a request marked IOSQE_ASYNC) and, with `sqpoll`,
//! the submission thread (`iou-sqp-N`). Both are threads of the process
//! (/proc/PID/task lists them) that ptrace never attaches and that no
//! signal but SIGKILL stops: a debugger that waits for every thread of
//! the process to stop, waits forever.
//!
//! Raw syscalls (io_uring_setup and io_uring_enter, the rings mapped by
//! hand): no library. Where the kernel refuses io_uring (ENOSYS, or EPERM
//! under kernel.io_uring_disabled or a seccomp policy), it says "not
//! available" and still makes the calls.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::breakme::call;

/// struct io_sqring_offsets and io_cqring_offsets (both 40 bytes).
#[repr(C)]
#[derive(Default)]
struct RingOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    /// sq: flags; cq: overflow.
    _flags_or_overflow: u32,
    /// sq: dropped; cq: cqes.
    dropped_or_cqes: u32,
    /// sq: array; cq: flags.
    array_or_flags: u32,
    _resv1: u32,
    _user_addr: u64,
}

/// struct io_uring_params.
#[repr(C)]
#[derive(Default)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    _sq_thread_cpu: u32,
    sq_thread_idle: u32,
    _features: u32,
    _wq_fd: u32,
    _resv: [u32; 3],
    sq_off: RingOffsets,
    cq_off: RingOffsets,
}

const IORING_SETUP_SQPOLL: u32 = 1 << 1;
const IORING_OFF_SQ_RING: i64 = 0;
const IORING_OFF_CQ_RING: i64 = 0x800_0000;
const IORING_OFF_SQES: i64 = 0x1000_0000;
const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
const IORING_ENTER_SQ_WAKEUP: u32 = 1 << 1;
const IORING_OP_NOP: u8 = 0;
/// Run the request in an io-wq worker thread, never inline.
const IOSQE_ASYNC: u8 = 1 << 4;
const SQE_SIZE: usize = 64;
const CQE_SIZE: usize = 16;

/// Calls target_fn five times, printing each result, with an io_uring
/// worker thread in the process (and an SQPOLL thread with `sqpoll`).
pub fn io_uring(mode: Option<&str>) -> ExitCode {
    let sqpoll = match mode {
        None => false,
        Some("sqpoll") => true,
        Some(other) => {
            eprintln!("target: io-uring: unknown mode {other} (sqpoll)");
            return ExitCode::from(2);
        }
    };
    // The ring stays open (its threads alive) until the calls are done.
    let ring = match Ring::start(sqpoll) {
        Ok(ring) => {
            println!("target: io_uring worker thread running");
            Some(ring)
        }
        Err(why) => {
            println!("target: io_uring not available ({why})");
            None
        }
    };
    for n in 1..=5u64 {
        println!("target: target_fn({n}, 0, 0) = {:#x}", call(n, 0, 0));
    }
    drop(ring);
    ExitCode::SUCCESS
}

/// An io_uring whose one request (a NOP) went to an io-wq worker; its fd
/// closed on drop.
struct Ring(libc::c_int);

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: closes the ring's own fd; the mappings stay until exit.
        unsafe { libc::close(self.0) };
    }
}

impl Ring {
    fn start(sqpoll: bool) -> Result<Ring, String> {
        let mut params = Params::default();
        if sqpoll {
            params.flags = IORING_SETUP_SQPOLL;
            params.sq_thread_idle = 10_000;
        }
        // SAFETY: io_uring_setup fills in `params`, a struct io_uring_params.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_io_uring_setup,
                4u32,
                std::ptr::from_mut(&mut params),
            )
        };
        if fd < 0 {
            return Err(format!(
                "io_uring_setup: {}",
                std::io::Error::last_os_error()
            ));
        }
        let ring = Ring(fd as libc::c_int);
        let sq_size = params.sq_off.array_or_flags as usize + params.sq_entries as usize * 4;
        let cq_size =
            params.cq_off.dropped_or_cqes as usize + params.cq_entries as usize * CQE_SIZE;
        let sq = map(ring.0, sq_size, IORING_OFF_SQ_RING)?;
        let _cq = map(ring.0, cq_size, IORING_OFF_CQ_RING)?;
        let sqes = map(
            ring.0,
            params.sq_entries as usize * SQE_SIZE,
            IORING_OFF_SQES,
        )?;
        // SAFETY: the offsets are the kernel's, inside the mappings just
        // made; the kernel reads the SQE only after the tail moves
        // (a release store), and with no request in flight nothing else
        // writes them.
        unsafe {
            let tail = &*sq
                .add(params.sq_off.tail as usize)
                .cast::<std::sync::atomic::AtomicU32>();
            let mask = *sq.add(params.sq_off.ring_mask as usize).cast::<u32>();
            let index = tail.load(std::sync::atomic::Ordering::Acquire) & mask;
            let sqe = sqes.add(index as usize * SQE_SIZE);
            std::ptr::write_bytes(sqe, 0, SQE_SIZE);
            *sqe = IORING_OP_NOP;
            *sqe.add(1) = IOSQE_ASYNC;
            *sq.add(params.sq_off.array_or_flags as usize)
                .cast::<u32>()
                .add(index as usize) = index;
            tail.fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        let flags = IORING_ENTER_GETEVENTS | if sqpoll { IORING_ENTER_SQ_WAKEUP } else { 0 };
        // SAFETY: io_uring_enter on our ring; no signal mask is passed.
        let entered = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                ring.0,
                1u32,
                1u32,
                flags,
                std::ptr::null::<libc::c_void>(),
                0usize,
            )
        };
        if entered < 0 {
            return Err(format!(
                "io_uring_enter: {}",
                std::io::Error::last_os_error()
            ));
        }
        // The NOP is done; its worker stays a few seconds, idle. The calls
        // are made once it is a thread of the process.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !has_thread_named("iou-wrk") {
            if Instant::now() > deadline {
                return Err("no iou-wrk thread appeared".to_string());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(ring)
    }
}

fn map(fd: libc::c_int, size: usize, offset: i64) -> Result<*mut u8, String> {
    // SAFETY: a fresh shared mapping of the ring's fd; no memory of ours is touched.
    let at = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd,
            offset,
        )
    };
    if at == libc::MAP_FAILED {
        return Err(format!(
            "mmap of the ring at {offset:#x}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(at.cast())
}

/// Whether a thread of this process has a name (comm) starting `prefix`.
fn has_thread_named(prefix: &str) -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    tasks.flatten().any(|task| {
        std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.starts_with(prefix))
    })
}
