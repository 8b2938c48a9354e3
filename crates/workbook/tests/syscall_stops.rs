//! The two ways to decode a syscall stop must agree: PTRACE_GET_SYSCALL_INFO,
//! and the registers plus the tracer's own entry/exit record, which is what
//! Tracees falls back on where the kernel is older than 5.3. The tracing is
//! done by the `stops_agree` example, a child of this test, run under the
//! test time limit of the `testing` feature (on in `cargo test --workspace`).
#![cfg(feature = "testing")]

use std::process::Command;

#[test]
fn registers_and_syscall_info_agree_at_every_stop() {
    // `cargo test` builds the examples, but not when a single test target
    // is asked for: build it, as the demos' tests build other binaries.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "workbook",
            "--example",
            "stops_agree",
        ])
        .status()
        .expect("running cargo build");
    assert!(built.success(), "cargo build --example stops_agree failed");
    let target = std::env::current_exe().unwrap();
    let example = target
        .ancestors()
        .nth(2)
        .expect("tests live in target/PROFILE/deps")
        .join("examples/stops_agree");
    let output = workbook::testing::run(&mut Command::new(&example));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", example.display());
    assert!(stderr.contains("agreed at all"), "{stderr}");
}
