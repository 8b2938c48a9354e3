//! The kernel's own verdict on a frame, without privileges: a packet socket
//! needs CAP_NET_RAW, but any socket takes SO_ATTACH_FILTER, and a Unix
//! datagram socket runs the filter on every datagram sent to it.
//!
//! The datagram starts at its first byte, as a packet socket's frame starts
//! at the destination MAC, so `ldh [12]` reads the same two bytes. Ancillary
//! loads (`SKF_AD_OFF + n`) would see a Unix socket's metadata rather than a
//! network card's; the lecture's program has none.

use std::os::fd::{AsFd, AsRawFd};

use anyhow::{ensure, Context, Result};
use nix::errno::Errno;
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

use workbook::bpf::sock_filter;

/// How many bytes of `frame` the kernel delivers through `program`: 0 if
/// the filter drops it.
///
/// `unix_dgram_sendmsg()` runs the receiver's filter via `sk_filter()`,
/// that is `sk_filter_trim_cap(sk, skb, 1)`: a return value of 0 tosses the
/// datagram (and `send` still succeeds, so the sender cannot tell), any
/// other value `n` trims it to `max(1, n)` bytes, which for n ≥ 1 is `n`,
/// and a datagram shorter than that stays whole. So the receiver gets
/// `min(n, frame.len())` bytes, what the interpreter's `kept()` says.
///
/// The filter runs on this process's socket: call it from the demo, never
/// from a test process (tests run the demo binary instead).
pub fn kernel_keeps(program: &[sock_filter], frame: &[u8]) -> Result<usize> {
    let (sender, receiver) = socketpair(
        AddressFamily::Unix,
        SockType::Datagram,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair(AF_UNIX, SOCK_DGRAM)")?;
    crate::attach_filter(receiver.as_fd(), program)?;
    let sent = send(sender.as_raw_fd(), frame, MsgFlags::empty()).context("send")?;
    ensure!(
        sent == frame.len(),
        "send: sent {sent} of {} bytes",
        frame.len()
    );
    // One byte more than the frame: a datagram that fits with room to spare
    // was not cut by recv, so its length is the kernel's trimming alone.
    let mut buf = vec![0; frame.len() + 1];
    // The datagram is queued before send returns, so nothing to wait for:
    // an empty queue means the filter dropped it.
    match recv(receiver.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
        Ok(n) => Ok(n),
        Err(Errno::EAGAIN) => Ok(0),
        Err(e) => Err(e).context("recv(MSG_DONTWAIT)"),
    }
}

/// Whether the kernel takes `program` at all: SO_ATTACH_FILTER runs the
/// kernel's own checker, the one `interp::check` mirrors.
pub fn kernel_accepts(program: &[sock_filter]) -> Result<std::result::Result<(), Errno>> {
    let (_, receiver) = socketpair(
        AddressFamily::Unix,
        SockType::Datagram,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair(AF_UNIX, SOCK_DGRAM)")?;
    Ok(match crate::attach_filter(receiver.as_fd(), program) {
        Ok(()) => Ok(()),
        Err(error) => Err(error
            .downcast_ref::<Errno>()
            .copied()
            .unwrap_or(Errno::UnknownErrno)),
    })
}
