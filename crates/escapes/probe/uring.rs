//! io_uring: the file is opened by an IORING_OP_OPENAT request, which the
//! kernel carries out without any `openat` syscall for a watcher to see.
//! The calls are io_uring_setup, mmap and io_uring_enter, as
//! io_uring_setup(2) lays them out; no liburing.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::sys::{self, check, syscall};

/// `struct io_sqring_offsets` and `struct io_cqring_offsets` (40 bytes each).
#[repr(C)]
#[derive(Default)]
struct RingOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags_or_overflow: u32,
    /// sq: dropped; cq: cqes.
    dropped_or_cqes: u32,
    /// sq: array; cq: flags.
    array_or_flags: u32,
    resv1: u32,
    user_addr: u64,
}

/// `struct io_uring_params` (120 bytes).
#[repr(C)]
#[derive(Default)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: RingOffsets,
    cq_off: RingOffsets,
}

const IORING_OFF_SQ_RING: u64 = 0;
const IORING_OFF_CQ_RING: u64 = 0x800_0000;
const IORING_OFF_SQES: u64 = 0x1000_0000;
const IORING_ENTER_GETEVENTS: u64 = 1;
const IORING_OP_OPENAT: u8 = 18;
const SQE_SIZE: usize = 64;
const CQE_SIZE: usize = 16;

/// openat(path), refused by the watcher; then the same open as an
/// io_uring request, and what the file holds.
pub fn open_and_read(path: &str) -> Result<(), String> {
    crate::plain_openat(path);
    let c_path = sys::c_path(path);
    let fd = open_through_a_ring(&c_path)?;
    let contents = crate::read_all(fd)?;
    println!("probe: IORING_OP_OPENAT opened it (fd {fd}); it holds: {contents}");
    Ok(())
}

// ANCHOR: openat_request
/// One IORING_OP_OPENAT request on a fresh ring: the descriptor it opened.
fn open_through_a_ring(path: &[u8]) -> Result<i64, String> {
    let mut params = Params::default();
    let ring = check(syscall(
        sys::SYS_IO_URING_SETUP,
        [1, &mut params as *mut Params as u64, 0, 0, 0, 0],
    ))
    .map_err(|error| format!("io_uring_setup: {error}"))?;
    let sq_size = params.sq_off.array_or_flags as usize + params.sq_entries as usize * 4;
    let cq_size = params.cq_off.dropped_or_cqes as usize + params.cq_entries as usize * CQE_SIZE;
    let sq = map(ring, sq_size, IORING_OFF_SQ_RING)?;
    let cq = map(ring, cq_size, IORING_OFF_CQ_RING)?;
    let sqes = map(ring, params.sq_entries as usize * SQE_SIZE, IORING_OFF_SQES)?;
    // SAFETY: the offsets are the kernel's, inside the mappings just made;
    // the kernel reads the entry only after the tail moves (a release
    // store), and nothing else writes the rings.
    unsafe {
        let sqe = sqes;
        std::ptr::write_bytes(sqe, 0, SQE_SIZE);
        *sqe = IORING_OP_OPENAT;
        *sqe.add(4).cast::<i32>() = sys::AT_FDCWD as i32; // fd: the dirfd
        *sqe.add(16).cast::<u64>() = path.as_ptr() as u64; // addr: the path
        *sqe.add(28).cast::<u32>() = sys::O_RDONLY as u32; // open_flags
        *sq.add(params.sq_off.array_or_flags as usize).cast::<u32>() = 0;
        let tail = &*sq.add(params.sq_off.tail as usize).cast::<AtomicU32>();
        tail.fetch_add(1, Ordering::Release);
    }
    check(syscall(
        sys::SYS_IO_URING_ENTER,
        [ring as u64, 1, 1, IORING_ENTER_GETEVENTS, 0, 0],
    ))
    .map_err(|error| format!("io_uring_enter: {error}"))?;
    // SAFETY: the completion the kernel wrote before it moved the tail.
    let opened = unsafe {
        let head = *cq.add(params.cq_off.head as usize).cast::<u32>();
        let mask = *cq.add(params.cq_off.ring_mask as usize).cast::<u32>();
        let cqe =
            cq.add(params.cq_off.dropped_or_cqes as usize + (head & mask) as usize * CQE_SIZE);
        i64::from(*cqe.add(8).cast::<i32>())
    };
    check(opened).map_err(|error| format!("IORING_OP_OPENAT: {error}"))
}
// ANCHOR_END: openat_request

fn map(ring: i64, size: usize, offset: u64) -> Result<*mut u8, String> {
    const PROT_READ_WRITE: u64 = 0x3;
    const MAP_SHARED_POPULATE: u64 = 0x01 | 0x8000;
    let at = check(syscall(
        sys::SYS_MMAP,
        [
            0,
            size as u64,
            PROT_READ_WRITE,
            MAP_SHARED_POPULATE,
            ring as u64,
            offset,
        ],
    ))
    .map_err(|error| format!("mmap of the ring at {offset:#x}: {error}"))?;
    Ok(at as *mut u8)
}
