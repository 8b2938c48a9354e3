// ipv6-filter: the lecture's classic BPF program, `tcpdump -i enp2s0 ip6`,
// built by hand with BPF_STMT and BPF_JUMP and attached to a packet socket
// with SO_ATTACH_FILTER; with --ebpf, the same test in eBPF, loaded with
// bpf(BPF_PROG_LOAD) and attached with SO_ATTACH_BPF.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libc::{BPF_ABS, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET};
use workbook::bpf::disasm::{listing, parse_ddd};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};

use ipv6_filter::ebpf::{self, Rejected};
use ipv6_filter::{attach_filter, dump, explain, live};

/// The ethertype of IPv6, at offset 12 of an Ethernet frame.
const ETH_P_IPV6: u32 = 0x86dd;

// ANCHOR: program
/// `tcpdump -d ip6`, instruction by instruction.
pub fn ipv6_filter() -> [sock_filter; 4] {
    [
        bpf_stmt(BPF_LD | BPF_H | BPF_ABS, 12),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 1),
        bpf_stmt(BPF_RET | BPF_K, 0x0004_0000),
        bpf_stmt(BPF_RET | BPF_K, 0),
    ]
}
// ANCHOR_END: program

/// The lecture's `ip6` filter, built by hand: listed as `tcpdump -d` lists
/// it, explained instruction by instruction, and run on a packet socket.
///
/// With no options it opens an AF_PACKET socket in a fresh user and network
/// namespace (no root needed), attaches the filter, sends IPv4 and IPv6
/// datagrams over loopback and shows which frames the socket receives.
/// With --ebpf (as root) the socket gets the same test written in eBPF.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// List the program as `tcpdump -d ip6` does;
    /// like tcpdump, -dd prints it as C code and -ddd as decimal numbers.
    #[arg(short = 'd', action = clap::ArgAction::Count, group = "mode")]
    dump: u8,
    /// Read a program in `tcpdump -ddd` form on stdin and list it like `tcpdump -d`.
    #[arg(long, group = "mode")]
    disasm: bool,
    /// Run the program in a userspace interpreter on sample frames, one
    /// instruction at a time, and check each verdict against the kernel's.
    #[arg(long, group = "mode")]
    explain: bool,
    /// With --explain: the program to run, in `tcpdump -ddd` form ("-" for stdin).
    #[arg(long, requires = "explain", value_name = "FILE")]
    program: Option<std::path::PathBuf>,
    /// As root: listen on this interface instead, and send nothing.
    #[arg(long, group = "mode", value_name = "NAME")]
    iface: Option<String>,
    /// With --iface: stop after this many seconds.
    #[arg(long, default_value_t = 5, requires = "iface", value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// With --iface: stop after this many frames (at least 1).
    #[arg(long, requires = "iface", value_parser = at_least_one)]
    count: Option<u64>,
    /// Attach the program to the socket open on file descriptor FD, one
    /// this process inherited, and exit: the process that handed it over
    /// keeps the socket, filtered.
    #[arg(long, group = "mode", value_name = "FD", value_parser = clap::value_parser!(i32).range(0..))]
    attach_fd: Option<i32>,
    /// Use the same test written in eBPF instead, loaded with
    /// bpf(BPF_PROG_LOAD) and attached with SO_ATTACH_BPF, and show the
    /// verifier's log. Needs CAP_BPF (root), with or without --iface and
    /// --attach-fd.
    #[arg(long, conflicts_with_all = ["dump", "disasm", "explain", "ebpf_rejected"])]
    ebpf: bool,
    /// Load a program the eBPF verifier refuses, and show its log. Needs
    /// CAP_BPF (root).
    #[arg(long, group = "mode", value_name = "PROGRAM")]
    ebpf_rejected: Option<Rejected>,
}

/// `--count`: a number of frames, 1 or more.
fn at_least_one(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("--count must be at least 1".into()),
        Ok(count) => Ok(count),
        Err(_) => Err("--count takes a number of frames, at least 1".into()),
    }
}

fn main() -> ExitCode {
    workbook::main(run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    // ANCHOR: load_first
    // Loaded first: in the live run's new user namespace we are root, but
    // bpf(2) checks CAP_BPF in the initial one, where we would have none.
    let filter = if args.ebpf {
        Filter::Ebpf(ebpf::load_ipv6_filter()?)
    } else {
        Filter::Classic
    };
    // ANCHOR_END: load_first
    if args.dump > 0 {
        print!("{}", dump(&ipv6_filter(), args.dump));
    } else if args.disasm {
        print!("{}", listing(&read_program(None)?));
    } else if args.explain {
        let program = match &args.program {
            None => ipv6_filter().to_vec(),
            Some(path) if path.as_os_str() == "-" => read_program(None)?,
            Some(path) => read_program(Some(path))?,
        };
        explain::explain(&program)?;
    } else if let Some(which) = args.ebpf_rejected {
        ebpf::show_rejected(which)?;
    } else if let Some(name) = &args.iface {
        listen(&filter, name, Duration::from_secs(args.seconds), args.count)?;
    } else if let Some(fd) = args.attach_fd {
        attach_to(&filter, fd)?;
    } else {
        live_run(&filter)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A program in `tcpdump -ddd` form, from `path` or stdin. Errors name the
/// input; an empty program is one, for --disasm as for --explain.
fn read_program(path: Option<&std::path::Path>) -> Result<Vec<sock_filter>> {
    let (name, text) = match path {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the program from stdin")?;
            ("stdin".to_string(), text)
        }
    };
    let program = parse_ddd(&text).with_context(|| name.clone())?;
    anyhow::ensure!(
        !program.is_empty(),
        "{name}: no program: the count is 0, and a classic BPF program has 1 to 4096 instructions"
    );
    Ok(program)
}

// ANCHOR: filter
/// The program a socket gets: the lecture's, or the same test in eBPF,
/// loaded already.
enum Filter {
    Classic,
    Ebpf(OwnedFd),
}

impl Filter {
    fn attach(&self, socket: BorrowedFd<'_>) -> Result<()> {
        match self {
            Filter::Classic => attach_filter(socket, &ipv6_filter()),
            Filter::Ebpf(program) => ebpf::attach_bpf(socket, program.as_fd()),
        }
    }

    /// How it was attached, for the narration.
    fn how(&self) -> &'static str {
        match self {
            Filter::Classic => "SO_ATTACH_FILTER",
            Filter::Ebpf(_) => "SO_ATTACH_BPF",
        }
    }
}
// ANCHOR_END: filter

/// How many datagrams of each kind the live run sends.
const DATAGRAMS: usize = 3;

// ANCHOR: live
fn live_run(filter: &Filter) -> Result<()> {
    live::enter_private_network()?;
    workbook::narrate!(
        "ipv6-filter: in a new user and network namespace, with only lo, brought up"
    );
    let lo = live::interface_index("lo")?;
    let socket = live::packet_socket(lo, "lo")?;
    filter.attach(socket.as_fd())?;
    workbook::narrate!(
        "ipv6-filter: AF_PACKET socket on lo, filter attached with {}",
        filter.how()
    );
    live::send_traffic(DATAGRAMS)?;
    workbook::narrate!(
        "ipv6-filter: sent {DATAGRAMS} UDP datagrams to 127.0.0.1 and {DATAGRAMS} to ::1"
    );
    let frames = live::capture(
        &socket,
        Some(DATAGRAMS),
        Duration::from_millis(500),
        Duration::from_secs(3),
    )?;
    for frame in &frames {
        println!("captured {}", frame.line);
    }
    let count = |ethertype| frames.iter().filter(|f| f.ethertype == ethertype).count();
    println!(
        "sent {DATAGRAMS} IPv4 + {DATAGRAMS} IPv6, captured {} IPv4 + {} IPv6",
        count(0x0800),
        count(0x86dd)
    );
    Ok(())
}
// ANCHOR_END: live

/// `--attach-fd FD`: SetIPV6Filter alone, on a socket someone handed over.
fn attach_to(filter: &Filter, fd: std::os::fd::RawFd) -> Result<()> {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        anyhow::bail!("--attach-fd {fd}: no file descriptor {fd} is open here");
    }
    // SAFETY: the descriptor is open (checked above) and stays open while
    // it is borrowed: nothing here closes it.
    let socket = unsafe { BorrowedFd::borrow_raw(fd) };
    filter
        .attach(socket)
        .with_context(|| format!("--attach-fd {fd}"))?;
    workbook::narrate!(
        "ipv6-filter: filter attached with {} to the socket on fd {fd}",
        filter.how()
    );
    Ok(())
}

/// As root, on a real interface: only the filter decides what we see.
fn listen(filter: &Filter, name: &str, seconds: Duration, count: Option<u64>) -> Result<()> {
    let index = live::interface_index(name)?;
    if !nix::unistd::geteuid().is_root() {
        anyhow::bail!(
            "--iface {name}: listening on a real interface needs root (CAP_NET_RAW); \
             without --iface the demo needs no root"
        );
    }
    let socket = live::packet_socket(index, name)?;
    filter.attach(socket.as_fd())?;
    // Frames that arrived between socket() and the attach were not filtered.
    live::drain(&socket);
    workbook::narrate!(
        "ipv6-filter: listening on {name} for {} s with the ip6 filter",
        seconds.as_secs()
    );
    let frames = live::capture(&socket, count.map(|c| c as usize), seconds, seconds)?;
    for frame in &frames {
        println!("captured {}", frame.line);
    }
    workbook::narrate!("ipv6-filter: captured {} frames", frames.len());
    Ok(())
}
