//! The two ways to decode a syscall stop must agree: PTRACE_GET_SYSCALL_INFO,
//! and the registers plus the tracer's own entry/exit record, which is what
//! Tracees falls back on where the kernel is older than 5.3. The tracing is
//! done by the `stops_agree` example, a child of this test, run under the
//! test time limit of the `testing` feature (on in `cargo test --workspace`).
#![cfg(feature = "testing")]

use std::process::Command;

#[test]
fn registers_and_syscall_info_agree_at_every_stop() {
    let target = std::env::current_exe().unwrap();
    let example = target
        .ancestors()
        .nth(2)
        .expect("tests live in target/PROFILE/deps")
        .join("examples/stops_agree");
    // `cargo test` builds the examples, but not when a single test target
    // is asked for: build it, as the demos' tests build other binaries.
    // Where there is no cargo (the arm64 VM of scripts/test-arm64, whose
    // cross build made the examples), the example built is used.
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
        .status();
    match built {
        Ok(status) => assert!(status.success(), "cargo build --example stops_agree failed"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && example.exists() => {}
        Err(error) => panic!("running cargo build: {error}"),
    }
    let output = workbook::testing::run(&mut Command::new(&example));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", example.display());
    assert!(stderr.contains("agreed at all"), "{stderr}");
}
