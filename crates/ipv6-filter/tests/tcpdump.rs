//! The listing checked against its model: for many filters, tcpdump's own
//! `-ddd` numbers run through `ipv6-filter --disasm` must print exactly what
//! `tcpdump -d` prints, and `ipv6-filter -d`, `-dd` and `-ddd` what
//! tcpdump's do for `ip6`. Peer-only: it needs tcpdump, so it is ignored by
//! default and fails, never passes, when tcpdump is missing.

use std::io::Write;
use std::process::{Command, Stdio};

use insta_cmd::get_cargo_bin;

/// Filters chosen so that, together, their programs use every kind of
/// instruction tcpdump generates: absolute, indirect and `ldxb 4*([k]&0xf)`
/// loads, scratch memory, `ja`, jumps on k and on x, every ALU op, `neg`,
/// `tax`/`txa`, `#pktlen` and Linux's ancillary loads.
const FILTERS: &[&str] = &[
    "ip6",
    "ip",
    "arp",
    "not ip",
    "tcp port 80",
    "udp and port 53",
    "icmp",
    "icmp6",
    "ip6 and tcp",
    "ip6 and udp port 547",
    "ip6 protochain 6",
    "host 10.1.2.3",
    "net 192.168.0.0/16",
    "src host 10.0.0.1",
    "dst host 10.0.0.2",
    "dst portrange 1000-2000",
    "ip and (tcp or udp) and not port 22",
    "tcp[tcpflags] & tcp-syn != 0",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
    "tcp[13] = 2",
    "udp[8:4] = 0xdeadbeef",
    "ip[0] & 0xf != 5",
    "ip[6] & 0x20 = 0x20",
    "ip proto 47",
    "ip multicast",
    "ip broadcast",
    "len > 100",
    "len <= 1500",
    "less 64",
    "greater 1000",
    "ether broadcast",
    "ether multicast",
    "ether host 01:02:03:04:05:06",
    "ether proto 0x88cc",
    "vlan and ip",
    "mpls",
    "inbound",
    "ifindex 1",
    "ip[2:2] + 1 = 0",
    "ip[2:2] - 1 = 0",
    "ip[2:2] * 2 = 0",
    "ip[2:2] / 2 = 0",
    "ip[2:2] % 3 = 0",
    "ip[2:2] & 1 = 0",
    "ip[2:2] | 1 = 0",
    "ip[2:2] ^ 1 = 0",
    "ip[2:2] << 1 = 0",
    "ip[2:2] >> 1 = 0",
    "ip[2:2] - ip[4:2] = 0",
    "ip[2:2] > ip[4:2]",
    "ip[2:2] >= ip[4:2]",
    // A leading `-` would be read as a tcpdump option, hence the parentheses.
    "(-ip[2:2]) = 0",
    "0 = -ip[2:2]",
];

/// Filters an older or differently built libpcap may refuse; they are
/// skipped then, every other refusal fails the test.
const OPTIONAL: &[&str] = &["vlan and ip", "mpls", "inbound", "ifindex 1"];

/// tcpdump's stdout for `flag EXPR`; `None` if tcpdump refuses the filter.
/// stderr is dropped: it always says "Warning: assuming Ethernet".
fn tcpdump(flag: &str, filter: &str) -> Option<String> {
    let output = Command::new("tcpdump")
        .args([flag, filter])
        .stdin(Stdio::null())
        .output()
        .expect("tcpdump is installed");
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).expect("tcpdump prints ASCII"))
}

/// `ipv6-filter --disasm` fed `ddd` on stdin.
fn disasm(ddd: &str) -> String {
    ipv6_filter_with_stdin(&["--disasm"], ddd)
}

/// The demo with `args`, fed `ddd` on stdin; its stdout.
fn ipv6_filter_with_stdin(args: &[&str], ddd: &str) -> String {
    let output = ipv6_filter_output(args, ddd);
    assert!(
        output.status.success(),
        "ipv6-filter {args:?} failed on\n{ddd}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the listing is UTF-8")
}

fn ipv6_filter_output(args: &[&str], ddd: &str) -> std::process::Output {
    let mut command = Command::new(get_cargo_bin("ipv6-filter"));
    workbook::testing::limited(&mut command);
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ipv6-filter runs");
    // Written and closed before reading, so neither side waits on the other
    // for programs far smaller than a pipe's buffer.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ddd.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
#[ignore = "needs tcpdump"]
fn disasm_matches_tcpdump_on_many_filters() {
    // The lecture's program first: the slide claims it is `tcpdump -d ip6`.
    let ours = workbook::testing::run(Command::new(get_cargo_bin("ipv6-filter")).arg("-d"));
    assert!(ours.status.success(), "ipv6-filter -d failed");
    let theirs = tcpdump("-d", "ip6").expect("tcpdump compiles ip6");
    assert!(
        String::from_utf8_lossy(&ours.stdout) == theirs,
        "ipv6-filter -d differs from tcpdump -d ip6:\n{}\n{theirs}",
        String::from_utf8_lossy(&ours.stdout)
    );

    // And its C and decimal forms: -dd and -ddd print what tcpdump's do.
    for flag in ["-dd", "-ddd"] {
        let ours = workbook::testing::run(Command::new(get_cargo_bin("ipv6-filter")).arg(flag));
        assert!(ours.status.success(), "ipv6-filter {flag} failed");
        let theirs = tcpdump(flag, "ip6").expect("tcpdump compiles ip6");
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            theirs,
            "ipv6-filter {flag} differs from tcpdump {flag} ip6"
        );
    }

    for &filter in FILTERS {
        let (Some(ddd), Some(listing)) = (tcpdump("-ddd", filter), tcpdump("-d", filter)) else {
            assert!(
                OPTIONAL.contains(&filter),
                "tcpdump refuses the filter {filter:?}"
            );
            eprintln!("skipped {filter:?}: this tcpdump refuses it");
            continue;
        };
        assert_eq!(disasm(&ddd), listing, "the listings of {filter:?} differ");
    }
}

/// The interpreter against the kernel on every program tcpdump compiles:
/// `--explain --program -` runs each on the sample frames both ways.
/// Programs that load ancillary data (`[type]`, `[vlanp]`, ...) are left
/// out: the interpreter does not model socket metadata.
#[test]
#[ignore = "needs tcpdump"]
fn interpreter_agrees_with_the_kernel_on_tcpdump_programs() {
    let mut compared = 0;
    for &filter in FILTERS {
        let (Some(ddd), Some(listing)) = (tcpdump("-ddd", filter), tcpdump("-d", filter)) else {
            assert!(
                OPTIONAL.contains(&filter),
                "tcpdump refuses the filter {filter:?}"
            );
            continue;
        };
        if listing.contains("[vlan") || listing.contains("[type]") || listing.contains("[ifidx]") {
            continue;
        }
        let output = ipv6_filter_output(&["--explain", "--program", "-"], &ddd);
        if !output.status.success() {
            // protochain loops backwards, which classic BPF in the kernel
            // forbids: both checkers must refuse it.
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("the kernel refuses it too"),
                "{filter:?}: {stderr}"
            );
            continue;
        }
        let explained = String::from_utf8_lossy(&output.stdout);
        let verdicts = explained
            .lines()
            .filter(|line| line.contains("verdict:"))
            .count();
        assert_eq!(verdicts, 4, "{filter:?}:\n{explained}");
        assert!(!explained.contains("disagrees"), "{filter:?}:\n{explained}");
        compared += 1;
    }
    assert!(compared >= 40, "only {compared} programs compared");
}
