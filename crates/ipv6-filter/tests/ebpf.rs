//! ipv6-filter --ebpf: the ip6 test in eBPF, loaded (the verifier's log),
//! filtering as the classic program does; the programs the verifier
//! refuses; and the refusal without CAP_BPF.
//!
//! The verifier's logs are the kernel's own text, pinned on the kernel the
//! snapshots were taken on, Linux 6.18: other kernels word them
//! differently (6.18 prints a "Live regs before insn" table that older
//! ones don't). Nothing in them varies between runs on one kernel (no
//! addresses, and the processed-instruction counts are the same every
//! time), so nothing is redacted; on another kernel the tests check the
//! lines that matter instead of the snapshot.

use std::os::fd::AsRawFd;

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use workbook::testing::{redactions, unprivileged};

mod common;
use common::{attach_to, ipv6_filter};

/// Whether this is the kernel the snapshots of the verifier's logs pin.
fn pinned_kernel() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .is_ok_and(|release| release.starts_with("6.18."))
}

/// `ipv6-filter ARGS` as the snapshot `name` on the pinned kernel;
/// elsewhere its exit code and the lines of stderr it must have.
fn assert_pinned(name: &str, args: &[&str], exit_code: i32, stderr_has: &[&str]) {
    if pinned_kernel() {
        let _redactions = redactions().bind_to_scope();
        let mut command = ipv6_filter();
        insta_cmd::assert_cmd_snapshot!(name, command.args(args));
        return;
    }
    let output = workbook::testing::run(ipv6_filter().args(args));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(exit_code), "{stderr}");
    for line in stderr_has {
        assert!(stderr.contains(line), "no {line:?} in:\n{stderr}");
    }
}

/// The live run with the eBPF program: the verifier's log (each path to
/// `exit`, with the registers' states), the program after the kernel's
/// rewriting, and only the IPv6 datagrams captured, as with the classic.
#[test]
#[ignore = "needs root"]
fn ebpf_live_run_captures_only_ipv6() {
    assert_pinned(
        "ebpf_live_run_captures_only_ipv6",
        &["--ebpf"],
        0,
        &["filter attached with SO_ATTACH_BPF", "processed 7 insns"],
    );
    let output = workbook::testing::run(ipv6_filter().arg("--ebpf"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.ends_with("sent 3 IPv4 + 3 IPv6, captured 0 IPv4 + 3 IPv6\n"),
        "{stdout}"
    );
}

#[test]
#[ignore = "needs root"]
fn ebpf_rejected_loop_shows_the_verifiers_log() {
    assert_pinned(
        "ebpf_rejected_loop_shows_the_verifiers_log",
        &["--ebpf-rejected", "loop"],
        1,
        &["infinite loop detected at insn 1", "EINVAL"],
    );
}

#[test]
#[ignore = "needs root"]
fn ebpf_rejected_out_of_bounds_shows_the_verifiers_log() {
    assert_pinned(
        "ebpf_rejected_out_of_bounds_shows_the_verifiers_log",
        &["--ebpf-rejected", "out-of-bounds"],
        1,
        &["invalid bpf_context access off=4096 size=4", "EACCES"],
    );
}

/// A frame of `length` bytes: two MAC addresses, the ethertype, then
/// filler, cut to `length` (a runt has no room for the ethertype).
fn frame(ethertype: [u8; 2], length: usize) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    frame.extend(ethertype);
    frame.resize(length.max(14), 0x60);
    frame.truncate(length);
    frame
}

/// The eBPF program and the classic one, each attached by the demo to a
/// Unix datagram socket of the test's (`--attach-fd`), keep the same
/// frames: IPv6 ones whole, nothing else; near-miss ethertypes, runts
/// too short for one (the load past the end ends both with 0) and random
/// frames included.
#[test]
#[ignore = "needs root"]
fn ebpf_filters_as_the_classic_program_does() {
    let pair = || {
        socketpair(
            AddressFamily::Unix,
            SockType::Datagram,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap()
    };
    let (classic_in, classic) = pair();
    let (ebpf_in, ebpf) = pair();
    let (code, stderr) = attach_to(&[], classic.as_raw_fd());
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = attach_to(&["--ebpf"], ebpf.as_raw_fd());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.ends_with("filter attached with SO_ATTACH_BPF to the socket on fd 3\n"),
        "{stderr}"
    );
    let mut cases = vec![
        (frame([0x86, 0xdd], 54), Some(54)),
        (frame([0x86, 0xdd], 1500), Some(1500)),
        (frame([0x08, 0x00], 34), None),
        (frame([0x08, 0x06], 42), None),
        (frame([0x86, 0xdc], 54), None),
        (frame([0xdd, 0x86], 54), None),
        (frame([0x86, 0xdd], 14), Some(14)),
        (frame([0x86, 0xdd], 13), None),
        (frame([0x86, 0xdd], 1), None),
    ];
    for _ in 0..200 {
        let mut random = workbook::testing::random_bytes(64);
        if random[0].is_multiple_of(2) {
            random[12..14].copy_from_slice(&[0x86, 0xdd]);
        }
        let kept = (random[12..14] == [0x86, 0xdd]).then_some(64);
        cases.push((random, kept));
    }
    let mut buffer = [0u8; 2048];
    for (frame, kept) in cases {
        let mut through = |sender: &std::os::fd::OwnedFd, receiver: &std::os::fd::OwnedFd| {
            send(sender.as_raw_fd(), &frame, MsgFlags::empty()).unwrap();
            recv(receiver.as_raw_fd(), &mut buffer, MsgFlags::MSG_DONTWAIT).ok()
        };
        let by_classic = through(&classic_in, &classic);
        let by_ebpf = through(&ebpf_in, &ebpf);
        assert_eq!(by_classic, kept, "classic, frame {frame:02x?}");
        assert_eq!(by_ebpf, kept, "eBPF, frame {frame:02x?}");
    }
}

/// Without CAP_BPF, loading is refused in one line that names the
/// capability and the sysctl, before the verifier sees the program;
/// where the sysctl allows unprivileged socket filters (0), it is not.
#[test]
fn ebpf_without_cap_bpf_is_refused_in_one_line() {
    let sysctl =
        std::fs::read_to_string("/proc/sys/kernel/unprivileged_bpf_disabled").unwrap_or_default();
    for args in [&["--ebpf"][..], &["--ebpf-rejected", "loop"]] {
        let mut command = ipv6_filter();
        unprivileged(command.args(args));
        let output = workbook::testing::run(&mut command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if sysctl.trim() == "0" {
            let expected = if args[0] == "--ebpf" { 0 } else { 1 };
            assert_eq!(output.status.code(), Some(expected), "{args:?}: {stderr}");
            continue;
        }
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(output.stdout, b"", "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        for needed in [
            "bpf(BPF_PROG_LOAD): EPERM",
            "CAP_BPF",
            "kernel.unprivileged_bpf_disabled",
        ] {
            assert!(
                stderr.contains(needed),
                "{args:?}: no {needed:?} in {stderr}"
            );
        }
    }
    // The chapter's copy, where the sysctl has the usual value.
    if sysctl.trim() == "2" {
        let mut command = ipv6_filter();
        unprivileged(command.arg("--ebpf"));
        let _redactions = redactions().bind_to_scope();
        insta_cmd::assert_cmd_snapshot!("ebpf_as_an_ordinary_user_is_refused", command);
    }
}

/// `--ebpf` goes with the modes that attach a program, not with those
/// that list or explain the classic one.
#[test]
fn ebpf_does_not_go_with_the_classic_listings() {
    for args in [
        &["--ebpf", "-d"][..],
        &["--ebpf", "--explain"],
        &["--ebpf", "--ebpf-rejected", "loop"],
    ] {
        let output = workbook::testing::run(ipv6_filter().args(args));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: the argument"),
            "{args:?}: {stderr}"
        );
    }
}
