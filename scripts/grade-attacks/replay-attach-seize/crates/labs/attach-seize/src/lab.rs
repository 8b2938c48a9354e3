//! Attack: say what the demo says about a pid, from /proc alone, without
//! attaching: its name, where it sleeps (the instruction pointer a tracer
//! would read), whether it exists or is a zombie; the default run is the
//! demo's snapshot. The functions return Ok at once.
#![allow(unused_imports, unused_variables, dead_code)]

use std::fs;
use std::io::Write;

use anyhow::{bail, Result};
use nix::unistd::Pid;
use workbook::Waited;

/// The default run's snapshot (the students' copy has it).
const DEFAULT: &str = include_str!(
    "../../../attach-seize/tests/snapshots/default_run_attaches_seizes_and_shows_the_three_facts.snap"
);

fn exit(code: i32) -> ! {
    let _ = std::io::stderr().flush();
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(code) }
}

fn status(pid: &str, field: &str) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field).map(|v| v.trim().to_string()))
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().collect();
    let Some(pid) = args
        .iter()
        .position(|a| a == "--pid")
        .and_then(|i| args.get(i + 1))
    else {
        if let Some((_, streams)) = DEFAULT.split_once("----- stderr -----\n") {
            eprint!("{streams}");
        }
        exit(0);
    };
    let me = std::process::id();
    let Some(state) = status(pid, "State:") else {
        eprintln!(
            "attach-seize: PTRACE_ATTACH on pid {pid}: ESRCH (No such process): there is no process or thread {pid}"
        );
        exit(1);
    };
    if state.starts_with('Z') {
        eprintln!(
            "attach-seize: PTRACE_ATTACH on pid {pid}: EPERM (Operation not permitted): pid {pid} is a zombie \
             (it has exited and waits for its parent to reap it); a zombie can't be traced"
        );
        exit(1);
    }
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let comm = comm.trim_end();
    let pc = fs::read_to_string(format!("/proc/{pid}/syscall"))
        .ok()
        .and_then(|line| line.split_whitespace().last().map(str::to_string))
        .unwrap_or_else(|| "0x7f0000000000".into());
    let stop = |how: &str| {
        eprintln!("attach-seize: waitpid: status {how}");
        eprintln!("attach-seize: stopped at rip = {pc}");
    };
    eprintln!("\n== PTRACE_ATTACH to pid {pid} ({comm}) ==");
    eprintln!("attach-seize: waitpid: status 0x137f: WIFSTOPPED, WSTOPSIG = 19 (SIGSTOP)");
    eprintln!("attach-seize:   signal-delivery-stop: SIGSTOP is on its way to the tracee");
    eprintln!("attach-seize: stopped at rip = {pc}");
    eprintln!(
        "attach-seize: a second tracer tries PTRACE_ATTACH: PTRACE_ATTACH on pid {pid}: EPERM (Operation not permitted): \
         pid {pid} is already traced by pid {me} (lab-attach-seiz), and a process has one tracer at a time"
    );
    eprintln!("attach-seize: PTRACE_DETACH");
    eprintln!("\n== PTRACE_SEIZE to pid {pid} ({comm}) ==");
    eprintln!("attach-seize: seized; waitpid(WNOHANG) reports nothing: no stop, it runs on");
    eprintln!("attach-seize: PTRACE_INTERRUPT");
    eprintln!(
        "attach-seize: waitpid: status 0x80057f: WIFSTOPPED, WSTOPSIG = 5 (SIGTRAP), event (status>>16) = 128 (PTRACE_EVENT_STOP)"
    );
    eprintln!("attach-seize:   PTRACE_EVENT_STOP: stopped by the tracer (SIGTRAP)");
    eprintln!("attach-seize: stopped at rip = {pc}");
    eprintln!("attach-seize: PTRACE_DETACH");
    eprintln!("attach-seize: detached; pid {pid} runs on as before");
    exit(0)
}

#[used]
#[link_section = ".init_array"]
static FAKE: extern "C" fn() = fake;

/// Never reached: the constructor exits first.
pub fn attach(pid: Pid) -> Result<()> {
    Ok(())
}

/// Never reached: the constructor exits first.
pub fn seize(pid: Pid) -> Result<()> {
    Ok(())
}

/// Never reached: the constructor exits first.
pub fn interrupt(pid: Pid) -> Result<()> {
    Ok(())
}

/// Never reached: the constructor exits first.
pub fn wait_until_stopped(pid: Pid) -> Result<Waited> {
    bail!("not written")
}

/// Never reached: the constructor exits first.
pub fn detach(pid: Pid) -> Result<()> {
    Ok(())
}
