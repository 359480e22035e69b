//! IPsec AH (RFC 2402) the way keepalived uses it for VRRPv2 `auth_type AH`:
//! no security association, just a fixed layout that any keepalived decodes.
//!
//! ```text
//! IPv4 header (protocol 51) | AH (24 bytes) | VRRPv2 message (auth type 2, auth data zero)
//! AH: next header 112 | payload len 4 | reserved 0 | SPI = IPv4 source | sequence number | ICV (12)
//! ```
//!
//! The ICV is HMAC-MD5 truncated to 96 bits, keyed by the 8-byte
//! `auth_pass` (zero-padded), over the IPv4 header with TOS, flags/fragment
//! offset and header checksum zeroed (and the TTL too in unicast mode, where
//! keepalived does not fix it), the AH header with a zero ICV, and the VRRP
//! message. The IP identification and total length are covered, so the
//! sender must write the IPv4 header itself (IP_HDRINCL).
//!
//! Sequence numbers are the instance's business (`Instance`): one counter
//! per instance, shared by sending and receiving, as keepalived keeps it.

use std::net::Ipv4Addr;

use md5::{Digest, Md5};

use super::ipv4::{self, Ipv4Header};
use super::packet::{Advert, ChecksumForm, WireError, IP_PROTO as PROTO_VRRP};

/// IP protocol number of AH.
pub const IP_PROTO_AH: u8 = 51;
/// The AH header keepalived sends: 12 fixed bytes and a 96-bit ICV.
pub const HEADER_LEN: usize = 24;
pub const ICV_LEN: usize = 12;
/// AH length in 32-bit words minus 2 (RFC 2402 2.2): (24 / 4) - 2.
pub const PAYLOAD_LEN_WORDS: u8 = 4;
/// HMAC block size of MD5.
const BLOCK: usize = 64;
/// Longest IPv4 header (IHL 15).
const MAX_IP_HEADER: usize = 60;

mod field {
    use std::ops::Range;
    pub const NEXT_HEADER: usize = 0;
    pub const PAYLOAD_LEN: usize = 1;
    pub const SPI: Range<usize> = 4..8;
    pub const SEQ: Range<usize> = 8..12;
    pub const ICV: Range<usize> = 12..24;
    /// In the IPv4 header: the fields an AH sender cannot predict.
    pub const IP_TOS: usize = 1;
    pub const IP_FRAG: Range<usize> = 6..8;
    pub const IP_TTL: usize = 8;
    pub const IP_CHECKSUM: Range<usize> = 10..12;
}

/// A parsed AH header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhHeader {
    pub next_header: u8,
    pub payload_len: u8,
    pub spi: u32,
    pub seq: u32,
    pub icv: [u8; ICV_LEN],
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl AhHeader {
    /// The header keepalived puts in front of an advert from `src`.
    pub fn for_advert(src: Ipv4Addr, seq: u32) -> AhHeader {
        AhHeader {
            next_header: PROTO_VRRP,
            payload_len: PAYLOAD_LEN_WORDS,
            spi: u32::from(src),
            seq,
            icv: [0; ICV_LEN],
        }
    }

    /// Parse the first `HEADER_LEN` bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<AhHeader, WireError> {
        let b = bytes.get(..HEADER_LEN).ok_or(WireError::Truncated)?;
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&b[field::ICV]);
        Ok(AhHeader {
            next_header: b[field::NEXT_HEADER],
            payload_len: b[field::PAYLOAD_LEN],
            spi: be32(&b[field::SPI]),
            seq: be32(&b[field::SEQ]),
            icv,
        })
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let out = buf.get_mut(..HEADER_LEN).ok_or(WireError::BufferTooSmall)?;
        out.fill(0);
        out[field::NEXT_HEADER] = self.next_header;
        out[field::PAYLOAD_LEN] = self.payload_len;
        out[field::SPI].copy_from_slice(&self.spi.to_be_bytes());
        out[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        out[field::ICV].copy_from_slice(&self.icv);
        Ok(())
    }
}

/// HMAC-MD5 (RFC 2104) of the concatenation of `parts`.
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let mut inner = Md5::new();
    inner.update(pad(0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Md5::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The ICV of a datagram: `ip_header` (options included) and `after_ip`
/// (AH header, then the VRRP message). The mutable IP fields and the ICV
/// field are taken as zero; `zero_ttl` in unicast mode.
pub fn icv(
    key: &[u8; 8],
    ip_header: &[u8],
    after_ip: &[u8],
    zero_ttl: bool,
) -> Result<[u8; ICV_LEN], WireError> {
    if ip_header.len() < ipv4::HEADER_LEN || ip_header.len() > MAX_IP_HEADER {
        return Err(WireError::BadIpHeader);
    }
    let mut ip = [0u8; MAX_IP_HEADER];
    let ip = &mut ip[..ip_header.len()];
    ip.copy_from_slice(ip_header);
    ip[field::IP_TOS] = 0;
    ip[field::IP_FRAG].fill(0);
    ip[field::IP_CHECKSUM].fill(0);
    if zero_ttl {
        ip[field::IP_TTL] = 0;
    }
    let ah = after_ip.get(..HEADER_LEN).ok_or(WireError::Truncated)?;
    let mut ah_zeroed = [0u8; HEADER_LEN];
    ah_zeroed.copy_from_slice(ah);
    ah_zeroed[field::ICV].fill(0);
    let mac = hmac_md5(key, &[ip, &ah_zeroed, &after_ip[HEADER_LEN..]]);
    let mut out = [0u8; ICV_LEN];
    out.copy_from_slice(&mac[..ICV_LEN]);
    Ok(out)
}

/// What the sender of one AH advert needs besides the advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhTx {
    pub key: [u8; 8],
    pub seq: u32,
    /// IP identification; keepalived never sends 0 (the kernel would pick one).
    pub ident: u16,
    pub ttl: u8,
    /// Unicast mode: the TTL is left out of the ICV.
    pub unicast: bool,
}

/// A complete IPv4 datagram (protocol 51) carrying `advert` behind AH, as
/// keepalived sends it: TOS 0xc0, DF clear, plain v2 checksum.
pub fn build_datagram(
    advert: &Advert,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    tx: &AhTx,
) -> Result<Vec<u8>, WireError> {
    let vrrp_len = advert.buffer_len();
    let payload_len = HEADER_LEN + vrrp_len;
    let mut buf = vec![0u8; ipv4::HEADER_LEN + payload_len];
    let mut header = Ipv4Header::for_advert(src, dst, tx.ttl, tx.ident, payload_len);
    header.protocol = IP_PROTO_AH;
    header.emit(&mut buf)?;
    let (ip, rest) = buf.split_at_mut(ipv4::HEADER_LEN);
    AhHeader::for_advert(src, tx.seq).emit(rest)?;
    advert.emit(&mut rest[HEADER_LEN..], ChecksumForm::Plain)?;
    let icv = icv(&tx.key, ip, rest, tx.unicast)?;
    rest[field::ICV].copy_from_slice(&icv);
    Ok(buf)
}

/// Why a received AH header is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AhError {
    /// Too short for the AH header, or an unusable IP header.
    Truncated,
    /// AH for another protocol than VRRP.
    NotVrrp,
    /// The ICV does not match: another password, or a changed packet.
    BadIcv,
    /// The SPI is not the IPv4 source address.
    BadSpi,
}

/// Check the AH header of a received datagram from `src`; on success the
/// header (its sequence number is for the instance to judge).
pub fn verify(
    key: &[u8; 8],
    ip_header: &[u8],
    after_ip: &[u8],
    src: Ipv4Addr,
    zero_ttl: bool,
) -> Result<AhHeader, AhError> {
    let ah = AhHeader::parse(after_ip).map_err(|_| AhError::Truncated)?;
    if ah.next_header != PROTO_VRRP {
        return Err(AhError::NotVrrp);
    }
    let want = icv(key, ip_header, after_ip, zero_ttl).map_err(|_| AhError::Truncated)?;
    let diff = want.iter().zip(&ah.icv).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if std::hint::black_box(diff) != 0 {
        return Err(AhError::BadIcv);
    }
    if ah.spi != u32::from(src) {
        return Err(AhError::BadSpi);
    }
    Ok(ah)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn hmac_md5_rfc2202_vectors() {
        // RFC 2202 test cases 1, 2 and 6 (a key longer than the block is hashed first).
        let mac = hmac_md5(&[0x0b; 16], &[b"Hi There"]);
        assert_eq!(mac.to_vec(), hex("9294727a3638bb1c13f48ef8158bfc9d"));
        let mac = hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(mac.to_vec(), hex("750c783e6ab0b503eaa86e310a5db738"));
        let mac = hmac_md5(&[0xaa; 80], &[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(mac.to_vec(), hex("6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"));
    }

    #[test]
    fn header_round_trip() {
        let h = AhHeader { next_header: 112, payload_len: 4, spi: 0xc612fa01, seq: 7, icv: [9; 12] };
        let mut b = [0u8; HEADER_LEN];
        h.emit(&mut b).unwrap();
        assert_eq!(&b[..12], &hex("70040000c612fa0100000007")[..]);
        assert_eq!(AhHeader::parse(&b).unwrap(), h);
        assert_eq!(AhHeader::parse(&b[..23]), Err(WireError::Truncated));
        assert_eq!(h.emit(&mut [0u8; 23]), Err(WireError::BufferTooSmall));
    }

    #[test]
    fn icv_rejects_bad_ip_headers() {
        let key = *b"k\0\0\0\0\0\0\0";
        assert_eq!(icv(&key, &[0; 19], &[0; 24], false), Err(WireError::BadIpHeader));
        assert_eq!(icv(&key, &[0; 61], &[0; 24], false), Err(WireError::BadIpHeader));
        assert_eq!(icv(&key, &[0; 20], &[0; 23], false), Err(WireError::Truncated));
        assert_eq!(verify(&key, &[0; 20], &[0; 10], Ipv4Addr::LOCALHOST, false), Err(AhError::Truncated));
    }
}
