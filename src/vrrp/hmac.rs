//! keepalived 2.4's `auth_hmac`: an HMAC-SHA256-128 trailer after the VRRP
//! message, with a 64-bit sequence number against replays
//! (draft-cassen-vrrp-auth-hmac; wire format of keepalived 2.4.2+).
//!
//! ```text
//! VRRP message (v2: with its 8 auth bytes) | trailer (28 bytes)
//! trailer: ext_type 1 | key_id | reserved 0 (2) | sec (4) | subsec (2) | ctr (2) | hmac (16)
//! ```
//!
//! No VRRP field counts the trailer: a receiver finds it by length alone
//! (exactly the message plus 28 bytes). The HMAC input is a 20-byte
//! pseudo-header (IP version, VRRP version, VRID, 0, source address padded
//! to 16 bytes), the message with its checksum read as zero, the first 12
//! trailer bytes and 16 zero bytes; the destination is not covered, so one
//! signature serves every unicast copy. Checksums: IPv4 sums exclude the
//! trailer; over IPv6 the kernel's transport checksum covers it.
//!
//! Everything here is pure: the wall clock (Unix time) comes in as an
//! argument. The replay marks live in the [`crate::vrrp::Instance`]
//! ([`ReplayTable`]), the sender's sequence too ([`SeqGen`]).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::packet::Version;
pub use crate::config::model::{
    derived_window, AntiReplay, Mode, KEY_MAX, KEY_MIN, WINDOW_DERIVED_MIN, WINDOW_MAX,
};

/// Bytes of the trailer.
pub const TRAILER_LEN: usize = 28;
/// The only extension type: HMAC-SHA256 truncated to 128 bits.
pub const EXT_HMAC_SHA256_128: u8 = 1;
/// Multicast: replay marks kept per instance (least recently used evicted).
pub const MCAST_SLOTS: usize = 4;

const PSEUDO_LEN: usize = 20;
const HMAC_LEN: usize = 16;
/// Offset of the VRRP checksum, read as zero by the HMAC.
const CHECKSUM: std::ops::Range<usize> = 6..8;

/// The effective `auth_hmac` block of an instance.
#[derive(Clone, PartialEq, Eq)]
pub struct HmacParams {
    /// (id 1..=255, key of 32..=64 bytes).
    pub keys: Vec<(u8, Vec<u8>)>,
    /// Key id we sign with; it is one of `keys`.
    pub active_key: u8,
    pub anti_replay: AntiReplay,
    /// Seconds (time mode only).
    pub window: u32,
    pub mode: Mode,
}

impl fmt::Debug for HmacParams {
    /// Key ids only: key bytes never reach a log or a dump.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("HmacParams")
            .field("key_ids", &ids)
            .field("active_key", &self.active_key)
            .field("anti_replay", &self.anti_replay)
            .field("window", &self.window)
            .field("mode", &self.mode)
            .finish()
    }
}

impl HmacParams {
    /// One key, time mode with the window derived from a 1 s interval.
    pub fn new(id: u8, key: &[u8]) -> HmacParams {
        HmacParams {
            keys: vec![(id, key.to_vec())],
            active_key: id,
            anti_replay: AntiReplay::Time,
            window: derived_window(100),
            mode: Mode::Enforce,
        }
    }

    pub fn key(&self, id: u8) -> Option<&[u8]> {
        self.keys.iter().find(|(k, _)| *k == id && id != 0).map(|(_, v)| v.as_slice())
    }

    /// Trailer bytes our adverts carry (0 in receive-only mode).
    pub fn tx_len(&self) -> usize {
        if self.mode.sends() {
            TRAILER_LEN
        } else {
            0
        }
    }
}

/// Why a trailer was refused (keepalived's `auth_ext_*` outcomes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacError {
    /// ext_type not 1 or reserved not 0.
    Malformed,
    /// Time mode: the seconds are further than the window from our clock.
    Stale {
        skew: i32,
    },
    /// No configured key has this id.
    UnknownKey(u8),
    BadHmac,
    /// Not newer than the last sequence accepted from this sender.
    Replay,
}

/// A decoded trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trailer {
    pub ext_type: u8,
    pub key_id: u8,
    pub reserved: u16,
    /// sec << 32 | subsec << 16 | ctr.
    pub seq: u64,
    pub hmac: [u8; HMAC_LEN],
}

impl Trailer {
    /// Decode exactly `TRAILER_LEN` bytes; any other length is `None`.
    pub fn parse(b: &[u8]) -> Option<Trailer> {
        let b: &[u8; TRAILER_LEN] = b.try_into().ok()?;
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&b[4..12]);
        let mut hmac = [0u8; HMAC_LEN];
        hmac.copy_from_slice(&b[12..]);
        Some(Trailer {
            ext_type: b[0],
            key_id: b[1],
            reserved: u16::from_be_bytes([b[2], b[3]]),
            seq: u64::from_be_bytes(seq),
            hmac,
        })
    }

    pub fn to_bytes(&self) -> [u8; TRAILER_LEN] {
        let mut b = [0u8; TRAILER_LEN];
        b[0] = self.ext_type;
        b[1] = self.key_id;
        b[2..4].copy_from_slice(&self.reserved.to_be_bytes());
        b[4..12].copy_from_slice(&self.seq.to_be_bytes());
        b[12..].copy_from_slice(&self.hmac);
        b
    }

    pub fn sec(&self) -> u32 {
        (self.seq >> 32) as u32
    }
}

/// `a` is newer than `b` in 64-bit serial arithmetic.
pub fn newer(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) > 0
}

/// The 20-byte pseudo-header of the HMAC input.
pub fn pseudo_header(version: Version, vrid: u8, src: IpAddr) -> [u8; PSEUDO_LEN] {
    let mut p = [0u8; PSEUDO_LEN];
    match src {
        IpAddr::V4(a) => {
            p[0] = 4;
            p[4..8].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            p[0] = 6;
            p[4..20].copy_from_slice(&a.octets());
        }
    }
    p[1] = version.number();
    p[2] = vrid;
    p
}

/// The 16-byte HMAC over pseudo-header, message (checksum zero) and the
/// first 12 trailer bytes followed by 16 zero bytes.
fn mac(key: &[u8], pseudo: &[u8; PSEUDO_LEN], message: &[u8], head: &[u8]) -> [u8; HMAC_LEN] {
    // Any key length is valid for HMAC; keys are 32..=64 bytes by configuration.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else { return [0; HMAC_LEN] };
    m.update(pseudo);
    match message.get(..CHECKSUM.start) {
        Some(first) if message.len() >= CHECKSUM.end => {
            m.update(first);
            m.update(&[0, 0]);
            m.update(&message[CHECKSUM.end..]);
        }
        _ => m.update(message),
    }
    m.update(head);
    m.update(&[0u8; HMAC_LEN]);
    let full = m.finalize().into_bytes();
    let mut out = [0u8; HMAC_LEN];
    out.copy_from_slice(&full[..HMAC_LEN]);
    out
}

/// The trailer for `message` (the VRRP PDU, any checksum) sent from `src`,
/// signed with the active key. `None` without an active key.
pub fn sign(
    p: &HmacParams,
    seq: u64,
    version: Version,
    vrid: u8,
    src: IpAddr,
    message: &[u8],
) -> Option<[u8; TRAILER_LEN]> {
    let key = p.key(p.active_key)?;
    let mut t =
        Trailer { ext_type: EXT_HMAC_SHA256_128, key_id: p.active_key, reserved: 0, seq, hmac: [0; 16] };
    let head = t.to_bytes();
    t.hmac = mac(key, &pseudo_header(version, vrid, src), message, &head[..12]);
    Some(t.to_bytes())
}

/// Check a received trailer in keepalived's order: form, staleness (time
/// mode, `now_secs` = Unix seconds, skipped when `None`), key, HMAC. The
/// replay mark is judged afterwards ([`ReplayMark::accept`]). `version`,
/// `vrid` are ours (already matched against the packet), `src` the packet's.
pub fn verify(
    p: &HmacParams,
    now_secs: Option<u64>,
    version: Version,
    vrid: u8,
    src: IpAddr,
    message: &[u8],
    trailer: &[u8],
) -> Result<Trailer, HmacError> {
    let t = Trailer::parse(trailer).ok_or(HmacError::Malformed)?;
    if t.ext_type != EXT_HMAC_SHA256_128 || t.reserved != 0 {
        return Err(HmacError::Malformed);
    }
    if let (AntiReplay::Time, Some(now)) = (p.anti_replay, now_secs) {
        let skew = (now as u32).wrapping_sub(t.sec()) as i32;
        if skew.unsigned_abs() > p.window {
            return Err(HmacError::Stale { skew });
        }
    }
    let key = p.key(t.key_id).ok_or(HmacError::UnknownKey(t.key_id))?;
    let want = mac(key, &pseudo_header(version, vrid, src), message, &trailer[..12]);
    if !constant_time_eq(&want, &t.hmac) {
        return Err(HmacError::BadHmac);
    }
    Ok(t)
}

fn constant_time_eq(a: &[u8; HMAC_LEN], b: &[u8; HMAC_LEN]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The last sequence accepted from one sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayMark {
    mark: Option<u64>,
}

impl ReplayMark {
    pub fn get(&self) -> Option<u64> {
        self.mark
    }

    pub fn set(&mut self, seq: Option<u64>) {
        self.mark = seq;
    }

    /// Accept `seq` if newer than the mark (which expires in time mode once
    /// it is more than the window from `now_secs`), and make it the mark.
    pub fn accept(&mut self, p: &HmacParams, now_secs: u64, seq: u64) -> Result<(), HmacError> {
        if let (AntiReplay::Time, Some(m)) = (p.anti_replay, self.mark) {
            let age = (now_secs as u32).wrapping_sub((m >> 32) as u32) as i32;
            if age.unsigned_abs() > p.window {
                self.mark = None;
            }
        }
        if self.mark.is_some_and(|m| !newer(seq, m)) {
            return Err(HmacError::Replay);
        }
        self.mark = Some(seq);
        Ok(())
    }
}

/// Replay marks of an instance: one per unicast peer, or (multicast)
/// [`MCAST_SLOTS`] slots keyed by source, least recently used evicted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayTable {
    peers: Vec<(IpAddr, ReplayMark)>,
    slots: [(Option<IpAddr>, u32, ReplayMark); MCAST_SLOTS],
    rank: u32,
}

impl ReplayTable {
    /// The mark of `src`. Unicast (`peers` non-empty): `None` for a source
    /// that is no peer. Multicast: a new source claims a fresh slot.
    pub fn mark(&mut self, peers: &[IpAddr], src: IpAddr) -> Option<&mut ReplayMark> {
        if !peers.is_empty() {
            if !peers.contains(&src) {
                return None;
            }
            let at = match self.peers.iter().position(|(a, _)| *a == src) {
                Some(i) => i,
                None => {
                    self.peers.push((src, ReplayMark::default()));
                    self.peers.len() - 1
                }
            };
            return Some(&mut self.peers[at].1);
        }
        self.rank = self.rank.wrapping_add(1).max(1);
        let rank = self.rank;
        let at = match self.slots.iter().position(|(a, _, _)| *a == Some(src)) {
            Some(i) => i,
            None => {
                // An empty slot (rank 0) or the least recently used; ties: lowest index.
                let i = (0..MCAST_SLOTS).min_by_key(|&i| self.slots[i].1).unwrap_or(0);
                self.slots[i] = (Some(src), 0, ReplayMark::default());
                i
            }
        };
        self.slots[at].1 = rank;
        Some(&mut self.slots[at].2)
    }
}

/// The sender's sequence: one per advert (shared by all unicast copies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqGen {
    last: u64,
}

impl SeqGen {
    pub fn last(&self) -> u64 {
        self.last
    }

    pub fn set_last(&mut self, seq: u64) {
        self.last = seq;
    }

    /// The sequence of the next advert at Unix time `unix`.
    pub fn next(&mut self, p: &HmacParams, unix: Duration) -> u64 {
        let subsec = (u64::from(unix.subsec_nanos()) * 65536 / 1_000_000_000) & 0xffff;
        let clk = (u64::from(unix.as_secs() as u32) << 32) | (subsec << 16);
        let next = if newer(clk, self.last) {
            clk
        } else {
            let ahead = ((self.last >> 32) as u32).wrapping_sub((clk >> 32) as u32) as i32;
            if p.anti_replay == AntiReplay::Time && ahead > p.window as i32 {
                // Our clock stepped back: restart from it (peers expire their marks).
                clk
            } else {
                self.last.wrapping_add(1)
            }
        };
        self.last = next;
        next
    }
}
