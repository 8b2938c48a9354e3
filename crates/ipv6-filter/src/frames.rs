//! Sample Ethernet frames for `--explain`: one the lecture's filter keeps,
//! and three it drops for different reasons.
//!
//! The frames are built field by field with the headers' real layouts and
//! lengths (and checksums), so that tcpdump would decode them too; the
//! filter itself only looks at the ethertype, bytes 12 and 13.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A named frame, starting at the destination MAC address.
pub struct Frame {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// Locally administered addresses (the 0x02 bit of the first byte), which
/// no network card ships with.
const SRC_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const DST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const BROADCAST: [u8; 6] = [0xff; 6];

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_UDP: u8 = 17;

/// The documentation prefixes (RFC 3849, RFC 5737): addresses that route
/// nowhere.
const V6_SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const V6_DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const V4_SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const V4_DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

const SRC_PORT: u16 = 40000;
const DST_PORT: u16 = 7; // echo
const PAYLOAD: &[u8] = b"ping";

/// The four frames `--explain` runs the filter on.
pub fn samples() -> Vec<Frame> {
    let ipv6 = ethernet(DST_MAC, SRC_MAC, ETH_P_IPV6, &ipv6_udp(V6_SRC, V6_DST));
    // Ten bytes: the destination MAC and part of the source MAC. `ldh [12]`
    // reads past the end, and the kernel drops the frame.
    let runt = ipv6[..10].to_vec();
    vec![
        Frame {
            name: "IPv6 UDP 2001:db8::1 → 2001:db8::2",
            bytes: ipv6,
        },
        Frame {
            name: "IPv4 UDP 192.0.2.1 → 192.0.2.2",
            bytes: ethernet(DST_MAC, SRC_MAC, ETH_P_IP, &ipv4_udp(V4_SRC, V4_DST)),
        },
        Frame {
            name: "ARP who-has 192.0.2.2 tell 192.0.2.1",
            bytes: ethernet(BROADCAST, SRC_MAC, ETH_P_ARP, &arp_request(V4_SRC, V4_DST)),
        },
        Frame {
            name: "runt, cut off before the ethertype",
            bytes: runt,
        },
    ]
}

/// The Ethernet header as the lecture draws it: destination MAC (6 bytes),
/// source MAC (6), ethertype (2), so the ethertype is at offset 12. No
/// frame check sequence: the card strips it before a packet socket sees it.
fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + payload.len());
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// A 40-byte IPv6 header and a UDP datagram carrying [`PAYLOAD`].
fn ipv6_udp(src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let udp_len = (8 + PAYLOAD.len()) as u16;
    // IPv6 makes the UDP checksum mandatory; it covers a pseudo-header of
    // the addresses, the upper-layer length and the next header.
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&u32::from(udp_len).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, IPPROTO_UDP]);

    let mut packet = Vec::with_capacity(40 + usize::from(udp_len));
    // Version 6, traffic class 0, flow label 0.
    packet.extend_from_slice(&[0x60, 0, 0, 0]);
    // Payload length: everything after this fixed header.
    packet.extend_from_slice(&udp_len.to_be_bytes());
    packet.push(IPPROTO_UDP); // next header
    packet.push(64); // hop limit
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    packet.extend_from_slice(&udp(&pseudo));
    packet
}

/// A 20-byte IPv4 header without options and a UDP datagram carrying
/// [`PAYLOAD`].
fn ipv4_udp(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let udp_len = (8 + PAYLOAD.len()) as u16;
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, IPPROTO_UDP]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());

    let mut header = Vec::with_capacity(20);
    header.push(0x45); // version 4, header length 5 words
    header.push(0); // DSCP, ECN
    header.extend_from_slice(&(20 + udp_len).to_be_bytes()); // total length
    header.extend_from_slice(&[0, 0]); // identification
    header.extend_from_slice(&[0x40, 0]); // don't fragment, offset 0
    header.push(64); // TTL
    header.push(IPPROTO_UDP);
    header.extend_from_slice(&[0, 0]); // checksum, filled in below
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    let sum = checksum(&[&header]);
    header[10..12].copy_from_slice(&sum.to_be_bytes());

    let mut packet = header;
    packet.extend_from_slice(&udp(&pseudo));
    packet
}

/// A UDP header and [`PAYLOAD`], checksummed over `pseudo` (the IP layer's
/// pseudo-header) and the datagram.
fn udp(pseudo: &[u8]) -> Vec<u8> {
    let len = (8 + PAYLOAD.len()) as u16;
    let mut datagram = Vec::with_capacity(usize::from(len));
    datagram.extend_from_slice(&SRC_PORT.to_be_bytes());
    datagram.extend_from_slice(&DST_PORT.to_be_bytes());
    datagram.extend_from_slice(&len.to_be_bytes());
    datagram.extend_from_slice(&[0, 0]); // checksum, filled in below
    datagram.extend_from_slice(PAYLOAD);
    // A computed 0 is sent as 0xffff: 0 means "no checksum".
    let sum = match checksum(&[pseudo, &datagram]) {
        0 => 0xffff,
        sum => sum,
    };
    datagram[6..8].copy_from_slice(&sum.to_be_bytes());
    datagram
}

/// The Internet checksum (RFC 1071) over the concatenated `parts`, each of
/// even length except possibly the last.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        for pair in part.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            sum += hi | pair.get(1).copied().map_or(0, u32::from);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ARP request for IPv4 over Ethernet: 28 bytes, "who has `target`?
/// tell `sender`".
fn arp_request(sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut body = Vec::with_capacity(28);
    body.extend_from_slice(&1u16.to_be_bytes()); // hardware type: Ethernet
    body.extend_from_slice(&ETH_P_IP.to_be_bytes()); // protocol type: IPv4
    body.push(6); // hardware address length
    body.push(4); // protocol address length
    body.extend_from_slice(&1u16.to_be_bytes()); // operation: request
    body.extend_from_slice(&SRC_MAC);
    body.extend_from_slice(&sender.octets());
    body.extend_from_slice(&[0; 6]); // target MAC: unknown, that's the question
    body.extend_from_slice(&target.octets());
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(prefix: &str) -> Vec<u8> {
        samples()
            .into_iter()
            .find(|f| f.name.starts_with(prefix))
            .unwrap()
            .bytes
    }

    #[test]
    fn lengths_add_up() {
        let v6 = sample("IPv6");
        assert_eq!(v6.len(), 14 + 40 + 8 + 4);
        assert_eq!(&v6[12..14], &[0x86, 0xdd]);
        assert_eq!(u16::from_be_bytes([v6[18], v6[19]]), 12); // payload length
        let v4 = sample("IPv4");
        assert_eq!(v4.len(), 14 + 20 + 8 + 4);
        assert_eq!(&v4[12..14], &[0x08, 0x00]);
        assert_eq!(u16::from_be_bytes([v4[16], v4[17]]), 32); // total length
        assert_eq!(checksum(&[&v4[14..34]]), 0, "IPv4 header checksum");
        let arp = sample("ARP");
        assert_eq!(arp.len(), 14 + 28);
        assert_eq!(&arp[12..14], &[0x08, 0x06]);
        assert_eq!(sample("runt").len(), 10);
    }

    #[test]
    fn udp_checksums_verify() {
        let v6 = sample("IPv6");
        let mut pseudo = v6[22..54].to_vec();
        pseudo.extend_from_slice(&[0, 0, 0, 12, 0, 0, 0, IPPROTO_UDP]);
        assert_eq!(checksum(&[&pseudo, &v6[54..]]), 0);
        let v4 = sample("IPv4");
        let mut pseudo = v4[26..34].to_vec();
        pseudo.extend_from_slice(&[0, IPPROTO_UDP, 0, 12]);
        assert_eq!(checksum(&[&pseudo, &v4[34..]]), 0);
    }
}
