//! What the kernel's IPVS generic netlink family sends back: the decoders
//! for family id, info, timeouts, services, destinations and sync daemons, applied to
//! every data message of a datagram (as `Ipvs` does) and to the raw input
//! as one payload.
//!
//! Checked: nothing panics; a decoded service that passes our own
//! validation encodes to a request that decodes back to the same service;
//! so does a decoded sync daemon with a name the kernel would accept.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::ipvs::codec;
use vigil::ipvs::Family;
use vigil::sys::netlink::{Messages, Reply};

fn decode_all(payload: &[u8]) {
    let _ = codec::parse_family(payload);
    let _ = codec::parse_info(payload);
    let _ = codec::parse_timeouts(payload);
    let _ = codec::parse_dest(payload, Family::V4);
    let _ = codec::parse_dest(payload, Family::V6);
    if let Ok(svc) = codec::parse_service(payload) {
        if codec::validate_service(&svc).is_ok() {
            let mut req = codec::new_service(0x20, &svc);
            let bytes = req.finish(1);
            let back = codec::parse_service(&bytes[16..]).expect("our own encoding decodes");
            assert_eq!(back, svc);
        }
    }
    if let Ok(d) = codec::parse_daemon(payload) {
        if !d.ifname.is_empty() && d.ifname.len() <= codec::DAEMON_IFNAME_MAX && !d.ifname.contains('\0') {
            let mut req = codec::new_daemon(0x20, &d);
            let bytes = req.finish(1);
            let back = codec::parse_daemon(&bytes[16..]).expect("our own encoding decodes");
            assert_eq!(back, d);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    decode_all(data);
    for m in Messages::new(data) {
        let Ok(m) = m else { break };
        if let Ok(Reply::Data(d)) = m.classify() {
            decode_all(d.payload);
        }
    }
});
