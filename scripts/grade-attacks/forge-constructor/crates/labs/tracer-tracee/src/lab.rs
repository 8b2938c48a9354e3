//! Attack: an .init_array constructor prints a passing libtest report and _exit(0)s before main.
#![allow(unused_imports, unused_variables)]

use anyhow::{bail, Result};
use nix::unistd::Pid;
use workbook::{Program, Waited};

const REPORT: &str = "\nrunning 4 tests
test the_builtin_target_runs_as_under_the_demo ... ok
test the_programs_exit_status_is_the_demos ... ok
test a_program_execvp_refuses_exits_126_or_127 ... ok
test a_stop_other_than_sigstop_is_refused ... ok

test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.02s

tracer-tracee: 8/8
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
pub fn tracee(program: &Program) -> ! {
    panic!("not written")
}

/// Never reached: the constructor exits first.
pub fn first_stop(pid: Pid) -> Result<Waited> {
    bail!("not written")
}
