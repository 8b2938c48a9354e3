//! Grading tests for lab-ipv6-filter: your program must be tcpdump's `ip6
//! and udp`, and the kernel, given it by your attach_filter, must keep
//! exactly the IPv6 UDP frames. Each test's points are in lab.toml.
//!
//! The frames are new at every run (tests/common/frames.rs): random
//! payloads, ports, addresses and chains of extension headers. Your code
//! runs only in the lab binary, never in this process: the first test reads
//! your program from `lab-ipv6-filter -dd` and runs it in userspace
//! (`bpf::interp`); in the second, the lab attaches it (`--attach-fd 3`) to
//! a packet socket this test opened on `lo`, in a network namespace of the
//! test's own, and the test sends traffic and sees what the kernel lets
//! through. What the lab prints about frames is never what counts.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use workbook::bpf::disasm::listing;
use workbook::bpf::{interp, sock_filter};
use workbook::testing::Transcript;

#[path = "common/frames.rs"]
mod frames;
use frames::{frames, shown, tcpdump_keeps};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-ipv6-filter"));
    workbook::testing::limited(&mut command);
    command
}

/// What the lab prints on stdout with `args`; it must exit 0.
fn stdout_of(args: &[&str]) -> String {
    let output = workbook::testing::run(lab().args(args));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`lab-ipv6-filter {}` failed ({}): {stderr}",
        args.join(" "),
        output.status
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Your program, as `lab-ipv6-filter -dd` prints it (tcpdump's `-dd`: one
/// `{ 0x28, 0, 0, 0x0000000c },` a line); a listing in any other form fails
/// the test, naming the line.
fn program_of_the_lab() -> Vec<sock_filter> {
    let stdout = stdout_of(&["-dd"]);
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

/// Your program, as `-dd` prints it, in the workspace's interpreter (which
/// follows the kernel's rules): the kernel's checker must accept it, and
/// on 600 random frames it must keep the whole of every frame tcpdump's
/// `ip6 and udp` keeps and nothing else. `-d` must list it as `tcpdump -d
/// 'ip6 and udp'` does (tests/data, recorded with tcpdump 4.99).
#[test]
fn the_program_keeps_ipv6_udp_and_nothing_else() {
    let program = program_of_the_lab();
    if let Err(refusal) = interp::check(&program) {
        panic!("the kernel would refuse the program: {refusal:#}");
    }
    let wrong: Vec<String> = frames(600, 0)
        .into_iter()
        .filter_map(|frame| {
            let kept = interp::run(&program, &frame).kept(frame.len());
            let wanted = if tcpdump_keeps(&frame) {
                frame.len()
            } else {
                0
            };
            (kept != wanted).then(|| format!("kept {kept}, wanted {wanted}: {}", shown(&frame)))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of 600 random frames are not kept as tcpdump keeps them, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(5)].join("\n")
    );

    let tcpdump = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tcpdump-d-ip6-and-udp"),
    )
    .expect("reading tests/data/tcpdump-d-ip6-and-udp");
    let listed = stdout_of(&["-d"]);
    assert_eq!(
        listed,
        listing(&program),
        "`lab-ipv6-filter -d` does not list the program `-dd` prints"
    );
    assert_eq!(
        listed, tcpdump,
        "`lab-ipv6-filter -d` is not `tcpdump -d 'ip6 and udp'`"
    );
}

/// Your program attached by your attach_filter to a packet socket of this
/// test's, on `lo`, in a user and network namespace of the test's own
/// (`lab-ipv6-filter --attach-fd 3`): the test sends 240 random frames of
/// its own through `lo`, and UDP over IPv6 and IPv4 with random ports and
/// payloads, fragmented too, plus what brings ICMP and TCP frames back; a
/// second packet socket without a filter sees everything. The filtered
/// socket must get exactly the frames tcpdump's `ip6 and udp` keeps, whole.
#[test]
fn the_kernel_keeps_ipv6_udp_and_nothing_else() {
    if let Err(message) = in_a_namespace_of_our_own(live_check) {
        panic!("{message}");
    }
    // Around your functions runs the demo's own code: for an interface that
    // does not exist, its error is the demo's, word for word.
    let mut command = Command::new(get_cargo_bin("lab-ipv6-filter"));
    command.args(["--iface", "nosuch0"]);
    workbook::testing::limited(&mut command);
    let ours = Transcript::of_run(&mut command, ("lab-ipv6-filter", "ipv6-filter"));
    ours.assert_same_as(
        &Transcript::of_demo("ipv6-filter", "unknown_interface_is_named"),
        "lab-ipv6-filter --iface nosuch0 (the demo's snapshot unknown_interface_is_named)",
    );
}

/// Runs `check` in a child process in a new user and network namespace
/// (where it is root, and `lo` is the only interface), and returns what it
/// returned: its error, sent back through a pipe.
fn in_a_namespace_of_our_own(check: fn() -> Result<(), String>) -> Result<(), String> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 returned two new descriptors that nothing else owns.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child runs `check`, which makes system calls and starts
    // processes, and writes to the pipe; the test harness's other thread
    // holds no lock meanwhile (it waits for this test to end).
    match unsafe { libc::fork() } {
        -1 => panic!("fork: {}", std::io::Error::last_os_error()),
        0 => {
            drop(read_end);
            let result = std::panic::catch_unwind(|| enter_namespaces().and_then(|()| check()))
                .unwrap_or_else(|_| Err("the check panicked".into()));
            let report = result.err().unwrap_or_default();
            let mut pipe = std::fs::File::from(write_end);
            let _ = std::io::Write::write_all(&mut pipe, report.as_bytes());
            // SAFETY: _exit ends the child at once, as a forked child must.
            unsafe { libc::_exit(0) }
        }
        child => {
            drop(write_end);
            let mut report = String::new();
            let _ = std::io::Read::read_to_string(&mut std::fs::File::from(read_end), &mut report);
            let mut status = 0;
            // SAFETY: waitpid writes the status into `status`.
            unsafe { libc::waitpid(child, &mut status, 0) };
            if !libc::WIFEXITED(status) {
                return Err(format!(
                    "the test's child ended with status {status:#x}: {report}"
                ));
            }
            if report.is_empty() {
                Ok(())
            } else {
                Err(report)
            }
        }
    }
}

/// A new user and network namespace: root in it (our uid mapped to 0), `lo`
/// brought up, its MTU made 1280 so that big datagrams go in fragments.
/// The child lifts the seal it inherited while it writes its maps, and
/// puts it back before anything of the lab runs.
fn enter_namespaces() -> Result<(), String> {
    let errno = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: getuid and getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: prctl and unshare take plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
            return Err(errno("unshare(CLONE_NEWUSER | CLONE_NEWNET)"));
        }
    }
    std::fs::write("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))
        .map_err(|e| format!("uid_map: {e}"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))
        .map_err(|e| format!("gid_map: {e}"))?;
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|e| format!("socket: {e}"))?;
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    request.ifr_name[..2].copy_from_slice(&[b'l' as libc::c_char, b'o' as libc::c_char]);
    // SAFETY: the ioctls read and fill in `request`, a valid ifreq.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) != 0 {
            return Err(errno("SIOCGIFFLAGS on lo"));
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) != 0 {
            return Err(errno("SIOCSIFFLAGS (up) on lo"));
        }
        request.ifr_ifru.ifru_mtu = 1280;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFMTU, &request) != 0 {
            return Err(errno("SIOCSIFMTU on lo"));
        }
    }
    Ok(())
}

/// socket(AF_PACKET, SOCK_RAW) on `lo`: receiving every protocol
/// (`receive`), or nothing (a socket to send frames with); not seeing the
/// frames going out (PACKET_IGNORE_OUTGOING), so each frame on `lo` is
/// seen once, coming in.
fn packet_socket(lo: i32, receive: bool) -> Result<OwnedFd, String> {
    let errno = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    let protocol = if receive {
        (libc::ETH_P_ALL as u16).to_be()
    } else {
        0
    };
    // SAFETY: socket takes plain integers.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            i32::from(protocol),
        )
    };
    if fd < 0 {
        return Err(errno("socket(AF_PACKET)"));
    }
    // SAFETY: socket returned a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = protocol;
    address.sll_ifindex = lo;
    let one: libc::c_int = 1;
    // SAFETY: bind reads `address`; setsockopt reads `one`.
    unsafe {
        if libc::bind(
            fd.as_raw_fd(),
            (&address as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as u32,
        ) != 0
        {
            return Err(errno("binding a packet socket to lo"));
        }
        if receive
            && libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_IGNORE_OUTGOING,
                (&one as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as u32,
            ) != 0
        {
            return Err(errno("setsockopt(PACKET_IGNORE_OUTGOING)"));
        }
    }
    Ok(fd)
}

/// Every frame queued on `fd`, until none has come for `quiet`.
fn receive_all(fd: RawFd, quiet: Duration) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll reads and fills in one pollfd.
        if unsafe { libc::poll(&mut poll, 1, quiet.as_millis() as i32) } <= 0 {
            return frames;
        }
        // SAFETY: recv writes at most the buffer's length into it.
        let got = unsafe {
            libc::recv(
                fd,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if got >= 0 {
            frames.push(buffer[..got as usize].to_vec());
        }
    }
}

/// The check of `the_kernel_keeps_ipv6_udp_and_nothing_else`, in the
/// namespace: the lab attaches its filter to `filtered`, and exits; then
/// the traffic, and what each socket got.
fn live_check() -> Result<(), String> {
    let lo = nix::net::if_::if_nametoindex("lo").map_err(|e| format!("lo: {e}"))? as i32;
    let filtered = packet_socket(lo, true)?;
    let everything = packet_socket(lo, true)?;
    let sender = packet_socket(lo, false)?;
    run_the_lab_on(&filtered)?;
    still_bound_to(&filtered, lo)?;
    // What came before the filter went through none.
    receive_all(filtered.as_raw_fd(), Duration::from_millis(20));
    receive_all(everything.as_raw_fd(), Duration::from_millis(20));

    let quiet = Duration::from_millis(30);
    let mut seen = Vec::new();
    let mut kept = Vec::new();
    let injected = frames(240, 14);
    for batch in injected.chunks(24) {
        for frame in batch {
            send_frame(&sender, lo, frame)?;
        }
        seen.extend(receive_all(everything.as_raw_fd(), quiet));
        kept.extend(receive_all(filtered.as_raw_fd(), quiet));
    }
    let payloads = traffic()?;
    seen.extend(receive_all(
        everything.as_raw_fd(),
        Duration::from_millis(100),
    ));
    kept.extend(receive_all(
        filtered.as_raw_fd(),
        Duration::from_millis(100),
    ));

    // The unfiltered socket must have seen all of it: nothing on the way
    // (a qdisc, a rule) made frames vanish before the filters ran.
    for frame in &injected {
        if !seen.contains(frame) {
            return Err(format!(
                "a frame the test sent on lo never arrived: {}",
                shown(frame)
            ));
        }
    }
    for payload in &payloads {
        if !seen
            .iter()
            .any(|frame| frame.windows(payload.len()).any(|w| w == payload))
        {
            return Err("a UDP datagram the test sent never showed on lo".into());
        }
    }
    let fragments = seen
        .iter()
        .filter(|f| tcpdump_keeps(f) && f[20] == frames::FRAGMENT)
        .count();
    if fragments < 2 {
        return Err(format!(
            "the big UDP datagram over IPv6 made {fragments} fragments on lo, not 2 or more"
        ));
    }

    let mut wanted: Vec<Vec<u8>> = seen.iter().filter(|f| tcpdump_keeps(f)).cloned().collect();
    let mut got = kept.clone();
    wanted.sort();
    got.sort();
    if got == wanted {
        return Ok(());
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|f| !kept.contains(f))
        .take(3)
        .map(|f| {
            format!(
                "\n  kept by tcpdump, not (whole) by your filter: {}",
                shown(f)
            )
        })
        .collect();
    let extra: Vec<String> = kept
        .iter()
        .filter(|f| !wanted.contains(f))
        .take(3)
        .map(|f| {
            format!(
                "\n  let through by your filter, not by tcpdump's: {}",
                shown(f)
            )
        })
        .collect();
    Err(format!(
        "of {} frames on lo, tcpdump's `ip6 and udp` keeps {}; the socket with your filter got {}{}{}",
        seen.len(),
        wanted.len(),
        got.len(),
        missing.concat(),
        extra.concat()
    ))
}

/// `lab-ipv6-filter --attach-fd 3`, with `socket` as its descriptor 3, as
/// the first process of a PID namespace of its own: when it exits, nothing
/// it started is left, and the socket is this test's alone again.
fn run_the_lab_on(socket: &OwnedFd) -> Result<(), String> {
    // SAFETY: unshare takes a plain integer; it affects this process's
    // children only.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        return Err(format!(
            "unshare(CLONE_NEWPID): {}",
            std::io::Error::last_os_error()
        ));
    }
    let fd = socket.as_raw_fd();
    let mut command = Command::new(get_cargo_bin("lab-ipv6-filter"));
    command
        .args(["--attach-fd", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: dup2 and fcntl are async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            let moved = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if moved < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting lab-ipv6-filter: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("`lab-ipv6-filter --attach-fd 3` ran past 20 s".into());
            }
        }
    };
    let output = child
        .wait_with_output()
        .map_err(|e| format!("lab-ipv6-filter's output: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`lab-ipv6-filter --attach-fd 3` failed ({status}): {}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    Ok(())
}

/// The socket still listens to every protocol on `lo`, as the test bound it.
fn still_bound_to(socket: &OwnedFd, lo: i32) -> Result<(), String> {
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut length = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `length` bytes into `address`.
    unsafe {
        libc::getsockname(
            socket.as_raw_fd(),
            (&mut address as *mut libc::sockaddr_ll).cast(),
            &mut length,
        )
    };
    if address.sll_ifindex != lo || address.sll_protocol != (libc::ETH_P_ALL as u16).to_be() {
        return Err("the lab changed what the packet socket is bound to".into());
    }
    Ok(())
}

/// One frame out of `lo`, through the sending packet socket.
fn send_frame(sender: &OwnedFd, lo: i32, frame: &[u8]) -> Result<(), String> {
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_ifindex = lo;
    // SAFETY: sendto reads the frame and the address.
    let sent = unsafe {
        libc::sendto(
            sender.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&address as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if sent != frame.len() as isize {
        return Err(format!(
            "sending a frame on lo: {} ({})",
            std::io::Error::last_os_error(),
            shown(frame)
        ));
    }
    Ok(())
}

/// Real traffic on `lo`: UDP datagrams with random payloads between random
/// ports over IPv6 and IPv4, two big ones that go in fragments, one to a
/// closed port of each (which brings ICMP back), and a TCP connection
/// refused over IPv6. Returns the small IPv6 payloads, which the kept
/// frames must carry.
fn traffic() -> Result<Vec<Vec<u8>>, String> {
    fn io(what: &'static str) -> impl Fn(std::io::Error) -> String {
        move |e| format!("{what}: {e}")
    }
    let mut payloads = Vec::new();
    for local in [
        SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    ] {
        let receiver = UdpSocket::bind(local).map_err(io("binding a UDP socket on lo"))?;
        let sender = UdpSocket::bind(local).map_err(io("binding a UDP socket on lo"))?;
        let to = receiver.local_addr().map_err(io("getsockname"))?;
        for size in [
            1 + frames::below(64),
            1 + frames::below(400),
            2000 + frames::below(1000),
        ] {
            let payload = frames::random_bytes(size);
            sender
                .send_to(&payload, to)
                .map_err(io("sending UDP on lo"))?;
            if local.is_ipv6() && size < 1000 {
                payloads.push(payload);
            }
        }
        // A closed port: the port of a socket just closed.
        let closed = UdpSocket::bind(local)
            .map_err(io("binding"))?
            .local_addr()
            .map_err(io("getsockname"))?;
        let _ = sender.send_to(&frames::random_bytes(1 + frames::below(32)), closed);
    }
    let closed = std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map_err(io("binding TCP on ::1"))?;
    let _ = TcpStream::connect_timeout(&closed, Duration::from_secs(1));
    Ok(payloads)
}
