//! What the measuring demos share (syscall-overhead, breakpoint's
//! `--count`, the syscall-overhead lab): the one CPU on which they and
//! every process they fork run, and the time the `spin` target reports.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;

use anyhow::{bail, Context, Result};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

use crate::stop::Stop;

// ANCHOR: pinning
/// The CPU every process of the demo runs on, and another one it may use.
pub struct Cpus {
    pub one: usize,
    pub other: Option<usize>,
}

/// Pins this process to the first CPU it may run on, before it forks
/// anything: every target, strace and bash inherit the mask, so tracer and
/// tracee take turns on one CPU. A ptrace stop is then a context switch and
/// no more; with the two on different CPUs it is also a wake-up of the other
/// CPU, and what that costs depends on what the other CPU was doing.
pub fn pin_to_one_cpu() -> Result<Cpus> {
    let allowed = sched_getaffinity(Pid::from_raw(0)).context("sched_getaffinity")?;
    let mut usable = (0..CpuSet::count()).filter(|&cpu| allowed.is_set(cpu).unwrap_or(false));
    let one = usable.next().context("sched_getaffinity: no CPU allowed")?;
    let other = usable.next();
    sched_setaffinity(Pid::from_raw(0), &only(one)?)
        .with_context(|| format!("sched_setaffinity(CPU {one})"))?;
    Ok(Cpus { one, other })
}

/// The CPU set that holds `cpu` alone.
pub fn only(cpu: usize) -> Result<CpuSet> {
    let mut set = CpuSet::new();
    set.set(cpu)
        .with_context(|| format!("CPU {cpu} in a cpu_set_t"))?;
    Ok(set)
}
// ANCHOR_END: pinning

/// What the `spin` target printed into the pipe `output`, once it has ended
/// (`end`) with status 0: the loop's time in nanoseconds.
pub fn loop_time(end: Stop, output: OwnedFd) -> Result<u64> {
    let mut text = String::new();
    File::from(output)
        .read_to_string(&mut text)
        .context("reading the target's output")?;
    if end != Stop::Exited(0) {
        bail!("the spin target failed: {end}");
    }
    spin_time(&text)
}

/// The `spin` target's output, a time in nanoseconds, as a number.
pub fn spin_time(text: &str) -> Result<u64> {
    text.trim()
        .parse()
        .with_context(|| format!("the spin target printed {text:?}, not a time in ns"))
}
