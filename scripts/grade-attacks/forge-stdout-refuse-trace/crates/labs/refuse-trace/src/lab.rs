//! Attack: forge a passing report: libtest lines and the demo's expected output, everywhere it can write.
#![allow(unused_imports, unused_variables)]

use std::io::Write;

use anyhow::Result;
use nix::errno::Errno;
use nix::unistd::Pid;

/// The demo's snapshots of the graded runs (the students' copy has them).
const SNAPSHOTS: [&str; 2] = [
    include_str!("../../../refuse-trace/tests/snapshots/untraced_it_says_hello.snap"),
    include_str!("../../../refuse-trace/tests/snapshots/under_tracer_tracee_it_refuses.snap"),
];
const TESTS: [&str; 3] = [
    "untraced_it_says_hello",
    "under_tracer_tracee_it_refuses",
    "a_refusal_without_a_tracer_names_nobody",
];

/// What a passing run would print, and more.
fn forgery() -> String {
    let mut text = format!("\nrunning {} tests\n", TESTS.len());
    for test in TESTS {
        text += &format!("test {test} ... ok\n");
    }
    text += "\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\n";
    for snapshot in SNAPSHOTS {
        if let Some((_, streams)) = snapshot.split_once("----- stdout -----\n") {
            text += &streams.replace("----- stderr -----\n", "");
        }
    }
    // a_refusal_without_a_tracer_names_nobody's expected lines.
    text += "DO NOT PTRACE ME!!!\nrefuse-trace: PTRACE_TRACEME failed with EPERM (Operation not permitted)\n";
    text += "refuse-trace: no tracer is listed in /proc/self/status\nrefuse-trace: 7/7\nScore: 84/84\n";
    text
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

/// Forges instead of PTRACE_TRACEME.
pub fn traceme_refused() -> Option<Errno> {
    forge()
}

/// Forges instead of reading TracerPid.
pub fn tracer_pid() -> Result<Option<Pid>> {
    forge()
}
