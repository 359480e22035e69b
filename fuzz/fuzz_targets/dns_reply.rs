//! What a DNS_CHECK reads from a real server: any datagram on the query's
//! socket, judged against the query's id, and the query built from any name.
//!
//! Input: `[id_hi] [id_lo] [bytes...]`. Checked: nothing panics; the verdict
//! is keepalived's rule read straight off the header (short or another id or
//! QR clear: ignored; else RCODE 0 succeeds, any other fails with it); a
//! query built from the bytes as a name is valid wire form that the same
//! rule ignores (QR clear) and accepts once QR is set.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::check::dns::{judge, query, Ignored, Verdict, HEADER_LEN, SOA};

fuzz_target!(|data: &[u8]| {
    let [hi, lo, rest @ ..] = data else { return };
    let id = u16::from_be_bytes([*hi, *lo]);

    let want = if rest.len() < HEADER_LEN {
        Verdict::Ignore(Ignored::TooShort)
    } else if u16::from_be_bytes([rest[0], rest[1]]) != id {
        Verdict::Ignore(Ignored::OtherId(u16::from_be_bytes([rest[0], rest[1]])))
    } else if rest[2] & 0x80 == 0 {
        Verdict::Ignore(Ignored::NotAResponse)
    } else if rest[3] & 0x0f == 0 {
        Verdict::Success
    } else {
        Verdict::Error(rest[3] & 0x0f)
    };
    assert_eq!(judge(id, rest), want);

    let name = String::from_utf8_lossy(rest);
    if let Ok(q) = query(id, SOA, &name) {
        assert!(q.len() >= HEADER_LEN + 5 && q.len() <= HEADER_LEN + 255 + 4, "{}", q.len());
        // The name: length-prefixed labels of 1..=63 bytes up to the root's 0.
        let mut i = HEADER_LEN;
        while q[i] != 0 {
            assert!(q[i] <= 63);
            i += 1 + usize::from(q[i]);
        }
        assert_eq!(i + 5, q.len());
        assert_eq!(judge(id, &q), Verdict::Ignore(Ignored::NotAResponse));
        let mut reply = q.clone();
        reply[2] |= 0x80;
        assert_eq!(judge(id, &reply), Verdict::Success);
    }
});
