//! escapes: the whole table on this kernel, as root and not, one row in
//! full, bad input, and a missing watcher. The watchers are the other
//! demos' binaries, which escapes finds beside its own: `watchers_built`
//! builds them into the same folder first (`cargo test -p escapes` builds
//! only escapes).

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{
    redactions, redactions_per_arch, unprivileged, workspace_bin, workspace_root,
};

/// The watchers, built beside escapes. seccomp-notify is built where its
/// package is in this workspace; elsewhere its column says "absent".
fn watchers_built() {
    for name in ["syscall-blocker", "seccomp-filter", "seccomp-lib"] {
        workspace_bin(name);
    }
    if workspace_root().join("crates/seccomp-notify").is_dir() {
        workspace_bin("seccomp-notify");
    }
}

/// The demo, killed if it runs past the time limit.
fn escapes() -> Command {
    watchers_built();
    let mut command = Command::new(get_cargo_bin("escapes"));
    workbook::testing::limited(&mut command);
    command
}

/// Also redacts the run's own folder and the secret's random contents.
fn settings() -> insta::Settings {
    let mut settings = redactions_per_arch();
    settings.add_filter(r"/tmp/escapes\.[0-9a-f]{8}", "[SCRATCH]");
    settings.add_filter(r"secret-[0-9a-f]{16}", "secret-[RANDOM]");
    settings
}

#[test]
#[ignore = "needs root"]
fn the_table_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test mounts a tmpfs in a namespace of its own: run it as root"
    );
    let mut command = escapes();
    settings().bind(|| workbook::assert_limited_snapshot!(command));
}

#[test]
fn the_table_unprivileged() {
    let mut command = escapes();
    unprivileged(&mut command);
    settings().bind(|| workbook::assert_limited_snapshot!(command));
}

#[test]
fn one_row_in_full() {
    let mut command = escapes();
    command.args(["--only", "io-uring"]);
    settings().bind(|| workbook::assert_limited_snapshot!(command));
}

#[test]
fn one_cell_in_full() {
    let mut command = escapes();
    command.args(["--cell", "int80:lecture"]);
    settings().bind(|| workbook::assert_limited_snapshot!(command));
}

#[test]
fn an_unknown_row_is_refused() {
    let mut command = escapes();
    command.args(["--only", "int81"]);
    redactions().bind(|| workbook::assert_limited_snapshot!(command));
}

#[test]
fn a_cell_needs_a_row_and_a_column() {
    for (cell, says) in [
        ("int80", "--cell int80: not ROW:COLUMN"),
        ("int80:strace", "no column named strace"),
        ("nope:ptrace", "no row named nope"),
    ] {
        let output = workbook::testing::run(escapes().args(["--cell", cell]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{cell}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// Alone in a folder, escapes finds no watcher: every column but the
/// first says so, and a last line says what to build.
#[test]
fn missing_watchers_are_named() {
    let folder = std::env::temp_dir().join(format!("escapes-alone.{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let copy = folder.join("escapes");
    std::fs::copy(get_cargo_bin("escapes"), &copy).unwrap();
    let output = workbook::testing::run(&mut Command::new(&copy));
    std::fs::remove_dir_all(&folder).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let openat2 = stdout
        .lines()
        .find(|line| line.starts_with("openat2"))
        .expect("an openat2 row");
    assert_eq!(
        openat2
            .split_whitespace()
            .filter(|word| *word == "absent")
            .count(),
        3,
        "{stdout}"
    );
    assert!(stdout.contains("syscall-blocker is not built"), "{stdout}");
    assert!(
        stderr.ends_with("run `cargo build --workspace` first\n"),
        "{stderr}"
    );
}

/// The table leaves no process behind: every cell's run is swept.
#[test]
fn nothing_is_left_running() {
    let output = workbook::testing::run(&mut escapes());
    assert!(output.status.success());
    workbook::testing::assert_no_orphaned_targets();
}

/// Why the probe is static: told to refuse openat, a watcher refuses it to
/// a dynamic program's loader too, which then can't open libc.
#[test]
fn a_dynamic_program_dies_in_its_loader() {
    watchers_built();
    let mut command = Command::new(workspace_bin("syscall-blocker"));
    command.args(["--block", "openat", "true"]);
    redactions().bind(|| workbook::assert_limited_snapshot!(command));
}
