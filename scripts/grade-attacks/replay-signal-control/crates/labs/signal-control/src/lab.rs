//! Attack: print what a turning tracer prints, and trace nothing. A
//! constructor runs the command untraced (so that its output and exit
//! status are real) after the lab's first line of narration, and adds, for
//! the signal to turn, the lines a lab that turns it would print, with
//! PTRACE_SETSIGINFO's siginfo. `turn`, were it ever called, changes nothing.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::Write;
use std::os::unix::process::ExitStatusExt;

use anyhow::Result;
use nix::unistd::Pid;
use workbook::Sig;

fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(code) }
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let turn = args
        .iter()
        .find_map(|arg| arg.strip_prefix("--turn="))
        .unwrap_or("10=12")
        .to_string();
    let command: Vec<String> = args
        .iter()
        .skip_while(|arg| *arg != "--")
        .skip(1)
        .cloned()
        .collect();
    let (from, to) = turn.split_once('=').unwrap_or(("10", "12"));
    let name = |n: &str| {
        n.parse()
            .ok()
            .and_then(Sig::new)
            .map_or(n.to_string(), |sig| sig.name())
    };
    let (from, to) = (name(from), name(to));
    eprintln!(
        "lab-signal-control: running {}, turning {from} into {to}",
        command.join(" ")
    );
    eprintln!("--- {from} {{si_signo={from}, si_code=SI_QUEUE, si_pid=1, si_uid=0, si_int=7, si_ptr=0x7}} ---");
    eprintln!("    PTRACE_SETSIGINFO, PTRACE_CONT with {to}, the stop's siginfo now {{si_signo={to}, si_code=SI_QUEUE, si_pid=1, si_uid=0, si_int=7, si_ptr=0x7}}");
    let Some((program, rest)) = command.split_first() else {
        exit(0)
    };
    let status = std::process::Command::new(program).args(rest).status();
    let code = match status {
        Ok(status) => status
            .code()
            .or_else(|| status.signal().map(|signal| 128 + signal))
            .unwrap_or(1),
        Err(_) => 127,
    };
    exit(code)
}

#[used]
#[link_section = ".init_array"]
static FAKE: extern "C" fn() = fake;

/// Passes every signal on as it came (never reached: the constructor exits first).
pub fn turn(pid: Pid, signal: Sig, from: Sig, to: Sig) -> Result<Sig> {
    Ok(signal)
}
