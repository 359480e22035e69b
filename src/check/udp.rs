//! UDP_CHECK, pure: the hex strings of `payload` / `require_reply` and the
//! judgement of a reply (keepalived 2.2's rules).
//!
//! Without `require_reply` a check succeeds unless the server's host
//! answers with an ICMP port unreachable (ECONNREFUSED on the connected
//! socket) before `connect_timeout`; any datagram back is a success too.
//! With `require_reply` a reply must come back in time; with reply bytes
//! it must also be `min_reply_length..=max_reply_length` long and match
//! them over the shorter of the two lengths (`x` nibbles match anything).
//! The rule and its hex strings are the configuration's (`config::probe`).

pub use crate::config::probe::{parse_hex, HexBytes, ReplyRule, DEFAULT_MAX_REPLY, DEFAULT_PAYLOAD_LEN};

/// Whether `reply`, the first datagram back, passes `rule`.
pub fn reply_ok(rule: &ReplyRule, reply: &[u8]) -> bool {
    // Without reply bytes keepalived checks neither the bytes nor the length.
    let Some(want) = &rule.data else { return true };
    if reply.len() < usize::from(rule.min_len) || reply.len() > usize::from(rule.max_len) {
        return false;
    }
    reply.iter().zip(&want.data).enumerate().all(|(i, (got, exp))| {
        let wild = want.mask.as_ref().and_then(|m| m.get(i)).copied().unwrap_or(0);
        (got ^ exp) & !wild == 0
    })
}

/// How many bytes to receive so that an over-long reply is seen as one:
/// `max_reply_length + 1`.
pub fn recv_len(rule: &ReplyRule) -> usize {
    usize::from(rule.max_len) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_hex_strings_as_keepalived_reads_them() {
        assert_eq!(parse_hex("0a0B ff", false).unwrap().data, vec![0x0a, 0x0b, 0xff]);
        assert_eq!(parse_hex("a b\tc", false).unwrap().data, vec![0x0a, 0x0b, 0x0c]);
        assert_eq!(parse_hex("abc", false).unwrap().data, vec![0xab, 0x0c]);
        assert!(parse_hex("", false).is_err());
        assert!(parse_hex("  ", false).is_err());
        assert!(parse_hex("0g", false).is_err());
        assert!(parse_hex("1x", false).is_err(), "no wildcards in a payload");
        let w = parse_hex("1x X2", true).unwrap();
        assert_eq!(w.data, vec![0x10, 0x02]);
        assert_eq!(w.mask, Some(vec![0x0f, 0xf0]));
        assert_eq!(parse_hex("12", true).unwrap().mask, None);
    }

    #[test]
    fn udp_replies_are_judged_as_keepalived_does() {
        let rule = |hex: &str, min, max| ReplyRule {
            required: true,
            data: Some(parse_hex(hex, true).unwrap()),
            min_len: min,
            max_len: max,
        };
        let r = rule("6f6b", 0, 255);
        assert!(reply_ok(&r, b"ok"));
        assert!(reply_ok(&r, b"ok, and more"), "only the shorter length is compared");
        assert!(reply_ok(&r, b"o"), "a shorter reply is compared over its length");
        assert!(!reply_ok(&r, b"no"));
        assert!(reply_ok(&r, b""), "as keepalived: nothing to compare");
        let r = rule("6f6b", 2, 3);
        assert!(!reply_ok(&r, b"o"), "below min_reply_length");
        assert!(!reply_ok(&r, b"okay"), "above max_reply_length");
        let r = rule("6x6X", 0, 255);
        assert!(reply_ok(&r, b"ok") && reply_ok(&r, b"an") && !reply_ok(&r, b"ZZ"));
        // require_reply without bytes: any reply, any length.
        let any = ReplyRule { required: true, data: None, min_len: 10, max_len: 1 };
        assert!(reply_ok(&any, b"x"));
        assert_eq!(recv_len(&ReplyRule::default()), 256);
    }
}
