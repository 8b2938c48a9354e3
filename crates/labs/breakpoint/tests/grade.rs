//! Grading tests for lab-breakpoint. The lab breaks on target_fn in the
//! demo's own built-in target (trusted code, not the lab's), run in its
//! mailbox mode: the test posts the calls' arguments (random, a random
//! number of calls, and a random exit status) into the target's memory, past
//! the lab, and reads back what the target saw: target_fn's first byte before
//! each call (0xCC only while the lab's int3 is in place) and each result.
//! So the lab must show arguments it can only learn from the tracee's
//! registers, and the target's report, not the lab's output, says whether
//! the breakpoint was there and the program ran as without it. Each test's
//! points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::path::PathBuf;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::targets::mailbox::test::{random_in, random_u64, Target, Traced};
use workbook::targets::mailbox::{Reader, Writer};
use workbook::testing::Transcript;

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-breakpoint"));
    workbook::testing::limited(&mut command);
    command
}

/// The demo's binary: the built-in target comes from it, never from the lab.
fn demo() -> PathBuf {
    workbook::testing::workspace_bin("breakpoint")
}

/// The redactions of the demo's own snapshot test: its path, and where the
/// linker put the entry point (both differ between builds).
const BREAKPOINT: &[(&str, &str)] = &[
    (r"/\S*/breakpoint\b", "[DEMO]"),
    (r"e_entry 0x[0-9a-f]+", "e_entry [OFFSET]"),
];

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let ours =
        Transcript::of_run(lab().args(args), ("lab-breakpoint", "breakpoint")).redacted(BREAKPOINT);
    let demo = Transcript::of_demo("breakpoint", snapshot);
    ours.assert_same_as(&demo, &format!("lab-breakpoint {}", args.join(" ")));
}

/// One call of target_fn(n, seed, shift) = (n * n + seed) << shift.
#[derive(Clone, Copy, Debug)]
struct Call {
    n: u64,
    seed: u64,
    shift: u64,
}

impl Call {
    /// A call with random arguments; `wide`: n has bits in its upper half,
    /// so that the first instruction, `mov %rdi,%rax`, must run whole.
    fn random(wide: bool) -> Call {
        let n = match wide {
            true => random_in(1 << 32..=u64::MAX),
            false => random_in(0..=u64::from(u32::MAX)),
        };
        Call {
            n,
            seed: random_u64(),
            shift: random_in(0..=3),
        }
    }

    fn result(self) -> u64 {
        self.n
            .wrapping_mul(self.n)
            .wrapping_add(self.seed)
            .wrapping_shl(self.shift as u32)
    }

    /// How the demo shows the registers at a hit.
    fn hit(self) -> String {
        format!(
            "rdi={:#x} rsi={:#x} rdx={:#x}",
            self.n, self.seed, self.shift
        )
    }
}

/// A run of the lab with `--break target_fn` (and `extra` flags) on the
/// demo's target, which makes `calls` and exits with `status`; the common
/// checks done: the target reported, and the int3 was in place at every
/// call. Returns the run and the results the target got.
struct Run {
    traced: Traced,
    calls: Vec<Call>,
    status: u8,
    results: Vec<u64>,
}

fn run(extra: &[&str], calls: Vec<Call>) -> Run {
    let target = Target::new(&demo(), "breakme", &["mailbox"]);
    let status = random_in(0..=99) as u8;
    let mut input = Writer::new();
    input.u64(u64::from(status)).u64(calls.len() as u64);
    for call in &calls {
        input.u64(call.n).u64(call.seed).u64(call.shift);
    }
    let mut command = lab();
    command
        .args(["--break", "target_fn"])
        .args(extra)
        .arg("--")
        .args(target.argv());
    let traced = target.run(&mut command, &input.0);
    let mut report = Reader::new(traced.report());
    let count = report.u64().expect("the report's count");
    assert_eq!(count, calls.len() as u64, "the target's calls");
    let mut results = Vec::new();
    for number in 1..=calls.len() {
        let seen = report.u64().expect("a byte in the report");
        assert_eq!(
            seen,
            0xcc,
            "before call {number} of {}, target_fn's first byte was {seen:#04x}, not the int3 \
             (0xcc): the breakpoint was not in place\nthe lab's stderr:\n{}",
            calls.len(),
            tail(&traced)
        );
        results.push(report.u64().expect("a result in the report"));
    }
    Run {
        traced,
        calls,
        status,
        results,
    }
}

fn tail(traced: &Traced) -> String {
    workbook::targets::mailbox::test::tail(&traced.stderr())
}

fn random_calls(wide: bool) -> Vec<Call> {
    (0..random_in(2..=6)).map(|_| Call::random(wide)).collect()
}

/// The hit lines' arguments, as printed: `rdi=0x4 rsi=0x5eed0004 rdx=0x1`.
fn hits(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| line.contains(" hit ") && line.contains("rdi="))
        .filter_map(|line| Some(line.split_once("): ")?.1.to_string()))
        .collect()
}

/// Every call stops at the breakpoint, not only the first, and each hit
/// shows that call's arguments (random, known to the target and the test
/// alone), in order; the count is right.
#[test]
fn every_call_is_a_hit_with_its_arguments() {
    let run = run(&[], random_calls(false));
    let stderr = run.traced.stderr();
    let wanted: Vec<String> = run.calls.iter().map(|call| call.hit()).collect();
    assert_eq!(hits(&stderr), wanted, "the hits: {}", tail(&run.traced));
    let count = format!("was hit {} times", run.calls.len());
    assert!(
        stderr.trim_end().ends_with(&count),
        "the last line should say it {count}: {}",
        tail(&run.traced)
    );
}

/// The breakpoints leave the program as it was: each result is right, its
/// output is its own, and its exit status (random) is the lab's.
#[test]
fn the_program_runs_as_without_the_breakpoint() {
    let run = run(&[], random_calls(false));
    let wanted: Vec<u64> = run.calls.iter().map(|call| call.result()).collect();
    assert_eq!(
        run.results, wanted,
        "the target's results, with the calls {:?}",
        run.calls
    );
    let stdout: String = wanted
        .iter()
        .enumerate()
        .map(|(at, result)| format!("target: call {} = {result:#x}\n", at + 1))
        .collect();
    assert_eq!(run.traced.stdout(), stdout, "{}", tail(&run.traced));
    assert_eq!(
        run.traced.code(),
        Some(i32::from(run.status)),
        "the target's exit status: {}",
        tail(&run.traced)
    );
}

/// The instruction under the 0xCC runs whole, from its first byte:
/// target_fn starts with `mov %rdi,%rax` (48 89 f8). Run from the byte
/// after, it is `mov %edi,%eax` (89 f8), which drops rdi's upper half: with
/// first arguments of more than 32 bits the results are wrong.
#[test]
fn the_instruction_under_the_int3_runs_whole() {
    let run = run(&[], random_calls(true));
    for (number, (call, result)) in run.calls.iter().zip(&run.results).enumerate() {
        assert_eq!(
            *result,
            call.result(),
            "call {} of target_fn({:#x}, {:#x}, {}): {:#x}, not {:#x}",
            number + 1,
            call.n,
            call.seed,
            call.shift,
            result,
            call.result()
        );
    }
}

/// The first hit narrated request by request, the words before and after
/// each PTRACE_POKETEXT included, as in the demo; and `--set-rdi` (a random
/// value, PTRACE_SETREGS at the first hit) changes the first call only,
/// with the breakpoint in place at every call.
#[test]
fn the_requests_are_the_demos_and_set_rdi_changes_one_call() {
    same_as_demo(&[], "default_run_walks_through_every_request");
    same_as_demo(
        &["--set-rdi", "100"],
        "set_rdi_changes_the_first_argument_once",
    );
    let rdi = random_u64();
    let run = run(&["--set-rdi", &format!("{rdi:#x}")], random_calls(false));
    let mut wanted: Vec<u64> = run.calls.iter().map(|call| call.result()).collect();
    wanted[0] = Call {
        n: rdi,
        ..run.calls[0]
    }
    .result();
    assert_eq!(
        run.results,
        wanted,
        "the results with --set-rdi {rdi:#x}, calls {:?}: {}",
        run.calls,
        tail(&run.traced)
    );
    let stderr = run.traced.stderr();
    assert_eq!(
        hits(&stderr),
        run.calls.iter().map(|call| call.hit()).collect::<Vec<_>>(),
        "the hits show the arguments as they came: {}",
        tail(&run.traced)
    );
}
