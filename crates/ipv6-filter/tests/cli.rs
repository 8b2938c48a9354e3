//! ipv6-filter: the listing, the explanation, the live capture, and its
//! errors in environments that forbid what it needs.

use std::os::unix::process::CommandExt;

use insta_cmd::assert_cmd_snapshot;
use workbook::testing::{deny_syscall, redactions, unprivileged};

mod common;
use common::{attach_to, ipv6_filter};

/// Runs `command` with `text` on its stdin, closed before its output is read.
fn with_stdin(command: &mut std::process::Command, text: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The lecture's slide, byte for byte (tcpdump's own format).
const TCPDUMP_D_IP6: &str = "(000) ldh      [12]\n\
(001) jeq      #0x86dd          jt 2\tjf 3\n\
(002) ret      #262144\n\
(003) ret      #0\n";

#[test]
fn dash_d_lists_the_program_as_tcpdump_does() {
    let output = ipv6_filter().arg("-d").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), TCPDUMP_D_IP6);
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(ipv6_filter().arg("-d"));
}

/// `tcpdump -dd ip6`: the program as C, an initializer of a
/// `struct sock_filter` array.
const TCPDUMP_DD_IP6: &str = "{ 0x28, 0, 0, 0x0000000c },
{ 0x15, 0, 1, 0x000086dd },
{ 0x6, 0, 0, 0x00040000 },
{ 0x6, 0, 0, 0x00000000 },
";

/// `tcpdump -ddd ip6`: the count, then each instruction in decimal.
const TCPDUMP_DDD_IP6: &str = "4\n40 0 0 12\n21 0 1 34525\n6 0 0 262144\n6 0 0 0\n";

#[test]
fn dash_dd_prints_the_program_as_c() {
    let output = ipv6_filter().arg("-dd").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), TCPDUMP_DD_IP6);
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(ipv6_filter().arg("-dd"));
}

/// `-ddd` prints what `--disasm` reads, so the two make a round trip back
/// to `-d`; more `d`s, and `-d -d`, count as in tcpdump.
#[test]
fn dash_ddd_prints_what_disasm_reads() {
    let stdout = |args: &[&str]| {
        let output = workbook::testing::run(ipv6_filter().args(args));
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let ddd = stdout(&["-ddd"]);
    assert_eq!(ddd, TCPDUMP_DDD_IP6);
    assert_eq!(stdout(&["-dddd"]), ddd);
    assert_eq!(stdout(&["-d", "-d"]), TCPDUMP_DD_IP6);
    let listed = with_stdin(ipv6_filter().arg("--disasm"), &ddd);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), TCPDUMP_D_IP6);
}

#[test]
fn disasm_reads_tcpdump_ddd() {
    let mut command = ipv6_filter();
    command.arg("--disasm");
    let _redactions = redactions().bind_to_scope();
    // The factory's time limit holds: pass_stdin keeps its pre_exec.
    assert_cmd_snapshot!(command.pass_stdin("4\n40 0 0 12\n21 0 1 34525\n6 0 0 262144\n6 0 0 0\n"));
}

#[test]
fn disasm_names_the_bad_line() {
    let _redactions = redactions().bind_to_scope();
    // The factory's time limit holds: pass_stdin keeps its pre_exec.
    assert_cmd_snapshot!(ipv6_filter()
        .arg("--disasm")
        .pass_stdin("2\n40 0 0 12\n6 0 0\n"));
}

/// An empty program is refused the same way by --disasm and --explain:
/// one line naming the input and the reason.
#[test]
fn an_empty_program_is_refused_by_disasm_and_explain_alike() {
    let expected = "ipv6-filter: stdin: no program: the count is 0, \
                    and a classic BPF program has 1 to 4096 instructions\n";
    for args in [&["--disasm"][..], &["--explain", "--program", "-"]] {
        let output = with_stdin(ipv6_filter().args(args), "0\n");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            expected,
            "{args:?}"
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{args:?}");
        assert_eq!(output.status.code(), Some(1), "{args:?}");
    }
}

#[test]
fn count_zero_is_refused_readably() {
    let output = workbook::testing::run(ipv6_filter().args(["--iface", "lo", "--count", "0"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.lines().next(),
        Some("error: invalid value '0' for '--count <COUNT>': --count must be at least 1"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn explain_runs_the_program_on_sample_frames() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(ipv6_filter().arg("--explain"));
}

#[test]
fn live_run_captures_only_ipv6() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(ipv6_filter());
}

/// The live run needs no root: only user namespaces.
#[test]
fn live_run_as_an_unprivileged_user() {
    let mut command = ipv6_filter();
    unprivileged(&mut command);
    let output = workbook::testing::run(&mut command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.ends_with("sent 3 IPv4 + 3 IPv6, captured 0 IPv4 + 3 IPv6\n"),
        "{stdout}"
    );
}

/// `--attach-fd` attaches the program to a socket it was handed, and the
/// socket keeps it after the demo is gone: on a Unix datagram socket the
/// kernel runs it on each datagram, and an IPv6 frame gets through, an
/// IPv4 frame does not.
#[test]
fn attach_fd_filters_the_socket_it_was_handed() {
    use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
    use std::os::fd::AsRawFd;
    let (sender, receiver) = socketpair(
        AddressFamily::Unix,
        SockType::Datagram,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .unwrap();
    let (code, stderr) = attach_to(&[], receiver.as_raw_fd());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        "ipv6-filter: filter attached with SO_ATTACH_FILTER to the socket on fd 3\n"
    );
    let frame = |ethertype: [u8; 2]| {
        let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
        frame.extend(ethertype);
        frame.extend([0x60; 40]);
        frame
    };
    let mut buffer = [0u8; 128];
    for (ethertype, kept) in [([0x86, 0xdd], Some(54)), ([0x08, 0x00], None)] {
        send(sender.as_raw_fd(), &frame(ethertype), MsgFlags::empty()).unwrap();
        let got = recv(receiver.as_raw_fd(), &mut buffer, MsgFlags::MSG_DONTWAIT).ok();
        assert_eq!(got, kept, "ethertype {ethertype:02x?}");
    }
}

/// A descriptor that is not open, or not a socket, is named in one line.
#[test]
fn attach_fd_names_what_is_wrong() {
    let output = workbook::testing::run(ipv6_filter().args(["--attach-fd", "99"]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "ipv6-filter: --attach-fd 99: no file descriptor 99 is open here\n"
    );
    let file = std::fs::File::open("/dev/null").unwrap();
    let (code, stderr) = attach_to(&[], std::os::fd::AsRawFd::as_raw_fd(&file));
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--attach-fd 3"), "{stderr}");
    assert!(stderr.contains("ENOTSOCK"), "{stderr}");
}

#[test]
fn unknown_interface_is_named() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(ipv6_filter().args(["--iface", "nosuch0"]));
}

/// What each hostile environment refuses, simulated with a seccomp filter
/// in the demo's own process.
fn refused(nr: i64, first_arg: Option<u32>, errno: i32) -> (Option<i32>, String) {
    let mut command = ipv6_filter();
    // SAFETY: the closure only calls prctl, which is async-signal-safe.
    unsafe { command.pre_exec(deny_syscall(nr, first_arg, errno)) };
    let output = workbook::testing::run(&mut command);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn user_namespaces_disabled() {
    let (code, stderr) = refused(libc::SYS_unshare, None, libc::EPERM);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("user namespaces are disabled"), "{stderr}");
}

#[test]
fn packet_sockets_not_permitted() {
    let (code, stderr) = refused(libc::SYS_socket, Some(libc::AF_PACKET as u32), libc::EPERM);
    assert_eq!(code, Some(1), "{stderr}");
    let error = stderr.lines().last().unwrap_or_default();
    assert!(error.contains("socket(AF_PACKET)"), "{stderr}");
    assert!(error.contains("run as root"), "{stderr}");
    assert!(error.contains("user.max_user_namespaces"), "{stderr}");
}

#[test]
fn ipv6_disabled() {
    let (code, stderr) = refused(
        libc::SYS_socket,
        Some(libc::AF_INET6 as u32),
        libc::EAFNOSUPPORT,
    );
    assert_eq!(code, Some(1), "{stderr}");
    let error = stderr.lines().last().unwrap_or_default();
    assert!(error.contains("IPv6 is disabled"), "{stderr}");
}
