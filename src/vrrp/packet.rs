//! VRRP advertisement codec (RFC 3768 v2, RFC 5798/9568 v3), in two levels:
//! `Packet<T>` is a checked view over the bytes after the IP header, and
//! `Advert` is the owned representation that is parsed from and emitted into it.
//!
//! Once `Packet::new_checked` succeeds no accessor panics. `Advert::emit`
//! never panics; it reports a buffer that is too small as an error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum::{self, PROTO_VRRP};

/// The only VRRP packet type (RFC 5798 5.2.2).
pub const TYPE_ADVERT: u8 = 1;
/// IPv4 multicast group of VRRP, also used by the pre-1.3.6 unicast checksum.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
pub const AUTH_NONE: u8 = 0;
pub const AUTH_PASS: u8 = 1;
pub const AUTH_AH: u8 = 2;

mod field {
    use std::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2 only.
    pub const AUTH_TYPE: usize = 4;
    /// v2 only: seconds.
    pub const ADVER_INT_V2: usize = 5;
    /// v3 only: 4 reserved bits + 12-bit centiseconds.
    pub const MAX_ADVER_INT_V3: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRS: usize = 8;
    pub const AUTH_DATA_LEN: usize = 8;
}

pub const HEADER_LEN: usize = field::ADDRS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    pub fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of an instance and of the addresses in its adverts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the header and address count require.
    Truncated,
    /// Version nibble is neither 2 nor 3.
    UnknownVersion(u8),
    /// More than 255 addresses, or a v3 interval above 4095 cs.
    FieldOverflow,
    /// The addresses of one advert are of different families.
    MixedFamilies,
    /// Output buffer shorter than `buffer_len()`.
    BufferTooSmall,
    /// IP header: not IPv4, bad header length, fragment, or bad checksum.
    BadIpHeader,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Truncated => f.write_str("packet truncated"),
            WireError::UnknownVersion(v) => write!(f, "unknown VRRP version {v}"),
            WireError::FieldOverflow => f.write_str("field value out of range"),
            WireError::MixedFamilies => f.write_str("mixed address families"),
            WireError::BufferTooSmall => f.write_str("buffer too small"),
            WireError::BadIpHeader => f.write_str("malformed IP header"),
        }
    }
}

impl std::error::Error for WireError {}

/// A read-only view of a VRRP message.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks; accessors may then panic on short buffers.
    pub fn new_unchecked(buffer: T, family: Family) -> Packet<T> {
        Packet { buffer, family }
    }

    /// Wrap and check that header, addresses and (v2) auth data are present.
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, WireError> {
        let p = Packet::new_unchecked(buffer, family);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let version = self.version().ok_or(WireError::UnknownVersion(self.version_number()))?;
        if len < message_len(version, self.family, self.count()) {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn version_number(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    pub fn version(&self) -> Option<Version> {
        Version::from_number(self.version_number())
    }

    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 auth type; meaningless for v3.
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// Advertisement interval in centiseconds, whatever the version.
    pub fn interval_cs(&self) -> u16 {
        let b = self.buffer.as_ref();
        match self.version() {
            Some(Version::V3) => {
                let r = field::MAX_ADVER_INT_V3;
                u16::from_be_bytes([b[r.start], b[r.start + 1]]) & 0x0fff
            }
            _ => u16::from(b[field::ADVER_INT_V2]) * 100,
        }
    }

    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::CHECKSUM.start], b[field::CHECKSUM.start + 1]])
    }

    /// Length of the message as its header describes it (padding excluded).
    pub fn message_len(&self) -> usize {
        message_len(self.version().unwrap_or(Version::V3), self.family, self.count())
    }

    pub fn addr(&self, index: usize) -> IpAddr {
        let b = self.buffer.as_ref();
        let start = field::ADDRS + index * self.family.addr_len();
        match self.family {
            Family::V4 => {
                let o: [u8; 4] = [b[start], b[start + 1], b[start + 2], b[start + 3]];
                IpAddr::V4(Ipv4Addr::from(o))
            }
            Family::V6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&b[start..start + 16]);
                IpAddr::V6(Ipv6Addr::from(o))
            }
        }
    }

    /// v2 authentication data (8 bytes after the addresses).
    pub fn auth_data(&self) -> [u8; 8] {
        let start = field::ADDRS + usize::from(self.count()) * self.family.addr_len();
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.buffer.as_ref()[start..start + field::AUTH_DATA_LEN]);
        out
    }

    /// The message bytes without any trailing padding.
    pub fn message(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.message_len()]
    }
}

/// Bytes a message with `count` addresses of `family` occupies.
pub fn message_len(version: Version, family: Family, count: u8) -> usize {
    let auth = if version == Version::V2 { field::AUTH_DATA_LEN } else { 0 };
    HEADER_LEN + usize::from(count) * family.addr_len() + auth
}

/// Which checksum a received v3 advert carried (see [`ChecksumForm`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumMatch {
    /// Message only: v2, or v3 with `v3_checksum_as_v2` / Cisco / Juniper.
    Plain,
    /// With the pseudo-header of the real source and destination.
    PseudoHeader,
    /// IPv4 pseudo-header with 224.0.0.18 as destination although the packet
    /// was unicast: keepalived up to 1.3.6 (`old_unicast_checksum`).
    PseudoHeaderMcastDst,
}

/// How to compute the checksum of an outgoing advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumForm {
    Plain,
    PseudoHeader { src: IpAddr, dst: IpAddr },
}

impl ChecksumForm {
    /// keepalived's choice: v2 over IPv4 plain; v3 over IPv4 with the
    /// pseudo-header unless `v3_checksum_as_v2`; IPv6 always with it.
    pub fn for_tx(version: Version, src: IpAddr, dst: IpAddr, v3_checksum_as_v2: bool) -> ChecksumForm {
        let plain = match Family::of(src) {
            Family::V4 => version == Version::V2 || v3_checksum_as_v2,
            Family::V6 => false,
        };
        if plain {
            ChecksumForm::Plain
        } else {
            ChecksumForm::PseudoHeader { src, dst }
        }
    }

    fn initial_sum(self, len: usize) -> Result<u32, WireError> {
        match self {
            ChecksumForm::Plain => Ok(0),
            ChecksumForm::PseudoHeader { src, dst } => {
                checksum::pseudo_header_sum(src, dst, len).ok_or(WireError::MixedFamilies)
            }
        }
    }
}

/// Check the checksum of `message` (exactly the message, no padding) received
/// from `src` to `dst`; every form keepalived may have sent is accepted.
pub fn verify_checksum(message: &[u8], version: Version, src: IpAddr, dst: IpAddr) -> Option<ChecksumMatch> {
    let ok_with = |acc: Option<u32>| acc.is_some_and(|a| checksum::finish(checksum::sum(a, message)) == 0);
    let pseudo = |d: IpAddr| ok_with(checksum::pseudo_header_sum(src, d, message.len()));
    let v4 = Family::of(src) == Family::V4;
    if (!v4 || version == Version::V3) && pseudo(dst) {
        return Some(ChecksumMatch::PseudoHeader);
    }
    // v3 over IPv6 is summed by the kernel with the pseudo-header only.
    if (v4 || version == Version::V2) && ok_with(Some(0)) {
        return Some(ChecksumMatch::Plain);
    }
    let mcast = IpAddr::V4(MCAST_V4);
    if v4 && version == Version::V3 && dst != mcast && pseudo(mcast) {
        return Some(ChecksumMatch::PseudoHeaderMcastDst);
    }
    None
}

/// An owned VRRP advertisement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Virtual addresses, all of one family.
    pub addrs: Vec<IpAddr>,
    /// v2 only (0 none, 1 PASS, 2 AH); zero for v3.
    pub auth_type: u8,
    /// v2 only: PASS data, zero-padded; zero for v3 and for no auth.
    pub auth_data: [u8; 8],
    /// Advertisement interval in centiseconds (v2 carries whole seconds).
    pub interval_cs: u16,
    /// Checksum as received; ignored by `emit`, which computes it.
    pub checksum: u16,
}

impl Advert {
    /// Parse a message whose length was checked (`Packet::new_checked`).
    /// Trailing bytes beyond `message_len()` are ignored here.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Advert, WireError> {
        packet.check_len()?;
        let version = packet.version().ok_or(WireError::UnknownVersion(packet.version_number()))?;
        let addrs = (0..usize::from(packet.count())).map(|i| packet.addr(i)).collect();
        let (auth_type, auth_data) = match version {
            Version::V2 => (packet.auth_type(), packet.auth_data()),
            Version::V3 => (0, [0; 8]),
        };
        Ok(Advert {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            addrs,
            auth_type,
            auth_data,
            interval_cs: packet.interval_cs(),
            checksum: packet.checksum(),
        })
    }

    /// Parse untrusted bytes of the given family.
    pub fn parse_bytes(bytes: &[u8], family: Family) -> Result<Advert, WireError> {
        Advert::parse(&Packet::new_checked(bytes, family)?)
    }

    pub fn family(&self) -> Option<Family> {
        self.addrs.first().map(|a| Family::of(*a))
    }

    pub fn buffer_len(&self) -> usize {
        let family = self.family().unwrap_or(Family::V4);
        let count = u8::try_from(self.addrs.len()).unwrap_or(u8::MAX);
        message_len(self.version, family, count)
    }

    /// Write the message into `buf` with a freshly computed checksum; returns
    /// the number of bytes written (`buffer_len()`).
    pub fn emit(&self, buf: &mut [u8], form: ChecksumForm) -> Result<usize, WireError> {
        let family = self.family().unwrap_or(Family::V4);
        if self.addrs.iter().any(|a| Family::of(*a) != family) {
            return Err(WireError::MixedFamilies);
        }
        let count = u8::try_from(self.addrs.len()).map_err(|_| WireError::FieldOverflow)?;
        let len = self.buffer_len();
        let out = buf.get_mut(..len).ok_or(WireError::BufferTooSmall)?;
        out.fill(0);
        out[field::VER_TYPE] = (self.version.number() << 4) | TYPE_ADVERT;
        out[field::VRID] = self.vrid;
        out[field::PRIORITY] = self.priority;
        out[field::COUNT] = count;
        match self.version {
            Version::V2 => {
                out[field::AUTH_TYPE] = self.auth_type;
                out[field::ADVER_INT_V2] = v2_interval_secs(self.interval_cs);
            }
            Version::V3 => {
                if self.interval_cs > 0x0fff {
                    return Err(WireError::FieldOverflow);
                }
                out[field::MAX_ADVER_INT_V3].copy_from_slice(&self.interval_cs.to_be_bytes());
            }
        }
        let mut at = field::ADDRS;
        for addr in &self.addrs {
            match addr {
                IpAddr::V4(a) => out[at..at + 4].copy_from_slice(&a.octets()),
                IpAddr::V6(a) => out[at..at + 16].copy_from_slice(&a.octets()),
            }
            at += family.addr_len();
        }
        if self.version == Version::V2 {
            out[at..at + field::AUTH_DATA_LEN].copy_from_slice(&self.auth_data);
        }
        let sum = checksum::finish(checksum::sum(form.initial_sum(len)?, out));
        out[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        Ok(len)
    }

    /// Convenience: emit into a fresh vector.
    pub fn to_bytes(&self, form: ChecksumForm) -> Result<Vec<u8>, WireError> {
        let mut buf = vec![0u8; self.buffer_len()];
        self.emit(&mut buf, form)?;
        Ok(buf)
    }
}

/// v2 carries whole seconds in 8 bits; keepalived rounds, and 0 is not valid.
fn v2_interval_secs(cs: u16) -> u8 {
    let secs = (u32::from(cs) + 50) / 100;
    u8::try_from(secs.clamp(1, 255)).unwrap_or(u8::MAX)
}

/// The protocol number for raw sockets and the IPv6 next-header field.
pub const IP_PROTO: u8 = PROTO_VRRP;
