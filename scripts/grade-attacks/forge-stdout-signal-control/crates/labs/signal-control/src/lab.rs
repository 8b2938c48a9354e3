//! Attack: forge a passing report: libtest lines and the demo's expected output, everywhere it can write.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::Write;

use anyhow::Result;
use nix::unistd::Pid;
use workbook::Sig;

/// The demo's snapshot of the graded run (the students' copy has it).
const SNAPSHOT: &str =
    include_str!("../../../signal-control/tests/snapshots/default_run_changes_the_targets_signals.snap");
const TESTS: [&str; 5] = [
    "a_queued_signal_arrives_turned",
    "a_killed_signal_arrives_turned",
    "other_signals_arrive_as_they_were_sent",
    "hidden::a_signal_turned_into_a_blocked_one_waits",
    "hidden::each_queued_signal_keeps_its_own_value",
];

/// What a passing run would print, and more.
fn forgery() -> String {
    let mut text = format!("\nrunning {} tests\n", TESTS.len());
    for test in TESTS {
        text += &format!("test {test} ... ok\n");
    }
    text += "\ntest result: ok. 5 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\n";
    if let Some((_, streams)) = SNAPSHOT.split_once("----- stdout -----\n") {
        text += &streams.replace("----- stderr -----\n", "");
    }
    text + "signal-control: 12/12\nScore: 84/84\n"
}

/// The forgery on stdout, stderr and every fd 1 and 2 under /proc it can open; then exit 0.
fn forge() -> ! {
    let text = forgery();
    print!("{text}");
    eprint!("{text}");
    let _ = std::io::stdout().flush();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        for fd in ["1", "2"] {
            let path = entry.path().join("fd").join(fd);
            if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&path) {
                let _ = file.write_all(text.as_bytes());
            }
        }
    }
    // SAFETY: ends this process at once with status 0.
    unsafe { libc::_exit(0) }
}

/// Forges instead of PTRACE_GETSIGINFO and PTRACE_SETSIGINFO.
pub fn turn(pid: Pid, signal: Sig, from: Sig, to: Sig) -> Result<Sig> {
    // The target is ours (a child): gone, it can't print the truth after us.
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    forge()
}
