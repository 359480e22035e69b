//! Interfaces and their addresses as the kernel reports them: dumps,
//! lookups and a subscription to link/address changes.
//!
//! Resynchronisation: rtnetlink multicast is lossy. When the kernel could
//! not queue an event the socket reports ENOBUFS; [`Monitor::read_events`]
//! turns that into [`Event::Resync`], after which the caller must re-dump
//! links and addresses ([`dump_links`], [`dump_addrs`] on a request
//! socket) and replace its view instead of patching it.

use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use super::netlink::rt::*;
use super::netlink::{Attrs, Message, Request, Socket};
use super::{Error, Result};

pub const IFF_UP: u32 = libc::IFF_UP as u32;
pub const IFF_RUNNING: u32 = libc::IFF_RUNNING as u32;
pub const IFF_LOWER_UP: u32 = 0x10000;

pub const IFA_F_SECONDARY: u32 = 0x01;
pub const IFA_F_NODAD: u32 = 0x02;
pub const IFA_F_OPTIMISTIC: u32 = 0x04;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_DEPRECATED: u32 = 0x20;
pub const IFA_F_TENTATIVE: u32 = 0x40;
pub const IFA_F_PERMANENT: u32 = 0x80;
const SCOPE_HOST: u8 = 254;

/// RFC 2863 operational state (IFLA_OPERSTATE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
    Other(u8),
}

impl From<u8> for OperState {
    fn from(v: u8) -> Self {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            n => OperState::Other(n),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
    pub operstate: OperState,
    /// None for interfaces without an Ethernet-sized hardware address.
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    /// IFLA_INFO_KIND: "veth", "macvlan", "bridge", ...; None for plain devices.
    pub kind: Option<String>,
}

impl Link {
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    pub fn is_running(&self) -> bool {
        self.flags & IFF_RUNNING != 0
    }

    pub fn is_lower_up(&self) -> bool {
        self.flags & IFF_LOWER_UP != 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    /// The local address (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6).
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub scope: u8,
    /// `IFA_F_*` flags (IFA_FLAGS when present, else the 8-bit header field).
    pub flags: u32,
    pub label: Option<String>,
    pub broadcast: Option<IpAddr>,
}

impl Address {
    pub fn is_secondary(&self) -> bool {
        self.flags & IFA_F_SECONDARY != 0
    }

    pub fn is_tentative(&self) -> bool {
        self.flags & IFA_F_TENTATIVE != 0
    }

    pub fn is_dadfailed(&self) -> bool {
        self.flags & IFA_F_DADFAILED != 0
    }

    pub fn is_deprecated(&self) -> bool {
        self.flags & IFA_F_DEPRECATED != 0
    }

    /// fe80::/10.
    pub fn is_ipv6_link_local(&self) -> bool {
        matches!(self.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
    }
}

/// Parse the payload of an RTM_NEWLINK/RTM_DELLINK message.
pub fn parse_link(payload: &[u8]) -> Result<Link> {
    let fixed = payload.get(..IFINFOMSG_LEN).ok_or_else(|| Error::malformed("ifinfomsg too short"))?;
    let u32_at = |i: usize| u32::from_ne_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
    let mut link = Link {
        index: u32_at(4),
        name: String::new(),
        flags: u32_at(8),
        operstate: OperState::Unknown,
        mac: None,
        mtu: 0,
        kind: None,
    };
    for a in Attrs::new(&payload[IFINFOMSG_LEN..]) {
        let a = a?;
        match a.kind {
            IFLA_IFNAME => link.name = a.str()?.to_string(),
            IFLA_MTU => link.mtu = a.u32()?,
            IFLA_OPERSTATE => link.operstate = a.u8()?.into(),
            IFLA_ADDRESS => link.mac = a.payload.try_into().ok(),
            IFLA_LINKINFO => {
                for info in a.nested() {
                    let info = info?;
                    if info.kind == IFLA_INFO_KIND {
                        link.kind = Some(info.str()?.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    if link.name.is_empty() {
        return Err(Error::malformed(format!("link {} without IFLA_IFNAME", link.index)));
    }
    Ok(link)
}

/// Parse the payload of an RTM_NEWADDR/RTM_DELADDR message.
pub fn parse_addr(payload: &[u8]) -> Result<Address> {
    let f = payload.get(..IFADDRMSG_LEN).ok_or_else(|| Error::malformed("ifaddrmsg too short"))?;
    let (mut address, mut local, mut label, mut broadcast) = (None, None, None, None);
    let mut flags = f[2] as u32;
    for a in Attrs::new(&payload[IFADDRMSG_LEN..]) {
        let a = a?;
        match a.kind {
            IFA_ADDRESS => address = Some(a.ip()?),
            IFA_LOCAL => local = Some(a.ip()?),
            IFA_LABEL => label = Some(a.str()?.to_string()),
            IFA_BROADCAST => broadcast = Some(a.ip()?),
            IFA_FLAGS => flags = a.u32()?,
            _ => {}
        }
    }
    // For IPv4 point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
    let addr = local.or(address).ok_or_else(|| Error::malformed("address message without an address"))?;
    Ok(Address {
        index: u32::from_ne_bytes([f[4], f[5], f[6], f[7]]),
        addr,
        prefix_len: f[1],
        scope: f[3],
        flags,
        label,
        broadcast,
    })
}

pub fn dump_links(sock: &mut Socket) -> Result<Vec<Link>> {
    let mut req = Request::new(RTM_GETLINK, 0);
    req.push_fixed(&ifinfomsg(libc::AF_UNSPEC as u8, 0));
    let mut links = Vec::new();
    sock.dump(req, "dump links", |m: &Message| {
        links.push(parse_link(m.payload)?);
        Ok(())
    })?;
    Ok(links)
}

/// One interface by name; None if there is no such interface.
pub fn link_by_name(sock: &mut Socket, name: &str) -> Result<Option<Link>> {
    if name.is_empty() || name.len() >= libc::IF_NAMESIZE {
        return Err(Error::invalid(format!("interface name {name:?}")));
    }
    let mut req = Request::new(RTM_GETLINK, 0);
    req.push_fixed(&ifinfomsg(libc::AF_UNSPEC as u8, 0));
    req.attrs().put_str(IFLA_IFNAME, name);
    let mut found = None;
    let r = sock.get(req, &format!("get link {name}"), |m: &Message| {
        found = Some(parse_link(m.payload)?);
        Ok(())
    });
    match r {
        Err(e) if e.errno() == libc::ENODEV => Ok(None),
        Err(e) => Err(e),
        Ok(()) => Ok(found),
    }
}

/// Addresses of one family (`None`: both) on one interface (`None`: all).
pub fn dump_addrs(sock: &mut Socket, ipv6: Option<bool>, index: Option<u32>) -> Result<Vec<Address>> {
    let family = match ipv6 {
        None => libc::AF_UNSPEC,
        Some(false) => libc::AF_INET,
        Some(true) => libc::AF_INET6,
    } as u8;
    let mut req = Request::new(RTM_GETADDR, 0);
    req.push_fixed(&ifaddrmsg(family, 0, 0, 0, 0));
    let mut addrs = Vec::new();
    sock.dump(req, "dump addresses", |m: &Message| {
        let a = parse_addr(m.payload)?;
        if index.is_none_or(|i| i == a.index) {
            addrs.push(a);
        }
        Ok(())
    })?;
    Ok(addrs)
}

/// The primary IPv4 address VRRP uses as its source: the first
/// non-secondary one that can leave the host (scope below host).
pub fn primary_ipv4(addrs: &[Address]) -> Option<&Address> {
    addrs.iter().find(|a| a.addr.is_ipv4() && !a.is_secondary() && a.scope < SCOPE_HOST)
}

/// A usable IPv6 link-local address: not tentative and DAD did not fail.
pub fn ipv6_link_local(addrs: &[Address]) -> Option<&Address> {
    addrs.iter().find(|a| a.is_ipv6_link_local() && !a.is_tentative() && !a.is_dadfailed())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// New link, or a change to one (flags, operstate, name, ...).
    Link(Link),
    LinkGone(Link),
    /// New address, or a change to one (e.g. DAD finished).
    Addr(Address),
    AddrGone(Address),
    /// Events were lost (ENOBUFS): re-dump links and addresses.
    Resync,
}

/// A non-blocking subscription to link and IPv4/IPv6 address events.
pub struct Monitor {
    sock: Socket,
}

impl Monitor {
    /// A monitor with a 1 MiB receive queue, which loses fewer events in bursts.
    pub fn open() -> Result<Monitor> {
        Monitor::with_recv_buffer(1 << 20)
    }

    /// A monitor with the buffer a configuration asked for
    /// (`vrrp_netlink_monitor_rcv_bufs[_force]`); `bytes` 0: [`Monitor::open`].
    pub fn open_configured(bytes: u32, force: bool) -> Result<Monitor> {
        if bytes == 0 {
            return Monitor::open();
        }
        let sock = Socket::subscribe(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)?;
        sock.set_configured_recv_buffer(bytes, force)?;
        Ok(Monitor { sock })
    }

    /// Address events only (`ha_suspend` in the checker child), with the
    /// buffer `lvs_netlink_monitor_rcv_bufs[_force]` asks for; `bytes` 0:
    /// vigil's 1 MiB, as [`Monitor::open`].
    pub fn open_addresses(bytes: u32, force: bool) -> Result<Monitor> {
        let sock = Socket::subscribe(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)?;
        if bytes == 0 {
            sock.set_recv_buffer(1 << 20)?;
        } else {
            sock.set_configured_recv_buffer(bytes, force)?;
        }
        Ok(Monitor { sock })
    }

    pub fn with_recv_buffer(bytes: usize) -> Result<Monitor> {
        let sock = Socket::subscribe(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)?;
        sock.set_recv_buffer(bytes)?;
        Ok(Monitor { sock })
    }

    /// Drain the socket into `out` until it would block. Messages that do
    /// not parse are skipped (logged at debug level); they are outside input.
    pub fn read_events(&mut self, out: &mut Vec<Event>) -> Result<()> {
        loop {
            let datagram = match self.sock.recv() {
                Ok(d) => d,
                Err(e) if e.is_would_block() => return Ok(()),
                // Lost (ENOBUFS) or cut short (EMSGSIZE): either way our view is stale.
                Err(e) if e.errno() == libc::ENOBUFS || e.errno() == libc::EMSGSIZE => {
                    if out.last() != Some(&Event::Resync) {
                        out.push(Event::Resync);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            for m in super::netlink::Messages::new(datagram) {
                match m.and_then(|m| parse_event(&m)) {
                    Ok(Some(ev)) => out.push(ev),
                    Ok(None) => {}
                    Err(e) => log::debug!("skipping netlink event: {e}"),
                }
            }
        }
    }
}

fn parse_event(m: &Message) -> Result<Option<Event>> {
    Ok(Some(match m.header.kind {
        RTM_NEWLINK => Event::Link(parse_link(m.payload)?),
        RTM_DELLINK => Event::LinkGone(parse_link(m.payload)?),
        RTM_NEWADDR => Event::Addr(parse_addr(m.payload)?),
        RTM_DELADDR => Event::AddrGone(parse_addr(m.payload)?),
        _ => return Ok(None),
    }))
}

impl AsRawFd for Monitor {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Monitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::sys::netlink::AttrWriter;

    fn link_payload() -> Vec<u8> {
        let mut p = ifinfomsg(0, 7).to_vec();
        p[8..12].copy_from_slice(&(IFF_UP | IFF_RUNNING | IFF_LOWER_UP).to_ne_bytes());
        let mut w = AttrWriter::new(&mut p);
        w.put_str(IFLA_IFNAME, "veth0").put_u32(IFLA_MTU, 1500).put_u8(IFLA_OPERSTATE, 6);
        w.put(IFLA_ADDRESS, &[2, 0, 0, 0, 0, 1]);
        let li = w.nest_begin(IFLA_LINKINFO);
        w.put_str(IFLA_INFO_KIND, "veth");
        w.nest_end(li);
        p
    }

    #[test]
    fn parses_link() {
        let l = parse_link(&link_payload()).unwrap();
        assert_eq!(l.index, 7);
        assert_eq!(l.name, "veth0");
        assert!(l.is_up() && l.is_running() && l.is_lower_up());
        assert_eq!(l.operstate, OperState::Up);
        assert_eq!(l.mac, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(l.mtu, 1500);
        assert_eq!(l.kind.as_deref(), Some("veth"));
    }

    #[test]
    fn parses_addr_with_flags_attr() {
        let mut p = ifaddrmsg(libc::AF_INET6 as u8, 64, 0x40, 253, 3).to_vec();
        AttrWriter::new(&mut p)
            .put_ip(IFA_ADDRESS, "fe80::1".parse().unwrap())
            .put_u32(IFA_FLAGS, IFA_F_TENTATIVE | IFA_F_DADFAILED | 0x100);
        let a = parse_addr(&p).unwrap();
        assert_eq!(a.addr, "fe80::1".parse::<IpAddr>().unwrap());
        assert_eq!((a.index, a.prefix_len, a.scope), (3, 64, 253));
        assert!(a.is_tentative() && a.is_dadfailed() && a.is_ipv6_link_local());
        assert!(ipv6_link_local(&[a]).is_none(), "tentative link-local is not usable");
    }

    #[test]
    fn ipv4_local_wins_over_peer_address() {
        let mut p = ifaddrmsg(libc::AF_INET as u8, 32, 0, 0, 2).to_vec();
        AttrWriter::new(&mut p)
            .put_ip(IFA_ADDRESS, "198.18.9.9".parse().unwrap())
            .put_ip(IFA_LOCAL, "198.18.0.1".parse().unwrap())
            .put_str(IFA_LABEL, "eth0:vip");
        let a = parse_addr(&p).unwrap();
        assert_eq!(a.addr, "198.18.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(a.label.as_deref(), Some("eth0:vip"));
        assert_eq!(primary_ipv4(std::slice::from_ref(&a)), Some(&a));
    }

    #[test]
    fn mutated_messages_never_panic() {
        let mut datagram = Vec::new();
        for (kind, payload) in
            [(RTM_NEWLINK, link_payload()), (RTM_NEWADDR, ifaddrmsg(2, 24, 0, 0, 1).to_vec())]
        {
            let mut r = Request::new(kind, 0);
            r.push_fixed(&payload);
            datagram.extend_from_slice(r.finish(0));
        }
        let mut x: u32 = 0x9e37_79b9;
        for _ in 0..20_000 {
            let mut d = datagram.clone();
            for _ in 0..3 {
                // xorshift: deterministic, no dependency.
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % d.len();
                d[i] = (x >> 24) as u8;
            }
            for m in crate::sys::netlink::Messages::new(&d).flatten() {
                let _ = m.classify();
                let _ = parse_event(&m);
            }
        }
    }

    #[test]
    fn truncated_messages_never_panic() {
        let p = link_payload();
        for n in 0..p.len() {
            let _ = parse_link(&p[..n]);
            let _ = parse_addr(&p[..n]);
        }
        assert!(parse_link(&p[..10]).is_err());
    }
}
