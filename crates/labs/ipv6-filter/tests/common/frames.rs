//! Random Ethernet frames for lab-ipv6-filter's grading tests, new at every
//! run, and what `tcpdump -d 'ip6 and udp'` does with each.
//!
//! They come in kinds, taken in turn so that every kind is there however
//! few frames a test asks for: IPv6 carrying UDP, TCP, ICMPv6 or anything,
//! behind chains of extension headers (hop-by-hop, routing, destination
//! options, fragment) or none; IPv4; ARP and other ethertypes;
//! and any of these cut short. Ports, addresses, payloads, lengths and
//! header contents are random.

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
pub const NO_NEXT_HEADER: u8 = 59;
/// The extension headers made of `next, length, ...` (hop-by-hop,
/// routing, destination options).
const OPTIONS_HEADERS: [u8; 3] = [0, 43, 60];

/// What `tcpdump -d 'ip6 and udp'` keeps, read as its nine instructions
/// read a frame: the ethertype is 0x86dd (`ldh [12]`), and the next-header
/// byte of the fixed IPv6 header (`ldb [20]`) is UDP, or is a fragment
/// header whose own next header (`ldb [54]`) is UDP. A load past the end
/// of the frame drops it. Kept frames are kept whole (`ret #262144`).
pub fn tcpdump_keeps(frame: &[u8]) -> bool {
    frame.len() >= 14
        && frame[12..14] == ETH_P_IPV6.to_be_bytes()
        && match frame.get(20) {
            Some(&UDP) => true,
            Some(&FRAGMENT) => frame.get(54) == Some(&UDP),
            _ => false,
        }
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

/// A transport header and payload for `protocol`: UDP with random ports
/// and up to 64 random bytes, a TCP header and payload, an ICMPv6 message,
/// nothing for "no next header", random bytes for anything else.
pub fn transport(protocol: u8) -> Vec<u8> {
    let payload = random_bytes(below(65));
    let mut segment = match protocol {
        UDP => {
            let mut header = random_bytes(8);
            header[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            header
        }
        TCP => {
            let mut header = random_bytes(20);
            header[12] = 0x50;
            header
        }
        ICMPV6 => random_bytes(8),
        NO_NEXT_HEADER => return Vec::new(),
        _ => Vec::new(),
    };
    segment.extend(payload);
    segment
}

/// Extension headers `chain` (each the next header value of the one before,
/// the first being the fixed header's), then `last` and its transport.
fn chained(chain: &[u8], last: u8) -> (u8, Vec<u8>) {
    let mut rest = transport(last);
    let mut next = last;
    for &header in chain.iter().rev() {
        let mut bytes = if header == FRAGMENT {
            // Next header, reserved, offset and M flag, identification.
            random_bytes(8)
        } else {
            // Next header, length in 8-byte units after the first 8.
            let units = below(3);
            let mut bytes = random_bytes(8 * (units + 1));
            bytes[1] = units as u8;
            bytes
        };
        bytes[0] = next;
        bytes.extend(rest);
        rest = bytes;
        next = header;
    }
    (next, rest)
}

/// A random chain of 0 to 3 extension headers.
fn random_chain() -> Vec<u8> {
    (0..below(4))
        .map(|_| pick(&[0, 43, 60, FRAGMENT]))
        .collect()
}

/// Frames, `count` of them, taken in turn from the kinds, each kind filled
/// with random contents. `shortest` is the least length a frame may be cut
/// to (a packet socket sends nothing shorter than an Ethernet header).
pub fn frames(count: usize, shortest: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|n| {
            let frame = match n % 12 {
                // IPv6 UDP, and the same behind a fragment header.
                0 => ethernet(ETH_P_IPV6, &ipv6(UDP, &transport(UDP))),
                1 => {
                    let (next, rest) = chained(&[FRAGMENT], UDP);
                    ethernet(ETH_P_IPV6, &ipv6(next, &rest))
                }
                // Other protocols, right there or behind a fragment header.
                2 => {
                    let last = pick(&[TCP, ICMPV6, NO_NEXT_HEADER, pick(&[1, 2, 41, 50, 132])]);
                    ethernet(ETH_P_IPV6, &ipv6(last, &transport(last)))
                }
                3 => {
                    let last = pick(&[TCP, ICMPV6, NO_NEXT_HEADER]);
                    let (next, rest) = chained(&[FRAGMENT], last);
                    ethernet(ETH_P_IPV6, &ipv6(next, &rest))
                }
                // UDP behind other extension headers: tcpdump does not look.
                4 => {
                    let mut chain = random_chain();
                    chain.insert(0, pick(&OPTIONS_HEADERS));
                    let (next, rest) = chained(&chain, UDP);
                    ethernet(ETH_P_IPV6, &ipv6(next, &rest))
                }
                // Any chain, any end.
                5 | 6 => {
                    let last = pick(&[UDP, UDP, TCP, ICMPV6, NO_NEXT_HEADER]);
                    let (next, rest) = chained(&random_chain(), last);
                    ethernet(ETH_P_IPV6, &ipv6(next, &rest))
                }
                // IPv4: UDP mostly; a 17 at offset 20 too, sometimes.
                7 => {
                    let protocol = pick(&[UDP, UDP, TCP, 1]);
                    let mut packet = ipv4(protocol, &transport(protocol));
                    if below(2) == 0 {
                        packet[6] = UDP;
                    }
                    ethernet(ETH_P_IP, &packet)
                }
                // ARP, LLDP, an ethertype next to IPv6's, any. (No VLAN
                // tag: the kernel takes it out of a frame before any packet
                // socket sees it.)
                8 => {
                    let ethertype = pick(&[ETH_P_ARP, 0x88cc, 0x86dc, 0x86de, 0xdd86, 0x0086]);
                    let mut body = ipv6(UDP, &transport(UDP));
                    body.truncate(14 + below(body.len() - 14));
                    ethernet(ethertype, &body)
                }
                9 => {
                    let ethertype = u16::from_be_bytes([random_bytes(1)[0], random_bytes(1)[0]]);
                    let ethertype = if ethertype == ETH_P_IPV6 {
                        ETH_P_IP
                    } else {
                        ethertype
                    };
                    ethernet(ethertype, &ipv6(UDP, &transport(UDP)))
                }
                // IPv6 UDP, directly or behind a fragment header, cut short.
                _ => {
                    let full = if n % 2 == 0 {
                        ethernet(ETH_P_IPV6, &ipv6(UDP, &transport(UDP)))
                    } else {
                        let (next, rest) = chained(&[FRAGMENT], UDP);
                        ethernet(ETH_P_IPV6, &ipv6(next, &rest))
                    };
                    let cut = pick(&[12, 14, 19, 20, 21, 53, 54, 55, 60]);
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

/// One frame, shown for a student: its length, then its first bytes in hex.
pub fn shown(frame: &[u8]) -> String {
    let head: Vec<String> = frame.iter().take(60).map(|b| format!("{b:02x}")).collect();
    format!(
        "{} bytes: {}{}",
        frame.len(),
        head.join(" "),
        if frame.len() > 60 { " ..." } else { "" }
    )
}
