//! Instances that cannot run yet because their interface does not exist or
//! has no usable source address for the adverts.
//!
//! On a router that boots, the daemon starts while IPv6 duplicate address
//! detection still holds the fresh link-local address tentative (a second
//! or more), and the kernel lets no socket send from a tentative address.
//! An interface may also be created after the daemon (a VLAN, a bond, a
//! tunnel). keepalived keeps such an instance in FAULT until the interface
//! or address appears. vigil keeps it *pending*: it has never run,
//! so it announces nothing, but it is shown in status (INIT, with what it
//! waits for), it faults its sync group, and the engine retries it on every
//! link or address event of the rtnetlink monitor (and after an overrun
//! re-dump), starting it as at start-up once it can.

use std::net::IpAddr;

use crate::config::model::VrrpInstance;
use crate::sys::link::{self, Address, Link};

/// A configured instance waiting for its interface or source address.
pub(super) struct Pending {
    pub cfg: VrrpInstance,
    /// What it waits for, as logged: "interface eth0 to appear", ...
    pub waiting_for: String,
}

/// Whether an instance can run on the system as it is now.
#[derive(Debug, PartialEq)]
pub(super) enum Placement<'a> {
    /// Its interface and the source address of its adverts.
    Ready { link: &'a Link, source: IpAddr },
    /// Not yet: what it waits for.
    Waiting(String),
}

/// Where `cfg` runs, given every interface and address of the system. `Err`
/// for an instance that can never run (no interface configured).
pub(super) fn placement<'a>(
    cfg: &VrrpInstance,
    links: &'a [Link],
    addrs: &[Address],
) -> Result<Placement<'a>, String> {
    let ifname = cfg.interface.as_deref().ok_or("no interface given")?;
    let Some(link) = links.iter().find(|l| l.name == ifname) else {
        return Ok(Placement::Waiting(format!("interface {ifname} to appear")));
    };
    let configured = if cfg.is_unicast() { cfg.unicast_src_ip } else { cfg.mcast_src_ip };
    let source = match configured {
        // An IPv6 socket is bound to its source, which the kernel refuses
        // while the address is missing or tentative. IPv4 sockets are not.
        Some(IpAddr::V6(ip)) => {
            let found = addrs.iter().find(|a| a.addr == IpAddr::V6(ip));
            match found.map(dad_progress) {
                Some(None) => IpAddr::V6(ip),
                Some(Some(dad)) => return Ok(Placement::Waiting(format!("{ip} to become usable ({dad})"))),
                None => return Ok(Placement::Waiting(format!("{ip} to be assigned"))),
            }
        }
        Some(ip) => ip,
        None => {
            let mine: Vec<Address> = addrs.iter().filter(|a| a.index == link.index).cloned().collect();
            let found = if cfg.is_ipv6() { link::ipv6_link_local(&mine) } else { link::primary_ipv4(&mine) };
            match found {
                Some(a) => a.addr,
                None => return Ok(Placement::Waiting(missing_source(cfg.is_ipv6(), ifname, &mine))),
            }
        }
    };
    Ok(Placement::Ready { link, source })
}

/// Why an IPv6 address cannot be used yet: "DAD in progress", "DAD failed";
/// None when it can.
fn dad_progress(a: &Address) -> Option<&'static str> {
    if a.is_dadfailed() {
        Some("DAD failed")
    } else if a.is_tentative() {
        Some("DAD in progress")
    } else {
        None
    }
}

/// What an instance without a source address on `ifname` (whose addresses
/// are `mine`) waits for.
fn missing_source(ipv6: bool, ifname: &str, mine: &[Address]) -> String {
    if !ipv6 {
        return format!("an IPv4 address on {ifname}");
    }
    let what = format!("a usable IPv6 link-local address on {ifname}");
    match mine.iter().filter(|a| a.is_ipv6_link_local()).find_map(dad_progress) {
        Some(dad) => format!("{what} ({dad})"),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_bytes, LoadOptions};
    use crate::sys::link::{OperState, IFA_F_DADFAILED, IFA_F_TENTATIVE, IFF_RUNNING, IFF_UP};
    use std::path::Path;

    fn instance(extra: &str) -> VrrpInstance {
        let text = format!(
            "vrrp_instance VI_6 {{\n interface eth0\n virtual_router_id 6\n priority 100\n{extra} \
             virtual_ipaddress {{\n 2001:db8::100/64\n }}\n}}\n"
        );
        let opts = LoadOptions::with_id("n");
        let mut config = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts).config;
        config.instances.remove(0)
    }

    fn eth0() -> Link {
        Link {
            index: 2,
            name: "eth0".into(),
            flags: IFF_UP | IFF_RUNNING,
            operstate: OperState::Up,
            mac: Some([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            kind: None,
        }
    }

    fn addr(ip: &str, flags: u32) -> Address {
        let addr: IpAddr = ip.parse().unwrap();
        let prefix_len = if addr.is_ipv6() { 64 } else { 24 };
        Address { index: 2, addr, prefix_len, scope: 0, flags, label: None, broadcast: None }
    }

    fn waiting(p: Result<Placement, String>) -> String {
        match p {
            Ok(Placement::Waiting(what)) => what,
            other => panic!("expected to wait, got {other:?}"),
        }
    }

    #[test]
    fn a_tentative_link_local_is_waited_for_until_dad_completes() {
        let (cfg, links) = (instance(""), [eth0()]);
        let tentative = [addr("2001:db8::1", 0), addr("fe80::1", IFA_F_TENTATIVE)];
        assert_eq!(
            waiting(placement(&cfg, &links, &tentative)),
            "a usable IPv6 link-local address on eth0 (DAD in progress)"
        );
        let done = [addr("2001:db8::1", 0), addr("fe80::1", 0)];
        let source = "fe80::1".parse().unwrap();
        assert_eq!(placement(&cfg, &links, &done), Ok(Placement::Ready { link: &links[0], source }));
    }

    #[test]
    fn no_link_local_or_a_failed_dad_is_waited_for_too() {
        let (cfg, links) = (instance(""), [eth0()]);
        let what = "a usable IPv6 link-local address on eth0";
        assert_eq!(waiting(placement(&cfg, &links, &[])), what);
        let failed = [addr("fe80::1", IFA_F_TENTATIVE | IFA_F_DADFAILED)];
        assert_eq!(waiting(placement(&cfg, &links, &failed)), format!("{what} (DAD failed)"));
    }

    #[test]
    fn a_missing_interface_is_waited_for() {
        let cfg = instance("");
        let other = Link { name: "eth1".into(), ..eth0() };
        assert_eq!(waiting(placement(&cfg, &[other], &[])), "interface eth0 to appear");
    }

    #[test]
    fn an_ipv4_instance_waits_for_an_ipv4_address() {
        let text = "vrrp_instance VI_4 {\n interface eth0\n virtual_router_id 4\n priority 100\n \
                    virtual_ipaddress {\n 198.18.0.100/24\n }\n}\n";
        let opts = LoadOptions::with_id("n");
        let cfg = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts).config.instances.remove(0);
        let links = [eth0()];
        assert_eq!(waiting(placement(&cfg, &links, &[addr("fe80::1", 0)])), "an IPv4 address on eth0");
        let source = "198.18.0.1".parse().unwrap();
        let ready = placement(&cfg, &links, &[addr("198.18.0.1", 0)]);
        assert_eq!(ready, Ok(Placement::Ready { link: &links[0], source }));
    }

    #[test]
    fn a_configured_ipv6_source_must_be_assigned_and_past_dad() {
        let cfg = instance(" mcast_src_ip fe80::7\n");
        let links = [eth0()];
        let usable_other = [addr("fe80::1", 0)];
        assert_eq!(waiting(placement(&cfg, &links, &usable_other)), "fe80::7 to be assigned");
        let tentative = [addr("fe80::1", 0), addr("fe80::7", IFA_F_TENTATIVE)];
        assert_eq!(
            waiting(placement(&cfg, &links, &tentative)),
            "fe80::7 to become usable (DAD in progress)"
        );
        let source = "fe80::7".parse().unwrap();
        let ready = placement(&cfg, &links, &[addr("fe80::1", 0), addr("fe80::7", 0)]);
        assert_eq!(ready, Ok(Placement::Ready { link: &links[0], source }));
    }

    #[test]
    fn adverts_leave_from_mcast_or_unicast_src_ip() {
        let conf = "vrrp_instance M {\n interface eth0\n virtual_router_id 1\n mcast_src_ip 198.18.0.9\n \
                    unicast_src_ip 198.18.0.8\n virtual_ipaddress {\n 198.18.0.100\n }\n}\n\
                    vrrp_instance U {\n interface eth0\n virtual_router_id 2\n mcast_src_ip 198.18.0.9\n \
                    unicast_src_ip 198.18.0.8\n unicast_peer {\n 198.18.0.2\n }\n \
                    virtual_ipaddress {\n 198.18.0.101\n }\n}\n\
                    vrrp_instance D {\n interface eth0\n virtual_router_id 3\n virtual_ipaddress {\n 198.18.0.102\n }\n}\n";
        let opts = LoadOptions::with_id("n1");
        let c = load_bytes("t.conf", conf.as_bytes(), Path::new("/"), &opts).config;
        let links = [eth0()];
        let mine = [Address {
            index: 2,
            addr: "198.18.0.1".parse().unwrap(),
            prefix_len: 24,
            scope: 0,
            flags: 0,
            label: None,
            broadcast: None,
        }];
        let src = |i: usize| match placement(&c.instances[i], &links, &mine) {
            Ok(Placement::Ready { source, .. }) => source.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(src(0), "198.18.0.9", "mcast_src_ip");
        assert_eq!(src(1), "198.18.0.8", "unicast_src_ip");
        assert_eq!(src(2), "198.18.0.1", "the interface's primary address");
    }
}
