//! Sync groups on the simulated LAN: two hosts, A and B, each with a group
//! of two instances (VRIDs 51 and 52), driven by `SyncGroups` as the engine
//! drives them, with the engine's tracking rules (`track`).

use std::net::IpAddr;
use std::time::Duration;

use std::path::Path;

use crate::config::{load_bytes, LoadOptions};
use crate::failover::track::{effective_priority, Change, Tracking};
use crate::vrrp::sim::Lan;
use crate::vrrp::sync::{Lookup, Member, SyncAction, SyncGroups};
use crate::vrrp::{InstanceParams, Instant, State};

struct Host {
    groups: SyncGroups,
    /// (instance name, node) of the members.
    members: Vec<(String, usize)>,
    /// Each member's own fault (its interface, its trackers).
    own_fault: Vec<bool>,
    /// Group states announced, in order.
    announced: Vec<State>,
}

struct World {
    lan: Lan,
    hosts: Vec<Host>,
}

fn member(lan: &Lan, node: usize) -> Member {
    let inst = &lan.nodes[node].inst;
    Member {
        state: inst.state(),
        priority: inst.effective_priority(),
        wants_master: inst.wants_master(),
        fault: inst.has_fault(),
    }
}

fn lookup<'a>(lan: &'a Lan, members: &'a [(String, usize)]) -> impl Fn(&str) -> Lookup + 'a {
    move |name: &str| match members.iter().find(|(n, _)| n == name) {
        Some(&(_, node)) => Lookup::Running(node, member(lan, node)),
        None => Lookup::Absent,
    }
}

impl World {
    /// Host `h` has priority `prio`; both hosts start at once.
    fn new(prios: [u8; 2]) -> World {
        let mut lan = Lan::new(7);
        let mut hosts = Vec::new();
        for (h, prio) in prios.into_iter().enumerate() {
            let src: IpAddr = format!("198.18.0.{}", 11 + h).parse().unwrap();
            let mut members = Vec::new();
            for (k, vrid) in [51u8, 52].into_iter().enumerate() {
                let name = format!("{}{}", ["A", "B"][h], k + 1);
                let mut p = InstanceParams::new(&name, vrid, prio, src);
                p.vips = vec![format!("198.18.1.{vrid}").parse().unwrap()];
                let node = lan.add(p);
                lan.with(node, |inst, _| inst.set_sync_hold(true));
                members.push((name, node));
            }
            let mut groups = SyncGroups::default();
            groups.configure([("G", members.iter().map(|(n, _)| n.clone()).collect())]);
            hosts.push(Host { groups, members, own_fault: vec![false; 2], announced: Vec::new() });
        }
        let mut w = World { lan, hosts };
        for h in 0..2 {
            let mut out = Vec::new();
            let host = &mut w.hosts[h];
            host.groups.announce_start(&lookup(&w.lan, &host.members), &mut out);
            w.carry_out(h, out);
        }
        for n in 0..4 {
            w.lan.start(n);
        }
        w.settle();
        w
    }

    fn host_of(&self, node: usize) -> usize {
        self.hosts.iter().position(|h| h.members.iter().any(|(_, n)| *n == node)).unwrap()
    }

    fn carry_out(&mut self, h: usize, actions: Vec<SyncAction>) {
        for a in actions {
            match a {
                SyncAction::Backup(j) => self.lan.with(j, |inst, now| inst.sync_backup(now)),
                SyncAction::Master(j) => self.lan.with(j, |inst, now| inst.sync_master(now)),
                SyncAction::Announce { state, .. } => self.hosts[h].announced.push(state),
                SyncAction::Log { .. } => {}
            }
        }
    }

    /// Feed every transition to its host's group, then let held
    /// backups go, until nothing moves.
    fn settle(&mut self) {
        loop {
            let changes = std::mem::take(&mut self.lan.changes);
            for (node, from, to) in &changes {
                let h = self.host_of(*node);
                let name = self.hosts[h].members.iter().find(|(_, n)| n == node).unwrap().0.clone();
                let mut out = Vec::new();
                let host = &mut self.hosts[h];
                host.groups.member_changed(
                    &name,
                    *node,
                    *from,
                    *to,
                    &lookup(&self.lan, &host.members),
                    &mut out,
                );
                self.carry_out(h, out);
            }
            for h in 0..self.hosts.len() {
                let mut out = Vec::new();
                let host = &mut self.hosts[h];
                host.groups.settle(&lookup(&self.lan, &host.members), &mut out);
                self.carry_out(h, out);
            }
            if self.lan.changes.is_empty() {
                return;
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.lan.now + d;
        while self.lan.next_event().is_some_and(|t| t <= until) {
            self.lan.step();
            self.settle();
        }
        self.lan.run_until(until);
    }

    /// Member `k` of host `h` loses (or regains) its interface.
    fn set_fault(&mut self, h: usize, k: usize, fault: bool) {
        self.hosts[h].own_fault[k] = fault;
        let host = &mut self.hosts[h];
        let (members, own_fault) = (&host.members, &host.own_fault);
        let own = |node: usize| members.iter().position(|(_, n)| *n == node).is_some_and(|k| own_fault[k]);
        let mut out = Vec::new();
        let group_fault = host.groups.faults(&lookup(&self.lan, members), &own, &mut out)[0];
        let nodes: Vec<usize> = self.hosts[h].members.iter().map(|(_, n)| *n).collect();
        for (k, node) in nodes.into_iter().enumerate() {
            let fault = self.hosts[h].own_fault[k] || group_fault;
            self.lan.with(node, |inst, now| inst.set_fault(now, fault));
        }
        self.settle();
    }

    fn states(&self, h: usize) -> Vec<State> {
        self.hosts[h].members.iter().map(|(_, n)| self.lan.state(*n)).collect()
    }
}

const S: Duration = Duration::from_secs(1);

/// Host A's members track script `chk` (weight -60), through
/// `Tracking` as the engine does; the group has
/// `sync_group_tracking_weight` (keepalived's `global_tracking`) or not.
fn tracking(weighted: bool) -> Tracking {
    let inst = |name: &str, vrid: u8| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority 150\n \
             track_script {{\n chk\n }}\n virtual_ipaddress {{\n 198.18.1.{vrid}\n }}\n}}\n"
        )
    };
    let text = format!(
        "vrrp_script chk {{\n script \"/bin/true\"\n weight -60\n}}\n{}{}\
         vrrp_sync_group G {{\n group {{\n A1\n A2\n }}\n{}}}\n",
        inst("A1", 51),
        inst("A2", 52),
        if weighted { " sync_group_tracking_weight\n" } else { "" }
    );
    let opts = LoadOptions::with_id("n");
    let loaded = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diags);
    let mut t = Tracking::default();
    t.configure(&loaded.config);
    t.set_links([("eth0".to_string(), true)]);
    t
}

impl World {
    /// Host `h`'s members take their trackers' verdicts, as `reevaluate` does.
    fn apply_verdicts(&mut self, h: usize, t: &Tracking) {
        for k in 0..2 {
            let (name, node) = self.hosts[h].members[k].clone();
            let v = t.verdict(&name);
            let base = self.lan.nodes[node].inst.params().priority;
            self.lan
                .with(node, |inst, now| inst.set_effective_priority(now, effective_priority(base, v.weight)));
            self.hosts[h].own_fault[k] = !v.faults.is_empty();
        }
        let fault = self.hosts[h].own_fault[0];
        self.set_fault(h, 0, fault);
    }
}

#[test]
fn a_member_tracker_faults_the_group_unless_tracking_weight() {
    let mut t = tracking(false);
    let mut w = World::new([150, 100]);
    w.run_for(10 * S);
    assert_eq!(w.states(0), [State::Master; 2]);
    assert_eq!(t.script_done("chk", Some(1), false), (None, Change::Fell));
    w.apply_verdicts(0, &t);
    assert_eq!(w.states(0), [State::Fault; 2], "weights are forced to 0 in a group: FAULT");
    w.run_for(10 * S);
    assert_eq!(w.states(1), [State::Master; 2]);

    let mut t = tracking(true);
    let mut w = World::new([150, 100]);
    w.run_for(10 * S);
    t.script_done("chk", Some(1), false);
    w.apply_verdicts(0, &t);
    let prios: Vec<u8> =
        (0..2).map(|k| w.lan.nodes[w.hosts[0].members[k].1].inst.effective_priority()).collect();
    assert_eq!(prios, [90, 90], "sync_group_tracking_weight keeps the weight");
    w.run_for(10 * S);
    assert_eq!(w.states(1), [State::Master; 2], "B (100) preempts both");
    assert_eq!(w.states(0), [State::Backup; 2], "A steps down, not to FAULT");
}

#[test]
fn a_group_fails_over_only_when_every_member_can() {
    let mut w = World::new([150, 100]);
    w.run_for(10 * S);
    assert_eq!(w.states(0), [State::Master; 2]);
    assert_eq!(w.states(1), [State::Backup; 2]);
    assert_eq!(w.hosts[0].announced, [State::Backup, State::Master]);
    assert_eq!(w.hosts[1].announced, [State::Backup]);

    // A1 dies alone: B1 hears nothing, but B2 still hears A2.
    w.lan.stop_hard(w.hosts[0].members[0].1);
    w.run_for(10 * S);
    assert_eq!(w.states(1), [State::Backup; 2], "B1 waits for its group");
    assert!(w.lan.nodes[w.hosts[1].members[0].1].inst.wants_master());

    w.lan.stop_hard(w.hosts[0].members[1].1);
    let lost = w.lan.now;
    w.run_for(10 * S);
    assert_eq!(w.states(1), [State::Master; 2], "both go together");
    let entered: Vec<Instant> =
        (0..2).map(|k| w.lan.entered(w.hosts[1].members[k].1, State::Master)[0]).collect();
    assert_eq!(entered[0], entered[1], "at the same instant");
    assert!(entered[0] - lost <= 4 * S, "within Master_Down_Interval of A2's loss");
    assert_eq!(w.hosts[1].announced, [State::Backup, State::Master]);
}

#[test]
fn one_member_in_fault_faults_the_group_and_the_peer_group_takes_over() {
    let mut w = World::new([150, 100]);
    w.run_for(10 * S);
    assert_eq!(w.states(0), [State::Master; 2]);

    w.set_fault(0, 1, true);
    assert_eq!(w.states(0), [State::Fault; 2], "A1 follows A2 into FAULT");
    assert_eq!(w.hosts[0].announced.last(), Some(&State::Fault));
    w.run_for(10 * S);
    assert_eq!(w.states(1), [State::Master; 2]);

    w.set_fault(0, 1, false);
    w.run_for(10 * S);
    assert_eq!(w.states(0), [State::Master; 2], "A preempts back, both members together");
    assert_eq!(w.states(1), [State::Backup; 2]);
    assert_eq!(w.hosts[1].announced.last(), Some(&State::Backup));
    for k in 0..2 {
        assert!(!w.lan.nodes[w.hosts[0].members[k].1].vips_installed || w.states(0)[k] == State::Master);
    }
}
