//! Grading tests for lab-ipv6-filter: the program must be tcpdump's, keep
//! exactly the IPv6 UDP frames in the interpreter and in the kernel, and
//! the live run must be the demo's. Each test's points are in lab.toml.
//!
//! Your code runs only in the lab binary, never in this process: the
//! interpreter test reads your program from `lab-ipv6-filter -dd` and runs
//! it in userspace (`bpf::interp`); filters are attached only by the lab.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::path::Path;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::bpf::{interp, sock_filter};
use workbook::testing::Transcript;

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-ipv6-filter"));
    workbook::testing::limited(&mut command);
    command
}

/// `tcpdump -d 'ip6 and udp'`, recorded (tcpdump 4.99, libpcap 1.10): the
/// grading tests need no tcpdump.
#[test]
fn dash_d_lists_what_tcpdump_does() {
    let expected = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tcpdump-d-ip6-and-udp"),
    )
    .expect("reading tests/data/tcpdump-d-ip6-and-udp");
    let output = workbook::testing::run(lab().arg("-d"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        expected,
        "`lab-ipv6-filter -d` is not `tcpdump -d 'ip6 and udp'`"
    );
}

const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

/// An Ethernet frame: the two MACs, the ethertype, the payload.
fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&DST_MAC);
    frame.extend_from_slice(&SRC_MAC);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// A fixed 40-byte IPv6 header whose next header is `next`, then `rest`.
fn ipv6(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&(rest.len() as u16).to_be_bytes());
    packet.push(next);
    packet.push(64);
    packet.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    packet.extend_from_slice(&[0; 11]);
    packet.push(1);
    packet.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    packet.extend_from_slice(&[0; 11]);
    packet.push(2);
    packet.extend_from_slice(rest);
    packet
}

/// An 8-byte fragment header (first fragment, more to come) whose next
/// header is `next`, then `rest`.
fn fragment(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut header = vec![next, 0, 0, 1, 0, 0, 0x12, 0x34];
    header.extend_from_slice(rest);
    header
}

/// A UDP (or TCP) header's first bytes and a payload: the filter never
/// reads them.
const TRANSPORT: [u8; 12] = [0x9c, 0x40, 0, 7, 0, 12, 0, 0, b'p', b'i', b'n', b'g'];

/// A 20-byte IPv4 header carrying `proto`, then `rest`.
fn ipv4(proto: u8, rest: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, proto, 0, 0];
    packet.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
    packet.extend_from_slice(rest);
    packet
}

/// Frames and whether `ip6 and udp` keeps them.
fn frames() -> Vec<(&'static str, Vec<u8>, bool)> {
    let udp6 = ethernet(0x86dd, &ipv6(17, &TRANSPORT));
    vec![
        ("IPv6 UDP", udp6.clone(), true),
        ("IPv6 TCP", ethernet(0x86dd, &ipv6(6, &TRANSPORT)), false),
        (
            "IPv6 fragment header, then UDP",
            ethernet(0x86dd, &ipv6(44, &fragment(17, &TRANSPORT))),
            true,
        ),
        (
            "IPv6 fragment header, then TCP",
            ethernet(0x86dd, &ipv6(44, &fragment(6, &TRANSPORT))),
            false,
        ),
        (
            "IPv6 ICMPv6",
            ethernet(0x86dd, &ipv6(58, &[128, 0, 0, 0, 0, 0, 0, 0])),
            false,
        ),
        ("IPv4 UDP", ethernet(0x0800, &ipv4(17, &TRANSPORT)), false),
        (
            "ARP",
            ethernet(0x0806, &[0, 1, 8, 0, 6, 4, 0, 1, 17, 17, 17, 17]),
            false,
        ),
        ("runt of 10 bytes", udp6[..10].to_vec(), false),
        (
            "IPv6 cut off before its next header",
            udp6[..19].to_vec(),
            false,
        ),
    ]
}

/// Your program, as `lab-ipv6-filter -dd` prints it (tcpdump's `-dd`: one
/// `{ 0x28, 0, 0, 0x0000000c },` a line); a listing in any other form fails
/// the test, naming the line.
fn program_of_the_lab() -> Vec<sock_filter> {
    let output = workbook::testing::run(lab().arg("-dd"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`lab-ipv6-filter -dd` failed ({}): {stderr}",
        output.status
    );
    let program = stdout
        .lines()
        .enumerate()
        .map(|(n, line)| {
            parse_dd_line(line).unwrap_or_else(|| {
                panic!(
                    "`lab-ipv6-filter -dd` line {}: expected `{{ 0xCODE, JT, JF, 0xK }},` \
                     as tcpdump -dd prints it, found {line:?}",
                    n + 1
                )
            })
        })
        .collect::<Vec<_>>();
    assert!(
        !program.is_empty(),
        "`lab-ipv6-filter -dd` printed no instructions"
    );
    program
}

/// `{ 0x%x, %d, %d, 0x%08x },`, libpcap's format for `-dd`; `None` for
/// anything else.
fn parse_dd_line(line: &str) -> Option<sock_filter> {
    let fields = line.strip_prefix("{ ")?.strip_suffix(" },")?;
    let [code, jt, jf, k] = fields.split(", ").collect::<Vec<_>>()[..] else {
        return None;
    };
    let hex = |text: &str, digits: Option<usize>| {
        let digits_text = text.strip_prefix("0x")?;
        let exact = digits.is_none_or(|n| digits_text.len() == n);
        let hex_only =
            !digits_text.is_empty() && digits_text.bytes().all(|b| b.is_ascii_hexdigit());
        (exact && hex_only).then(|| u32::from_str_radix(digits_text, 16).ok())?
    };
    let decimal = |text: &str| {
        let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        digits_only.then(|| text.parse::<u8>().ok())?
    };
    Some(sock_filter {
        code: u16::try_from(hex(code, None)?).ok()?,
        jt: decimal(jt)?,
        jf: decimal(jf)?,
        k: hex(k, Some(8))?,
    })
}

/// Your program in the workspace's interpreter, which follows the kernel's
/// rules: the kernel's checker must accept it, and it must keep the whole
/// of every IPv6 UDP frame (behind a fragment header too) and nothing else.
#[test]
fn the_interpreter_keeps_ipv6_udp_and_nothing_else() {
    let program = program_of_the_lab();
    if let Err(refusal) = interp::check(&program) {
        panic!("the kernel would refuse the program: {refusal:#}");
    }
    let wrong: Vec<String> = frames()
        .into_iter()
        .filter_map(|(name, frame, keep)| {
            let kept = interp::run(&program, &frame).kept(frame.len());
            let wanted = if keep { frame.len() } else { 0 };
            (kept != wanted).then(|| {
                format!(
                    "{name}: kept {kept} bytes of {}, wanted {wanted}",
                    frame.len()
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `lab-ipv6-filter --explain`: the program on the demo's four sample
/// frames, in the interpreter and attached to a socket in the kernel (your
/// `attach_filter`, in the lab's process). The kernel must agree each time.
#[test]
fn the_kernel_agrees_on_every_sample() {
    let output = workbook::testing::run(lab().arg("--explain"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}\n{stdout}");
    let verdicts: Vec<&str> = stdout
        .lines()
        .filter(|line| line.trim_start().starts_with("verdict:"))
        .map(str::trim)
        .collect();
    assert_eq!(
        verdicts,
        [
            "verdict: keep 66 bytes (interpreter); the kernel agrees (keeps 66)",
            "verdict: drop (interpreter); the kernel agrees (keeps 0)",
            "verdict: drop (interpreter); the kernel agrees (keeps 0)",
            "verdict: drop (interpreter); the kernel agrees (keeps 0)",
        ],
        "{stdout}"
    );
}

/// The live run sends UDP over IPv4 and IPv6: `ip6 and udp` captures what
/// the demo's `ip6` did.
#[test]
fn the_live_run_is_the_demos() {
    let ours = Transcript::of_run(&mut lab(), ("lab-ipv6-filter", "ipv6-filter"));
    let demo = Transcript::of_demo("ipv6-filter", "live_run_captures_only_ipv6");
    ours.assert_same_as(&demo, "lab-ipv6-filter");
}
