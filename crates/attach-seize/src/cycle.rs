//! The lecture's "cycle of tracers": process A traces its child B while B
//! traces A. The kernel forbids tracing yourself, not tracing your tracer.

use std::fs::File;
use std::io::{Read, Write};

use anyhow::{bail, Context, Result};
use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{fork, getpid, pipe, ForkResult, Pid};
use workbook::hints::{ptrace_error, tracer_of};
use workbook::{wait_for, ChildGuard, Stop};

/// Runs in process A, a forked child of the demo; returns A's exit code.
pub fn run_as_a() -> i32 {
    match form_cycle() {
        Ok(()) => 0,
        Err(error) => {
            workbook::narrate!("attach-seize: process A: {error:#}");
            1
        }
    }
}

fn form_cycle() -> Result<()> {
    let a = getpid();
    let (go_read, go_write) = pipe().context("pipe")?;
    let (result_read, result_write) = pipe().context("pipe")?;
    // SAFETY: A is single-threaded; B makes only ptrace, read and write calls.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            drop((go_write, result_read));
            let code = run_as_b(a, File::from(go_read), File::from(result_write));
            // SAFETY: _exit skips atexit handlers and buffers that are A's.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child: b } => {
            drop((go_read, result_write));
            let guard = ChildGuard::new(b);
            allow_tracing_by(b);
            ptrace::seize(b, Options::empty()).map_err(|e| ptrace_error("PTRACE_SEIZE", b, e))?;
            let mut go = File::from(go_write);
            go.write_all(b"g").context("telling B to go")?;
            let mut errno = [0u8; 1];
            File::from(result_read)
                .read_exact(&mut errno)
                .context("hearing from B")?;
            if errno[0] != 0 {
                let errno = nix::errno::Errno::from_raw(i32::from(errno[0]));
                return Err(ptrace_error("PTRACE_SEIZE by B", a, errno));
            }
            let (tracer_of_a, tracer_of_b) = (tracer_of(a), tracer_of(b));
            if tracer_of_a != Some(b) || tracer_of_b != Some(a) {
                bail!("TracerPid of A is {tracer_of_a:?} and of B is {tracer_of_b:?}");
            }
            workbook::narrate!(
                "attach-seize: A (pid {a}) seized its child B (pid {b}): B's TracerPid is pid {a}"
            );
            workbook::narrate!(
                "attach-seize: B (pid {b}) seized its parent A (pid {a}): A's TracerPid is pid {b}"
            );
            workbook::narrate!("attach-seize: each traces the other; the kernel allows the cycle");
            // Closing the pipe lets B exit, which detaches A; then A reaps B.
            drop(go);
            loop {
                let status = wait_for(b, WaitPidFlag::__WALL)?;
                match status.stop {
                    Stop::Exited(_) | Stop::Killed { .. } => break,
                    Stop::Signal(sig) => workbook::ptrace_cont(b, Some(sig))?,
                    _ => workbook::ptrace_cont(b, None)?,
                }
            }
            guard.reaped();
            Ok(())
        }
    }
}

/// B: seize A once A says so, report the errno (0 for success), and stay
/// A's tracer until A closes the pipe.
fn run_as_b(a: Pid, mut go: File, mut result: File) -> i32 {
    let mut byte = [0u8; 1];
    if go.read_exact(&mut byte).is_err() {
        return 1;
    }
    let errno = match ptrace::seize(a, Options::empty()) {
        Ok(()) => 0,
        Err(errno) => errno as i32 as u8,
    };
    if result.write_all(&[errno]).is_err() {
        return 1;
    }
    let _ = go.read(&mut byte);
    0
}

/// Under Yama's ptrace_scope 1 only ancestors may trace; PR_SET_PTRACER
/// lets our child trace us. Without Yama the call fails with EINVAL and is
/// not needed.
fn allow_tracing_by(b: Pid) {
    // SAFETY: PR_SET_PTRACER takes a pid and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_PTRACER, b.as_raw() as libc::c_ulong, 0, 0, 0);
    }
}
