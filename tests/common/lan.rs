//! A shared L2 segment: a bridge in a "switch" namespace, one veth per host.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Deref;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use super::{Capture, Netns};

/// An Ethernet segment with subnets 198.18.<i>.0/24 and 2001:db8:<i>::/64, where `i` is unique
/// per Lan in this process (so several Lans in one test never share addresses).
pub struct Lan {
    switch: Netns,
    index: u16,
    next_host: AtomicU8,
}

/// A namespace on a [`Lan`] with interface `eth0`. Derefs to its [`Netns`].
pub struct Host {
    pub ns: Netns,
    /// Host number on the Lan: the last octet / last group of its addresses.
    pub n: u8,
    pub ip4: Ipv4Addr,
    pub ip6: Ipv6Addr,
    pub mac: String,
}

impl Lan {
    pub fn new() -> Lan {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // 512 /24s fit in 198.18.0.0/15.
        let index = (NEXT.fetch_add(1, Ordering::Relaxed) % 512) as u16;
        let switch = Netns::new("sw");
        // The switch only forwards: no IPv6 chatter of its own in captures.
        switch.sysctl(&["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
        // STP off and no multicast snooping: VRRP multicast must reach every port at once.
        switch.ip(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
        ]);
        switch.link_set("br0", true);
        Lan { switch, index, next_host: AtomicU8::new(1) }
    }

    /// The Lan's IPv4 address with last octet `n` (hosts get 1, 2, 3...; use e.g. 100 for a VIP).
    pub fn v4(&self, n: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18 + (self.index / 256) as u8, (self.index % 256) as u8, n)
    }

    /// The Lan's IPv6 address 2001:db8:<i>::<n>.
    pub fn v6(&self, n: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, self.index, 0, 0, 0, 0, n)
    }

    /// The namespace holding bridge `br0`.
    pub fn switch(&self) -> &Netns {
        &self.switch
    }

    /// Capture every frame on the segment (tcpdump on `br0`), e.g. `lan.capture("vrrp or arp")`.
    pub fn capture(&self, filter: &str) -> Capture {
        Capture::start(&self.switch, "br0", filter)
    }

    /// A new namespace `role` plugged into the bridge: `eth0` up with the next host number `n`,
    /// 198.18.<i>.<n>/24, 2001:db8:<i>::<n>/64 (DAD off, so IPv6 works at once), MAC
    /// 02:00:c6:<i high byte>:<i low byte>:<n>, and a route for 224.0.0.0/4 via eth0. Returns
    /// once eth0's IPv6 link-local address is usable.
    pub fn add_host(&self, role: &str) -> Host {
        let host = self.plug(role, None);
        let ready = super::wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
            host.link_local().is_some()
        });
        assert!(ready, "{}: no usable IPv6 link-local address on eth0", host.name());
        host
    }

    /// [`Lan::add_host`] as on a router that boots: eth0's link-local address goes through
    /// duplicate address detection (`dad_transmits` probes a second apart, after a random delay
    /// of up to a second), and this returns at once, while it is still tentative. The global
    /// 2001:db8 address is added without DAD, as in `add_host`.
    pub fn add_host_with_dad(&self, role: &str, dad_transmits: u32) -> Host {
        self.plug(role, Some(dad_transmits))
    }

    fn plug(&self, role: &str, dad_transmits: Option<u32>) -> Host {
        let n = self.next_host.fetch_add(1, Ordering::Relaxed);
        assert!((1..100).contains(&n), "too many hosts on one Lan");
        let ns = Netns::new(role);
        // Before eth0 exists, so that it inherits "default".
        match dad_transmits {
            None => ns.sysctl(&["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]),
            Some(probes) => ns.sysctl(&[
                "net.ipv6.conf.default.accept_dad=1",
                &format!("net.ipv6.conf.default.dad_transmits={probes}"),
            ]),
        }
        let port = format!("p{n}");
        self.switch.ip(&["link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", ns.name()]);
        self.switch.ip(&["link", "set", &port, "master", "br0", "up"]);
        let [hi, lo] = self.index.to_be_bytes();
        let mac = format!("02:00:c6:{hi:02x}:{lo:02x}:{n:02x}");
        let (ip4, ip6) = (self.v4(n), self.v6(n.into()));
        ns.ip(&["link", "set", "eth0", "address", &mac, "up"]);
        ns.ip(&["addr", "add", &format!("{ip4}/24"), "dev", "eth0"]);
        ns.ip(&["addr", "add", &format!("{ip6}/64"), "dev", "eth0", "nodad"]);
        ns.ip(&["route", "add", "224.0.0.0/4", "dev", "eth0"]);
        Host { ns, n, ip4, ip6, mac }
    }
}

impl Default for Lan {
    fn default() -> Self {
        Lan::new()
    }
}

impl Host {
    /// `ip -o -6 addr` lines of eth0's link-local addresses, flags ("tentative") included.
    pub fn link_local_lines(&self) -> Vec<String> {
        let out = self.ns.ip(&["-o", "-6", "addr", "show", "dev", "eth0", "scope", "link"]);
        out.lines().map(str::to_string).collect()
    }

    /// eth0's IPv6 link-local address, once it is usable (not tentative).
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.link_local_lines().iter().filter(|l| !l.contains("tentative")).find_map(|l| {
            let addr = l.split_whitespace().nth(3)?.split('/').next()?;
            addr.parse().ok()
        })
    }
}

impl Deref for Host {
    type Target = Netns;

    fn deref(&self) -> &Netns {
        &self.ns
    }
}
