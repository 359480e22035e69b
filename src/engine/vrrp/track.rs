//! Tracking, pure: the health of tracked things with keepalived's rise/fall
//! hysteresis, and what the tracked items of an instance do to it (FAULT,
//! a weight sum, the effective priority). The engine feeds results and
//! link states in; nothing here runs a script or reads a socket.

use crate::config::model::{TrackScript, VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackPing};

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
    /// `unicast_fault_no_peer` with an empty `unicast_peer` block: never OK.
    NoUnicastPeer,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Script(n) => write!(f, "script {n}"),
            Source::Link(n) => write!(f, "interface {n}"),
            Source::Ping(n) => write!(f, "ping {n}"),
            Source::NoUnicastPeer => write!(f, "unicast_peer (empty, with unicast_fault_no_peer)"),
        }
    }
}

/// One tracked item of one instance. Weight 0: failure is a FAULT;
/// weight > 0 is added while OK; weight < 0 is added while failed.
/// `reverse` swaps OK and failed.
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

/// Apply `items` given each source's health.
pub fn evaluate(items: &[Item], ok: impl Fn(&Source) -> bool) -> Verdict {
    let mut v = Verdict::default();
    for item in items {
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
    let mut add = |ifs: &[crate::config::model::TrackInterface], ts: &[TrackScript], tp: &[TrackScript]| {
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
    };
    add(&inst.track_interfaces, &inst.track_scripts, &inst.track_pings);
    if let Some(g) = group {
        add(&g.track_interfaces, &g.track_scripts, &g.track_pings);
        if !g.sync_group_tracking_weight {
            for item in &mut items {
                item.weight = 0;
            }
        }
    }
    items
}

/// The interfaces the instance's VIPs, eVIPs, virtual routes and virtual
/// rules name (`dev`, `iif`, `oif`) without `no_track`: like keepalived,
/// the instance cannot hold them while one is down, so it goes to FAULT.
pub fn interfaces_used(inst: &VrrpInstance) -> Vec<String> {
    use super::{routes::parse_route, rules::parse_rule};
    let mut devs: Vec<String> = Vec::new();
    let vips = inst.vips.iter().chain(&inst.vips_excluded).filter(|v| !v.no_track);
    devs.extend(vips.filter_map(|v| v.dev.clone()));
    let tracked = |l: &&crate::config::model::RawLine| !l.words.iter().any(|w| w == "no_track");
    for line in inst.virtual_routes.iter().filter(tracked) {
        devs.extend(parse_route(&line.words).ok().and_then(|r| r.dev));
    }
    for line in inst.virtual_rules.iter().filter(tracked) {
        if let Ok(r) = parse_rule(&line.words) {
            devs.extend(r.iif.into_iter().chain(r.oif));
        }
    }
    let mut seen = std::collections::HashSet::new();
    devs.retain(|d| seen.insert(d.clone()));
    devs
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
        let items = items_for(&c.instances[0], None, &[], &[]);
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
        let v = evaluate(&items, ok);
        assert_eq!(v, Verdict { faults: vec![], weight: -20 });
        let v = evaluate(&[item("down", 0, false), item("up", 0, true)], ok);
        assert_eq!(v.faults, vec![Source::Script("down".into()), Source::Script("up".into())]);
        let v = evaluate(&[item("down", 7, true), item("up", -4, true)], ok);
        assert_eq!(v, Verdict { faults: vec![], weight: 3 });
    }

    #[test]
    fn priority_is_clamped_and_owner_kept() {
        assert_eq!(effective_priority(100, -10), 90);
        assert_eq!(effective_priority(100, -200), 1);
        assert_eq!(effective_priority(200, 100), 254);
        assert_eq!(effective_priority(255, -100), 255);
    }

    fn load(text: &str) -> crate::config::Config {
        let opts = LoadOptions { config_id: "n".into(), host_checks: false };
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
        let items = items_for(&c.instances[0], None, &c.vrrp_scripts, &[]);
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
        assert!(items_for(&c.instances[1], None, &c.vrrp_scripts, &[]).is_empty());
    }

    #[test]
    fn sync_group_members_lose_weights_and_gain_group_trackers() {
        let text =
            format!("{CONF}vrrp_sync_group G {{\n group {{\n A\n B\n }}\n track_script {{\n chk\n }}\n}}\n");
        let c = load(&text);
        let g = &c.sync_groups[0];
        let b = items_for(&c.instances[1], Some(g), &c.vrrp_scripts, &[]);
        assert_eq!(b, vec![item("chk", 0, false)]);
        let a = items_for(&c.instances[0], Some(g), &c.vrrp_scripts, &[]);
        assert!(a.iter().all(|i| i.weight == 0));
        assert_eq!(a.len(), 6);
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
        let b = items_for(&c.instances[1], Some(g), &c.vrrp_scripts, &c.track_pings);
        let link = Item { source: Source::Link("eth7".into()), weight: -7, reverse: false };
        let ping = Item { source: Source::Ping("gw".into()), weight: -30, reverse: false };
        assert_eq!(b, vec![link, item("chk", -20, false), ping], "the group's trackers keep their weights");
        let a = items_for(&c.instances[0], Some(g), &c.vrrp_scripts, &[]);
        assert!(a.iter().any(|i| i.weight == -5), "track_interface eth1 weight -5 is kept: {a:?}");
    }
}
