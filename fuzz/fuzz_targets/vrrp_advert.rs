//! One VRRP message (the bytes after the IP header), as both families:
//! the codec must agree with itself and `validate` must never panic.
//!
//! Checked: `Packet::new_checked` and `Advert::parse_bytes` accept the same
//! inputs; whatever parses re-emits to bytes that parse back to the same
//! advert; `validate` accepts only what the codec parses, for a v2 PASS,
//! a v3 IPv4 and a v3 IPv6 instance.

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use vigil::vrrp::{validate, Advert, Auth, ChecksumForm, Family, InstanceParams, Packet, RxContext, Version};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal address")
}

fn instances() -> [InstanceParams; 3] {
    let mut v2 = InstanceParams::new("V2", 51, 100, ip("198.18.0.1"));
    v2.auth = Auth::pass("secret");
    v2.vips = vec![ip("198.18.0.100")];
    let mut v3 = InstanceParams::new("V3", 51, 100, ip("198.18.0.1"));
    v3.version = Version::V3;
    v3.vips = vec![ip("198.18.0.100"), ip("198.18.0.101")];
    let mut v6 = InstanceParams::new("V6", 51, 100, ip("fe80::1"));
    v6.vips = vec![ip("2001:db8::100")];
    [v2, v3, v6]
}

fuzz_target!(|data: &[u8]| {
    for family in [Family::V4, Family::V6] {
        let parsed = Advert::parse_bytes(data, family);
        assert_eq!(parsed.is_ok(), Packet::new_checked(data, family).is_ok());
        let Ok(advert) = parsed else { continue };
        if let Ok(out) = advert.to_bytes(ChecksumForm::Plain) {
            let back = Advert::parse_bytes(&out, family).expect("emitted advert parses");
            assert_eq!(
                (back.vrid, back.priority, &back.addrs),
                (advert.vrid, advert.priority, &advert.addrs)
            );
            assert_eq!((back.version, back.auth_type), (advert.version, advert.auth_type));
        }
    }
    // The first byte picks the receive context; the rest is the message too,
    // so the seeds (real adverts) stay meaningful at offset 0.
    let pick = data.first().copied().unwrap_or(0);
    for params in instances() {
        let (src, dst) = match (params.family, pick & 1) {
            (Family::V4, 0) => (ip("198.18.0.2"), ip("224.0.0.18")),
            (Family::V4, _) => (ip("198.18.0.2"), ip("198.18.0.1")),
            (Family::V6, 0) => (ip("fe80::2"), ip("ff02::12")),
            (Family::V6, _) => (ip("fe80::2"), ip("fe80::1")),
        };
        let ttl = if pick & 2 == 0 { 255 } else { 64 };
        let ctx =
            RxContext { src, dst, ttl, ip_header_len: if params.family == Family::V4 { 20 } else { 40 } };
        if let Ok(valid) = validate(&ctx, data, &params) {
            assert_eq!(valid.advert.vrid, params.vrid);
            assert_eq!(valid.advert.version, params.version);
            assert!(Advert::parse_bytes(data, params.family).is_ok(), "validated but does not parse");
        }
    }
});
