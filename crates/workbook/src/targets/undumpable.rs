//! A process that made itself non-dumpable, as a set-user-ID program is:
//! its /proc/PID files belong to root from then on, and only a tracer with
//! CAP_SYS_PTRACE may attach to it, even one of the same user.

use std::process::ExitCode;
use std::time::Duration;

/// Calls prctl(PR_SET_DUMPABLE, 0), then sleeps until killed (a minute at
/// most, so that it can't be left behind for long).
pub fn undumpable() -> ExitCode {
    // SAFETY: PR_SET_DUMPABLE takes plain integers and touches no memory.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        eprintln!(
            "target: prctl(PR_SET_DUMPABLE, 0): {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::FAILURE;
    }
    std::thread::sleep(Duration::from_secs(60));
    ExitCode::SUCCESS
}
