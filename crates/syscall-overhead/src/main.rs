// syscall-overhead: what watching a program's syscalls costs the program.
// The lecture says «Использование фильтров дает меньший оверхед чем
// ptrace(PTRACE_SYSCALL)»; this demo measures it. A built-in target makes
// N getppid calls and times its own loop; each row of the table runs it
// under another watcher: none, seccomp filters of several shapes, ptrace
// two ways, a user-notification supervisor, and strace. Then it reads
// 1 MiB of a tracee's memory three ways, as the lecture's memory slides
// do. Tracer and tracee share one CPU, except in the two rows that show
// what it costs to keep them apart.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use syscall_overhead::chart::SvgFile;
use syscall_overhead::cli::Args;
use syscall_overhead::{memory, report, watchers};
use workbook::bench::pin_to_one_cpu;
use workbook::process::program_name;

// The demo's parts are in its library (src/lib.rs: cli, rows, filters,
// watchers, notify, memory, report, chart), which the lab builds on; this
// file puts them together.

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    if let Some(target) = &args.read_buffer {
        memory::read_buffer(target[0], target[1])?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(watcher) = args.count_stops {
        return watchers::count_stops(watcher, &args.command);
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
    let rows = watchers::syscall_rows(args.iterations, args.runs, &cpus)?;
    let memory = memory::memory_reads(args.runs)?;
    // The tables first: a chart that can't be written loses no measurement.
    if args.json {
        println!("{}", report::json(args.runs, &cpus, &rows, &memory));
    } else {
        report::print_tables(args.runs, &cpus, &rows, &memory);
    }
    if let Some(svg) = svg {
        svg.write(&rows)?;
    }
    Ok(ExitCode::SUCCESS)
}
