//! The interpreter against the kernel: `--explain` runs the lecture's filter
//! on each sample frame both ways, in the demo process, and says whether the
//! kernel kept as many bytes as the interpreter predicted. The filters run
//! in that child process, never in this test process.

use std::process::Command;

use insta_cmd::get_cargo_bin;

/// frames.rs has four samples: IPv6, IPv4, ARP and a runt.
const SAMPLES: usize = 4;

#[test]
fn kernel_agrees_with_the_interpreter_on_every_sample() {
    let output =
        workbook::testing::run(Command::new(get_cargo_bin("ipv6-filter")).arg("--explain"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ipv6-filter --explain failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let disagreements: Vec<_> = stdout
        .lines()
        .filter(|line| line.contains("kernel disagrees"))
        .collect();
    assert!(
        disagreements.is_empty(),
        "the kernel disagrees:\n{}",
        disagreements.join("\n")
    );
    let agreements = stdout
        .lines()
        .filter(|line| line.contains("kernel agrees"))
        .count();
    assert_eq!(
        agreements, SAMPLES,
        "expected one \"kernel agrees\" line per sample frame in:\n{stdout}"
    );
}
