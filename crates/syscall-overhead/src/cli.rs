//! The command line: what to measure, or which of the two other jobs to do.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

/// Measures what watching syscalls costs: a loop of getppid calls,
/// untraced, under seccomp filters, under ptrace and under strace; then
/// reading 1 MiB of a tracee's memory three ways. Tracer and tracee are
/// pinned to one CPU, except in the row that puts them on two. Build with
/// --release.
#[derive(Parser)]
#[command(version)]
pub struct Args {
    /// getppid calls per run in the rows that don't stop the target; the
    /// rows that stop it at every call (PTRACE_SYSCALL, USER_NOTIF, strace
    /// -f) make a twentieth as many, so that every row takes a similar time
    /// (the rows across two CPUs, whose stops cost more, a hundredth).
    #[arg(
        short = 'n',
        long,
        default_value_t = 200_000,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000_000)
    )]
    pub iterations: u64,

    /// Runs per row: the table shows their median, minimum and maximum.
    #[arg(
        short,
        long,
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub runs: u32,

    /// Print the results as JSON instead of tables.
    #[arg(long)]
    pub json: bool,

    /// Also draw the ns-per-syscall chart (log scale) into this SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,

    /// Instead of measuring: read the 1 MiB buffer of a `buffer` target
    /// (process PID, at the ADDRESS it printed) with process_vm_readv, as
    /// the memory table does, and write the bytes to stdout.
    #[arg(
        long,
        num_args = 2,
        value_names = ["PID", "ADDRESS"],
        value_parser = number,
        conflicts_with_all = ["iterations", "runs", "json", "svg"]
    )]
    pub read_buffer: Option<Vec<u64>>,

    /// Instead of measuring: run CMD under the tracer of one of the two
    /// ptrace rows and say, on stderr, how many times it stopped: at every
    /// call's entry and exit (syscall, PTRACE_SYSCALL), or at its calls of
    /// reboot(2) alone (seccomp, SECCOMP_RET_TRACE). The exit status is
    /// CMD's.
    #[arg(
        long,
        value_enum,
        value_name = "ROW",
        requires = "command",
        conflicts_with_all = ["iterations", "runs", "json", "svg", "read_buffer"]
    )]
    pub count_stops: Option<Watcher>,

    /// With --count-stops: the command to run, and its arguments.
    #[arg(
        trailing_var_arg = true,
        value_name = "CMD ARGS",
        requires = "count_stops"
    )]
    pub command: Vec<OsString>,
}

/// The tracers of the two ptrace rows, for --count-stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Watcher {
    // PTRACE_SYSCALL: two stops for every call. (Plain comments: a doc
    // comment here would turn --help into its long form.)
    Syscall,
    // SECCOMP_RET_TRACE for reboot(2): a stop for each reboot call only.
    Seccomp,
}

/// A number in decimal, or in hex after `0x`.
fn number(text: &str) -> Result<u64, String> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .map_err(|_| format!("{text:?} is not a number (decimal, or hex after 0x)"))
}
