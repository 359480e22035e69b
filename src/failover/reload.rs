//! SIGHUP: apply a new configuration without disturbing what did not change.
//!
//! Instances are matched by name and compared field by field (`diff.rs`).
//! One whose configuration only moved in the file is kept as it runs. One
//! whose identity changed (VRID, interface, family, version, unicast or
//! multicast, source, VMAC, socket options, sync group members) leaves as
//! on shutdown (priority 0, VIPs removed) and starts again as at start-up,
//! its AH sequence number carried over as in keepalived. Any other change
//! is applied in place, as keepalived's reload keeps its instances' state:
//! the core takes the new parameters with its state, timers and master
//! (`vrrp::Instance::reconfigure`); a master adds and removes only the VIPs,
//! virtual routes and rules that changed, and sends gratuitous ARPs for the
//! added VIPs; notify scripts and trackers are read from the new
//! configuration (`ext.rs` keeps the health of trackers that stay). A
//! removed instance leaves as on shutdown; a new one starts as at start-up.
//!
//! A pending instance (`pending.rs`) is not running, so `plan` sees it as
//! new when the configuration still has it: it is tried again with its new
//! configuration, and waits again or starts. One the configuration dropped
//! is forgotten.

mod diff;

use std::collections::HashMap;
use std::os::fd::AsRawFd;

use log::{error, info};
use mio::unix::SourceFd;
use mio::Registry;

use super::VrrpEngine;
use crate::config::model::{VipSpec, VrrpInstance};
use crate::config::Config;
use crate::runtime::TokenAlloc;
use crate::time::Monotonic;
use crate::vrrp::State;
use diff::missing;
pub use diff::{diff, Change, Side};

/// What a reload does to one running instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    Keep,
    /// Applied in place.
    Update(Vec<Change>),
    /// Stopped and started again: an identity change is among these.
    Restart(Vec<Change>),
    Remove,
}

/// Decide each running instance's fate; names in `new` that are not
/// running are the ones to add.
pub fn plan(running: &[Side], new: &Config) -> (Vec<Fate>, Vec<usize>) {
    let fates = running
        .iter()
        .map(|old| match new.instance(&old.inst.name) {
            None => Fate::Remove,
            Some(n) => {
                let side = Side { inst: n, global: &new.global, sync_groups: &new.sync_groups };
                let changes = diff(*old, side);
                if changes.is_empty() {
                    Fate::Keep
                } else if changes.iter().any(|c| c.restarts()) {
                    Fate::Restart(changes)
                } else {
                    Fate::Update(changes)
                }
            }
        })
        .collect();
    let added = new
        .instances
        .iter()
        .enumerate()
        .filter(|(_, n)| !running.iter().any(|old| old.inst.name == n.name))
        .map(|(i, _)| i)
        .collect();
    (fates, added)
}

/// "priority, virtual_ipaddress" for log lines.
fn names(changes: &[Change]) -> String {
    changes.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

impl VrrpEngine {
    /// Apply `new` (already validated by the parent).
    pub(super) fn reload_config(
        &mut self,
        registry: &Registry,
        tokens: &mut TokenAlloc,
        new: &Config,
        now: Monotonic,
    ) -> Result<(), String> {
        let running: Vec<Side> = self
            .insts
            .iter()
            .map(|i| Side { inst: &i.cfg, global: &self.global, sync_groups: &self.sync_groups })
            .collect();
        let (fates, added) = plan(&running, new);
        let mut to_start: Vec<&VrrpInstance> = added.iter().map(|&i| &new.instances[i]).collect();
        let vnow = self.epoch.instant(now);
        // AH and auth_hmac sequence numbers of the restarted instances, by name.
        let mut ah_seqs = HashMap::new();

        // Leave first, so a restarted instance's VIPs are not removed after
        // its new self has added them.
        for (i, fate) in fates.iter().enumerate() {
            match fate {
                Fate::Keep | Fate::Update(_) => continue,
                Fate::Remove => {
                    info!("({}) removed on reload", self.insts[i].cfg.name);
                    self.insts[i].removed_from = Some(self.insts[i].core.state());
                }
                Fate::Restart(changes) => {
                    let identity: Vec<Change> = changes.iter().copied().filter(|c| c.restarts()).collect();
                    info!("({}) restarted on reload: {} changed", self.insts[i].cfg.name, names(&identity));
                    let unicast = self.insts[i].cfg.is_unicast();
                    if identity.iter().any(|c| c.replaces_for_keepalived(unicast)) {
                        self.insts[i].removed_from = Some(self.insts[i].core.state());
                    }
                }
            }
            self.insts[i].core.shutdown(vnow);
            self.apply(i, now);
            if self.insts[i].vips_set {
                self.set_vips(i, false);
            }
            self.vmac_teardown(i);
            let core = &self.insts[i].core;
            ah_seqs.insert(self.insts[i].cfg.name.clone(), (core.ah_seq(), core.hmac_seq()));
            if let Fate::Restart(_) = fate {
                if let Some(n) = new.instance(&self.insts[i].cfg.name) {
                    to_start.push(n);
                }
            }
        }

        // Keep the survivors in order and renumber what refers to them.
        let old = std::mem::take(&mut self.insts);
        let mut renumber = HashMap::new();
        let mut updates = Vec::new();
        for (i, (inst, fate)) in old.into_iter().zip(&fates).enumerate() {
            if let Fate::Keep | Fate::Update(_) = fate {
                renumber.insert(i, self.insts.len());
                if let Fate::Update(changes) = fate {
                    updates.push((self.insts.len(), changes));
                }
                self.insts.push(inst);
            }
        }
        self.garps.renumber(&renumber);
        self.global = new.global.clone();
        self.sync_groups = new.sync_groups.clone();
        self.lvs_sync.reconfigure(&self.global);
        let followed = self.lvs_sync.instance().and_then(|n| self.insts.iter().find(|i| i.cfg.name == n));
        if let Some(inst) = followed {
            let (name, state) = (inst.cfg.name.clone(), inst.core.state());
            self.lvs_sync.follow(&name, state);
        }
        // Every updated instance lets go of what it lost before any takes
        // what it gained, so an address moved between two of them stays.
        let mut before = Vec::new();
        for &(i, changes) in &updates {
            let Some(cfg) = new.instance(&self.insts[i].cfg.name) else { continue };
            if let Some(old) = self.update_in_place(i, cfg, changes, now) {
                before.push((i, old));
            }
        }
        for (i, old) in &before {
            self.move_addresses(*i, old, false, now);
        }
        for (i, old) in &before {
            self.move_addresses(*i, old, true, now);
        }
        self.children = crate::script::fifo::children(new, self.only);
        self.open_fifos(now);
        let (links, addrs) =
            super::links_and_addrs(&mut self.nl).map_err(|e| format!("interface dump: {e}"))?;
        self.pending.retain(|p| {
            let kept = new.instance(&p.cfg.name).is_some();
            if !kept {
                info!("({}) removed on reload (it was waiting for {})", p.cfg.name, p.waiting_for);
            }
            kept
        });
        let first_new = self.insts.len();
        for cfg in to_start {
            if let Some(i) = self.add_instance(cfg, &links, &addrs) {
                if let Some(&(seq, hmac_seq)) = ah_seqs.get(&cfg.name) {
                    self.insts[i].core.continue_ah_seq(seq);
                    self.insts[i].core.continue_hmac_seq(hmac_seq);
                }
            }
        }
        self.rebuild_socket_members();
        self.drop_idle_sockets(registry);
        self.register_sockets(registry).map_err(|e| format!("register socket: {e}"))?;
        self.ext_reload(registry, tokens, new, now);
        self.check_scripts();
        self.reevaluate(now);
        for i in first_new..self.insts.len() {
            self.start_instance(i, now);
        }
        Ok(())
    }

    /// Give running instance `i` its new configuration `cfg`; the previous
    /// one is returned when it held its VIPs (for `move_addresses`).
    fn update_in_place(
        &mut self,
        i: usize,
        cfg: &VrrpInstance,
        changes: &[Change],
        now: Monotonic,
    ) -> Option<VrrpInstance> {
        let vnow = self.epoch.instant(now);
        let source = self.insts[i].core.params().source;
        let params = super::params::instance_params(cfg, &self.global, source);
        let peers = params.unicast_peers.clone();
        if let Err(e) = self.insts[i].core.reconfigure(vnow, params) {
            // The diff restarts every identity change the core refuses; if
            // they ever disagree, the instance runs on as it was.
            error!("({}) not reloaded: its {e:?} changed; keeping the running configuration", cfg.name);
            return None;
        }
        info!("({}) reloaded in place: {}", cfg.name, names(changes));
        self.hmac_instances |= self.insts[i].core.params().hmac.is_some();
        let inst = &mut self.insts[i];
        if cfg.is_unicast() {
            inst.dsts = peers;
        }
        let old = std::mem::replace(&mut inst.cfg, cfg.clone());
        self.apply(i, now);
        self.insts[i].vips_set.then_some(old)
    }

    /// A master's VIPs, virtual routes and rules after a reload changed them
    /// (`old`: its previous configuration): `add` false removes what the new
    /// one dropped (rules, routes, then addresses), true adds what it gained
    /// (addresses, routes, rules) and sends gratuitous ARPs for the new
    /// addresses. What both have is not touched.
    fn move_addresses(&mut self, i: usize, old: &VrrpInstance, add: bool, now: Monotonic) {
        let new = self.insts[i].cfg.clone();
        let (from, to) = if add { (old, &new) } else { (&new, old) };
        let addrs =
            |c: &VrrpInstance| -> Vec<VipSpec> { c.vips.iter().chain(&c.vips_excluded).cloned().collect() };
        let vips = missing(&addrs(to), &addrs(from));
        let routes = missing(&to.virtual_routes, &from.virtual_routes);
        let rules = missing(&to.virtual_rules, &from.virtual_rules);
        let name = new.name.clone();
        if !add {
            rules.iter().for_each(|r| self.rule_change(&name, r, false));
            routes.iter().for_each(|r| self.route_change(&name, r, false));
        }
        for vip in &vips {
            info!(
                "({name}) {} VIP {} on reload",
                if add { "adding" } else { "removing" },
                super::vips::show(vip)
            );
            self.change_vip(i, vip, add);
        }
        if !add {
            return;
        }
        routes.iter().for_each(|r| self.route_change(&name, r, true));
        rules.iter().for_each(|r| self.rule_change(&name, r, true));
        let inst = &self.insts[i];
        let garp = &inst.core.params().garp;
        if inst.core.state() == State::Master && !vips.is_empty() {
            let (repeat, spacing) = (garp.master_repeat, garp.spacing);
            let (ifindex, mac) = inst.garp_dev();
            let added = vips.iter().map(|v| v.addr).collect();
            self.garps.queue(i, ifindex, mac, added, repeat, spacing, now);
            self.send_due_garps(now);
        }
    }

    fn rebuild_socket_members(&mut self) {
        for s in &mut self.socks {
            s.members.clear();
        }
        for (i, inst) in self.insts.iter().enumerate() {
            self.socks[inst.sock].members.add(inst.core.params().vrid, i);
        }
    }

    /// Close sockets no instance uses any more (leaving their groups).
    fn drop_idle_sockets(&mut self, registry: &Registry) {
        let mut index = HashMap::new();
        let old = std::mem::take(&mut self.socks);
        for (i, s) in old.into_iter().enumerate() {
            if s.members.is_empty() {
                if s.token != super::NO_TOKEN {
                    crate::runtime::deregister(registry, &mut SourceFd(&s.sock.as_raw_fd()));
                }
                continue;
            }
            index.insert(i, self.socks.len());
            self.socks.push(s);
        }
        for inst in &mut self.insts {
            inst.sock = index[&inst.sock];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::load_clean as load;

    fn fates(old: &Config, new: &Config) -> (Vec<Fate>, Vec<usize>) {
        let running: Vec<Side> = old
            .instances
            .iter()
            .map(|i| Side { inst: i, global: &old.global, sync_groups: &old.sync_groups })
            .collect();
        plan(&running, new)
    }

    /// The fate of the first instance of `old` when the configuration becomes `new`.
    fn fate(old: &str, new: &str) -> Fate {
        fates(&load(old), &load(new)).0.remove(0)
    }

    const A: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
                     virtual_ipaddress {\n 198.18.0.1\n }\n}\n";
    const B: &str = "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n \
                     virtual_ipaddress {\n 198.18.0.2\n }\n}\n";

    /// A with `extra` lines before its VIP block.
    fn a_with(extra: &str) -> String {
        A.replace(" virtual_ipaddress", &format!("{extra} virtual_ipaddress"))
    }

    const SCRIPT: &str = "vrrp_script chk {\n script \"/bin/true\"\n interval 1\n weight 10\n}\n";

    #[test]
    fn unchanged_instances_are_kept_even_when_moved_in_the_file() {
        let old = load(&format!("{A}{B}"));
        let new = load(&format!("! a comment that shifts every line\n\n{B}{A}"));
        let (fates, added) = fates(&old, &new);
        assert_eq!(fates, vec![Fate::Keep, Fate::Keep]);
        assert!(added.is_empty());
    }

    /// Instances are compared as typed values without their locations; a
    /// comparison of Debug text with the locations cut out by counting
    /// brackets, as it once was, took a bracket in a path for structure.
    #[test]
    fn brackets_in_paths_are_just_text() {
        let conf = a_with(" notify_master \"/etc/vigil/{x}(y).sh\"\n");
        assert_eq!(fate(&conf, &format!("\n\n{conf}")), Fate::Keep);
        let other = a_with(" notify_master \"/etc/vigil/{x}(z).sh\"\n");
        assert_eq!(fate(&conf, &other), Fate::Update(vec![Change::Notify]));
    }

    #[test]
    fn removed_updated_and_added_are_told_apart() {
        let old = load(&format!("{A}{B}"));
        let c = B.replace("vrrp_instance B", "vrrp_instance C").replace("router_id 2", "router_id 3");
        let new = load(&format!("{}{c}", A.replace("priority 100", "priority 101")));
        let (fates, added) = fates(&old, &new);
        assert_eq!(fates, vec![Fate::Update(vec![Change::Priority]), Fate::Remove]);
        assert_eq!(added, vec![1]);
    }

    /// Each kind of change an operator makes to a running router is applied in place.
    #[test]
    fn everything_but_identity_is_applied_in_place() {
        let two_vips = A.replace(" 198.18.0.1\n", " 198.18.0.1\n 198.18.0.3/24\n");
        let cases: Vec<(&str, String, String, Vec<Change>)> = vec![
            ("priority up", A.into(), A.replace("priority 100", "priority 120"), vec![Change::Priority]),
            ("priority down", A.into(), A.replace("priority 100", "priority 80"), vec![Change::Priority]),
            ("advert_int", A.into(), a_with(" advert_int 2\n"), vec![Change::AdvertInt]),
            ("a VIP added", A.into(), two_vips.clone(), vec![Change::Vips]),
            ("a VIP removed", two_vips.clone(), A.into(), vec![Change::Vips]),
            ("a VIP's prefix", two_vips.clone(), two_vips.replace("/24", "/25"), vec![Change::Vips]),
            (
                "an excluded VIP",
                A.into(),
                a_with(" virtual_ipaddress_excluded {\n 198.18.0.9\n }\n"),
                vec![Change::Vips],
            ),
            (
                "a virtual route",
                A.into(),
                a_with(" virtual_routes {\n 198.18.5.0/24 via 198.18.0.254\n }\n"),
                vec![Change::VirtualRoutes],
            ),
            ("notify path", A.into(), a_with(" notify_master /bin/true\n"), vec![Change::Notify]),
            (
                "notify path changed",
                a_with(" notify /bin/true\n"),
                a_with(" notify /bin/false\n"),
                vec![Change::Notify],
            ),
            (
                "a track_script added",
                format!("{SCRIPT}{A}"),
                format!("{SCRIPT}{}", a_with(" track_script {\n chk\n }\n")),
                vec![Change::Tracking],
            ),
            (
                "a tracker's weight",
                format!("{SCRIPT}{}", a_with(" track_script {\n chk\n }\n")),
                format!("{SCRIPT}{}", a_with(" track_script {\n chk weight 20\n }\n")),
                vec![Change::Tracking],
            ),
            ("track_interface", A.into(), a_with(" track_interface {\n eth1\n }\n"), vec![Change::Tracking]),
            (
                "a track_file added",
                format!("track_file tf {{\n file /tmp/tf\n}}\n{A}"),
                format!(
                    "track_file tf {{\n file /tmp/tf\n}}\n{}",
                    a_with(" track_file {\n tf weight -3\n }\n")
                ),
                vec![Change::Tracking],
            ),
            (
                "a track_process added",
                format!("vrrp_track_process p {{\n process sshd\n}}\n{A}"),
                format!(
                    "vrrp_track_process p {{\n process sshd\n}}\n{}",
                    a_with(" track_process {\n p\n }\n")
                ),
                vec![Change::Tracking],
            ),
            ("nopreempt", A.into(), a_with(" nopreempt\n"), vec![Change::Preempt]),
            ("preempt_delay", A.into(), a_with(" preempt_delay 5\n"), vec![Change::Preempt]),
            (
                "a new password",
                a_with(" authentication {\n auth_type PASS\n auth_pass one\n }\n"),
                a_with(" authentication {\n auth_type PASS\n auth_pass two\n }\n"),
                vec![Change::Auth],
            ),
            ("a GARP setting", A.into(), a_with(" garp_master_repeat 2\n"), vec![Change::Tuning]),
            ("initial state", A.into(), a_with(" state MASTER\n"), vec![Change::StartOnly]),
            (
                "unicast peers",
                a_with(" unicast_peer {\n 198.18.0.20\n }\n"),
                a_with(" unicast_peer {\n 198.18.0.20\n 198.18.0.21\n }\n"),
                vec![Change::UnicastPeers],
            ),
            (
                "several at once",
                A.into(),
                a_with(" advert_int 3\n notify_backup /bin/true\n").replace("priority 100", "priority 90"),
                vec![Change::Priority, Change::AdvertInt, Change::Notify],
            ),
        ];
        for (what, old, new, changes) in cases {
            assert_eq!(fate(&old, &new), Fate::Update(changes), "{what}");
        }
    }

    /// What peers, sockets and the kernel know the instance by restarts it.
    #[test]
    fn identity_changes_restart() {
        let unicast = a_with(" unicast_peer {\n 198.18.0.20\n }\n");
        let cases: Vec<(&str, String, String, Change)> = vec![
            ("interface", A.into(), A.replace("eth0", "eth1"), Change::Interface),
            ("VRID", A.into(), A.replace("router_id 1\n", "router_id 9\n"), Change::Vrid),
            ("family", A.into(), A.replace("198.18.0.1", "2001:db8::1"), Change::Family),
            ("version", A.into(), a_with(" version 3\n"), Change::Version),
            ("to unicast", A.into(), unicast.clone(), Change::Transport),
            ("to multicast", unicast, A.into(), Change::Transport),
            ("mcast_src_ip", A.into(), a_with(" mcast_src_ip 198.18.0.30\n"), Change::SourceAddress),
            ("use_vmac", A.into(), a_with(" use_vmac\n"), Change::Vmac),
            ("unicast_ttl", A.into(), a_with(" unicast_ttl 10\n"), Change::Socket),
            (
                "AH on",
                A.into(),
                a_with(" authentication {\n auth_type AH\n auth_pass one\n }\n"),
                Change::Socket,
            ),
        ];
        for (what, old, new, change) in cases {
            match fate(&old, &new) {
                Fate::Restart(changes) => assert!(changes.contains(&change), "{what}: {changes:?}"),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    /// keepalived matches instances on reload by VRID, family, interface,
    /// transport, unicast source and VMAC: a change of one of those removes
    /// the old instance (DELETED or FAULT); the other restarts are STOP.
    #[test]
    fn keepalived_sees_a_new_instance_only_for_its_identity() {
        let replaced = [Change::Interface, Change::Vrid, Change::Family, Change::Transport, Change::Vmac];
        for c in replaced {
            assert!(c.replaces_for_keepalived(false) && c.replaces_for_keepalived(true), "{c:?}");
        }
        assert!(Change::SourceAddress.replaces_for_keepalived(true), "unicast_src_ip");
        assert!(!Change::SourceAddress.replaces_for_keepalived(false), "mcast_src_ip");
        for c in [Change::Version, Change::McastGroup, Change::Socket, Change::SyncGroup, Change::Priority] {
            assert!(!c.replaces_for_keepalived(true), "{c:?}");
        }
    }

    #[test]
    fn a_global_that_does_not_reach_the_instance_is_not_a_change() {
        assert_eq!(fate(A, &format!("global_defs {{\n router_id other\n}}\n{A}")), Fate::Keep);
    }

    #[test]
    fn a_global_default_an_instance_inherits_is_applied_in_place() {
        let new = format!("global_defs {{\n vrrp_garp_master_repeat 2\n}}\n{A}");
        assert_eq!(fate(A, &new), Fate::Update(vec![Change::Tuning]));
    }

    #[test]
    fn a_new_multicast_group_restarts_multicast_instances_only() {
        let u = a_with(" unicast_peer {\n 198.18.0.9\n }\n")
            .replace("vrrp_instance A", "vrrp_instance U")
            .replace("virtual_router_id 1", "virtual_router_id 3");
        let old = load(&format!("{A}{u}"));
        let new = load(&format!("global_defs {{\n vrrp_mcast_group4 224.0.0.100\n}}\n{A}{u}"));
        assert_eq!(fates(&old, &new).0, vec![Fate::Restart(vec![Change::McastGroup]), Fate::Keep]);
    }

    #[test]
    fn auth_hmac_changes_are_applied_in_place() {
        let with = |key: &str, mode: &str| {
            a_with(&format!(" auth_hmac {{\n key 1 {key}\n active_key 1\n mode {mode}\n }}\n"))
        };
        let k1 = "0123456789abcdef0123456789abcdef";
        let k2 = "0123456789abcdef0123456789abcdeF";
        let auth = Fate::Update(vec![Change::Auth]);
        assert_eq!(fate(&with(k1, "enforce"), &with(k1, "enforce")), Fate::Keep);
        assert_eq!(fate(&with(k1, "enforce"), &with(k2, "enforce")), auth, "same id and length");
        assert_eq!(fate(&with(k1, "enforce"), &with(k1, "permissive")), auth);
        assert_eq!(fate(&with(k1, "enforce"), A), auth);
    }

    /// Sync groups, conservatively: a member whose group gains or loses a
    /// member restarts; other changes to members apply in place.
    #[test]
    fn sync_group_membership_changes_restart_the_members() {
        let group = |members: &str| format!("vrrp_sync_group G {{\n group {{\n{members} }}\n}}\n");
        let c = B.replace("vrrp_instance B", "vrrp_instance C").replace("router_id 2", "router_id 3");
        let old = load(&format!("{}{A}{B}{c}", group(" A\n B\n")));
        let grown = load(&format!("{}{A}{B}{c}", group(" A\n B\n C\n")));
        let (f, _) = fates(&old, &grown);
        let sync = Fate::Restart(vec![Change::SyncGroup]);
        assert_eq!(f, vec![sync.clone(), sync.clone(), sync.clone()]);
        let ungrouped = load(&format!("{A}{B}{c}"));
        assert_eq!(fates(&old, &ungrouped).0, vec![sync.clone(), sync, Fate::Keep]);
        let moved = load(&format!("{}{}{B}{c}", group(" B\n A\n"), A.replace("priority 100", "priority 90")));
        assert_eq!(fates(&old, &moved).0, vec![Fate::Update(vec![Change::Priority]), Fate::Keep, Fate::Keep]);
    }

    #[test]
    fn missing_ignores_locations() {
        let old = load(&A.replace(" 198.18.0.1\n", " 198.18.0.1\n 198.18.0.3\n"));
        let new = load(&format!("\n\n{}", A.replace(" 198.18.0.1\n", " 198.18.0.4\n 198.18.0.1\n")));
        let (o, n) = (&old.instances[0].vips, &new.instances[0].vips);
        let addrs = |v: Vec<VipSpec>| v.iter().map(|v| v.addr.to_string()).collect::<Vec<_>>();
        assert_eq!(addrs(missing(n, o)), vec!["198.18.0.4"]);
        assert_eq!(addrs(missing(o, n)), vec!["198.18.0.3"]);
    }
}
