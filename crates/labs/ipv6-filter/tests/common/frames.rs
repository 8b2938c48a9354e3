//! Random Ethernet frames for lab-ipv6-filter's grading tests, new at every
//! run, aimed at a port the test chose, and what `ip6 and udp dst port
//! PORT` does with each.
//!
//! They come in kinds, taken in turn so that every kind is there however
//! few frames a test asks for: IPv6 UDP to the port; near misses (another
//! port, the port's bytes swapped, the port as the source, TCP or another
//! protocol with the port's bytes at the same place, UDP behind an
//! extension header, IPv4, other ethertypes); and frames cut short.
//! Addresses, payloads, lengths and header contents are random.

pub use workbook::testing::random_bytes;

/// A number below `n`, at random.
pub fn below(n: usize) -> usize {
    let bytes: [u8; 8] = random_bytes(8).try_into().expect("8 bytes");
    (u64::from_ne_bytes(bytes) % n as u64) as usize
}

/// One of `items`, at random.
pub fn pick<T: Copy>(items: &[T]) -> T {
    items[below(items.len())]
}

pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const UDP: u8 = 17;
pub const TCP: u8 = 6;
pub const ICMPV6: u8 = 58;
pub const FRAGMENT: u8 = 44;

/// A port for a test, at random: 1024 or more, and its two bytes differ,
/// so that the port read in the wrong byte order is another port.
pub fn random_port() -> u16 {
    loop {
        let port = 1024 + below(65536 - 1024) as u16;
        if port.swap_bytes() != port {
            return port;
        }
    }
}

/// Another port than `port`, near it or not: its bytes swapped, one more
/// or less, or any.
pub fn another_port(port: u16) -> u16 {
    loop {
        let other = match below(4) {
            0 => port.swap_bytes(),
            1 => port.wrapping_add(1),
            2 => port.wrapping_sub(1),
            _ => random_bytes(2)
                .iter()
                .fold(0, |n, &b| n << 8 | u16::from(b)),
        };
        if other != port {
            return other;
        }
    }
}

/// What `ip6 and udp dst port PORT` keeps, read as a program reads a frame:
/// the ethertype is IPv6 (`ldh [12]`), the next-header byte of the fixed
/// IPv6 header (`ldb [20]`) is UDP, and the UDP destination port (`ldh
/// [56]`) is `port`. A load past the end of the frame drops it. Kept frames
/// are kept whole.
pub fn keeps(frame: &[u8], port: u16) -> bool {
    frame.get(12..14) == Some(&ETH_P_IPV6.to_be_bytes()[..])
        && frame.get(20) == Some(&UDP)
        && frame.get(56..58) == Some(&port.to_be_bytes()[..])
}

/// An Ethernet frame: a unicast, locally administered destination MAC that
/// is nobody's (the kernel drops such a frame as PACKET_OTHERHOST before
/// any protocol sees it), a random source MAC, the ethertype, `payload`.
pub fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = random_bytes(12);
    frame[0] = (frame[0] & 0xfc) | 0x02;
    frame.extend(ethertype.to_be_bytes());
    frame.extend(payload);
    frame
}

/// A fixed 40-byte IPv6 header with random addresses, traffic class, flow
/// label and hop limit, whose next header is `next`, then `rest`.
pub fn ipv6(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut packet = random_bytes(40);
    packet[0] = 0x60 | (packet[0] & 0x0f);
    packet[4..6].copy_from_slice(&(rest.len() as u16).to_be_bytes());
    packet[6] = next;
    packet.extend(rest);
    packet
}

/// A 20-byte IPv4 header (random addresses, id, TTL) carrying `protocol`.
pub fn ipv4(protocol: u8, rest: &[u8]) -> Vec<u8> {
    let mut packet = random_bytes(20);
    packet[0] = 0x45;
    packet[2..4].copy_from_slice(&((20 + rest.len()) as u16).to_be_bytes());
    packet[9] = protocol;
    packet.extend(rest);
    packet
}

/// A UDP header from `source` to `destination`, then up to 64 random bytes.
pub fn udp(source: u16, destination: u16) -> Vec<u8> {
    let payload = random_bytes(below(65));
    let mut datagram = Vec::with_capacity(8 + payload.len());
    datagram.extend(source.to_be_bytes());
    datagram.extend(destination.to_be_bytes());
    datagram.extend(((8 + payload.len()) as u16).to_be_bytes());
    datagram.extend(random_bytes(2)); // checksum: nobody checks it here
    datagram.extend(payload);
    datagram
}

/// A TCP header to `destination` (from a random port), then up to 64
/// random bytes.
pub fn tcp(destination: u16) -> Vec<u8> {
    let mut segment = random_bytes(20);
    segment[2..4].copy_from_slice(&destination.to_be_bytes());
    segment[12] = 0x50;
    segment.extend(random_bytes(below(65)));
    segment
}

/// A random source port that is not `port`.
fn source_port(port: u16) -> u16 {
    another_port(port)
}

/// IPv6 carrying a UDP datagram to `port`.
pub fn ipv6_udp_to(port: u16) -> Vec<u8> {
    ethernet(ETH_P_IPV6, &ipv6(UDP, &udp(source_port(port), port)))
}

/// Frames, `count` of them, taken in turn from the kinds, aimed at `port`.
/// `shortest` is the least length a frame may be (a packet socket sends
/// nothing shorter than an Ethernet header): shorter ones are padded.
pub fn frames(count: usize, port: u16, shortest: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|n| {
            let frame = match n % 12 {
                // What is kept.
                0 | 1 => ipv6_udp_to(port),
                // UDP over IPv6 to another port, or from the port.
                2 => ethernet(
                    ETH_P_IPV6,
                    &ipv6(UDP, &udp(source_port(port), another_port(port))),
                ),
                3 => ethernet(ETH_P_IPV6, &ipv6(UDP, &udp(port, another_port(port)))),
                // TCP to the port: its destination port is where UDP's is.
                4 => ethernet(ETH_P_IPV6, &ipv6(TCP, &tcp(port))),
                // Another protocol, the port's bytes where UDP's port is.
                5 => {
                    let next = pick(&[ICMPV6, 0, 43, 60, 59, 132, 255]);
                    let mut rest = udp(source_port(port), port);
                    rest.extend(random_bytes(8));
                    ethernet(ETH_P_IPV6, &ipv6(next, &rest))
                }
                // UDP to the port behind a fragment header or options:
                // `ldb [20]` sees the extension header, not UDP.
                6 => {
                    let next = pick(&[FRAGMENT, 0, 60]);
                    let mut rest = random_bytes(8);
                    rest[0] = UDP;
                    rest[1] = 0;
                    rest.extend(udp(source_port(port), port));
                    ethernet(ETH_P_IPV6, &ipv6(next, &rest))
                }
                // IPv4 UDP to the port; sometimes with a 17 at offset 20
                // and the port at offset 56 too.
                7 => {
                    let mut packet = ipv4(UDP, &udp(source_port(port), port));
                    packet.extend(random_bytes(24));
                    if below(2) == 0 {
                        packet[6] = UDP;
                        packet[42..44].copy_from_slice(&port.to_be_bytes());
                    }
                    ethernet(ETH_P_IP, &packet)
                }
                // What would be kept, behind another ethertype: ARP, one
                // next to IPv6's, IPv6's bytes swapped, any.
                8 => {
                    let ethertype = pick(&[
                        ETH_P_ARP,
                        ETH_P_IP,
                        0x86dc,
                        0x86de,
                        0xdd86,
                        0x0086,
                        u16::from_be_bytes([random_bytes(1)[0], 0xdd]),
                    ]);
                    let ethertype = if ethertype == ETH_P_IPV6 {
                        ETH_P_ARP
                    } else {
                        ethertype
                    };
                    ethernet(ethertype, &ipv6(UDP, &udp(source_port(port), port)))
                }
                // Kept, with the payload's first bytes random: anything
                // after the port must not matter.
                9 => {
                    let mut frame = ipv6_udp_to(port);
                    frame.extend(random_bytes(below(200)));
                    frame
                }
                // UDP to the port, cut short: before or in the headers,
                // before, in, or right after the port.
                _ => {
                    let full = ipv6_udp_to(port);
                    let cut = pick(&[12, 13, 14, 19, 20, 21, 54, 55, 56, 57, 58, 59, 62]);
                    full[..cut.min(full.len())].to_vec()
                }
            };
            if frame.len() < shortest {
                let mut padded = frame;
                padded.resize(shortest, 0);
                padded
            } else {
                frame
            }
        })
        .collect()
}

/// One frame, shown for a student: what a program reads of it (the
/// ethertype, the byte at 20, the halfwords at 54 and 56, as far as the
/// frame goes), its length, then its first bytes in hex.
pub fn shown(frame: &[u8]) -> String {
    let halfword = |at: usize| {
        frame
            .get(at..at + 2)
            .map_or("past the end".to_string(), |b| {
                u16::from_be_bytes([b[0], b[1]]).to_string()
            })
    };
    let byte = |at: usize| {
        frame
            .get(at)
            .map_or("past the end".to_string(), u8::to_string)
    };
    let head: Vec<String> = frame.iter().take(60).map(|b| format!("{b:02x}")).collect();
    format!(
        "[ethertype {}, [20] {}, [54] {}, [56] {}] {} bytes: {}{}",
        frame
            .get(12..14)
            .map_or("past the end".to_string(), |b| format!(
                "{:#06x}",
                u16::from_be_bytes([b[0], b[1]])
            )),
        byte(20),
        halfword(54),
        halfword(56),
        frame.len(),
        head.join(" "),
        if frame.len() > 60 { " ..." } else { "" }
    )
}
