//! Grading tests for lab-signal-control. The lab traces the demo's own
//! built-in target (trusted code, from the demo's binary, not the lab's) in
//! its mailbox mode, `builtin:signal-lab mailbox`: the test hands it,
//! through the kernel and past the lab, which signals to handle and which
//! a child of the target is to send it, by kill, sigqueue (with a random
//! value) or tgkill; the target reports, through the same mailbox, what
//! its SA_SIGINFO handlers got: the signal, si_code, si_pid and si_value.
//! The signal to turn and what it becomes are chosen at random each run,
//! real-time signals among them. What the lab prints counts for nothing.
//! Points in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::targets::mailbox::test::{pick, random_u64, tail, Target, Traced};
use workbook::targets::mailbox::{Reader, Writer};
use workbook::targets::signal_lab::{BY_KILL, BY_SIGQUEUE, BY_TGKILL};
use workbook::Sig;

/// The signals a run chooses from: those a program may handle, and that no
/// one else sends the target meanwhile (not SIGCHLD, whose default the
/// target keeps; not SIGKILL, SIGSTOP, or glibc's 32 and 33; not the
/// faults, SIGTRAP or SIGCONT, which mean more to a tracer or a kernel
/// than a signal sent with kill), and the real-time ones from 34.
fn signals() -> Vec<i32> {
    let classic = [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGTERM,
        libc::SIGURG,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGWINCH,
    ];
    classic.into_iter().chain(34..=64).collect()
}

/// A signal of `signals()` that is none of `taken`, at random; real-time
/// or not with even odds.
pub fn another_signal(taken: &[i32]) -> i32 {
    let free: Vec<i32> = signals()
        .into_iter()
        .filter(|signal| !taken.contains(signal))
        .collect();
    let (realtime, classic): (Vec<i32>, Vec<i32>) = free.iter().partition(|&&signal| signal >= 34);
    match random_u64().is_multiple_of(2) && !classic.is_empty() {
        true => pick(&classic),
        false => pick(&realtime),
    }
}

pub fn name(signal: i32) -> String {
    Sig::new(signal).map_or_else(|| format!("signal {signal}"), |sig| sig.name())
}

/// One signal the target's child sends it.
#[derive(Clone, Copy)]
pub struct Send {
    pub how: u64,
    pub signal: i32,
    pub value: u64,
}

impl Send {
    pub fn kill(signal: i32) -> Send {
        Send {
            how: BY_KILL,
            signal,
            value: 0,
        }
    }

    /// sigqueue with a random value that is not 0.
    pub fn sigqueue(signal: i32) -> Send {
        Send {
            how: BY_SIGQUEUE,
            signal,
            value: random_u64() | 1 << 40,
        }
    }

    pub fn tgkill(signal: i32) -> Send {
        Send {
            how: BY_TGKILL,
            signal,
            value: 0,
        }
    }

    /// The si_code the sending call gives the signal.
    fn code(self) -> i32 {
        match self.how {
            BY_KILL => libc::SI_USER,
            BY_SIGQUEUE => libc::SI_QUEUE,
            _ => libc::SI_TKILL,
        }
    }

    fn call(self) -> String {
        match self.how {
            BY_KILL => format!("kill({})", name(self.signal)),
            BY_SIGQUEUE => format!(
                "sigqueue({}, si_value {:#x})",
                name(self.signal),
                self.value
            ),
            _ => format!("tgkill({})", name(self.signal)),
        }
    }
}

/// One round of the target: it blocks the signals it handles, its child
/// sends `sends` and exits, and the target unblocks all but `keep_blocked`,
/// then those too.
pub struct Step {
    pub keep_blocked: Vec<i32>,
    pub sends: Vec<Send>,
}

impl Step {
    pub fn sending(sends: &[Send]) -> Step {
        Step {
            keep_blocked: Vec::new(),
            sends: sends.to_vec(),
        }
    }
}

/// What a handler of the target got.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivery {
    pub signal: i32,
    pub code: i32,
    pub pid: i32,
    pub value: u64,
}

/// A step as the target saw it.
pub struct Seen {
    pub sender: i32,
    pub status: i32,
    pub deliveries: Vec<Delivery>,
}

/// A run of the lab with `--turn FROM=TO` on the target, with `steps`.
pub struct Run {
    pub from: i32,
    pub to: i32,
    pub traced: Traced,
    pub steps: Vec<Step>,
    pub seen: Vec<Seen>,
}

/// Runs the lab with `--turn from=to` (as numbers) on the target in its
/// mailbox mode, with every signal of `steps` and `from` and `to` handled,
/// and reads the target's report. The target must be traced by the lab,
/// and every call of its child must have worked.
pub fn run(from: i32, to: i32, steps: Vec<Step>) -> Run {
    let handled = steps
        .iter()
        .flat_map(|step| step.sends.iter().map(|send| send.signal))
        .chain([from, to])
        .fold(0u64, |set, signal| set | 1 << (signal - 1));
    let mut input = Writer::new();
    input.u64(handled).u64(steps.len() as u64);
    for step in &steps {
        let keep_blocked = step
            .keep_blocked
            .iter()
            .fold(0u64, |set, signal| set | 1 << (signal - 1));
        input.u64(keep_blocked).u64(step.sends.len() as u64);
        for send in &step.sends {
            input.u64(send.how).u64(send.signal as u64).u64(send.value);
        }
    }
    let target = Target::new(
        &workbook::testing::workspace_bin("signal-control"),
        "signal-lab",
        &["mailbox"],
    );
    let mut command = Command::new(get_cargo_bin("lab-signal-control"));
    command
        .arg(format!("--turn={from}={to}"))
        .arg("--")
        .args(target.argv());
    let traced = target.run(&mut command, &input.0);
    let said = tail(&traced.stderr());
    let seen = parse(traced.report(), steps.len(), traced.lab)
        .unwrap_or_else(|why| panic!("the target's report: {why}\nthe lab's stderr:\n{said}"));
    for (step, seen) in steps.iter().zip(&seen) {
        let calls: Vec<String> = step.sends.iter().map(|send| send.call()).collect();
        assert_eq!(
            seen.status,
            0,
            "the target's child (pid {}) could not make its calls {}: wait status {:#x}\n{said}",
            seen.sender,
            calls.join(", "),
            seen.status
        );
    }
    Run {
        from,
        to,
        traced,
        steps,
        seen,
    }
}

/// The report: TracerPid, then each step's child, its status, and what the
/// handlers got.
fn parse(report: &[u8], steps: usize, lab: u32) -> Result<Vec<Seen>, String> {
    let mut r = Reader::new(report);
    let tracer = r.u64()?;
    if tracer != u64::from(lab) {
        return Err(format!(
            "the target must be traced by the lab (pid {lab}); its tracer was pid {tracer}"
        ));
    }
    let mut seen = Vec::new();
    for _ in 0..steps {
        let sender = r.u64()? as i32;
        let status = r.u64()? as i32;
        let mut deliveries = Vec::new();
        for _ in 0..r.u64()? {
            deliveries.push(Delivery {
                signal: r.u64()? as i32,
                code: r.u64()? as i32,
                pid: r.u64()? as i32,
                value: r.u64()?,
            });
        }
        seen.push(Seen {
            sender,
            status,
            deliveries,
        });
    }
    Ok(seen)
}

impl Run {
    /// What the target's handlers must have got in each step: every
    /// signal as it was sent, by the child, but `from`, which arrives as
    /// `to` with all else kept.
    pub fn expected(&self, step: usize) -> Vec<Delivery> {
        let sender = self.seen[step].sender;
        let mut expected: Vec<Delivery> = self.steps[step]
            .sends
            .iter()
            .map(|send| Delivery {
                signal: if send.signal == self.from {
                    self.to
                } else {
                    send.signal
                },
                code: send.code(),
                pid: sender,
                value: send.value,
            })
            .collect();
        expected.sort();
        expected
    }

    /// A delivery in the student's terms.
    fn describe(&self, delivery: &Delivery, sender: i32) -> String {
        let code = workbook::siginfo::code_name(delivery.signal, delivery.code)
            .map_or_else(|| delivery.code.to_string(), str::to_string);
        let who = match delivery.pid {
            pid if pid == sender => format!("{pid} (the child that sent it)"),
            pid if pid as u32 == self.traced.lab => format!("{pid} (the lab: the tracer)"),
            pid => pid.to_string(),
        };
        format!(
            "{} with si_code {code}, si_pid {who}, si_value {:#x}",
            name(delivery.signal),
            delivery.value
        )
    }

    /// Asserts that each step's handlers got what `expected` says, in any
    /// order, and nothing else; the message says what was sent, what was
    /// due and what came, in `why`'s terms.
    pub fn assert_delivered(&self, why: &str) {
        let said = tail(&self.traced.stderr());
        for (n, (step, seen)) in self.steps.iter().zip(&self.seen).enumerate() {
            let expected = self.expected(n);
            let mut got = seen.deliveries.clone();
            got.sort();
            if got == expected {
                continue;
            }
            let list = |deliveries: &[Delivery]| -> String {
                match deliveries {
                    [] => "  nothing".to_string(),
                    _ => deliveries
                        .iter()
                        .map(|d| format!("  {}", self.describe(d, seen.sender)))
                        .collect::<Vec<_>>()
                        .join("\n"),
                }
            };
            let calls: Vec<String> = step.sends.iter().map(|send| send.call()).collect();
            let blocked = match step.keep_blocked.as_slice() {
                [] => String::new(),
                signals => format!(
                    " (with {} blocked a while longer)",
                    signals
                        .iter()
                        .map(|&s| name(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            panic!(
                "{why}\nWith --turn {}={}, the target's child (pid {}) sent it {}{blocked}.\n\
                 The target's handlers should have got:\n{}\nThey got:\n{}\n\
                 the lab's stderr:\n{said}",
                name(self.from),
                name(self.to),
                seen.sender,
                calls.join(", then "),
                list(&expected),
                list(&got),
            );
        }
    }
}

/// A random pair to turn: `from` into `to`.
pub fn random_turn() -> (i32, i32) {
    let from = another_signal(&[]);
    (from, another_signal(&[from]))
}

/// A signal queued with a value arrives as the other signal, with its
/// value, its si_code (SI_QUEUE) and its sender kept.
#[test]
fn a_queued_signal_arrives_turned() {
    let (from, to) = random_turn();
    let run = run(
        from,
        to,
        vec![
            Step::sending(&[Send::sigqueue(from)]),
            Step::sending(&[Send::sigqueue(from)]),
        ],
    );
    run.assert_delivered(
        "A signal queued with a value must reach the handler of the signal it is turned into, \
         with the value, si_code and sender it was sent with.",
    );
}

/// A signal sent with kill (SI_USER) or tgkill (SI_TKILL) arrives as the
/// other signal, with its si_code and its sender kept.
#[test]
fn a_killed_signal_arrives_turned() {
    let (from, to) = random_turn();
    let run = run(
        from,
        to,
        vec![
            Step::sending(&[Send::kill(from)]),
            Step::sending(&[Send::tgkill(from)]),
        ],
    );
    run.assert_delivered(
        "A signal sent with kill or tgkill must reach the handler of the signal it is turned \
         into, with the si_code and sender it was sent with.",
    );
}

/// Every other signal arrives as it was sent, the one signals are turned
/// into among them; and the turn still works between them.
#[test]
fn other_signals_arrive_as_they_were_sent() {
    let (from, to) = random_turn();
    let other = another_signal(&[from, to]);
    let run = run(
        from,
        to,
        vec![
            Step::sending(&[Send::sigqueue(other)]),
            Step::sending(&[Send::kill(to)]),
            Step::sending(&[Send::sigqueue(from)]),
            Step::sending(&[Send::tgkill(other)]),
        ],
    );
    run.assert_delivered(
        "Only the signal to turn may change: every other signal must reach its own handler \
         as it was sent.",
    );
}

#[cfg(feature = "hidden")]
mod hidden;
