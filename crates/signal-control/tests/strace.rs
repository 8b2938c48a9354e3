//! The peer test: strace prints the same `--- SIG... {...} ---` lines for
//! the same programs (`strace -f -e trace=none -e signal=all`), and each
//! program ends the same way under both.

use std::process::{Command, Output};

use insta_cmd::get_cargo_bin;
use workbook::testing::run;

/// The programs, as argv: signals from kill, a trap, children's ends, a
/// group-stop and a timer; `SELF` stands for the demo binary, whose
/// built-in targets fault at 0x10, queue a signal with a value, or raise
/// signals in four threads.
const PROGRAMS: &[&[&str]] = &[
    &["sh", "-c", "kill -USR1 $$"],
    &["sh", "-c", "kill -SEGV $$"],
    &[
        "bash",
        "-c",
        "trap 'echo caught' RTMIN; kill -s RTMIN $$; exit 3",
    ],
    &[
        "sh",
        "-c",
        "sleep 0 & wait; sh -c 'kill -KILL $$' & wait; exit 4",
    ],
    &["bash", "-c", "exec -a builtin:segv \"$0\"", "SELF"],
    &["bash", "-c", "exec -a builtin:sigqueue \"$0\" 10 1", "SELF"],
    &["bash", "-c", "exec -a builtin:sigqueue \"$0\" 36 7", "SELF"],
    &["bash", "-c", "exec -a builtin:threads \"$0\"", "SELF"],
    &[
        "sh",
        "-c",
        "(sleep 0.2; kill -CONT $$) & kill -STOP $$; wait; exit 6",
    ],
    &["timeout", "0.1", "sleep", "5"],
];

/// Programs whose processes run side by side: their lines are compared in
/// any order.
const UNORDERED: &[&str] = &["builtin:threads", "kill -CONT", "timeout"];

fn argv(program: &[&str]) -> Vec<String> {
    let own = get_cargo_bin("signal-control");
    program
        .iter()
        .map(|arg| match *arg {
            "SELF" => own.display().to_string(),
            arg => arg.to_string(),
        })
        .collect()
}

/// The `---` and `+++` lines, without strace's `[pid  N] ` prefix and
/// with what differs between two runs redacted: pids, and the clock ticks
/// a child used.
fn signal_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| match line.strip_prefix("[pid ") {
            Some(rest) => rest.split_once("] ").map_or(line, |(_, rest)| rest),
            None => line,
        })
        .filter(|line| line.starts_with("--- ") || line.starts_with("+++ "))
        .map(redact)
        .collect()
}

/// si_pid=1234 becomes si_pid=N; si_utime and si_stime become N.
fn redact(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = ["si_pid=", "si_utime=", "si_stime="]
        .iter()
        .filter_map(|field| rest.find(field).map(|at| (at, field.len())))
        .min()
    {
        let (at, len) = at;
        out.push_str(&rest[..at + len]);
        rest = rest[at + len..].trim_start_matches(|c: char| c.is_ascii_digit());
        // A time's comment in seconds, `5 /* 0.05 s */`, goes with it.
        if let Some(comment) = rest.strip_prefix(" /* ") {
            rest = comment.split_once(" */").map_or(rest, |(_, after)| after);
        }
        out.push('N');
    }
    out.push_str(rest);
    out
}

#[test]
#[ignore = "needs strace"]
fn the_same_lines_as_strace() {
    for program in PROGRAMS {
        let argv = argv(program);
        let ours = run(Command::new(get_cargo_bin("signal-control"))
            .arg("--")
            .args(&argv));
        let strace = run(Command::new("strace")
            .args(["-f", "-q", "-e", "trace=none", "-e", "signal=all"])
            .args(&argv));
        let (mut ours_lines, mut strace_lines) = (signal_lines(&ours), signal_lines(&strace));
        if argv[0] == "timeout" {
            // Its SIGCHLD and SIGCONT race with its own exit, under either
            // tracer; the timer's SIGALRM and the exit code do not.
            ours_lines.retain(|line| line.contains("SI_TIMER") || line.starts_with("+++"));
            strace_lines.retain(|line| line.contains("SI_TIMER") || line.starts_with("+++"));
        }
        if UNORDERED
            .iter()
            .any(|word| argv.iter().any(|arg| arg.contains(word)))
        {
            ours_lines.sort();
            strace_lines.sort();
        }
        let ours_err = String::from_utf8_lossy(&ours.stderr);
        assert!(!ours_lines.is_empty(), "{program:?}: no lines: {ours_err}");
        assert_eq!(ours_lines, strace_lines, "{program:?}: {ours_err}");
        assert_eq!(ours.status.code(), strace_exit_code(&strace), "{program:?}");
        assert_eq!(ours.stdout, strace.stdout, "{program:?}");
    }
}

/// strace exits with the program's code, but a program killed by a signal
/// makes strace kill itself with it: 128+N, as the demo reports it.
fn strace_exit_code(strace: &Output) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    strace
        .status
        .code()
        .or_else(|| strace.status.signal().map(|signal| 128 + signal))
}
