//! Reference captures of keepalived 2.2.7 as byte fixtures: every field of
//! every VRRP frame is decoded and checked, and re-encoding (IP header
//! included) reproduces the captured bytes exactly.

use std::net::{IpAddr, Ipv4Addr};

use crate::vrrp::packet::{verify_checksum, AUTH_PASS, MCAST_V4};
use crate::vrrp::{ipv4, Advert, ChecksumMatch, Family, Ipv4Header, Version};

const REF_V2: &[u8] = include_bytes!("fixtures/ref-vrrpv2.pcap");
const REF_V3: &[u8] = include_bytes!("fixtures/ref-vrrpv3.pcap");
const REF_V3_100MS: &[u8] = include_bytes!("fixtures/ref-vrrpv3-100ms.pcap");
const REF_FAILOVER_V2: &[u8] = include_bytes!("fixtures/ref-failover-v2.pcap");
const REF_FAILOVER_V3: &[u8] = include_bytes!("fixtures/failover-graceful-v3-adv1.pcap");

const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_LINUX_SLL2: u32 = 276;

/// One captured IPv4 datagram with its capture time in microseconds.
pub struct Frame {
    pub ts_us: u64,
    pub ip: Vec<u8>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Classic little-endian microsecond pcap; returns the IPv4 frames.
pub fn ipv4_frames(file: &[u8]) -> Vec<Frame> {
    assert_eq!(&file[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian microsecond pcap");
    let linktype = le32(file, 20);
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let ts_us = u64::from(le32(file, at)) * 1_000_000 + u64::from(le32(file, at + 4));
        let incl = le32(file, at + 8) as usize;
        let data = &file[at + 16..at + 16 + incl];
        at += 16 + incl;
        let (ethertype, l3) = match linktype {
            LINKTYPE_ETHERNET => {
                let mut off = 12;
                while u16::from_be_bytes([data[off], data[off + 1]]) == 0x8100 {
                    off += 4;
                }
                (u16::from_be_bytes([data[off], data[off + 1]]), &data[off + 2..])
            }
            LINKTYPE_LINUX_SLL => (u16::from_be_bytes([data[14], data[15]]), &data[16..]),
            LINKTYPE_LINUX_SLL2 => (u16::from_be_bytes([data[0], data[1]]), &data[20..]),
            other => panic!("unsupported link type {other}"),
        };
        if ethertype == 0x0800 {
            out.push(Frame { ts_us, ip: l3.to_vec() });
        }
    }
    assert_eq!(at, file.len(), "pcap ends on a record boundary");
    out
}

/// Decode one captured advert, check the IP header, and re-encode it.
fn check_frame(frame: &Frame, src: [u8; 4], ident: u16, ip_sum: u16) -> Advert {
    let d = Ipv4Header::parse(&frame.ip).expect("valid IPv4 header");
    let h = d.header;
    assert_eq!(h.tos, 0xc0);
    assert_eq!(h.ttl, 255);
    assert_eq!(h.protocol, 112);
    assert_eq!(h.ident, ident);
    assert_eq!(h.src, Ipv4Addr::from(src));
    assert_eq!(h.dst, MCAST_V4);
    assert_eq!(u16::from_be_bytes([frame.ip[10], frame.ip[11]]), ip_sum);
    let advert = Advert::parse_bytes(d.payload, Family::V4).expect("advert parses");
    assert_eq!(advert.addrs, vec![IpAddr::from([198, 18, 0, 100])]);
    let (s, t) = (IpAddr::V4(h.src), IpAddr::V4(h.dst));
    let matched = verify_checksum(d.payload, advert.version, s, t);
    let expect = match advert.version {
        Version::V2 => ChecksumMatch::Plain,
        // keepalived's default: the IPv4 pseudo-header is included.
        Version::V3 => ChecksumMatch::PseudoHeader,
    };
    assert_eq!(matched, Some(expect));
    let rebuilt = ipv4::build_advert_datagram(&advert, h.src, h.dst, 255, ident, false).unwrap();
    assert_eq!(rebuilt, frame.ip, "re-encoding reproduces the capture");
    advert
}

#[test]
fn keepalived_v2_pass_auth() {
    let frames = ipv4_frames(REF_V2);
    assert_eq!(frames.len(), 4);
    for (i, f) in frames.iter().enumerate() {
        let a = check_frame(f, [198, 18, 0, 11], 4 + i as u16, 0x1472 - i as u16);
        assert_eq!(a.version, Version::V2);
        assert_eq!(a.vrid, 51);
        assert_eq!(a.priority, 100);
        assert_eq!(a.auth_type, AUTH_PASS);
        assert_eq!(&a.auth_data, b"secret\0\0");
        assert_eq!(a.interval_cs, 100);
        assert_eq!(a.checksum, 0x7707);
    }
    // One advert per second.
    let gap = frames[1].ts_us - frames[0].ts_us;
    assert!((990_000..1_010_000).contains(&gap), "gap {gap}");
}

#[test]
fn keepalived_v3_1s() {
    let frames = ipv4_frames(REF_V3);
    assert_eq!(frames.len(), 4);
    for (i, f) in frames.iter().enumerate() {
        let a = check_frame(f, [198, 18, 0, 11], 4 + i as u16, 0x147a - i as u16);
        assert_eq!((a.version, a.vrid, a.priority, a.interval_cs), (Version::V3, 51, 100, 100));
        assert_eq!((a.auth_type, a.auth_data), (0, [0; 8]));
        assert_eq!(a.checksum, 0xfd43);
        // Without the pseudo-header the checksum would differ.
        let plain = a.to_bytes(crate::vrrp::ChecksumForm::Plain).unwrap();
        assert_ne!(u16::from_be_bytes([plain[6], plain[7]]), 0xfd43);
    }
}

#[test]
fn keepalived_v3_100ms() {
    let frames = ipv4_frames(REF_V3_100MS);
    assert_eq!(frames.len(), 6);
    for (i, f) in frames.iter().enumerate() {
        let a = check_frame(f, [198, 18, 0, 11], 0x16 + i as u16, 0x1468 - i as u16);
        assert_eq!((a.version, a.priority, a.interval_cs, a.checksum), (Version::V3, 100, 10, 0xfd9d));
    }
}

/// Skew of a backup with `prio`, v2: (256 - prio)/256 s.
fn skew_us(prio: u64, interval_us: u64) -> u64 {
    (256 - prio) * interval_us / 256
}

#[test]
fn keepalived_v2_graceful_failover() {
    let frames = ipv4_frames(REF_FAILOVER_V2);
    assert_eq!(frames.len(), 4, "ARP frames are skipped");
    let resign = check_frame(&frames[0], [198, 18, 0, 11], 4, 0x1472);
    assert_eq!((resign.priority, resign.checksum), (0, 0xdb07));
    let takeover = check_frame(&frames[1], [198, 18, 0, 12], 1, 0x1474);
    assert_eq!((takeover.priority, takeover.checksum), (90, 0x8107));
    // The backup (priority 90) took over one skew time after priority 0.
    let gap = frames[1].ts_us - frames[0].ts_us;
    let skew = skew_us(90, 1_000_000);
    assert!(gap.abs_diff(skew) < 5_000, "gap {gap} skew {skew}");
    check_frame(&frames[2], [198, 18, 0, 12], 2, 0x1473);
    check_frame(&frames[3], [198, 18, 0, 12], 3, 0x1472);
}

#[test]
fn keepalived_v3_graceful_failover() {
    let frames = ipv4_frames(REF_FAILOVER_V3);
    assert_eq!(frames.len(), 3);
    let a = check_frame(&frames[0], [198, 18, 0, 11], 4, 0x147a);
    assert_eq!((a.priority, a.checksum), (100, 0xfd43));
    let resign = check_frame(&frames[1], [198, 18, 0, 11], 5, 0x1479);
    assert_eq!((resign.version, resign.priority, resign.checksum), (Version::V3, 0, 0x6144));
    let takeover = check_frame(&frames[2], [198, 18, 0, 12], 1, 0x147c);
    assert_eq!((takeover.priority, takeover.checksum), (90, 0x0743));
    let gap = frames[2].ts_us - frames[1].ts_us;
    let skew = skew_us(90, 1_000_000);
    assert!(gap.abs_diff(skew) < 5_000, "gap {gap} skew {skew}");
}
