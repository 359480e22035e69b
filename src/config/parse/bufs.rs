//! The socket buffer keywords of global_defs (`*_rcv_bufs[_force]`,
//! `vrrp_rx_bufs_policy`, `vrrp_rx_bufs_multiplier`) and the `garp_group`
//! block, with keepalived 2.2's ranges and corrections.

use super::super::keywords::Ctx;
use super::super::model::{GarpGroup, GlobalDefs, RcvBuf, RxBufsPolicy};
use super::tree::Stmt;
use super::Parser;

impl Parser<'_> {
    /// Reads one buffer keyword into `g`; false when `s` is not one.
    pub(super) fn buffer_keyword(&mut self, g: &mut GlobalDefs, s: &Stmt) -> bool {
        let b = &mut g.netlink_bufs;
        let (slot, force): (&mut RcvBuf, bool) = match s.name() {
            "vrrp_netlink_cmd_rcv_bufs" => (&mut b.vrrp_cmd, false),
            "vrrp_netlink_cmd_rcv_bufs_force" => (&mut b.vrrp_cmd, true),
            "vrrp_netlink_monitor_rcv_bufs" => (&mut b.vrrp_monitor, false),
            "vrrp_netlink_monitor_rcv_bufs_force" => (&mut b.vrrp_monitor, true),
            "process_monitor_rcv_bufs" => (&mut b.process_monitor, false),
            "process_monitor_rcv_bufs_force" => (&mut b.process_monitor, true),
            "lvs_netlink_cmd_rcv_bufs" => (&mut b.lvs_cmd, false),
            "lvs_netlink_cmd_rcv_bufs_force" => (&mut b.lvs_cmd, true),
            "lvs_netlink_monitor_rcv_bufs" => (&mut b.lvs_monitor, false),
            "lvs_netlink_monitor_rcv_bufs_force" => (&mut b.lvs_monitor, true),
            "vrrp_rx_bufs_policy" => {
                self.rx_bufs_policy(g, s);
                return true;
            }
            "vrrp_rx_bufs_multiplier" => {
                if let Some(n) = self.u32(s, 1, u32::MAX) {
                    g.vrrp_rx_bufs_multiplier = n;
                }
                return true;
            }
            _ => return false,
        };
        if force {
            slot.force = self.flag(s);
        } else if let Some(n) = self.u32(s, 0, u32::MAX) {
            // keepalived: 0 leaves the size as it was.
            if n > 0 {
                slot.bytes = n;
            }
        }
        true
    }

    /// `vrrp_rx_bufs_policy MTU|ADVERT|BYTES`: a size wins over a policy,
    /// MTU over ADVERT, as in keepalived (which reports the conflict).
    fn rx_bufs_policy(&mut self, g: &mut GlobalDefs, s: &Stmt) {
        let (mut mtu, mut advert, mut size) = (false, false, None);
        if s.args.is_empty() {
            self.error(s.loc(), "vrrp_rx_bufs_policy missing".to_string(), None);
            return;
        }
        for t in &s.args {
            let w = t.word().unwrap_or("");
            if w.eq_ignore_ascii_case("MTU") {
                mtu = true;
            } else if w.eq_ignore_ascii_case("ADVERT") {
                advert = true;
            } else if let Ok(n) = w.parse::<u32>() {
                size = Some(n);
            } else {
                self.error(&t.loc, format!("invalid vrrp_rx_bufs_policy '{w}'"), None);
            }
        }
        g.vrrp_rx_bufs = match (size, mtu, advert) {
            (Some(n), p, a) => {
                if p || a {
                    let msg = "cannot set vrrp_rx_bufs_policy size and policy, ignoring policy".to_string();
                    self.error(s.loc(), msg, None);
                }
                RxBufsPolicy::Size(n)
            }
            (None, true, a) => {
                if a {
                    let msg =
                        "cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT".to_string();
                    self.error(s.loc(), msg, None);
                }
                RxBufsPolicy::Mtu
            }
            (None, false, true) => RxBufsPolicy::Advert,
            (None, false, false) => g.vrrp_rx_bufs,
        };
    }

    /// A `garp_group` block. An interface already in a group stays in the
    /// first; a group without an interval is dropped (keepalived's errors).
    pub(super) fn garp_group(&mut self, g: &mut GlobalDefs, s: &Stmt) {
        let mut group = GarpGroup { garp_interval: None, gna_interval: None, interfaces: Vec::new() };
        for s in self.known(Ctx::GarpGroup, s.stmts()) {
            let names = match s.name() {
                "garp_interval" => {
                    group.garp_interval = self.timer(s, 0.0, 86400.0).or(group.garp_interval);
                    continue;
                }
                "gna_interval" => {
                    group.gna_interval = self.timer(s, 0.0, 86400.0).or(group.gna_interval);
                    continue;
                }
                "interface" => self.string(s).map(|n| vec![(n, s.loc().clone())]).unwrap_or_default(),
                _ => self.list_words(s),
            };
            for (name, loc) in names {
                let taken = g.garp_groups.iter().chain([&group]).any(|o| o.interfaces.contains(&name));
                if taken {
                    self.error(&loc, format!("garp_group already specified for {name} - ignoring"), None);
                } else {
                    group.interfaces.push(name);
                }
            }
        }
        if group.garp_interval.is_none() && group.gna_interval.is_none() {
            self.error(s.loc(), "garp group does not have any delay set - removing".to_string(), None);
            return;
        }
        g.garp_groups.push(group);
    }
}
