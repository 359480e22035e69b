//! `use_vmac`: the instance's macvlan with the virtual router MAC, and
//! the sysctls keepalived sets around it.
//!
//! The macvlan carries the VIPs (those without their own `dev`), the
//! gratuitous ARPs and, unless `vmac_xmit_base`, the adverts. Link-state
//! tracking stays on the parent. Parent sysctls are shared by every VMAC on
//! that parent, so they are restored only when the last one goes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use log::{info, warn};

use super::{RunningInstance, VrrpEngine};
use crate::config::model::VrrpInstance;
use crate::sys;
use crate::sys::addr::{self, AddrSpec, Scope};
use crate::sys::link::Link;
use crate::sys::macvlan;
use crate::sys::netlink::Socket;
use crate::sys::sysctl::{Ipv4Conf, Key, Saved};

/// A macvlan we created (or took over) for one instance.
pub(super) struct Vmac {
    pub index: u32,
    pub name: String,
    pub mac: [u8; 6],
    parent: String,
}

/// The parents' sysctls and how many VMACs rely on them.
#[derive(Default)]
pub(super) struct Vmacs {
    conf: Ipv4Conf,
    parents: HashMap<String, (usize, Saved)>,
}

impl Vmacs {
    /// The macvlan for `cfg` on `parent`, if it uses one.
    pub(super) fn setup(
        &mut self,
        nl: &mut Socket,
        cfg: &VrrpInstance,
        parent: &Link,
    ) -> sys::Result<Option<Vmac>> {
        let ipv6 = cfg.is_ipv6();
        let mac = macvlan::virtual_mac(cfg.vrid, ipv6);
        let Some((name, l)) = create(nl, cfg, parent.index, mac)? else { return Ok(None) };
        info!("({}) VMAC {name} on {} with MAC {}", cfg.name, parent.name, show_mac(mac));
        // Answer ARP for the VIPs only on the macvlan, accept our own
        // (shared) MAC's packets, and no reverse-path check on the VMAC.
        let mut own = Saved::default();
        for (key, value) in [(Key::ArpIgnore, 1), (Key::AcceptLocal, 1), (Key::RpFilter, 0)] {
            if let Err(e) = own.set(&self.conf, &name, key, value) {
                warn!("({}) {e}", cfg.name);
            }
        }
        // keepalived's parent settings, plus arp_announce 2: the parent's own ARP requests
        // (for replies that leave through it) must not say "tell <VIP>" with the parent's
        // MAC, which would make clients resolve the VIP to that MAC instead of the VMAC.
        let (users, saved) = self.parents.entry(parent.name.clone()).or_default();
        if *users == 0 {
            for (key, value) in [(Key::ArpIgnore, 1), (Key::ArpFilter, 1), (Key::ArpAnnounce, 2)] {
                if let Err(e) = saved.set(&self.conf, &parent.name, key, value) {
                    warn!("({}) {e}", cfg.name);
                }
            }
        }
        *users += 1;
        // Every router has the same VMAC: the link-local must come from the parent's MAC.
        if let (true, Some(pmac)) = (ipv6, parent.mac) {
            let mut spec = AddrSpec::host(l.index, IpAddr::V6(eui64_link_local(pmac)));
            (spec.prefix_len, spec.scope, spec.nodad) = (64, Scope::Link, true);
            if let Err(e) = addr::add(nl, &spec) {
                warn!("({}) link-local on {name}: {e}", cfg.name);
            }
        }
        Ok(Some(Vmac { index: l.index, name, mac, parent: parent.name.clone() }))
    }

    /// Delete the macvlan; the last VMAC on a parent restores its sysctls.
    pub(super) fn teardown(&mut self, nl: &mut Socket, vmac: Vmac) {
        if let Err(e) = macvlan::delete(nl, vmac.index, &vmac.name) {
            warn!("VMAC {}: {e}", vmac.name);
        }
        if let Some((users, saved)) = self.parents.get_mut(&vmac.parent) {
            *users = users.saturating_sub(1);
            if *users == 0 {
                for e in saved.restore(&self.conf) {
                    warn!("restoring sysctls of {}: {e}", vmac.parent);
                }
                self.parents.remove(&vmac.parent);
            }
        }
    }
}

impl RunningInstance {
    /// Interface and MAC for gratuitous ARPs / NAs.
    pub(super) fn garp_dev(&self) -> (u32, [u8; 6]) {
        self.vmac.as_ref().map_or((self.ifindex, self.mac), |v| (v.index, v.mac))
    }

    /// Interface for VIPs without their own `dev`.
    pub(super) fn vip_dev(&self) -> (u32, String) {
        self.vmac.as_ref().map_or((self.ifindex, self.ifname.clone()), |v| (v.index, v.name.clone()))
    }
}

impl VrrpEngine {
    /// Instance `i` is going away (shutdown, reload): remove its macvlan.
    pub(super) fn vmac_teardown(&mut self, i: usize) {
        if let Some(v) = self.insts[i].vmac.take() {
            self.vmacs.teardown(&mut self.nl, v);
        }
    }
}

/// Create (or take over) the first of [`names`] that is free or already ours.
fn create(
    nl: &mut Socket,
    cfg: &VrrpInstance,
    parent: u32,
    mac: [u8; 6],
) -> sys::Result<Option<(String, Link)>> {
    let mut clash = None;
    for name in names(cfg) {
        match macvlan::create(nl, &name, parent, mac) {
            Ok(l) => return Ok(Some((name, l))),
            // Another link has the name (the IPv4 VMAC of this VRID): try the next one.
            Err(e) if e.errno() == libc::EEXIST => clash = Some(e),
            Err(e) => return Err(e),
        }
    }
    clash.map_or(Ok(None), Err)
}

/// The macvlan names to try for `cfg`, in order (none without `use_vmac`). An
/// IPv6 instance's default `vrrp.<vrid>` may be the IPv4 VMAC of the same VRID
/// (dual stack with one VRID); like keepalived it then falls back to `vrrp6.<vrid>`.
fn names(cfg: &VrrpInstance) -> Vec<String> {
    let mut names: Vec<String> = cfg.vmac_name().into_iter().collect();
    if cfg.is_ipv6() && cfg.use_vmac == Some(None) {
        names.push(format!("vrrp6.{}", cfg.vrid));
    }
    names
}

/// fe80::/64 with the modified EUI-64 interface identifier of `mac`.
pub(super) fn eui64_link_local(mac: [u8; 6]) -> Ipv6Addr {
    let b = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, mac[0] ^ 2, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]];
    Ipv6Addr::from(b)
}

fn show_mac(m: [u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::config::model::VipSpec;
    use crate::config::Loc;

    #[test]
    fn link_local_from_parent_mac() {
        let ll = eui64_link_local([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(ll, "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap());
        assert_eq!(show_mac(macvlan::virtual_mac(51, false)), "00:00:5e:00:01:33");
    }

    #[test]
    fn ipv6_falls_back_to_vrrp6_only_with_the_default_name() {
        let loc = Loc { file: "t.conf".into(), line: 1, col: 1 };
        let mut cfg = VrrpInstance::new("VI_1".into(), loc.clone());
        cfg.vrid = 51;
        assert!(names(&cfg).is_empty(), "no use_vmac, no macvlan");
        cfg.use_vmac = Some(None);
        cfg.vips.push(VipSpec::new("198.18.0.100".parse().unwrap(), loc.clone()));
        assert_eq!(names(&cfg), ["vrrp.51"]);
        cfg.vips[0] = VipSpec::new("2001:db8::100".parse().unwrap(), loc.clone());
        assert_eq!(names(&cfg), ["vrrp.51", "vrrp6.51"]);
        cfg.use_vmac = Some(Some("vmac51".into()));
        assert_eq!(names(&cfg), ["vmac51"], "a chosen name is never replaced");
    }
}
