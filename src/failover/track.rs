//! Tracking, pure: the health of tracked things with keepalived's rise/fall
//! hysteresis, and what the tracked items of an instance do to it (FAULT,
//! a weight sum, the effective priority). [`Tracking`] holds it all for a
//! configuration: the edge (`tracking.rs`, `ping.rs`) feeds in script
//! exits, ping results and link states and reads each instance's
//! [`Verdict`]; nothing here runs a script or reads a socket.
//!
//! A `track_file` is not a health but a value: [`file_effect`] turns it
//! into a priority change or a FAULT as keepalived does.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::config::model::{
    Command, TrackFile, TrackScript, VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackPing, VrrpTrackProcess,
};
use crate::config::Config;

/// What a health flip was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    None,
    /// Now OK ("VRRP_Script(chk) succeeded").
    Rose,
    /// Now failed ("VRRP_Script(chk) failed ...").
    Fell,
}

/// A periodically probed thing (vrrp_script, track_ping): OK after `rise`
/// consecutive successes, failed after `fall` consecutive failures. A
/// fresh one counts as OK, except with `init_fail`, and keepalived fails a
/// fresh one on its first failure without waiting for `fall`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    ok: bool,
    fresh: bool,
    /// Consecutive results that disagree with `ok`.
    streak: u32,
    rise: u32,
    fall: u32,
    last_status: Option<i32>,
}

impl Health {
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Health {
        Health {
            ok: !init_fail,
            fresh: true,
            streak: 0,
            rise: rise.max(1),
            fall: fall.max(1),
            last_status: None,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.ok
    }

    /// Count one result.
    pub fn record(&mut self, success: bool) -> Change {
        let fresh = std::mem::replace(&mut self.fresh, false);
        if success == self.ok {
            self.streak = 0;
            return Change::None;
        }
        self.streak += 1;
        let needed = if success {
            self.rise
        } else if fresh {
            1
        } else {
            self.fall
        };
        if self.streak < needed {
            return Change::None;
        }
        self.ok = success;
        self.streak = 0;
        if success {
            Change::Rose
        } else {
            Change::Fell
        }
    }

    /// Remember an exit status; returns it when it differs from the
    /// previous one ("Script `chk` now returning 1").
    pub fn note_status(&mut self, status: i32) -> Option<i32> {
        let changed = self.last_status.is_some_and(|s| s != status);
        self.last_status = Some(status);
        changed.then_some(status)
    }
}

/// Something an instance tracks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Script(String),
    /// An interface by name: up and running is OK.
    Link(String),
    Ping(String),
    /// A top-level `track_file` block by name: its value, not a health.
    File(String),
    /// A `vrrp_track_process`: OK while its quorum holds (`track_process.rs`).
    Process(String),
    /// `unicast_fault_no_peer` with an empty `unicast_peer` block: never OK.
    NoUnicastPeer,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Script(n) => write!(f, "script {n}"),
            Source::Link(n) => write!(f, "interface {n}"),
            Source::Ping(n) => write!(f, "ping {n}"),
            Source::File(n) => write!(f, "file {n}"),
            Source::Process(n) => write!(f, "process {n}"),
            Source::NoUnicastPeer => write!(f, "unicast_peer (empty, with unicast_fault_no_peer)"),
        }
    }
}

/// One tracked item of one instance. Weight 0: failure is a FAULT;
/// weight > 0 is added while OK; weight < 0 is added while failed.
/// `reverse` swaps OK and failed. A file's value goes through [`file_effect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub source: Source,
    pub weight: i32,
    pub reverse: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Unweighted items that fail: the instance must be in FAULT.
    pub faults: Vec<Source>,
    pub weight: i32,
}

/// Apply `items` given each source's health and each track file's value.
pub fn evaluate(items: &[Item], ok: impl Fn(&Source) -> bool, file_value: impl Fn(&str) -> i64) -> Verdict {
    let mut v = Verdict::default();
    for item in items {
        if let Source::File(name) = &item.source {
            match file_effect(file_value(name), item.weight, item.reverse) {
                Some(w) => v.weight += w,
                None => v.faults.push(item.source.clone()),
            }
            continue;
        }
        let good = ok(&item.source) != item.reverse;
        match item.weight {
            0 if !good => v.faults.push(item.source.clone()),
            w if w > 0 && good => v.weight += w,
            w if w < 0 && !good => v.weight += w,
            _ => {}
        }
    }
    v
}

/// What a track file's `value` does to an instance's priority, as
/// keepalived 2.2 (track_file.c): `None` is a FAULT. With weight 0 the file
/// is a switch: a non-zero value faults (with `reverse`, a zero value
/// does). Otherwise value × weight, negated with `reverse`, is added, kept
/// within -254..=253, and -254 (a priority that no base could lift above
/// 0) faults.
pub fn file_effect(value: i64, weight: i32, reverse: bool) -> Option<i32> {
    if weight == 0 {
        return ((value != 0) == reverse).then_some(0);
    }
    let sign = if reverse { -1 } else { 1 };
    let add = value.saturating_mul(i64::from(weight)).saturating_mul(sign).clamp(-254, 253);
    (add > -254).then_some(add as i32)
}

/// Base priority plus tracker weights, within 1..=254; an owner stays 255.
pub fn effective_priority(base: u8, weight: i32) -> u8 {
    if base == 255 {
        return 255;
    }
    (i32::from(base) + weight).clamp(1, 254) as u8
}

/// Everything `inst` tracks: its own interface (unless
/// `dont_track_primary`), its track_interface/script/ping blocks and its
/// sync group's. Weights of a group member are forced to 0 unless the
/// group has `sync_group_tracking_weight`, as keepalived does: differing
/// member priorities would make the members re-elect for ever.
pub fn items_for(
    inst: &VrrpInstance,
    group: Option<&VrrpSyncGroup>,
    scripts: &[VrrpScript],
    pings: &[VrrpTrackPing],
    files: &[TrackFile],
    processes: &[VrrpTrackProcess],
) -> Vec<Item> {
    let mut items = Vec::new();
    if inst.unicast_fault_no_peer && inst.locs.of("unicast_peer").is_some() && inst.unicast_peers.is_empty() {
        items.push(Item { source: Source::NoUnicastPeer, weight: 0, reverse: false });
    }
    if let (Some(ifname), false) = (&inst.interface, inst.dont_track_primary) {
        items.push(Item { source: Source::Link(ifname.clone()), weight: 0, reverse: false });
    }
    for dev in interfaces_used(inst) {
        if inst.interface.as_ref() != Some(&dev) {
            let source = Source::Link(dev);
            if !items.contains(&Item { source: source.clone(), weight: 0, reverse: false }) {
                items.push(Item { source, weight: 0, reverse: false });
            }
        }
    }
    let mut add = |ifs: &[crate::config::model::TrackInterface],
                   ts: &[TrackScript],
                   tp: &[TrackScript],
                   procs: &[TrackScript]| {
        for t in ifs {
            items.push(Item { source: Source::Link(t.name.clone()), weight: t.weight, reverse: t.reverse });
        }
        for t in ts {
            let Some(s) = scripts.iter().find(|s| s.name == t.name) else { continue };
            let (weight, reverse) = resolve(t, s.weight, s.weight_reverse);
            items.push(Item { source: Source::Script(t.name.clone()), weight, reverse });
        }
        for t in tp {
            let Some(p) = pings.iter().find(|p| p.name == t.name) else { continue };
            let (weight, reverse) = resolve(t, p.weight, p.weight_reverse);
            items.push(Item { source: Source::Ping(t.name.clone()), weight, reverse });
        }
        for t in procs {
            let Some(p) = processes.iter().find(|p| p.name == t.name) else { continue };
            let (weight, reverse) = resolve(t, p.weight, p.weight_reverse);
            items.push(Item { source: Source::Process(t.name.clone()), weight, reverse });
        }
    };
    add(&inst.track_interfaces, &inst.track_scripts, &inst.track_pings, &inst.track_processes);
    if let Some(g) = group {
        add(&g.track_interfaces, &g.track_scripts, &g.track_pings, &g.track_processes);
    }
    add_files(&mut items, &inst.track_files, files, false);
    if let Some(g) = group {
        add_files(&mut items, &g.track_files, files, true);
        if !g.sync_group_tracking_weight {
            for item in &mut items {
                item.weight = 0;
            }
        }
    }
    items
}

/// `track_file` references as keepalived 2.2 takes them (track_file.c): a
/// file is counted once per instance. A second reference in the instance
/// is ignored; the sync group's replaces the instance's own, unless that
/// one is unweighted.
fn add_files(items: &mut Vec<Item>, tracks: &[TrackScript], files: &[TrackFile], from_group: bool) {
    for t in tracks {
        let Some(f) = files.iter().find(|f| f.name == t.name) else { continue };
        let (weight, reverse) = resolve(t, f.weight, f.reverse);
        let item = Item { source: Source::File(t.name.clone()), weight, reverse };
        match items.iter_mut().find(|i| i.source == item.source) {
            None => items.push(item),
            Some(own) if from_group && own.weight != 0 => *own = item,
            Some(_) => {}
        }
    }
}

/// The interfaces the instance's VIPs, eVIPs, virtual routes and virtual
/// rules name (`dev`, `iif`, `oif`) without `no_track`: like keepalived,
/// the instance cannot hold them while one is down, so it goes to FAULT.
pub fn interfaces_used(inst: &VrrpInstance) -> Vec<String> {
    let mut devs: Vec<String> = Vec::new();
    let vips = inst.vips.iter().chain(&inst.vips_excluded).filter(|v| !v.no_track);
    devs.extend(vips.filter_map(|v| v.dev.clone()));
    fn tracked<T>(l: &&crate::config::model::IpLine<T>) -> bool {
        !l.words.iter().any(|w| w == "no_track")
    }
    for line in inst.virtual_routes.iter().filter(tracked) {
        devs.extend((*line.parsed).as_ref().ok().and_then(|r| r.dev.clone()));
    }
    for line in inst.virtual_rules.iter().filter(tracked) {
        if let Ok(r) = &*line.parsed {
            devs.extend(r.iif.iter().chain(&r.oif).cloned());
        }
    }
    let mut seen = std::collections::HashSet::new();
    devs.retain(|d| seen.insert(d.clone()));
    devs
}

/// What a probed tracker is, to know it again after a reload.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Identity {
    Script(Option<Command>),
    Ping(Option<IpAddr>),
}

#[derive(Clone, Debug)]
struct Probed {
    identity: Identity,
    health: Health,
}

/// The trackers of every instance of a configuration and what is known of
/// them. Inputs: `set_link`, `script_done`, `ping_done`, `disable_script`;
/// output: `verdict` per instance.
#[derive(Clone, Debug, Default)]
pub struct Tracking {
    /// What each instance (by name) tracks.
    items: HashMap<String, Vec<Item>>,
    /// vrrp_scripts and track_pings in use, by source.
    probed: HashMap<Source, Probed>,
    /// Scripts refused by the script policy: never run, and (as keepalived
    /// removes them from every track_script) without effect.
    disabled: HashSet<String>,
    /// Interfaces by name: up and running.
    links: HashMap<String, bool>,
    /// Track files' last values, by block name (0 until read).
    files: HashMap<String, i64>,
    /// `vrrp_track_process`es by name: quorum held (unknown: not held).
    processes: HashMap<String, bool>,
}

impl Tracking {
    /// The items of every instance of `config` (a sync group member's as
    /// `items_for` says). A script or ping of the same name and command or
    /// address keeps its health; link states are kept.
    pub fn configure(&mut self, config: &Config) {
        let groups: Vec<&VrrpSyncGroup> =
            config.sync_groups.iter().filter(|g| g.members.len() >= 2).collect();
        self.items.clear();
        for inst in &config.instances {
            let group = groups.iter().copied().find(|g| g.members.iter().any(|(m, _)| *m == inst.name));
            let items = items_for(
                inst,
                group,
                &config.vrrp_scripts,
                &config.track_pings,
                &config.track_files,
                &config.track_processes,
            );
            self.items.insert(inst.name.clone(), items);
        }
        let mut old = std::mem::take(&mut self.probed);
        let mut keep = |source: Source, identity: Identity, fresh: Health| {
            let health = match old.remove(&source) {
                Some(p) if p.identity == identity => p.health,
                _ => fresh,
            };
            (source, Probed { identity, health })
        };
        let mut probed = HashMap::new();
        for s in config.vrrp_scripts.iter().filter(|s| s.script.is_some()) {
            let source = Source::Script(s.name.clone());
            if self.tracks(&source) {
                let (k, v) = keep(
                    source,
                    Identity::Script(s.script.clone()),
                    Health::new(s.rise, s.fall, s.init_fail),
                );
                probed.insert(k, v);
            }
        }
        for p in config.track_pings.iter().filter(|p| p.address.is_some()) {
            let source = Source::Ping(p.name.clone());
            if self.tracks(&source) {
                let (k, v) = keep(source, Identity::Ping(p.address), Health::new(p.rise, p.fall, false));
                probed.insert(k, v);
            }
        }
        self.probed = probed;
        self.disabled.retain(|n| self.probed.contains_key(&Source::Script(n.clone())));
    }

    /// Some instance tracks `source`.
    pub fn tracks(&self, source: &Source) -> bool {
        self.items.values().flatten().any(|i| &i.source == source)
    }

    /// The vrrp_script or track_ping is in use and has something to run.
    pub fn probes(&self, source: &Source) -> bool {
        self.probed.contains_key(source)
    }

    /// What instance `name` tracks.
    pub fn items(&self, name: &str) -> &[Item] {
        self.items.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Interface `name` is (not) up and running; true when that is news.
    pub fn set_link(&mut self, name: &str, up: bool) -> bool {
        self.links.insert(name.to_string(), up) != Some(up)
    }

    /// Track file `name` holds `value`; true when that is news.
    pub fn set_file(&mut self, name: &str, value: i64) -> bool {
        self.files.insert(name.to_string(), value) != Some(value)
    }

    /// Track file `name`'s last value, and whether it holds some instance in FAULT.
    pub fn file_state(&self, name: &str) -> (i64, bool) {
        let value = self.files.get(name).copied().unwrap_or(0);
        let source = Source::File(name.to_string());
        let items = self.items.values().flatten().filter(|i| i.source == source);
        (value, items.into_iter().any(|i| file_effect(value, i.weight, i.reverse).is_none()))
    }

    /// Every interface at once (a dump): the tracked ones that changed.
    pub fn set_links(&mut self, links: impl IntoIterator<Item = (String, bool)>) -> Vec<(String, bool)> {
        let before = std::mem::replace(&mut self.links, links.into_iter().collect());
        let mut changed: Vec<(String, bool)> = (self.links.iter())
            .filter(|(n, up)| before.get(*n) != Some(up) && self.tracks(&Source::Link((*n).clone())))
            .map(|(n, up)| (n.clone(), *up))
            .collect();
        changed.sort();
        changed
    }

    /// `vrrp_track_process` `name` holds its quorum (or not); true when that is news.
    pub fn set_process(&mut self, name: &str, up: bool) -> bool {
        self.processes.insert(name.to_string(), up) != Some(up)
    }

    /// A run of script `name` ended: its exit status (if it exited) when
    /// that differs from the last one, and the health flip.
    pub fn script_done(&mut self, name: &str, status: Option<i32>, success: bool) -> (Option<i32>, Change) {
        let Some(p) = self.probed.get_mut(&Source::Script(name.to_string())) else {
            return (None, Change::None);
        };
        let status = status.and_then(|s| p.health.note_status(s));
        (status, p.health.record(success))
    }

    /// An echo reply came (or the probe was lost) for track_ping `name`.
    pub fn ping_done(&mut self, name: &str, ok: bool) -> Change {
        match self.probed.get_mut(&Source::Ping(name.to_string())) {
            Some(p) => p.health.record(ok),
            None => Change::None,
        }
    }

    pub fn disable_script(&mut self, name: &str, disabled: bool) {
        if disabled {
            self.disabled.insert(name.to_string());
        } else {
            self.disabled.remove(name);
        }
    }

    /// The last verdict of a vrrp_script or track_ping in use (true when
    /// it has none yet or is not in use).
    pub fn probe_ok(&self, source: &Source) -> bool {
        self.probed.get(source).is_none_or(|p| p.health.is_ok())
    }

    /// Every known interface and whether it is up and running, by name.
    pub fn links(&self) -> Vec<(&str, bool)> {
        let mut links: Vec<(&str, bool)> = self.links.iter().map(|(n, up)| (n.as_str(), *up)).collect();
        links.sort();
        links
    }

    pub fn script_disabled(&self, name: &str) -> bool {
        self.disabled.contains(name)
    }

    fn healthy(&self, s: &Source) -> bool {
        match s {
            Source::Script(n) if self.disabled.contains(n) => true,
            Source::Script(_) | Source::Ping(_) => self.probed.get(s).is_none_or(|p| p.health.is_ok()),
            Source::Link(n) => self.links.get(n).copied().unwrap_or(false),
            Source::Process(n) => self.processes.get(n).copied().unwrap_or(false),
            Source::NoUnicastPeer => false,
            // A value, read by `verdict`.
            Source::File(_) => true,
        }
    }

    /// Instance `name`'s FAULTs and weight now.
    pub fn verdict(&self, name: &str) -> Verdict {
        let value = |f: &str| self.files.get(f).copied().unwrap_or(0);
        evaluate(self.items(name), |s| self.healthy(s), value)
    }
}

/// A reference's own `weight N [reverse]` wins over the tracker's.
fn resolve(t: &TrackScript, weight: i32, reverse: bool) -> (i32, bool) {
    match t.weight {
        Some(w) => (w, t.reverse),
        None => (weight, reverse != t.reverse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_bytes, LoadOptions};
    use std::path::Path;

    #[test]
    fn rise_and_fall_need_consecutive_results() {
        let mut h = Health::new(2, 3, false);
        assert!(h.is_ok());
        assert_eq!(h.record(true), Change::None);
        assert_eq!(h.record(false), Change::None);
        assert_eq!(h.record(false), Change::None);
        assert_eq!(h.record(true), Change::None, "a success resets the failure streak");
        assert_eq!(h.record(false), Change::None);
        assert_eq!(h.record(false), Change::None);
        assert_eq!(h.record(false), Change::Fell);
        assert!(!h.is_ok());
        assert_eq!(h.record(true), Change::None);
        assert_eq!(h.record(false), Change::None);
        assert_eq!(h.record(true), Change::None);
        assert_eq!(h.record(true), Change::Rose);
        assert!(h.is_ok());
    }

    #[test]
    fn a_fresh_script_fails_at_once_and_init_fail_needs_rise() {
        let mut h = Health::new(1, 3, false);
        assert_eq!(h.record(false), Change::Fell);
        let mut h = Health::new(2, 1, true);
        assert!(!h.is_ok());
        assert_eq!(h.record(true), Change::None);
        assert_eq!(h.record(true), Change::Rose);
    }

    #[test]
    fn status_changes_are_reported_once() {
        let mut h = Health::new(1, 1, false);
        assert_eq!(h.note_status(0), None);
        assert_eq!(h.note_status(0), None);
        assert_eq!(h.note_status(1), Some(1));
        assert_eq!(h.note_status(1), None);
    }

    #[test]
    fn interfaces_of_vips_routes_and_rules_are_tracked_unless_no_track() {
        let c = load(
            "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n\
              virtual_ipaddress {\n 198.18.0.1/24\n 198.18.1.1/24 dev eth1\n 198.18.2.1/24 dev eth2 no_track\n\
              198.18.3.1/24 dev eth0\n }\n virtual_ipaddress_excluded {\n 198.18.4.1/24 dev eth4\n }\n\
              virtual_routes {\n 198.19.0.0/24 via 198.18.1.254 dev eth5\n 198.19.1.0/24 dev eth6 no_track\n }\n\
              virtual_rules {\n from 198.18.1.1 table 10 iif eth7 oif eth1\n }\n}\n",
        );
        assert_eq!(interfaces_used(&c.instances[0]), ["eth1", "eth0", "eth4", "eth5", "eth7"]);
        let items = items_for(&c.instances[0], None, &[], &[], &[], &[]);
        let links: Vec<_> = items.iter().map(|i| (i.source.to_string(), i.weight)).collect();
        let want = ["eth0", "eth1", "eth4", "eth5", "eth7"].map(|n| (format!("interface {n}"), 0));
        assert_eq!(links, want, "each once, and a failure is a FAULT");
    }

    fn item(name: &str, weight: i32, reverse: bool) -> Item {
        Item { source: Source::Script(name.into()), weight, reverse }
    }

    #[test]
    fn weights_and_faults() {
        let items = [item("up", 10, false), item("down", -30, false), item("plus_down", 5, false)];
        let ok = |s: &Source| matches!(s, Source::Script(n) if n == "up");
        let v = evaluate(&items, ok, |_| 0);
        assert_eq!(v, Verdict { faults: vec![], weight: -20 });
        let v = evaluate(&[item("down", 0, false), item("up", 0, true)], ok, |_| 0);
        assert_eq!(v.faults, vec![Source::Script("down".into()), Source::Script("up".into())]);
        let v = evaluate(&[item("down", 7, true), item("up", -4, true)], ok, |_| 0);
        assert_eq!(v, Verdict { faults: vec![], weight: 3 });
    }

    #[test]
    fn track_file_values_move_priority_or_fault_as_keepalived() {
        assert_eq!(file_effect(0, -20, false), Some(0));
        assert_eq!(file_effect(1, -20, false), Some(-20));
        assert_eq!(file_effect(2, -20, true), Some(40), "reverse negates");
        assert_eq!(file_effect(12, -20, false), Some(-240));
        assert_eq!(file_effect(13, -20, false), None, "-260 is below -253: FAULT");
        assert_eq!(file_effect(-253, 1, false), Some(-253));
        assert_eq!(file_effect(-254, 1, false), None, "-254 faults");
        assert_eq!(file_effect(1000, 1, false), Some(253), "kept within 253");
        assert_eq!(file_effect(i64::MAX, 254, true), None, "no overflow");
        assert_eq!(file_effect(0, 0, false), Some(0), "weight 0: a switch");
        assert_eq!(file_effect(-3, 0, false), None, "weight 0: non-zero faults");
        assert_eq!(file_effect(0, 0, true), None, "weight 0 reverse: zero faults");
        assert_eq!(file_effect(7, 0, true), Some(0));
    }

    #[test]
    fn track_files_of_instances_and_sync_groups_weigh_or_fault() {
        let files = "track_file tf {\n file /run/tf\n weight -20\n}\n\
                     track_file sw {\n file /run/sw\n weight 0\n}\n";
        let inst = |name: &str, vrid: u8, track: &str| {
            format!(
                "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n \
                 track_file {{\n {track}\n }}\n virtual_ipaddress {{\n 198.18.0.{vrid}\n }}\n}}\n"
            )
        };
        let text = format!("{files}{}{}", inst("A", 1, "tf"), inst("B", 2, "tf weight 5 reverse"));
        let mut t = Tracking::default();
        t.configure(&load(&text));
        t.set_links([("eth0".to_string(), true)]);
        assert!(t.tracks(&Source::File("tf".into())) && !t.tracks(&Source::File("sw".into())));
        assert_eq!(t.verdict("A"), Verdict::default(), "no value read yet: 0");
        assert!(t.set_file("tf", 2) && !t.set_file("tf", 2), "news once");
        assert_eq!(t.verdict("A").weight, -40, "the block's weight");
        assert_eq!(t.verdict("B").weight, -10, "the instance's own weight, reversed");
        t.set_file("tf", 13);
        assert_eq!(t.verdict("A").faults, vec![Source::File("tf".into())], "-260: FAULT");
        assert_eq!(t.verdict("B").weight, -65);
        assert_eq!(t.file_state("tf"), (13, true), "status: BAD while it holds an instance in FAULT");
        t.set_file("tf", 0);
        assert_eq!(t.verdict("A"), Verdict::default());
        assert_eq!(t.file_state("tf"), (0, false));

        // A sync group's track_file reaches every member; members' weights
        // are forced to 0 (a switch) without sync_group_tracking_weight.
        let group = "vrrp_sync_group G {\n group {\n A\n B\n }\n track_file {\n sw\n }\n}\n";
        t.configure(&load(&format!("{text}{group}")));
        assert_eq!(t.verdict("A"), Verdict::default(), "tf 0, sw 0");
        let (tf, sw) = (Source::File("tf".into()), Source::File("sw".into()));
        assert_eq!(t.verdict("B").faults, vec![tf.clone()], "tf weight 0 reverse: a zero value faults");
        t.set_file("sw", 1);
        assert_eq!(t.verdict("A").faults, vec![sw.clone()]);
        assert_eq!(t.verdict("B").faults, vec![tf, sw]);
        t.set_file("sw", 0);
        t.set_file("tf", 1);
        assert_eq!(t.verdict("A").faults, vec![Source::File("tf".into())], "weight forced to 0");
        let weighted = group.replace("}\n}\n", "}\n sync_group_tracking_weight\n}\n");
        t.configure(&load(&format!("{text}{weighted}")));
        assert_eq!((t.verdict("A").weight, t.verdict("B").weight), (-20, -5), "weights kept");

        // A file is counted once: a second reference in the instance is
        // ignored, the group's replaces a weighted one of the instance.
        let c = load(&format!(
            "{files}{}vrrp_sync_group G {{\n group {{\n A\n B\n }}\n track_file {{\n tf weight -7\n }}\n \
             sync_group_tracking_weight\n}}\n{}",
            inst("A", 1, "tf weight -3\n tf weight -4"),
            inst("B", 2, "tf weight 0")
        ));
        let g = Some(&c.sync_groups[0]);
        let file_items = |i: usize| -> Vec<(i32, bool)> {
            let items = items_for(&c.instances[i], g, &[], &[], &c.track_files, &[]);
            items
                .iter()
                .filter(|i| matches!(i.source, Source::File(_)))
                .map(|i| (i.weight, i.reverse))
                .collect()
        };
        assert_eq!(file_items(0), [(-7, false)], "the group's weight");
        assert_eq!(file_items(1), [(0, false)], "unweighted in the instance: stays a switch");
    }

    #[test]
    fn priority_is_clamped_and_owner_kept() {
        assert_eq!(effective_priority(100, -10), 90);
        assert_eq!(effective_priority(100, -200), 1);
        assert_eq!(effective_priority(200, 100), 254);
        assert_eq!(effective_priority(255, -100), 255);
    }

    fn load(text: &str) -> crate::config::Config {
        let opts = LoadOptions::with_id("n");
        load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts).config
    }

    const CONF: &str = "vrrp_script chk {\n script \"/bin/true\"\n weight -20\n}\n\
        vrrp_script plain {\n script \"/bin/true\"\n}\n\
        vrrp_instance A {\n interface eth0\n virtual_router_id 1\n \
        track_interface {\n eth1 weight -5\n eth2\n }\n track_script {\n chk\n plain weight 3 reverse\n }\n \
        virtual_ipaddress {\n 198.18.0.1\n }\n}\n\
        vrrp_instance B {\n interface eth1\n virtual_router_id 2\n dont_track_primary\n \
        virtual_ipaddress {\n 198.18.0.2\n }\n}\n";

    #[test]
    fn items_from_config() {
        let c = load(CONF);
        let items = items_for(&c.instances[0], None, &c.vrrp_scripts, &[], &[], &[]);
        let link = |n: &str, w| Item { source: Source::Link(n.into()), weight: w, reverse: false };
        assert_eq!(
            items,
            vec![
                link("eth0", 0),
                link("eth1", -5),
                link("eth2", 0),
                item("chk", -20, false),
                item("plain", 3, true)
            ]
        );
        assert!(items_for(&c.instances[1], None, &c.vrrp_scripts, &[], &[], &[]).is_empty());
    }

    #[test]
    fn sync_group_members_lose_weights_and_gain_group_trackers() {
        let text =
            format!("{CONF}vrrp_sync_group G {{\n group {{\n A\n B\n }}\n track_script {{\n chk\n }}\n}}\n");
        let c = load(&text);
        let g = &c.sync_groups[0];
        let b = items_for(&c.instances[1], Some(g), &c.vrrp_scripts, &[], &[], &[]);
        assert_eq!(b, vec![item("chk", 0, false)]);
        let a = items_for(&c.instances[0], Some(g), &c.vrrp_scripts, &[], &[], &[]);
        assert!(a.iter().all(|i| i.weight == 0));
        assert_eq!(a.len(), 6);
    }

    #[test]
    fn tracking_turns_results_into_verdicts() {
        let text = format!("{CONF}vrrp_script unused {{\n script \"/bin/false\"\n}}\n");
        let mut t = Tracking::default();
        t.configure(&load(&text));
        assert!(t.probes(&Source::Script("chk".into())) && !t.probes(&Source::Script("unused".into())));
        let links = ["eth0", "eth1", "eth2"].map(|n| (n.to_string(), true));
        assert_eq!(t.set_links(links.clone()).len(), 3, "first news of each tracked link");
        assert_eq!(
            t.verdict("A"),
            Verdict { faults: vec![], weight: 0 },
            "plain weight 3 reverse: OK is off"
        );
        assert_eq!(t.script_done("chk", Some(1), false), (None, Change::Fell));
        assert_eq!(t.verdict("A").weight, -20);
        assert_eq!(t.script_done("plain", Some(2), false), (None, Change::Fell));
        assert_eq!(t.verdict("A").weight, -17, "reverse: failing adds its 3");
        assert!(!t.set_link("eth1", true), "no news");
        assert!(t.set_link("eth1", false));
        assert_eq!(t.verdict("A").weight, -22, "track_interface eth1 weight -5");
        assert!(t.set_link("eth2", false));
        assert_eq!(t.verdict("A").faults, vec![Source::Link("eth2".into())], "unweighted: FAULT");
        assert_eq!(t.script_done("chk", Some(0), true), (Some(0), Change::Rose));
        t.disable_script("plain", true);
        assert_eq!(
            t.verdict("A").weight,
            -5,
            "a refused script counts as OK (plain's reverse: adds nothing)"
        );
    }

    #[test]
    fn a_reload_keeps_the_health_of_unchanged_probes() {
        let mut t = Tracking::default();
        t.configure(&load(CONF));
        t.set_links(["eth0", "eth1", "eth2"].map(|n| (n.to_string(), true)));
        t.script_done("chk", None, false);
        assert_eq!(t.verdict("A").weight, -20, "a fresh script fails at once");
        t.configure(&load(CONF));
        assert_eq!(t.verdict("A").weight, -20, "same script: still failed");
        t.configure(&load(
            &CONF.replace("script \"/bin/true\"\n weight -20", "script \"/bin/false\"\n weight -20"),
        ));
        assert_eq!(t.verdict("A").weight, 0, "another command: fresh");
    }

    #[test]
    fn sync_group_tracking_weight_keeps_member_weights() {
        let text = format!(
            "{CONF}vrrp_track_ping gw {{\n address 198.18.0.254\n weight -30\n}}\n\
             vrrp_sync_group G {{\n group {{\n A\n B\n }}\n track_script {{\n chk\n }}\n \
             track_interface {{\n eth7 weight -7\n }}\n track_ping {{\n gw\n }}\n sync_group_tracking_weight\n}}\n"
        );
        let c = load(&text);
        let g = &c.sync_groups[0];
        let b = items_for(&c.instances[1], Some(g), &c.vrrp_scripts, &c.track_pings, &[], &[]);
        let link = Item { source: Source::Link("eth7".into()), weight: -7, reverse: false };
        let ping = Item { source: Source::Ping("gw".into()), weight: -30, reverse: false };
        assert_eq!(b, vec![link, item("chk", -20, false), ping], "the group's trackers keep their weights");
        let a = items_for(&c.instances[0], Some(g), &c.vrrp_scripts, &[], &[], &[]);
        assert!(a.iter().any(|i| i.weight == -5), "track_interface eth1 weight -5 is kept: {a:?}");
    }

    #[test]
    fn track_process_weights_reverse_and_fault() {
        let text = "vrrp_track_process web {\n process nginx\n weight -30\n}\n\
             vrrp_track_process must {\n process sshd\n}\n\
             vrrp_track_process spare {\n process backupd\n weight 10 reverse\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n dont_track_primary\n \
             track_process {\n web\n spare\n must\n }\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 2\n dont_track_primary\n \
             track_process {\n web weight 5\n }\n virtual_ipaddress {\n 198.18.0.2\n }\n}\n";
        let mut t = Tracking::default();
        t.configure(&load(text));
        let p = |n: &str| Source::Process(n.into());
        assert_eq!(t.verdict("A").faults, vec![p("must")], "not known to run yet: down, and weight 0 faults");
        assert!(t.set_process("must", true) && t.set_process("web", true) && t.set_process("spare", true));
        assert!(!t.set_process("web", true), "no news");
        assert_eq!(t.verdict("A"), Verdict { faults: vec![], weight: 0 });
        assert_eq!(t.verdict("B").weight, 5, "the reference's weight wins");
        t.set_process("web", false);
        t.set_process("spare", false);
        assert_eq!(t.verdict("A").weight, -30 + 10, "reverse: a stopped backupd adds its 10");
        assert_eq!(t.verdict("B").weight, 0);

        let grouped = format!(
            "{text}vrrp_sync_group G {{\n group {{\n A\n B\n }}\n track_process {{\n spare\n }}\n}}\n"
        );
        let c = load(&grouped);
        let b = items_for(&c.instances[1], Some(&c.sync_groups[0]), &[], &[], &[], &c.track_processes);
        let item = |n: &str| Item { source: p(n), weight: 0, reverse: false };
        let spare = Item { reverse: true, ..item("spare") };
        assert_eq!(b, vec![item("web"), spare], "the group's tracker, weights forced to 0 in a group");
        t.configure(&c);
        t.set_process("spare", true);
        let faults = t.verdict("B").faults;
        assert_eq!(
            faults,
            vec![p("web"), p("spare")],
            "weight 0: web stopped, and (reverse) backupd running"
        );
    }
}
