//! Attack: never calls ptrace. It says what the lab says (each thread
//! "seized", "holding N", "released N"), and fakes the hold with job
//! control instead: SIGSTOP to the process, so that no thread runs, and
//! SIGCONT to let them go.
#![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::threads_of;

/// Says each thread is seized, then stops the whole process with SIGSTOP
/// and returns the threads it has by then, late ones too.
pub fn seize_every_thread(pid: Pid, seized: &mut dyn FnMut(Pid)) -> Result<Vec<Pid>> {
    for tid in threads_of(pid)? {
        seized(tid);
    }
    kill(pid, Signal::SIGSTOP).with_context(|| format!("kill -STOP {pid}"))?;
    // Until every thread has stopped, as a held one would have.
    std::thread::sleep(std::time::Duration::from_millis(50));
    threads_of(pid)
}

/// Nothing to wait for.
pub fn wait_for_stop(tid: Pid) -> Result<bool> {
    Ok(true)
}

/// SIGCONT to the process: every thread runs again.
pub fn release(threads: &[Pid]) -> Result<()> {
    if let Some(&pid) = threads.first() {
        kill(pid, Signal::SIGCONT).with_context(|| format!("kill -CONT {pid}"))?;
    }
    Ok(())
}
