//! The reader on committed snapshots of each kind, on malformed ones, and
//! the writer against insta-cmd's own format.

use std::path::{Path, PathBuf};

use super::*;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn committed(demo: &str, name: &str) -> Snapshot {
    let path = workspace()
        .join("crates")
        .join(demo)
        .join("tests/snapshots")
        .join(format!("{name}.snap"));
    Snapshot::read(&path).unwrap_or_else(|error| panic!("{error:#}"))
}

/// The message of parsing `text`, which must fail.
fn error_of(text: &str) -> String {
    match Snapshot::parse(text) {
        Ok(snapshot) => panic!("parsed {text:?} as {snapshot:?}"),
        Err(error) => format!("{error:#}"),
    }
}

#[test]
fn an_insta_cmd_snapshot_has_its_command_and_its_run() {
    let snapshot = committed("ipv6-filter", "disasm_reads_tcpdump_ddd");
    let info = snapshot.header.info.as_ref().expect("insta-cmd's info");
    assert_eq!(info.program, "ipv6-filter");
    assert_eq!(info.args, ["--disasm"]);
    assert_eq!(info.env, []);
    assert_eq!(
        info.stdin.as_deref(),
        Some("4\n40 0 0 12\n21 0 1 34525\n6 0 0 262144\n6 0 0 0\n")
    );
    let run = snapshot.run().unwrap();
    assert_eq!(run.end, End::Exited(0));
    assert!(run.stdout.starts_with("(000) ldh      [12]\n"), "{run:?}");
    assert!(run.stdout.ends_with("(003) ret      #0\n"), "{run:?}");
    assert_eq!(run.stderr, "");
}

#[test]
fn a_failed_run_has_its_exit_code_and_both_streams() {
    let run = committed("tracer-tracee", "missing_program_exits_127")
        .run()
        .unwrap()
        .clone();
    assert_eq!(run.exit_code(), Some(127));
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("tracer-tracee: "), "{run:?}");
    assert!(!run.stderr.ends_with('\n'), "{run:?}");
}

#[test]
fn a_plain_snapshot_of_a_run_killed_by_a_signal() {
    let snapshot = committed("seccomp-lib", "builtin_mount_is_killed_by_sigsys");
    assert_eq!(snapshot.header, Header::default());
    let run = snapshot.run().unwrap();
    assert_eq!(run.end, End::Killed("signal 31 (SIGSYS)".into()));
    assert_eq!(run.exit_code(), None);
    assert_eq!(run.stdout, "target: calling mount(2)\n");
}

#[test]
fn a_plain_snapshot_of_text_with_a_description() {
    let snapshot = committed("syscall-blocker", "trace_names_calls_by_their_abi");
    assert_eq!(snapshot.header.info, None);
    assert_eq!(snapshot.header.description.as_deref(), Some(STDERR_EXCERPT));
    let Body::Text(text) = &snapshot.body else {
        panic!("{:?}", snapshot.body);
    };
    assert!(text.starts_with("getppid() = [N]\n"), "{text}");
    assert!(snapshot.run().is_err());
}

/// The run a test wrote with `Run`'s `Display` (sigstop_stops_until_sigcont).
#[test]
fn a_plain_snapshot_of_a_run_written_here() {
    let snapshot = committed(
        "signal-control",
        "stop_signal_stops_the_program_until_sigcont",
    );
    let run = snapshot.run().unwrap();
    assert_eq!(run.end, End::Exited(5));
    assert_eq!(run.stdout, "before\nafter\n");
    assert!(run.stderr.ends_with("+++ exited with 5 +++"), "{run:?}");
}

/// Every snapshot the workspace holds reads, and one that records a
/// command records a run.
#[test]
fn every_committed_snapshot_reads() {
    let mut count = 0;
    let crates = workspace().join("crates");
    let dirs = std::fs::read_dir(&crates)
        .unwrap()
        .flatten()
        .map(|e| e.path());
    let labs = std::fs::read_dir(crates.join("labs")).unwrap().flatten();
    for dir in dirs.chain(labs.map(|e| e.path())) {
        let Ok(files) = std::fs::read_dir(dir.join("tests/snapshots")) else {
            continue;
        };
        for file in files.flatten().map(|e| e.path()) {
            if file.extension().is_some_and(|ext| ext == "snap") {
                let snapshot = Snapshot::read(&file).unwrap_or_else(|e| panic!("{e:#}"));
                if snapshot.header.info.is_some() {
                    assert!(snapshot.run().is_ok(), "{}", file.display());
                }
                count += 1;
            }
        }
    }
    assert!(count >= 50, "only {count} snapshots found under {crates:?}");
}

#[test]
fn quoted_values_and_an_environment_are_read() {
    let text = "---\nsource: t.rs\ninfo:\n  program: demo\n  args:\n    - \"a\\\"b\\\\c\\u0001\"\n    - 'it''s'\n    - plain word\n  env:\n    LANG: C\n    \"X Y\": \"1:2\"\n  stdin: \"\"\n---\nsuccess: true\nexit_code: 0\n----- stdout -----\n\n----- stderr -----\n";
    let info = Snapshot::parse(text).unwrap().header.info.unwrap();
    assert_eq!(info.args, ["a\"b\\c\u{1}", "it's", "plain word"]);
    assert_eq!(
        info.env,
        [("LANG".into(), "C".into()), ("X Y".into(), "1:2".into())]
    );
    assert_eq!(info.stdin.as_deref(), Some(""));
}

#[test]
fn malformed_snapshots_are_refused_saying_why() {
    let run = "success: true\nexit_code: 0\n----- stdout -----\nhi\n\n----- stderr -----\n";
    let with_info = |info: &str, body: &str| format!("---\ninfo:\n{info}---\n{body}");
    for (text, wanted) in [
        (
            "hi\n".to_string(),
            "does not start with a `---` YAML header",
        ),
        ("---\nsource: x\nhi\n".into(), "no closing `---` line"),
        (
            with_info("  program: demo\n", "hi\n"),
            "has `info` (insta-cmd) but its body has no `----- stdout -----`",
        ),
        (with_info("  args: []\n", run), "names no program"),
        (
            with_info("  program: demo\n  cwd: /\n", run),
            "unknown key \"cwd\"",
        ),
        (
            with_info("  program: demo\n  args: [a]\n", run),
            "unexpected args value",
        ),
        (
            with_info("  program: demo\n  args:\n    a\n", run),
            "unexpected line in the snapshot's info header",
        ),
        (
            with_info("  program: 'demo\n", run),
            "unterminated quoted value",
        ),
        (
            with_info("  program: \"demo\\q\"\n", run),
            "cannot read the quoted value",
        ),
        (
            "---\n---\nexit_code: x\n----- stdout -----\n\n----- stderr -----\n".into(),
            "`exit_code: x` is not a number",
        ),
        (
            "---\n---\nsuccess: true\nexit_code: 1\n----- stdout -----\n\n----- stderr -----\n"
                .into(),
            "`success: true` disagrees with `exit_code: 1`",
        ),
        (
            "---\n---\n----- stdout -----\n\n----- stderr -----\n".into(),
            "no `exit_code:` or `killed by` line",
        ),
        (
            "---\n---\nexit status 3\n----- stdout -----\n\n----- stderr -----\n".into(),
            "unexpected line before `----- stdout -----`: \"exit status 3\"",
        ),
    ] {
        let error = error_of(&text);
        assert!(error.contains(wanted), "{text:?}: {error}");
    }
}

#[test]
fn a_missing_or_malformed_file_is_named() {
    let dir = std::env::temp_dir().join(format!("workbook-snapshot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gone = dir.join("gone.snap");
    let error = format!("{:#}", Snapshot::read(&gone).unwrap_err());
    assert!(
        error.starts_with(&format!("cannot read the snapshot {}: ", gone.display())),
        "{error}"
    );
    let bad = dir.join("bad.snap");
    std::fs::write(&bad, "---\ninfo:\n  program: demo\n---\nhi\n").unwrap();
    let error = format!("{:#}", Snapshot::read(&bad).unwrap_err());
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        error.starts_with(&format!(
            "{}: the snapshot's header has `info`",
            bad.display()
        )),
        "{error}"
    );
}

/// The writer writes what insta-cmd's `assert_cmd_snapshot!` gives insta,
/// and the reader reads it back.
#[test]
fn a_run_is_written_as_insta_cmd_writes_it_and_read_back() {
    let run = Run {
        end: End::Exited(5),
        stdout: "before\nafter\n".into(),
        stderr: "narration\n".into(),
    };
    let written = run.to_string();
    // insta-cmd 0.7's _run_and_snapshot!, for an exit status of 5.
    let insta_cmd = format!(
        "success: {:?}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        false, 5, "before\nafter\n", "narration\n"
    );
    assert_eq!(written, insta_cmd);
    let read = Snapshot::parse(&format!("---\nsource: t.rs\n---\n{written}")).unwrap();
    let stderr = "narration".to_string();
    assert_eq!(read.body, Body::Run(Run { stderr, ..run }));

    let killed = Run {
        end: End::Killed("signal 9 (SIGKILL)".into()),
        stdout: String::new(),
        stderr: String::new(),
    };
    let written = killed.to_string();
    assert_eq!(
        written,
        "killed by signal 9 (SIGKILL)\n----- stdout -----\n\n----- stderr -----\n"
    );
    let read = Snapshot::parse(&format!("---\n---\n{written}")).unwrap();
    assert_eq!(read.body, Body::Run(killed));
}
