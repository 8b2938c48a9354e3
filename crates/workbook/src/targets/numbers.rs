//! Syscall numbers that are no call, or not the call they seem: the kernel
//! takes the number as a 32-bit int (do_syscall_64(regs, int nr)), so its
//! upper half is ignored, and bit 30 makes an x32 call only when what is
//! left after it is an x32 number (below 548).

use std::process::ExitCode;

use crate::arch::X32_SYSCALL_BIT;

/// The numbers, in the order they are made, and what each is.
pub const ODD_NUMBERS: [(u64, &str); 6] = [
    (u64::MAX - 1, "syscall(-2)"),
    (u64::MAX, "syscall(-1)"),
    (0x7fff_ffff, "syscall(0x7fffffff)"),
    (
        X32_SYSCALL_BIT | 1000,
        "syscall(0x400003e8), the x32 bit on no x32 call",
    ),
    (
        1 << 32 | libc::SYS_getppid as u64,
        "syscall(0x10000006e), getppid with the upper half set",
    ),
    (
        X32_SYSCALL_BIT | libc::SYS_getppid as u64,
        "syscall(0x4000006e), the x32 getppid",
    ),
];

/// Makes each call of ODD_NUMBERS with no arguments, then prints what the
/// kernel answered, one line each.
pub fn odd_numbers() -> ExitCode {
    // All calls first, then the report: a tracer's log shows them together.
    let answers = ODD_NUMBERS.map(|(nr, _)| {
        // SAFETY: none of these numbers is a call that takes arguments and
        // touches memory: each is no call at all, or getppid.
        let ret = unsafe { libc::syscall(nr as libc::c_long, 0, 0, 0) };
        if ret < 0 {
            std::io::Error::last_os_error().to_string()
        } else {
            "ok".to_string()
        }
    });
    for ((_, what), answer) in ODD_NUMBERS.iter().zip(answers) {
        println!("target: {what}: {answer}");
    }
    ExitCode::SUCCESS
}
