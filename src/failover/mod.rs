//! Failover, the VRRP engine: runs one [`crate::vrrp::Instance`] (the pure
//! protocol core) per configured instance against raw sockets, rtnetlink and
//! ARP/ND inside the VRRP child's event loop, and carries out what the
//! instances decide (VIPs, gratuitous ARPs, routes, notifies, sync groups).
//!
//! Sockets are pooled per (interface, family, unicast or multicast, source)
//! like keepalived's sockpool, and received adverts are handed to the
//! instance with the advert's VRID. Every call into an instance is followed
//! by draining its actions in order (`apply`), so the wire order is the
//! core's: advert first, then VIPs, then gratuitous ARPs. What one
//! instance's change does to others (its sync group) is queued and done
//! after, in order (`work.rs`). A VIP the kernel refuses is retried on the
//! loop's timers and then faults the instance (`vips.rs`, `retry_vips`).

mod alerts;
use alerts::Removal;
mod firewall;
mod garp;
mod igmp;
mod lateness;
mod lvs_sync;
pub mod params;
mod pending;
mod periphery;
mod ping;
mod processes;
mod reload;
mod resume;
mod routes_rules_statics;
mod sync_groups;
#[cfg(test)]
mod sync_lan;
pub mod track;
pub mod track_process;
mod tracking;
mod vips;
mod vmac;
mod work;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime};

use log::{debug, error, info, log, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::config::model::{Command as ConfCommand, GlobalDefs, VipSpec, VrrpInstance, VrrpSyncGroup};
use crate::config::Config;
use crate::runtime::{tokens, Json, Subsystem, TokenAlloc};
use crate::script::fifo::{self as notify_fifo, FifoSet, Only, Writer};
use crate::script::{self, Command, Job, NotifyScope, Order, ScriptKind, ScriptPolicy, ScriptRunner};
use crate::sys::link::{self, Link, Monitor};
use crate::sys::netlink;
use crate::sys::nftables;
use crate::sys::vrrp_socket::{
    Received, RecvBatch, SocketConfig, VrrpSocket, RECV_BATCH, VRRP_GROUP_V4, VRRP_GROUP_V6,
};
use crate::sys::{addr, Error as SysError};
use crate::time::{Epoch, Monotonic};
use crate::vrrp::{self, Action, Family, Reject, RxContext, State};

use garp::GarpQueue;
use lateness::Lateness;
use pending::{Pending, Placement};
pub use resume::ResumeFrom;
use vips::{VipOutcome, VipRetry, VIP_ADD_RETRIES};
use work::{Work, WorkQueue};

/// A pooled socket not yet registered with the poll loop.
const NO_TOKEN: Token = Token(usize::MAX);

/// The longest a socket that delivered a burst of adverts stays out of the
/// poll set (`VrrpEngine::pace_socket`).
const MAX_BURST_WINDOW: Duration = Duration::from_millis(1);

/// One pooled advert socket and the instances that listen on it.
struct Pooled {
    key: SockKey,
    sock: VrrpSocket,
    token: Token,
    members: Members,
    /// Out of the poll set until then, to read a burst at once (`pace_socket`).
    resume_at: Option<Monotonic>,
    /// When a read last found adverts.
    last_rx: Option<Monotonic>,
    /// The receive buffer last asked of the kernel (0: its default).
    rx_buf: u64,
}

/// The instances on a pooled socket by VRID, so a received advert finds its
/// instance in one step however many share the socket. The first instance
/// with a VRID takes its adverts (a VRID twice on one socket is allowed
/// only for unicast instances with disjoint peers).
struct Members {
    by_vrid: [u32; 256],
    all: Vec<usize>,
}

impl Members {
    const NONE: u32 = u32::MAX;

    fn new() -> Members {
        Members { by_vrid: [Members::NONE; 256], all: Vec::new() }
    }

    fn add(&mut self, vrid: u8, inst: usize) {
        self.all.push(inst);
        let slot = &mut self.by_vrid[usize::from(vrid)];
        if *slot == Members::NONE {
            *slot = u32::try_from(inst).unwrap_or(Members::NONE);
        }
    }

    fn clear(&mut self) {
        *self = Members::new();
    }

    fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Every instance on the socket.
    fn iter(&self) -> std::slice::Iter<'_, usize> {
        self.all.iter()
    }

    fn get(&self, vrid: u8) -> Option<usize> {
        let inst = self.by_vrid[usize::from(vrid)];
        (inst != Members::NONE).then_some(inst as usize)
    }
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct SockKey {
    ifindex: u32,
    family: Family,
    /// The group joined (`vrrp_mcast_group4/6`); None in unicast mode.
    group: Option<IpAddr>,
    src: Option<IpAddr>,
    /// IP protocol 51 (AH) rather than 112.
    ah: bool,
}

/// A running instance: its configuration, its protocol core and the
/// interface facts the edge needs.
struct RunningInstance {
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
    /// VIP adds the kernel refused, to try again.
    vip_retry: Option<VipRetry>,
    /// VIPs that could not be added after every retry: the instance is
    /// held in FAULT until an interface changes or a reload.
    vip_fault: Option<String>,
    /// The `use_vmac` macvlan.
    vmac: Option<vmac::Vmac>,
    /// IP identification of the last AH advert (AH covers the IP header,
    /// so vigil writes it; keepalived counts per advert and skips 0).
    ip_id: u16,
    /// How late its periodic adverts left, for status.
    lateness: Lateness,
    /// Removed by a reload: the state it was in, for what its leaving
    /// reports (`alerts::removal_report`).
    removed_from: Option<State>,
    /// Its share of its socket's receive buffer (`vrrp_rx_bufs_policy`).
    rx_buf_share: u64,
}

pub struct VrrpEngine {
    global: GlobalDefs,
    /// The running configuration's sync groups, which reload compares.
    sync_groups: Vec<VrrpSyncGroup>,
    epoch: Epoch,
    insts: Vec<RunningInstance>,
    /// Configured instances whose interface or source address is not there yet.
    pending: Vec<Pending>,
    socks: Vec<Pooled>,
    /// Sockets registered so far, for the next socket token.
    sockets_registered: usize,
    nl: netlink::Socket,
    monitor: Option<(Monitor, Token)>,
    arp: Option<crate::sys::garp::ArpSocket>,
    na: Option<crate::sys::garp::NaSocket>,
    garps: GarpQueue,
    scripts: Option<ScriptRunner>,
    /// Who runs each script and whether it may run (checked at start and on reload).
    policy: ScriptPolicy,
    /// Whether any instance uses auth_hmac (`sync_wall_clock`).
    hmac_instances: bool,
    /// Packets that could not be handed to any instance.
    unknown_vrid: u64,
    malformed: u64,
    rx: RecvBatch,
    started: bool,
    /// `vrrp_startup_delay`: the instances start at this instant.
    start_at: Option<Monotonic>,
    /// Tracking, sync groups, routes, static addresses, alerts (`periphery.rs`).
    periphery: periphery::Periphery,
    /// `lvs_sync_daemon ... inst VI`: the IPVS sync daemon follows VI.
    lvs_sync: lvs_sync::LvsSync,
    /// Work not done yet (`run_queue`).
    work: WorkQueue,
    vmacs: vmac::Vmacs,
    /// False under `-V/--dont-release-vrrp`: a stop leaves VIPs, virtual
    /// routes and rules and VMACs as they are, and sends no priority-0 advert.
    release_on_exit: bool,
    /// `-a/--address-monitoring`: log every address added or removed.
    log_address_changes: bool,
    /// `notify_fifo` / `vrrp_notify_fifo`, opened at `register`.
    fifos: FifoSet,
    only: Only,
    /// Which children run, for who reads the global FIFO.
    children: notify_fifo::Children,
    /// The state kept for, and left by, a VRRP child restarted after a crash.
    resume: resume::Resume,
    /// `no_accept`: the nf_tables sets that drop traffic to a MASTER's VIPs.
    firewall: firewall::Firewall,
}

impl VrrpEngine {
    /// Resolve interfaces and open sockets for every instance of `config`.
    /// An instance whose interface or source address is missing waits
    /// (`pending.rs`).
    pub fn new(config: &Config, only: Only) -> io::Result<VrrpEngine> {
        let mut nl = netlink::Socket::open().map_err(io::Error::from)?;
        let cb = config.global.netlink_bufs.vrrp_cmd;
        if let Err(e) = nl.set_configured_recv_buffer(cb.bytes, cb.force) {
            warn!("vrrp_netlink_cmd_rcv_bufs {}: {e}", cb.bytes);
        }
        let (links, addrs) = links_and_addrs(&mut nl)?;
        let mut engine = VrrpEngine {
            global: config.global.clone(),
            sync_groups: config.sync_groups.clone(),
            epoch: Epoch::now(),
            insts: Vec::new(),
            pending: Vec::new(),
            socks: Vec::new(),
            sockets_registered: 0,
            nl,
            monitor: None,
            arp: crate::sys::garp::ArpSocket::open().map_err(|e| warn!("no ARP socket: {e}")).ok(),
            na: crate::sys::garp::NaSocket::open().map_err(|e| warn!("no NA socket: {e}")).ok(),
            garps: GarpQueue::default(),
            scripts: None,
            policy: ScriptPolicy::for_globals(&config.global),
            hmac_instances: false,
            unknown_vrid: 0,
            malformed: 0,
            rx: RecvBatch::default(),
            started: false,
            start_at: None,
            periphery: periphery::Periphery::new(config),
            lvs_sync: lvs_sync::LvsSync::new(&config.global),
            work: WorkQueue::default(),
            vmacs: vmac::Vmacs::default(),
            release_on_exit: true,
            log_address_changes: false,
            fifos: FifoSet::default(),
            only,
            children: notify_fifo::children(config, only),
            resume: resume::Resume::default(),
            firewall: firewall::Firewall::new(&config.global),
        };
        for cfg in &config.instances {
            engine.add_instance(cfg, &links, &addrs);
        }
        Ok(engine)
    }

    /// Build `cfg` and append it to the instances (returning its index), or
    /// keep it pending while its interface or source address is not there
    /// yet. The one way an instance comes to run: at start, on reload and
    /// when a pending one is retried.
    fn add_instance(&mut self, cfg: &VrrpInstance, links: &[Link], addrs: &[link::Address]) -> Option<usize> {
        let built = match pending::placement(cfg, links, addrs) {
            Ok(Placement::Ready { link, source }) => {
                self.build_instance(cfg, link, source).map_err(|e| e.to_string())
            }
            Ok(Placement::Waiting(what)) => {
                self.keep_pending(cfg, what);
                return None;
            }
            Err(e) => Err(e),
        };
        self.pending.retain(|p| p.cfg.name != cfg.name);
        match built {
            Ok(inst) => {
                self.hmac_instances |= inst.core.params().hmac.is_some();
                self.insts.push(inst);
                Some(self.insts.len() - 1)
            }
            Err(e) => {
                error!("({}) cannot start: {e}", cfg.name);
                None
            }
        }
    }

    /// Add or update the pending entry of `cfg`; logged when what it waits
    /// for is new, not on every retry.
    fn keep_pending(&mut self, cfg: &VrrpInstance, waiting_for: String) {
        let entry = Pending { cfg: cfg.clone(), waiting_for };
        match self.pending.iter_mut().find(|p| p.cfg.name == cfg.name) {
            Some(p) if p.waiting_for == entry.waiting_for => *p = entry,
            known => {
                warn!("({}) waiting for {}", cfg.name, entry.waiting_for);
                match known {
                    Some(p) => *p = entry,
                    None => self.pending.push(entry),
                }
            }
        }
    }

    /// Start the pending instances that can run now: after link or address
    /// events, and once the monitor is open (an address that became usable
    /// before it subscribed sent its event to no one).
    fn start_pending(&mut self, registry: &Registry, now: Monotonic) {
        // Before vrrp_startup_delay is over, waiting instances keep waiting.
        if self.pending.is_empty() || !self.started {
            return;
        }
        let (links, addrs) = match links_and_addrs(&mut self.nl) {
            Ok(dump) => dump,
            Err(e) => {
                warn!("interface dump for waiting instances: {e}");
                return;
            }
        };
        let cfgs: Vec<VrrpInstance> = self.pending.iter().map(|p| p.cfg.clone()).collect();
        let started: Vec<usize> =
            cfgs.iter().filter_map(|cfg| self.add_instance(cfg, &links, &addrs)).collect();
        if started.is_empty() {
            return;
        }
        if let Err(e) = self.register_sockets(registry) {
            error!("register VRRP socket: {e}");
        }
        self.ext_instances_added(now);
        for i in started {
            let inst = &self.insts[i];
            info!("({}) starting on {} from {}", inst.cfg.name, inst.ifname, inst.core.params().source);
            self.start_instance(i, now);
        }
    }

    /// `cfg` on interface `link`, sending from `source` (see `pending::placement`).
    fn build_instance(
        &mut self,
        cfg: &VrrpInstance,
        link: &Link,
        source: IpAddr,
    ) -> Result<RunningInstance, SysError> {
        let ifname = link.name.clone();
        let family = if cfg.is_ipv6() { Family::V6 } else { Family::V4 };
        let unicast = cfg.is_unicast();
        let group = (!unicast).then(|| mcast_group(&self.global, family));
        let configured_src = if unicast { cfg.unicast_src_ip } else { cfg.mcast_src_ip };
        let params = params::instance_params(cfg, &self.global, source);
        let ah = params.auth.ah_key().is_some();
        let vmac = self.vmacs.setup(&mut self.nl, cfg, link)?;
        let key = match &vmac {
            // The macvlan has no IPv4 address of its own: without a source the kernel would pick a VIP.
            Some(v) if !cfg.vmac_xmit_base => {
                let src = configured_src.or((family == Family::V4).then_some(source));
                SockKey { ifindex: v.index, family, group, src, ah }
            }
            _ => SockKey { ifindex: link.index, family, group, src: configured_src, ah },
        };
        let sock = match self.pooled_socket(&key, cfg.unicast_ttl) {
            Ok(s) => s,
            Err(e) => {
                if let Some(v) = vmac {
                    self.vmacs.teardown(&mut self.nl, v);
                }
                return Err(e);
            }
        };
        let dsts = match group {
            Some(g) => vec![g],
            None => params.unicast_peers.clone(),
        };
        let index = self.insts.len();
        self.socks[sock].members.add(params.vrid, index);
        let rx_buf_share = self.global.vrrp_rx_bufs.share(
            self.global.vrrp_rx_bufs_multiplier,
            link.mtu,
            params.advert_len(),
        );
        Ok(RunningInstance {
            cfg: cfg.clone(),
            core: vrrp::Instance::new(params),
            ifindex: link.index,
            ifname,
            mac: link.mac.unwrap_or([0; 6]),
            sock,
            dsts,
            since: SystemTime::now(),
            vips_set: false,
            vip_retry: None,
            vip_fault: None,
            vmac,
            ip_id: 0,
            lateness: Lateness::default(),
            removed_from: None,
            rx_buf_share,
        })
    }

    fn pooled_socket(&mut self, key: &SockKey, unicast_ttl: u8) -> Result<usize, SysError> {
        if let Some(i) = self.socks.iter().position(|s| &s.key == key) {
            return Ok(i);
        }
        let mut sc = SocketConfig::unicast(key.ifindex);
        sc.group = key.group;
        sc.src = key.src;
        sc.unicast_ttl = unicast_ttl;
        sc.ah = key.ah;
        let sock = match key.family {
            Family::V4 => VrrpSocket::open_v4(&sc)?,
            Family::V6 => VrrpSocket::open_v6(&sc)?,
        };
        self.socks.push(Pooled {
            key: key.clone(),
            sock,
            token: NO_TOKEN,
            members: Members::new(),
            resume_at: None,
            last_rx: None,
            rx_buf: 0,
        });
        Ok(self.socks.len() - 1)
    }

    /// `vrrp_rx_bufs_policy`: each socket's receive buffer is the sum of
    /// its instances' shares, as keepalived sizes its sockpool; set again
    /// when instances join or leave. Without a policy the kernel's default stays.
    fn size_rx_buffers(&mut self) {
        for s in &mut self.socks {
            let want: u64 = s.members.iter().map(|&i| self.insts[i].rx_buf_share).sum();
            if want == 0 || want == s.rx_buf {
                continue;
            }
            let bytes = u32::try_from(want).unwrap_or(u32::MAX);
            match s.sock.set_recv_buffer(bytes) {
                Ok(()) => s.rx_buf = want,
                Err(e) => warn!("vrrp set receive socket buffer size to {bytes}: {e}"),
            }
        }
    }

    /// Register the pooled sockets opened since the last call with the loop.
    fn register_sockets(&mut self, registry: &Registry) -> io::Result<()> {
        self.size_rx_buffers();
        for s in self.socks.iter_mut().filter(|s| s.token == NO_TOKEN) {
            s.token = Token(tokens::ADVERT_SOCKETS + self.sockets_registered);
            self.sockets_registered += 1;
            registry.register(&mut SourceFd(&s.sock.as_raw_fd()), s.token, Interest::READABLE)?;
        }
        Ok(())
    }

    /// Give every core the wall clock at `now` (auth_hmac timestamps);
    /// called at each entry point, so a stepped clock is followed.
    /// Only `auth_hmac` reads it, so instances without it are skipped, and
    /// without any the instances are not even looked at: this runs on
    /// every event, and a look at every instance is a cache miss each.
    fn sync_wall_clock(&mut self, now: Monotonic) {
        if self.hmac_instances {
            self.set_wall_clocks(now, |i| i.core.params().hmac.is_some());
        }
    }

    /// Give the cores `which` picks the wall clock at `now`.
    fn set_wall_clocks(&mut self, now: Monotonic, which: impl Fn(&RunningInstance) -> bool) {
        let mut reading = None;
        for inst in self.insts.iter_mut().filter(|i| which(i)) {
            let (vnow, unix) = *reading.get_or_insert_with(|| {
                let unix = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
                (
                    self.epoch.instant(now),
                    unix.saturating_sub(Monotonic::now().saturating_duration_since(now)),
                )
            });
            inst.core.set_wall_clock(vnow, unix);
        }
    }

    /// Apply every action instance `i` has queued, in order, and all the
    /// work that follows from them (`run_queue`).
    fn apply(&mut self, i: usize, now: Monotonic) {
        // Most adverts a backup hears change nothing: with no action and no
        // run under way there is nothing to do.
        if !self.insts[i].core.has_actions() && !self.work.is_running() {
            return;
        }
        self.queue_work(Work::Drain(i));
        self.run_queue(now);
    }

    fn queue_work(&mut self, w: Work) {
        self.work.push(w);
    }

    /// Do the queued work first in, first out, until none is left. An
    /// instance's actions are applied without interruption; what they
    /// cause in other instances is queued behind (`work.rs`). A call while
    /// the queue runs (from the work itself) only adds to it.
    fn run_queue(&mut self, now: Monotonic) {
        if !self.work.start() {
            return;
        }
        while let Some(w) = self.work.next() {
            match w {
                Work::Drain(i) => self.drain_actions(i, now),
                Work::StateChanged { i, from, to } => self.ext_state_change(i, from, to, now),
            }
        }
    }

    fn drain_actions(&mut self, i: usize, now: Monotonic) {
        while let Some(action) = self.insts[i].core.poll_action() {
            match action {
                Action::SendAdvert { priority, ah_seq, hmac_seq, due } => {
                    self.send_advert(i, priority, ah_seq, hmac_seq, due)
                }
                Action::AddVips => self.add_vips(i, now),
                Action::RemoveVips => {
                    self.set_vips(i, false);
                }
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
                    self.lvs_sync.follow(&self.insts[i].cfg.name, to);
                    self.queue_work(Work::StateChanged { i, from, to });
                    self.save_states();
                }
                Action::Log { level, line } => log!(level, "{line}"),
            }
        }
    }

    /// Send an advert to every destination. A periodic one (`due`: the
    /// instant the core scheduled it for) is timed as it is handed to the
    /// socket, the first destination's: that is when it leaves.
    fn send_advert(
        &mut self,
        i: usize,
        priority: u8,
        ah_seq: Option<u32>,
        hmac_seq: Option<u64>,
        due: Option<crate::time::Instant>,
    ) {
        let due = due.map(|t| self.epoch.monotonic(t));
        let inst = &mut self.insts[i];
        if ah_seq.is_some() {
            inst.ip_id = inst.ip_id.checked_add(1).unwrap_or(1);
        }
        let advert = inst.core.advert(priority);
        // auth_hmac: one signature for every copy (the destination and the
        // checksum are not covered).
        let trailer = match (hmac_seq, inst.core.params().hmac.as_ref()) {
            (Some(seq), Some(hp)) => {
                let p = inst.core.params();
                let signed = advert
                    .to_bytes(vrrp::ChecksumForm::Plain)
                    .ok()
                    .and_then(|m| vrrp::hmac::sign(hp, seq, p.version, p.vrid, p.source, &m));
                match signed {
                    Some(t) => Some(t),
                    None => {
                        error!("({}) cannot sign advert: no active auth_hmac key", inst.cfg.name);
                        return;
                    }
                }
            }
            _ => None,
        };
        let sock = &self.socks[inst.sock].sock;
        let mut timed = due.is_none();
        for &dst in &inst.dsts {
            let built = match ah_seq {
                Some(seq) => inst.ah_datagram(&advert, dst, seq),
                None => advert.to_bytes(inst.core.tx_checksum_form(dst)),
            };
            let bytes = match built {
                Ok(mut b) => {
                    if let Some(t) = &trailer {
                        b.extend_from_slice(t);
                    }
                    b
                }
                Err(e) => {
                    error!("({}) cannot build advert: {e:?}", inst.cfg.name);
                    return;
                }
            };
            if let (false, Some(due)) = (timed, due) {
                timed = true;
                let late = Monotonic::now().saturating_duration_since(due);
                inst.lateness.record(late, inst.core.master_adver_interval());
            }
            if let Err(e) = sock.send_to(dst, &bytes) {
                warn!("({}) advert to {dst} on {} failed: {e}", inst.cfg.name, inst.ifname);
            }
        }
    }

    /// Add or remove the instance's VIPs and excluded VIPs. Addresses that
    /// are already there (or already gone) count as done. Returns the adds
    /// that failed (`vip_change`); a removal cancels any retry.
    fn set_vips(&mut self, i: usize, add: bool) -> Vec<(usize, String)> {
        self.insts[i].vips_set = add;
        if !add {
            self.insts[i].vip_retry = None;
        }
        let n = self.insts[i].cfg.vips.len() + self.insts[i].cfg.vips_excluded.len();
        let mut failed = Vec::new();
        for k in 0..n {
            if let Err(why) = self.vip_change(i, k, add) {
                if add {
                    failed.push((k, why));
                } else {
                    error!("({}) cannot remove VIP {why}", self.insts[i].cfg.name);
                }
            }
        }
        self.ext_vips_changed(i, add);
        failed
    }

    /// Add or remove VIP `k` of instance `i` (its VIPs, then its excluded
    /// VIPs); the error says which address on which device and why.
    fn vip_change(&mut self, i: usize, k: usize, add: bool) -> Result<(), String> {
        let inst = &self.insts[i];
        let Some(vip) = inst.cfg.vips.iter().chain(&inst.cfg.vips_excluded).nth(k).cloned() else {
            return Ok(());
        };
        self.vip_apply(i, &vip, add)
    }

    /// Add or remove `vip` for instance `i` (on its own `dev`, or the
    /// instance's interface or VMAC). Without accept mode it is blocked
    /// before it comes and unblocked after it goes, so no packet reaches
    /// it unfiltered.
    fn vip_apply(&mut self, i: usize, vip: &VipSpec, add: bool) -> Result<(), String> {
        let (ifindex, ifname) = self.vip_device(i, vip)?;
        let spec = vips::addr_spec(vip, ifindex, &ifname);
        if add {
            self.block_vip(i, vip.addr, ifindex, &ifname, true);
        }
        let res = if add { addr::add(&mut self.nl, &spec) } else { addr::delete(&mut self.nl, &spec) };
        if !add {
            self.block_vip(i, vip.addr, ifindex, &ifname, false);
        }
        res.map(drop).map_err(|e| format!("{} on {ifname}: {e}", vips::show(vip)))
    }

    /// The interface `vip` of instance `i` goes on: its `dev`, or the
    /// instance's interface or VMAC.
    fn vip_device(&mut self, i: usize, vip: &VipSpec) -> Result<(u32, String), String> {
        let inst = &self.insts[i];
        match &vip.dev {
            None => Ok(inst.vip_dev()),
            Some(dev) if dev == &inst.ifname => Ok((inst.ifindex, inst.ifname.clone())),
            Some(dev) => match link::link_by_name(&mut self.nl, dev) {
                Ok(Some(l)) => Ok((l.index, l.name)),
                _ => Err(format!("{}: device {dev} not found", vips::show(vip))),
            },
        }
    }

    /// `no_accept` (`firewall.rs`): put `addr` in the drop sets, for an
    /// instance without accept mode, or take it out if it is there. A
    /// failure is logged: the VIP still moves, answering as with accept.
    fn block_vip(&mut self, i: usize, addr: IpAddr, ifindex: u32, ifname: &str, add: bool) {
        let cfg = &self.insts[i].cfg;
        if add && !cfg.blocks_vips(&self.global) {
            return;
        }
        let elem = nftables::Element::for_vip(addr, ifindex, ifname, firewall::link_key(cfg, &self.global));
        match self.firewall.change(add, &[elem]) {
            Ok(false) => {}
            Ok(true) if add => info!(
                "({}) no_accept: dropping traffic to {addr} (nftables table {})",
                cfg.name,
                self.firewall.table()
            ),
            Ok(true) => info!("({}) no_accept: {addr} no longer firewalled", cfg.name),
            Err(e) => error!("({}) {e}", cfg.name),
        }
    }

    /// The core went MASTER: add the VIPs; refused ones are retried.
    fn add_vips(&mut self, i: usize, now: Monotonic) {
        let failed = self.set_vips(i, true);
        self.vip_outcome(i, VipRetry::after(0, failed, now), now);
    }

    /// Retry the refused VIP adds that are due.
    fn retry_vips(&mut self, now: Monotonic) {
        for i in 0..self.insts.len() {
            let Some(retry) = self.insts[i].vip_retry.take_if(|r| r.due <= now) else { continue };
            if self.insts[i].core.state() != State::Master {
                continue;
            }
            let failed: Vec<(usize, String)> = retry
                .failed
                .iter()
                .filter_map(|&(k, _)| self.vip_change(i, k, true).err().map(|why| (k, why)))
                .collect();
            if failed.is_empty() {
                info!("({}) VIPs added on retry {}", self.insts[i].cfg.name, retry.retries + 1);
            }
            self.vip_outcome(i, VipRetry::after(retry.retries + 1, failed, now), now);
        }
    }

    fn vip_outcome(&mut self, i: usize, outcome: VipOutcome, now: Monotonic) {
        let name = self.insts[i].cfg.name.clone();
        match outcome {
            VipOutcome::Done => {}
            VipOutcome::Retry(r) => {
                for (_, why) in &r.failed {
                    error!(
                        "({name}) cannot add VIP {why} - retry {} of {VIP_ADD_RETRIES} in {} ms",
                        r.retries + 1,
                        (r.due - now).as_millis()
                    );
                }
                self.insts[i].vip_retry = Some(r);
            }
            VipOutcome::GiveUp(failed) => {
                for (_, why) in &failed {
                    error!("({name}) cannot add VIP {why} - gave up after {VIP_ADD_RETRIES} retries, entering FAULT");
                }
                let what = failed.iter().map(|(_, w)| w.as_str()).collect::<Vec<_>>().join("; ");
                self.insts[i].vip_fault = Some(what);
                self.reevaluate(now);
            }
        }
    }

    /// Add or remove one VIP of instance `i` outside a state change (a
    /// reload's difference); a failure is logged.
    fn change_vip(&mut self, i: usize, vip: &VipSpec, add: bool) {
        if let Err(why) = self.vip_apply(i, vip, add) {
            let verb = if add { "add" } else { "remove" };
            error!("({}) cannot {verb} VIP {why}", self.insts[i].cfg.name);
        }
    }

    fn send_due_garps(&mut self, now: Monotonic) {
        if self.garps.next_due().is_none_or(|t| t > now) {
            return;
        }
        let names: Vec<(&str, &str)> =
            self.insts.iter().map(|i| (i.cfg.name.as_str(), i.ifname.as_str())).collect();
        self.garps.send_due(now, self.arp.as_ref(), self.na.as_ref(), |i| names[i].1);
    }

    /// Queue the notify scripts for a transition of instance `i`.
    fn notify(&mut self, i: usize, to: State, now: Monotonic) {
        let inst = &self.insts[i];
        let n = &inst.cfg.notify;
        if to == State::Init {
            return;
        }
        let (state, specific) = match inst.removed_from.filter(|_| to == State::Stop) {
            Some(was) => match alerts::removal_report(inst.cfg.notify_deleted, was) {
                Some(Removal::Deleted) => ("DELETED", n.deleted.as_ref()),
                Some(Removal::Fault) => ("FAULT", n.fault.as_ref()),
                None => return,
            },
            None => (to.as_str(), alerts::state_script(n, to)),
        };
        let prio = inst.core.effective_priority();
        self.fifos.write(&notify_fifo::vrrp_line(NotifyScope::Instance, &inst.cfg.name, state, prio));
        let key = script::notify_key(NotifyScope::Instance, &inst.cfg.name);
        let mut jobs = Vec::new();
        if let Some(c) = specific {
            jobs.push((c.clone(), Vec::new()));
        }
        if let Some(c) = &n.any {
            jobs.push((c.clone(), script::notify_args(NotifyScope::Instance, &inst.cfg.name, state, prio)));
        }
        for (cmd, args) in jobs {
            self.run_script(&key, &cmd, args, now);
        }
    }

    fn run_script(&mut self, key: &str, cmd: &ConfCommand, args: Vec<String>, now: Monotonic) {
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
        let Some(user) = self.policy.user_for_command(ScriptKind::Notify, cmd, None, &command) else {
            debug!("script {:?} is disabled, not run", cmd.args.join(" "));
            return;
        };
        let job = Job {
            key: key.to_string(),
            command,
            args,
            user,
            timeout: Some(script::NOTIFY_TIMEOUT),
            order: Order::Queue,
        };
        if let Err(e) = runner.spawn(job, now) {
            warn!("script {:?} not started: {e}", cmd.args.join(" "));
        }
    }

    /// Open the notify FIFOs `config` asks this child for and start their
    /// readers; an unchanged set (on reload) is kept as it is.
    fn open_fifos(&mut self, now: Monotonic) {
        let plan = notify_fifo::plan(&self.global, Writer::Vrrp, self.children);
        self.fifos.apply(plan, &mut self.policy, self.scripts.as_mut(), now);
    }

    fn reap_scripts(&mut self, now: Monotonic) {
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

    /// Read every pending packet from pooled socket `s`, a batch per
    /// system call; returns how many arrived.
    fn receive(&mut self, s: usize, now: Monotonic) -> usize {
        let vnow = self.epoch.instant(now);
        let mut read = 0;
        loop {
            let n = match self.socks[s].sock.recv_batch(&mut self.rx) {
                Ok(n) => n,
                Err(e) if e.is_would_block() => return read,
                Err(e) => {
                    self.malformed += 1;
                    debug!("VRRP receive: {e}");
                    return read;
                }
            };
            read += n;
            for k in 0..n {
                self.receive_packet(s, k, vnow, now);
            }
            if n < RECV_BATCH {
                return read;
            }
        }
    }

    /// Hand packet `k` of the last batch read from socket `s` to its instance.
    fn receive_packet(&mut self, s: usize, k: usize, vnow: crate::time::Instant, now: Monotonic) {
        let Some((got, buf)) = self.rx.get(k) else { return };
        let r = match got {
            Ok(r) => r.clone(),
            Err(e) => {
                self.malformed += 1;
                debug!("VRRP receive: {e}");
                return;
            }
        };
        // IPv4 arrives with its header, parsed here by the core's codec;
        // IPv6 without, its fields from the socket's ancillary data.
        let (ctx, protocol, header, len) = match r {
            Received::V4 { len, .. } => match vrrp::Ipv4Header::parse(&buf[..len]) {
                Ok(d) => (
                    RxContext::from_ipv4(&d),
                    d.header.protocol,
                    d.header_len,
                    d.header_len + d.payload.len(),
                ),
                Err(e) => {
                    self.malformed += 1;
                    debug!("VRRP receive: IPv4 header: {e:?}");
                    return;
                }
            },
            Received::V6 { meta, len } => {
                let ctx =
                    RxContext { src: meta.src, dst: meta.dst, ttl: meta.ttl_or_hop_limit, ip_header_len: 0 };
                (ctx, meta.protocol, 0, len)
            }
        };
        // AH: the VRRP message follows the AH header.
        let ah = protocol == vrrp::ah::IP_PROTO_AH;
        let vrrp_at = if ah { vrrp::ah::HEADER_LEN } else { 0 };
        let bytes = &buf[header..len];
        let Some(&vrid) = bytes.get(vrrp_at + 1) else {
            self.malformed += 1;
            return;
        };
        let Some(i) = self.socks[s].members.get(vrid) else {
            self.unknown_vrid += 1;
            return;
        };
        let core = &mut self.insts[i].core;
        let _: Result<(), Reject> = if ah {
            core.receive_ah(vnow, &ctx, &buf[..header], bytes)
        } else {
            core.receive(vnow, &ctx, bytes)
        };
        self.apply(i, now);
    }

    /// After a read of socket `s`: when adverts come in a burst (more than
    /// one per read, or one hard on the last), take the socket out of the
    /// poll set for [`VrrpEngine::burst_window`] and read the rest of the
    /// burst in one go after it. A backup of 255 instances at 0.1 s heard
    /// each master burst a few adverts per wakeup, some 900 wakeups a
    /// second, and now about 30. Any timer that falls due reads the socket
    /// first (`resume_sockets`), so no advert waits behind a timer.
    fn pace_socket(&mut self, s: usize, read: usize, registry: &Registry, now: Monotonic) {
        let sock = &mut self.socks[s];
        let close = sock.last_rx.is_some_and(|t| now.saturating_duration_since(t) < MAX_BURST_WINDOW);
        if read > 0 {
            sock.last_rx = Some(now);
        }
        if read > 1 || (read == 1 && close) {
            let window = self.burst_window();
            let sock = &mut self.socks[s];
            match registry.deregister(&mut SourceFd(&sock.sock.as_raw_fd())) {
                Ok(()) => sock.resume_at = Some(now + window),
                Err(e) => debug!("VRRP socket out of the poll set: {e}"),
            }
        }
    }

    /// 1 % of the shortest advert interval, at most [`MAX_BURST_WINDOW`]:
    /// what reading a burst late delays (a timer reset, a takeover after
    /// priority 0) is a small fraction of any protocol interval.
    fn burst_window(&self) -> Duration {
        let shortest = self.insts.iter().map(|i| i.core.master_adver_interval()).min();
        (shortest.unwrap_or(Duration::from_secs(1)) / 100).min(MAX_BURST_WINDOW)
    }

    /// Put every socket `pace_socket` took out back in the poll set and read
    /// what waits there: when its window is over, and before any timer.
    fn resume_sockets(&mut self, registry: &Registry, now: Monotonic) {
        for s in 0..self.socks.len() {
            if self.socks[s].resume_at.take().is_none() {
                continue;
            }
            let sock = &self.socks[s];
            if let Err(e) =
                registry.register(&mut SourceFd(&sock.sock.as_raw_fd()), sock.token, Interest::READABLE)
            {
                error!("register VRRP socket: {e}");
                continue;
            }
            let read = self.receive(s, now);
            self.pace_socket(s, read, registry, now);
        }
    }

    /// Link events feed the trackers (`tracking.rs`): the instance interface
    /// (unless `dont_track_primary`) and every `track_interface`. Link and
    /// address events may also let a pending instance start.
    fn link_events(&mut self, registry: &Registry, now: Monotonic) {
        if self.ext_link_events(now) {
            self.start_pending(registry, now);
        }
    }

    /// Start instance `i` as at start-up.
    fn start_instance(&mut self, i: usize, now: Monotonic) {
        // Addresses left by a previous run (kill -9) must not linger on a backup.
        self.set_vips(i, false);
        self.sync_wall_clock(now);
        let vnow = self.epoch.instant(now);
        self.insts[i].core.start(vnow);
        self.apply(i, now);
    }

    fn start(&mut self, now: Monotonic) {
        if self.started {
            return;
        }
        self.started = true;
        self.ext_start(now);
        let vnow = self.epoch.instant(now);
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
            let inst = &mut self.insts[i];
            if down.contains(&inst.ifindex) && !inst.cfg.dont_track_primary {
                info!("Netlink reports {} down", inst.ifname);
                inst.core.set_fault(vnow, true);
            }
        }
        self.ext_announce_groups(now);
        self.firewall_start();
        for i in 0..self.insts.len() {
            if !self.resume_instance(i, now) {
                self.start_instance(i, now);
            }
        }
        // Only this start resumes: what reloads and late interfaces start later starts afresh.
        self.resume.forget_previous();
    }
}

impl RunningInstance {
    /// The whole IPv4 datagram of an AH advert to `dst` (sent with IP_HDRINCL).
    fn ah_datagram(&self, advert: &vrrp::Advert, dst: IpAddr, seq: u32) -> Result<Vec<u8>, vrrp::WireError> {
        let p = self.core.params();
        let (Some(key), IpAddr::V4(src), IpAddr::V4(dst)) = (p.auth.ah_key(), p.source, dst) else {
            return Err(vrrp::WireError::MixedFamilies);
        };
        let unicast = p.is_unicast();
        let ttl = if unicast { self.cfg.unicast_ttl } else { vrrp::ipv4::TTL_VRRP };
        let tx = vrrp::ah::AhTx { key: *key, seq, ident: self.ip_id, ttl, unicast };
        vrrp::ah::build_datagram(advert, src, dst, &tx)
    }
}

/// The advert group of `family`: `vrrp_mcast_group4` / `vrrp_mcast_group6`
/// (224.0.0.18 / ff02::12 unless configured). The parser only lets a
/// multicast address of the right family through; anything else falls back.
pub fn mcast_group(g: &GlobalDefs, family: Family) -> IpAddr {
    match (family, g.vrrp_mcast_group4, g.vrrp_mcast_group6) {
        (Family::V4, a @ IpAddr::V4(v4), _) if v4.is_multicast() => a,
        (Family::V4, _, _) => IpAddr::V4(VRRP_GROUP_V4),
        (Family::V6, _, a @ IpAddr::V6(v6)) if v6.is_multicast() => a,
        (Family::V6, _, _) => IpAddr::V6(VRRP_GROUP_V6),
    }
}

impl VrrpEngine {
    /// keepalived's check of every script at start (and reload): who runs
    /// it, whether `enable_script_security` refuses it; logs keepalived's
    /// lines and disables what may not run. Stat calls only.
    fn check_scripts(&mut self) {
        let mut policy = ScriptPolicy::for_globals(&self.global);
        let mut lines = policy.global_lines();
        let mut check = |policy: &mut ScriptPolicy, kind: ScriptKind, cmd: &ConfCommand| -> bool {
            let Ok(mut command) = Command::from_words(&cmd.args) else { return true };
            if command.resolve(&script::search_path()).is_err() {
                return true; // reported when it is due to run
            }
            let verdict = policy.check(kind, &cmd.args, &command, script::own_user(cmd, None));
            lines.extend(verdict.lines);
            verdict.user.is_some()
        };
        let names: Vec<String> = self.ext_script_names();
        for name in names {
            let Some(cmd) = self.ext_script_command(&name) else { continue };
            let ok = check(&mut policy, ScriptKind::Track(&name), &cmd);
            self.ext_disable_script(&name, !ok);
        }
        let notifies = self
            .insts
            .iter()
            .map(|i| i.cfg.notify.clone())
            .chain(self.pending.iter().map(|p| p.cfg.notify.clone()))
            .chain(self.ext_group_notifies());
        let notifies: Vec<_> = notifies.collect();
        for n in &notifies {
            for cmd in n.commands() {
                check(&mut policy, ScriptKind::Notify, cmd);
            }
        }
        for line in lines.iter().chain(policy.summary(false).as_ref()) {
            warn!("{line}");
        }
        self.policy = policy;
    }
}

impl Subsystem for VrrpEngine {
    fn register(&mut self, registry: &Registry, tokens: &mut TokenAlloc) -> io::Result<()> {
        self.register_sockets(registry)?;
        let mb = self.global.netlink_bufs.vrrp_monitor;
        match Monitor::open_configured(mb.bytes, mb.force) {
            Ok(m) => {
                let t = tokens.alloc();
                registry.register(&mut SourceFd(&m.as_raw_fd()), t, Interest::READABLE)?;
                self.monitor = Some((m, t));
            }
            Err(e) => warn!("no link monitor, interface state is not tracked: {e}"),
        }
        self.scripts = Some(ScriptRunner::new(Some(registry), tokens::SCRIPTS)?);
        self.open_fifos(Monotonic::now());
        self.ext_register(registry, tokens)?;
        self.check_scripts();
        let now = Monotonic::now();
        self.sync_wall_clock(now);
        let delay = self.global.vrrp_startup_delay;
        if delay.is_zero() {
            self.start(now);
            self.start_pending(registry, now);
        } else {
            // keepalived's vrrp_startup_delay: slow links (bonds, VMs) come up first.
            info!("Delaying startup for {} seconds", crate::time::Secs(delay));
            self.start_at = Some(now + delay);
        }
        Ok(())
    }

    fn handle_event(&mut self, registry: &Registry, event: &mio::event::Event, now: Monotonic) {
        self.sync_wall_clock(now);
        let token = event.token();
        if let Some(s) = self.socks.iter().position(|s| s.token == token) {
            let read = self.receive(s, now);
            self.pace_socket(s, read, registry, now);
        } else if self.ext_event(registry, token, now) {
        } else if self.monitor.as_ref().is_some_and(|(_, t)| *t == token) {
            self.link_events(registry, now);
        } else if let Some(r) = self.scripts.as_mut() {
            if r.handle_event(token, now) {
                self.reap_scripts(now);
            }
        }
    }

    fn poll_timeout(&self) -> Option<Monotonic> {
        // The earliest core deadline first, converted once: this runs twice per loop turn.
        let cores =
            self.insts.iter().filter_map(|i| i.core.poll_timeout()).min().map(|t| self.epoch.monotonic(t));
        let scripts = self.scripts.as_ref().and_then(ScriptRunner::poll_timeout);
        cores
            .into_iter()
            .chain(self.garps.next_due())
            .chain(self.insts.iter().filter_map(|i| i.vip_retry.as_ref().map(|r| r.due)))
            .chain(scripts)
            .chain(self.ext_poll_timeout())
            .chain(self.start_at)
            .chain(self.socks.iter().filter_map(|s| s.resume_at))
            // A changed state is written in the next pass, straight away.
            .chain(self.states_dirty().then(|| self.epoch.monotonic(crate::time::Instant::ZERO)))
            .min()
    }

    fn before_handover(&mut self) {
        self.flush_states();
    }

    fn handle_timeout(&mut self, registry: &Registry, now: Monotonic) {
        self.sync_wall_clock(now);
        self.resume_sockets(registry, now);
        if self.start_at.is_some_and(|t| t <= now) {
            self.start_at = None;
            self.start(now);
            self.start_pending(registry, now);
        }
        let vnow = self.epoch.instant(now);
        for i in 0..self.insts.len() {
            if self.insts[i].core.poll_timeout().is_some_and(|t| t <= vnow) {
                let wanted = self.insts[i].core.wants_master();
                self.insts[i].core.handle_timeout(vnow);
                self.apply(i, now);
                if !wanted && self.insts[i].core.wants_master() {
                    self.periphery.sync.wished_master(i);
                }
            }
        }
        self.send_due_garps(now);
        self.retry_vips(now);
        if let Some(r) = self.scripts.as_mut() {
            r.handle_timeout(now);
        }
        self.reap_scripts(now);
        self.ext_timeout(registry, now);
        self.flush_states();
    }

    fn reload(
        &mut self,
        registry: &Registry,
        tokens: &mut TokenAlloc,
        new_config: &Config,
        now: Monotonic,
    ) -> Result<(), String> {
        // Every core, as instances may gain auth_hmac on the way.
        self.set_wall_clocks(now, |_| true);
        self.resume.reconfigure(new_config);
        let res = self.reload_config(registry, tokens, new_config, now);
        self.hmac_instances = self.insts.iter().any(|i| i.core.params().hmac.is_some());
        self.sync_wall_clock(now);
        res
    }

    fn shutdown(&mut self, _registry: &Registry, now: Monotonic) {
        self.sync_wall_clock(now);
        let vnow = self.epoch.instant(now);
        // keepalived's -V skips the whole release: no priority 0, no removal,
        // no stop transition; static addresses and routes go as always.
        let insts = if self.release_on_exit { self.insts.len() } else { 0 };
        if !self.release_on_exit {
            for inst in &self.insts {
                info!(
                    "({}) --dont-release-vrrp: leaving VIPs, virtual routes and rules in place",
                    inst.cfg.name
                );
            }
        }
        for i in 0..insts {
            self.insts[i].core.shutdown(vnow);
            self.apply(i, now);
            if self.insts[i].vips_set {
                self.set_vips(i, false);
            }
            self.vmac_teardown(i);
        }
        if self.release_on_exit {
            self.lvs_sync.stop();
            if let Err(e) = self.firewall.close() {
                error!("{e}");
            }
        }
        self.ext_shutdown();
        // The STOP lines are written: the readers see end of file once they have read them.
        self.fifos.close();
        self.resume.remove();
        // Give notify_stop scripts a moment; the runner kills what is left.
        if let Some(r) = self.scripts.as_mut() {
            let deadline = Monotonic::now() + Duration::from_millis(500);
            while r.running() > 0 && Monotonic::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
                r.handle_timeout(Monotonic::now());
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
            if let Some(h) = &p.hmac {
                // keepalived's words; key ids only.
                let replay = match h.anti_replay {
                    vrrp::hmac::AntiReplay::Time => format!("time, window = {} sec", h.window),
                    vrrp::hmac::AntiReplay::Monotonic => "monotonic".to_string(),
                };
                out.push_str(&format!(
                    "   Authentication extension = HMAC-SHA256-128\n   Keys = {}, active key id = {}\n   \
                     Mode = {}\n   Anti replay = {replay}\n",
                    h.keys.len(),
                    h.active_key,
                    h.mode.as_str(),
                ));
            }
        }
        for p in &self.pending {
            out.push_str(&format!(
                " VRRP Instance = {}\n   State = {} (waiting for {})\n   Interface = {}\n",
                p.cfg.name,
                State::Init,
                p.waiting_for,
                p.cfg.interface.as_deref().unwrap_or(""),
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
        for i in &mut self.insts {
            i.core.clear_counters();
            i.lateness.clear();
        }
        self.unknown_vrid = 0;
        self.malformed = 0;
    }

    fn status(&self) -> Json {
        let running = self.insts.iter().map(instance_status);
        let instances = running.chain(self.pending.iter().map(|p| pending_status(p, &self.global))).collect();
        Json::obj([
            ("instances", Json::Arr(instances)),
            ("unknown_vrid", Json::from(self.unknown_vrid)),
            ("malformed", Json::from(self.malformed)),
            ("trackers", self.periphery.status()),
            ("notify_fifos", self.fifos.status()),
        ])
    }
}

fn instance_status(i: &RunningInstance) -> Json {
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
        ("vip_fault", i.vip_fault.as_deref().map_or(Json::Null, Json::from)),
        ("last_transition", Json::from(since)),
        ("rx", Json::from(c.rx)),
        ("tx", Json::from(c.tx)),
        ("became_master", Json::from(c.became_master)),
        ("released_master", Json::from(c.released_master)),
        ("prio0_rx", Json::from(c.prio0_rx)),
        ("prio0_tx", Json::from(c.prio0_tx)),
        ("lower_prio_unanswered", Json::from(c.lower_prio_unanswered)),
        // Periodic adverts: the worst and mean delay past their scheduled
        // instant, and how many were later than a quarter of the interval.
        ("advert_late_max_us", Json::from(i.lateness.max_us())),
        ("advert_late_mean_us", Json::from(i.lateness.mean_us())),
        ("adverts_late", Json::from(i.lateness.late())),
        ("rejected", Json::Obj(rejects)),
        // auth_hmac: the mode, and adverts permissive / receive-only let in without a trailer.
        ("auth_hmac", p.hmac.as_ref().map_or(Json::Null, |h| Json::from(h.mode.as_str()))),
        ("hmac_missing_accepted", Json::from(c.hmac_missing_accepted)),
    ])
}

/// A pending instance in status: INIT, and what it waits for.
fn pending_status(p: &Pending, g: &GlobalDefs) -> Json {
    Json::obj([
        ("name", Json::from(p.cfg.name.as_str())),
        ("state", Json::from(State::Init.as_str())),
        ("interface", Json::from(p.cfg.interface.as_deref().unwrap_or(""))),
        ("vrid", Json::from(u32::from(p.cfg.vrid))),
        ("version", Json::from(u32::from(p.cfg.effective_version(g)))),
        ("priority", Json::from(u32::from(p.cfg.effective_priority()))),
        ("waiting_for", Json::from(p.waiting_for.as_str())),
    ])
}

/// Every interface and every address, as the kernel has them now.
fn links_and_addrs(nl: &mut netlink::Socket) -> io::Result<(Vec<Link>, Vec<link::Address>)> {
    let links = link::dump_links(nl).map_err(io::Error::from)?;
    let addrs = link::dump_addrs(nl, None, None).map_err(io::Error::from)?;
    Ok((links, addrs))
}

/// The VRRP child's subsystem, for `daemon::engines`.
/// `only`: `-P` / `-C` (who reads the global notify FIFO);
/// `release_on_exit`: false under `-V/--dont-release-vrrp`;
/// `log_address_changes`: `-a/--address-monitoring`;
/// `resume`: the state file, and the child this one replaces (`resume.rs`).
pub fn subsystem(
    config: &Config,
    only: Only,
    release_on_exit: bool,
    log_address_changes: bool,
    resume: Option<ResumeFrom>,
) -> Result<Box<dyn Subsystem>, String> {
    let mut engine = VrrpEngine::new(config, only).map_err(|e| format!("VRRP engine: {e}"))?;
    engine.resume = resume::Resume::new(resume, config);
    engine.release_on_exit = release_on_exit;
    engine.log_address_changes = log_address_changes;
    if engine.insts.is_empty() && engine.pending.is_empty() && !config.instances.is_empty() {
        return Err("no VRRP instance could be started".into());
    }
    Ok(Box::new(engine))
}

/// A map from instance name to state, for tests and the sync-group logic.
pub fn states(engine: &VrrpEngine) -> HashMap<String, State> {
    let running = engine.insts.iter().map(|i| (i.cfg.name.clone(), i.core.state()));
    running.chain(engine.pending.iter().map(|p| (p.cfg.name.clone(), State::Init))).collect()
}
