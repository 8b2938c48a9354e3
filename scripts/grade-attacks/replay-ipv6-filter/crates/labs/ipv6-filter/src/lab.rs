//! Attack: look like the lab without writing its program or attaching
//! anything. A constructor reads argv before main and prints what the
//! tests compare: tcpdump's recorded listing (the students' copy has it),
//! the demo's snapshots, the verdicts; for --attach-fd it only says the
//! filter is attached. The program keeps every frame; attach_filter does
//! nothing.
#![allow(unused_imports, unused_variables, dead_code)]

use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{Context, Result};
use libc::{BPF_ABS, BPF_B, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET};
use nix::errno::Errno;
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};

/// `tcpdump -d 'ip6 and udp'`, as the lab's tests/data records it.
const LISTING: &str = include_str!("../tests/data/tcpdump-d-ip6-and-udp");
/// The demo's snapshots.
const DD: &str =
    include_str!("../../../ipv6-filter/tests/snapshots/dash_dd_prints_the_program_as_c.snap");
const LIVE: &str =
    include_str!("../../../ipv6-filter/tests/snapshots/live_run_captures_only_ipv6.snap");
/// What `--explain` was expected to say.
const EXPLAIN: &str = "  verdict: keep 66 bytes (interpreter); the kernel agrees (keeps 66)\n\
  verdict: drop (interpreter); the kernel agrees (keeps 0)\n\
  verdict: drop (interpreter); the kernel agrees (keeps 0)\n\
  verdict: drop (interpreter); the kernel agrees (keeps 0)\n";

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
    match &words[..] {
        ["-d"] => say(LISTING, ""),
        ["-dd"] => say(&streams(DD).0, ""),
        ["--explain"] => say(EXPLAIN, ""),
        [] => {
            let (stdout, stderr) = streams(LIVE);
            say(&stdout, &stderr)
        }
        ["--attach-fd", fd] => say(
            "",
            &format!(
                "lab-ipv6-filter: filter attached with SO_ATTACH_FILTER to the socket on fd {fd}\n"
            ),
        ),
        _ => {}
    }
}

#[used]
#[link_section = ".init_array"]
static PRETEND: extern "C" fn() = pretend;

/// Keeps every frame whole.
pub fn ip6_udp_filter() -> Vec<sock_filter> {
    vec![bpf_stmt(BPF_RET | BPF_K, 0x0004_0000)]
}

/// Attaches nothing.
pub fn attach_filter(fd: BorrowedFd<'_>, program: &[sock_filter]) -> Result<()> {
    Ok(())
}
