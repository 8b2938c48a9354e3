//! Mistake: the first status is not checked. A child that could not be
//! traced is taken for a tracee, and the tracer carries on.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{raise, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{execvp, Pid};
use workbook::process::exit_child;
use workbook::trace::exec_failure_code;
use workbook::{wait_for, Program, Sig, Stop, Waited};

pub fn tracee(program: &Program) -> ! {
    if let Err(errno) = ptrace::traceme() {
        exit_child(1, &format!("child: ptrace(traceme) failed: {errno}"));
    }
    if let Err(errno) = raise(Signal::SIGSTOP) {
        exit_child(1, &format!("child: raise(SIGSTOP) failed: {errno}"));
    }
    let errno = execvp(&program.file, &program.argv).unwrap_err();
    exit_child(
        exec_failure_code(errno),
        &format!("tracee start failed: execvp {}: {}", program.label, errno.desc()),
    )
}

pub fn first_stop(pid: Pid) -> Result<Waited> {
    let status = wait_for(pid, WaitPidFlag::empty())?;
    Ok(status)
}
