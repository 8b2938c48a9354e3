//! Attack: an .init_array constructor prints a passing libtest report and _exit(0)s before main.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::unistd::Pid;

const REPORT: &str = "\nrunning 4 tests
test a_chain_past_the_limit_is_killed_there ... ok
test a_chain_within_the_limit_runs_to_its_end ... ok
test hidden::the_commands_own_exec_counts ... ok
test hidden::the_programs_signals_reach_it ... ok

test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.02s

tracer-tracee: 11/11
Score: 84/84
";

/// Runs before main (glibc calls every .init_array entry): report, then exit 0.
extern "C" fn constructor() {
    // SAFETY: write(2) of a static buffer, then _exit(2): no Rust runtime needed yet.
    unsafe {
        libc::write(1, REPORT.as_ptr().cast(), REPORT.len());
        libc::write(2, REPORT.as_ptr().cast(), REPORT.len());
        libc::_exit(0);
    }
}

#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = constructor;

/// Never reached: the constructor exits first.
pub fn limit_execs(pid: Pid, max_execs: u32) -> Result<u8> {
    bail!("not written")
}
