//! Run by `tests/syscall_stops.rs`, so that the tracing happens in a child
//! process of the test, never in the test process itself: traces `sh`, and
//! at every syscall stop compares PTRACE_GET_SYSCALL_INFO's answer with the
//! registers-and-record fallback. Exits 0 when they agreed at more than 20
//! stops, 1 with the first difference otherwise.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{bail, Result};
use nix::sys::ptrace::Options;
use nix::sys::wait::WaitPidFlag;
use workbook::stop::{syscall_stop_from_registers, wait_for};
use workbook::trace::spawn_traced;
use workbook::{ptrace_syscall, Program, Stop};

fn main() -> ExitCode {
    workbook::main(|| compare().map(|()| ExitCode::SUCCESS))
}

fn compare() -> Result<()> {
    let command: Vec<OsString> = ["sh", "-c", "echo from the tracee >/dev/null; exit 3"]
        .iter()
        .map(OsString::from)
        .collect();
    let program = Program::from_command_line(&command, "tries")?;
    let guard = spawn_traced(
        &program,
        Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC,
    )?;
    let pid = guard.pid();
    let mut in_syscall = false;
    let mut compared = 0;
    ptrace_syscall(pid, None)?;
    loop {
        let waited = wait_for(pid, WaitPidFlag::__WALL)?;
        match waited.stop {
            Stop::SyscallEnter { .. } | Stop::SyscallExit { .. } => {
                let from_registers = syscall_stop_from_registers(pid, in_syscall)?;
                if from_registers != waited.stop {
                    bail!("stop {compared}: registers say {from_registers:?}, PTRACE_GET_SYSCALL_INFO {:?}", waited.stop);
                }
                in_syscall = matches!(waited.stop, Stop::SyscallEnter { .. });
                compared += 1;
                ptrace_syscall(pid, None)?;
            }
            Stop::Exited(code) => {
                guard.reaped();
                if code != 3 {
                    bail!("sh exited with {code}, not 3");
                }
                break;
            }
            Stop::Signal(signal) => ptrace_syscall(pid, Some(signal))?,
            Stop::Event(_) => ptrace_syscall(pid, None)?,
            other => bail!("unexpected stop: {other}"),
        }
    }
    if compared <= 20 {
        bail!("only {compared} syscall stops compared");
    }
    eprintln!("stops_agree: the two agreed at all {compared} syscall stops");
    Ok(())
}
