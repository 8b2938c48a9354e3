//! The live run: a packet socket with the filter attached, in a network
//! namespace of our own, and traffic we send ourselves.

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::{unshare, CloneFlags};
use nix::sys::socket::{
    recvfrom, socket, AddressFamily, LinkAddr, SockFlag, SockProtocol, SockType,
};

/// The ports of our own traffic: fixed, since the namespace is ours alone.
const SENDER_PORT: u16 = 40000;
const RECEIVER_PORT: u16 = 9999;

/// One captured frame, as the demo prints it.
pub struct Captured {
    pub ethertype: u16,
    pub line: String,
}

/// Enters a new user and network namespace, where we are root and the only
/// traffic is ours. No privileges are needed, only user namespaces.
pub fn enter_private_network() -> Result<()> {
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(|errno| {
        anyhow::anyhow!(
            "unshare(CLONE_NEWUSER | CLONE_NEWNET): {}: {}",
            errno.desc(),
            userns_hint(errno)
        )
    })?;
    fs::write("/proc/self/setgroups", "deny").context("writing /proc/self/setgroups")?;
    fs::write("/proc/self/uid_map", format!("0 {uid} 1")).context("writing /proc/self/uid_map")?;
    fs::write("/proc/self/gid_map", format!("0 {gid} 1")).context("writing /proc/self/gid_map")?;
    bring_up("lo")
}

fn userns_hint(errno: Errno) -> String {
    let read = |path: &str| fs::read_to_string(path).ok().map(|s| s.trim().to_string());
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "user namespaces are disabled (sysctl user.max_user_namespaces is 0)".into();
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "user namespaces are disabled for unprivileged users \
                (sysctl kernel.unprivileged_userns_clone=1 allows them)"
            .into();
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return "AppArmor restricts unprivileged user namespaces \
                (sysctl kernel.apparmor_restrict_unprivileged_userns=0 allows them)"
            .into();
    }
    match errno {
        Errno::EPERM | Errno::ENOSPC | Errno::EINVAL => {
            "user namespaces are disabled here (by a sysctl, a container's seccomp filter, \
             or a multi-threaded caller); run as root with --iface instead"
                .into()
        }
        _ => "user namespaces are not available".into(),
    }
}

/// `ip link set NAME up`, with the SIOCGIFFLAGS/SIOCSIFFLAGS ioctls.
fn bring_up(name: &str) -> Result<()> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .context("socket(AF_INET, SOCK_DGRAM)")?;
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *slot = byte as libc::c_char;
    }
    // SAFETY: `request` is a valid ifreq that the kernel reads and fills in.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) })
        .with_context(|| format!("SIOCGIFFLAGS on {name}"))?;
    // SAFETY: SIOCGIFFLAGS filled in the flags member of the union.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above; the kernel only reads `request`.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &request) })
        .with_context(|| format!("SIOCSIFFLAGS (up) on {name}"))?;
    Ok(())
}

/// The interface's index, or an error that says it does not exist.
pub fn interface_index(name: &str) -> Result<u32> {
    nix::net::if_::if_nametoindex(name)
        .map_err(|_| anyhow::anyhow!("interface {name} does not exist"))
}

/// socket(AF_PACKET, SOCK_RAW, ETH_P_ALL), bound to one interface.
pub fn packet_socket(ifindex: u32, name: &str) -> Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::EthAll,
    )
    .map_err(|errno| match errno {
        Errno::EPERM | Errno::EACCES => anyhow::anyhow!(
            "socket(AF_PACKET): {}: packet sockets need CAP_NET_RAW; run as root, or allow \
             unprivileged user namespaces (sysctl user.max_user_namespaces > 0, and on Debian \
             kernel.unprivileged_userns_clone=1)",
            errno.desc()
        ),
        other => anyhow::anyhow!("socket(AF_PACKET): {}", other.desc()),
    })?;
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    address.sll_ifindex = ifindex as i32;
    // SAFETY: `address` is a valid sockaddr_ll of the size we pass.
    let ret = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&address as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    Errno::result(ret).with_context(|| format!("binding the packet socket to {name}"))?;
    Ok(fd)
}

/// Sends `count` UDP datagrams over IPv4 and over IPv6, loopback to
/// loopback, to a socket that receives them (so no ICMP errors are sent).
pub fn send_traffic(count: usize) -> Result<()> {
    let v4 = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = |port| SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let ipv6_disabled = |error: std::io::Error| {
        anyhow::anyhow!(
            "IPv6 is disabled: {error} (is the kernel booted with ipv6.disable=1, \
             or net.ipv6.conf.all.disable_ipv6=1?)"
        )
    };
    if !std::path::Path::new("/proc/sys/net/ipv6").exists() {
        bail!("IPv6 is disabled: this kernel has no /proc/sys/net/ipv6");
    }
    let receiver4 = UdpSocket::bind(v4(RECEIVER_PORT)).context("binding 127.0.0.1")?;
    let receiver6 = UdpSocket::bind(v6(RECEIVER_PORT)).map_err(ipv6_disabled)?;
    let sender4 = UdpSocket::bind(v4(SENDER_PORT)).context("binding 127.0.0.1")?;
    let sender6 = UdpSocket::bind(v6(SENDER_PORT)).map_err(ipv6_disabled)?;
    for n in 0..count {
        let payload = format!("datagram {n}");
        sender4
            .send_to(payload.as_bytes(), v4(RECEIVER_PORT))
            .context("sendto 127.0.0.1")?;
        sender6
            .send_to(payload.as_bytes(), v6(RECEIVER_PORT))
            .context("sendto ::1")?;
    }
    drop((receiver4, receiver6));
    Ok(())
}

/// Frames the socket receives until `want` came in or `quiet` passes with
/// nothing. On loopback every frame passes twice, out and in; only the
/// incoming copy counts.
pub fn capture(
    fd: &OwnedFd,
    want: Option<usize>,
    quiet: Duration,
    total: Duration,
) -> Result<Vec<Captured>> {
    let mut frames = Vec::new();
    let started = Instant::now();
    let mut buffer = vec![0u8; 65536];
    while want.is_none_or(|want| frames.len() < want) {
        let left = total.saturating_sub(started.elapsed()).min(quiet);
        if left.is_zero() {
            break;
        }
        let timeout = PollTimeout::try_from(left.as_millis() as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, timeout).context("poll on the packet socket")? == 0 {
            break;
        }
        let (len, from) = match recvfrom::<LinkAddr>(fd.as_raw_fd(), &mut buffer) {
            Ok(received) => received,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno).context("recvfrom on the packet socket"),
        };
        if from.is_some_and(|from| from.pkttype() == libc::PACKET_OUTGOING) {
            continue;
        }
        frames.push(describe(&buffer[..len]));
    }
    Ok(frames)
}

/// `IPv6 ::1 → ::1 UDP 40000 → 9999, 66 bytes`.
fn describe(frame: &[u8]) -> Captured {
    let ethertype = frame
        .get(12..14)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let line = match ethertype {
        0x0800 if frame.len() >= 34 => {
            let ip = &frame[14..];
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            format!(
                "IPv4 {src} → {dst}{}",
                udp_ports(ip, usize::from(ip[0] & 0xf) * 4, ip[9])
            )
        }
        0x86dd if frame.len() >= 54 => {
            let ip = &frame[14..];
            let address =
                |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&ip[at..at + 16]).unwrap());
            format!(
                "IPv6 {} → {}{}",
                address(8),
                address(24),
                udp_ports(ip, 40, ip[6])
            )
        }
        other => format!("ethertype {other:#06x}"),
    };
    Captured {
        ethertype,
        line: format!("{line}, {} bytes", frame.len()),
    }
}

fn udp_ports(ip: &[u8], header: usize, protocol: u8) -> String {
    match (protocol, ip.get(header..header + 4)) {
        (17, Some(p)) => format!(
            " UDP {} → {}",
            u16::from_be_bytes([p[0], p[1]]),
            u16::from_be_bytes([p[2], p[3]])
        ),
        (1, _) => " ICMP".into(),
        (6, _) => " TCP".into(),
        (58, _) => " ICMPv6".into(),
        _ => format!(" protocol {protocol}"),
    }
}

/// Throws away what is queued: frames that arrived between socket() and
/// SO_ATTACH_FILTER went through no filter.
pub fn drain(fd: &OwnedFd) -> usize {
    let mut buffer = vec![0u8; 65536];
    let mut dropped = 0;
    // SAFETY: the buffer is valid and writable for its whole length.
    while unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            libc::MSG_DONTWAIT,
        )
    } >= 0
    {
        dropped += 1;
    }
    dropped
}
