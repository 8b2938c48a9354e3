//! lab-signal-control: a tracer that turns one signal into another. At each
//! signal-delivery-stop it shows the signal's siginfo (PTRACE_GETSIGINFO)
//! and asks `lab::turn`, written by you in `lab.rs`, which signal to
//! restart the tracee with; when that is another signal, it shows the
//! siginfo the kernel holds for the stop then, which is what the tracee's
//! handler will get. Run it as
//! `cargo run -p lab-signal-control -- --turn SIGA=SIGB [-- CMD ARGS...]`.

mod lab;

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::sys::ptrace;
use nix::unistd::Pid;
use workbook::gone::{unless_gone, OrGone};
use workbook::siginfo::SigInfo;
use workbook::trace::{spawn_traced, Resume, Tracees, FOLLOW_CHILDREN};
use workbook::{ptrace_listen, CommandArgs, Sig, Stop, Waited};

/// Runs a command as a tracee, and at every signal-delivery-stop of SIGA
/// makes it get SIGB instead; every other signal goes on as it was sent.
///
/// With no command it runs the signal-control chapter's built-in target.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The signal to turn and what it becomes, by name or number:
    /// `SIGUSR1=SIGUSR2`, `USR1=SIGRT_4`, `10=36`.
    #[arg(long, value_name = "SIGA=SIGB", value_parser = parse_turn)]
    turn: (Sig, Sig),
    #[command(flatten)]
    command: CommandArgs,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let (from, to) = args.turn;
    let program = args.command.program("signal-lab")?;
    workbook::narrate!(
        "lab-signal-control: running {}, turning {from} into {to}",
        program.label
    );
    // Its children and threads too: whichever of them gets the signal, it is turned.
    let mut tracees = Tracees::new(spawn_traced(&program, FOLLOW_CHILDREN)?, Resume::Cont);
    tracees.resume(tracees.first(), None)?;
    while let Some(Waited { pid, stop, .. }) = tracees.wait()? {
        match stop {
            Stop::Signal(signal) => {
                // None: killed meanwhile, and its end is the next report.
                if let Some(pass_on) = unless_gone(at_signal(pid, signal, from, to))? {
                    tracees.resume(pid, Some(pass_on))?;
                }
            }
            // kill -STOP has stopped it: it stays so until SIGCONT.
            Stop::Group(signal) => {
                workbook::narrate!("[pid {pid}] --- stopped by {signal} ---");
                ptrace_listen(pid)?;
            }
            stop if stop.has_ended() => workbook::narrate!("[pid {pid}] +++ {stop} +++"),
            // The tracer's own stops (exec, fork, clone): no signal to deliver.
            _ => tracees.resume(pid, None)?,
        }
    }
    Ok(ExitCode::from(tracees.exit_code()?))
}

/// A signal-delivery-stop: the signal as it came, your `turn`'s answer,
/// and, if the signal changes, the siginfo the tracee's handler will get.
fn at_signal(pid: Pid, signal: Sig, from: Sig, to: Sig) -> Result<Sig> {
    workbook::narrate!("[pid {pid}] --- {signal} {} ---", siginfo_now(pid)?);
    let pass_on = lab::turn(pid, signal, from, to)?;
    match pass_on == signal {
        true => workbook::narrate!("[pid {pid}]     PTRACE_CONT with {pass_on}"),
        false => workbook::narrate!(
            "[pid {pid}]     PTRACE_CONT with {pass_on}, the stop's siginfo now {}",
            siginfo_now(pid)?
        ),
    }
    Ok(pass_on)
}

/// The stop's siginfo as the kernel holds it (PTRACE_GETSIGINFO), as strace prints it.
fn siginfo_now(pid: Pid) -> Result<String> {
    let info = ptrace::getsiginfo(pid).or_gone("PTRACE_GETSIGINFO", pid)?;
    Ok(SigInfo::from_raw(&info).describe())
}

/// `SIGA=SIGB`: two signals, each a name (`SIGUSR1`, `USR1`, `SIGRT_4`,
/// `SIGRTMIN`) or a number from 1 to 64.
fn parse_turn(text: &str) -> Result<(Sig, Sig)> {
    let Some((from, to)) = text.split_once('=') else {
        bail!("expected SIGA=SIGB, as in SIGUSR1=SIGUSR2");
    };
    let (from, to) = (parse_signal(from)?, parse_signal(to)?);
    if from == to {
        bail!("{from} would be turned into itself");
    }
    if from == Sig::SIGKILL {
        bail!("SIGKILL never stops a tracee on its way: it can't be turned");
    }
    Ok((from, to))
}

fn parse_signal(text: &str) -> Result<Sig> {
    let name = text.trim();
    if let Ok(number) = name.parse::<i32>() {
        return Sig::new(number).with_context(|| format!("no signal numbered {number}"));
    }
    let name = name.strip_prefix("SIG").unwrap_or(name);
    (1..=64)
        .filter_map(Sig::new)
        .find(|sig| sig.name().strip_prefix("SIG") == Some(name))
        .with_context(|| format!("no signal named {text} (try SIGUSR1, USR2, SIGRT_4 or 36)"))
}
