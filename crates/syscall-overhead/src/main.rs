// syscall-overhead: what watching a program's syscalls costs the program.
// The lecture says «Использование фильтров дает меньший оверхед чем
// ptrace(PTRACE_SYSCALL)»; this demo measures it. A built-in target makes
// N getppid calls and times its own loop; each row of the table runs it
// under another watcher: none, seccomp filters of several shapes, ptrace
// two ways, and strace. Then it reads 1 MiB of a tracee's memory three
// ways, as the lecture's memory slides do. Tracer and tracee share one CPU,
// except in the one row that shows what it costs to keep them apart.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::ptrace::{self, Options};
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{dup2_stdout, execvp, fork, pipe2, ForkResult, Pid};
use workbook::bpf::sock_filter;
use workbook::libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};
use workbook::process::{exit_child, program_name};
use workbook::program::find_executable;
use workbook::seccomp::{self, listed, load, LECTURE_DANGEROUS, NR};
use workbook::stop::Event;
use workbook::targets::overhead::{contents, random_seed, BUFFER_LEN, SEED_VARIABLE};
use workbook::trace::spawn_traced_with;
use workbook::{ptrace_cont, wait_for, ChildGuard, Program, Sig, Stop};

mod report;
use report::{draw_chart, json, print_tables, Row, Spread};

/// Measures what watching syscalls costs: a loop of getppid calls,
/// untraced, under seccomp filters, under ptrace and under strace; then
/// reading 1 MiB of a tracee's memory three ways. Tracer and tracee are
/// pinned to one CPU, except in the row that puts them on two. Build with
/// --release.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// getppid calls per run in the rows that don't stop the target; the
    /// rows that stop it at every call (PTRACE_SYSCALL, strace -f) make a
    /// twentieth as many, so that every row takes a similar time (the row
    /// across two CPUs, whose stops cost more, a hundredth).
    #[arg(
        short = 'n',
        long,
        default_value_t = 200_000,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000_000)
    )]
    iterations: u64,

    /// Runs per row: the table shows their median, minimum and maximum.
    #[arg(
        short,
        long,
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    runs: u32,

    /// Print the results as JSON instead of tables.
    #[arg(long)]
    json: bool,

    /// Also draw the ns-per-syscall chart (log scale) into this SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,

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
    read_buffer: Option<Vec<u64>>,

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
    count_stops: Option<Watcher>,

    /// With --count-stops: the command to run, and its arguments.
    #[arg(
        trailing_var_arg = true,
        value_name = "CMD ARGS",
        requires = "count_stops"
    )]
    command: Vec<std::ffi::OsString>,
}

/// The tracers of the two ptrace rows, for --count-stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Watcher {
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

/// How many times fewer calls the rows that stop at every call make.
const STOPPING_SHARE: u64 = 20;

/// And the row whose stops also wake another CPU.
const APART_SHARE: u64 = 100;

/// A syscall the target never makes: the ptrace and strace rows that watch
/// only some calls watch this one, and so never stop.
const NEVER_CALLED: &str = "reboot";
const NEVER_CALLED_NR: i64 = libc::SYS_reboot;

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    if let Some(target) = &args.read_buffer {
        read_buffer(target[0], target[1])?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(watcher) = args.count_stops {
        return count_stops(watcher, &args.command);
    }
    // Before nine seconds of measuring: a path that can't be written fails now.
    let svg = args.svg.as_deref().map(SvgFile::open).transpose()?;
    if cfg!(debug_assertions) {
        workbook::narrate!(
            "{}: built in debug mode: numbers are for the shape only; \
             use cargo run --release -p {}",
            program_name(),
            env!("CARGO_PKG_NAME")
        );
    }
    let cpus = pin_to_one_cpu()?;
    let rows = syscall_rows(args.iterations, args.runs, &cpus)?;
    let memory = memory_reads(args.runs)?;
    // The tables first: a chart that can't be written loses no measurement.
    if args.json {
        println!("{}", json(&args, &cpus, &rows, &memory));
    } else {
        print_tables(&args, &cpus, &rows, &memory);
    }
    if let Some(svg) = svg {
        svg.write(&rows)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--svg` file, opened for writing before anything is measured. An
/// existing file is emptied only when the chart is ready to go in.
struct SvgFile {
    path: PathBuf,
    file: File,
}

impl SvgFile {
    fn open(path: &Path) -> Result<SvgFile> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("opening {} for writing", path.display()))?;
        Ok(SvgFile {
            path: path.to_path_buf(),
            file,
        })
    }

    fn write(mut self, rows: &[Row]) -> Result<()> {
        let path = self.path.display();
        let svg = draw_chart(rows).with_context(|| format!("drawing {path}"))?;
        let regular = self
            .file
            .metadata()
            .with_context(|| format!("fstat {path}"))?
            .is_file();
        if regular {
            self.file
                .set_len(0)
                .with_context(|| format!("truncating {path}"))?;
        }
        self.file
            .write_all(svg.as_bytes())
            .with_context(|| format!("writing {path}"))
    }
}

// ANCHOR: pinning
/// The CPU every process of the demo runs on, and another one it may use.
pub(crate) struct Cpus {
    pub(crate) one: usize,
    pub(crate) other: Option<usize>,
}

/// Pins this process to the first CPU it may run on, before it forks
/// anything: every target, strace and bash inherit the mask, so tracer and
/// tracee take turns on one CPU. A ptrace stop is then a context switch and
/// no more; with the two on different CPUs it is also a wake-up of the other
/// CPU, and what that costs depends on what the other CPU was doing.
fn pin_to_one_cpu() -> Result<Cpus> {
    let allowed = sched_getaffinity(Pid::from_raw(0)).context("sched_getaffinity")?;
    let mut usable = (0..CpuSet::count()).filter(|&cpu| allowed.is_set(cpu).unwrap_or(false));
    let one = usable.next().context("sched_getaffinity: no CPU allowed")?;
    let other = usable.next();
    sched_setaffinity(Pid::from_raw(0), &only(one)?)
        .with_context(|| format!("sched_setaffinity(CPU {one})"))?;
    Ok(Cpus { one, other })
}

/// The CPU set that holds `cpu` alone.
fn only(cpu: usize) -> Result<CpuSet> {
    let mut set = CpuSet::new();
    set.set(cpu)
        .with_context(|| format!("CPU {cpu} in a cpu_set_t"))?;
    Ok(set)
}
// ANCHOR_END: pinning

// ANCHOR: rows
/// The table: one row per watcher, each a function that runs the `spin`
/// target once under it and returns the nanoseconds its loop took.
fn syscall_rows(n: u64, runs: u32, cpus: &Cpus) -> Result<Vec<Row>> {
    let stopping = (n / STOPPING_SHARE).max(1);
    let apart = (n / APART_SHARE).max(1);
    let libseccomp_lecture = libseccomp_filter(&lecture_numbers()?, ScmpAction::Trap, 1)?;
    let libseccomp_tree = libseccomp_filter(&decoys(), ScmpAction::KillProcess, 2)?;
    let mut rows = vec![
        Row::measure("baseline: untraced", n, runs, unfiltered)?,
        Row::measure("seccomp: allow everything, 1 instruction", n, runs, |n| {
            filtered(n, &seccomp::allow_all())
        })?,
        Row::measure("seccomp: the lecture's 4 checks", n, runs, |n| {
            filtered(n, &lecture_filter())
        })?,
        Row::measure(
            "seccomp: libseccomp, the lecture's 63 traps",
            n,
            runs,
            |n| libseccomp_loaded(n, &libseccomp_lecture),
        )?,
        Row::measure("seccomp: 300 checks in a row", n, runs, |n| {
            filtered(n, &long_chain())
        })?,
        Row::measure("seccomp: libseccomp, the 300 as a tree", n, runs, |n| {
            libseccomp_loaded(n, &libseccomp_tree)
        })?,
        Row::measure("seccomp: reads an argument, then allows", n, runs, |n| {
            filtered(n, &reading_an_argument(seccomp::allow_all()))
        })?,
        Row::measure(
            "seccomp: reads an argument, then 300 checks",
            n,
            runs,
            |n| filtered(n, &reading_an_argument(long_chain())),
        )?,
        Row::measure(
            "ptrace: PTRACE_SYSCALL, 2 stops a call",
            stopping,
            runs,
            |n| ptrace_syscall(n, None),
        )?,
        match cpus.other {
            Some(other) => {
                let other = only(other)?;
                Row::measure(ACROSS_TWO_CPUS, apart, runs, |n| {
                    ptrace_syscall(n, Some(&other))
                })?
            }
            None => Row::skipped(ACROSS_TWO_CPUS, "this process may use one CPU only"),
        },
        Row::measure("ptrace: SECCOMP_RET_TRACE, no stops", n, runs, ret_trace)?,
    ];
    let strace = find_executable(OsStr::new("strace")).ok();
    let bash = find_executable(OsStr::new("bash")).ok();
    for (label, calls, filtered) in [
        ("reference: strace -f", stopping, false),
        ("reference: strace --seccomp-bpf -f", n, true),
    ] {
        rows.push(match (&strace, &bash) {
            (Some(strace), Some(bash)) => Row::measure(label, calls, runs, |n| {
                under_strace(strace, bash, filtered, n)
            })?,
            (None, _) => Row::skipped(label, "strace is not installed"),
            (_, None) => Row::skipped(label, "bash is not installed"),
        });
    }
    Ok(rows)
}
// ANCHOR_END: rows

/// The one row whose tracee runs on another CPU than its tracer.
pub(crate) const ACROSS_TWO_CPUS: &str = "ptrace: PTRACE_SYSCALL, across two CPUs";

/// The target: `spin N`, this binary under the name `builtin:spin`.
fn spin(n: u64) -> Program {
    Program::builtin("spin", &[&n.to_string()])
}

// ANCHOR: filters
/// The lecture's filter: `ld [0]`, a `jeq` for each of open_by_handle_at,
/// delete_module, get_mempolicy and move_pages, `ret ALLOW`, `ret KILL`.
fn lecture_filter() -> Vec<sock_filter> {
    let forbidden = [
        libc::SYS_open_by_handle_at,
        libc::SYS_delete_module,
        libc::SYS_get_mempolicy,
        libc::SYS_move_pages,
    ];
    let numbers: Vec<u64> = forbidden.iter().map(|&nr| nr as u64).collect();
    let mut filter = vec![load(NR)];
    filter.extend(listed(&numbers, libc::SECCOMP_RET_KILL_PROCESS));
    filter
}

/// 299 numbers that are no syscall at all (x86_64 has fewer than 500):
/// rules that never match anything the target does, only cost time.
fn decoys() -> Vec<u64> {
    (1000..1299).collect()
}

/// 300 checks one after the other: a `jeq` and a `ret KILL` for each
/// decoy, then getppid's own `jeq`, whose verdict is ALLOW, and `ret ALLOW`
/// for everything else. getppid is compared with all 300 numbers before
/// it gets through: 601 instructions run for each call.
fn long_chain() -> Vec<sock_filter> {
    let mut rules: Vec<(u64, u32)> = decoys()
        .into_iter()
        .map(|nr| (nr, libc::SECCOMP_RET_KILL_PROCESS))
        .collect();
    rules.push((libc::SYS_getppid as u64, libc::SECCOMP_RET_ALLOW));
    seccomp::chain(&rules, libc::SECCOMP_RET_ALLOW)
}

/// `ld [16]` (the low half of the first argument) in front of `filter`,
/// which loads what it needs itself. Since Linux 5.11 the kernel runs a new
/// filter once per syscall number at install time, and where the verdict
/// can only be ALLOW (the filter reads nothing but `nr` and `arch`) it
/// remembers that in a bitmap and never runs the filter for that call
/// again. A filter that reads an argument can't be answered in advance:
/// it runs, instruction by instruction, at every call.
fn reading_an_argument(filter: Vec<sock_filter>) -> Vec<sock_filter> {
    let mut program = vec![load(ARG0)];
    program.extend(filter);
    program
}

/// Offset of `args[0]` in `struct seccomp_data`.
const ARG0: u32 = 16;

/// The lecture's 63 dangerous calls, as seccomp-lib resolves them.
fn lecture_numbers() -> Result<Vec<u64>> {
    LECTURE_DANGEROUS
        .iter()
        .map(|name| {
            let syscall = ScmpSyscall::from_name(name)
                .with_context(|| format!("seccomp_syscall_resolve_name({name})"))?;
            u64::try_from(syscall.as_raw_syscall())
                .with_context(|| format!("{name} is no syscall on this architecture"))
        })
        .collect()
}

/// A libseccomp filter: ALLOW by default, `action` for each number.
/// `optimize` is SCMP_FLTATR_CTL_OPTIMIZE: 1 checks the rules one after
/// the other (the default), 2 as a binary tree of syscall numbers.
fn libseccomp_filter(
    numbers: &[u64],
    action: ScmpAction,
    optimize: u32,
) -> Result<ScmpFilterContext> {
    let mut ctx = ScmpFilterContext::new(ScmpAction::Allow).context("seccomp_init")?;
    ctx.set_ctl_optimize(optimize)
        .with_context(|| format!("seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, {optimize})"))?;
    for &nr in numbers {
        let syscall = ScmpSyscall::from(i32::try_from(nr).context("a syscall number")?);
        ctx.add_rule(action, syscall)
            .with_context(|| format!("seccomp_rule_add({action:?}, {nr})"))?;
    }
    Ok(ctx)
}
// ANCHOR_END: filters

// ANCHOR: seccomp_rows
/// The target with no watcher.
fn unfiltered(n: u64) -> Result<u64> {
    run_in_child(n, || Ok(()))
}

/// The target under a filter installed by hand: no_new_privs, then
/// seccomp(SECCOMP_SET_MODE_FILTER), in the child before execvp.
fn filtered(n: u64, filter: &[sock_filter]) -> Result<u64> {
    run_in_child(n, || {
        seccomp::no_new_privs()?;
        seccomp::install(filter)
    })
}

/// The target under a libseccomp filter: seccomp_load in the child (it
/// sets no_new_privs itself).
fn libseccomp_loaded(n: u64, ctx: &ScmpFilterContext) -> Result<u64> {
    run_in_child(n, || {
        ctx.load().map_err(|error| {
            error
                .sysrawrc()
                .map_or(Errno::EINVAL, |rc| Errno::from_raw(-rc))
        })
    })
}
// ANCHOR_END: seccomp_rows

/// fork; in the child, stdout into a pipe, then `prepare`, then execvp
/// the target; in the parent, its stdout and its exit.
fn run_in_child(n: u64, prepare: impl FnOnce() -> Result<(), Errno>) -> Result<u64> {
    let program = spin(n);
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    // SAFETY: this process has one thread; the child calls dup2, prctl,
    // seccomp (libseccomp builds its program first) and execvp, or _exit.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            if let Err(errno) = stdout_to(&write_end).and_then(|()| prepare()) {
                exit_child(127, &format!("setting up the target: {}", errno.desc()));
            }
            let errno = execvp(&program.file, &program.argv).unwrap_err();
            exit_child(127, &format!("execvp {}: {}", program.name, errno.desc()))
        }
        ForkResult::Parent { child } => {
            let guard = ChildGuard::new(child);
            drop(write_end);
            let waited = wait_for(child, WaitPidFlag::empty())?;
            guard.reaped();
            loop_time(waited.stop, output)
        }
    }
}

/// dup2(pipe, 1): the target's stdout goes to us.
fn stdout_to(write_end: &OwnedFd) -> Result<(), Errno> {
    dup2_stdout(write_end)
}

/// What the target printed, once it has exited with status 0: the loop's
/// time in nanoseconds.
fn loop_time(end: Stop, output: OwnedFd) -> Result<u64> {
    let mut text = String::new();
    File::from(output)
        .read_to_string(&mut text)
        .context("reading the target's output")?;
    if end != Stop::Exited(0) {
        bail!("the spin target failed: {end}");
    }
    text.trim()
        .parse()
        .with_context(|| format!("the spin target printed {text:?}, not a time in ns"))
}

// ANCHOR: ptrace_syscall
/// The blocker's way: stop at every syscall's entry and at its exit, look
/// at the stop, restart with PTRACE_SYSCALL, passing signals on. With
/// `apart`, the tracee moves to that CPU before execvp, away from its tracer.
fn ptrace_syscall(n: u64, apart: Option<&CpuSet>) -> Result<u64> {
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let options = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
    let guard = spawn_traced_with(&spin(n), options, || {
        stdout_to(&write_end)?;
        match apart {
            Some(cpu) => sched_setaffinity(Pid::from_raw(0), cpu),
            None => Ok(()),
        }
    })?;
    drop(write_end);
    let pid = guard.pid();
    let (end, stops) = syscall_stops(pid)?;
    guard.reaped();
    // Each getppid call (and each call of the start-up) stops the target twice.
    if stops < 2 * n {
        bail!(
            "PTRACE_SYSCALL stopped the target {stops} times for {n} getppid calls: \
             it stops at every call's entry and at its exit"
        );
    }
    loop_time(end, output)
}

// ANCHOR: syscall_stops
/// The tracer: PTRACE_SYSCALL after every stop until the target is gone.
/// Returns its end and the number of syscall stops.
fn syscall_stops(pid: Pid) -> Result<(Stop, u64)> {
    let mut stops = 0;
    ptrace::syscall(pid, None).context("PTRACE_SYSCALL")?;
    loop {
        let waited = wait_for(pid, WaitPidFlag::__WALL)?;
        let signal = match waited.stop {
            Stop::SyscallEnter { .. } | Stop::SyscallExit { .. } => {
                stops += 1;
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Exited(_) | Stop::Killed { .. } => return Ok((waited.stop, stops)),
            _ => None,
        };
        workbook::ptrace_syscall(pid, signal)?;
    }
}
// ANCHOR_END: syscall_stops
// ANCHOR_END: ptrace_syscall

// ANCHOR: ret_trace
/// The filter decides: SECCOMP_RET_TRACE for reboot, ALLOW for the rest,
/// and PTRACE_CONT. The tracee stops only where the filter says, and the
/// target never calls reboot: a tracer is there, and never woken.
fn ret_trace(n: u64) -> Result<u64> {
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let options = Options::PTRACE_O_TRACESECCOMP | Options::PTRACE_O_TRACEEXEC;
    let filter = seccomp::trace_only(&[NEVER_CALLED_NR as u64], &[], &[]);
    let guard = spawn_traced_with(&spin(n), options, || {
        stdout_to(&write_end)?;
        seccomp::no_new_privs()?;
        seccomp::install(&filter)
    })?;
    drop(write_end);
    let pid = guard.pid();
    let (end, stops) = seccomp_stops(pid)?;
    guard.reaped();
    if stops > 0 {
        bail!("the target called {NEVER_CALLED} {stops} times");
    }
    loop_time(end, output)
}

// ANCHOR: seccomp_stops
/// The tracer: PTRACE_CONT after every stop until the target is gone.
/// Returns its end and the number of seccomp stops.
fn seccomp_stops(pid: Pid) -> Result<(Stop, u64)> {
    let mut stops = 0;
    ptrace::cont(pid, None).context("PTRACE_CONT")?;
    loop {
        let waited = wait_for(pid, WaitPidFlag::__WALL)?;
        let signal = match waited.stop {
            Stop::Event(Event::Seccomp { .. }) => {
                stops += 1;
                None
            }
            Stop::Signal(signal) => Some(signal),
            Stop::Exited(_) | Stop::Killed { .. } => return Ok((waited.stop, stops)),
            _ => None,
        };
        ptrace_cont(pid, signal)?;
    }
}
// ANCHOR_END: seccomp_stops
// ANCHOR_END: ret_trace

// ANCHOR: strace
/// strace, on the same target. strace can't set argv[0], so bash does:
/// `exec -a builtin:spin` replaces bash with this binary under the
/// target's name. The target times its own loop: bash costs nothing here.
fn under_strace(strace: &Path, bash: &Path, seccomp_bpf: bool, n: u64) -> Result<u64> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let mut command = Command::new(strace);
    if seccomp_bpf {
        command.args(["--seccomp-bpf", "-e", &format!("trace={NEVER_CALLED}")]);
    }
    command
        .args(["-f", "-o", "/dev/null"])
        .arg(bash)
        .args(["-c", r#"exec -a builtin:spin "$0" "$1""#])
        .arg(exe)
        .arg(n.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let output = command.output().context("running strace")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("strace failed ({}): {text}", output.status);
    }
    text.trim()
        .parse()
        .with_context(|| format!("the spin target printed {text:?}, not a time in ns"))
}
// ANCHOR_END: strace

// ANCHOR: memory
/// One way of reading the tracee's buffer.
struct MemoryRow {
    label: &'static str,
    mb_per_s: Spread,
}

/// Reads the `buffer` target's 1 MiB while it is stopped, `runs` times
/// each way, checks every byte against the seed it was given, then kills it.
fn memory_reads(runs: u32) -> Result<Vec<MemoryRow>> {
    let seed = random_seed().context("getrandom")?;
    let expected = contents(seed);
    // The target inherits the environment; this process has one thread.
    std::env::set_var(SEED_VARIABLE, seed.to_string());
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let program = Program::builtin("buffer", &[]);
    let guard = spawn_traced_with(&program, Options::PTRACE_O_TRACEEXEC, || {
        stdout_to(&write_end)
    })?;
    drop(write_end);
    let pid = guard.pid();
    wait_for_sigstop(pid)?;
    let mut line = String::new();
    BufReader::new(File::from(output))
        .read_line(&mut line)
        .context("reading the buffer's address")?;
    let address = u64::from_str_radix(line.trim().trim_start_matches("0x"), 16)
        .with_context(|| format!("the buffer target printed {line:?}, not an address"))?;

    type Reader = fn(Pid, u64) -> Result<Vec<u8>>;
    let ways: [(&str, Reader); 3] = [
        ("PTRACE_PEEKDATA, 8 bytes a call", peekdata),
        ("process_vm_readv, one call", vm_readv),
        ("pread of /proc/PID/mem", proc_mem),
    ];
    let mut rows = Vec::new();
    for (label, read) in ways {
        let mut rates = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let bytes = read(pid, address).with_context(|| format!("reading with {label}"))?;
            let seconds = start.elapsed().as_secs_f64();
            if bytes != expected {
                bail!("{label} read other bytes than the target wrote");
            }
            rates.push(BUFFER_LEN as f64 / seconds / 1e6);
        }
        rows.push(MemoryRow {
            label,
            mb_per_s: Spread::of(rates),
        });
    }
    // SIGKILL and reap: the target has served.
    drop(guard);
    Ok(rows)
}

/// PTRACE_CONT until the target's own SIGSTOP; it stays in that stop.
fn wait_for_sigstop(pid: Pid) -> Result<()> {
    ptrace::cont(pid, None).context("PTRACE_CONT")?;
    loop {
        let signal = match wait_for(pid, WaitPidFlag::__WALL)?.stop {
            Stop::Signal(Sig::SIGSTOP) => return Ok(()),
            Stop::Signal(signal) => Some(signal),
            stop @ (Stop::Exited(_) | Stop::Killed { .. }) => {
                bail!("the buffer target ended before its SIGSTOP: {stop}")
            }
            _ => None,
        };
        ptrace_cont(pid, signal)?;
    }
}

/// PTRACE_PEEKDATA: one syscall per 8-byte word.
fn peekdata(pid: Pid, address: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(BUFFER_LEN);
    for offset in (0..BUFFER_LEN as u64).step_by(8) {
        let word = ptrace::read(pid, (address + offset) as ptrace::AddressType)
            .with_context(|| format!("PTRACE_PEEKDATA at {:#x}", address + offset))?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    Ok(bytes)
}

// ANCHOR: vm_readv
/// process_vm_readv: the whole buffer in one call (more if it comes short).
fn vm_readv(pid: Pid, address: u64) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; BUFFER_LEN];
    let mut done = 0;
    while done < BUFFER_LEN {
        let remote = RemoteIoVec {
            base: (address as usize) + done,
            len: BUFFER_LEN - done,
        };
        let local = std::io::IoSliceMut::new(&mut bytes[done..]);
        match process_vm_readv(pid, &mut [local], &[remote]).context("process_vm_readv")? {
            0 => bail!("process_vm_readv read nothing at {:#x}", remote.base),
            read => done += read,
        }
    }
    Ok(bytes)
}
// ANCHOR_END: vm_readv

/// /proc/PID/mem: the tracee's address space as a file; pread at the address.
fn proc_mem(pid: Pid, address: u64) -> Result<Vec<u8>> {
    let path = format!("/proc/{pid}/mem");
    let file = File::open(&path).with_context(|| format!("open {path}"))?;
    let mut bytes = vec![0u8; BUFFER_LEN];
    file.read_exact_at(&mut bytes, address)
        .with_context(|| format!("pread {path} at {address:#x}"))?;
    Ok(bytes)
}
// ANCHOR_END: memory

/// `--count-stops ROW CMD`: CMD, traced as the row `ROW` traces its target,
/// with the same tracer loop; the count of its stops on stderr, and its
/// exit status for ours. The tests run a target whose number of calls only
/// it knows, and check the count.
fn count_stops(watcher: Watcher, command: &[std::ffi::OsString]) -> Result<ExitCode> {
    let program = Program::from_command_line(command, "spin")?;
    let (end, stops, what) = match watcher {
        Watcher::Syscall => {
            let options = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
            let guard = spawn_traced_with(&program, options, || Ok(()))?;
            let (end, stops) = syscall_stops(guard.pid())?;
            guard.reaped();
            (end, stops, "syscall stops (PTRACE_SYSCALL)")
        }
        Watcher::Seccomp => {
            let options = Options::PTRACE_O_TRACESECCOMP | Options::PTRACE_O_TRACEEXEC;
            let filter = seccomp::trace_only(&[NEVER_CALLED_NR as u64], &[], &[]);
            let guard = spawn_traced_with(&program, options, || {
                seccomp::no_new_privs()?;
                seccomp::install(&filter)
            })?;
            let (end, stops) = seccomp_stops(guard.pid())?;
            guard.reaped();
            (end, stops, "seccomp stops (SECCOMP_RET_TRACE for reboot)")
        }
    };
    workbook::narrate!(
        "{}: {}: {stops} {what}, then {end}",
        program_name(),
        program.label
    );
    Ok(ExitCode::from(end.exit_code().unwrap_or(1)))
}

/// `--read-buffer PID ADDRESS`: the `buffer` target's bytes, read with
/// `vm_readv` and written to stdout. The tests start the target with a seed
/// of their own and compare.
fn read_buffer(pid: u64, address: u64) -> Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .filter(|&pid| pid > 0)
        .with_context(|| format!("--read-buffer: {pid} is no process id"))?;
    let bytes = vm_readv(Pid::from_raw(pid), address)
        .with_context(|| format!("reading pid {pid} at {address:#x}"))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&bytes)
        .and_then(|()| stdout.flush())
        .context("writing the bytes to stdout")
}
