//! IPVS generic netlink messages: pure builders and parsers, no sockets.
//!
//! A request is `nlmsghdr` (type = the resolved family id) + `genlmsghdr`
//! (command, version 1, 2 reserved bytes) + attributes. Integers are host
//! order except ports and the IPv4 netmask, which are network order.
//!
//! Encoding choices (the kernel accepts others):
//! - addresses are always sent as 16 bytes, IPv4 in the first 4 and the rest
//!   zero, as `union nf_inet_addr` and ipvsadm have them;
//! - nested attributes carry NLA_F_NESTED (the kernel masks it off);
//! - the FLAGS attribute is `struct ip_vs_flags { flags, mask }` with mask all
//!   ones, so the flags we send replace the old ones;
//! - a destination's ADDR_FAMILY is sent only when it differs from the
//!   service's, so kernels older than 3.18 keep working for the common case;
//! - SET_CONFIG sends only the non-zero timeouts (0 means "leave it").
//!
//! Parsers take the bytes after the `nlmsghdr` (a [`Message`] payload) and
//! never panic: anything malformed is an [`Error::Malformed`].
//!
//! [`Message`]: crate::sys::netlink::Message

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::model::{
    flags, Dest, Family, Forward, Info, Protocol, Service, ServiceKey, SyncDaemon, SyncRole, Timeouts,
};
use super::Error;
use crate::sys::netlink::{msg, Attr, AttrWriter, Attrs, Request};

/// The generic netlink controller's fixed id and what we ask it.
pub const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
pub const FAMILY_NAME: &str = "IPVS";

const GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const GET_INFO: u8 = 15;
    pub const FLUSH: u8 = 17;
}

// IPVS_CMD_ATTR_*
const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;
const CMD_ATTR_DAEMON: u16 = 3;
const CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const CMD_ATTR_TIMEOUT_UDP: u16 = 6;

// IPVS_SVC_ATTR_*
const SVC_AF: u16 = 1;
const SVC_PROTOCOL: u16 = 2;
const SVC_ADDR: u16 = 3;
const SVC_PORT: u16 = 4;
const SVC_FWMARK: u16 = 5;
const SVC_SCHED_NAME: u16 = 6;
const SVC_FLAGS: u16 = 7;
const SVC_TIMEOUT: u16 = 8;
const SVC_NETMASK: u16 = 9;

// IPVS_DEST_ATTR_*
const DEST_ADDR: u16 = 1;
const DEST_PORT: u16 = 2;
const DEST_FWD_METHOD: u16 = 3;
const DEST_WEIGHT: u16 = 4;
const DEST_U_THRESH: u16 = 5;
const DEST_L_THRESH: u16 = 6;
const DEST_ADDR_FAMILY: u16 = 11;

// IPVS_INFO_ATTR_*
// IPVS_DAEMON_ATTR_*
const DAEMON_STATE: u16 = 1;
const DAEMON_MCAST_IFN: u16 = 2;
const DAEMON_SYNC_ID: u16 = 3;
const DAEMON_SYNC_MAXLEN: u16 = 4;
const DAEMON_MCAST_GROUP: u16 = 5;
const DAEMON_MCAST_GROUP6: u16 = 6;
const DAEMON_MCAST_PORT: u16 = 7;
const DAEMON_MCAST_TTL: u16 = 8;
// IP_VS_STATE_*
const STATE_MASTER: u32 = 1;
const STATE_BACKUP: u32 = 2;
/// The kernel's limit on a sync daemon's interface name (IP_VS_IFNAME_MAXLEN).
pub const DAEMON_IFNAME_MAX: usize = 15;

const INFO_VERSION: u16 = 1;
const INFO_CONN_TAB_SIZE: u16 = 2;

const FWD_MASK: u32 = 0x7;
const FWD_MASQ: u32 = 0;
const FWD_LOCALNODE: u32 = 1;
const FWD_TUNNEL: u32 = 2;
const FWD_DROUTE: u32 = 3;

/// The scheduler name field holds 16 bytes including the NUL.
pub const SCHED_NAME_MAX: usize = 15;

const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;

// ---- requests ---------------------------------------------------------------

fn genl(kind: u16, flags: u16, command: u8) -> Request {
    let mut r = Request::new(kind, flags);
    r.push_fixed(&[command, GENL_VERSION, 0, 0]);
    r
}

/// A command that changes state: the kernel answers with an ack.
fn change(family: u16, command: u8) -> Request {
    genl(family, msg::NLM_F_ACK, command)
}

/// CTRL_CMD_GETFAMILY for `name`.
pub fn get_family(name: &str) -> Request {
    let mut r = genl(GENL_ID_CTRL, msg::NLM_F_ACK, CTRL_CMD_GETFAMILY);
    r.attrs().put_str(CTRL_ATTR_FAMILY_NAME, name);
    r
}

pub fn get_info(family: u16) -> Request {
    genl(family, msg::NLM_F_ACK, cmd::GET_INFO)
}

pub fn get_config(family: u16) -> Request {
    genl(family, msg::NLM_F_ACK, cmd::GET_CONFIG)
}

/// Dump all services: NEW_SERVICE messages, then NLMSG_DONE.
pub fn get_services(family: u16) -> Request {
    genl(family, msg::NLM_F_DUMP, cmd::GET_SERVICE)
}

/// Dump the destinations of one service: NEW_DEST messages, then NLMSG_DONE.
pub fn get_dests(family: u16, key: &ServiceKey) -> Request {
    let mut r = genl(family, msg::NLM_F_DUMP, cmd::GET_DEST);
    put_key_nest(&mut r.attrs(), key);
    r
}

pub fn new_service(family: u16, svc: &Service) -> Request {
    service_request(family, cmd::NEW_SERVICE, svc)
}

pub fn set_service(family: u16, svc: &Service) -> Request {
    service_request(family, cmd::SET_SERVICE, svc)
}

pub fn del_service(family: u16, key: &ServiceKey) -> Request {
    let mut r = change(family, cmd::DEL_SERVICE);
    put_key_nest(&mut r.attrs(), key);
    r
}

pub fn new_dest(family: u16, key: &ServiceKey, d: &Dest) -> Request {
    dest_request(family, cmd::NEW_DEST, key, d)
}

pub fn set_dest(family: u16, key: &ServiceKey, d: &Dest) -> Request {
    dest_request(family, cmd::SET_DEST, key, d)
}

pub fn del_dest(family: u16, key: &ServiceKey, addr: IpAddr, port: u16) -> Request {
    let mut r = change(family, cmd::DEL_DEST);
    let mut w = r.attrs();
    put_key_nest(&mut w, key);
    let nest = w.nest_begin(CMD_ATTR_DEST);
    put_dest_addr(&mut w, key.family(), addr, port);
    w.nest_end(nest);
    r
}

pub fn flush(family: u16) -> Request {
    change(family, cmd::FLUSH)
}

/// SET_CONFIG with the non-zero timeouts (seconds).
pub fn set_timeouts(family: u16, t: &Timeouts) -> Request {
    let mut r = change(family, cmd::SET_CONFIG);
    let mut w = r.attrs();
    for (kind, v) in
        [(CMD_ATTR_TIMEOUT_TCP, t.tcp), (CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin), (CMD_ATTR_TIMEOUT_UDP, t.udp)]
    {
        if v != 0 {
            w.put_u32(kind, v);
        }
    }
    r
}

/// Start a sync daemon. The port is host order, as the kernel reads it.
pub fn new_daemon(family: u16, d: &SyncDaemon) -> Request {
    let mut r = change(family, cmd::NEW_DAEMON);
    let mut w = r.attrs();
    let nest = w.nest_begin(CMD_ATTR_DAEMON);
    w.put_u32(DAEMON_STATE, role_code(d.role));
    w.put_str(DAEMON_MCAST_IFN, &d.ifname);
    w.put_u32(DAEMON_SYNC_ID, u32::from(d.sync_id));
    if let Some(len) = d.maxlen {
        w.put_u16(DAEMON_SYNC_MAXLEN, len);
    }
    match d.group {
        Some(IpAddr::V4(a)) => {
            w.put(DAEMON_MCAST_GROUP, &a.octets());
        }
        Some(IpAddr::V6(a)) => {
            w.put(DAEMON_MCAST_GROUP6, &a.octets());
        }
        None => {}
    }
    if let Some(port) = d.port {
        w.put_u16(DAEMON_MCAST_PORT, port);
    }
    if let Some(ttl) = d.ttl {
        w.put_u8(DAEMON_MCAST_TTL, ttl);
    }
    w.nest_end(nest);
    r
}

/// Stop the sync daemon of `role` (ESRCH when none runs).
pub fn del_daemon(family: u16, role: SyncRole) -> Request {
    let mut r = change(family, cmd::DEL_DAEMON);
    let mut w = r.attrs();
    let nest = w.nest_begin(CMD_ATTR_DAEMON);
    w.put_u32(DAEMON_STATE, role_code(role));
    w.nest_end(nest);
    r
}

/// Dump the running sync daemons: one NEW_DAEMON message each.
pub fn get_daemons(family: u16) -> Request {
    genl(family, msg::NLM_F_DUMP, cmd::GET_DAEMON)
}

fn role_code(role: SyncRole) -> u32 {
    match role {
        SyncRole::Master => STATE_MASTER,
        SyncRole::Backup => STATE_BACKUP,
    }
}

fn service_request(family: u16, command: u8, svc: &Service) -> Request {
    let mut r = change(family, command);
    let mut w = r.attrs();
    let nest = w.nest_begin(CMD_ATTR_SERVICE);
    put_key(&mut w, &svc.key);
    w.put_str(SVC_SCHED_NAME, &svc.scheduler);
    let mut f = svc.flags & !(flags::PERSISTENT | flags::HASHED);
    if svc.persistence.is_some() {
        f |= flags::PERSISTENT;
    }
    let mut flags_mask = [0u8; 8];
    flags_mask[..4].copy_from_slice(&f.to_ne_bytes());
    flags_mask[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    w.put(SVC_FLAGS, &flags_mask);
    w.put_u32(SVC_TIMEOUT, svc.persistence.unwrap_or(0));
    w.put(SVC_NETMASK, &netmask_bytes(svc.key.family(), svc.netmask));
    w.nest_end(nest);
    r
}

fn dest_request(family: u16, command: u8, key: &ServiceKey, d: &Dest) -> Request {
    let mut r = change(family, command);
    let mut w = r.attrs();
    put_key_nest(&mut w, key);
    let nest = w.nest_begin(CMD_ATTR_DEST);
    put_dest_addr(&mut w, key.family(), d.addr, d.port);
    w.put_u32(DEST_FWD_METHOD, forward_code(d.forward));
    w.put_u32(DEST_WEIGHT, d.weight);
    w.put_u32(DEST_U_THRESH, d.u_threshold);
    w.put_u32(DEST_L_THRESH, d.l_threshold);
    w.nest_end(nest);
    r
}

fn put_key_nest(w: &mut AttrWriter<'_>, key: &ServiceKey) {
    let nest = w.nest_begin(CMD_ATTR_SERVICE);
    put_key(w, key);
    w.nest_end(nest);
}

fn put_key(w: &mut AttrWriter<'_>, key: &ServiceKey) {
    w.put_u16(SVC_AF, af_code(key.family()));
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            w.put_u16(SVC_PROTOCOL, protocol_code(*protocol));
            w.put(SVC_ADDR, &addr16(*addr));
            w.put(SVC_PORT, &port.to_be_bytes());
        }
        ServiceKey::Fwmark { mark, .. } => {
            w.put_u32(SVC_FWMARK, *mark);
        }
    }
}

fn put_dest_addr(w: &mut AttrWriter<'_>, svc_family: Family, addr: IpAddr, port: u16) {
    w.put(DEST_ADDR, &addr16(addr));
    w.put(DEST_PORT, &port.to_be_bytes());
    if Family::of(addr) != svc_family {
        w.put_u16(DEST_ADDR_FAMILY, af_code(Family::of(addr)));
    }
}

/// `union nf_inet_addr`: 16 bytes, IPv4 in front.
fn addr16(addr: IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => {
            let mut b = [0; 16];
            b[..4].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => a.octets(),
    }
}

/// IPv4: the mask in network order; IPv6: the prefix length in host order
/// (the kernel compares it as a plain integer).
fn netmask_bytes(af: Family, netmask: Option<u32>) -> [u8; 4] {
    match af {
        Family::V4 => netmask.unwrap_or(u32::MAX).to_be_bytes(),
        Family::V6 => netmask.unwrap_or(128).to_ne_bytes(),
    }
}

fn af_code(af: Family) -> u16 {
    match af {
        Family::V4 => AF_INET,
        Family::V6 => AF_INET6,
    }
}

fn protocol_code(p: Protocol) -> u16 {
    match p {
        Protocol::Tcp => libc::IPPROTO_TCP as u16,
        Protocol::Udp => libc::IPPROTO_UDP as u16,
        Protocol::Sctp => libc::IPPROTO_SCTP as u16,
    }
}

fn forward_code(f: Forward) -> u32 {
    match f {
        Forward::Nat => FWD_MASQ,
        Forward::Local => FWD_LOCALNODE,
        Forward::Tun => FWD_TUNNEL,
        Forward::Dr => FWD_DROUTE,
    }
}

/// Checks the kernel would also make, done first for a clearer message.
pub fn validate_service(svc: &Service) -> Result<(), Error> {
    validate_key(&svc.key)?;
    if svc.scheduler.is_empty() || svc.scheduler.len() > SCHED_NAME_MAX || svc.scheduler.contains('\0') {
        return Err(Error::invalid(format!("{}: bad scheduler name {:?}", svc.key, svc.scheduler)));
    }
    if let (Family::V6, Some(plen)) = (svc.key.family(), svc.netmask) {
        if !(1..=128).contains(&plen) {
            return Err(Error::invalid(format!("{}: IPv6 netmask /{plen} not in 1..=128", svc.key)));
        }
    }
    Ok(())
}

pub fn validate_key(key: &ServiceKey) -> Result<(), Error> {
    match key {
        ServiceKey::Fwmark { mark: 0, .. } => Err(Error::invalid("firewall mark 0 is not a service")),
        _ => Ok(()),
    }
}

// ---- replies ----------------------------------------------------------------

/// The attributes after the genl header of a reply's payload.
fn genl_attrs(payload: &[u8]) -> Result<Attrs<'_>, Error> {
    match payload.get(4..) {
        Some(rest) => Ok(Attrs::new(rest)),
        None => Err(Error::Malformed("generic netlink message shorter than its header".into())),
    }
}

fn find<'a>(attrs: Attrs<'a>, kind: u16) -> Result<Option<Attr<'a>>, Error> {
    for a in attrs {
        let a = a.map_err(malformed)?;
        if a.kind == kind {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

fn malformed(e: crate::sys::Error) -> Error {
    Error::Malformed(e.context().to_string())
}

fn need<T>(v: Option<T>, what: &str) -> Result<T, Error> {
    v.ok_or_else(|| Error::Malformed(format!("IPVS reply without {what}")))
}

/// The family id from a CTRL_CMD_NEWFAMILY reply.
pub fn parse_family(payload: &[u8]) -> Result<u16, Error> {
    let a = need(find(genl_attrs(payload)?, CTRL_ATTR_FAMILY_ID)?, "family id")?;
    a.u16().map_err(malformed)
}

pub fn parse_info(payload: &[u8]) -> Result<Info, Error> {
    let mut info = Info { version: 0, conn_tab_size: 0 };
    for a in genl_attrs(payload)? {
        let a = a.map_err(malformed)?;
        match a.kind {
            INFO_VERSION => info.version = a.u32().map_err(malformed)?,
            INFO_CONN_TAB_SIZE => info.conn_tab_size = a.u32().map_err(malformed)?,
            _ => {}
        }
    }
    Ok(info)
}

pub fn parse_timeouts(payload: &[u8]) -> Result<Timeouts, Error> {
    let mut t = Timeouts { tcp: 0, tcp_fin: 0, udp: 0 };
    for a in genl_attrs(payload)? {
        let a = a.map_err(malformed)?;
        match a.kind {
            CMD_ATTR_TIMEOUT_TCP => t.tcp = a.u32().map_err(malformed)?,
            CMD_ATTR_TIMEOUT_TCP_FIN => t.tcp_fin = a.u32().map_err(malformed)?,
            CMD_ATTR_TIMEOUT_UDP => t.udp = a.u32().map_err(malformed)?,
            _ => {}
        }
    }
    Ok(t)
}

/// One message of a GET_DAEMON dump.
pub fn parse_daemon(payload: &[u8]) -> Result<SyncDaemon, Error> {
    let nest = need(find(genl_attrs(payload)?, CMD_ATTR_DAEMON)?, "a sync daemon")?;
    let (mut role, mut ifname, mut sync_id) = (None, None, 0u8);
    let mut d = SyncDaemon {
        role: SyncRole::Master,
        ifname: String::new(),
        sync_id: 0,
        maxlen: None,
        group: None,
        port: None,
        ttl: None,
    };
    for a in nest.nested() {
        let a = a.map_err(malformed)?;
        match a.kind {
            DAEMON_STATE => {
                role = Some(match a.u32().map_err(malformed)? {
                    STATE_MASTER => SyncRole::Master,
                    STATE_BACKUP => SyncRole::Backup,
                    n => return Err(Error::Malformed(format!("sync daemon state {n}"))),
                })
            }
            DAEMON_MCAST_IFN => ifname = Some(a.str().map_err(malformed)?.to_string()),
            // The kernel keeps the id in 32 bits; the sync protocol in 8.
            DAEMON_SYNC_ID => sync_id = a.u32().map_err(malformed)? as u8,
            DAEMON_SYNC_MAXLEN => d.maxlen = Some(a.u16().map_err(malformed)?),
            DAEMON_MCAST_GROUP => d.group = Some(IpAddr::V4(Ipv4Addr::from(raw4(&a)?))),
            DAEMON_MCAST_GROUP6 => {
                let b: [u8; 16] =
                    a.payload.get(..16).and_then(|b| b.try_into().ok()).ok_or_else(|| {
                        Error::Malformed("sync daemon IPv6 group shorter than 16 bytes".into())
                    })?;
                d.group = Some(IpAddr::V6(Ipv6Addr::from(b)));
            }
            DAEMON_MCAST_PORT => d.port = Some(a.u16().map_err(malformed)?),
            DAEMON_MCAST_TTL => d.ttl = Some(a.u8().map_err(malformed)?),
            _ => {}
        }
    }
    d.role = need(role, "a sync daemon state")?;
    d.ifname = need(ifname, "a sync daemon interface")?;
    d.sync_id = sync_id;
    Ok(d)
}

/// One NEW_SERVICE message of a GET_SERVICE dump.
pub fn parse_service(payload: &[u8]) -> Result<Service, Error> {
    let nest = need(find(genl_attrs(payload)?, CMD_ATTR_SERVICE)?, "a service")?;
    let (mut af, mut protocol, mut addr, mut port, mut fwmark) = (None, None, None, None, 0);
    let (mut scheduler, mut f, mut timeout, mut netmask) = (String::new(), 0, 0, None);
    for a in nest.nested() {
        let a = a.map_err(malformed)?;
        match a.kind {
            SVC_AF => af = Some(parse_af(a.u16().map_err(malformed)?)?),
            SVC_PROTOCOL => protocol = Some(parse_protocol(a.u16().map_err(malformed)?)?),
            SVC_ADDR => addr = Some(a.payload),
            SVC_PORT => port = Some(be16(&a)?),
            SVC_FWMARK => fwmark = a.u32().map_err(malformed)?,
            SVC_SCHED_NAME => scheduler = a.str().map_err(malformed)?.to_string(),
            SVC_FLAGS => f = a.u32().map_err(malformed)?,
            SVC_TIMEOUT => timeout = a.u32().map_err(malformed)?,
            SVC_NETMASK => netmask = Some(raw4(&a)?),
            _ => {}
        }
    }
    let af = need(af, "service address family")?;
    let key = if fwmark != 0 {
        ServiceKey::Fwmark { af, mark: fwmark }
    } else {
        ServiceKey::Addr {
            protocol: need(protocol, "service protocol")?,
            addr: parse_addr(af, need(addr, "service address")?)?,
            port: need(port, "service port")?,
        }
    };
    let netmask = netmask.and_then(|b| match af {
        Family::V4 => Some(u32::from_be_bytes(b)).filter(|&m| m != u32::MAX),
        Family::V6 => Some(u32::from_ne_bytes(b)).filter(|&p| p != 128),
    });
    Ok(Service {
        key,
        scheduler,
        persistence: (f & flags::PERSISTENT != 0).then_some(timeout),
        netmask,
        flags: f & !(flags::PERSISTENT | flags::HASHED),
    })
}

/// One NEW_DEST message of a GET_DEST dump; `svc_family` applies when the
/// kernel does not say the destination's own family.
pub fn parse_dest(payload: &[u8], svc_family: Family) -> Result<Dest, Error> {
    let nest = need(find(genl_attrs(payload)?, CMD_ATTR_DEST)?, "a destination")?;
    let (mut addr, mut port, mut fwd, mut af) = (None, None, None, svc_family);
    let mut d = Dest {
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        port: 0,
        weight: 0,
        forward: Forward::Nat,
        u_threshold: 0,
        l_threshold: 0,
    };
    for a in nest.nested() {
        let a = a.map_err(malformed)?;
        match a.kind {
            DEST_ADDR => addr = Some(a.payload),
            DEST_PORT => port = Some(be16(&a)?),
            DEST_FWD_METHOD => fwd = Some(parse_forward(a.u32().map_err(malformed)?)?),
            DEST_WEIGHT => d.weight = a.u32().map_err(malformed)?,
            DEST_U_THRESH => d.u_threshold = a.u32().map_err(malformed)?,
            DEST_L_THRESH => d.l_threshold = a.u32().map_err(malformed)?,
            DEST_ADDR_FAMILY => af = parse_af(a.u16().map_err(malformed)?)?,
            _ => {}
        }
    }
    d.addr = parse_addr(af, need(addr, "destination address")?)?;
    d.port = need(port, "destination port")?;
    d.forward = need(fwd, "forwarding method")?;
    Ok(d)
}

fn be16(a: &Attr<'_>) -> Result<u16, Error> {
    match a.payload {
        [hi, lo, ..] => Ok(u16::from_be_bytes([*hi, *lo])),
        _ => Err(Error::Malformed(format!("IPVS attribute {}: too short for a port", a.kind))),
    }
}

fn raw4(a: &Attr<'_>) -> Result<[u8; 4], Error> {
    a.payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Malformed(format!("IPVS attribute {}: too short for a u32", a.kind)))
}

fn parse_addr(af: Family, b: &[u8]) -> Result<IpAddr, Error> {
    let short = || Error::Malformed(format!("IPVS address of {} bytes", b.len()));
    Ok(match af {
        Family::V4 => {
            let o: [u8; 4] = b.get(..4).and_then(|s| s.try_into().ok()).ok_or_else(short)?;
            IpAddr::V4(Ipv4Addr::from(o))
        }
        Family::V6 => {
            let o: [u8; 16] = b.get(..16).and_then(|s| s.try_into().ok()).ok_or_else(short)?;
            IpAddr::V6(Ipv6Addr::from(o))
        }
    })
}

fn parse_af(v: u16) -> Result<Family, Error> {
    match v {
        AF_INET => Ok(Family::V4),
        AF_INET6 => Ok(Family::V6),
        _ => Err(Error::Malformed(format!("IPVS address family {v}"))),
    }
}

fn parse_protocol(v: u16) -> Result<Protocol, Error> {
    match i32::from(v) {
        libc::IPPROTO_TCP => Ok(Protocol::Tcp),
        libc::IPPROTO_UDP => Ok(Protocol::Udp),
        libc::IPPROTO_SCTP => Ok(Protocol::Sctp),
        _ => Err(Error::Malformed(format!("IPVS protocol {v}"))),
    }
}

fn parse_forward(v: u32) -> Result<Forward, Error> {
    match v & FWD_MASK {
        FWD_MASQ => Ok(Forward::Nat),
        FWD_LOCALNODE => Ok(Forward::Local),
        FWD_TUNNEL => Ok(Forward::Tun),
        FWD_DROUTE => Ok(Forward::Dr),
        other => Err(Error::Malformed(format!("IPVS forwarding method {other}"))),
    }
}
