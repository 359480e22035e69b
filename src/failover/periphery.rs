//! What runs around the VRRP instances, beside the protocol core: the
//! trackers (`tracking.rs`, `ping.rs`), sync groups (`sync_groups.rs`),
//! routes, rules and static addresses (`routes_rules_statics.rs`), the
//! IGMP sysctl (`igmp.rs`) and SMTP alerts (`alerts.rs`). This file holds
//! their state and the hooks `mod.rs` calls (`ext_*`); the decisions are
//! pure (`track`, `crate::vrrp::sync`, `routes`, `rules`).

use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use log::error;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::ping::PingJob;
use super::processes::ProcessWatch;
use super::routes_rules_statics::same_addr;
use super::track::{Source, Tracking};
use super::tracking::ScriptJob;
use super::VrrpEngine;
use crate::config::model::{IpLine, RouteLine, RuleLine, TrackFile, VipSpec, VrrpSyncGroup};
use crate::config::Config;
use crate::runtime::{tokens, TokenAlloc};
use crate::smtp::Mailer;
use crate::sys::icmp::{self, EchoSocket};
use crate::sys::track_file::TrackedFiles;
use crate::time::Monotonic;
use crate::vrrp::sync::SyncGroups;

pub(super) struct Periphery {
    pub(super) scripts: Vec<ScriptJob>,
    pub(super) pings: Vec<PingJob>,
    /// `vrrp_track_process`es in use and how their processes are watched.
    pub(super) processes: ProcessWatch,
    /// The trackers' state and rules (pure, `track.rs`).
    pub(super) tracking: Tracking,
    /// The sync groups' decisions, and each group's configuration (by the
    /// same index).
    pub(super) sync: SyncGroups,
    pub(super) group_cfgs: Vec<VrrpSyncGroup>,
    pub(super) static_addrs: Vec<VipSpec>,
    pub(super) static_routes: Vec<RouteLine>,
    pub(super) static_rules: Vec<RuleLine>,
    pub(super) statics_installed: bool,
    /// `disable_local_igmp` with an IPv4 VMAC configured.
    pub(super) quiet_local_igmp: bool,
    /// The IGMP report sysctl's value before vigil zeroed it.
    pub(super) igmp_saved: Option<i32>,
    pub(super) mailer: Option<Mailer>,
    pub(super) echo: [Option<(EchoSocket, Token)>; 2],
    pub(super) echo_id: u16,
    /// The `track_file` blocks instances track, open and watched.
    pub(super) files: Option<TrackedFiles>,
    /// What `files` must become at the next `ext_register` (set by
    /// `configure` when the tracked files changed).
    pub(super) files_wanted: Option<Vec<TrackFile>>,
    pub(super) file_token: Option<Token>,
    /// Track files were opened once: `init_file` no longer overwrites.
    pub(super) files_started: bool,
}

impl Periphery {
    pub(super) fn new(config: &Config) -> Periphery {
        let mut p = Periphery {
            scripts: Vec::new(),
            pings: Vec::new(),
            processes: ProcessWatch::default(),
            tracking: Tracking::default(),
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
            files: None,
            files_wanted: None,
            file_token: None,
            files_started: false,
        };
        p.configure(config);
        p.mailer = Mailer::from_config(&config.global, tokens::MAILER);
        p
    }

    /// Trackers and groups of `config`; health already known is kept.
    pub(super) fn configure(&mut self, config: &Config) {
        self.quiet_local_igmp = config.global.disable_local_igmp
            && config.instances.iter().any(|i| i.use_vmac.is_some() && !i.is_ipv6());
        let groups: Vec<&VrrpSyncGroup> =
            config.sync_groups.iter().filter(|g| g.members.len() >= 2).collect();
        self.tracking.configure(config);
        let mut scripts = Vec::new();
        for s in &config.vrrp_scripts {
            if !self.tracking.probes(&Source::Script(s.name.clone())) {
                continue;
            }
            let old = self.scripts.iter().find(|o| o.cfg.name == s.name && o.cfg.script == s.script);
            scripts.push(ScriptJob { cfg: s.clone(), due: old.and_then(|o| o.due) });
        }
        self.scripts = scripts;
        let mut pings = Vec::new();
        for p in &config.track_pings {
            if !self.tracking.probes(&Source::Ping(p.name.clone())) {
                continue;
            }
            let old = self.pings.iter().find(|o| o.cfg.name == p.name && o.cfg.address == p.address);
            let due = old.and_then(|o| o.due);
            let dev = match p.address {
                _ if p.interface.is_some() => p.interface.clone(),
                Some(IpAddr::V6(a)) if a.is_unicast_link_local() => config
                    .instances
                    .iter()
                    .filter(|i| {
                        self.tracking.items(&i.name).iter().any(|t| t.source == Source::Ping(p.name.clone()))
                    })
                    .find_map(|i| i.interface.clone()),
                _ => None,
            };
            let seq = icmp::random_id();
            pings.push(PingJob { cfg: p.clone(), due, seq, waiting: None, dev, dropped: 0 });
        }
        self.pings = pings;
        let files: Vec<TrackFile> = (config.track_files.iter())
            .filter(|f| self.tracking.tracks(&Source::File(f.name.clone())))
            .cloned()
            .collect();
        let key = |f: &TrackFile| (f.name.clone(), f.path.clone(), f.init);
        let open = self.files.as_ref().map_or(&[][..], TrackedFiles::files);
        if !files.iter().map(key).eq(open.iter().map(key)) {
            self.files_wanted = Some(files);
        }
        let procs: Vec<_> = (config.track_processes.iter())
            .filter(|p| self.tracking.tracks(&Source::Process(p.name.clone())))
            .cloned()
            .collect();
        self.processes.table.configure(&procs);
        let members = |g: &VrrpSyncGroup| g.members.iter().map(|(m, _)| m.clone()).collect();
        self.sync.configure(groups.iter().map(|g| (g.name.as_str(), members(g))));
        self.group_cfgs = groups.into_iter().cloned().collect();
    }

    /// Every tracker's health for `vigil status` and the metrics: scripts
    /// (a disabled one is BAD: it never runs), pings, track files (BAD
    /// while they hold an instance in FAULT; with their value) and tracked
    /// interfaces.
    pub(super) fn status(&self) -> crate::runtime::Json {
        use crate::runtime::Json;
        let good = |ok: bool| Json::from(if ok { "GOOD" } else { "BAD" });
        let row = |kind: &str, name: &str, ok: bool| {
            Json::obj([("kind", Json::from(kind)), ("name", Json::from(name)), ("state", good(ok))])
        };
        let t = &self.tracking;
        let scripts = self.scripts.iter().map(|j| {
            let ok = !t.script_disabled(&j.cfg.name) && t.probe_ok(&Source::Script(j.cfg.name.clone()));
            row("script", &j.cfg.name, ok)
        });
        let pings = self
            .pings
            .iter()
            .map(|j| row("ping", &j.cfg.name, t.probe_ok(&Source::Ping(j.cfg.name.clone()))));
        let files = self.files.iter().flat_map(|f| f.names()).map(|n| {
            let (value, faults) = t.file_state(&n);
            let (kind, name) = (Json::from("file"), Json::from(n));
            Json::obj([
                ("kind", kind),
                ("name", name),
                ("state", good(!faults)),
                ("value", Json::from(value)),
            ])
        });
        let processes =
            self.processes.table.counts().map(|(name, _, up)| row("process", name, up == Some(true)));
        let links = t.links().into_iter().map(|(n, up)| row("interface", n, up));
        Json::Arr(scripts.chain(pings).chain(files).chain(processes).chain(links).collect())
    }

    pub(super) fn group_of(&self, inst: &str) -> Option<usize> {
        self.sync.group_of(inst)
    }
}

impl VrrpEngine {
    /// Sockets for `track_ping` and the track files' inotify descriptor,
    /// registered with the loop.
    pub(super) fn ext_register(&mut self, registry: &Registry, tokens: &mut TokenAlloc) -> io::Result<()> {
        for (slot, ipv6) in [(0, false), (1, true)] {
            let needed =
                self.periphery.pings.iter().any(|p| p.cfg.address.is_some_and(|a| a.is_ipv6() == ipv6));
            if !needed || self.periphery.echo[slot].is_some() {
                continue;
            }
            match EchoSocket::open(ipv6) {
                Ok(sock) => {
                    let t = tokens.alloc();
                    registry.register(&mut SourceFd(&sock.as_raw_fd()), t, Interest::READABLE)?;
                    self.periphery.echo[slot] = Some((sock, t));
                }
                Err(e) => error!("track_ping: {e}"),
            }
        }
        self.open_track_files(registry, tokens);
        self.processes_register(registry, tokens, Monotonic::now());
        Ok(())
    }

    /// Before the instances start: interface states, static addresses and
    /// routes, sync-group holds, and the trackers' first verdict (so an
    /// instance with a failed tracker starts in FAULT).
    pub(super) fn ext_start(&mut self, now: Monotonic) {
        self.refresh_links();
        self.install_statics(true);
        self.apply_local_igmp();
        self.apply_sync_holds();
        for j in &mut self.periphery.scripts {
            j.due.get_or_insert(now);
        }
        for p in &mut self.periphery.pings {
            p.due.get_or_insert(now);
        }
        self.processes_start(now);
        self.reevaluate(now);
    }

    pub(super) fn ext_shutdown(&mut self) {
        self.install_statics(false);
        self.periphery.quiet_local_igmp = false;
        self.apply_local_igmp();
    }

    /// After a reload changed the instance list, before new instances start.
    pub(super) fn ext_reload(
        &mut self,
        registry: &Registry,
        tokens: &mut TokenAlloc,
        new: &Config,
        now: Monotonic,
    ) {
        self.periphery.configure(new);
        let old_addrs = std::mem::replace(&mut self.periphery.static_addrs, new.static_ipaddress.clone());
        let old_routes = std::mem::replace(&mut self.periphery.static_routes, new.static_routes.clone());
        let old_rules = std::mem::replace(&mut self.periphery.static_rules, new.static_rules.clone());
        let gone_addrs: Vec<VipSpec> =
            old_addrs.into_iter().filter(|o| !new.static_ipaddress.iter().any(|n| same_addr(o, n))).collect();
        fn gone<T>(old: Vec<IpLine<T>>, new: &[IpLine<T>]) -> Vec<IpLine<T>> {
            old.into_iter().filter(|o| !new.iter().any(|n| n.words == o.words)).collect()
        }
        let gone_routes = gone(old_routes, &new.static_routes);
        let gone_rules = gone(old_rules, &new.static_rules);
        self.static_changes(&gone_addrs, &gone_routes, &gone_rules, false);
        self.install_statics(true);
        self.apply_local_igmp();
        self.periphery.mailer = Mailer::from_config(&new.global, tokens::MAILER);
        if let Err(e) = self.ext_register(registry, tokens) {
            error!("track_ping socket: {e}");
        }
        for j in &mut self.periphery.scripts {
            j.due.get_or_insert(now);
        }
        for p in &mut self.periphery.pings {
            p.due.get_or_insert(now);
        }
        self.processes_start(now);
        self.refresh_links();
        self.apply_sync_holds();
        self.clear_vip_faults();
        self.reevaluate(now);
    }

    /// Pending instances that could start were appended: their sync-group
    /// hold and their trackers' verdict, before they start.
    pub(super) fn ext_instances_added(&mut self, now: Monotonic) {
        self.apply_sync_holds();
        self.reevaluate(now);
    }

    pub(super) fn ext_poll_timeout(&self) -> Option<Monotonic> {
        let e = &self.periphery;
        let scripts = e.scripts.iter().filter_map(|j| j.due);
        let pings = e.pings.iter().flat_map(|p| [p.due, p.waiting.map(|w| w.1)]).flatten();
        let mail = e.mailer.as_ref().and_then(Mailer::poll_timeout);
        scripts.chain(pings).chain(mail).chain(e.processes.poll_timeout()).min()
    }

    pub(super) fn ext_timeout(&mut self, registry: &Registry, now: Monotonic) {
        self.run_due_scripts(now);
        self.run_due_pings(now);
        self.processes_timeout(registry, now);
        if let Some(m) = self.periphery.mailer.as_mut() {
            if m.poll_timeout().is_some_and(|t| t <= now) {
                m.handle_timeout(registry, now);
            }
        }
        self.drain_mail();
        self.sync_settle(now);
    }

    /// Readiness on one of our tokens (mailer, echo sockets, inotify).
    pub(super) fn ext_event(&mut self, registry: &Registry, token: Token, now: Monotonic) -> bool {
        if let Some(m) = self.periphery.mailer.as_mut() {
            if m.handle_event(registry, token, now) {
                self.drain_mail();
                return true;
            }
        }
        self.ping_readable(token, now)
            || self.track_files_readable(token, now)
            || self.processes_readable(registry, token, now)
    }
}
