//! Attack: the default run is the demo's snapshot, replayed; a command (the
//! tests' target, say) runs untraced, so that whatever it prints and its
//! exit status are real; change_it, were it ever called, changes nothing.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::Write;
use std::os::unix::process::ExitStatusExt;

use anyhow::Result;
use nix::unistd::Pid;
use workbook::siginfo::{Mask, SigInfo};
use workbook::Sig;

/// The si_value the built-in target's SIGUSR1 handler must get instead of 1.
pub const NEW_VALUE: u64 = 42;

/// The snapshot of the default run (the students' copy has it).
const SNAPSHOT: &str = include_str!(
    "../../../signal-control/tests/snapshots/default_run_changes_the_targets_signals.snap"
);

fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(code) }
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().skip(1).skip_while(|a| a == "--").collect();
    if args.is_empty() {
        if let Some((_, streams)) = SNAPSHOT.split_once("----- stdout -----\n") {
            if let Some((stdout, stderr)) = streams.split_once("\n----- stderr -----\n") {
                print!("{stdout}");
                eprint!("{stderr}");
            }
        }
        exit(0);
    }
    eprintln!("signal-control: running {}", args.join(" "));
    let status = std::process::Command::new(&args[0])
        .args(&args[1..])
        .status();
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
pub fn change_it(
    pid: Pid,
    signal: Sig,
    info: &mut SigInfo,
    blocked: Mask,
    prefix: &str,
) -> Result<Option<Sig>> {
    Ok(Some(signal))
}
