//! Validation of a received advert in keepalived's order (`vrrp_check_packet`),
//! with one named reason per drop and one counter per reason.
//!
//! Not dropped, only reported in `Notices`: a v3 interval that differs from
//! ours (the backup adopts it) and an address list that differs from ours
//! (RFC 9568 / keepalived 2.3.3: log and count, still process).

use std::net::IpAddr;

use super::ah::{self, AhError};
use super::hmac::{self, HmacError, Trailer};
use super::ipv4::Ipv4Datagram;
use super::packet::{self, Advert, ChecksumMatch, Family, Packet, Version, AUTH_AH, TYPE_ADVERT};
use super::params::InstanceParams;

/// Minimum Ethernet payload plus two stripped VLAN tags: a received IP packet
/// no longer than this may carry trailing frame padding.
const MAX_PADDED_IP_LEN: usize = 46 + 8;

/// What the I/O edge knows about a received packet besides its VRRP bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxContext {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// Length of the IP header(s) in front of the VRRP bytes.
    pub ip_header_len: usize,
}

impl RxContext {
    pub fn from_ipv4(d: &Ipv4Datagram<'_>) -> RxContext {
        RxContext {
            src: IpAddr::V4(d.header.src),
            dst: IpAddr::V4(d.header.dst),
            ttl: d.header.ttl,
            ip_header_len: d.header_len,
        }
    }
}

/// Why an advert was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reject {
    /// Source address family differs from the instance's.
    WrongFamily,
    /// Shorter or longer than header + addresses (+ auth) say; padding tolerated.
    BadLength,
    /// Another virtual router's advert.
    BadVrid,
    /// TTL/hop limit not 255 (multicast mode only).
    BadTtl,
    BadVersion,
    /// v2 auth type unknown or different from ours; also an AH header
    /// (IP protocol 51) where we expect none, or none where we use AH.
    BadAuthType,
    /// v2 PASS data differs from ours.
    AuthMismatch,
    /// v2 interval differs from ours (v3 only logs).
    IntervalMismatch,
    BadType,
    BadChecksum,
    /// Multicast received in unicast mode or the reverse.
    WrongDestination,
    /// We are the owner and `owner_ignore_adverts` is set.
    OwnerIgnores,
    /// Unicast advert from an address that is not a configured peer.
    BadUnicastSource,
    /// AH: the ICV does not match (another auth_pass, or a changed packet).
    AhAuthFailure,
    /// AH: not for VRRP (next header), or the SPI is not the source address.
    AhBadHeader,
    /// AH: a sequence number not above the last one seen or sent (replay).
    AhReplay,
    /// An advertisement interval of 0: adopting it (v3) would shrink a
    /// backup's master-down interval to almost nothing.
    ZeroInterval,
    /// auth_hmac `enforce`: the advert has no trailer (`auth_ext_missing`).
    HmacMissing,
    /// auth_hmac: ext_type not 1 or reserved bytes not zero (`auth_ext_malformed`).
    HmacMalformed,
    /// auth_hmac: the trailer's key id is none of ours (`auth_ext_unknown_key`).
    HmacUnknownKey,
    /// auth_hmac: the HMAC does not match (`auth_ext_invalid_hmac`): another
    /// key, a changed packet, or another source address or VRID.
    HmacBadDigest,
    /// auth_hmac time mode: the timestamp is outside the window (`auth_ext_stale`).
    HmacStale,
    /// auth_hmac: the sequence is not newer than the last one accepted from
    /// this sender (`auth_ext_replay`).
    HmacReplay,
}

impl Reject {
    pub const ALL: [Reject; 23] = [
        Reject::WrongFamily,
        Reject::BadLength,
        Reject::BadVrid,
        Reject::BadTtl,
        Reject::BadVersion,
        Reject::BadAuthType,
        Reject::AuthMismatch,
        Reject::IntervalMismatch,
        Reject::BadType,
        Reject::BadChecksum,
        Reject::WrongDestination,
        Reject::OwnerIgnores,
        Reject::BadUnicastSource,
        Reject::AhAuthFailure,
        Reject::AhBadHeader,
        Reject::AhReplay,
        Reject::ZeroInterval,
        Reject::HmacMissing,
        Reject::HmacMalformed,
        Reject::HmacUnknownKey,
        Reject::HmacBadDigest,
        Reject::HmacStale,
        Reject::HmacReplay,
    ];

    /// Log text after "(VI_1) ", keepalived's wording where it has one.
    pub fn describe(self, src: IpAddr) -> String {
        match self {
            Reject::WrongFamily => format!("received advert from {src} of the wrong address family"),
            Reject::BadLength => format!("vrrp packet from {src} too short/long"),
            Reject::BadVrid => format!("received advert from {src} for another VRID"),
            Reject::BadTtl => format!("invalid TTL/HL from {src}"),
            Reject::BadVersion => format!("wrong VRRP version from {src}"),
            Reject::BadAuthType => format!("received an invalid auth type from {src}"),
            Reject::AuthMismatch => "received an invalid passwd!".to_string(),
            Reject::IntervalMismatch => format!("advertisement interval mismatch from {src}"),
            Reject::BadType => format!("Invalid packet type from {src}"),
            Reject::BadChecksum => format!("Invalid VRRP checksum from {src}"),
            Reject::WrongDestination => format!("advert from {src}: unicast/multicast mode mismatch"),
            Reject::OwnerIgnores => format!("address owner ignoring advert from {src}"),
            Reject::BadUnicastSource => format!("advert from {src} is not from a unicast peer"),
            Reject::AhAuthFailure => format!(
                "IPSEC-AH : invalid IPSEC HMAC-MD5 value from {src}. Due to fields mutation or bad password !"
            ),
            Reject::AhBadHeader => format!("IPSEC-AH : invalid AH header (next header or SPI) from {src}"),
            Reject::AhReplay => {
                format!("IPSEC-AH : sequence number from {src} already processed. Packet dropped")
            }
            Reject::ZeroInterval => format!("advert from {src} with an advertisement interval of 0"),
            Reject::HmacMissing => format!("missing authentication trailer from {src}"),
            Reject::HmacMalformed => format!("malformed authentication trailer from {src}"),
            Reject::HmacUnknownKey => format!("unknown authentication key id from {src}"),
            Reject::HmacBadDigest => format!("invalid authentication HMAC from {src}"),
            Reject::HmacStale => {
                format!("stale authentication trailer from {src}, clock skew exceeds window")
            }
            Reject::HmacReplay => format!("replayed authentication trailer from {src}"),
        }
    }
}

/// Findings that are logged and counted but do not drop the advert.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notices {
    /// v3: the advert's interval differs from ours (a backup adopts it).
    pub interval_mismatch: bool,
    /// The advertised address list differs from our VIPs.
    pub addr_list_mismatch: bool,
    /// auth_hmac `permissive`/`receive-only`: accepted without a trailer.
    pub hmac_missing: bool,
}

/// An advert that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Valid {
    pub advert: Advert,
    pub checksum: ChecksumMatch,
    pub notices: Notices,
    /// AH sequence number of an advert that came with a valid AH header.
    pub ah_seq: Option<u32>,
    /// auth_hmac: the verified trailer (its sequence is judged by the
    /// instance's replay marks, not here).
    pub hmac: Option<Trailer>,
}

/// Per-instance statistics (SIGUSR2 / JSON stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Valid adverts processed by the state machine.
    pub rx: u64,
    pub tx: u64,
    pub became_master: u64,
    pub released_master: u64,
    pub prio0_rx: u64,
    pub prio0_tx: u64,
    pub wrong_family: u64,
    pub bad_length: u64,
    pub bad_vrid: u64,
    pub bad_ttl: u64,
    pub bad_version: u64,
    pub bad_auth_type: u64,
    pub auth_mismatch: u64,
    pub interval_mismatch: u64,
    pub bad_type: u64,
    pub bad_checksum: u64,
    pub wrong_destination: u64,
    pub owner_ignores: u64,
    pub bad_unicast_source: u64,
    pub ah_auth_failure: u64,
    pub ah_bad_header: u64,
    pub ah_replay: u64,
    pub zero_interval: u64,
    pub hmac_missing: u64,
    pub hmac_malformed: u64,
    pub hmac_unknown_key: u64,
    pub hmac_bad_digest: u64,
    pub hmac_stale: u64,
    pub hmac_replay: u64,
    /// auth_hmac `permissive`/`receive-only`: adverts accepted without a trailer.
    pub hmac_missing_accepted: u64,
    /// v3 adverts whose interval differed (accepted and adopted).
    pub interval_adopted: u64,
    pub addr_list_mismatch: u64,
    /// Lower-priority adverts a master heard within an advert interval of
    /// answering one, left unanswered.
    pub lower_prio_unanswered: u64,
}

impl Counters {
    fn slot(&mut self, r: Reject) -> &mut u64 {
        match r {
            Reject::WrongFamily => &mut self.wrong_family,
            Reject::BadLength => &mut self.bad_length,
            Reject::BadVrid => &mut self.bad_vrid,
            Reject::BadTtl => &mut self.bad_ttl,
            Reject::BadVersion => &mut self.bad_version,
            Reject::BadAuthType => &mut self.bad_auth_type,
            Reject::AuthMismatch => &mut self.auth_mismatch,
            Reject::IntervalMismatch => &mut self.interval_mismatch,
            Reject::BadType => &mut self.bad_type,
            Reject::BadChecksum => &mut self.bad_checksum,
            Reject::WrongDestination => &mut self.wrong_destination,
            Reject::OwnerIgnores => &mut self.owner_ignores,
            Reject::BadUnicastSource => &mut self.bad_unicast_source,
            Reject::AhAuthFailure => &mut self.ah_auth_failure,
            Reject::AhBadHeader => &mut self.ah_bad_header,
            Reject::AhReplay => &mut self.ah_replay,
            Reject::ZeroInterval => &mut self.zero_interval,
            Reject::HmacMissing => &mut self.hmac_missing,
            Reject::HmacMalformed => &mut self.hmac_malformed,
            Reject::HmacUnknownKey => &mut self.hmac_unknown_key,
            Reject::HmacBadDigest => &mut self.hmac_bad_digest,
            Reject::HmacStale => &mut self.hmac_stale,
            Reject::HmacReplay => &mut self.hmac_replay,
        }
    }

    pub fn count_reject(&mut self, r: Reject) {
        *self.slot(r) += 1;
    }

    pub fn rejects(&self, r: Reject) -> u64 {
        let mut copy = *self;
        *copy.slot(r)
    }

    pub fn count_notices(&mut self, n: Notices) {
        self.interval_adopted += u64::from(n.interval_mismatch);
        self.addr_list_mismatch += u64::from(n.addr_list_mismatch);
        self.hmac_missing_accepted += u64::from(n.hmac_missing);
    }
}

/// Check `bytes` (the VRRP message after the IP header, IP protocol 112)
/// for `params`.
pub fn validate(ctx: &RxContext, bytes: &[u8], params: &InstanceParams) -> Result<Valid, Reject> {
    check(ctx, None, bytes, params, None)
}

/// [`validate`] at Unix time `unix_secs`, which judges the age of an
/// `auth_hmac` trailer in time mode (without it no advert is stale).
pub fn validate_at(
    ctx: &RxContext,
    bytes: &[u8],
    params: &InstanceParams,
    unix_secs: u64,
) -> Result<Valid, Reject> {
    check(ctx, None, bytes, params, Some(unix_secs))
}

/// Check an IPv4 advert that came as IP protocol 51 (AH): `ip_header` as
/// received (options included), `after_ip` the AH header and the VRRP
/// message. The sequence number is returned in [`Valid::ah_seq`], not judged.
pub fn validate_ah(
    ctx: &RxContext,
    ip_header: &[u8],
    after_ip: &[u8],
    params: &InstanceParams,
) -> Result<Valid, Reject> {
    check(ctx, Some(ip_header), after_ip, params, None)
}

fn check(
    ctx: &RxContext,
    ah_ip_header: Option<&[u8]>,
    after_ip: &[u8],
    params: &InstanceParams,
    unix_secs: Option<u64>,
) -> Result<Valid, Reject> {
    let family = params.family;
    if Family::of(ctx.src) != family || Family::of(ctx.dst) != family {
        return Err(Reject::WrongFamily);
    }
    let ah_len = if ah_ip_header.is_some() { ah::HEADER_LEN } else { 0 };
    let bytes = after_ip.get(ah_len..).ok_or(Reject::BadLength)?;
    if bytes.len() < packet::HEADER_LEN {
        return Err(Reject::BadLength);
    }
    let view = Packet::new_unchecked(bytes, family);
    if view.vrid() != params.vrid {
        return Err(Reject::BadVrid);
    }
    // keepalived: an AH header must be there exactly when we use AH.
    let ah_key = params.auth.ah_key().filter(|_| params.version == Version::V2 && family == Family::V4);
    if ah_ip_header.is_some() != ah_key.is_some() {
        return Err(Reject::BadAuthType);
    }
    // Length as our configured version lays the message out.
    let expected = packet::message_len(params.version, family, view.count());
    // auth_hmac: the trailer is found by length alone (message + 28 bytes).
    let hmac_params = params.hmac.as_ref().filter(|_| ah_ip_header.is_none());
    let trailer =
        hmac_params.filter(|_| bytes.len() == expected + hmac::TRAILER_LEN).map(|_| &bytes[expected..]);
    let padded = ctx.ip_header_len + ah_len + bytes.len() <= MAX_PADDED_IP_LEN;
    if trailer.is_none() && (bytes.len() < expected || (bytes.len() > expected && !padded)) {
        return Err(Reject::BadLength);
    }
    if !params.is_unicast() && ctx.ttl != 255 {
        return Err(Reject::BadTtl);
    }
    if view.version() != Some(params.version) {
        return Err(Reject::BadVersion);
    }
    let mut notices = Notices::default();
    let mut hmac_ok = None;
    if let Some(hp) = hmac_params {
        match trailer {
            None if hp.mode == hmac::Mode::Enforce => return Err(Reject::HmacMissing),
            None => notices.hmac_missing = true,
            Some(t) => {
                let message = &bytes[..expected];
                let verified = hmac::verify(hp, unix_secs, params.version, params.vrid, ctx.src, message, t);
                hmac_ok = Some(verified.map_err(|e| match e {
                    HmacError::Malformed => Reject::HmacMalformed,
                    HmacError::Stale { .. } => Reject::HmacStale,
                    HmacError::UnknownKey(_) => Reject::HmacUnknownKey,
                    HmacError::BadHmac => Reject::HmacBadDigest,
                    HmacError::Replay => Reject::HmacReplay,
                })?);
            }
        }
    }
    let mut ah_seq = None;
    if params.version == Version::V2 {
        let kind = view.auth_type();
        if kind > AUTH_AH || kind != params.auth.type_code() {
            return Err(Reject::BadAuthType);
        }
        match (ah_key, ah_ip_header, ctx.src) {
            (Some(key), Some(ip_header), IpAddr::V4(src)) => {
                // The ICV covers the whole datagram: judge it before any field.
                let ah =
                    ah::verify(key, ip_header, after_ip, src, params.is_unicast()).map_err(|e| match e {
                        AhError::Truncated => Reject::BadLength,
                        AhError::NotVrrp | AhError::BadSpi => Reject::AhBadHeader,
                        AhError::BadIcv => Reject::AhAuthFailure,
                    })?;
                ah_seq = Some(ah.seq);
            }
            _ => {
                if !constant_time_eq(&view.auth_data(), &params.auth.data()) {
                    return Err(Reject::AuthMismatch);
                }
            }
        }
    }
    if view.interval_cs() == 0 {
        return Err(Reject::ZeroInterval);
    }
    if view.interval_cs() != params.advert_interval_cs {
        match params.version {
            Version::V2 => return Err(Reject::IntervalMismatch),
            Version::V3 => notices.interval_mismatch = true,
        }
    }
    if view.kind() != TYPE_ADVERT {
        return Err(Reject::BadType);
    }
    // IPv6: the kernel's transport checksum covers an auth_hmac trailer too.
    let summed = match (family, trailer) {
        (Family::V6, Some(_)) => &bytes[..expected + hmac::TRAILER_LEN],
        _ => view.message(),
    };
    let checksum =
        packet::verify_checksum(summed, params.version, ctx.src, ctx.dst).ok_or(Reject::BadChecksum)?;
    if params.is_unicast() == is_multicast(ctx.dst) {
        return Err(Reject::WrongDestination);
    }
    if params.is_owner() && params.owner_ignore_adverts {
        return Err(Reject::OwnerIgnores);
    }
    let advert = Advert::parse(&view).map_err(|_| Reject::BadLength)?;
    notices.addr_list_mismatch = !same_addr_set(&advert.addrs, &params.vips);
    if params.is_unicast() && params.check_unicast_src && !params.unicast_peers.contains(&ctx.src) {
        return Err(Reject::BadUnicastSource);
    }
    Ok(Valid { advert, checksum, notices, ah_seq, hmac: hmac_ok })
}

fn is_multicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => a.is_multicast(),
        IpAddr::V6(a) => a.is_multicast(),
    }
}

/// Same addresses regardless of order (RFC 9568 does not fix an order).
fn same_addr_set(a: &[IpAddr], b: &[IpAddr]) -> bool {
    // The same order, by far the usual case, is one comparison.
    a == b || (a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x)))
}

/// Compare without an early exit, so timing does not reveal the password.
fn constant_time_eq(a: &[u8; 8], b: &[u8; 8]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}
