//! A whole IPv4 datagram as a raw VRRP socket returns it: the header
//! parser, then the receive path of a v2, a v3 and a v2 AH instance exactly
//! as the I/O edge drives it (`RxContext::from_ipv4`, then
//! `Instance::receive`, or `Instance::receive_ah` for IP protocol 51).
//!
//! Checked besides: an AH header that parses re-emits to one that parses
//! back the same, and the ICV check never panics on any IP header.

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use vigil::vrrp::ah::{self, AhHeader};
use vigil::vrrp::{Auth, Instance, InstanceParams, Instant, Ipv4Header, RxContext, Version};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal address")
}

/// The AH seeds are keepalived's, signed with this password.
const AH_PASS: &[u8] = b"s3cret";

fuzz_target!(|data: &[u8]| {
    let Ok(datagram) = Ipv4Header::parse(data) else { return };
    assert!(datagram.header_len >= 20 && datagram.header_len <= data.len());
    let ip_header = &data[..datagram.header_len];
    if let Ok(h) = AhHeader::parse(datagram.payload) {
        let mut out = [0u8; ah::HEADER_LEN];
        h.emit(&mut out).expect("a header buffer of HEADER_LEN");
        assert_eq!(AhHeader::parse(&out), Ok(h));
        let key = *b"s3cret\0\0";
        let _ = ah::verify(&key, ip_header, datagram.payload, datagram.header.src, false);
    }
    let ctx = RxContext::from_ipv4(&datagram);
    for (version, auth) in
        [(Version::V2, Auth::None), (Version::V3, Auth::None), (Version::V2, Auth::ah(AH_PASS))]
    {
        let mut p = InstanceParams::new("VI_1", 51, 100, ip("198.18.0.1"));
        p.version = version;
        p.auth = auth;
        p.vips = vec![ip("198.18.0.100")];
        let mut inst = Instance::new(p);
        let now = Instant::from_secs(1);
        inst.start(now);
        let _ = if datagram.header.protocol == ah::IP_PROTO_AH {
            inst.receive_ah(now, &ctx, ip_header, datagram.payload)
        } else {
            inst.receive(now, &ctx, datagram.payload)
        };
        inst.handle_timeout(now);
        while inst.poll_action().is_some() {}
    }
});
