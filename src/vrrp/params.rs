//! Plain per-instance parameters of the protocol core; defaults are
//! keepalived's. The VRRP engine maps the configuration model onto them
//! (`failover/params.rs`), at start and on every reload.

use std::net::IpAddr;
use std::time::Duration;

use super::hmac::HmacParams;
use super::packet::{Family, Version, AUTH_AH, AUTH_NONE, AUTH_PASS};

/// An IPv4 header without options, as the kernel builds for our adverts.
const IPV4_HEADER_LEN: usize = 20;

/// v2 authentication (IPv4 only for AH, as in keepalived).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    /// Cleartext password, truncated or zero-padded to 8 bytes.
    Pass([u8; 8]),
    /// IPsec AH with HMAC-MD5-96; the key is the password, truncated or
    /// zero-padded to 8 bytes (see [`super::ah`]).
    Ah([u8; 8]),
}

/// A password as keepalived keeps it: at most 8 bytes, zero-padded.
fn key8(password: &[u8]) -> [u8; 8] {
    let mut data = [0u8; 8];
    for (d, s) in data.iter_mut().zip(password) {
        *d = *s;
    }
    data
}

impl Auth {
    pub fn pass(password: &str) -> Auth {
        Auth::Pass(key8(password.as_bytes()))
    }

    pub fn ah(password: &[u8]) -> Auth {
        Auth::Ah(key8(password))
    }

    pub fn type_code(&self) -> u8 {
        match self {
            Auth::None => AUTH_NONE,
            Auth::Pass(_) => AUTH_PASS,
            Auth::Ah(_) => AUTH_AH,
        }
    }

    /// The 8 auth-data bytes of the VRRPv2 message (zero with AH, whose
    /// key never goes on the wire).
    pub fn data(&self) -> [u8; 8] {
        match self {
            Auth::None | Auth::Ah(_) => [0; 8],
            Auth::Pass(d) => *d,
        }
    }

    /// The AH key, when AH is in use.
    pub fn ah_key(&self) -> Option<&[u8; 8]> {
        match self {
            Auth::Ah(k) => Some(k),
            _ => None,
        }
    }
}

/// Gratuitous ARP / unsolicited NA schedule (keepalived's `garp_*` keywords).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpParams {
    /// `garp_master_delay`: second burst after becoming master; zero: none.
    pub master_delay: Duration,
    /// `garp_master_repeat`: messages per address in each burst.
    pub master_repeat: u32,
    /// `garp_master_refresh`: periodic refresh while master; zero: none.
    pub master_refresh: Duration,
    /// `garp_master_refresh_repeat`.
    pub refresh_repeat: u32,
    /// `garp_lower_prio_delay`: second burst after a lower-priority advert.
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`: zero disables the lower-priority bursts.
    pub lower_prio_repeat: u32,
    /// `vrrp_garp_interval`: spacing between messages of one burst (edge-applied).
    pub spacing: Duration,
}

impl Default for GarpParams {
    fn default() -> Self {
        GarpParams {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            spacing: Duration::ZERO,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceParams {
    /// Instance name as it appears in log lines: "(VI_1) ...".
    pub name: String,
    pub vrid: u8,
    pub version: Version,
    pub family: Family,
    /// Configured (base) priority, 1..=255; 255 is the address owner.
    pub priority: u8,
    /// Our advertisement interval in centiseconds.
    pub advert_interval_cs: u16,
    /// Addresses carried in adverts (not the excluded ones).
    pub vips: Vec<IpAddr>,
    pub auth: Auth,
    /// `auth_hmac`: the HMAC-SHA256 trailer (then `auth` is `None`).
    pub hmac: Option<HmacParams>,
    /// Our source (primary) address: advert source and election tie-break.
    pub source: IpAddr,
    /// Non-empty: unicast mode (no TTL check, unicast destination expected).
    pub unicast_peers: Vec<IpAddr>,
    /// Drop unicast adverts from non-peers. keepalived: off; vigil: on.
    pub check_unicast_src: bool,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    /// Adverts per Master_Down_Interval (keepalived `down_timer_adverts`, 3).
    pub down_timer_adverts: u32,
    pub owner_ignore_adverts: bool,
    pub skip_check_adv_addr: bool,
    pub lower_prio_no_advert: bool,
    /// A master that yields to a higher priority first sends one advert of
    /// its own, so that a healed split brain's winner hears a lower priority
    /// and re-announces its VIPs whichever advert crossed the link first.
    /// keepalived: off; vigil: on (off in strict mode, as keepalived).
    pub higher_prio_send_advert: bool,
    pub v3_checksum_as_v2: bool,
    pub garp: GarpParams,
    /// Each kind of rejected packet is logged at most once per this period.
    pub log_interval: Duration,
}

impl InstanceParams {
    /// Bytes one of our adverts takes in a receive queue: the VRRP message,
    /// the IPv4 header (and AH) a raw IPv4 socket also receives, the
    /// auth_hmac trailer (keepalived's `vrrp_adv_len`, which
    /// `vrrp_rx_bufs_policy ADVERT` multiplies).
    pub fn advert_len(&self) -> usize {
        let count = u8::try_from(self.vips.len()).unwrap_or(u8::MAX);
        let mut len = super::packet::message_len(self.version, self.family, count);
        if self.family == Family::V4 {
            len += IPV4_HEADER_LEN;
            if self.auth.ah_key().is_some() {
                len += super::ah::HEADER_LEN;
            }
        }
        len + self.hmac.as_ref().map_or(0, HmacParams::tx_len)
    }

    /// keepalived's defaults for an instance; IPv6 implies version 3.
    pub fn new(name: &str, vrid: u8, priority: u8, source: IpAddr) -> InstanceParams {
        let family = Family::of(source);
        InstanceParams {
            name: name.to_string(),
            vrid,
            version: if family == Family::V6 { Version::V3 } else { Version::V2 },
            family,
            priority,
            advert_interval_cs: 100,
            vips: Vec::new(),
            auth: Auth::None,
            hmac: None,
            source,
            unicast_peers: Vec::new(),
            check_unicast_src: true,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            down_timer_adverts: 3,
            owner_ignore_adverts: false,
            skip_check_adv_addr: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: true,
            v3_checksum_as_v2: false,
            garp: GarpParams::default(),
            log_interval: Duration::from_secs(60),
        }
    }

    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }

    pub fn advert_interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_interval_cs) * 10)
    }
}
