//! What a `track_ping` echo socket reads from the link: a raw IPv4 ICMP
//! datagram (IP header included) or an ICMPv6 message, matched against the
//! probe in flight.
//!
//! Input: `[flags] [bytes...]`; bit 0 of flags picks IPv6. Checked: nothing
//! panics; a message counts as the probe's reply only if it carries the
//! probe's identifier, sequence and cookie from the probed address; the
//! request the probe builds (with its IPv4 checksum) is never taken for
//! its own reply, and the reply made from it by turning the type around
//! (and, for IPv4, fixing the checksum) always is.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use vigil::sys::icmp::{build_echo, parse_reply, reply_matches, strip_ipv4_header, Probe, COOKIE_LEN};
use vigil::vrrp::checksum::checksum;

fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else { return };
    let ipv6 = flags & 1 == 1;
    let dst = if ipv6 {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
    } else {
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1))
    };
    let probe = Probe { dst, id: 0x4242, seq: 7, cookie: [0x5a; COOKIE_LEN] };

    let (src, msg) = if ipv6 {
        (dst, rest)
    } else {
        let Some((src, msg)) = strip_ipv4_header(rest) else { return };
        assert!(msg.len() >= 8 && msg.len() + 20 <= rest.len());
        (IpAddr::V4(src), msg)
    };
    let _ = parse_reply(ipv6, msg);
    if reply_matches(&probe, src, msg) {
        assert_eq!(src, dst);
        assert_eq!(parse_reply(ipv6, msg), Some((probe.id, probe.seq)));
        assert_eq!(msg.get(8..8 + COOKIE_LEN), Some(&probe.cookie[..]));
    }

    let request = build_echo(ipv6, &probe);
    assert!(!reply_matches(&probe, dst, &request));
    let mut reply = request;
    reply[0] = if ipv6 { 129 } else { 0 };
    if !ipv6 {
        reply[2..4].copy_from_slice(&[0, 0]);
        let sum = checksum(&reply);
        reply[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    assert!(reply_matches(&probe, dst, &reply));
});
