//! Netlink attributes (`struct rtattr` / `struct nlattr`): a writer and a
//! fail-stop reader.
//!
//! Layout: `len: u16, type: u16` in host byte order, then the payload; `len`
//! counts header + payload, and the next attribute starts at `len` rounded
//! up to 4 bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::sys::{Error, Result};

pub const HEADER_LEN: usize = 4;
/// Set on attributes that contain attributes; masked off by the reader.
pub const F_NESTED: u16 = 0x8000;
const F_BYTEORDER: u16 = 0x4000;

/// Round up to the 4-byte netlink alignment.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Appends attributes to a message under construction.
pub struct AttrWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> AttrWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        AttrWriter { buf }
    }

    pub fn put(&mut self, kind: u16, payload: &[u8]) -> &mut Self {
        let start = self.begin(kind);
        self.buf.extend_from_slice(payload);
        self.end(start);
        self
    }

    pub fn put_u8(&mut self, kind: u16, v: u8) -> &mut Self {
        self.put(kind, &[v])
    }

    pub fn put_u16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put(kind, &v.to_ne_bytes())
    }

    pub fn put_u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.put(kind, &v.to_ne_bytes())
    }

    /// A NUL-terminated string, as the kernel expects for names and labels.
    pub fn put_str(&mut self, kind: u16, s: &str) -> &mut Self {
        let start = self.begin(kind);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.end(start);
        self
    }

    /// An address in network byte order (4 or 16 bytes).
    pub fn put_ip(&mut self, kind: u16, ip: IpAddr) -> &mut Self {
        match ip {
            IpAddr::V4(a) => self.put(kind, &a.octets()),
            IpAddr::V6(a) => self.put(kind, &a.octets()),
        }
    }

    /// Open a nested attribute; close it with [`AttrWriter::nest_end`].
    pub fn nest_begin(&mut self, kind: u16) -> usize {
        self.begin(kind | F_NESTED)
    }

    pub fn nest_end(&mut self, start: usize) -> &mut Self {
        self.end(start);
        self
    }

    fn begin(&mut self, kind: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        start
    }

    /// Patch the length (unpadded, as the kernel does) and pad to alignment.
    fn end(&mut self, start: usize) {
        let len = (self.buf.len() - start).min(u16::MAX as usize) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self.buf.resize(align(self.buf.len()), 0);
    }
}

/// One attribute: its type (flags masked off) and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    pub fn u8(&self) -> Result<u8> {
        self.payload.first().copied().ok_or_else(|| self.short("u8"))
    }

    pub fn u16(&self) -> Result<u16> {
        let b: [u8; 2] =
            self.payload.get(..2).and_then(|s| s.try_into().ok()).ok_or_else(|| self.short("u16"))?;
        Ok(u16::from_ne_bytes(b))
    }

    pub fn u32(&self) -> Result<u32> {
        let b: [u8; 4] =
            self.payload.get(..4).and_then(|s| s.try_into().ok()).ok_or_else(|| self.short("u32"))?;
        Ok(u32::from_ne_bytes(b))
    }

    /// A string up to the first NUL (or the whole payload without one).
    pub fn str(&self) -> Result<&'a str> {
        let end = self.payload.iter().position(|&b| b == 0).unwrap_or(self.payload.len());
        std::str::from_utf8(&self.payload[..end])
            .map_err(|_| Error::malformed(format!("netlink attribute {}: not UTF-8", self.kind)))
    }

    /// An IPv4 or IPv6 address, chosen by payload length.
    pub fn ip(&self) -> Result<IpAddr> {
        match self.payload.len() {
            4 => {
                let b: [u8; 4] = self.payload.try_into().map_err(|_| self.short("IPv4 address"))?;
                Ok(IpAddr::V4(Ipv4Addr::from(b)))
            }
            16 => {
                let b: [u8; 16] = self.payload.try_into().map_err(|_| self.short("IPv6 address"))?;
                Ok(IpAddr::V6(Ipv6Addr::from(b)))
            }
            n => Err(Error::malformed(format!("netlink attribute {}: address of {n} bytes", self.kind))),
        }
    }

    /// The attributes inside a nested attribute.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }

    fn short(&self, what: &str) -> Error {
        Error::malformed(format!("netlink attribute {}: too short for {what}", self.kind))
    }
}

/// Iterates over packed attributes. Fail-stop: after the first malformed
/// attribute it yields that error once and then ends.
#[derive(Clone, Debug)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Attrs { rest: bytes }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        // Trailing padding shorter than a header is not an attribute.
        if self.rest.len() < HEADER_LEN {
            self.rest = &[];
            return None;
        }
        let len = u16::from_ne_bytes([self.rest[0], self.rest[1]]) as usize;
        let kind = u16::from_ne_bytes([self.rest[2], self.rest[3]]) & !(F_NESTED | F_BYTEORDER);
        if len < HEADER_LEN || len > self.rest.len() {
            self.rest = &[];
            return Some(Err(Error::malformed(format!("netlink attribute {kind}: bad length {len}"))));
        }
        let payload = &self.rest[HEADER_LEN..len];
        self.rest = self.rest.get(align(len)..).unwrap_or(&[]);
        Some(Ok(Attr { kind, payload }))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn write_pads_but_records_unpadded_length() {
        let mut buf = Vec::new();
        AttrWriter::new(&mut buf).put_str(3, "eth0").put_u8(7, 9);
        let mut want = Vec::new();
        want.extend_from_slice(&9u16.to_ne_bytes());
        want.extend_from_slice(&3u16.to_ne_bytes());
        want.extend_from_slice(b"eth0\0\0\0\0");
        want.extend_from_slice(&5u16.to_ne_bytes());
        want.extend_from_slice(&7u16.to_ne_bytes());
        want.extend_from_slice(&[9, 0, 0, 0]);
        assert_eq!(buf, want);
    }

    #[test]
    fn nested_round_trip() {
        let mut buf = Vec::new();
        let mut w = AttrWriter::new(&mut buf);
        let outer = w.nest_begin(18);
        w.put_str(1, "veth").put_u32(2, 0xdead_beef);
        w.nest_end(outer);
        w.put_ip(1, "198.18.0.1".parse().unwrap());

        let attrs: Vec<_> = Attrs::new(&buf).collect::<Result<_>>().unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].kind, 18, "nested flag is masked off");
        let inner: Vec<_> = attrs[0].nested().collect::<Result<_>>().unwrap();
        assert_eq!(inner[0].str().unwrap(), "veth");
        assert_eq!(inner[1].u32().unwrap(), 0xdead_beef);
        assert_eq!(attrs[1].ip().unwrap(), "198.18.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn malformed_lengths_are_errors_not_panics() {
        // Length larger than the buffer.
        let mut bad = Vec::new();
        bad.extend_from_slice(&64u16.to_ne_bytes());
        bad.extend_from_slice(&1u16.to_ne_bytes());
        bad.extend_from_slice(&[0; 4]);
        let mut it = Attrs::new(&bad);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        // Length smaller than a header.
        let mut it = Attrs::new(&[2, 0, 1, 0, 0, 0, 0, 0]);
        assert!(it.next().unwrap().is_err());
        // Short payloads for typed getters.
        let a = Attr { kind: 1, payload: &[1, 2] };
        assert!(a.u32().is_err());
        assert!(a.ip().is_err());
        assert_eq!(a.u16().unwrap(), u16::from_ne_bytes([1, 2]));
        // Every prefix of a valid buffer parses without panicking.
        let mut buf = Vec::new();
        AttrWriter::new(&mut buf).put_str(3, "a-long-name").put_u32(4, 1);
        for n in 0..buf.len() {
            for a in Attrs::new(&buf[..n]) {
                let _ = a.map(|a| (a.str(), a.u32()));
            }
        }
    }
}
