//! Round trips for v2/v3 over IPv4/IPv6, emit errors, and the IPv4 header.

use std::net::IpAddr;

use crate::vrrp::packet::{verify_checksum, AUTH_NONE, AUTH_PASS};
use crate::vrrp::{Advert, ChecksumForm, ChecksumMatch, Family, Ipv4Header, Packet, Version, WireError};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn advert(version: Version, addrs: &[&str]) -> Advert {
    let v2 = version == Version::V2;
    Advert {
        version,
        vrid: 7,
        priority: 150,
        addrs: addrs.iter().map(|a| ip(a)).collect(),
        auth_type: if v2 { AUTH_PASS } else { AUTH_NONE },
        auth_data: if v2 { *b"pass\0\0\0\0" } else { [0; 8] },
        interval_cs: if v2 { 300 } else { 35 },
        checksum: 0,
    }
}

fn round_trip(a: &Advert, src: &str, dst: &str, expect: ChecksumMatch, as_v2: bool) {
    let (src, dst) = (ip(src), ip(dst));
    let bytes = a.to_bytes(ChecksumForm::for_tx(a.version, src, dst, as_v2)).unwrap();
    assert_eq!(bytes.len(), a.buffer_len());
    let family = Family::of(src);
    let parsed = Advert::parse_bytes(&bytes, family).unwrap();
    assert_eq!(Advert { checksum: 0, ..parsed.clone() }, *a);
    assert_eq!(verify_checksum(&bytes, a.version, src, dst), Some(expect));
    // Emitting the parsed form again gives the same bytes (checksum included).
    let again = parsed.to_bytes(ChecksumForm::for_tx(a.version, src, dst, as_v2)).unwrap();
    assert_eq!(again, bytes);
    assert_eq!(u16::from_be_bytes([bytes[6], bytes[7]]), parsed.checksum);
}

#[test]
fn v2_ipv4() {
    let a = advert(Version::V2, &["198.18.1.1", "198.18.1.2"]);
    round_trip(&a, "198.18.0.1", "224.0.0.18", ChecksumMatch::Plain, false);
    assert_eq!(a.buffer_len(), 8 + 8 + 8);
}

#[test]
fn v3_ipv4_pseudo_header_and_plain() {
    let a = advert(Version::V3, &["198.18.1.1"]);
    round_trip(&a, "198.18.0.1", "224.0.0.18", ChecksumMatch::PseudoHeader, false);
    round_trip(&a, "198.18.0.1", "224.0.0.18", ChecksumMatch::Plain, true);
    assert_eq!(a.buffer_len(), 12);
}

#[test]
fn v3_ipv4_old_unicast_checksum_is_recognised() {
    let a = advert(Version::V3, &["198.18.1.1"]);
    let (src, dst) = (ip("198.18.0.1"), ip("198.18.0.2"));
    // keepalived <= 1.3.6 summed the multicast group even for unicast.
    let bytes = a.to_bytes(ChecksumForm::PseudoHeader { src, dst: ip("224.0.0.18") }).unwrap();
    assert_eq!(verify_checksum(&bytes, Version::V3, src, dst), Some(ChecksumMatch::PseudoHeaderMcastDst));
}

#[test]
fn v3_ipv6() {
    let a = advert(Version::V3, &["2001:db8::100", "2001:db8::101"]);
    round_trip(&a, "fe80::1", "ff02::12", ChecksumMatch::PseudoHeader, false);
    // The IPv6 pseudo-header is mandatory whatever v3_checksum_as_v2 says.
    round_trip(&a, "fe80::1", "ff02::12", ChecksumMatch::PseudoHeader, true);
    assert_eq!(a.buffer_len(), 8 + 32);
}

#[test]
fn v2_ipv6_non_standard() {
    let a = advert(Version::V2, &["2001:db8::100"]);
    round_trip(&a, "fe80::1", "ff02::12", ChecksumMatch::PseudoHeader, false);
    let bytes = a.to_bytes(ChecksumForm::Plain).unwrap();
    assert_eq!(
        verify_checksum(&bytes, Version::V2, ip("fe80::1"), ip("ff02::12")),
        Some(ChecksumMatch::Plain)
    );
}

#[test]
fn v2_interval_is_whole_seconds() {
    let mut a = advert(Version::V2, &["198.18.1.1"]);
    a.interval_cs = 140;
    let bytes = a.to_bytes(ChecksumForm::Plain).unwrap();
    assert_eq!(bytes[5], 1);
    a.interval_cs = 10;
    assert_eq!(a.to_bytes(ChecksumForm::Plain).unwrap()[5], 1, "never 0");
}

#[test]
fn emit_errors() {
    let mut a = advert(Version::V3, &["198.18.1.1", "2001:db8::1"]);
    assert_eq!(a.to_bytes(ChecksumForm::Plain), Err(WireError::MixedFamilies));
    a.addrs = vec![ip("198.18.1.1")];
    a.interval_cs = 4096;
    assert_eq!(a.to_bytes(ChecksumForm::Plain), Err(WireError::FieldOverflow));
    a.interval_cs = 100;
    let mut small = [0u8; 11];
    assert_eq!(a.emit(&mut small, ChecksumForm::Plain), Err(WireError::BufferTooSmall));
    a.addrs = vec![ip("198.18.1.1"); 256];
    assert_eq!(a.to_bytes(ChecksumForm::Plain), Err(WireError::FieldOverflow));
}

#[test]
fn parse_errors() {
    assert_eq!(Advert::parse_bytes(&[0x31, 1, 2], Family::V4), Err(WireError::Truncated));
    assert_eq!(
        Advert::parse_bytes(&[0x41, 1, 2, 0, 0, 0, 0, 0], Family::V4),
        Err(WireError::UnknownVersion(4))
    );
    // Count 2 but only one address present.
    let bytes = [0x31, 1, 100, 2, 0, 100, 0, 0, 198, 18, 0, 1];
    assert_eq!(Packet::new_checked(&bytes[..], Family::V4).err(), Some(WireError::Truncated));
    // v2 without its 8 auth bytes.
    let bytes = [0x21, 1, 100, 1, 0, 1, 0, 0, 198, 18, 0, 1];
    assert_eq!(Advert::parse_bytes(&bytes, Family::V4), Err(WireError::Truncated));
}

#[test]
fn ipv4_header_round_trip_and_padding() {
    let a = advert(Version::V3, &["198.18.1.1"]);
    let src = "198.18.0.1".parse().unwrap();
    let dst = "224.0.0.18".parse().unwrap();
    let mut dgram = crate::vrrp::ipv4::build_advert_datagram(&a, src, dst, 255, 9, false).unwrap();
    dgram.extend_from_slice(&[0; 14]); // Ethernet padding a raw socket might see
    let d = Ipv4Header::parse(&dgram).unwrap();
    assert_eq!(d.header, Ipv4Header::for_advert(src, dst, 255, 9, 12));
    assert_eq!(d.header_len, 20);
    assert_eq!(d.payload.len(), 12, "payload trimmed to the total length");
    // Corruptions are rejected, not panicked on.
    let mut bad = dgram.clone();
    bad[10] ^= 1;
    assert_eq!(Ipv4Header::parse(&bad).err(), Some(WireError::BadIpHeader));
    let mut frag = dgram.clone();
    frag[6] = 0x20; // more fragments
    assert!(Ipv4Header::parse(&frag).is_err());
    assert_eq!(Ipv4Header::parse(&dgram[..25]).err(), Some(WireError::Truncated));
    assert_eq!(Ipv4Header::parse(&[]).err(), Some(WireError::Truncated));
    assert_eq!(Ipv4Header::parse(&[0x60; 40]).err(), Some(WireError::BadIpHeader));
}
