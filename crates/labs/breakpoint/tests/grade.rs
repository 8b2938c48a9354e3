//! Grading tests for lab-breakpoint: the lab must run as the demo does, and
//! a program under its breakpoints must run as without them, with every
//! call a hit. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::process::{Command, Output};

use insta_cmd::get_cargo_bin;
use workbook::testing::Transcript;

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-breakpoint"));
    workbook::testing::limited(&mut command);
    command
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

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The hit lines' arguments, as printed: `rdi=0x4 rsi=0x5eed0004 rdx=0x1`.
fn hits(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| line.contains(" hit ") && line.contains("rdi="))
        .filter_map(|line| Some(line.split_once("): ")?.1.to_string()))
        .collect()
}

/// What the built-in target prints on its own.
const TARGET_OUTPUT: &str = "target: target_fn(4, 0x5eed0004, 1) = 0xbdda0028\n\
                             target: target_fn(8, 0x5eed0008, 1) = 0xbdda0090\n\
                             target: target_fn(12, 0x5eed000c, 0) = 0x5eed009c\n";

/// A shell that calls libc's write three times, and exits 3.
const SHELL: &[&str] = &[
    "--break",
    "write",
    "--",
    "sh",
    "-c",
    "echo one; echo two; echo three; exit 3",
];

/// The first hit narrated request by request, the words before and after
/// each PTRACE_POKETEXT included; and with `--set-rdi`, PTRACE_SETREGS.
#[test]
fn the_default_run_is_the_demos() {
    same_as_demo(&[], "default_run_walks_through_every_request");
    same_as_demo(
        &["--set-rdi", "100"],
        "set_rdi_changes_the_first_argument_once",
    );
}

/// The breakpoints leave the program as it was: its output and its exit
/// status are its own, in the built-in target and in a shell whose
/// every echo stops at libc's write.
#[test]
fn the_program_runs_as_without_the_breakpoint() {
    let output = workbook::testing::run(&mut lab());
    let (stdout, stderr) = text(&output);
    assert_eq!(stdout, TARGET_OUTPUT, "the built-in target: {stderr}");
    assert_eq!(
        output.status.code(),
        Some(0),
        "the built-in target: {stderr}"
    );
    let output = workbook::testing::run(lab().args(SHELL));
    let (stdout, stderr) = text(&output);
    assert_eq!(stdout, "one\ntwo\nthree\n", "{}: {stderr}", SHELL.join(" "));
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}: {stderr}",
        SHELL.join(" ")
    );
}

/// Every call stops at the breakpoint, not only the first: the built-in
/// target's three calls of target_fn with their arguments, the shell's
/// three writes to fd 1.
#[test]
fn every_call_is_a_hit() {
    let output = workbook::testing::run(&mut lab());
    let (_, stderr) = text(&output);
    assert_eq!(
        hits(&stderr),
        [
            "rdi=0x4 rsi=0x5eed0004 rdx=0x1",
            "rdi=0x8 rsi=0x5eed0008 rdx=0x1",
            "rdi=0xc rsi=0x5eed000c rdx=0x0"
        ],
        "the built-in target's hits: {stderr}"
    );
    assert!(
        stderr.trim_end().ends_with("was hit 3 times"),
        "the built-in target: {stderr}"
    );
    let output = workbook::testing::run(lab().args(SHELL));
    let (_, stderr) = text(&output);
    let seen = hits(&stderr);
    assert_eq!(seen.len(), 3, "{}: {stderr}", SHELL.join(" "));
    assert!(
        seen.iter().all(|args| args.starts_with("rdi=0x1 ")),
        "{}: every write is to fd 1: {stderr}",
        SHELL.join(" ")
    );
    assert!(
        stderr.trim_end().ends_with("was hit 3 times"),
        "{}: {stderr}",
        SHELL.join(" ")
    );
}

/// The instruction under the 0xCC runs whole, from its first byte:
/// target_fn starts with `mov %rdi,%rax` (48 89 f8). Run from the byte
/// after, it is `mov %edi,%eax` (89 f8), which drops rdi's upper half, and
/// a first argument of 0x100000001 gives another result:
/// (0x100000001² + 0x5eed0004) << 1 = 0x4bdda000a, truncated to 64 bits.
#[test]
fn the_instruction_under_the_int3_runs_whole() {
    let output = workbook::testing::run(lab().args(["--set-rdi", "0x100000001"]));
    let (stdout, stderr) = text(&output);
    assert_eq!(
        stdout.lines().next(),
        Some("target: target_fn(4, 0x5eed0004, 1) = 0x4bdda000a"),
        "with rdi = 0x100000001 at the first hit: {stdout}{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
