//! The IPv4 header as VRRP needs it: raw IPv4 sockets deliver the header on
//! receive (TTL, source, destination), and keepalived builds it itself on
//! send (IP_HDRINCL): TOS 0xc0, TTL 255, protocol 112, DF clear, ID per advert.

use std::net::{IpAddr, Ipv4Addr};

use super::checksum;
use super::packet::{Advert, ChecksumForm, WireError, IP_PROTO};

pub const HEADER_LEN: usize = 20;
/// Internetwork control, as keepalived sets it.
pub const TOS_VRRP: u8 = 0xc0;
pub const TTL_VRRP: u8 = 255;

mod field {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// An IPv4 header without options (options are skipped on parse).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Header {
    pub tos: u8,
    pub ident: u16,
    pub ttl: u8,
    pub protocol: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Bytes after the header, as the total-length field says.
    pub payload_len: usize,
}

/// A parsed datagram: the header, its length (with options) and the payload
/// trimmed to the total-length field, so Ethernet padding is gone.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Datagram<'a> {
    pub header: Ipv4Header,
    pub header_len: usize,
    pub payload: &'a [u8],
}

impl Ipv4Header {
    /// The header keepalived puts in front of an advert.
    pub fn for_advert(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, ident: u16, payload_len: usize) -> Ipv4Header {
        Ipv4Header { tos: TOS_VRRP, ident, ttl, protocol: IP_PROTO, src, dst, payload_len }
    }

    /// Parse what a raw IPv4 socket returns. Rejects fragments, bad header
    /// checksums and a total length larger than the bytes received.
    pub fn parse(bytes: &[u8]) -> Result<Ipv4Datagram<'_>, WireError> {
        let first = *bytes.first().ok_or(WireError::Truncated)?;
        if first >> 4 != 4 {
            return Err(WireError::BadIpHeader);
        }
        let header_len = usize::from(first & 0x0f) * 4;
        if header_len < HEADER_LEN {
            return Err(WireError::BadIpHeader);
        }
        let header = bytes.get(..header_len).ok_or(WireError::Truncated)?;
        let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if total < header_len {
            return Err(WireError::BadIpHeader);
        }
        let payload = bytes.get(header_len..total).ok_or(WireError::Truncated)?;
        let frag = u16::from_be_bytes([header[6], header[7]]);
        if frag & 0x3fff != 0 || checksum::checksum(header) != 0 {
            return Err(WireError::BadIpHeader);
        }
        let addr = |r: std::ops::Range<usize>| {
            Ipv4Addr::new(header[r.start], header[r.start + 1], header[r.start + 2], header[r.start + 3])
        };
        let parsed = Ipv4Header {
            tos: header[field::TOS],
            ident: u16::from_be_bytes([header[4], header[5]]),
            ttl: header[field::TTL],
            protocol: header[field::PROTOCOL],
            src: addr(field::SRC),
            dst: addr(field::DST),
            payload_len: payload.len(),
        };
        Ok(Ipv4Datagram { header: parsed, header_len, payload })
    }

    /// Write the 20-byte header with its checksum.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let out = buf.get_mut(..HEADER_LEN).ok_or(WireError::BufferTooSmall)?;
        let total = u16::try_from(HEADER_LEN + self.payload_len).map_err(|_| WireError::FieldOverflow)?;
        out.fill(0);
        out[field::VER_IHL] = 0x45;
        out[field::TOS] = self.tos;
        out[field::TOTAL_LEN].copy_from_slice(&total.to_be_bytes());
        out[field::IDENT].copy_from_slice(&self.ident.to_be_bytes());
        out[field::FLAGS_FRAG].copy_from_slice(&[0, 0]);
        out[field::TTL] = self.ttl;
        out[field::PROTOCOL] = self.protocol;
        out[field::SRC].copy_from_slice(&self.src.octets());
        out[field::DST].copy_from_slice(&self.dst.octets());
        let sum = checksum::checksum(out);
        out[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

/// Build a complete IPv4 datagram carrying `advert`, as keepalived sends it.
pub fn build_advert_datagram(
    advert: &Advert,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    ident: u16,
    v3_checksum_as_v2: bool,
) -> Result<Vec<u8>, WireError> {
    let len = advert.buffer_len();
    let mut buf = vec![0u8; HEADER_LEN + len];
    Ipv4Header::for_advert(src, dst, ttl, ident, len).emit(&mut buf)?;
    let form = ChecksumForm::for_tx(advert.version, IpAddr::V4(src), IpAddr::V4(dst), v3_checksum_as_v2);
    advert.emit(&mut buf[HEADER_LEN..], form)?;
    Ok(buf)
}
