//! A whole IPv4 datagram as a raw VRRP socket returns it: the header
//! parser, then the receive path of a v2 and a v3 instance exactly as the
//! I/O edge drives it (`RxContext::from_ipv4`, `Instance::receive`).

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use vigil::vrrp::{Instance, InstanceParams, Instant, Ipv4Header, RxContext, Version};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal address")
}

fuzz_target!(|data: &[u8]| {
    let Ok(datagram) = Ipv4Header::parse(data) else { return };
    assert!(datagram.header_len >= 20 && datagram.header_len <= data.len());
    let ctx = RxContext::from_ipv4(&datagram);
    for version in [Version::V2, Version::V3] {
        let mut p = InstanceParams::new("VI_1", 51, 100, ip("198.18.0.1"));
        p.version = version;
        p.vips = vec![ip("198.18.0.100")];
        let mut inst = Instance::new(p);
        let now = Instant::from_secs(1);
        inst.start(now);
        let _ = inst.receive(now, &ctx, datagram.payload);
        inst.handle_timeout(now);
        while inst.poll_action().is_some() {}
    }
});
