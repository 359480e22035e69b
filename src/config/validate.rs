//! Semantic rules over the whole model: ranges that depend on other
//! settings, references between blocks, address families, strict mode.
//! Like keepalived, a finding corrects the model (drops or defaults the bad
//! part) so the daemon can still run; `vigil -t` fails on errors.
//!
//! Host facts (interfaces, users, script files) are `vigil -t`'s
//! (`cli::host_checks`), and only ever warnings.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use super::diag::{Diagnostic, Loc};
use super::model::{Auth, Config, InitialState, IpLine, LvsMethod, VipSpec, VrrpInstance, VsAddr};
use super::suggest;

/// What a user surprised by strict mode's firewalled VIPs can do.
const STRICT_ACCEPT_HINT: &str = "add 'accept' to the instance (VRRPv3) if its VIPs must answer";

pub fn validate(cfg: &mut Config, diags: &mut Vec<Diagnostic>) {
    let mut c = Checker { diags };
    c.duplicate_names(cfg);
    let mut scripts = Defined::new(cfg.vrrp_scripts.iter().map(|s| s.name.as_str()));
    for vi in &mut cfg.instances {
        c.instance(vi, &cfg.global);
        c.track_scripts(&vi.name.clone(), &mut vi.track_scripts, &mut scripts);
    }
    c.unusable_auth_hmac(cfg);
    c.duplicate_vrids(cfg);
    dual_stack_vmac_names(cfg);
    c.sync_groups(cfg);
    c.track_pings(cfg);
    c.track_files(cfg);
    c.track_processes(cfg);
    c.route_and_rule_lines(cfg);
    c.virtual_servers(cfg);
    c.fifo_scripts(&mut cfg.global);
    c.lvs_sync_daemon(cfg);
}

struct Checker<'d> {
    diags: &'d mut Vec<Diagnostic>,
}

/// The names of the blocks of one kind, to look references up in: a set,
/// and the list a did-you-mean searches. A hint searches every name, so
/// only the first [`Defined::HINTS`] unknown references get one: a file
/// generating thousands of them stays fast.
struct Defined<'a> {
    list: Vec<&'a str>,
    set: HashSet<&'a str>,
    hints_left: usize,
}

impl<'a> Defined<'a> {
    const HINTS: usize = 100;

    fn new(names: impl Iterator<Item = &'a str>) -> Self {
        let list: Vec<&str> = names.collect();
        let set = list.iter().copied().collect();
        Defined { list, set, hints_left: Self::HINTS }
    }

    fn contains(&self, name: &str) -> bool {
        self.set.contains(name)
    }

    /// [`suggest::name_hint`] for an unknown `name`, while hints are left.
    fn hint(&mut self, name: &str, what: &str) -> Option<String> {
        self.hints_left = self.hints_left.checked_sub(1)?;
        suggest::name_hint(name, what, &self.list)
    }
}

impl Checker<'_> {
    /// The sync daemon follows a VRRP instance that exists (keepalived drops
    /// the daemon otherwise) and takes its VRID as sync id unless one is set.
    fn lvs_sync_daemon(&mut self, cfg: &mut Config) {
        let Some(d) = cfg.global.lvs_sync_daemon.as_mut() else { return };
        let Some(name) = d.instance.as_deref() else {
            d.sync_id.get_or_insert(0);
            return;
        };
        match cfg.instances.iter().find(|vi| vi.name == name) {
            Some(vi) => {
                d.sync_id.get_or_insert(vi.vrid);
            }
            None => {
                let loc = cfg.global.locs.of("lvs_sync_daemon").cloned();
                let msg = format!("lvs_sync_daemon: no vrrp_instance {name}; the sync daemon is not started");
                self.diags.push(Diagnostic::error(loc, msg));
                cfg.global.lvs_sync_daemon = None;
            }
        }
    }

    /// A `*_notify_fifo_script` whose FIFO never came: never started (keepalived too).
    fn fifo_scripts(&mut self, g: &mut crate::config::model::GlobalDefs) {
        for (kw, slot) in [
            ("notify_fifo", &mut g.notify_fifo),
            ("vrrp_notify_fifo", &mut g.vrrp_notify_fifo),
            ("lvs_notify_fifo", &mut g.lvs_notify_fifo),
        ] {
            if let Some(f) = slot.take_if(|f| f.path.is_empty()) {
                if let Some(cmd) = &f.script {
                    let msg = format!("'{kw}_script' without '{kw}': it is never started");
                    self.diags.push(Diagnostic::warning(Some(cmd.loc.clone()), msg));
                }
            }
        }
    }

    fn error(&mut self, loc: &Loc, msg: String, hint: Option<String>) {
        let d = Diagnostic::error(Some(loc.clone()), msg);
        self.diags.push(if let Some(h) = hint { d.with_hint(h) } else { d });
    }

    fn warn(&mut self, loc: &Loc, msg: String, hint: Option<String>) {
        let d = Diagnostic::warning(Some(loc.clone()), msg);
        self.diags.push(if let Some(h) = hint { d.with_hint(h) } else { d });
    }

    /// Route and rule lines were parsed when read; say now, with the line,
    /// which ones vigil will skip. Warnings: keepalived knows more of
    /// `ip route` (nexthops, encap, metrics) than vigil installs.
    fn route_and_rule_lines(&mut self, cfg: &Config) {
        fn err<T>(l: &IpLine<T>) -> Option<&String> {
            (*l.parsed).as_ref().err()
        }
        let mut lines: Vec<(&str, &Loc, Option<&String>)> = Vec::new();
        lines.extend(cfg.static_routes.iter().map(|l| ("route", &l.loc, err(l))));
        lines.extend(cfg.static_rules.iter().map(|l| ("rule", &l.loc, err(l))));
        for vi in &cfg.instances {
            lines.extend(vi.virtual_routes.iter().map(|l| ("route", &l.loc, err(l))));
            lines.extend(vi.virtual_rules.iter().map(|l| ("rule", &l.loc, err(l))));
        }
        for (what, loc, err) in lines {
            if let Some(e) = err {
                self.warn(
                    loc,
                    format!("vigil cannot install this {what}: {e}; the line is skipped"),
                    Some(format!("vigil reads `ip {what}` selectors, table, preference and type")),
                );
            }
        }
    }

    /// An `auth_hmac` block whose `active_key` names no loaded key cannot
    /// sign. keepalived then drops the block and runs the instance without
    /// any authentication (fail open); vigil does not run the instance.
    fn unusable_auth_hmac(&mut self, cfg: &mut Config) {
        let mut dropped = Vec::new();
        cfg.instances.retain(|vi| {
            let Some(h) = &vi.auth_hmac else { return true };
            if h.active().is_some() {
                return true;
            }
            let why = match h.active_key {
                None => "auth_hmac has no active_key".to_string(),
                Some(id) => format!("active_key {id} is not defined"),
            };
            let loc = h.active_key_loc.clone().unwrap_or_else(|| h.loc.clone());
            dropped.push((loc, vi.name.clone(), why));
            false
        });
        for (loc, name, why) in dropped {
            self.error(
                &loc,
                format!("({name}) {why}; the instance is not run (keepalived would run it without authentication)"),
                Some("add 'key ID hex:...' (32 to 64 bytes) and 'active_key ID' to auth_hmac".into()),
            );
        }
    }

    fn duplicate_names(&mut self, cfg: &mut Config) {
        let mut seen = HashSet::new();
        for s in &cfg.vrrp_scripts {
            if !seen.insert(s.name.clone()) {
                self.error(&s.loc, format!("vrrp_script '{}' is defined twice", s.name), None);
            }
        }
        // Sized once: growing it rehashes every name again at each doubling.
        let mut seen = HashSet::with_capacity(cfg.instances.len());
        let before = cfg.instances.len();
        let mut dups = Vec::new();
        cfg.instances.retain(|vi| {
            let fresh = seen.insert(vi.name.clone());
            if !fresh {
                dups.push((vi.loc.clone(), vi.name.clone()));
            }
            fresh
        });
        for (loc, name) in dups {
            self.error(
                &loc,
                format!("vrrp_instance '{name}' is defined twice; the second one is ignored"),
                None,
            );
        }
        debug_assert!(cfg.instances.len() <= before);
    }

    fn instance(&mut self, vi: &mut VrrpInstance, g: &super::model::GlobalDefs) {
        let name = vi.name.clone();
        let strict = vi.effective_strict(g);

        if vi.vrid == 0 && vi.locs.of("virtual_router_id").is_none() {
            self.error(
                &vi.loc,
                format!("instance '{name}' has no virtual_router_id"),
                Some("add 'virtual_router_id 1..255'".into()),
            );
        }
        if vi.interface.is_none() && !vi.is_unicast() {
            self.error(
                &vi.loc,
                format!("instance '{name}' has no interface"),
                Some("add 'interface IF' (only unicast instances may omit it)".into()),
            );
        }

        self.families(vi);
        let v6 = vi.is_ipv6();
        let version = vi.effective_version(g);
        if v6 && version == 2 {
            if strict {
                self.error(
                    &at(vi, "version"),
                    format!("instance '{name}': VRRPv2 cannot carry IPv6 in strict mode; using version 3"),
                    None,
                );
                vi.version = Some(3);
            } else {
                self.warn(
                    &at(vi, "version"),
                    format!("instance '{name}': VRRPv2 with IPv6 addresses is not standard"),
                    None,
                );
            }
        }
        let version = vi.effective_version(g);
        vi.version = Some(version);
        self.advert_int(vi, version);

        if vi.auth.is_some() && vi.auth_hmac.is_some() {
            self.warn(
                &at(vi, "auth_type"),
                format!("({name}) auth_hmac cannot be combined with authentication, dropping legacy auth"),
                Some("remove the authentication block".into()),
            );
            vi.auth = None;
        }
        if let Some(h) = vi.auth_hmac.as_mut() {
            if strict && h.mode != super::model::Mode::Enforce {
                let loc = h.mode_loc.clone().unwrap_or_else(|| h.loc.clone());
                self.error(
                    &loc,
                    format!(
                        "({name}) auth_hmac mode {} is not allowed in strict mode; using enforce",
                        h.mode.as_str()
                    ),
                    Some("mode enforce, or no strict mode".into()),
                );
                h.mode = super::model::Mode::Enforce;
            }
        }
        if vi.auth.is_some() && (version == 3 || strict) {
            let why = if strict { "strict mode" } else { "VRRPv3" };
            self.warn(
                &at(vi, "auth_type"),
                format!("instance '{name}': {why} has no authentication; it is turned off"),
                None,
            );
            vi.auth = None;
        }
        if matches!(vi.auth, Some(Auth::Ah(_))) && v6 {
            self.warn(
                &at(vi, "auth_type"),
                format!("instance '{name}': AH authentication is IPv4 only; it is turned off"),
                Some("use auth_type PASS, or no authentication block".into()),
            );
            vi.auth = None;
        }
        if matches!(vi.auth, Some(Auth::Ah(_)))
            && vi.state == Some(InitialState::Master)
            && vi.effective_priority() != 255
        {
            // keepalived: the AH sequence number must be learnt from a master first.
            self.warn(
                &at(vi, "state"),
                format!("instance '{name}': state MASTER is incompatible with AH authentication; starting as BACKUP"),
                Some("use state BACKUP, or priority 255 for the address owner".into()),
            );
            vi.state = Some(InitialState::Backup);
        }

        let prio = vi.effective_priority();
        if vi.nopreempt {
            if vi.state == Some(InitialState::Master) {
                self.warn(
                    &at(vi, "nopreempt"),
                    format!("instance '{name}': nopreempt has no effect with state MASTER"),
                    Some("use state BACKUP on every node with nopreempt".into()),
                );
            } else if prio == 255 {
                self.warn(
                    &at(vi, "nopreempt"),
                    format!("instance '{name}': nopreempt has no effect with priority 255"),
                    None,
                );
            }
            if vi.preempt_delay > Duration::ZERO {
                self.warn(
                    &at(vi, "preempt_delay"),
                    format!("instance '{name}': preempt_delay has no effect with nopreempt"),
                    None,
                );
            }
        }

        if vi.vips.is_empty() {
            let msg = format!("instance '{name}' has no virtual_ipaddress");
            if strict {
                self.error(&vi.loc, msg, None);
            } else {
                self.warn(&vi.loc, msg, Some("at least one VIP is sensible".into()));
            }
        }

        self.unicast(vi, v6);
        if strict {
            self.strict(vi, g);
        }
        if let Some(own) = &vi.interface {
            for t in vi.track_interfaces.iter().filter(|t| &t.name == own) {
                let msg = format!("instance '{name}': track_interface {own} is the instance's own interface, tracked anyway");
                self.warn(&t.loc.clone(), msg, None);
            }
        }
    }

    /// The first VIP sets the family; other-family VIPs go to the excluded list.
    fn families(&mut self, vi: &mut VrrpInstance) {
        let Some(first) = vi.vips.first() else { return };
        let v6 = first.addr.is_ipv6();
        let (keep, other): (Vec<VipSpec>, Vec<VipSpec>) =
            vi.vips.drain(..).partition(|v| v.addr.is_ipv6() == v6);
        for v in &other {
            let msg = format!("instance '{}': {} is not of the instance's address family; moved to virtual_ipaddress_excluded", vi.name, v.addr);
            self.warn(&v.loc, msg, None);
        }
        vi.vips = keep;
        vi.vips_excluded.extend(other);
    }

    fn advert_int(&mut self, vi: &mut VrrpInstance, version: u8) {
        let loc = vi.locs.of("advert_int").unwrap_or(&vi.loc).clone();
        let us = vi.advert_int.as_micros();
        if version == 2 {
            let secs = ((us + 500_000) / 1_000_000).clamp(1, 255) as u64;
            if us != u128::from(secs) * 1_000_000 {
                let msg =
                    format!("instance '{}': VRRPv2 advert_int must be whole seconds; using {secs}", vi.name);
                self.warn(&loc, msg, None);
                vi.advert_int = Duration::from_secs(secs);
            }
        } else {
            let cs = ((us + 5_000) / 10_000).clamp(1, 4095) as u64;
            if us > 40_950_000 {
                let msg = format!("instance '{}': VRRPv3 advert_int is at most 40.95 seconds", vi.name);
                self.error(&loc, msg, None);
            } else if us != u128::from(cs) * 10_000 {
                let msg = format!(
                    "instance '{}': VRRPv3 advert_int is in hundredths of a second; using {}.{:02}",
                    vi.name,
                    cs / 100,
                    cs % 100
                );
                self.warn(&loc, msg, None);
            }
            vi.advert_int = Duration::from_millis(cs * 10);
        }
    }

    fn unicast(&mut self, vi: &mut VrrpInstance, v6: bool) {
        let name = vi.name.clone();
        let family_ok = |a: &IpAddr| a.is_ipv6() == v6;
        let mut bad = Vec::new();
        vi.unicast_peers.retain(|p| {
            let ok = family_ok(&p.addr);
            if !ok {
                bad.push((p.loc.clone(), p.addr));
            }
            ok
        });
        for (loc, a) in bad {
            self.error(
                &loc,
                format!(
                    "instance '{name}': unicast peer {a} is not of the instance's address family; ignored"
                ),
                None,
            );
        }
        for (kw, ip) in [("unicast_src_ip", vi.unicast_src_ip), ("mcast_src_ip", vi.mcast_src_ip)] {
            if let Some(ip) = ip.filter(|ip| !vi.vips.is_empty() && !family_ok(ip)) {
                let loc = vi.locs.of(kw).unwrap_or(&vi.loc).clone();
                self.error(
                    &loc,
                    format!("instance '{name}': {kw} {ip} is not of the instance's address family"),
                    None,
                );
            }
        }
        if vi.locs.of("unicast_peer").is_some() && vi.unicast_peers.is_empty() {
            let loc = vi.locs.of("unicast_peer").unwrap_or(&vi.loc).clone();
            let msg = if vi.unicast_fault_no_peer {
                format!("instance '{name}': unicast_peer is empty; unicast_fault_no_peer holds the instance in FAULT")
            } else {
                format!("instance '{name}': unicast_peer is empty, so adverts go to multicast")
            };
            self.warn(&loc, msg, None);
        }
        if vi.is_unicast() && vi.use_vmac.is_some() && !vi.vmac_xmit_base {
            let loc = vi.locs.of("use_vmac").unwrap_or(&vi.loc).clone();
            self.warn(
                &loc,
                format!("instance '{name}': unicast with use_vmac needs vmac_xmit_base; it is turned on"),
                None,
            );
            vi.vmac_xmit_base = true;
        }
    }

    /// vrrp_strict / strict_mode: RFC rules, corrected with a warning.
    fn strict(&mut self, vi: &mut VrrpInstance, g: &super::model::GlobalDefs) {
        let name = vi.name.clone();
        if vi.is_unicast() {
            self.error(
                &at(vi, "unicast_peer"),
                format!("instance '{name}': unicast peers are not allowed in strict mode"),
                None,
            );
        }
        if vi.preempt_delay > Duration::ZERO {
            self.warn(
                &at(vi, "preempt_delay"),
                format!("instance '{name}': preempt_delay is not allowed in strict mode; ignored"),
                None,
            );
            vi.preempt_delay = Duration::ZERO;
        }
        let prio = vi.effective_priority();
        if vi.state == Some(InitialState::Master) && prio != 255 {
            self.warn(
                &at(vi, "state"),
                format!("instance '{name}': strict mode starts a non-owner (priority {prio}) as BACKUP"),
                None,
            );
            vi.state = Some(InitialState::Backup);
        }
        if vi.accept.is_none() && prio != 255 {
            let msg = format!(
                "instance '{name}': strict mode implies no_accept: traffic to its VIPs is dropped \
                 (nftables) while it is master"
            );
            self.warn(&vi.loc, msg, Some(STRICT_ACCEPT_HINT.into()));
        }
        if vi.accept == Some(true) && prio != 255 && vi.effective_version(g) == 2 {
            let msg = format!(
                "instance '{name}': accept is not allowed with VRRPv2 in strict mode; \
                 its VIPs are firewalled while master"
            );
            self.warn(&at(vi, "accept"), msg, None);
        }
        if vi.down_timer_adverts.is_some_and(|n| n != 3) {
            self.warn(
                &at(vi, "down_timer_adverts"),
                format!("instance '{name}': down_timer_adverts must be 3 in strict mode"),
                None,
            );
            vi.down_timer_adverts = Some(3);
        }
    }

    fn track_scripts(
        &mut self,
        owner: &str,
        tracks: &mut Vec<super::model::TrackScript>,
        names: &mut Defined,
    ) {
        let mut missing = Vec::new();
        tracks.retain(|t| {
            let ok = names.contains(&t.name);
            if !ok {
                missing.push((t.loc.clone(), t.name.clone()));
            }
            ok
        });
        for (loc, n) in missing {
            let hint = if names.list.is_empty() {
                Some("no vrrp_script is defined".to_string())
            } else {
                names.hint(&n, "vrrp_script")
            };
            self.error(&loc, format!("'{owner}' tracks script '{n}', which no vrrp_script defines"), hint);
        }
    }

    /// `track_ping` names a `vrrp_track_ping` (vigil extension); unknown ones are dropped.
    fn track_pings(&mut self, cfg: &mut Config) {
        let names: Vec<String> = cfg.track_pings.iter().map(|p| p.name.clone()).collect();
        let owners = cfg.instances.iter_mut().map(|i| (i.name.clone(), &mut i.track_pings));
        let owners = owners.chain(cfg.sync_groups.iter_mut().map(|g| (g.name.clone(), &mut g.track_pings)));
        self.drop_unknown_tracked(owners, &names, "ping", "vrrp_track_ping");
    }

    /// `track_file` names a top-level `track_file` block; unknown ones are
    /// dropped, and so is a second reference to one (keepalived ignores it).
    fn track_files(&mut self, cfg: &mut Config) {
        fn owners(cfg: &mut Config) -> impl Iterator<Item = (String, &mut Vec<super::model::TrackScript>)> {
            let insts = cfg.instances.iter_mut().map(|i| (i.name.clone(), &mut i.track_files));
            insts.chain(cfg.sync_groups.iter_mut().map(|g| (g.name.clone(), &mut g.track_files)))
        }
        let mut twice = Vec::new();
        for (owner, tracks) in owners(cfg) {
            let mut seen = Vec::new();
            tracks.retain(|t| {
                let first = !seen.contains(&t.name);
                if first {
                    seen.push(t.name.clone());
                } else {
                    twice.push((
                        t.loc.clone(),
                        format!("'{owner}' tracks file '{}' twice; the first counts", t.name),
                    ));
                }
                first
            });
        }
        for (loc, msg) in twice {
            self.warn(&loc, msg, None);
        }
        let names: Vec<String> = cfg.track_files.iter().map(|f| f.name.clone()).collect();
        self.drop_unknown_tracked(owners(cfg), &names, "file", "track_file block");
    }

    /// Drop (with an error) the references of `owners` to a `what` that no `block` defines.
    fn drop_unknown_tracked<'a>(
        &mut self,
        owners: impl Iterator<Item = (String, &'a mut Vec<super::model::TrackScript>)>,
        names: &[String],
        what: &str,
        block: &str,
    ) {
        let names: HashSet<&str> = names.iter().map(String::as_str).collect();
        let mut missing = Vec::new();
        for (owner, tracks) in owners {
            tracks.retain(|t| {
                let ok = names.contains(t.name.as_str());
                if !ok {
                    missing.push((
                        t.loc.clone(),
                        format!("'{owner}' tracks {what} '{}', which no {block} defines", t.name),
                    ));
                }
                ok
            });
        }
        for (loc, msg) in missing {
            self.error(&loc, msg, None);
        }
    }

    /// `track_process` names a `vrrp_track_process`; unknown ones are dropped.
    fn track_processes(&mut self, cfg: &mut Config) {
        let names: Vec<String> = cfg.track_processes.iter().map(|p| p.name.clone()).collect();
        let owners = cfg.instances.iter_mut().map(|i| (i.name.clone(), &mut i.track_processes));
        let owners =
            owners.chain(cfg.sync_groups.iter_mut().map(|g| (g.name.clone(), &mut g.track_processes)));
        self.drop_unknown_tracked(owners, &names, "process", "vrrp_track_process");
    }

    /// Two instances clash on one VRID, interface and family unless both
    /// are unicast with no peer in common. Each clashing instance is
    /// reported once, against the first earlier one it clashes with, and
    /// found through an index: a file of 60,000 generated instances on one
    /// VRID took seconds compared in pairs, and listed billions of pairs.
    fn duplicate_vrids(&mut self, cfg: &Config) {
        #[derive(Default)]
        struct Seen {
            /// The first instance of all, and the first multicast one.
            first: Option<usize>,
            first_multicast: Option<usize>,
            /// The first unicast instance with each peer.
            by_peer: HashMap<IpAddr, usize>,
        }
        let mut seen: HashMap<(u8, Option<&str>, bool), Seen> = HashMap::with_capacity(cfg.instances.len());
        for (i, a) in cfg.instances.iter().enumerate() {
            if a.vrid == 0 {
                continue;
            }
            let s = seen.entry((a.vrid, a.interface.as_deref(), a.is_ipv6())).or_default();
            let clash = if a.is_unicast() {
                let shared = a.unicast_peers.iter().filter_map(|p| s.by_peer.get(&p.addr).copied()).min();
                s.first_multicast.into_iter().chain(shared).min()
            } else {
                s.first
            };
            s.first.get_or_insert(i);
            if a.is_unicast() {
                for p in &a.unicast_peers {
                    s.by_peer.entry(p.addr).or_insert(i);
                }
            } else {
                s.first_multicast.get_or_insert(i);
            }
            let Some(b) = clash.map(|b| &cfg.instances[b]) else { continue };
            let msg = format!(
                "instances '{}' and '{}' both use virtual_router_id {} on {}",
                b.name,
                a.name,
                a.vrid,
                a.interface.as_deref().unwrap_or("the same interface")
            );
            let loc = a.locs.of("virtual_router_id").unwrap_or(&a.loc).clone();
            self.error(&loc, msg, Some("a VRID must be unique per interface and address family".into()));
        }
    }

    fn sync_groups(&mut self, cfg: &mut Config) {
        let mut instances = Defined::new(cfg.instances.iter().map(|i| i.name.as_str()));
        let mut scripts = Defined::new(cfg.vrrp_scripts.iter().map(|s| s.name.as_str()));
        let mut member_of: HashMap<String, String> = HashMap::new();
        for g in &mut cfg.sync_groups {
            let mut bad = Vec::new();
            g.members.retain(|(m, loc)| {
                let ok = instances.contains(m);
                if !ok {
                    bad.push((loc.clone(), m.clone()));
                }
                ok
            });
            for (loc, m) in bad {
                let hint = instances.hint(&m, "vrrp_instance");
                self.error(
                    &loc,
                    format!("sync group '{}' names instance '{m}', which is not defined", g.name),
                    hint,
                );
            }
            for (m, loc) in &g.members {
                if let Some(other) = member_of.get(m) {
                    self.error(loc, format!("instance '{m}' is already in sync group '{other}'"), None);
                } else {
                    member_of.insert(m.clone(), g.name.clone());
                }
            }
            if g.members.len() < 2 {
                self.warn(
                    &g.loc,
                    format!("sync group '{}' has fewer than two members; it has no effect", g.name),
                    None,
                );
            }
            let name = g.name.clone();
            self.track_scripts(&name, &mut g.track_scripts, &mut scripts);
        }
    }

    fn virtual_servers(&mut self, cfg: &mut Config) {
        let groups: Vec<String> = cfg.vs_groups.iter().map(|g| g.name.clone()).collect();
        for vs in &mut cfg.virtual_servers {
            let what = match &vs.addr {
                VsAddr::Addr(ip, port) => format!("virtual_server {ip} {port}"),
                VsAddr::Fwmark(m) => format!("virtual_server fwmark {m}"),
                VsAddr::Group(g) => format!("virtual_server group {g}"),
            };
            if let VsAddr::Group(g) = &vs.addr {
                if !groups.contains(g) {
                    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
                    let hint = suggest::name_hint(g, "virtual_server_group", &refs);
                    self.error(&vs.loc, format!("{what}: no virtual_server_group '{g}' is defined"), hint);
                }
            }
            if vs.protocol.is_none() {
                self.warn(
                    &vs.loc,
                    format!("{what}: no protocol set, defaulting to UDP"),
                    Some("add 'protocol TCP'".into()),
                );
            }
            if vs.lvs_sched.is_none() {
                self.warn(&vs.loc, format!("{what}: no scheduler set, defaulting to wlc"), None);
            }
            if vs.lvs_method.is_none() {
                self.warn(&vs.loc, format!("{what}: no forwarding method set, defaulting to NAT"), None);
            }
            let fwmark = matches!(vs.addr, VsAddr::Fwmark(_));
            let vs_port = vs.port();
            let method = vs.effective_method();
            let mut fixes = Vec::new();
            for (i, rs) in vs.real_servers.iter().enumerate() {
                let m = rs.lvs_method.unwrap_or(method);
                if fwmark && rs.port.is_some_and(|p| p != 0) && m != LvsMethod::Nat {
                    fixes.push((i, None, rs.loc.clone()));
                } else if let (Some(vp), Some(rp)) = (vs_port, rs.port) {
                    if m != LvsMethod::Nat && vp != rp && vp != 0 {
                        fixes.push((i, Some(vp), rs.loc.clone()));
                    }
                }
            }
            for (i, port, loc) in fixes {
                let rs = &mut vs.real_servers[i];
                let msg = format!(
                    "{what}: real_server {} port {} does not match; {} forwarding keeps the virtual port",
                    rs.addr,
                    rs.port.unwrap_or(0),
                    method.name()
                );
                self.warn(&loc, msg, None);
                rs.port = port;
            }
            let total: i64 = vs.real_servers.iter().map(|r| i64::from(r.weight)).sum();
            if !vs.real_servers.is_empty() && i64::from(vs.quorum) > total {
                let loc = vs.locs.of("quorum").unwrap_or(&vs.loc).clone();
                self.warn(
                    &loc,
                    format!("{what}: quorum {} is above the total real server weight {total}", vs.quorum),
                    None,
                );
            }
            if vs.hysteresis >= vs.quorum && vs.hysteresis > 0 {
                let loc = vs.locs.of("hysteresis").unwrap_or(&vs.loc).clone();
                self.warn(
                    &loc,
                    format!("{what}: hysteresis must be below quorum; using {}", vs.quorum - 1),
                    None,
                );
                vs.hysteresis = vs.quorum - 1;
            }
        }
    }
}

/// Where `kw` was written in the instance, else the instance itself.
/// An IPv4 and an IPv6 instance with one VRID both default to `vrrp.<VRID>`:
/// like keepalived, the IPv6 one takes `vrrp6.<VRID>`, whatever the order
/// of the two in the file.
fn dual_stack_vmac_names(cfg: &mut Config) {
    let v4: Vec<u8> =
        cfg.instances.iter().filter(|i| i.use_vmac == Some(None) && !i.is_ipv6()).map(|i| i.vrid).collect();
    for vi in cfg.instances.iter_mut().filter(|i| i.use_vmac == Some(None) && i.is_ipv6()) {
        if v4.contains(&vi.vrid) {
            vi.use_vmac = Some(Some(format!("vrrp6.{}", vi.vrid)));
        }
    }
}

fn at(vi: &VrrpInstance, kw: &str) -> Loc {
    vi.locs.of(kw).unwrap_or(&vi.loc).clone()
}
