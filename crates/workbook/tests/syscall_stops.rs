//! The two ways to decode a syscall stop must agree: PTRACE_GET_SYSCALL_INFO,
//! and the registers plus the tracer's own entry/exit record, which is what
//! Tracees falls back on where the kernel is older than 5.3.

use std::ffi::OsString;

use nix::sys::ptrace::{self, Options};
use nix::sys::wait::WaitPidFlag;
use workbook::stop::{syscall_stop_from_registers, wait_for};
use workbook::trace::spawn_traced;
use workbook::{Program, Stop};

#[test]
fn registers_and_syscall_info_agree_at_every_stop() {
    let command: Vec<OsString> = ["sh", "-c", "echo from the tracee >/dev/null; exit 3"]
        .iter()
        .map(OsString::from)
        .collect();
    let program = Program::from_command_line(&command, "tries").unwrap();
    let guard = spawn_traced(
        &program,
        Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC,
    )
    .unwrap();
    let pid = guard.pid();
    let mut in_syscall = false;
    let mut compared = 0;
    ptrace::syscall(pid, None).unwrap();
    loop {
        let waited = wait_for(pid, WaitPidFlag::__WALL).unwrap();
        match waited.stop {
            Stop::SyscallEnter { .. } | Stop::SyscallExit { .. } => {
                let from_registers = syscall_stop_from_registers(pid, in_syscall).unwrap();
                assert_eq!(from_registers, waited.stop, "stop {compared}");
                in_syscall = matches!(waited.stop, Stop::SyscallEnter { .. });
                compared += 1;
                ptrace::syscall(pid, None).unwrap();
            }
            Stop::Exited(code) => {
                assert_eq!(code, 3);
                guard.reaped();
                break;
            }
            Stop::Signal(signal) => ptrace::syscall(pid, signal).unwrap(),
            Stop::Event(_) => ptrace::syscall(pid, None).unwrap(),
            other => panic!("unexpected stop: {other}"),
        }
    }
    assert!(compared > 20, "only {compared} syscall stops compared");
}
