//! The rest of keepalived's VRRP instance around the protocol core:
//! tracking (the instance interface, `track_interface`, `vrrp_script`,
//! vigil's `track_ping`), sync groups, `virtual_routes` / `virtual_rules`,
//! `static_ipaddress` / `static_routes` / `static_rules` and SMTP alerts.
//! `mod.rs` calls the `ext_*` hooks; the decisions themselves are pure
//! (`track`, `sync`, `routes`, `rules`).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant as StdInstant};

use log::{error, info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::routes::{parse_route, RouteLine};
use super::rules::parse_rule;
use super::track::{effective_priority, evaluate, items_for, Change, Health, Item, Source};
use super::{VrrpEngine, Work};
use crate::config::model::{
    Command as ConfCommand, GlobalDefs, Notify, RawLine, VipSpec, VrrpScript, VrrpSyncGroup, VrrpTrackPing,
};
use crate::config::Config;
use crate::daemon::event_loop::TokenAlloc;
use crate::script::{self, Command, Completion, Job, NotifyScope, Order, Outcome, ScriptKind};
use crate::smtp::{Alert, Mailer, VrrpState};
use crate::sys::icmp::{self, EchoSocket, Probe};
use crate::sys::link::{self, Event};
use crate::sys::{addr, route, rule};
use crate::vrrp::sync::{Lookup, Member, SyncAction, SyncGroups};
use crate::vrrp::State;

/// Tokens of the SMTP mailer, far above the loop's and the script runner's.
const MAILER_TOKEN_BASE: usize = (1 << 24) + (1 << 20);
/// Queue/exclusivity keys of vrrp_script runs start with this.
const SCRIPT_KEY: &str = "VRRP_Script ";

struct ScriptJob {
    cfg: VrrpScript,
    health: Health,
    due: Option<StdInstant>,
    /// Refused by the script policy: never run, and (as keepalived removes
    /// it from every track_script) it has no effect on any instance.
    disabled: bool,
}

struct PingJob {
    cfg: VrrpTrackPing,
    health: Health,
    due: Option<StdInstant>,
    seq: u16,
    /// The echo request in flight and when it counts as lost.
    waiting: Option<(Probe, StdInstant)>,
    /// For a link-local IPv6 address: the interface of an instance
    /// tracking it (the scope of the address).
    scope_dev: Option<String>,
    /// Echo replies from the address that matched no probe (wrong
    /// identifier, sequence or cookie: stale or spoofed) since last logged.
    dropped: u64,
}

pub(super) struct Ext {
    scripts: Vec<ScriptJob>,
    pings: Vec<PingJob>,
    /// Tracked interfaces by name: up and running.
    links: HashMap<String, bool>,
    /// What each instance (by name) tracks.
    items: HashMap<String, Vec<Item>>,
    /// The sync groups' decisions, and each group's configuration (by the
    /// same index).
    pub(super) sync: SyncGroups,
    group_cfgs: Vec<VrrpSyncGroup>,
    static_addrs: Vec<VipSpec>,
    static_routes: Vec<RawLine>,
    static_rules: Vec<RawLine>,
    statics_installed: bool,
    /// `disable_local_igmp` with an IPv4 VMAC configured.
    quiet_local_igmp: bool,
    /// The IGMP report sysctl's value before vigil zeroed it.
    igmp_saved: Option<i32>,
    mailer: Option<Mailer>,
    echo: [Option<(EchoSocket, Token)>; 2],
    echo_id: u16,
}

impl Ext {
    pub(super) fn new(config: &Config) -> Ext {
        let mut ext = Ext {
            scripts: Vec::new(),
            pings: Vec::new(),
            links: HashMap::new(),
            items: HashMap::new(),
            sync: SyncGroups::default(),
            group_cfgs: Vec::new(),
            static_addrs: config.static_ipaddress.clone(),
            static_routes: config.static_routes.clone(),
            static_rules: config.static_rules.clone(),
            statics_installed: false,
            quiet_local_igmp: false,
            igmp_saved: None,
            mailer: None,
            echo: [None, None],
            echo_id: icmp::random_id(),
        };
        ext.configure(config);
        ext.mailer = Mailer::from_config(&config.global, MAILER_TOKEN_BASE);
        ext
    }

    /// Trackers and groups of `config`; health already known is kept.
    fn configure(&mut self, config: &Config) {
        self.quiet_local_igmp = config.global.disable_local_igmp
            && config.instances.iter().any(|i| i.use_vmac.is_some() && !i.is_ipv6());
        let groups: Vec<&VrrpSyncGroup> =
            config.sync_groups.iter().filter(|g| g.members.len() >= 2).collect();
        self.items.clear();
        for inst in &config.instances {
            let group = groups.iter().copied().find(|g| g.members.iter().any(|(m, _)| *m == inst.name));
            let items = items_for(inst, group, &config.vrrp_scripts, &config.track_pings);
            self.items.insert(inst.name.clone(), items);
        }
        let used = |s: &Source| self.items.values().flatten().any(|i| &i.source == s);
        let mut scripts = Vec::new();
        for s in &config.vrrp_scripts {
            if !used(&Source::Script(s.name.clone())) || s.script.is_none() {
                continue;
            }
            let old = self.scripts.iter().position(|o| o.cfg.name == s.name && o.cfg.script == s.script);
            let (health, due) = match old {
                Some(o) => (self.scripts[o].health.clone(), self.scripts[o].due),
                None => (Health::new(s.rise, s.fall, s.init_fail), None),
            };
            scripts.push(ScriptJob { cfg: s.clone(), health, due, disabled: false });
        }
        self.scripts = scripts;
        let mut pings = Vec::new();
        for p in &config.track_pings {
            if !used(&Source::Ping(p.name.clone())) || p.address.is_none() {
                continue;
            }
            let old = self.pings.iter().position(|o| o.cfg.name == p.name && o.cfg.address == p.address);
            let (health, due) = match old {
                Some(o) => (self.pings[o].health.clone(), self.pings[o].due),
                None => (Health::new(p.rise, p.fall, false), None),
            };
            let scope_dev = match p.address {
                Some(IpAddr::V6(a)) if a.is_unicast_link_local() => config
                    .instances
                    .iter()
                    .filter(|i| {
                        self.items
                            .get(&i.name)
                            .is_some_and(|v| v.iter().any(|t| t.source == Source::Ping(p.name.clone())))
                    })
                    .find_map(|i| i.interface.clone()),
                _ => None,
            };
            let seq = icmp::random_id();
            pings.push(PingJob { cfg: p.clone(), health, due, seq, waiting: None, scope_dev, dropped: 0 });
        }
        self.pings = pings;
        let members = |g: &VrrpSyncGroup| g.members.iter().map(|(m, _)| m.clone()).collect();
        self.sync.configure(groups.iter().map(|g| (g.name.as_str(), members(g))));
        self.group_cfgs = groups.into_iter().cloned().collect();
    }

    fn healthy(&self, s: &Source) -> bool {
        match s {
            Source::Script(n) => {
                self.scripts.iter().find(|j| &j.cfg.name == n).is_none_or(|j| j.disabled || j.health.is_ok())
            }
            Source::Ping(n) => self.pings.iter().find(|j| &j.cfg.name == n).is_none_or(|j| j.health.is_ok()),
            Source::Link(n) => self.links.get(n).copied().unwrap_or(false),
            Source::NoUnicastPeer => false,
        }
    }

    fn tracks_link(&self, name: &str) -> bool {
        let src = Source::Link(name.to_string());
        self.items.values().flatten().any(|i| i.source == src)
    }

    fn group_of(&self, inst: &str) -> Option<usize> {
        self.sync.group_of(inst)
    }
}

impl VrrpEngine {
    /// Sockets for `track_ping`, registered with the loop.
    pub(super) fn ext_register(&mut self, registry: &Registry, tokens: &mut TokenAlloc) -> io::Result<()> {
        for (slot, ipv6) in [(0, false), (1, true)] {
            let needed = self.ext.pings.iter().any(|p| p.cfg.address.is_some_and(|a| a.is_ipv6() == ipv6));
            if !needed || self.ext.echo[slot].is_some() {
                continue;
            }
            match EchoSocket::open(ipv6) {
                Ok(sock) => {
                    let t = tokens.alloc();
                    registry.register(&mut SourceFd(&sock.as_raw_fd()), t, Interest::READABLE)?;
                    self.ext.echo[slot] = Some((sock, t));
                }
                Err(e) => error!("track_ping: {e}"),
            }
        }
        Ok(())
    }

    /// Before the instances start: interface states, static addresses and
    /// routes, sync-group holds, and the trackers' first verdict (so an
    /// instance with a failed tracker starts in FAULT).
    pub(super) fn ext_start(&mut self, now: StdInstant) {
        self.refresh_links();
        self.install_statics(true);
        self.apply_local_igmp();
        self.apply_sync_holds();
        for j in &mut self.ext.scripts {
            j.due.get_or_insert(now);
        }
        for p in &mut self.ext.pings {
            p.due.get_or_insert(now);
        }
        self.reevaluate(now);
    }

    pub(super) fn ext_shutdown(&mut self) {
        self.install_statics(false);
        self.ext.quiet_local_igmp = false;
        self.apply_local_igmp();
    }

    /// keepalived's `disable_local_igmp`: a VMAC joining 224.0.0.18 would
    /// send IGMP reports from the virtual MAC, and a switch that learns it
    /// from the backup's port sends the VIP's traffic there. RFC 4541 makes
    /// snooping switches flood 224.0.0.x anyway, so the reports are useless.
    fn apply_local_igmp(&mut self) {
        use crate::sys::sysctl::{read_global, write_global, IGMP_LINK_LOCAL_REPORTS as KEY};
        match (self.ext.quiet_local_igmp, self.ext.igmp_saved) {
            (true, None) => match read_global(KEY).and_then(|old| write_global(KEY, 0).map(|()| old)) {
                Ok(old) => {
                    info!("disable_local_igmp: no IGMP reports for 224.0.0.x groups (was {old})");
                    self.ext.igmp_saved = Some(old);
                }
                Err(e) => warn!("disable_local_igmp: {e}"),
            },
            (false, Some(old)) => {
                if let Err(e) = write_global(KEY, old) {
                    warn!("disable_local_igmp: restoring {KEY}: {e}");
                }
                self.ext.igmp_saved = None;
            }
            _ => {}
        }
    }

    /// After a reload changed the instance list, before new instances start.
    pub(super) fn ext_reload(
        &mut self,
        registry: &Registry,
        tokens: &mut TokenAlloc,
        new: &Config,
        now: StdInstant,
    ) {
        self.ext.configure(new);
        let old_addrs = std::mem::replace(&mut self.ext.static_addrs, new.static_ipaddress.clone());
        let old_routes = std::mem::replace(&mut self.ext.static_routes, new.static_routes.clone());
        let old_rules = std::mem::replace(&mut self.ext.static_rules, new.static_rules.clone());
        let gone_addrs: Vec<VipSpec> =
            old_addrs.into_iter().filter(|o| !new.static_ipaddress.iter().any(|n| same_addr(o, n))).collect();
        let gone = |old: Vec<RawLine>, new: &[RawLine]| -> Vec<RawLine> {
            old.into_iter().filter(|o| !new.iter().any(|n| n.words == o.words)).collect()
        };
        let gone_routes = gone(old_routes, &new.static_routes);
        let gone_rules = gone(old_rules, &new.static_rules);
        self.static_changes(&gone_addrs, &gone_routes, &gone_rules, false);
        self.install_statics(true);
        self.apply_local_igmp();
        self.ext.mailer = Mailer::from_config(&new.global, MAILER_TOKEN_BASE);
        if let Err(e) = self.ext_register(registry, tokens) {
            error!("track_ping socket: {e}");
        }
        for j in &mut self.ext.scripts {
            j.due.get_or_insert(now);
        }
        for p in &mut self.ext.pings {
            p.due.get_or_insert(now);
        }
        self.refresh_links();
        self.apply_sync_holds();
        self.clear_vip_faults();
        self.reevaluate(now);
    }

    /// Pending instances that could start were appended: their sync-group
    /// hold and their trackers' verdict, before they start.
    pub(super) fn ext_instances_added(&mut self, now: StdInstant) {
        self.apply_sync_holds();
        self.reevaluate(now);
    }

    fn apply_sync_holds(&mut self) {
        for i in 0..self.insts.len() {
            let held = self.ext.group_of(&self.insts[i].cfg.name).is_some();
            self.insts[i].core.set_sync_hold(held);
        }
    }

    fn refresh_links(&mut self) {
        match link::dump_links(&mut self.nl) {
            Ok(links) => {
                self.ext.links =
                    links.iter().map(|l| (l.name.clone(), l.is_up() && l.is_running())).collect();
            }
            Err(e) => warn!("interface dump: {e}"),
        }
    }

    /// Every instance's priority and fault from its trackers and its sync group.
    pub(super) fn reevaluate(&mut self, now: StdInstant) {
        let vnow = self.vnow(now);
        let verdicts: Vec<_> = self
            .insts
            .iter()
            .map(|inst| {
                let items = self.ext.items.get(&inst.cfg.name).map(Vec::as_slice).unwrap_or(&[]);
                evaluate(items, |s| self.ext.healthy(s))
            })
            .collect();
        // Refused VIPs fault an instance as its trackers do (`retry_vips`).
        let own_fault: Vec<bool> = (self.insts.iter().zip(&verdicts))
            .map(|(inst, v)| !v.faults.is_empty() || inst.vip_fault.is_some())
            .collect();
        let mut out = Vec::new();
        let group_fault =
            self.ext.sync.faults(&sync_lookup(&self.insts, &self.pending), &|i| own_fault[i], &mut out);
        self.apply_sync(out, now);
        for (i, v) in verdicts.iter().enumerate() {
            let g = self.ext.group_of(&self.insts[i].cfg.name);
            let fault = own_fault[i] || g.is_some_and(|g| group_fault[g]);
            let core = &mut self.insts[i].core;
            let prio = effective_priority(core.params().priority, v.weight);
            let before = core.effective_priority();
            core.set_effective_priority(vnow, prio);
            let after = core.effective_priority();
            if after != before && self.notify_priority_changes(i, g) {
                let inst = &self.insts[i];
                let event =
                    if inst.core.state() == State::Master { "MASTER_PRIORITY" } else { "BACKUP_PRIORITY" };
                self.fifos.write(&crate::script::fifo::vrrp_line(
                    NotifyScope::Instance,
                    &inst.cfg.name,
                    event,
                    after,
                ));
            }
            self.insts[i].core.set_fault(vnow, fault);
            self.apply(i, now);
        }
    }

    /// `notify_priority_changes` of instance `i` (in group `g`): its own,
    /// else its sync group's, else `vrrp_notify_priority_changes`.
    fn notify_priority_changes(&self, i: usize, g: Option<usize>) -> bool {
        let own = self.insts[i].cfg.notify_priority_changes;
        let group = g.and_then(|g| self.ext.group_cfgs[g].notify_priority_changes);
        own.or(group).unwrap_or(self.global.vrrp_notify_priority_changes)
    }

    /// Link and address events from the monitor. True when there were any
    /// (or a re-dump after an overrun): a pending instance may start now.
    pub(super) fn ext_link_events(&mut self, now: StdInstant) -> bool {
        let Some((monitor, _)) = self.monitor.as_mut() else { return false };
        let mut events = Vec::new();
        if let Err(e) = monitor.read_events(&mut events) {
            warn!("link monitor: {e}");
        }
        if events.contains(&Event::Resync) {
            // Events were dropped, and what is still queued is older than a
            // dump taken now that the socket is drained: trust the dump.
            warn!("Netlink: link events lost (receive queue overrun) - re-reading every interface");
            let before = self.ext.links.clone();
            self.refresh_links();
            for (name, up) in &self.ext.links {
                if before.get(name) != Some(up) && self.ext.tracks_link(name) {
                    info!("Netlink reports {name} {}", if *up { "up" } else { "down" });
                }
            }
            self.reevaluate(now);
            return true;
        }
        let any = !events.is_empty();
        let mut changed = false;
        for ev in events {
            let (name, up) = match ev {
                Event::Link(l) => (l.name.clone(), l.is_up() && l.is_running()),
                Event::LinkGone(l) => (l.name.clone(), false),
                Event::Addr(ref a) | Event::AddrGone(ref a) if self.log_address_changes => {
                    // keepalived's -a, in its words.
                    let how = if matches!(ev, Event::Addr(_)) { "added to" } else { "removed from" };
                    info!("Netlink reflector reports IP {} {how} {}", a.addr, ifname_of(a));
                    continue;
                }
                Event::Resync | Event::Addr(_) | Event::AddrGone(_) => continue,
            };
            let before = self.ext.links.insert(name.clone(), up);
            if before != Some(up) {
                changed = true;
                if self.ext.tracks_link(&name) {
                    info!("Netlink reports {name} {}", if up { "up" } else { "down" });
                }
            }
        }
        if changed {
            self.clear_vip_faults();
            self.reevaluate(now);
        }
        any
    }

    /// An interface changed or the configuration was reloaded: instances
    /// held in FAULT by refused VIPs may try again.
    fn clear_vip_faults(&mut self) {
        for inst in &mut self.insts {
            if let Some(what) = inst.vip_fault.take() {
                info!("({}) leaving the FAULT of refused VIPs ({what}) to try again", inst.cfg.name);
            }
        }
    }

    /// A finished job of the script runner; false if it is not a vrrp_script.
    /// The vrrp_scripts in use, by name.
    pub(super) fn ext_script_names(&self) -> Vec<String> {
        self.ext.scripts.iter().map(|j| j.cfg.name.clone()).collect()
    }

    /// A vrrp_script's command with its `user` (as the runner sees it).
    pub(super) fn ext_script_command(&self, name: &str) -> Option<ConfCommand> {
        let j = self.ext.scripts.iter().find(|j| j.cfg.name == name)?;
        let cmd = j.cfg.script.clone()?;
        Some(match &j.cfg.user {
            Some((u, g)) => ConfCommand { user: Some(u.clone()), group: g.clone(), ..cmd },
            None => cmd,
        })
    }

    pub(super) fn ext_disable_script(&mut self, name: &str, disabled: bool) {
        for j in self.ext.scripts.iter_mut().filter(|j| j.cfg.name == name) {
            j.disabled = disabled;
        }
    }

    /// The notify scripts of every sync group.
    pub(super) fn ext_group_notifies(&self) -> Vec<crate::config::model::Notify> {
        self.ext.group_cfgs.iter().map(|g| g.notify.clone()).collect()
    }

    pub(super) fn ext_script_done(&mut self, done: &Completion, now: StdInstant) -> bool {
        let Some(name) = done.key.strip_prefix(SCRIPT_KEY) else { return false };
        let Some(job) = self.ext.scripts.iter_mut().find(|j| j.cfg.name == name) else { return true };
        let status = match done.outcome {
            Outcome::Exited(code) => Some(code),
            _ => None,
        };
        if let Some(s) = status.and_then(|s| job.health.note_status(s)) {
            info!("Script `{name}` now returning {s}");
        }
        if matches!(done.outcome, Outcome::TimedOut) {
            warn!("VRRP_Script({name}) timed_out");
        }
        match job.health.record(done.outcome.success()) {
            Change::None => return true,
            Change::Rose => info!("VRRP_Script({name}) succeeded"),
            Change::Fell => info!("VRRP_Script({name}) failed ({})", done.outcome),
        }
        self.reevaluate(now);
        true
    }

    pub(super) fn ext_poll_timeout(&self) -> Option<StdInstant> {
        let e = &self.ext;
        let scripts = e.scripts.iter().filter_map(|j| j.due);
        let pings = e.pings.iter().flat_map(|p| [p.due, p.waiting.map(|w| w.1)]).flatten();
        let mail = e.mailer.as_ref().and_then(Mailer::poll_timeout);
        scripts.chain(pings).chain(mail).min()
    }

    pub(super) fn ext_timeout(&mut self, registry: &Registry, now: StdInstant) {
        self.run_due_scripts(now);
        self.run_due_pings(now);
        if let Some(m) = self.ext.mailer.as_mut() {
            if m.poll_timeout().is_some_and(|t| t <= now) {
                m.handle_timeout(registry, now);
            }
        }
        self.drain_mail();
        self.sync_settle(now);
    }

    /// Readiness on one of our tokens (mailer, echo sockets).
    pub(super) fn ext_event(&mut self, registry: &Registry, token: Token, now: StdInstant) -> bool {
        if let Some(m) = self.ext.mailer.as_mut() {
            if m.handle_event(registry, token, now) {
                self.drain_mail();
                return true;
            }
        }
        let Some(slot) = self.ext.echo.iter().position(|e| e.as_ref().is_some_and(|(_, t)| *t == token))
        else {
            return false;
        };
        let mut changed = false;
        while let Some((sock, _)) = self.ext.echo[slot].as_ref() {
            let (src, msg) = match sock.recv() {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) if e.is_would_block() => break,
                Err(e) => {
                    warn!("track_ping receive: {e}");
                    break;
                }
            };
            for p in &mut self.ext.pings {
                if p.cfg.address != Some(src) {
                    continue;
                }
                if p.waiting.is_some_and(|(probe, _)| icmp::reply_matches(&probe, src, &msg)) {
                    p.waiting = None;
                    changed |= ping_result(p, true);
                } else {
                    p.dropped = p.dropped.saturating_add(1);
                }
            }
        }
        if changed {
            self.reevaluate(now);
        }
        true
    }

    fn run_due_scripts(&mut self, now: StdInstant) {
        for k in 0..self.ext.scripts.len() {
            let job = &self.ext.scripts[k];
            if job.disabled || job.due.is_none_or(|d| d > now) {
                continue;
            }
            let cfg = job.cfg.clone();
            self.ext.scripts[k].due = Some(now + cfg.interval.max(Duration::from_millis(10)));
            let Some(conf_cmd) = self.ext_script_command(&cfg.name) else { continue };
            let mut command = match Command::from_words(&conf_cmd.args) {
                Ok(c) => c,
                Err(e) => {
                    error!("VRRP_Script({}): {e}", cfg.name);
                    continue;
                }
            };
            if let Err(e) = command.resolve(&script::search_path()) {
                error!("VRRP_Script({}): {e}", cfg.name);
                continue;
            }
            let Some(user) =
                super::script_user(&mut self.policy, ScriptKind::Track(&cfg.name), &conf_cmd, &command)
            else {
                self.ext.scripts[k].disabled = true;
                self.reevaluate(now);
                continue;
            };
            let job = Job {
                key: format!("{SCRIPT_KEY}{}", cfg.name),
                command,
                args: Vec::new(),
                user,
                timeout: Some(cfg.effective_timeout()),
                order: Order::Exclusive,
            };
            let Some(runner) = self.scripts.as_mut() else { return };
            if runner.spawn(job, now).is_err() {
                warn!("Track script {} is already running, expect idle - skipping run", cfg.name);
            }
        }
    }

    fn run_due_pings(&mut self, now: StdInstant) {
        let mut changed = false;
        let id = self.ext.echo_id;
        for p in &mut self.ext.pings {
            if p.waiting.is_some_and(|(_, deadline)| deadline <= now) {
                p.waiting = None;
                changed |= ping_result(p, false);
            }
            if p.due.is_none_or(|d| d > now) {
                continue;
            }
            p.due = Some(now + p.cfg.interval.max(Duration::from_millis(10)));
            let Some(dst) = p.cfg.address else { continue };
            if p.waiting.take().is_some() {
                changed |= ping_result(p, false);
            }
            p.seq = p.seq.wrapping_add(1);
            let probe = match Probe::new(dst, id, p.seq) {
                Ok(probe) => probe,
                Err(e) => {
                    warn!("VRRP_Ping({}): {e}", p.cfg.name);
                    changed |= ping_result(p, false);
                    continue;
                }
            };
            let scope = p.scope_dev.as_deref().map_or(0, ifindex);
            let sock = self.ext.echo[usize::from(dst.is_ipv6())].as_ref();
            match sock.map(|(s, _)| s.send_echo(&probe, scope)) {
                Some(Ok(())) => p.waiting = Some((probe, now + p.cfg.effective_timeout())),
                // No route (the gateway's link is down): a failed probe.
                Some(Err(_)) | None => changed |= ping_result(p, false),
            }
        }
        if changed {
            self.reevaluate(now);
        }
    }

    /// A state change of instance `i`: SMTP alert, sync group moves,
    /// group notifications.
    pub(super) fn ext_state_change(&mut self, i: usize, from: State, to: State, now: StdInstant) {
        let inst = &self.insts[i];
        if inst.cfg.effective_smtp_alert(&self.global) {
            if let Some(s) = alert_state(to, &self.global) {
                let alert = Alert::vrrp_instance(&inst.cfg.name, s);
                if let Some(m) = self.ext.mailer.as_mut() {
                    m.send(&alert, now);
                }
            }
        }
        let name = inst.cfg.name.clone();
        let mut out = Vec::new();
        self.ext.sync.member_changed(&name, i, from, to, &sync_lookup(&self.insts, &self.pending), &mut out);
        self.apply_sync(out, now);
    }

    /// keepalived announces every sync group before its members start:
    /// BACKUP, or FAULT when a member starts in FAULT.
    pub(super) fn ext_announce_groups(&mut self, now: StdInstant) {
        let mut out = Vec::new();
        self.ext.sync.announce_start(&sync_lookup(&self.insts, &self.pending), &mut out);
        self.apply_sync(out, now);
    }

    /// Members held in BACKUP go MASTER together once every member wants
    /// it; the one that wanted it last goes first.
    fn sync_settle(&mut self, now: StdInstant) {
        let mut out = Vec::new();
        self.ext.sync.settle(&sync_lookup(&self.insts, &self.pending), &mut out);
        self.apply_sync(out, now);
    }

    /// Carry out the sync groups' decisions: the moved members' own
    /// effects are queued behind what is already queued (`apply`).
    fn apply_sync(&mut self, actions: Vec<SyncAction>, now: StdInstant) {
        let vnow = self.vnow(now);
        for action in actions {
            match action {
                SyncAction::Backup(j) => {
                    self.insts[j].core.sync_backup(vnow);
                    self.queue_work(Work::Drain(j));
                }
                SyncAction::Master(j) => {
                    self.insts[j].core.sync_master(vnow);
                    self.queue_work(Work::Drain(j));
                }
                SyncAction::Announce { group, state, priority } => {
                    self.group_set_state(group, state, priority, now)
                }
                SyncAction::Log { level, line } => log::log!(level, "{line}"),
            }
        }
        self.run_queue(now);
    }

    /// Announce `state` for group `g` unless it is the one last announced.
    fn group_set_state(&mut self, g: usize, state: State, prio: u8, now: StdInstant) {
        let cfg = &self.ext.group_cfgs[g];
        let (name, notify, smtp) = (cfg.name.clone(), cfg.notify.clone(), cfg.smtp_alert);
        let specific = state_script(&notify, state);
        // keepalived writes a group's priority as 0.
        self.fifos.write(&crate::script::fifo::vrrp_line(NotifyScope::Group, &name, state.as_str(), 0));
        let key = script::notify_key(NotifyScope::Group, &name);
        if let Some(c) = specific {
            self.run_script(&key, c, Vec::new(), now);
        }
        if let Some(c) = &notify.any {
            let args = script::notify_args(NotifyScope::Group, &name, state.as_str(), prio);
            self.run_script(&key, c, args, now);
        }
        if let (true, Some(s)) = (group_alert(smtp, &self.global), alert_state(state, &self.global)) {
            if let Some(m) = self.ext.mailer.as_mut() {
                m.send(&Alert::vrrp_group(&name, s), now);
            }
        }
    }

    fn drain_mail(&mut self) {
        if let Some(m) = self.ext.mailer.as_mut() {
            while let Some(r) = m.poll_result() {
                r.log();
            }
        }
    }

    /// The instance's VIPs were added or removed: its virtual routes and
    /// rules follow (rules go first on the way out, last on the way in).
    pub(super) fn ext_vips_changed(&mut self, i: usize, add: bool) {
        let name = self.insts[i].cfg.name.clone();
        let routes = self.insts[i].cfg.virtual_routes.clone();
        let rules = self.insts[i].cfg.virtual_rules.clone();
        if !add {
            rules.iter().for_each(|line| self.rule_change(&name, line, false));
        }
        routes.iter().for_each(|line| self.route_change(&name, line, add));
        if add {
            rules.iter().for_each(|line| self.rule_change(&name, line, true));
        }
    }

    fn rule_change(&mut self, owner: &str, line: &RawLine, add: bool) {
        let spec = match parse_rule(&line.words) {
            Ok(r) => r,
            Err(e) => {
                error!("({owner}) rule '{}': {e}", line.words.join(" "));
                return;
            }
        };
        let res = if add { rule::add(&mut self.nl, &spec) } else { rule::delete(&mut self.nl, &spec) };
        if let Err(e) = res {
            error!(
                "({owner}) cannot {} rule '{}': {e}",
                if add { "add" } else { "remove" },
                line.words.join(" ")
            );
        }
    }

    fn route_change(&mut self, owner: &str, line: &RawLine, add: bool) {
        let RouteLine { mut spec, dev } = match parse_route(&line.words) {
            Ok(r) => r,
            Err(e) => {
                error!("({owner}) route '{}': {e}", line.words.join(" "));
                return;
            }
        };
        if let Some(dev) = &dev {
            match link::link_by_name(&mut self.nl, dev) {
                Ok(Some(l)) => spec.oif = Some(l.index),
                _ => {
                    warn!("({owner}) route '{}': device {dev} not found", line.words.join(" "));
                    return;
                }
            }
        }
        let res = if add { route::add(&mut self.nl, &spec) } else { route::delete(&mut self.nl, &spec) };
        if let Err(e) = res {
            error!(
                "({owner}) cannot {} route '{}': {e}",
                if add { "add" } else { "remove" },
                line.words.join(" ")
            );
        }
    }

    fn install_statics(&mut self, add: bool) {
        if add == self.ext.statics_installed && !add {
            return;
        }
        let (addrs, routes) = (self.ext.static_addrs.clone(), self.ext.static_routes.clone());
        let rules = self.ext.static_rules.clone();
        self.static_changes(&addrs, &routes, &rules, add);
        self.ext.statics_installed = add;
    }

    fn static_changes(&mut self, addrs: &[VipSpec], routes: &[RawLine], rules: &[RawLine], add: bool) {
        // Addresses, routes, rules on the way in; the reverse on the way out.
        if !add {
            for r in rules {
                self.rule_change("static_rules", r, false);
            }
            for r in routes {
                self.route_change("static_routes", r, false);
            }
        }
        for a in addrs {
            let dev = static_dev(a, &self.global);
            let Ok(Some(l)) = link::link_by_name(&mut self.nl, &dev) else {
                warn!("static_ipaddress {}: device {dev} not found", super::vips::show(a));
                continue;
            };
            let spec = super::vips::addr_spec(a, l.index, &l.name);
            let res = if add { addr::add(&mut self.nl, &spec) } else { addr::delete(&mut self.nl, &spec) };
            if let Err(e) = res {
                error!("static_ipaddress {}: {e}", super::vips::show(a));
            }
        }
        if add {
            for r in routes {
                self.route_change("static_routes", r, true);
            }
            for r in rules {
                self.rule_change("static_rules", r, true);
            }
        }
    }
}

/// How the sync groups see each configured instance: running (by its
/// index, with its core's state), waiting to run, or not configured.
fn sync_lookup<'a>(
    insts: &'a [super::Inst],
    pending: &'a [super::pending::Pending],
) -> impl Fn(&str) -> Lookup + 'a {
    move |name: &str| {
        if let Some(i) = insts.iter().position(|inst| inst.cfg.name == name) {
            let c = &insts[i].core;
            let member = Member {
                state: c.state(),
                priority: c.effective_priority(),
                wants_master: c.wants_master(),
                fault: c.has_fault(),
            };
            Lookup::Running(i, member)
        } else if pending.iter().any(|p| p.cfg.name == name) {
            Lookup::Waiting
        } else {
            Lookup::Absent
        }
    }
}

fn same_addr(a: &VipSpec, b: &VipSpec) -> bool {
    (a.addr, a.prefix_len, &a.dev) == (b.addr, b.prefix_len, &b.dev)
}

/// The index of interface `name`, 0 when there is none.
fn ifindex(name: &str) -> u32 {
    std::ffi::CString::new(name).map_or(0, |c| {
        // SAFETY: c is a valid NUL-terminated string.
        unsafe { libc::if_nametoindex(c.as_ptr()) }
    })
}

/// Record a probe result of `p`, logging a flip; true when it flipped.
fn ping_result(p: &mut PingJob, ok: bool) -> bool {
    let addr = p.cfg.address.map_or_else(String::new, |a: IpAddr| a.to_string());
    if !ok && p.dropped > 0 {
        warn!("VRRP_Ping({}) {addr}: dropped {} echo replies matching no probe", p.cfg.name, p.dropped);
        p.dropped = 0;
    }
    match p.health.record(ok) {
        Change::None => false,
        Change::Rose => {
            info!("VRRP_Ping({}) {addr} reachable", p.cfg.name);
            true
        }
        Change::Fell => {
            info!("VRRP_Ping({}) {addr} unreachable", p.cfg.name);
            true
        }
    }
}

/// The script of `notify_master` / `_backup` / `_fault` / `_stop` for entering `to`.
pub(super) fn state_script(n: &Notify, to: State) -> Option<&ConfCommand> {
    match to {
        State::Master => n.master.as_ref(),
        State::Backup => n.backup.as_ref(),
        State::Fault => n.fault.as_ref(),
        State::Stop => n.stop.as_ref(),
        State::Init => None,
    }
}

/// A sync group's `smtp_alert`, else `smtp_alert_vrrp`, else `smtp_alert`, else off.
fn group_alert(smtp_alert: Option<bool>, g: &GlobalDefs) -> bool {
    smtp_alert.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false)
}

/// The device of a `static_ipaddress` line: its `dev`, else `default_interface`.
fn static_dev(a: &VipSpec, g: &GlobalDefs) -> String {
    a.dev.clone().unwrap_or_else(|| g.default_interface.clone())
}

/// The alert for entering `to`, if one is sent (`no_email_faults`).
fn alert_state(to: State, g: &GlobalDefs) -> Option<VrrpState> {
    match to {
        State::Master => Some(VrrpState::Master),
        State::Backup => Some(VrrpState::Backup),
        State::Fault if !g.no_email_faults => Some(VrrpState::Fault),
        _ => None,
    }
}

/// The interface an address event is about: its IPv4 label, else the name
/// the index has now (the interface may be gone: then its index).
fn ifname_of(a: &crate::sys::link::Address) -> String {
    if let Some(label) = &a.label {
        return label.clone();
    }
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf holds IF_NAMESIZE bytes as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(a.index, buf.as_mut_ptr()) };
    if p.is_null() {
        return format!("interface #{}", a.index);
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_bytes, LoadOptions};
    use std::path::Path;

    fn load(conf: &str) -> Config {
        let opts = LoadOptions { config_id: "n1".into(), host_checks: false };
        let l = load_bytes("t.conf", conf.as_bytes(), Path::new("/"), &opts);
        assert!(!l.has_errors(), "{:?}", l.diags);
        l.config
    }

    const VI: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n \
                      virtual_ipaddress {\n 198.18.0.1\n }\n";

    #[test]
    fn each_state_runs_its_notify_script() {
        let c = load(&format!(
            "{VI} notify_master /m\n notify_backup /b\n notify_fault /f\n notify_stop /s\n}}\n\
             vrrp_instance B {{\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {{\n 198.18.0.2\n }}\n}}\n\
             vrrp_sync_group G {{\n group {{\n A\n B\n }}\n notify_master /gm\n notify_backup /gb\n \
             notify_fault /gf\n notify_stop /gs\n}}\n"
        ));
        let prog = |n: &Notify, s| state_script(n, s).map(|c| c.program().to_string());
        let (i, g) = (&c.instances[0].notify, &c.sync_groups[0].notify);
        for (st, a, b) in [
            (State::Master, "/m", "/gm"),
            (State::Backup, "/b", "/gb"),
            (State::Fault, "/f", "/gf"),
            (State::Stop, "/s", "/gs"),
        ] {
            assert_eq!(prog(i, st).as_deref(), Some(a));
            assert_eq!(prog(g, st).as_deref(), Some(b));
        }
        assert_eq!(prog(i, State::Init), None);
    }

    #[test]
    fn alerts_follow_keepalived_switches() {
        let c = load(&format!("global_defs {{\n no_email_faults\n smtp_alert_vrrp\n}}\n{VI}}}\n"));
        assert!(c.instances[0].effective_smtp_alert(&c.global), "smtp_alert_vrrp turns VRRP alerts on");
        assert_eq!(alert_state(State::Fault, &c.global), None, "no_email_faults");
        assert_eq!(alert_state(State::Master, &c.global), Some(VrrpState::Master));
        let c =
            load(&format!("global_defs {{\n smtp_alert\n smtp_alert_vrrp off\n}}\n{VI} smtp_alert\n}}\n"));
        assert!(c.instances[0].effective_smtp_alert(&c.global), "the instance's smtp_alert wins");
        assert_eq!(alert_state(State::Fault, &c.global), Some(VrrpState::Fault));
        let c = load(&format!("global_defs {{\n smtp_alert\n smtp_alert_vrrp off\n}}\n{VI}}}\n"));
        assert!(!c.instances[0].effective_smtp_alert(&c.global), "smtp_alert_vrrp over smtp_alert");
        let c = load(
            "global_defs {\n smtp_alert_checker off\n}\nvirtual_server 198.18.0.1 80 {\n protocol TCP\n \
             real_server 198.18.1.1 80 {\n TCP_CHECK {\n }\n }\n real_server 198.18.1.2 80 {\n smtp_alert\n \
             TCP_CHECK {\n }\n }\n}\n",
        );
        let vs = &c.virtual_servers[0];
        assert!(!vs.real_servers[0].effective_smtp_alert(vs, &c.global), "smtp_alert_checker off");
        let c = load(&format!(
            "global_defs {{\n smtp_alert\n}}\n{VI}}}\nvrrp_instance B {{\n interface eth0\n virtual_router_id 2\n \
             virtual_ipaddress {{\n 198.18.0.2\n }}\n}}\nvrrp_sync_group G {{\n group {{\n A\n B\n }}\n smtp_alert off\n}}\n"
        ));
        assert!(!group_alert(c.sync_groups[0].smtp_alert, &c.global), "the group's smtp_alert wins");
        assert!(group_alert(None, &c.global), "else smtp_alert");
        assert!(vs.real_servers[1].effective_smtp_alert(vs, &c.global), "real_server smtp_alert");
    }

    #[test]
    fn static_addresses_default_to_default_interface() {
        let c = load("global_defs {\n default_interface br0\n}\nstatic_ipaddress {\n 198.18.9.1/24\n 198.18.9.2/24 dev eth1\n}\n");
        let devs: Vec<String> = c.static_ipaddress.iter().map(|a| static_dev(a, &c.global)).collect();
        assert_eq!(devs, ["br0", "eth1"]);
        let c = load("static_ipaddress {\n 198.18.9.1/24\n}\n");
        assert_eq!(static_dev(&c.static_ipaddress[0], &c.global), "eth0", "keepalived's default");
    }
}
