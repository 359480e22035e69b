//! DNS_CHECK's messages, pure: the query (one question, recursion
//! desired, a caller-chosen id) and the verdict on a datagram that came
//! back. keepalived's rule (check_dns.c): a reply counts when it is at least
//! a header long, carries the query's id and has QR set; anything else is
//! not our reply and the checker keeps waiting. A counted reply succeeds
//! with RCODE 0 (NOERROR), whatever its sections hold, and fails with any
//! other RCODE. The query types and what a valid name is are the
//! configuration's (`config::probe`).

use crate::config::probe::encode_name;
pub use crate::config::probe::{check_name, type_code, type_name, DEFAULT_TYPE, SOA, TYPES};

/// The DNS header is 12 bytes.
pub const HEADER_LEN: usize = 12;
const FLAG_QR: u16 = 0x8000;
const FLAG_RD: u16 = 0x0100;
const CLASS_IN: u16 = 1;

/// The query datagram: header with `id`, RD set, one question for
/// `name`/`qtype` in class IN.
pub fn query(id: u16, qtype: u16, name: &str) -> Result<Vec<u8>, String> {
    let qname = encode_name(name)?;
    let mut out = Vec::with_capacity(HEADER_LEN + qname.len() + 4);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&FLAG_RD.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&[0; 6]); // ANCOUNT, NSCOUNT, ARCOUNT
    out.extend_from_slice(&qname);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

/// What one received datagram means for a query with id `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not the reply (short, another id, or a query): keep waiting.
    Ignore(Ignored),
    /// The reply, RCODE NOERROR: the server is up.
    Success,
    /// The reply with this RCODE: the check failed.
    Error(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignored {
    TooShort,
    OtherId(u16),
    NotAResponse,
}

/// keepalived's rule for a datagram received on the query's socket.
pub fn judge(id: u16, datagram: &[u8]) -> Verdict {
    let Some(header) = datagram.get(..HEADER_LEN) else { return Verdict::Ignore(Ignored::TooShort) };
    let got = u16::from_be_bytes([header[0], header[1]]);
    if got != id {
        return Verdict::Ignore(Ignored::OtherId(got));
    }
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if flags & FLAG_QR == 0 {
        return Verdict::Ignore(Ignored::NotAResponse);
    }
    match (flags & 0x000f) as u8 {
        0 => Verdict::Success,
        rcode => Verdict::Error(rcode),
    }
}

/// RFC 1035 / 2136 names of the RCODEs a server may answer with.
pub fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_for_the_root_soa() {
        let q = query(0xbeef, 6, ".").unwrap();
        assert_eq!(
            q,
            [
                0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, /* root */ 0, /* SOA */ 0, 6,
                /* IN */ 0, 1
            ]
        );
        assert_eq!(query(0xbeef, 6, "").unwrap(), q, "keepalived's default name is the root too");
    }

    #[test]
    fn query_names_as_labels() {
        let q = query(1, 1, "www.example.com").unwrap();
        let mut want = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        assert_eq!(q, want);
        assert_eq!(query(1, 1, "www.example.com.").unwrap(), want, "a trailing dot is the same name");
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["a..b", ".a", "..", "a.."] {
            assert!(check_name(bad).unwrap_err().contains("empty label"), "{bad}");
        }
        let long_label = "x".repeat(64);
        assert!(check_name(&long_label).unwrap_err().contains("longer than 63"));
        assert!(check_name(&"x".repeat(63)).is_ok());
        let long_name = vec!["abcdefg"; 32].join(".");
        assert!(check_name(&long_name).unwrap_err().contains("255"));
        assert!(check_name(&vec!["abcdefg"; 31].join(".")).is_ok());
    }

    #[test]
    fn types_like_keepalived() {
        assert_eq!(type_code("SOA"), Some(6));
        assert_eq!(type_code("aaaa"), Some(28), "case-insensitive");
        assert_eq!(type_code("PTR"), None);
        assert_eq!(type_name(15), "MX");
        assert_eq!(type_name(99), "TYPE99");
    }

    fn reply(id: u16, flags: u16) -> Vec<u8> {
        let mut r = query(id, 6, ".").unwrap();
        r[2..4].copy_from_slice(&flags.to_be_bytes());
        r
    }

    #[test]
    fn judges_replies_by_id_qr_and_rcode() {
        assert_eq!(judge(7, &reply(7, 0x8180)), Verdict::Success, "NOERROR with no answers counts");
        assert_eq!(judge(7, &reply(7, 0x8183)), Verdict::Error(3));
        assert_eq!(judge(7, &reply(7, 0x8182)), Verdict::Error(2));
        assert_eq!(judge(7, &reply(8, 0x8180)), Verdict::Ignore(Ignored::OtherId(8)));
        assert_eq!(judge(7, &reply(7, 0x0100)), Verdict::Ignore(Ignored::NotAResponse));
        assert_eq!(judge(7, &reply(7, 0x8180)[..11]), Verdict::Ignore(Ignored::TooShort));
        assert_eq!(judge(7, &reply(7, 0x8180)[..12]), Verdict::Success, "a bare header is enough");
        assert_eq!(judge(7, &[]), Verdict::Ignore(Ignored::TooShort));
        assert_eq!(rcode_name(3), "NXDOMAIN");
    }

    #[test]
    fn judge_never_panics_on_short_or_odd_input() {
        let mut x: u32 = 0x1234_5678;
        for len in 0..64 {
            let mut buf = vec![0u8; len];
            for b in &mut buf {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            let _ = judge(x as u16, &buf);
        }
    }
}
