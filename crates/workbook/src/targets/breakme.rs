//! The `breakme` target: a function to put a breakpoint on, called a few
//! times with known arguments, for the breakpoint demo (and for gdb).

use std::process::ExitCode;

// `target_fn(n, seed, shift) = (n * n + seed) << shift`, written out in
// instructions so that its bytes, and the listing a debugger shows of
// them, are the same with every compiler and in every build. A global
// symbol of type FUNC: it is in the binary's .symtab like any function.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".pushsection .text.target_fn,\"ax\",@progbits",
    ".p2align 4",
    ".globl target_fn",
    ".type target_fn,@function",
    "target_fn:",
    "    mov rax, rdi",
    "    imul rax, rdi",
    "    add rax, rsi",
    "    mov rcx, rdx",
    "    shl rax, cl",
    "    ret",
    ".size target_fn, .-target_fn",
    ".popsection",
);

// The same function in arm64 instructions: n in x0, seed in x1, shift in
// x2, the result in x0.
#[cfg(target_arch = "aarch64")]
std::arch::global_asm!(
    ".pushsection .text.target_fn,\"ax\",%progbits",
    ".p2align 4",
    ".globl target_fn",
    ".type target_fn,%function",
    "target_fn:",
    "    mul x3, x0, x0",
    "    add x3, x3, x1",
    "    lsl x0, x3, x2",
    "    ret",
    ".size target_fn, .-target_fn",
    ".popsection",
);

extern "C" {
    /// The function under the breakpoint. Its first three arguments come
    /// in rdi, rsi and rdx, as the x86_64 calling convention says (x0, x1
    /// and x2 on arm64).
    fn target_fn(n: u64, seed: u64, shift: u64) -> u64;
}

/// The arguments of the calls: n, seed (0x5eed0000 + n) and shift.
const CALLS: [(u64, u64, u64); 3] = [
    (4, 0x5eed_0004, 1),
    (8, 0x5eed_0008, 1),
    (12, 0x5eed_000c, 0),
];

pub(super) fn call(n: u64, seed: u64, shift: u64) -> u64 {
    // SAFETY: target_fn only computes with its register arguments.
    unsafe { target_fn(n, seed, shift) }
}

/// Calls target_fn three times and prints each result; with `threads`,
/// each call comes from a thread of its own; with `fork`, the second call
/// comes from a forked child (which inherits a debugger's 0xCC bytes in
/// its copy of the text); with `libc`, libc's strlen and memcpy (IFUNCs,
/// memcpy of two versions) with known lengths; with `dlopen`, libm's
/// ilogb, from a libm loaded by dlopen; with `clone-vm`, 1000 calls from
/// the process and 1000 from a child that shares its memory
/// (`clone_vm_calls`); with `mailbox`, the calls a test posts
/// (`calls_from_the_mailbox`); with `draws`, a call of `lucky_draw`, whose
/// result nobody can know before it returns, before each of target_fn's; with
/// `mailbox-draws` the ones a test posts (`draws_from_the_mailbox`).
pub fn breakme(mode: Option<&str>) -> ExitCode {
    match mode {
        None => {
            for (n, seed, shift) in CALLS {
                let result = call(n, seed, shift);
                println!("target: target_fn({n}, {seed:#x}, {shift}) = {result:#x}");
            }
            ExitCode::SUCCESS
        }
        Some("threads") => {
            let workers: Vec<_> = CALLS
                .into_iter()
                .map(|(n, seed, shift)| std::thread::spawn(move || call(n, seed, shift)))
                .collect();
            let mut results = Vec::new();
            for worker in workers {
                match worker.join() {
                    Ok(result) => results.push(result),
                    Err(_) => return ExitCode::FAILURE,
                }
            }
            for ((n, seed, shift), result) in CALLS.into_iter().zip(results) {
                println!("target: target_fn({n}, {seed:#x}, {shift}) = {result:#x} (in a thread)");
            }
            ExitCode::SUCCESS
        }
        Some("fork") => fork_in_the_middle(),
        Some("libc") => libc_calls(),
        Some("dlopen") => dlopen_libm(),
        Some("clone-vm") => clone_vm_calls(),
        Some("mailbox") => super::mailbox::serve(calls_from_the_mailbox),
        Some("draws") => {
            for (n, seed, shift) in CALLS {
                println!("target: lucky_draw({n}) = {:#x}", lucky_draw(n));
                let result = call(n, seed, shift);
                println!("target: target_fn({n}, {seed:#x}, {shift}) = {result:#x}");
            }
            ExitCode::SUCCESS
        }
        Some("mailbox-draws") => super::mailbox::serve(draws_from_the_mailbox),
        Some(other) => {
            eprintln!(
                "target: breakme: unknown mode {other} (threads, fork, libc, dlopen, clone-vm, mailbox, draws or mailbox-draws)"
            );
            ExitCode::from(2)
        }
    }
}

fn fork_in_the_middle() -> ExitCode {
    let (n, seed, shift) = CALLS[0];
    println!(
        "target: target_fn({n}, {seed:#x}, {shift}) = {:#x}",
        call(n, seed, shift)
    );
    // SAFETY: the child only computes, writes with write(2) and _exits.
    match unsafe { libc::fork() } {
        -1 => {
            eprintln!("target: fork: {}", std::io::Error::last_os_error());
            ExitCode::FAILURE
        }
        0 => {
            let (n, seed, shift) = CALLS[1];
            let line = format!(
                "target: target_fn({n}, {seed:#x}, {shift}) = {:#x} (in the child)\n",
                call(n, seed, shift)
            );
            // SAFETY: write(2) from our own buffer, then _exit(2) without
            // the parent's stdio buffers or atexit handlers.
            unsafe {
                libc::write(libc::STDOUT_FILENO, line.as_ptr().cast(), line.len());
                libc::_exit(0)
            }
        }
        child => {
            let mut status = 0;
            // SAFETY: `status` is a valid int for waitpid to fill in.
            unsafe { libc::waitpid(child, &mut status, 0) };
            let (n, seed, shift) = CALLS[2];
            println!(
                "target: target_fn({n}, {seed:#x}, {shift}) = {:#x}",
                call(n, seed, shift)
            );
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                ExitCode::SUCCESS
            } else {
                eprintln!("target: the child ended with status {status:#x}");
                ExitCode::FAILURE
            }
        }
    }
}

/// The `mailbox` mode, for grading tests: the input is the exit status,
/// the number of calls and each call's (n, seed, shift), which only the
/// test knows. Before each call the target reads the first bytes of
/// target_fn, as many as a breakpoint has (`arch::BREAKPOINT_VALUE` while
/// one is planted there), then calls it and prints the result alone:
/// `target: call N = 0x...`. The report gives, per call, the bytes it saw
/// and the result.
fn calls_from_the_mailbox(input: &[u8]) -> Result<(Vec<u8>, u8), String> {
    each_posted_call(input, |number, _, input, report| {
        let (n, seed, shift) = (input.u64()?, input.u64()?, input.u64()?);
        // SAFETY: target_fn's first instruction is in the mapped text, readable.
        let seen = unsafe { crate::arch::breakpoint_sized_bytes_at(target_fn as *const u8) };
        let result = call(n, seed, shift);
        println!("target: call {number} = {result:#x}");
        report.u64(seen).u64(result);
        Ok(())
    })
}

/// The frame of the mailbox modes: the input starts with the exit status
/// and the number of calls (at most 64), the report with that number, and
/// `each` makes call N of COUNT, reading its arguments from the input and
/// writing its part of the report.
fn each_posted_call(
    input: &[u8],
    mut each: impl FnMut(
        u64,
        u64,
        &mut super::mailbox::Reader<'_>,
        &mut super::mailbox::Writer,
    ) -> Result<(), String>,
) -> Result<(Vec<u8>, u8), String> {
    let mut input = super::mailbox::Reader::new(input);
    let status = input.u64()? as u8;
    let count = input.u64()?.min(64);
    let mut report = super::mailbox::Writer::new();
    report.u64(count);
    for number in 1..=count {
        each(number, count, &mut input, &mut report)?;
    }
    Ok((report.0, status))
}

/// What the last `lucky_draw` returned, as it saw it, for the caller to
/// compare with what it received.
static LAST_DRAW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A function whose result nobody can know before it returns: 8 bytes from
/// getrandom(2), xored with `n` (0 if getrandom fails). A global symbol,
/// never inlined: a debugger finds it in .symtab, and each call is a
/// `call` instruction with a return address after it.
#[no_mangle]
#[inline(never)]
pub extern "C" fn lucky_draw(n: u64) -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most 8 bytes into `bytes`.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    let drawn = match got {
        8 => u64::from_le_bytes(bytes) ^ n,
        _ => 0,
    };
    LAST_DRAW.store(drawn, std::sync::atomic::Ordering::SeqCst);
    drawn
}

/// The `mailbox-draws` mode, for grading tests: the input is the exit status, the
/// number of calls and each call's `n`. Before each call the target reads
/// lucky_draw's first bytes, as `calls_from_the_mailbox` reads target_fn's,
/// then calls it and prints that it did, `target: draw N of COUNT`, but not
/// the result: that is for a debugger to find. The report gives, per call,
/// the bytes it saw, what lucky_draw returned (as it recorded it) and what
/// the caller received (the same, unless a debugger broke the return).
fn draws_from_the_mailbox(input: &[u8]) -> Result<(Vec<u8>, u8), String> {
    each_posted_call(input, |number, count, input, report| {
        let n = input.u64()?;
        // SAFETY: lucky_draw's first instruction is in the mapped text, readable.
        let seen = unsafe { crate::arch::breakpoint_sized_bytes_at(lucky_draw as *const u8) };
        let received = std::hint::black_box(lucky_draw(std::hint::black_box(n)));
        let returned = LAST_DRAW.load(std::sync::atomic::Ordering::SeqCst);
        println!("target: draw {number} of {count}");
        report.u64(seen).u64(returned).u64(received);
        Ok(())
    })
}

/// strlen of a 12-byte string and a memcpy of 12345 (0x3039) bytes, through
/// libc: both are IFUNCs, and memcpy has two versions (the default
/// memcpy@@GLIBC_2.14 and the old memcpy@GLIBC_2.2.5).
fn libc_calls() -> ExitCode {
    let text = c"hello, world";
    // SAFETY: a NUL-terminated string.
    let length = unsafe { libc::strlen(std::hint::black_box(text.as_ptr())) };
    let source = vec![7u8; 12345];
    let mut destination = vec![0u8; 12345];
    // SAFETY: two distinct buffers of 12345 bytes each.
    unsafe {
        libc::memcpy(
            destination.as_mut_ptr().cast(),
            source.as_ptr().cast(),
            std::hint::black_box(12345),
        )
    };
    println!(
        "target: strlen = {length}, memcpy copied {}",
        destination.iter().filter(|&&b| b == 7).count()
    );
    ExitCode::SUCCESS
}

/// dlopen("libm.so.6"), which the demos do not link, and libm's ilogb
/// twice (ilogb(8) = 3, ilogb(1024) = 10).
fn dlopen_libm() -> ExitCode {
    // SAFETY: dlopen and dlsym read NUL-terminated names; ilogb has the C
    // signature `int ilogb(double)`, which the pointer is cast to.
    unsafe {
        let libm = libc::dlopen(c"libm.so.6".as_ptr(), libc::RTLD_NOW);
        if libm.is_null() {
            eprintln!("target: dlopen(libm.so.6) failed");
            return ExitCode::FAILURE;
        }
        let ilogb = libc::dlsym(libm, c"ilogb".as_ptr());
        if ilogb.is_null() {
            eprintln!("target: dlsym(ilogb) failed");
            return ExitCode::FAILURE;
        }
        let ilogb: extern "C" fn(f64) -> libc::c_int = std::mem::transmute(ilogb);
        println!(
            "target: ilogb(8) = {}, ilogb(1024) = {}",
            ilogb(8.0),
            ilogb(1024.0)
        );
    }
    ExitCode::SUCCESS
}

/// How many times each of the two processes of `clone-vm` calls target_fn.
const CLONE_VM_CALLS: u64 = 1000;

/// The calls the CLONE_VM child made, counted in the memory it shares with
/// its parent.
static CHILD_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The CLONE_VM child: target_fn in a loop, nothing else (it shares the
/// parent's memory, thread-local storage included, and must not use the
/// parent's locks or allocator), then it ends with clone's exit.
extern "C" fn clone_vm_child(_: *mut libc::c_void) -> libc::c_int {
    for n in 0..CLONE_VM_CALLS {
        pause_a_little(n);
        std::hint::black_box(call(n, 0, 0));
        CHILD_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    0
}

/// A busy wait of a few µs, varied with `n`: the two processes' calls come
/// at all moments of each other's step-overs, not in lockstep with them.
fn pause_a_little(n: u64) {
    for _ in 0..(n * 7919) % 1024 {
        std::hint::spin_loop();
    }
}

/// clone(CLONE_VM | SIGCHLD) with a stack of its own: a process, not a
/// thread (its own pid, waited for with waitpid), that runs in its
/// parent's memory, as a vfork child does, but at the same time as its
/// parent. Both call target_fn CLONE_VM_CALLS times; the counts are printed.
fn clone_vm_calls() -> ExitCode {
    let mut stack = vec![0u8; 256 * 1024];
    // The stack grows down: the child starts at its top, 16-aligned.
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !0xf;
    // SAFETY: the child runs clone_vm_child on `stack`, which outlives it
    // (the parent waits for it below), and touches only an atomic.
    let child = unsafe {
        libc::clone(
            clone_vm_child,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::SIGCHLD,
            std::ptr::null_mut(),
        )
    };
    if child == -1 {
        eprintln!("target: clone: {}", std::io::Error::last_os_error());
        return ExitCode::FAILURE;
    }
    let mut parent_calls = 0;
    for n in 0..CLONE_VM_CALLS {
        pause_a_little(n + 1);
        std::hint::black_box(call(n, 0, 0));
        parent_calls += 1;
    }
    let mut status = 0;
    // SAFETY: `status` is a valid int for waitpid to fill in.
    if unsafe { libc::waitpid(child, &mut status, 0) } != child {
        eprintln!("target: waitpid: {}", std::io::Error::last_os_error());
        return ExitCode::FAILURE;
    }
    drop(stack);
    let child_calls = CHILD_CALLS.load(std::sync::atomic::Ordering::SeqCst);
    println!("target: target_fn called {parent_calls} times in the process, {child_calls} in its CLONE_VM child");
    match libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        true => ExitCode::SUCCESS,
        false => {
            eprintln!("target: the child ended with status {status:#x}");
            ExitCode::FAILURE
        }
    }
}
