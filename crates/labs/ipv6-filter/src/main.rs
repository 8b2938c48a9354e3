//! lab-ipv6-filter: a classic BPF program built at run time, for a UDP port
//! the user gives: `ip6 and udp dst port PORT`. You write the program in
//! `lab.rs`; this file lists it as tcpdump does, attaches it with the
//! demo's SetIPV6Filter (`ipv6_filter::attach_filter`), and runs it on a
//! packet socket in a network namespace of its own:
//! `cargo run -p lab-ipv6-filter -- --port PORT [-d | -dd | --attach-fd FD]`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use ipv6_filter::{attach_filter, dump, live};

mod lab;

/// Your `ip6 and udp dst port PORT` filter, from lab.rs: listed as
/// `tcpdump -d` lists it, attached to a socket handed over, or run on a
/// packet socket on `lo`.
///
/// With no mode option it opens an AF_PACKET socket in a fresh user and
/// network namespace (no root needed), attaches the filter, sends UDP
/// datagrams over loopback to PORT and to another port, over IPv6 and
/// IPv4, and shows which frames the socket receives.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The UDP destination port the program keeps (1 to 65535).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// List the program as `tcpdump -d` does; -dd prints it as C code and
    /// -ddd as decimal numbers, as tcpdump does.
    #[arg(short = 'd', action = clap::ArgAction::Count, group = "mode")]
    dump: u8,
    /// Attach the program to the socket open on file descriptor FD, one
    /// this process inherited, and exit: the process that handed it over
    /// keeps the socket, filtered.
    #[arg(long, group = "mode", value_name = "FD", value_parser = clap::value_parser!(i32).range(0..))]
    attach_fd: Option<i32>,
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let program = lab::ip6_udp_dst_port(args.port);
    if args.dump > 0 {
        print!("{}", dump(&program, args.dump));
    } else if let Some(fd) = args.attach_fd {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            anyhow::bail!("--attach-fd {fd}: no file descriptor {fd} is open here");
        }
        // SAFETY: the descriptor is open (checked above) and stays open
        // while it is borrowed: nothing here closes it.
        let socket = unsafe { BorrowedFd::borrow_raw(fd) };
        attach_filter(socket, &program).with_context(|| format!("--attach-fd {fd}"))?;
        workbook::narrate!(
            "lab-ipv6-filter: the filter for UDP port {} attached to the socket on fd {fd}",
            args.port
        );
    } else {
        live_run(args.port, &program)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's live run, with your program and datagrams aimed at PORT.
fn live_run(port: u16, program: &[workbook::bpf::sock_filter]) -> Result<()> {
    live::enter_private_network()?;
    let lo = live::interface_index("lo")?;
    let socket = live::packet_socket(lo, "lo")?;
    attach_filter(socket.as_fd(), program)?;
    workbook::narrate!(
        "lab-ipv6-filter: AF_PACKET socket on lo, in a namespace of our own, \
         filter for UDP port {port} attached"
    );
    let sent = send_datagrams(port)?;
    let frames = live::capture(
        &socket,
        None,
        Duration::from_millis(300),
        Duration::from_secs(3),
    )?;
    for frame in &frames {
        println!("captured {}", frame.line);
    }
    println!("sent {sent} datagrams, captured {} frames", frames.len());
    Ok(())
}

/// One UDP datagram to each of [::1]:PORT, [::1]:another port and
/// 127.0.0.1:PORT, from a socket bound to the same address, each to a
/// socket that receives it (so that no ICMP error comes back). Returns how
/// many were sent.
fn send_datagrams(port: u16) -> Result<usize> {
    let another = port.checked_add(1).unwrap_or(port - 1);
    let destinations = [
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, another)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    ];
    let bind = |address: SocketAddr| {
        UdpSocket::bind(address).with_context(|| {
            format!("binding a UDP socket to {address} (is IPv6 disabled on this machine?)")
        })
    };
    let mut receivers = Vec::new();
    for destination in destinations {
        receivers.push(bind(destination)?);
        let sender = bind(SocketAddr::new(destination.ip(), 0))?;
        sender
            .send_to(b"lab-ipv6-filter", destination)
            .with_context(|| format!("sendto {destination}"))?;
        workbook::narrate!("lab-ipv6-filter: sent a UDP datagram to {destination}");
    }
    Ok(destinations.len())
}
