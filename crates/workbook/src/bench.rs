//! Benchmark pinning: the one CPU on which a measuring demo, and every
//! process it forks, runs (syscall-overhead, breakpoint's `--count`, the
//! syscall-overhead lab).

use anyhow::{Context, Result};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

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
