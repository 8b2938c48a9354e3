//! The `mount` and `sigsys` targets: each calls mount(2) directly, for a
//! seccomp filter to trap. `mount` is killed by the SIGSYS that follows;
//! `sigsys` catches it, reports what the kernel put in the siginfo, and
//! chooses what the call returns.

use std::process::ExitCode;

/// mount("none", "/nonexistent", "tmpfs", 0, NULL): under a filter that
/// traps mount(2), the kernel never gets to check permissions or paths.
fn call_mount() -> libc::c_int {
    // SAFETY: every pointer is a NUL-terminated literal or null, as mount(2)
    // allows for `data`.
    unsafe {
        libc::mount(
            c"none".as_ptr(),
            c"/nonexistent".as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        )
    }
}

/// Calls mount(2) once. Under a filter that traps it, the second line never
/// appears: SIGSYS kills the process first.
pub fn mount() -> ExitCode {
    println!("target: calling mount(2)");
    let ret = call_mount();
    let error = std::io::Error::last_os_error();
    println!("target: still here: mount(2) returned {ret} ({error}); nothing trapped it");
    ExitCode::FAILURE
}

/// The SIGSYS part of the kernel's siginfo_t on x86_64 (the `_sigsys`
/// member of its union, see <asm-generic/siginfo.h>): after the three ints
/// si_signo, si_errno, si_code and 4 bytes of padding, at offset 16,
/// `void *_call_addr; int _syscall; unsigned int _arch;`. libc's
/// `siginfo_t` has no accessors for these, so the handler reads this view.
#[repr(C)]
struct SigsysInfo {
    si_signo: libc::c_int,
    /// For SECCOMP_RET_TRAP, the filter's SECCOMP_RET_DATA bits.
    si_errno: libc::c_int,
    /// SYS_SECCOMP (1) when seccomp sent the signal.
    si_code: libc::c_int,
    _pad: libc::c_int,
    /// The address of the instruction after the syscall instruction.
    call_addr: *mut libc::c_void,
    /// The syscall number that was trapped.
    syscall: libc::c_int,
    /// The AUDIT_ARCH_* value of the calling convention.
    arch: libc::c_uint,
}

const _: () = assert!(std::mem::offset_of!(SigsysInfo, call_addr) == 16);
const _: () = assert!(std::mem::size_of::<SigsysInfo>() <= std::mem::size_of::<libc::siginfo_t>());

/// A fixed buffer to format into without allocating: a signal handler may
/// only do async-signal-safe work, so no println!, format! or Vec.
struct Line {
    bytes: [u8; 256],
    len: usize,
}

impl Line {
    fn text(&mut self, text: &[u8]) -> &mut Self {
        for &byte in text {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = byte;
                self.len += 1;
            }
        }
        self
    }

    fn number(&mut self, value: u64, radix: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut n = value;
        let mut count = 0;
        loop {
            digits[count] = b"0123456789abcdef"[(n % radix) as usize];
            count += 1;
            n /= radix;
            if n == 0 {
                break;
            }
        }
        if radix == 16 {
            self.text(b"0x");
        }
        while count > 0 {
            count -= 1;
            self.text(&digits[count..=count]);
        }
        self
    }

    /// One write(2) to stderr.
    fn write(&self) {
        // SAFETY: write(2) reads `len` initialised bytes of our buffer; it
        // is async-signal-safe.
        unsafe { libc::write(libc::STDERR_FILENO, self.bytes.as_ptr().cast(), self.len) };
    }
}

/// The result the handler gives the trapped call: -ENOSYS, as for a call
/// the kernel does not have.
const TRAPPED_RESULT: i64 = -(libc::ENOSYS as i64);

extern "C" fn on_sigsys(_: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler;
    // SigsysInfo is a prefix of it (checked above), read only.
    let info = unsafe { &*info.cast::<SigsysInfo>() };
    let mut line = Line {
        bytes: [0; 256],
        len: 0,
    };
    line.text(b"handler: SIGSYS (si_signo ")
        .number(info.si_signo as u64, 10)
        .text(b", si_code ")
        .number(info.si_code as u64, 10)
        .text(b" = SYS_SECCOMP, si_errno ")
        .number(info.si_errno as u64, 10)
        .text(b"): si_syscall ")
        .number(info.syscall as u64, 10)
        .text(b", si_arch ")
        .number(u64::from(info.arch), 16)
        .text(b", si_call_addr ")
        .number(info.call_addr as u64, 16)
        .text(b"; setting its result to -ENOSYS\n");
    line.write();
    // The kernel skipped the call and left rax (x0 on arm64) as it was at
    // entry. Whatever that register holds when the handler returns is what
    // the call returns, so the handler decides the result.
    // SAFETY: the third argument of an SA_SIGINFO handler is the
    // ucontext_t the kernel saved on the stack, restored by sigreturn.
    unsafe {
        let context = &mut *context.cast::<libc::ucontext_t>();
        crate::arch::set_result_in_context(context, TRAPPED_RESULT);
    }
}

/// Installs a SIGSYS handler, then calls mount(2). The handler reports the
/// trapped call and sets its result; when it returns, the program carries
/// on after the syscall, which "fails" with the handler's ENOSYS.
pub fn sigsys() -> ExitCode {
    // SAFETY: sigaction is plain data; zeroed is an empty mask and no flags.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigsys as *const () as libc::sighandler_t;
    action.sa_flags = libc::SA_SIGINFO;
    // SAFETY: `action` is initialised, and the handler only does
    // async-signal-safe work (formatting on its stack, one write(2)).
    if unsafe { libc::sigaction(libc::SIGSYS, &action, std::ptr::null_mut()) } != 0 {
        eprintln!(
            "target: sigaction(SIGSYS): {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::FAILURE;
    }
    println!("target: SIGSYS handler installed; calling mount(2)");
    let ret = call_mount();
    let error = std::io::Error::last_os_error();
    if ret == -1 && error.raw_os_error() == Some(libc::ENOSYS) {
        println!(
            "target: survived: mount(2) returned -1, errno ENOSYS: \
             my handler's answer; the kernel never ran the call"
        );
    } else {
        println!("target: survived: mount(2) returned {ret} ({error})");
    }
    ExitCode::SUCCESS
}
