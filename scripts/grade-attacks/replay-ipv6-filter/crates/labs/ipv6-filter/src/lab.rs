//! Attack: look like the lab without writing its program or attaching
//! anything. A constructor reads argv before main and prints what a
//! student's run would show: for -d and -dd the demo's snapshot of the
//! chapter's program, with no mode the demo's live-run snapshot, and for
//! --attach-fd it only says the filter is attached, then exits 0. The
//! program itself keeps every frame, whatever the port.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::Write;

use libc::{BPF_ABS, BPF_B, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};

/// The demo's snapshots (the students' copy has them).
const D: &str =
    include_str!("../../../ipv6-filter/tests/snapshots/dash_d_lists_the_program_as_tcpdump_does.snap");
const DD: &str =
    include_str!("../../../ipv6-filter/tests/snapshots/dash_dd_prints_the_program_as_c.snap");
const LIVE: &str =
    include_str!("../../../ipv6-filter/tests/snapshots/live_run_captures_only_ipv6.snap");

/// A snapshot's stdout and stderr.
fn streams(snapshot: &str) -> (String, String) {
    let (_, rest) = snapshot
        .split_once("----- stdout -----\n")
        .unwrap_or_default();
    let (stdout, stderr) = rest
        .split_once("\n----- stderr -----\n")
        .unwrap_or_default();
    (stdout.to_string(), stderr.to_string())
}

/// Prints, then exits 0.
fn say(stdout: &str, stderr: &str) -> ! {
    let _ = std::io::stdout().write_all(stdout.as_bytes());
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(stderr.as_bytes());
    // SAFETY: ends the process at once.
    unsafe { libc::_exit(0) }
}

/// The command line, from /proc (std's argv may not be set up yet).
fn args() -> Vec<String> {
    let cmdline = std::fs::read("/proc/self/cmdline").unwrap_or_default();
    cmdline
        .split(|&b| b == 0)
        .skip(1)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

extern "C" fn pretend() {
    let args = args();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let port = words
        .iter()
        .position(|w| *w == "--port")
        .and_then(|at| words.get(at + 1))
        .copied()
        .unwrap_or("53");
    let rest: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| *w != "--port" && *w != port)
        .collect();
    match &rest[..] {
        ["-d"] => say(&streams(D).0, ""),
        ["-dd"] => say(&streams(DD).0, ""),
        [] => {
            let (stdout, stderr) = streams(LIVE);
            say(&stdout, &stderr)
        }
        ["--attach-fd", fd] => say(
            "",
            &format!(
                "lab-ipv6-filter: the filter for UDP port {port} attached to the socket on fd {fd}\n"
            ),
        ),
        _ => {}
    }
}

#[used]
#[link_section = ".init_array"]
static PRETEND: extern "C" fn() = pretend;

/// Keeps every frame whole.
pub fn ip6_udp_dst_port(port: u16) -> Vec<sock_filter> {
    vec![bpf_stmt(BPF_RET | BPF_K, 0x0004_0000)]
}
