//! A whole IPv4 datagram as a raw VRRP socket returns it: the header
//! parser, then the receive path of a v2, a v3, a v2 AH instance and two v3
//! auth_hmac instances (enforce, permissive) exactly as the I/O edge drives
//! it (`RxContext::from_ipv4`, then `Instance::receive`, or
//! `Instance::receive_ah` for IP protocol 51).
//!
//! Checked besides: an AH header that parses re-emits to one that parses
//! back the same, the ICV check never panics on any IP header, and the
//! last 28 bytes of any payload go through the auth_hmac trailer parser
//! and verifier (a trailer that parses re-emits to the same bytes).

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use vigil::vrrp::ah::{self, AhHeader};
use vigil::vrrp::hmac::{self, AntiReplay, HmacParams, Mode, Trailer};
use vigil::vrrp::{Auth, Instance, InstanceParams, Instant, Ipv4Header, RxContext, Version};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal address")
}

/// The AH seeds are keepalived's, signed with this password.
const AH_PASS: &[u8] = b"s3cret";

/// The auth_hmac seeds (hmac-vrrpv3-*) are signed with key id 1 = bytes 0..32,
/// fixed timestamps: monotonic anti-replay, so they are never stale.
fn hmac_params(mode: Mode) -> HmacParams {
    let key: Vec<u8> = (0u8..32).collect();
    HmacParams { anti_replay: AntiReplay::Monotonic, mode, ..HmacParams::new(1, &key) }
}

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
    let payload = datagram.payload;
    if let Some(tail) = payload.len().checked_sub(hmac::TRAILER_LEN).map(|at| payload.split_at(at)) {
        if let Some(t) = Trailer::parse(tail.1) {
            assert_eq!(&t.to_bytes()[..], tail.1);
        }
        let p = hmac_params(Mode::Enforce);
        let src = IpAddr::V4(datagram.header.src);
        let _ = hmac::verify(&p, Some(0x6800_0000), Version::V3, 51, src, tail.0, tail.1);
    }
    let ctx = RxContext::from_ipv4(&datagram);
    for (version, auth, hmac) in [
        (Version::V2, Auth::None, None),
        (Version::V3, Auth::None, None),
        (Version::V2, Auth::ah(AH_PASS), None),
        (Version::V3, Auth::None, Some(hmac_params(Mode::Enforce))),
        (Version::V3, Auth::None, Some(hmac_params(Mode::Permissive))),
    ] {
        let mut p = InstanceParams::new("VI_1", 51, 100, ip("198.18.0.1"));
        p.version = version;
        p.auth = auth;
        p.hmac = hmac;
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
