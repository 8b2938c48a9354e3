// escapes: each watcher of the workbook (syscall-blocker in both modes,
// the lecture's seccomp filter and its hardened form, seccomp-lib,
// seccomp-notify) against each way around a watcher (another ABI,
// io_uring, a newer call doing an old one's job, a path swapped after the
// check, the vDSO). Every cell is a real run: the watcher's own binary
// running a target that tries the escape, judged by what it achieved.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use workbook::ExitWith;

mod rows;
mod run;
mod table;
mod verdict;
mod watchers;

use rows::{Row, Target, ROWS};
use run::Scratch;
use verdict::Verdict;
use watchers::{Watcher, ALL};

/// Runs each way around a syscall watcher under each watcher of this
/// workbook, and prints the table: ✔ stopped, ✘ got through.
///
/// The watchers are the other demos' binaries, found beside this one:
/// build them first (`cargo build --workspace`).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Run one row, showing every run in full: int80, x32, io-uring,
    /// openat2, new-mount, clone3, toctou or vdso.
    #[arg(long, value_name = "ROW", conflicts_with = "cell")]
    only: Option<String>,
    /// Run one cell, shown in full: ROW:COLUMN, e.g. io-uring:ptrace.
    /// The columns: alone, ptrace, ptrace+bpf, lecture, hardened,
    /// libseccomp, notify.
    #[arg(long, value_name = "ROW:COLUMN")]
    cell: Option<String>,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let chosen = choose(&args)?;
    // Ctrl-C is for the runs; we stop after the one it interrupted.
    workbook::signal::hold_fatal_signals()?;
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("prctl(PR_SET_CHILD_SUBREAPER)");
    }
    let mut scratch = Scratch::new()?;
    let mut cells = Cells {
        scratch: &mut scratch,
        show: args.only.is_some() || args.cell.is_some(),
        missing: false,
    };
    if cells.show {
        for (row, watchers) in chosen {
            cells.row(row, &watchers)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    workbook::narrate!(
        "escapes: {} ways around, each under {} watchers",
        ROWS.len(),
        ALL.len() - 1
    );
    let table = ROWS
        .iter()
        .map(|row| cells.row(row, &ALL))
        .collect::<Result<Vec<_>>>()?;
    let missing = cells.missing;
    // The folder goes first: a reader that stops early (`| head`) kills
    // us with SIGPIPE while we print, and nothing must be left behind.
    drop(scratch);
    table::print(&table);
    if missing {
        workbook::narrate!("escapes: a watcher is not built: run `cargo build --workspace` first");
    }
    Ok(ExitCode::SUCCESS)
}

/// The rows and columns to run, from --only or --cell (all by default).
fn choose(args: &Args) -> Result<Vec<(&'static Row, Vec<Watcher>)>> {
    let row = |key: &str| {
        rows::by_key(key).ok_or_else(|| usage(format!("no row named {key} ({})", rows::keys())))
    };
    if let Some(key) = &args.only {
        return Ok(vec![(row(key)?, ALL.to_vec())]);
    }
    if let Some(cell) = &args.cell {
        let (key, column) = cell
            .split_once(':')
            .ok_or_else(|| usage(format!("--cell {cell}: not ROW:COLUMN")))?;
        let watcher = ALL
            .into_iter()
            .find(|watcher| watcher.key() == column)
            .ok_or_else(|| {
                let names: Vec<_> = ALL.iter().map(|watcher| watcher.key()).collect();
                usage(format!("no column named {column} ({})", names.join(", ")))
            })?;
        return Ok(vec![(row(key)?, vec![watcher])]);
    }
    Ok(ROWS.iter().map(|row| (row, ALL.to_vec())).collect())
}

fn usage(message: String) -> anyhow::Error {
    ExitWith { code: 2, message }.into()
}

/// Runs cells, remembering whether a watcher was missing.
struct Cells<'a> {
    scratch: &'a mut Scratch,
    /// Show every run in full (--only, --cell).
    show: bool,
    missing: bool,
}

impl Cells<'_> {
    /// One row's cells under `watchers`. The run with no watcher comes
    /// first, shown or not: where the escape fails even then, it is not
    /// available here, and the other cells say so instead of running.
    fn row(&mut self, row: &Row, watchers: &[Watcher]) -> Result<Vec<Verdict>> {
        let show = self.show;
        self.show = show && watchers.contains(&Watcher::Alone);
        let baseline = self.cell(row, Watcher::Alone, None)?;
        self.show = show;
        watchers
            .iter()
            .map(|&watcher| match watcher {
                Watcher::Alone => Ok(baseline.clone()),
                watcher => self.cell(row, watcher, Some(&baseline)),
            })
            .collect()
    }

    fn cell(&mut self, row: &Row, watcher: Watcher, baseline: Option<&Verdict>) -> Result<Verdict> {
        let verdict = self.verdict(row, watcher, baseline)?;
        if self.show {
            println!("{}\n", table::in_words(row, watcher, &verdict));
        }
        if interrupted() {
            return Err(ExitWith {
                code: 130,
                message: "interrupted".into(),
            }
            .into());
        }
        Ok(verdict)
    }

    fn verdict(
        &mut self,
        row: &Row,
        watcher: Watcher,
        baseline: Option<&Verdict>,
    ) -> Result<Verdict> {
        if let Some(why) = (row.not_for)(watcher) {
            return Ok(Verdict::NotApplicable(why));
        }
        if row.root_only && !nix::unistd::geteuid().is_root() {
            return Ok(Verdict::RootOnly);
        }
        if let Some(Verdict::Unavailable(why)) = baseline {
            return Ok(Verdict::Unavailable(why.clone()));
        }
        if matches!(row.target, Target::Probe(_)) && !self.scratch.probe_built() {
            return Ok(Verdict::Unavailable(
                "escape-probe was not built: no static C library (libc6-dev)".into(),
            ));
        }
        let binary = match watcher.command() {
            None => Default::default(),
            Some((name, _)) => match watchers::binary(name) {
                Some(binary) => binary,
                None => {
                    self.missing = true;
                    return Ok(Verdict::NotBuilt(name.into()));
                }
            },
        };
        let line = self.scratch.command_line(row, watcher, &binary);
        if self.show {
            println!("$ {}", shown(&line));
        }
        let outcome = self.scratch.run(&line)?;
        if self.show {
            print!("{}", outcome.output);
            println!("(exit {})", outcome.code);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Ok(verdict::judge(
            row,
            watcher,
            &outcome,
            &self.scratch.secret,
            now,
        ))
    }
}

/// A command line as typed: the watcher by its name, not its path.
fn shown(line: &[OsString]) -> String {
    line.iter()
        .enumerate()
        .map(|(index, word)| {
            let word = std::path::Path::new(word);
            match (index, word.file_name()) {
                (0, Some(name)) => name.to_string_lossy().into_owned(),
                _ => word.to_string_lossy().into_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT) came while a cell ran:
/// they are held, so they wait, pending.
fn interrupted() -> bool {
    // SAFETY: sigpending fills a local set; sigismember reads it.
    unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT]
            .iter()
            .any(|&signal| libc::sigismember(&pending, signal) == 1)
    }
}
