//! What an IPVS table holds, in vigil's terms: virtual services keyed by
//! address or firewall mark, and their real servers ("destinations").

use std::fmt;
use std::net::IpAddr;

/// How a virtual service is identified.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// A firewall-mark service; `mark` must not be 0.
    Fwmark {
        af: Family,
        mark: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

/// A virtual service with its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler module name without the `ip_vs_` prefix: rr, wrr, wlc, sh, ...
    pub scheduler: String,
    /// Persistence timeout in seconds; `Some` sets the PERSISTENT flag.
    pub persistence: Option<u32>,
    /// Persistence granularity. IPv4: the netmask as a number
    /// (`u32::from(Ipv4Addr::new(255, 255, 255, 0))`); IPv6: a prefix length
    /// 1..=128. `None` is the kernel default (a /32 or /128), and a default
    /// read back from the kernel is reported as `None`.
    pub netmask: Option<u32>,
    /// Extra flags: [`flags::ONE_PACKET`], [`flags::SCHED1`]..[`flags::SCHED3`].
    /// PERSISTENT comes from `persistence`; HASHED is the kernel's own.
    pub flags: u32,
}

/// How packets reach a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// Masquerading (NAT).
    Nat,
    /// Direct routing (gatewaying).
    Dr,
    /// IP-in-IP tunnelling.
    Tun,
    /// The destination is this host.
    Local,
}

/// A real server behind a virtual service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    pub addr: IpAddr,
    pub port: u16,
    /// 0 quiesces the server without removing it.
    pub weight: u32,
    pub forward: Forward,
    /// Connection thresholds; 0 means no limit.
    pub u_threshold: u32,
    pub l_threshold: u32,
}

/// GET_INFO: the IPVS version and connection hash table size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// As the kernel encodes it: 0x010201 is 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

/// Connection timeouts in seconds (GET_CONFIG / SET_CONFIG).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// Which side of connection synchronisation a sync daemon is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncRole {
    /// Sends the connections of this director.
    Master,
    /// Receives the master's and holds them for a takeover.
    Backup,
}

impl SyncRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        }
    }
}

/// The kernel's IPVS connection sync daemon (`ipvsadm --start-daemon`).
/// `None` leaves the kernel's default (port 8848, group 224.0.0.81, TTL 1,
/// the interface's MTU).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemon {
    pub role: SyncRole,
    pub ifname: String,
    pub sync_id: u8,
    pub maxlen: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// The daemon `lvs_sync_daemon` asks for, in `role` (sync id 0 unless
    /// set or taken from the followed instance's VRID).
    pub fn configured(c: &crate::config::model::LvsSyncDaemon, role: SyncRole) -> SyncDaemon {
        SyncDaemon {
            role,
            ifname: c.ifname.clone(),
            sync_id: c.sync_id.unwrap_or(0),
            maxlen: c.maxlen,
            group: c.group,
            port: c.port,
            ttl: c.ttl,
        }
    }
}

/// Service flag bits (`IP_VS_SVC_F_*`).
pub mod flags {
    pub const PERSISTENT: u32 = 0x1;
    pub const HASHED: u32 = 0x2;
    pub const ONE_PACKET: u32 = 0x4;
    /// Scheduler-specific: for sh and mh, SCHED1 is "fallback", SCHED2 "port".
    pub const SCHED1: u32 = 0x8;
    pub const SCHED2: u32 = 0x10;
    pub const SCHED3: u32 = 0x20;
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(*addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

impl Info {
    /// "1.2.1"
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

/// ipvsadm's spelling: `TCP 198.18.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7 IPv6`.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr: IpAddr::V4(a), port } => write!(f, "{protocol} {a}:{port}"),
            ServiceKey::Addr { protocol, addr: IpAddr::V6(a), port } => write!(f, "{protocol} [{a}]:{port}"),
            ServiceKey::Fwmark { af: Family::V4, mark } => write!(f, "FWM {mark} IPv4"),
            ServiceKey::Fwmark { af: Family::V6, mark } => write!(f, "FWM {mark} IPv6"),
        }
    }
}
