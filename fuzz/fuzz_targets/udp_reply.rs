//! UDP_CHECK's judgement of the datagram a real server sends back, and the
//! hex strings of `payload` / `require_reply` it is configured with.
//!
//! Input: `[min] [max] [pattern length] [pattern...] [reply...]`; the
//! pattern is read as a `require_reply` hex string (with `x` wildcards).
//! Checked: nothing panics; a parsed pattern has a mask exactly when it
//! has wildcards, as long as its data; a reply outside min..=max never
//! passes; a reply equal to the pattern's bytes passes when its length is
//! within the bounds; without pattern bytes every reply passes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::check::udp::{parse_hex, recv_len, reply_ok, ReplyRule};

fuzz_target!(|data: &[u8]| {
    let [min, max, n, rest @ ..] = data else { return };
    let n = usize::from(*n).min(rest.len());
    let (pattern, reply) = rest.split_at(n);
    let text = String::from_utf8_lossy(pattern);
    let _ = parse_hex(&text, false);
    let parsed = parse_hex(&text, true);
    let rule = ReplyRule {
        required: true,
        data: parsed.clone().ok(),
        min_len: u16::from(*min),
        max_len: u16::from(*max),
    };
    assert_eq!(recv_len(&rule), usize::from(*max) + 1);
    let ok = reply_ok(&rule, reply);
    let Ok(want) = parsed else {
        assert!(ok, "no pattern bytes: any reply");
        return;
    };
    assert!(!want.data.is_empty());
    if let Some(mask) = &want.mask {
        assert_eq!(mask.len(), want.data.len());
        assert!(mask.iter().any(|m| *m != 0));
    }
    if reply.len() < usize::from(*min) || reply.len() > usize::from(*max) {
        assert!(!ok);
    }
    let len = want.data.len();
    if len >= usize::from(*min) && len <= usize::from(*max) {
        assert!(reply_ok(&rule, &want.data));
    }
});
