//! Adding and removing interface addresses (RTM_NEWADDR / RTM_DELADDR),
//! with keepalived's `virtual_ipaddress` options.

use std::net::{IpAddr, Ipv4Addr};

use super::link::IFA_F_NODAD;
use super::netlink::msg::{NLM_F_CREATE, NLM_F_EXCL};
use super::netlink::rt::*;
use super::netlink::{Request, Socket};
use super::{Error, Result};
pub use crate::config::route::Scope;

/// IPv4 broadcast address of an address (`brd`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Broadcast {
    #[default]
    None,
    /// `brd +`: host bits set.
    Auto,
    Explicit(Ipv4Addr),
}

/// An address to add to or delete from an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrSpec {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 only.
    pub broadcast: Broadcast,
    pub scope: Scope,
    /// IPv4 only; check it with [`validate_label`].
    pub label: Option<String>,
    /// IPv6: skip duplicate address detection (IFA_F_NODAD), so a VIP is
    /// usable at once instead of tentative for a second.
    pub nodad: bool,
    /// Preferred lifetime in seconds; None is forever. `Some(0)` makes the
    /// address deprecated, which keepalived uses for IPv6 /128 VIPs so they
    /// are never chosen as a source address.
    pub preferred_lft: Option<u32>,
    /// The other end of a point-to-point address (`peer`): IFA_ADDRESS.
    pub peer: Option<IpAddr>,
    /// `IFA_F_HOMEADDRESS`, `IFA_F_MANAGETEMPADDR`, `IFA_F_NOPREFIXROUTE`,
    /// `IFA_F_MCAUTOJOIN` as the configuration asks (`home`, `mngtmpaddr`,
    /// `noprefixroute`, `autojoin`).
    pub extra_flags: u32,
}

/// keepalived's (and `ip address`'s) address options, as kernel flags.
pub const IFA_F_HOMEADDRESS: u32 = 0x10;
pub const IFA_F_MANAGETEMPADDR: u32 = 0x100;
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;
pub const IFA_F_MCAUTOJOIN: u32 = 0x400;

impl AddrSpec {
    /// A host address (/32 or /128), scope global, no options.
    pub fn host(ifindex: u32, addr: IpAddr) -> AddrSpec {
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        AddrSpec {
            ifindex,
            addr,
            prefix_len,
            broadcast: Broadcast::None,
            scope: Scope::Global,
            label: None,
            nodad: false,
            preferred_lft: None,
            peer: None,
            extra_flags: 0,
        }
    }
}

/// What a successful add or delete did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Added,
    /// Add: the address was already there (EEXIST).
    AlreadyPresent,
    Removed,
    /// Delete: the address was not there (EADDRNOTAVAIL).
    AlreadyAbsent,
}

impl Change {
    /// An add request's outcome (addresses, routes, rules): what is
    /// already there (EEXIST) is not an error.
    pub(crate) fn of_add(res: Result<()>) -> Result<Change> {
        match res {
            Ok(()) => Ok(Change::Added),
            Err(e) if e.errno() == libc::EEXIST => Ok(Change::AlreadyPresent),
            Err(e) => Err(e),
        }
    }

    /// A delete request's outcome: what is already gone (`gone`, the errno
    /// this kind of object's delete answers then) is not an error.
    pub(crate) fn of_delete(res: Result<()>, gone: i32) -> Result<Change> {
        match res {
            Ok(()) => Ok(Change::Removed),
            Err(e) if e.errno() == gone => Ok(Change::AlreadyAbsent),
            Err(e) => Err(e),
        }
    }
}

/// `ip` and keepalived require a label to start with the interface name;
/// the kernel stores at most IFNAMSIZ - 1 bytes.
pub fn validate_label(label: &str, ifname: &str) -> Result<()> {
    if !label.starts_with(ifname) {
        return Err(Error::invalid(format!("label {label:?} must start with the interface name {ifname:?}")));
    }
    check_label_len(label)
}

fn check_label_len(label: &str) -> Result<()> {
    if label.is_empty() || label.len() >= libc::IF_NAMESIZE || label.bytes().any(|b| b == 0) {
        return Err(Error::invalid(format!("label {label:?}: 1-15 bytes without NUL")));
    }
    Ok(())
}

/// The broadcast address of `addr/prefix_len` (host bits set).
pub fn broadcast_for(addr: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    let host_mask = u32::MAX.checked_shr(prefix_len as u32).unwrap_or(0);
    Ipv4Addr::from(u32::from(addr) | host_mask)
}

pub fn add(sock: &mut Socket, spec: &AddrSpec) -> Result<Change> {
    let req = build(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, spec)?;
    Change::of_add(sock.request(req, &describe("add", spec)))
}

pub fn delete(sock: &mut Socket, spec: &AddrSpec) -> Result<Change> {
    let req = build(RTM_DELADDR, 0, spec)?;
    Change::of_delete(sock.request(req, &describe("delete", spec)), libc::EADDRNOTAVAIL)
}

fn describe(verb: &str, spec: &AddrSpec) -> String {
    format!("{verb} address {}/{} on ifindex {}", spec.addr, spec.prefix_len, spec.ifindex)
}

/// The request for `spec`; pure, so it is unit-tested byte for byte.
pub fn build(kind: u16, flags: u16, spec: &AddrSpec) -> Result<Request> {
    let max = if spec.addr.is_ipv4() { 32 } else { 128 };
    if spec.prefix_len > max {
        return Err(Error::invalid(format!("prefix length {} for {}", spec.prefix_len, spec.addr)));
    }
    let nodad = if spec.nodad && spec.addr.is_ipv6() { IFA_F_NODAD } else { 0 };
    let ifa_flags = nodad | spec.extra_flags;
    let mut req = Request::new(kind, flags);
    req.push_fixed(&ifaddrmsg(
        family_of(spec.addr),
        spec.prefix_len,
        (ifa_flags & 0xff) as u8,
        spec.scope.value(),
        spec.ifindex,
    ));
    let mut w = req.attrs();
    w.put_ip(IFA_LOCAL, spec.addr).put_ip(IFA_ADDRESS, spec.peer.unwrap_or(spec.addr));
    if let IpAddr::V4(a) = spec.addr {
        match spec.broadcast {
            Broadcast::None => {}
            Broadcast::Auto => {
                w.put_ip(IFA_BROADCAST, IpAddr::V4(broadcast_for(a, spec.prefix_len)));
            }
            Broadcast::Explicit(b) => {
                w.put_ip(IFA_BROADCAST, IpAddr::V4(b));
            }
        }
        if let Some(label) = &spec.label {
            check_label_len(label)?;
            w.put_str(IFA_LABEL, label);
        }
    }
    if ifa_flags != 0 {
        w.put_u32(IFA_FLAGS, ifa_flags);
    }
    if let Some(preferred) = spec.preferred_lft {
        // struct ifa_cacheinfo { prefered, valid, cstamp, tstamp }; valid stays forever.
        let mut ci = [0u8; 16];
        ci[0..4].copy_from_slice(&preferred.to_ne_bytes());
        ci[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
        w.put(IFA_CACHEINFO, &ci);
    }
    Ok(req)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::sys::netlink::{Attrs, Messages};

    #[test]
    fn broadcast_and_scope() {
        let a: Ipv4Addr = "198.18.3.7".parse().unwrap();
        assert_eq!(broadcast_for(a, 24), Ipv4Addr::new(198, 18, 3, 255));
        assert_eq!(broadcast_for(a, 32), a);
        assert_eq!(broadcast_for(a, 0), Ipv4Addr::BROADCAST);
        assert_eq!(Scope::parse("link"), Some(Scope::Link));
        assert_eq!(Scope::parse("254"), Some(Scope::Host));
        assert_eq!(Scope::parse("17").map(Scope::value), Some(17));
        assert_eq!(Scope::parse("galaxy"), None);
    }

    #[test]
    fn label_rules() {
        assert!(validate_label("eth0:vip", "eth0").is_ok());
        assert!(validate_label("eth0", "eth0").is_ok());
        assert!(validate_label("vip", "eth0").is_err());
        assert!(validate_label("eth0:way-too-long", "eth0").is_err());
    }

    #[test]
    fn ipv4_request_bytes() {
        let mut spec = AddrSpec::host(5, "198.18.0.10".parse().unwrap());
        spec.prefix_len = 24;
        spec.broadcast = Broadcast::Auto;
        spec.scope = Scope::Link;
        spec.label = Some("eth0:1".into());
        let mut req = build(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &spec).unwrap();
        let bytes = req.finish(1).to_vec();
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        assert_eq!(m.header.kind, RTM_NEWADDR);
        assert_eq!(&m.payload[..8], &ifaddrmsg(2, 24, 0, 253, 5));
        let attrs: Vec<_> = Attrs::new(&m.payload[8..]).map(|a| a.unwrap()).collect();
        let kinds: Vec<u16> = attrs.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST, IFA_LABEL]);
        assert_eq!(attrs[2].payload, [198, 18, 0, 255]);
        assert_eq!(attrs[3].payload, b"eth0:1\0");
    }

    #[test]
    fn ipv6_nodad_deprecated_request() {
        let mut spec = AddrSpec::host(5, "2001:db8::1".parse().unwrap());
        spec.nodad = true;
        spec.preferred_lft = Some(0);
        spec.label = Some("ignored-for-v6".into());
        let mut req = build(RTM_NEWADDR, 0, &spec).unwrap();
        let bytes = req.finish(1).to_vec();
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        assert_eq!(&m.payload[..8], &ifaddrmsg(10, 128, IFA_F_NODAD as u8, 0, 5));
        let attrs: Vec<_> = Attrs::new(&m.payload[8..]).map(|a| a.unwrap()).collect();
        let kinds: Vec<u16> = attrs.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [IFA_LOCAL, IFA_ADDRESS, IFA_FLAGS, IFA_CACHEINFO]);
        assert_eq!(attrs[3].payload[..8], [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        spec.prefix_len = 129;
        assert!(build(RTM_NEWADDR, 0, &spec).is_err());
    }

    #[test]
    fn peer_and_option_flags() {
        let mut spec = AddrSpec::host(5, "198.18.0.10".parse().unwrap());
        spec.peer = Some("198.18.0.11".parse().unwrap());
        spec.extra_flags = IFA_F_NOPREFIXROUTE | IFA_F_HOMEADDRESS;
        let mut req = build(RTM_NEWADDR, 0, &spec).unwrap();
        let bytes = req.finish(1).to_vec();
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        assert_eq!(&m.payload[..8], &ifaddrmsg(2, 32, 0x10, 0, 5), "the header holds the low 8 bits");
        let attrs: Vec<_> = Attrs::new(&m.payload[8..]).map(|a| a.unwrap()).collect();
        let kinds: Vec<u16> = attrs.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [IFA_LOCAL, IFA_ADDRESS, IFA_FLAGS]);
        assert_eq!(attrs[0].payload, [198, 18, 0, 10]);
        assert_eq!(attrs[1].payload, [198, 18, 0, 11], "IFA_ADDRESS is the peer");
        assert_eq!(attrs[2].payload, 0x210u32.to_ne_bytes());
    }
}
