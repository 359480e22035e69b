//! The VRRP engine: runs one [`crate::vrrp::Instance`] per configured
//! instance against raw sockets, rtnetlink and ARP/ND, inside the VRRP
//! child's event loop.
//!
//! Sockets are pooled per (interface, family, unicast or multicast, source)
//! like keepalived's sockpool, and received adverts are handed to the
//! instance with the advert's VRID. Every call into an instance is followed
//! by draining its actions in order (`apply`), so the wire order is the
//! core's: advert first, then VIPs, then gratuitous ARPs.

mod ext;
mod garp;
pub mod params;
mod reload;
pub mod routes;
pub mod rules;
pub mod sync;
pub mod track;
mod vips;
mod vmac;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant as StdInstant, SystemTime};

use log::{debug, error, info, log, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::config::model::{Command as ConfCommand, GlobalDefs, VrrpInstance};
use crate::config::Config;
use crate::daemon::event_loop::{Subsystem, TokenAlloc};
use crate::daemon::json::Json;
use crate::script::{self, Command, Job, NotifyScope, Order, ScriptRunner, ScriptUser, UserDb};
use crate::sys::link::{self, Link, Monitor};
use crate::sys::netlink;
use crate::sys::vrrp_socket::{SocketConfig, VrrpSocket, VRRP_GROUP_V4, VRRP_GROUP_V6};
use crate::sys::{addr, Error as SysError};
use crate::vrrp::{self, Action, Family, Reject, RxContext, State};

use garp::GarpQueue;

/// A pooled socket not yet registered with the poll loop.
const NO_TOKEN: Token = Token(usize::MAX);
/// Tokens for script pidfds start here, far above what `TokenAlloc` hands out.
const SCRIPT_TOKEN_BASE: usize = 1 << 24;
/// A notify script that runs longer than this is stopped.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// One pooled advert socket and the instances that listen on it.
struct Pooled {
    key: SockKey,
    sock: VrrpSocket,
    token: Token,
    members: Vec<usize>,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct SockKey {
    ifindex: u32,
    family: Family,
    unicast: bool,
    src: Option<IpAddr>,
}

/// A running instance: its configuration, its protocol core and the
/// interface facts the edge needs.
struct Inst {
    cfg: VrrpInstance,
    core: vrrp::Instance,
    ifindex: u32,
    ifname: String,
    mac: [u8; 6],
    /// Index into `VrrpEngine::socks`.
    sock: usize,
    /// The multicast group, or every unicast peer.
    dsts: Vec<IpAddr>,
    /// Wall-clock time of the last state change, for status.
    since: SystemTime,
    vips_set: bool,
    /// The `use_vmac` macvlan.
    vmac: Option<vmac::Vmac>,
}

pub struct VrrpEngine {
    global: GlobalDefs,
    epoch: StdInstant,
    insts: Vec<Inst>,
    socks: Vec<Pooled>,
    nl: netlink::Socket,
    monitor: Option<(Monitor, Token)>,
    arp: Option<crate::sys::garp::ArpSocket>,
    na: Option<crate::sys::garp::NaSocket>,
    garps: GarpQueue,
    scripts: Option<ScriptRunner>,
    users: UserDb,
    /// Packets that could not be handed to any instance.
    unknown_vrid: u64,
    malformed: u64,
    rxbuf: Vec<u8>,
    started: bool,
    /// `vrrp_startup_delay`: the instances start at this instant.
    start_at: Option<StdInstant>,
    /// Tracking, sync groups, routes, static addresses, alerts (`ext.rs`).
    ext: ext::Ext,
    vmacs: vmac::Vmacs,
}

impl VrrpEngine {
    /// Resolve interfaces and open sockets for every instance of `config`.
    /// An instance whose interface is missing is skipped with an error, as
    /// keepalived refuses to run it.
    pub fn new(config: &Config) -> io::Result<VrrpEngine> {
        let mut nl = netlink::Socket::open().map_err(io::Error::from)?;
        let links = link::dump_links(&mut nl).map_err(io::Error::from)?;
        let addrs = link::dump_addrs(&mut nl, None, None).map_err(io::Error::from)?;
        let mut engine = VrrpEngine {
            global: config.global.clone(),
            epoch: StdInstant::now(),
            insts: Vec::new(),
            socks: Vec::new(),
            nl,
            monitor: None,
            arp: crate::sys::garp::ArpSocket::open().map_err(|e| warn!("no ARP socket: {e}")).ok(),
            na: crate::sys::garp::NaSocket::open().map_err(|e| warn!("no NA socket: {e}")).ok(),
            garps: GarpQueue::default(),
            scripts: None,
            users: UserDb::system().unwrap_or_else(|_| UserDb::parse("root:x:0:0::/:/bin/sh\n", "")),
            unknown_vrid: 0,
            malformed: 0,
            rxbuf: vec![0u8; 65536],
            started: false,
            start_at: None,
            ext: ext::Ext::new(config),
            vmacs: vmac::Vmacs::default(),
        };
        for cfg in &config.instances {
            match engine.build_instance(cfg, &links, &addrs) {
                Ok(inst) => engine.insts.push(inst),
                Err(e) => error!("({}) cannot start: {e}", cfg.name),
            }
        }
        Ok(engine)
    }

    fn build_instance(
        &mut self,
        cfg: &VrrpInstance,
        links: &[Link],
        addrs: &[link::Address],
    ) -> Result<Inst, String> {
        let ifname = cfg.interface.clone().ok_or("no interface given")?;
        let link = links
            .iter()
            .find(|l| l.name == ifname)
            .ok_or_else(|| format!("interface {ifname} does not exist"))?;
        let family = if cfg.is_ipv6() { Family::V6 } else { Family::V4 };
        let unicast = cfg.is_unicast();
        let mine: Vec<link::Address> = addrs.iter().filter(|a| a.index == link.index).cloned().collect();
        let configured_src = if unicast { cfg.unicast_src_ip } else { cfg.mcast_src_ip };
        let source = advert_source(cfg, family, &mine, &ifname)?;
        let params = params::instance_params(cfg, &self.global, source);
        let vmac = self.vmacs.setup(&mut self.nl, cfg, link)?;
        let key = match &vmac {
            // The macvlan has no IPv4 address of its own: without a source the kernel would pick a VIP.
            Some(v) if !cfg.vmac_xmit_base => {
                let src = configured_src.or((family == Family::V4).then_some(source));
                SockKey { ifindex: v.index, family, unicast, src }
            }
            _ => SockKey { ifindex: link.index, family, unicast, src: configured_src },
        };
        let sock = match self.pooled_socket(&key, cfg.unicast_ttl) {
            Ok(s) => s,
            Err(e) => {
                if let Some(v) = vmac {
                    self.vmacs.teardown(&mut self.nl, v);
                }
                return Err(e.to_string());
            }
        };
        let dsts = if unicast {
            params.unicast_peers.clone()
        } else if family == Family::V4 {
            vec![IpAddr::V4(VRRP_GROUP_V4)]
        } else {
            vec![IpAddr::V6(VRRP_GROUP_V6)]
        };
        let index = self.insts.len();
        self.socks[sock].members.push(index);
        Ok(Inst {
            cfg: cfg.clone(),
            core: vrrp::Instance::new(params),
            ifindex: link.index,
            ifname,
            mac: link.mac.unwrap_or([0; 6]),
            sock,
            dsts,
            since: SystemTime::now(),
            vips_set: false,
            vmac,
        })
    }

    fn pooled_socket(&mut self, key: &SockKey, unicast_ttl: u8) -> Result<usize, SysError> {
        if let Some(i) = self.socks.iter().position(|s| &s.key == key) {
            return Ok(i);
        }
        let mut sc = if key.unicast {
            SocketConfig::unicast(key.ifindex)
        } else if key.family == Family::V4 {
            SocketConfig::multicast_v4(key.ifindex)
        } else {
            SocketConfig::multicast_v6(key.ifindex)
        };
        sc.src = key.src;
        sc.unicast_ttl = unicast_ttl;
        let sock = match key.family {
            Family::V4 => VrrpSocket::open_v4(&sc)?,
            Family::V6 => VrrpSocket::open_v6(&sc)?,
        };
        self.socks.push(Pooled { key: key.clone(), sock, token: NO_TOKEN, members: Vec::new() });
        Ok(self.socks.len() - 1)
    }

    fn vnow(&self, now: StdInstant) -> vrrp::Instant {
        vrrp::Instant::from_micros(now.saturating_duration_since(self.epoch).as_micros() as u64)
    }

    fn std_instant(&self, t: vrrp::Instant) -> StdInstant {
        self.epoch + Duration::from_micros(t.as_micros())
    }

    /// Apply every action instance `i` has queued, in order.
    fn apply(&mut self, i: usize, now: StdInstant) {
        while let Some(action) = self.insts[i].core.poll_action() {
            match action {
                Action::SendAdvert { priority } => self.send_advert(i, priority),
                Action::AddVips => self.set_vips(i, true),
                Action::RemoveVips => self.set_vips(i, false),
                Action::SendGratuitous { repeat, spacing } => {
                    let inst = &self.insts[i];
                    let vips: Vec<IpAddr> =
                        inst.cfg.vips.iter().chain(&inst.cfg.vips_excluded).map(|v| v.addr).collect();
                    info!(
                        "({}) Sending/queueing gratuitous ARPs on {} for {}",
                        inst.cfg.name,
                        inst.ifname,
                        vips.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" ")
                    );
                    let (ifindex, mac) = inst.garp_dev();
                    self.garps.queue(i, ifindex, mac, vips, repeat, spacing, now);
                    self.send_due_garps(now);
                }
                Action::StateChange { from, to, reason } => {
                    debug!("({}) {from} -> {to} ({reason:?})", self.insts[i].cfg.name);
                    self.insts[i].since = SystemTime::now();
                    if to != State::Master {
                        self.garps.cancel(i);
                    }
                    self.notify(i, to, now);
                    self.ext_state_change(i, from, to, now);
                }
                Action::Log { level, line } => log!(level, "{line}"),
            }
        }
    }

    fn send_advert(&mut self, i: usize, priority: u8) {
        let inst = &self.insts[i];
        let advert = inst.core.advert(priority);
        let sock = &self.socks[inst.sock].sock;
        for &dst in &inst.dsts {
            let bytes = match advert.to_bytes(inst.core.tx_checksum_form(dst)) {
                Ok(b) => b,
                Err(e) => {
                    error!("({}) cannot build advert: {e:?}", inst.cfg.name);
                    return;
                }
            };
            if let Err(e) = sock.send_to(dst, &bytes) {
                warn!("({}) advert to {dst} on {} failed: {e}", inst.cfg.name, inst.ifname);
            }
        }
    }

    /// Add or remove the instance's VIPs and excluded VIPs. Addresses that
    /// are already there (or already gone) count as done.
    fn set_vips(&mut self, i: usize, add: bool) {
        let inst = &mut self.insts[i];
        inst.vips_set = add;
        for vip in inst.cfg.vips.iter().chain(&inst.cfg.vips_excluded) {
            let (ifindex, ifname) = match &vip.dev {
                None => inst.vip_dev(),
                Some(dev) if dev == &inst.ifname => (inst.ifindex, inst.ifname.clone()),
                Some(dev) => match link::link_by_name(&mut self.nl, dev) {
                    Ok(Some(l)) => (l.index, l.name),
                    _ => {
                        warn!("({}) VIP {}: device {dev} not found", inst.cfg.name, vips::show(vip));
                        continue;
                    }
                },
            };
            let spec = vips::addr_spec(vip, ifindex, &ifname);
            let res = if add { addr::add(&mut self.nl, &spec) } else { addr::delete(&mut self.nl, &spec) };
            if let Err(e) = res {
                let verb = if add { "add" } else { "remove" };
                error!("({}) cannot {verb} VIP {} on {ifname}: {e}", inst.cfg.name, vips::show(vip));
            }
        }
        self.ext_vips_changed(i, add);
    }

    fn send_due_garps(&mut self, now: StdInstant) {
        let names: Vec<(&str, &str)> =
            self.insts.iter().map(|i| (i.cfg.name.as_str(), i.ifname.as_str())).collect();
        self.garps.send_due(now, self.arp.as_ref(), self.na.as_ref(), |i| names[i].1);
    }

    /// Queue the notify scripts for a transition of instance `i`.
    fn notify(&mut self, i: usize, to: State, now: StdInstant) {
        let inst = &self.insts[i];
        let n = &inst.cfg.notify;
        if to == State::Init {
            return;
        }
        let specific = ext::state_script(n, to);
        let prio = inst.core.effective_priority();
        let key = script::notify_key(NotifyScope::Instance, &inst.cfg.name);
        let mut jobs = Vec::new();
        if let Some(c) = specific {
            jobs.push((c.clone(), Vec::new()));
        }
        if let Some(c) = &n.any {
            jobs.push((
                c.clone(),
                script::notify_args(NotifyScope::Instance, &inst.cfg.name, to.as_str(), prio),
            ));
        }
        for (cmd, args) in jobs {
            self.run_script(&key, &cmd, args, now);
        }
    }

    fn run_script(&mut self, key: &str, cmd: &ConfCommand, args: Vec<String>, now: StdInstant) {
        let Some(runner) = self.scripts.as_mut() else { return };
        let mut command = match Command::from_words(&cmd.args) {
            Ok(c) => c,
            Err(e) => {
                error!("script {:?}: {e}", cmd.args.join(" "));
                return;
            }
        };
        if let Err(e) = command.resolve(&script::search_path()) {
            error!("script {:?}: {e}", cmd.args.join(" "));
            return;
        }
        let user = script_user(&self.users, &self.global, cmd);
        let job = Job {
            key: key.to_string(),
            command,
            args,
            user,
            timeout: Some(NOTIFY_TIMEOUT),
            order: Order::Queue,
        };
        if let Err(e) = runner.spawn(job, now) {
            warn!("script {:?} not started: {e}", cmd.args.join(" "));
        }
    }

    fn reap_scripts(&mut self, now: StdInstant) {
        let Some(runner) = self.scripts.as_mut() else { return };
        let finished: Vec<_> = std::iter::from_fn(|| runner.poll_completion()).collect();
        for done in finished {
            if self.ext_script_done(&done, now) {
                continue;
            }
            if !done.outcome.success() {
                warn!("notify script for {} ended: {:?}", done.key, done.outcome);
            }
        }
    }

    /// Read every pending packet from pooled socket `s`.
    fn receive(&mut self, s: usize, now: StdInstant) {
        let vnow = self.vnow(now);
        loop {
            let got = self.socks[s].sock.recv(&mut self.rxbuf);
            let r = match got {
                Ok(r) => r,
                Err(e) if e.is_would_block() => return,
                Err(e) => {
                    self.malformed += 1;
                    debug!("VRRP receive: {e}");
                    if e.errno() == libc::EMSGSIZE || e.errno() == 0 {
                        continue;
                    }
                    return;
                }
            };
            let bytes = &self.rxbuf[r.payload.clone()];
            let Some(&vrid) = bytes.get(1) else {
                self.malformed += 1;
                continue;
            };
            let ctx = RxContext {
                src: r.meta.src,
                dst: r.meta.dst,
                ttl: r.meta.ttl_or_hop_limit,
                ip_header_len: r.payload.start,
            };
            let target =
                self.socks[s].members.iter().copied().find(|&i| self.insts[i].core.params().vrid == vrid);
            match target {
                Some(i) => {
                    let bytes = &self.rxbuf[r.payload.clone()];
                    let _: Result<(), Reject> = self.insts[i].core.receive(vnow, &ctx, bytes);
                    self.apply(i, now);
                }
                None => self.unknown_vrid += 1,
            }
        }
    }

    /// Link events feed the trackers (`ext.rs`): the instance interface
    /// (unless `dont_track_primary`) and every `track_interface`.
    fn link_events(&mut self, now: StdInstant) {
        self.ext_link_events(now);
    }

    fn start(&mut self, now: StdInstant) {
        if self.started {
            return;
        }
        self.started = true;
        self.ext_start(now);
        let vnow = self.vnow(now);
        // The link monitor only reports changes: an interface that is already down must put
        // its instances in FAULT now, or they would elect themselves on a dead link.
        let down: Vec<u32> = match link::dump_links(&mut self.nl) {
            Ok(links) => links.iter().filter(|l| !(l.is_up() && l.is_running())).map(|l| l.index).collect(),
            Err(e) => {
                warn!("link state at start unknown: {e}");
                Vec::new()
            }
        };
        for i in 0..self.insts.len() {
            // Addresses left by a previous run (kill -9) must not linger on a backup.
            self.set_vips(i, false);
            let inst = &mut self.insts[i];
            if down.contains(&inst.ifindex) && !inst.cfg.dont_track_primary {
                info!("Netlink reports {} down", inst.ifname);
                inst.core.set_fault(vnow, true);
            }
            self.insts[i].core.start(vnow);
            self.apply(i, now);
        }
    }
}

/// A notify script's user: its own, else `script_user`, else the default.
fn script_user(users: &UserDb, g: &GlobalDefs, cmd: &ConfCommand) -> ScriptUser {
    let own = cmd.user.as_deref().map(|u| (u, cmd.group.as_deref()));
    let global = g.script_user.as_ref().map(|(u, grp)| (u.as_str(), grp.as_deref()));
    users.resolve(&[own, global])
}

impl Subsystem for VrrpEngine {
    fn register(&mut self, registry: &Registry, tokens: &mut TokenAlloc) -> io::Result<()> {
        for s in &mut self.socks {
            s.token = tokens.alloc();
            registry.register(&mut SourceFd(&s.sock.as_raw_fd()), s.token, Interest::READABLE)?;
        }
        match Monitor::open() {
            Ok(m) => {
                let t = tokens.alloc();
                registry.register(&mut SourceFd(&m.as_raw_fd()), t, Interest::READABLE)?;
                self.monitor = Some((m, t));
            }
            Err(e) => warn!("no link monitor, interface state is not tracked: {e}"),
        }
        self.scripts = Some(ScriptRunner::new(Some(registry), SCRIPT_TOKEN_BASE)?);
        self.ext_register(registry, tokens)?;
        let now = StdInstant::now();
        let delay = self.global.vrrp_startup_delay;
        if delay.is_zero() {
            self.start(now);
        } else {
            // keepalived's vrrp_startup_delay: slow links (bonds, VMs) come up first.
            info!("Delaying startup for {} seconds", delay.as_secs_f64());
            self.start_at = Some(now + delay);
        }
        Ok(())
    }

    fn handle_event(&mut self, registry: &Registry, event: &mio::event::Event, now: StdInstant) {
        let token = event.token();
        if let Some(s) = self.socks.iter().position(|s| s.token == token) {
            self.receive(s, now);
        } else if self.ext_event(registry, token, now) {
        } else if self.monitor.as_ref().is_some_and(|(_, t)| *t == token) {
            self.link_events(now);
        } else if let Some(r) = self.scripts.as_mut() {
            if r.handle_event(token, now) {
                self.reap_scripts(now);
            }
        }
    }

    fn poll_timeout(&self) -> Option<StdInstant> {
        let cores = self.insts.iter().filter_map(|i| i.core.poll_timeout()).map(|t| self.std_instant(t));
        let scripts = self.scripts.as_ref().and_then(ScriptRunner::poll_timeout);
        cores
            .chain(self.garps.next_due())
            .chain(scripts)
            .chain(self.ext_poll_timeout())
            .chain(self.start_at)
            .min()
    }

    fn handle_timeout(&mut self, registry: &Registry, now: StdInstant) {
        if self.start_at.is_some_and(|t| t <= now) {
            self.start_at = None;
            self.start(now);
        }
        let vnow = self.vnow(now);
        for i in 0..self.insts.len() {
            if self.insts[i].core.poll_timeout().is_some_and(|t| t <= vnow) {
                self.insts[i].core.handle_timeout(vnow);
                self.apply(i, now);
            }
        }
        self.send_due_garps(now);
        if let Some(r) = self.scripts.as_mut() {
            r.handle_timeout(now);
        }
        self.reap_scripts(now);
        self.ext_timeout(registry, now);
    }

    fn reload(
        &mut self,
        registry: &Registry,
        tokens: &mut TokenAlloc,
        new_config: &Config,
        now: StdInstant,
    ) -> Result<(), String> {
        self.reload_config(registry, tokens, new_config, now)
    }

    fn shutdown(&mut self, _registry: &Registry, now: StdInstant) {
        let vnow = self.vnow(now);
        for i in 0..self.insts.len() {
            self.insts[i].core.shutdown(vnow);
            self.apply(i, now);
            if self.insts[i].vips_set {
                self.set_vips(i, false);
            }
            self.vmac_teardown(i);
        }
        self.ext_shutdown();
        // Give notify_stop scripts a moment; the runner kills what is left.
        if let Some(r) = self.scripts.as_mut() {
            let deadline = StdInstant::now() + Duration::from_millis(500);
            while r.running() > 0 && StdInstant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
                r.handle_timeout(StdInstant::now());
                r.reap_exited();
            }
        }
    }

    fn dump_data(&self) -> String {
        let mut out = String::new();
        for i in &self.insts {
            let p = i.core.params();
            out.push_str(&format!(
                " VRRP Instance = {}\n   State = {}\n   Interface = {}\n   Virtual Router ID = {}\n   \
                 Priority = {}\n   Effective priority = {}\n   Advert interval = {} cs\n   Version = {}\n   \
                 Virtual IP = {}\n",
                i.cfg.name,
                i.core.state(),
                i.ifname,
                p.vrid,
                p.priority,
                i.core.effective_priority(),
                p.advert_interval_cs,
                p.version.number(),
                i.cfg.vips.iter().map(vips::show).collect::<Vec<_>>().join(", "),
            ));
        }
        out
    }

    fn dump_stats(&self) -> String {
        let mut out = String::new();
        for i in &self.insts {
            let c = i.core.counters();
            out.push_str(&format!(
                "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  \
                 Released master: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n  Packet Errors:\n",
                i.cfg.name, c.rx, c.tx, c.became_master, c.released_master, c.prio0_rx, c.prio0_tx
            ));
            for r in Reject::ALL {
                out.push_str(&format!("    {r:?}: {}\n", c.rejects(r)));
            }
        }
        out
    }

    fn clear_stats(&mut self) {
        self.unknown_vrid = 0;
        self.malformed = 0;
        for i in &mut self.insts {
            i.core.clear_counters();
        }
    }

    fn status(&self) -> Json {
        let instances = self.insts.iter().map(instance_status).collect();
        Json::obj([
            ("instances", Json::Arr(instances)),
            ("unknown_vrid", Json::from(self.unknown_vrid)),
            ("malformed", Json::from(self.malformed)),
        ])
    }
}

fn instance_status(i: &Inst) -> Json {
    let p = i.core.params();
    let c = i.core.counters();
    let since = i.since.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut rejects = Vec::new();
    for r in Reject::ALL {
        rejects.push((format!("{r:?}"), Json::from(c.rejects(r))));
    }
    Json::obj([
        ("name", Json::from(i.cfg.name.as_str())),
        ("state", Json::from(i.core.state().as_str())),
        ("interface", Json::from(i.ifname.as_str())),
        ("vrid", Json::from(u32::from(p.vrid))),
        ("version", Json::from(u32::from(p.version.number()))),
        ("priority", Json::from(u32::from(p.priority))),
        ("effective_priority", Json::from(u32::from(i.core.effective_priority()))),
        ("master", i.core.master().map_or(Json::Null, |m| Json::from(m.addr.to_string()))),
        ("vips", Json::Arr(i.cfg.vips.iter().map(|v| Json::from(vips::show(v))).collect())),
        ("last_transition", Json::from(since)),
        ("rx", Json::from(c.rx)),
        ("tx", Json::from(c.tx)),
        ("became_master", Json::from(c.became_master)),
        ("released_master", Json::from(c.released_master)),
        ("lower_prio_unanswered", Json::from(c.lower_prio_unanswered)),
        ("rejected", Json::Obj(rejects)),
    ])
}

/// The VRRP child's subsystem, for `daemon::engines`.
pub fn subsystem(config: &Config) -> Result<Box<dyn Subsystem>, String> {
    let engine = VrrpEngine::new(config).map_err(|e| format!("VRRP engine: {e}"))?;
    if engine.insts.is_empty() && !config.instances.is_empty() {
        return Err("no VRRP instance could be started".into());
    }
    Ok(Box::new(engine))
}

/// A map from instance name to state, for tests and the sync-group logic.
pub fn states(engine: &VrrpEngine) -> HashMap<String, State> {
    engine.insts.iter().map(|i| (i.cfg.name.clone(), i.core.state())).collect()
}

/// Where `cfg`'s adverts leave from: `unicast_src_ip` (unicast) or
/// `mcast_src_ip` (multicast), else the interface's primary IPv4 address
/// or its IPv6 link-local address, as keepalived picks them.
fn advert_source(
    cfg: &VrrpInstance,
    family: Family,
    mine: &[link::Address],
    ifname: &str,
) -> Result<IpAddr, String> {
    let configured = if cfg.is_unicast() { cfg.unicast_src_ip } else { cfg.mcast_src_ip };
    Ok(match (configured, family) {
        (Some(ip), _) => ip,
        (None, Family::V4) => {
            link::primary_ipv4(mine).map(|a| a.addr).ok_or_else(|| format!("no IPv4 address on {ifname}"))?
        }
        (None, Family::V6) => link::ipv6_link_local(mine)
            .map(|a| a.addr)
            .ok_or_else(|| format!("no IPv6 link-local address on {ifname}"))?,
    })
}

#[cfg(test)]
mod source_tests {
    use super::*;
    use crate::config::{load_bytes, LoadOptions};
    use std::path::Path;

    #[test]
    fn adverts_leave_from_mcast_or_unicast_src_ip() {
        let conf = "vrrp_instance M {\n interface eth0\n virtual_router_id 1\n mcast_src_ip 198.18.0.9\n \
                    unicast_src_ip 198.18.0.8\n virtual_ipaddress {\n 198.18.0.100\n }\n}\n\
                    vrrp_instance U {\n interface eth0\n virtual_router_id 2\n mcast_src_ip 198.18.0.9\n \
                    unicast_src_ip 198.18.0.8\n unicast_peer {\n 198.18.0.2\n }\n \
                    virtual_ipaddress {\n 198.18.0.101\n }\n}\n\
                    vrrp_instance D {\n interface eth0\n virtual_router_id 3\n virtual_ipaddress {\n 198.18.0.102\n }\n}\n";
        let opts = LoadOptions { config_id: "n1".into(), host_checks: false };
        let c = load_bytes("t.conf", conf.as_bytes(), Path::new("/"), &opts).config;
        let mine = [link::Address {
            index: 2,
            addr: "198.18.0.1".parse().unwrap(),
            prefix_len: 24,
            scope: 0,
            flags: 0,
            label: None,
            broadcast: None,
        }];
        let src = |i: usize| advert_source(&c.instances[i], Family::V4, &mine, "eth0").unwrap().to_string();
        assert_eq!(src(0), "198.18.0.9", "mcast_src_ip");
        assert_eq!(src(1), "198.18.0.8", "unicast_src_ip");
        assert_eq!(src(2), "198.18.0.1", "the interface's primary address");
    }
}
