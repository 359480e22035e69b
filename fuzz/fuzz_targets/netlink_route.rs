//! What rtnetlink sends back: datagrams split into messages
//! (`Messages`), classified (`Message::classify`: data, ack, error with
//! extended-ack text, done), attributes walked (`Attrs`, nested too), and
//! link and address messages decoded (`parse_link`, `parse_addr`) as the
//! dumps and the link monitor do.
//!
//! Checked: nothing panics; both iterators are fail-stop (nothing after an
//! error) and never yield more items than the input has 4-byte words.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::sys::link::{parse_addr, parse_link};
use vigil::sys::netlink::rt::{RTM_DELADDR, RTM_DELLINK, RTM_NEWADDR, RTM_NEWLINK};
use vigil::sys::netlink::{Attrs, Messages, Reply};

/// Walk attributes, descending into every one as if nested, to a depth.
fn walk(bytes: &[u8], depth: u32) {
    let mut seen = 0;
    let mut failed = false;
    for a in Attrs::new(bytes) {
        assert!(!failed, "attribute after an error");
        seen += 1;
        match a {
            Ok(a) => {
                let _ = (a.u8(), a.u16(), a.u32(), a.str(), a.ip());
                if depth < 4 {
                    walk(a.payload, depth + 1);
                }
            }
            Err(_) => failed = true,
        }
    }
    assert!(seen <= bytes.len() / 4 + 1);
}

fuzz_target!(|data: &[u8]| {
    let mut seen = 0;
    let mut failed = false;
    for m in Messages::new(data) {
        assert!(!failed, "message after an error");
        seen += 1;
        let m = match m {
            Ok(m) => m,
            Err(_) => {
                failed = true;
                continue;
            }
        };
        match m.classify() {
            Ok(Reply::Data(d)) => match d.header.kind {
                RTM_NEWLINK | RTM_DELLINK => {
                    if let Ok(link) = parse_link(d.payload) {
                        assert!(!link.name.is_empty());
                        let _ = (link.is_up(), link.is_running(), link.is_lower_up());
                    }
                    walk(d.payload.get(16..).unwrap_or(&[]), 0);
                }
                RTM_NEWADDR | RTM_DELADDR => {
                    if let Ok(a) = parse_addr(d.payload) {
                        let _ = (a.is_secondary(), a.is_tentative(), a.is_ipv6_link_local());
                    }
                    walk(d.payload.get(8..).unwrap_or(&[]), 0);
                }
                _ => walk(d.payload, 0),
            },
            Ok(Reply::Error { errno, text }) => {
                assert!(errno >= 0, "errno {errno}");
                let _ = text.map(str::len);
            }
            Ok(Reply::Ack | Reply::Done | Reply::Noise) | Err(_) => {}
        }
    }
    assert!(seen <= data.len() / 16 + 1);
    // The monitor hands payloads straight to these too.
    let _ = parse_link(data);
    let _ = parse_addr(data);
});
