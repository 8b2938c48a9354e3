//! The built-in target `hostile`: writes whose length the kernel won't take
//! at face value, for a tracer that rewrites write buffers to meet.
//!
//! `hostile` passes a 64-byte buffer on the stack to write(2) with lengths
//! of 2^40, -1 (usize::MAX), 2^62 and 2^33, then makes one normal write.
//! The kernel refuses such a range (EFAULT) or stops copying at the first
//! unmapped page (a short write), and the program goes on; it checks that
//! its buffer is as it was and that the normal write wrote everything.
//!
//! `hostile long` makes one valid but long write instead: 3 MiB of `x`
//! (the last byte a newline) from the heap, in one write(2).

use std::process::ExitCode;

use super::{write_raw, Aligned};

/// The lengths from the issue: far past the end of the buffer, and past the
/// end of user space.
const HUGE_LENGTHS: [usize; 4] = [1 << 40, usize::MAX, 1 << 62, 1 << 33];

/// How long the long write is.
const LONG_WRITE: usize = 3 << 20;

pub fn hostile(mode: Option<&str>) -> ExitCode {
    match mode {
        None => huge_lengths(),
        Some("long") => long_write(),
        Some(other) => {
            eprintln!("target: unknown mode {other:?} (try none, or 'long')");
            ExitCode::from(2)
        }
    }
}

fn huge_lengths() -> ExitCode {
    const TEXT: &[u8] = b"a 64-byte buffer on the stack\n";
    let mut stack = Aligned([0u8; 64]);
    stack.0[..TEXT.len()].copy_from_slice(TEXT);
    // It escapes as mutable, so it stays on the stack.
    let stack = std::hint::black_box(&mut stack);
    let before = stack.0;
    for len in HUGE_LENGTHS {
        // The result depends on the kernel and on the file: EFAULT, or as
        // many bytes as are mapped after the buffer. Either way, we go on.
        write_raw(libc::STDOUT_FILENO, stack.0.as_ptr(), len);
    }
    let stack = std::hint::black_box(stack);
    if stack.0 != before {
        eprintln!("target: my stack buffer was changed behind my back");
        return ExitCode::FAILURE;
    }
    let normal: Vec<u8> = b"still here, and this write is normal\n".to_vec();
    let written = write_raw(libc::STDOUT_FILENO, normal.as_ptr(), normal.len());
    if written == normal.len() as isize {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "target: the normal write returned {written}, not {}",
            normal.len()
        );
        ExitCode::FAILURE
    }
}

fn long_write() -> ExitCode {
    let mut long = vec![b'x'; LONG_WRITE];
    long[LONG_WRITE - 1] = b'\n';
    // A pipe takes it all before write returns (a blocking write to a pipe
    // is never short unless a signal interrupts it).
    let written = write_raw(libc::STDOUT_FILENO, long.as_ptr(), long.len());
    if written == LONG_WRITE as isize {
        ExitCode::SUCCESS
    } else {
        eprintln!("target: the long write returned {written}, not {LONG_WRITE}");
        ExitCode::FAILURE
    }
}
