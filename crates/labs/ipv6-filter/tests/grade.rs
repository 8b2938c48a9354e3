//! Grading tests for lab-ipv6-filter: your `ip6 and udp dst port PORT`,
//! built for a port chosen at random for each run, judged by what the
//! kernel lets through to a socket of the test's. Each test's points are in
//! lab.toml.
//!
//! Your code runs only in the lab binary, never in this process: the test
//! opens a socket, hands it to `lab-ipv6-filter --port PORT --attach-fd 3`,
//! which attaches your program with SO_ATTACH_FILTER and exits, and then
//! the test sends frames through that socket and sees which arrive. The
//! frames are new at every run (tests/common/frames.rs): UDP over IPv6 to
//! the port, and near misses (other ports, the port's bytes swapped, the
//! port as the source, TCP, IPv4, other ethertypes, frames cut short).
//! What the lab prints is never what counts.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;

#[path = "common/frames.rs"]
mod frames;
use frames::{another_port, keeps, random_port, shown};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-ipv6-filter"));
    workbook::testing::limited(&mut command);
    command
}

/// Your program for a random port, attached by the lab to a Unix datagram
/// socket of the test's (any socket takes SO_ATTACH_FILTER, and the kernel
/// runs the filter on every datagram sent to it, from its first byte, as a
/// packet socket does on a frame): of 600 random frames sent through it,
/// exactly those `ip6 and udp dst port PORT` keeps must arrive, whole.
#[test]
fn a_unix_socket_gets_only_ipv6_udp_to_the_port() {
    let port = random_port();
    let frames = frames::frames(600, port, 1);
    if let Err(message) = in_a_namespace_of_our_own(|| unix_check(port, &frames)) {
        panic!("{message}");
    }
}

/// Your program for a random port, attached by the lab to a packet socket
/// of this test's, on `lo`, in a user and network namespace of the test's
/// own: the test sends 240 random frames through `lo`, and real traffic:
/// UDP over IPv6 to the port, to another port and from the port, UDP over
/// IPv4 to the port, a TCP connection to the port refused, a datagram to a
/// closed port (which brings an ICMPv6 error back). A second packet socket
/// without a filter sees everything; the filtered one must get exactly the
/// frames `ip6 and udp dst port PORT` keeps, whole.
#[test]
fn a_packet_socket_on_lo_gets_only_ipv6_udp_to_the_port() {
    let port = random_port();
    if let Err(message) = in_a_namespace_of_our_own(|| live_check(port)) {
        panic!("{message}");
    }
}

#[cfg(feature = "hidden")]
mod hidden;

/// A Unix datagram socket pair, (sender, receiver).
fn datagram_pair() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two descriptors into `fds`.
    let made = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if made != 0 {
        return Err(format!(
            "socketpair(AF_UNIX, SOCK_DGRAM): {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: socketpair returned two new descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// What of `frame`, sent through `sender`, arrives at `receiver`: `None`
/// when the filter dropped it. The datagram is queued, or not, before
/// send returns.
fn through(sender: &OwnedFd, receiver: &OwnedFd, frame: &[u8]) -> Result<Option<Vec<u8>>, String> {
    // SAFETY: send reads the frame.
    let sent = unsafe { libc::send(sender.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    if sent != frame.len() as isize {
        return Err(format!(
            "send on the Unix socket: {} ({})",
            std::io::Error::last_os_error(),
            shown(frame)
        ));
    }
    // One byte more than the frame: a datagram that fits with room to spare
    // was not cut by recv, so its length is the filter's doing alone.
    let mut buffer = vec![0u8; frame.len() + 1];
    // SAFETY: recv writes at most the buffer's length into it.
    let got = unsafe {
        libc::recv(
            receiver.as_raw_fd(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if got < 0 {
        let error = std::io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::EAGAIN) => Ok(None),
            _ => Err(format!("recv on the Unix socket: {error}")),
        };
    }
    buffer.truncate(got as usize);
    Ok(Some(buffer))
}

/// The check of `a_unix_socket_gets_only_ipv6_udp_to_the_port`, in the
/// namespace: the lab attaches its program for `port` to the receiving end
/// of a Unix datagram socket pair, and exits; then `frames` go through it
/// one by one.
fn unix_check(port: u16, frames: &[Vec<u8>]) -> Result<(), String> {
    let (sender, receiver) = datagram_pair()?;
    run_the_lab_on(&receiver, port)?;
    let mut wrong = Vec::new();
    for frame in frames {
        let got = through(&sender, &receiver, frame)?;
        let kept = keeps(frame, port);
        let problem = match &got {
            None if kept => "dropped, but it is UDP over IPv6 to the port",
            Some(bytes) if !kept && bytes.is_empty() => "let through (0 bytes of it)",
            Some(_) if !kept => "let through, but it is not UDP over IPv6 to the port",
            Some(bytes) if bytes != frame => "let through, but not whole",
            _ => continue,
        };
        wrong.push(format!("  {problem}: {}", shown(frame)));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(format!(
        "with your program for port {port} ({port:#06x}) attached, {} of {} random frames \
         were not treated as `ip6 and udp dst port {port}` treats them, e.g.:\n{}",
        wrong.len(),
        frames.len(),
        wrong[..wrong.len().min(5)].join("\n")
    ))
}

/// The check of `a_packet_socket_on_lo_gets_only_ipv6_udp_to_the_port`, in
/// the namespace: the lab attaches its program for `port` to `filtered`,
/// and exits; then the traffic, and what each socket got.
fn live_check(port: u16) -> Result<(), String> {
    let lo = nix::net::if_::if_nametoindex("lo").map_err(|e| format!("lo: {e}"))? as i32;
    let filtered = packet_socket(lo, true)?;
    let everything = packet_socket(lo, true)?;
    let sender = packet_socket(lo, false)?;
    run_the_lab_on(&filtered, port)?;
    still_bound_to(&filtered, lo)?;
    // What came before the filter went through none.
    receive_all(filtered.as_raw_fd(), Duration::from_millis(20));
    receive_all(everything.as_raw_fd(), Duration::from_millis(20));

    let quiet = Duration::from_millis(30);
    let mut seen = Vec::new();
    let mut kept = Vec::new();
    let injected = frames::frames(240, port, 14);
    for batch in injected.chunks(24) {
        for frame in batch {
            send_frame(&sender, lo, frame)?;
        }
        seen.extend(receive_all(everything.as_raw_fd(), quiet));
        kept.extend(receive_all(filtered.as_raw_fd(), quiet));
    }
    let payloads = traffic(port)?;
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
            .any(|frame| keeps(frame, port) && frame.windows(payload.len()).any(|w| w == payload))
        {
            return Err(format!(
                "a UDP datagram the test sent to [::1]:{port} never showed on lo"
            ));
        }
    }

    let mut wanted: Vec<Vec<u8>> = seen.iter().filter(|f| keeps(f, port)).cloned().collect();
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
                "\n  UDP over IPv6 to the port, not let through (whole): {}",
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
                "\n  let through, but not UDP over IPv6 to the port: {}",
                shown(f)
            )
        })
        .collect();
    Err(format!(
        "of {} frames on lo, `ip6 and udp dst port {port}` keeps {}; the socket with your \
         program got {}{}{}",
        seen.len(),
        wanted.len(),
        got.len(),
        missing.concat(),
        extra.concat()
    ))
}

/// Real traffic on `lo`: UDP datagrams with random payloads over IPv6 to
/// `port`, to another port and from `port`, over IPv4 to `port`; one to a
/// closed port (which brings an ICMPv6 error back); and a TCP connection
/// to `port` over IPv6, refused. Returns the payloads sent to `port` over
/// IPv6, which kept frames must carry.
fn traffic(port: u16) -> Result<Vec<Vec<u8>>, String> {
    fn io(what: &'static str) -> impl Fn(std::io::Error) -> String {
        move |e| format!("{what}: {e}")
    }
    let v6 = |port| SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let v4 = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let receiver = UdpSocket::bind(v6(port)).map_err(io("binding UDP to [::1]:PORT"))?;
    let elsewhere =
        UdpSocket::bind(v6(another_port(port))).map_err(io("binding UDP to another port"))?;
    let receiver4 = UdpSocket::bind(v4(port)).map_err(io("binding UDP to 127.0.0.1:PORT"))?;
    let sender = UdpSocket::bind(v6(0)).map_err(io("binding UDP on ::1"))?;
    let sender4 = UdpSocket::bind(v4(0)).map_err(io("binding UDP on 127.0.0.1"))?;
    let to_elsewhere = elsewhere.local_addr().map_err(io("getsockname"))?;
    let mut payloads = Vec::new();
    for size in [1 + frames::below(64), 1 + frames::below(400)] {
        let payload = frames::random_bytes(size);
        sender
            .send_to(&payload, v6(port))
            .map_err(io("sending UDP to [::1]:PORT"))?;
        payloads.push(payload);
        let other = frames::random_bytes(size);
        sender
            .send_to(&other, to_elsewhere)
            .map_err(io("sending UDP to another port"))?;
        // From the port: the port is the source, not the destination.
        receiver
            .send_to(&other, to_elsewhere)
            .map_err(io("sending UDP from [::1]:PORT"))?;
        sender4
            .send_to(&other, v4(port))
            .map_err(io("sending UDP to 127.0.0.1:PORT"))?;
    }
    // A closed port: the port of a socket just closed.
    let closed = UdpSocket::bind(v6(0))
        .map_err(io("binding"))?
        .local_addr()
        .map_err(io("getsockname"))?;
    let _ = sender.send_to(&frames::random_bytes(1 + frames::below(32)), closed);
    // Nobody listens on TCP port PORT: a SYN to it, and a RST back.
    let _ = TcpStream::connect_timeout(&v6(port), Duration::from_secs(1));
    drop((receiver, elsewhere, receiver4));
    Ok(payloads)
}

/// Runs `check` in a child process in a new user and network namespace
/// (where it is root, and `lo` is the only interface), and returns what it
/// returned: its error, sent back through a pipe.
fn in_a_namespace_of_our_own(check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
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
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                enter_namespaces().and_then(|()| check())
            }))
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
/// brought up, its MTU made 1280.
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

/// `lab-ipv6-filter --port PORT --attach-fd 3`, with `socket` as its
/// descriptor 3, as
/// the first process of a PID namespace of its own: when it exits, nothing
/// it started is left, and the socket is this test's alone again.
fn run_the_lab_on(socket: &OwnedFd, port: u16) -> Result<(), String> {
    // SAFETY: unshare takes a plain integer; it affects this process's
    // children only.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        return Err(format!(
            "unshare(CLONE_NEWPID): {}",
            std::io::Error::last_os_error()
        ));
    }
    let fd = socket.as_raw_fd();
    let mut command = lab();
    command
        .args(["--port", &port.to_string(), "--attach-fd", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    workbook::testing::with_descriptor_3(&mut command, fd);
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
                return Err(format!(
                    "`lab-ipv6-filter --port {port} --attach-fd 3` ran past 20 s"
                ));
            }
        }
    };
    let output = child
        .wait_with_output()
        .map_err(|e| format!("lab-ipv6-filter's output: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`lab-ipv6-filter --port {port} --attach-fd 3` failed ({status}): {}",
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
