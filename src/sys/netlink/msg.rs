//! Netlink message framing: `struct nlmsghdr`, a request builder and a
//! fail-stop reader for datagrams holding one or more messages.
//!
//! Header layout (host byte order): `len: u32, type: u16, flags: u16,
//! seq: u32, pid: u32`; messages are padded to 4 bytes.

use super::attr::{align, AttrWriter, Attrs};
use crate::sys::{Error, Result};

pub const HEADER_LEN: usize = 16;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const NLM_F_REQUEST: u16 = 0x01;
pub const NLM_F_MULTI: u16 = 0x02;
pub const NLM_F_ACK: u16 = 0x04;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
/// On an NLMSG_ERROR: extended-ack attributes follow the echoed request.
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

impl Header {
    fn parse(b: &[u8]) -> Option<Header> {
        let u32_at = |i: usize| Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?));
        let u16_at = |i: usize| Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?));
        Some(Header {
            len: u32_at(0)?,
            kind: u16_at(4)?,
            flags: u16_at(6)?,
            seq: u32_at(8)?,
            pid: u32_at(12)?,
        })
    }
}

/// A request being built: header, fixed family struct, then attributes.
#[derive(Clone, Debug)]
pub struct Request {
    buf: Vec<u8>,
}

impl Request {
    /// `flags` are added to NLM_F_REQUEST.
    pub fn new(kind: u16, flags: u16) -> Request {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(&[0; 8]);
        Request { buf }
    }

    /// Append the family-specific fixed header (`ifinfomsg`, `rtmsg`, ...).
    pub fn push_fixed(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(align(self.buf.len()), 0);
        self
    }

    pub fn attrs(&mut self) -> AttrWriter<'_> {
        AttrWriter::new(&mut self.buf)
    }

    pub fn kind(&self) -> u16 {
        u16::from_ne_bytes([self.buf[4], self.buf[5]])
    }

    pub fn add_flags(&mut self, flags: u16) {
        let f = self.flags() | flags;
        self.buf[6..8].copy_from_slice(&f.to_ne_bytes());
    }

    pub fn flags(&self) -> u16 {
        u16::from_ne_bytes([self.buf[6], self.buf[7]])
    }

    /// The finished bytes with length and sequence number filled in.
    pub fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

/// One message: its header and the bytes after the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub header: Header,
    pub payload: &'a [u8],
}

/// What a message means to a request/dump loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    Data(Message<'a>),
    /// NLMSG_ERROR with error 0.
    Ack,
    /// NLMSG_ERROR with a negative errno, made positive, plus the kernel's
    /// extended-ack text when it sent one.
    Error {
        errno: i32,
        text: Option<&'a str>,
    },
    Done,
    /// NOOP and OVERRUN: nothing to act on.
    Noise,
}

impl<'a> Message<'a> {
    pub fn classify(&self) -> Result<Reply<'a>> {
        match self.header.kind {
            NLMSG_ERROR => self.parse_error(),
            // A DONE may carry an error code (e.g. a dump interrupted by a filter).
            NLMSG_DONE => match self.payload.get(..4) {
                Some(b) if i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) < 0 => {
                    let errno = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]).saturating_neg();
                    Ok(Reply::Error { errno, text: None })
                }
                _ => Ok(Reply::Done),
            },
            NLMSG_NOOP | NLMSG_OVERRUN => Ok(Reply::Noise),
            _ => Ok(Reply::Data(*self)),
        }
    }

    fn parse_error(&self) -> Result<Reply<'a>> {
        let code = self
            .payload
            .get(..4)
            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| Error::malformed("netlink error message too short"))?;
        if code == 0 {
            return Ok(Reply::Ack);
        }
        if code > 0 {
            return Err(Error::malformed("netlink error message with a positive code"));
        }
        let mut text = None;
        if self.header.flags & NLM_F_ACK_TLVS != 0 {
            // The echoed request: its header only when capped, else all of it.
            let echoed = Header::parse(self.payload.get(4..).unwrap_or(&[]));
            let skip = match echoed {
                Some(h) if self.header.flags & NLM_F_CAPPED == 0 => align(h.len as usize),
                Some(_) => HEADER_LEN,
                None => usize::MAX,
            };
            let tlvs = self.payload.get(4usize.saturating_add(skip)..).unwrap_or(&[]);
            text = Attrs::new(tlvs)
                .filter_map(|a| a.ok())
                .find(|a| a.kind == NLMSGERR_ATTR_MSG)
                .and_then(|a| a.str().ok());
        }
        Ok(Reply::Error { errno: code.saturating_neg(), text })
    }
}

/// Iterates over the messages of one received datagram. Fail-stop.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    pub fn new(datagram: &'a [u8]) -> Self {
        Messages { rest: datagram }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let header = match Header::parse(self.rest) {
            Some(h) if (h.len as usize) >= HEADER_LEN && (h.len as usize) <= self.rest.len() => h,
            _ => {
                self.rest = &[];
                return Some(Err(Error::malformed("netlink message: bad header or length")));
            }
        };
        let payload = &self.rest[HEADER_LEN..header.len as usize];
        self.rest = self.rest.get(align(header.len as usize)..).unwrap_or(&[]);
        Some(Ok(Message { header, payload }))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn msg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut r = Request::new(kind, 0);
        r.push_fixed(payload);
        let mut b = r.finish(seq).to_vec();
        b[6..8].copy_from_slice(&flags.to_ne_bytes());
        b
    }

    #[test]
    fn request_header_is_filled_in() {
        let mut r = Request::new(20, NLM_F_ACK | NLM_F_CREATE);
        r.push_fixed(&[2, 32, 0, 0, 7, 0, 0, 0]);
        r.attrs().put_u32(2, 1);
        let b = r.finish(42).to_vec();
        let h = Header::parse(&b).unwrap();
        assert_eq!(
            h,
            Header { len: 32, kind: 20, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, seq: 42, pid: 0 }
        );
        assert_eq!(b.len(), 32);
    }

    #[test]
    fn datagram_with_data_ack_error_done() {
        let mut d = msg(16, NLM_F_MULTI, 1, &[1, 2, 3]);
        d.extend(msg(NLMSG_ERROR, 0, 1, &0i32.to_ne_bytes()));
        let mut err = (-libc::EEXIST).to_ne_bytes().to_vec();
        err.extend(msg(20, 0, 1, &[]));
        d.extend(msg(NLMSG_ERROR, 0, 1, &err));
        d.extend(msg(NLMSG_DONE, NLM_F_MULTI, 1, &0i32.to_ne_bytes()));
        let replies: Vec<_> = Messages::new(&d).map(|m| m.unwrap().classify().unwrap()).collect();
        assert!(matches!(replies[0], Reply::Data(Message { payload: [1, 2, 3, 0], .. })));
        assert_eq!(replies[1], Reply::Ack);
        assert_eq!(replies[2], Reply::Error { errno: libc::EEXIST, text: None });
        assert_eq!(replies[3], Reply::Done);
    }

    #[test]
    fn extended_ack_text_is_decoded() {
        let mut p = (-libc::EINVAL).to_ne_bytes().to_vec();
        p.extend(msg(20, NLM_F_REQUEST, 9, &[]));
        AttrWriter::new(&mut p).put_str(NLMSGERR_ATTR_MSG, "Invalid prefix");
        let d = msg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 9, &p);
        let m = Messages::new(&d).next().unwrap().unwrap();
        assert_eq!(m.classify().unwrap(), Reply::Error { errno: libc::EINVAL, text: Some("Invalid prefix") });
    }

    #[test]
    fn malformed_datagrams_are_errors() {
        assert!(Messages::new(&[1, 2, 3]).next().unwrap().is_err());
        let mut d = msg(16, 0, 1, &[0; 8]);
        d[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(Messages::new(&d).next().unwrap().is_err());
        let short_err = msg(NLMSG_ERROR, 0, 1, &[]);
        assert!(Messages::new(&short_err).next().unwrap().unwrap().classify().is_err());
        // Every truncation of a valid datagram is handled without panics.
        let mut d = msg(16, NLM_F_MULTI, 1, &[9; 20]);
        let mut p = (-libc::EINVAL).to_ne_bytes().to_vec();
        p.extend(msg(20, NLM_F_REQUEST, 9, &[7; 12]));
        AttrWriter::new(&mut p).put_str(NLMSGERR_ATTR_MSG, "x");
        d.extend(msg(NLMSG_ERROR, NLM_F_ACK_TLVS, 9, &p));
        for n in 0..d.len() {
            for m in Messages::new(&d[..n]).flatten() {
                let _ = m.classify();
            }
        }
    }
}
