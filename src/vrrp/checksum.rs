//! RFC 1071 Internet checksum and the pseudo-headers VRRP uses. The one
//! copy: ICMP echo (`sys::icmp`) sums with it too.
//!
//! v2 sums the VRRP message alone. v3 over IPv6 adds the IPv6 pseudo-header.
//! v3 over IPv4 adds an IPv4 pseudo-header by default, as keepalived does;
//! `v3_checksum_as_v2` (RFC 9568 reading, Cisco/Juniper) leaves it out.

use std::net::IpAddr;

/// IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;

/// Add `data` as big-endian 16-bit words to a running one's-complement sum.
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        acc += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        acc = (acc & 0xffff) + (acc >> 16);
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

/// Fold a running sum and complement it into the final checksum field.
pub fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Checksum of `data` alone (the checksum field inside must be zero when
/// computing, or its current value when verifying: a correct packet gives 0).
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}

/// Sum of the pseudo-header for an upper-layer message of `len` bytes.
/// Mixed address families have no pseudo-header; `None` then.
pub fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> Option<u32> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let len = u16::try_from(len).ok()?;
            let mut acc = sum(0, &s.octets());
            acc = sum(acc, &d.octets());
            acc = sum(acc, &[0, PROTO_VRRP]);
            Some(sum(acc, &len.to_be_bytes()))
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let len = u32::try_from(len).ok()?;
            let mut acc = sum(0, &s.octets());
            acc = sum(acc, &d.octets());
            acc = sum(acc, &len.to_be_bytes());
            Some(sum(acc, &[0, 0, 0, PROTO_VRRP]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example bytes: sum 0xddf2, checksum !0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0x12, 0x34, 0x56]), checksum(&[0x12, 0x34, 0x56, 0x00]));
    }

    #[test]
    fn mixed_families_have_no_pseudo_header() {
        let v4: IpAddr = "198.18.0.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(pseudo_header_sum(v4, v6, 8), None);
    }
}
