//! The per-instance VRRP state machine (RFC 5798 section 6 with keepalived's
//! deviations, each named where it is made and pinned by `vrrp/tests/`). Inputs are pushed with `now`;
//! outputs are pulled with `poll_action` and `poll_timeout`.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use log::Level;

use super::action::{Action, Reason, State};
use super::hmac::{self, AntiReplay, ReplayTable, SeqGen, Trailer};
use super::packet::{Advert, ChecksumForm, ChecksumMatch, Version};
use super::params::InstanceParams;
use super::ratelimit::LogLimiter;
use super::timer::{Timer, TimerTable};
use super::validate::{validate_ah, validate_at, Counters, Reject, RxContext, Valid};
use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LogKey {
    Reject(Reject),
    IntervalMismatch,
    AddrListMismatch,
    HmacMissing,
    HmacSkew,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MasterInfo {
    pub addr: IpAddr,
    pub priority: u8,
}

/// What [`Instance::reconfigure`] cannot change: the fields that make the
/// router what its peers know it by. A change of one of them is a new
/// instance (the edge stops the old one and starts the new one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityChange {
    Vrid,
    Family,
    Version,
    Source,
    /// Unicast to multicast or back.
    Transport,
}

#[derive(Debug)]
pub struct Instance {
    params: InstanceParams,
    state: State,
    /// Base priority plus tracker weights, 1..=254 (255 only for the owner).
    effective_priority: u8,
    fault: bool,
    /// Sync group member: Master_Down expiry only records the wish
    /// (`wants_master`); the group decides with `sync_master`.
    sync_hold: bool,
    wants_master: bool,
    /// Master_Adver_Interval: ours, or (v3 backup) the master's.
    master_adver_int: Duration,
    /// The master whose adverts a backup last accepted.
    master: Option<MasterInfo>,
    /// preempt_delay: lower-priority adverts are accepted until this instant.
    preempt_until: Option<Instant>,
    /// When a master last answered a lower-priority advert (advert and
    /// gratuitous ARPs): at most once per advert interval, so an on-link
    /// host flooding low adverts gets no amplified answer.
    lower_prio_answered: Option<Instant>,
    timers: TimerTable,
    actions: VecDeque<Action>,
    counters: Counters,
    limiter: LogLimiter<LogKey>,
    last_checksum: Option<ChecksumMatch>,
    /// AH (keepalived's `ipsecah_counter`): one sequence number for what we
    /// send and what we accept, so a new master continues above the
    /// numbers its backups have seen.
    ah_seq: u32,
    /// The counter ran out; it restarts from 0 when we next become master.
    ah_cycle: bool,
    /// Wall clock: Unix time `wall.1` at our instant `wall.0` (`set_wall_clock`).
    wall: (Instant, Duration),
    /// auth_hmac: the sequence of our adverts and the marks of our senders.
    hmac_tx: SeqGen,
    hmac_rx: ReplayTable,
}

impl Instance {
    pub fn new(params: InstanceParams) -> Instance {
        let limiter = LogLimiter::new(params.log_interval);
        let master_adver_int = own_interval(&params);
        Instance {
            effective_priority: params.priority.max(1),
            params,
            state: State::Init,
            fault: false,
            sync_hold: false,
            wants_master: false,
            master_adver_int,
            master: None,
            preempt_until: None,
            lower_prio_answered: None,
            timers: TimerTable::default(),
            actions: VecDeque::new(),
            counters: Counters::default(),
            limiter,
            last_checksum: None,
            ah_seq: 0,
            ah_cycle: false,
            wall: (Instant::ZERO, Duration::ZERO),
            hmac_tx: SeqGen::default(),
            hmac_rx: ReplayTable::default(),
        }
    }

    pub fn params(&self) -> &InstanceParams {
        &self.params
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// keepalived's STATS_CLEAR: every counter back to zero.
    pub fn clear_counters(&mut self) {
        self.counters = Counters::default();
    }

    /// The master a backup follows, if it has accepted one.
    pub fn master(&self) -> Option<MasterInfo> {
        self.master
    }

    /// Checksum form of the last valid advert (`PseudoHeaderMcastDst`: the
    /// peer is a keepalived <= 1.3.6 in unicast mode).
    pub fn last_checksum(&self) -> Option<ChecksumMatch> {
        self.last_checksum
    }

    /// AH sequence number: the last one sent or accepted.
    pub fn ah_seq(&self) -> u32 {
        self.ah_seq
    }

    /// Continue the AH sequence of an earlier incarnation (a reload that
    /// restarts this instance), as keepalived keeps it across reloads.
    pub fn continue_ah_seq(&mut self, seq: u32) {
        self.ah_seq = self.ah_seq.max(seq);
    }

    /// Tell the core the wall clock (Unix time) at `now`; `auth_hmac`
    /// timestamps its adverts and judges their age with it. Call it before
    /// the inputs (the edge does it on every loop turn, so clock steps are
    /// followed). Until the first call Unix time reads as `now` since our epoch.
    pub fn set_wall_clock(&mut self, now: Instant, unix: Duration) {
        self.wall = (now, unix);
    }

    /// Unix time at `now`, from the last `set_wall_clock`.
    pub fn unix_time(&self, now: Instant) -> Duration {
        let (at, unix) = self.wall;
        if now >= at {
            unix + (now - at)
        } else {
            unix.saturating_sub(at - now)
        }
    }

    /// auth_hmac: the last sequence sent (a reload continues it).
    pub fn hmac_seq(&self) -> u64 {
        self.hmac_tx.last()
    }

    pub fn continue_hmac_seq(&mut self, seq: u64) {
        if hmac::newer(seq, self.hmac_tx.last()) {
            self.hmac_tx.set_last(seq);
        }
    }

    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_int
    }

    /// Skew_Time: v2 (256 - prio)/256 s; v3 (256 - prio) * Master_Adver_Interval / 256.
    pub fn skew(&self) -> Duration {
        let weight = 256 - u64::from(self.effective_priority);
        let base = match self.params.version {
            Version::V2 => 1_000_000,
            Version::V3 => micros(self.master_adver_int),
        };
        Duration::from_micros(weight * base / 256)
    }

    /// Master_Down_Interval = down_timer_adverts * Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        self.master_adver_int * self.params.down_timer_adverts.max(1) + self.skew()
    }

    /// The advert this instance sends with `priority` (0 when resigning).
    pub fn advert(&self, priority: u8) -> Advert {
        Advert {
            version: self.params.version,
            vrid: self.params.vrid,
            priority,
            addrs: self.params.vips.clone(),
            auth_type: self.params.auth.type_code(),
            auth_data: self.params.auth.data(),
            interval_cs: self.params.advert_interval_cs.max(1),
            checksum: 0,
        }
    }

    /// Checksum form for an advert from our source address to `dst`.
    pub fn tx_checksum_form(&self, dst: IpAddr) -> ChecksumForm {
        ChecksumForm::for_tx(self.params.version, self.params.source, dst, self.params.v3_checksum_as_v2)
    }

    /// Earliest instant at which `handle_timeout` must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Whether `poll_action` has anything (an input often queues nothing).
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    /// Next output to apply; call until `None` after every input.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Begin operation: FAULT if a fault is already set, MASTER at once for
    /// the address owner, otherwise BACKUP with a full Master_Down timer.
    pub fn start(&mut self, now: Instant) {
        if !matches!(self.state, State::Init | State::Stop) {
            return;
        }
        self.preempt_until = (!self.params.preempt_delay.is_zero()).then(|| now + self.params.preempt_delay);
        let to = if self.fault {
            State::Fault
        } else if self.is_owner() {
            State::Master
        } else {
            State::Backup
        };
        self.set_state(now, to, Reason::Startup);
    }

    /// Begin operation as MASTER at once, for an instance that was master
    /// moments ago in a process that died (the edge judges that, see
    /// `failover::resume`): an advert now, the VIPs (still installed)
    /// asserted, gratuitous ARPs, no Master_Down wait and no VIP removal.
    /// Returns false, doing nothing, where [`Instance::start`] would not make
    /// it master by the same path: not freshly created, or in fault.
    pub fn resume_as_master(&mut self, now: Instant) -> bool {
        if !matches!(self.state, State::Init | State::Stop) || self.fault {
            return false;
        }
        self.preempt_until = (!self.params.preempt_delay.is_zero()).then(|| now + self.params.preempt_delay);
        self.log(Level::Info, "resuming MASTER state of the previous VRRP child".to_string());
        self.set_state(now, State::Master, Reason::Startup);
        true
    }

    /// Stop: a master resigns with a priority-0 advert and removes its VIPs.
    pub fn shutdown(&mut self, now: Instant) {
        if !matches!(self.state, State::Init | State::Stop) {
            self.set_state(now, State::Stop, Reason::Shutdown);
        }
    }

    /// Apply new parameters in place (a reload): state, timers, the master
    /// followed, counters and sequence numbers are kept. Nothing changes and
    /// `Err` names the first identity field when `params` describe another
    /// router (see [`IdentityChange`]).
    ///
    /// The new base priority takes effect through the edge's next
    /// `set_effective_priority` (the trackers' weights are the edge's), and
    /// then as the protocol has it: a master that is no longer the best
    /// yields when it hears a better advert; a backup that is now better
    /// (and may preempt) ignores the master's adverts and takes over when
    /// its Master_Down timer expires. A master whose parameters changed
    /// advertises them at once, as keepalived's reloaded master does: the
    /// Advert timer is moved to `now` (it runs after the edge has applied
    /// the trackers' weights), and later adverts follow at the new interval.
    pub fn reconfigure(&mut self, now: Instant, params: InstanceParams) -> Result<(), IdentityChange> {
        let old = &self.params;
        let identity = [
            (old.vrid != params.vrid, IdentityChange::Vrid),
            (old.family != params.family, IdentityChange::Family),
            (old.version != params.version, IdentityChange::Version),
            (old.source != params.source, IdentityChange::Source),
            (old.is_unicast() != params.is_unicast(), IdentityChange::Transport),
        ];
        if let Some(&(_, change)) = identity.iter().find(|(changed, _)| *changed) {
            return Err(change);
        }
        if *old == params {
            return Ok(());
        }
        let refresh_changed = old.garp.master_refresh != params.garp.master_refresh;
        if old.log_interval != params.log_interval {
            self.limiter = LogLimiter::new(params.log_interval);
        }
        self.params = params;
        if self.is_owner() {
            self.effective_priority = 255;
        } else if self.effective_priority == 255 {
            // No longer the owner: the base priority until the edge adds the weights.
            self.effective_priority = self.params.priority.clamp(1, 254);
        }
        // A v3 backup runs on the interval of the master it follows; every
        // other instance on its own.
        if self.state == State::Master || self.params.version == Version::V2 || self.master.is_none() {
            self.master_adver_int = own_interval(&self.params);
        }
        if self.state == State::Master {
            self.timers.set(Timer::Advert, now);
            if refresh_changed {
                self.timers.stop(Timer::GarpRefresh);
                if !self.params.garp.master_refresh.is_zero() {
                    self.timers.set(Timer::GarpRefresh, now + self.params.garp.master_refresh);
                }
            }
        }
        Ok(())
    }

    /// Trackers report that the instance can (false) or cannot (true) work.
    pub fn set_fault(&mut self, now: Instant, fault: bool) {
        self.fault = fault;
        match (fault, self.state) {
            (true, State::Backup | State::Master) => self.set_state(now, State::Fault, Reason::Fault),
            (false, State::Fault) => {
                let to = if self.is_owner() { State::Master } else { State::Backup };
                self.set_state(now, to, Reason::FaultCleared);
            }
            _ => {}
        }
    }

    /// New effective priority from the trackers. An owner keeps 255 and no
    /// one else reaches it; 0 is raised to 1. Takes effect in the next
    /// advert and the next Master_Down timer.
    pub fn set_effective_priority(&mut self, _now: Instant, priority: u8) {
        let new = if self.is_owner() { 255 } else { priority.clamp(1, 254) };
        if new != self.effective_priority {
            let old = self.effective_priority;
            self.log(Level::Info, format!("Changing effective priority from {old} to {new}"));
            self.effective_priority = new;
        }
    }

    /// Hold this instance in BACKUP when its Master_Down timer expires, as
    /// a sync group member does until every member wants MASTER.
    pub fn set_sync_hold(&mut self, hold: bool) {
        self.sync_hold = hold;
    }

    /// A held backup whose Master_Down timer expired with no master heard since.
    /// A fault is set (trackers, interface), also before `start`.
    pub fn has_fault(&self) -> bool {
        self.fault
    }

    pub fn wants_master(&self) -> bool {
        self.state == State::Backup && self.wants_master
    }

    /// The sync group lets a held backup that wants MASTER take over.
    pub fn sync_master(&mut self, now: Instant) {
        if self.wants_master() {
            self.set_state(now, State::Master, Reason::Sync);
        }
    }

    /// The sync group drags a master to BACKUP because another member went
    /// there: VIPs go, no priority-0 advert (the peer takes over after its
    /// own Master_Down timer), and a full Master_Down timer starts.
    pub fn sync_backup(&mut self, now: Instant) {
        if self.state == State::Master {
            self.set_state(now, State::Backup, Reason::Sync);
        }
    }

    /// Validate a received packet (`bytes` after the IP header) and process
    /// it. Rejects are counted and logged once per reason per `log_interval`.
    pub fn receive(&mut self, now: Instant, ctx: &RxContext, bytes: &[u8]) -> Result<(), Reject> {
        // Only auth_hmac reads the wall clock.
        let now_secs = self.params.hmac.as_ref().map_or(0, |_| self.unix_time(now).as_secs());
        let checked = validate_at(ctx, bytes, &self.params, now_secs);
        if let (Err(r @ (Reject::HmacUnknownKey | Reject::HmacStale)), Some(hp)) =
            (&checked, &self.params.hmac)
        {
            // keepalived names the key id, or the skew and the window.
            let r = *r;
            let trailer =
                bytes.len().checked_sub(hmac::TRAILER_LEN).and_then(|at| Trailer::parse(&bytes[at..]));
            if let Some(t) = trailer {
                self.counters.count_reject(r);
                if self.limiter.allow(LogKey::Reject(r), now) {
                    let line = if r == Reject::HmacUnknownKey {
                        format!("unknown authentication key id {} from {}", t.key_id, ctx.src)
                    } else {
                        let skew = (now_secs as u32).wrapping_sub(t.sec()) as i32;
                        format!(
                            "stale authentication trailer from {}, clock skew {skew} sec exceeds window {} sec",
                            ctx.src, hp.window
                        )
                    };
                    self.log(Level::Info, line);
                }
                return Err(r);
            }
        }
        self.receive_checked(now, ctx, checked)
    }

    /// [`Instance::receive`] for an IPv4 packet of IP protocol 51 (AH):
    /// `ip_header` as received, `after_ip` the AH header and the message.
    pub fn receive_ah(
        &mut self,
        now: Instant,
        ctx: &RxContext,
        ip_header: &[u8],
        after_ip: &[u8],
    ) -> Result<(), Reject> {
        let checked = validate_ah(ctx, ip_header, after_ip, &self.params);
        self.receive_checked(now, ctx, checked)
    }

    fn reject(&mut self, now: Instant, src: IpAddr, r: Reject) -> Result<(), Reject> {
        self.counters.count_reject(r);
        if self.limiter.allow(LogKey::Reject(r), now) {
            self.log(Level::Info, r.describe(src));
        }
        Err(r)
    }

    fn receive_checked(
        &mut self,
        now: Instant,
        ctx: &RxContext,
        checked: Result<Valid, Reject>,
    ) -> Result<(), Reject> {
        let valid = match checked {
            Ok(v) => v,
            Err(r) => return self.reject(now, ctx.src, r),
        };
        if let (Some(t), Some(hp)) = (valid.hmac, self.params.hmac.as_ref()) {
            let now_secs = self.unix_time(now).as_secs();
            let peers: &[IpAddr] = if self.params.is_unicast() { &self.params.unicast_peers } else { &[] };
            let Some(mark) = self.hmac_rx.mark(peers, ctx.src) else {
                return self.reject(now, ctx.src, Reject::BadUnicastSource);
            };
            if mark.accept(hp, now_secs, t.seq).is_err() {
                return self.reject(now, ctx.src, Reject::HmacReplay);
            }
            let skew = (now_secs as u32).wrapping_sub(t.sec()) as i32;
            let window = hp.window;
            if hp.anti_replay == AntiReplay::Time
                && skew.unsigned_abs() > window / 2
                && self.limiter.allow(LogKey::HmacSkew, now)
            {
                let line = format!(
                    "authentication clock skew {skew} sec from {} approaching window {window} sec",
                    ctx.src
                );
                self.log(Level::Info, line);
            }
        }
        if valid.notices.hmac_missing && self.limiter.allow(LogKey::HmacMissing, now) {
            self.log(Level::Info, format!("accepted advert without authentication trailer from {}", ctx.src));
        }
        if let Some(seq) = valid.ah_seq {
            // Anti-replay: only numbers above the last one sent or seen.
            if seq <= self.ah_seq {
                return self.reject(now, ctx.src, Reject::AhReplay);
            }
            self.ah_seq = seq;
            if self.state == State::Backup {
                self.ah_cycle = false;
            }
        }
        let mut notices = valid.notices;
        let same_master = self.master.is_some_and(|m| m.addr == ctx.src);
        if self.params.skip_check_adv_addr && same_master {
            notices.addr_list_mismatch = false;
        }
        self.counters.count_notices(notices);
        if notices.interval_mismatch && self.limiter.allow(LogKey::IntervalMismatch, now) {
            let (theirs, ours) = (valid.advert.interval_cs, self.params.advert_interval_cs);
            self.log(
                Level::Info,
                format!("advertisement interval mismatch mine={ours} cs rcv'd={theirs} cs from {}", ctx.src),
            );
        }
        if notices.addr_list_mismatch && self.limiter.allow(LogKey::AddrListMismatch, now) {
            let (got, want) = (valid.advert.addrs.len(), self.params.vips.len());
            let line = if got != want {
                format!("received an unexpected ip number count {got}, expected {want}!")
            } else {
                format!("received an unexpected ip address list from {}", ctx.src)
            };
            self.log(Level::Info, line);
        }
        self.last_checksum = Some(valid.checksum);
        self.handle_advert(now, ctx.src, &valid.advert);
        Ok(())
    }

    /// Process an advert that passed `validate`, from `src`.
    pub fn handle_advert(&mut self, now: Instant, src: IpAddr, advert: &Advert) {
        self.counters.rx += 1;
        if advert.priority == 0 {
            self.counters.prio0_rx += 1;
        }
        match self.state {
            State::Backup => self.backup_rx(now, src, advert),
            State::Master => self.master_rx(now, src, advert),
            State::Init | State::Fault | State::Stop => {}
        }
    }

    /// Run every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in Timer::VALUES {
            let Some(due) = self.timers.get(timer).filter(|&at| at <= now) else { continue };
            self.timers.stop(timer);
            match timer {
                Timer::MasterDown => {
                    if self.state == State::Backup && !self.wants_master {
                        self.log(Level::Info, "Receive advertisement timeout".to_string());
                        if self.sync_hold {
                            self.wants_master = true;
                        } else {
                            self.set_state(now, State::Master, Reason::MasterDownTimeout);
                        }
                    }
                }
                Timer::Advert => self.send_periodic_advert(now, Some(due)),
                Timer::GarpDelay => self.garp_burst(self.params.garp.master_repeat),
                Timer::GarpRefresh => {
                    self.garp_burst(self.params.garp.refresh_repeat);
                    self.timers.set(Timer::GarpRefresh, now + self.params.garp.master_refresh);
                }
                Timer::GarpLowerPrio | Timer::GarpSettle => {
                    self.garp_burst(self.params.garp.lower_prio_repeat)
                }
            }
        }
    }

    fn backup_rx(&mut self, now: Instant, src: IpAddr, advert: &Advert) {
        let ours = self.effective_priority;
        if advert.priority == 0 {
            // The master resigned: take over after Skew_Time only.
            self.timers.set(Timer::MasterDown, now + self.skew());
            return;
        }
        let delay = self.params.preempt_delay;
        let preempt_waiting = !delay.is_zero() && self.preempt_until.is_none_or(|t| t > now);
        if !(self.params.nopreempt || advert.priority >= ours || preempt_waiting) {
            let line =
                format!("received lower priority ({}) advert from {src} - discarding", advert.priority);
            self.log(Level::Info, line);
            return;
        }
        if !delay.is_zero() {
            if advert.priority >= ours {
                self.preempt_until = None;
            } else if self.preempt_until.is_none() {
                self.log(Level::Info, format!("start preempt delay({})", crate::time::Secs(delay)));
                self.preempt_until = Some(now + delay);
            }
        }
        self.follow_master(src, advert);
        self.wants_master = false;
        self.timers.set(Timer::MasterDown, now + self.master_down_interval());
    }

    fn master_rx(&mut self, now: Instant, src: IpAddr, advert: &Advert) {
        let (theirs, ours) = (advert.priority, self.effective_priority);
        if theirs == 0 {
            // A resigning peer: assert ourselves at once (RFC 5798 6.4.3).
            self.send_periodic_advert(now, None);
        } else if theirs > ours || (theirs == ours && src > self.params.source) {
            let line =
                format!("Master received advert from {src} with higher priority {theirs}, ours {ours}");
            self.log(Level::Info, line);
            if self.params.higher_prio_send_advert {
                self.send_advert(now, ours);
            }
            self.ah_cycle = false;
            self.follow_master(src, advert);
            self.set_state(now, State::Backup, Reason::HigherPriority);
        } else if theirs < ours {
            // keepalived's split-brain healing: re-assert, refresh ARP caches.
            if self.params.auth.ah_key().is_some() {
                // keepalived's "Syncing seq_num": jump past the rival's number
                // (the receive path has just made it ours).
                self.ah_seq = self.ah_seq.wrapping_add(1);
                self.ah_cycle = false;
                self.log(Level::Info, "IPSEC-AH : Syncing seq_num - Increment seq".to_string());
            }
            if self.params.lower_prio_no_advert {
                let line = format!("Received advert from {src} with lower priority {theirs}, ours {ours}");
                self.log(Level::Info, line);
                return;
            }
            if self.lower_prio_answered.is_some_and(|t| now < t + self.master_adver_int) {
                // Answered within this advert interval already; GarpSettle repeats it.
                self.counters.lower_prio_unanswered += 1;
                return;
            }
            self.lower_prio_answered = Some(now);
            let line = format!(
                "Received advert from {src} with lower priority {theirs}, ours {ours}, forcing new election"
            );
            self.log(Level::Info, line);
            self.send_periodic_advert(now, None);
            let garp = &self.params.garp;
            if garp.lower_prio_repeat > 0 {
                let (repeat, delay) = (garp.lower_prio_repeat, garp.lower_prio_delay);
                self.garp_burst(repeat);
                // The rival became master and sent its own gratuitous ARPs;
                // some may reach the LAN after ours and point the clients at
                // it until the burst above repeats (5 s later by default).
                // Once it has heard our advert it is quiet: say it again then.
                self.timers.set(Timer::GarpSettle, now + self.master_adver_int);
                if !delay.is_zero() {
                    self.timers.set(Timer::GarpLowerPrio, now + delay);
                }
            }
        } else if src == self.params.source {
            let line = format!("Received advert from {src} with same priority {theirs}, our own address - loop or duplicate address?");
            self.log(Level::Warn, line);
        }
    }

    /// Record the master of an accepted advert; v3 adopts its interval.
    fn follow_master(&mut self, src: IpAddr, advert: &Advert) {
        if self.params.version == Version::V3 {
            self.master_adver_int = cs_to_duration(advert.interval_cs);
        }
        if self.master.is_some_and(|m| m.addr != src) {
            // A new master: its problems deserve fresh log lines.
            self.limiter.reset();
        }
        self.master = Some(MasterInfo { addr: src, priority: advert.priority });
    }

    /// The one place where the state changes: exit actions, the
    /// notification, entry actions, and timers re-derived from the new state.
    fn set_state(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        if from == State::Master && to != State::Master {
            if matches!(to, State::Fault | State::Stop) {
                self.send_advert(now, 0);
                self.counters.prio0_tx += 1;
                self.log(Level::Info, "sent 0 priority".to_string());
            }
            self.remove_vips();
            self.counters.released_master += 1;
        }
        self.state = to;
        self.wants_master = false;
        self.timers.stop_all();
        self.limiter.reset();
        self.actions.push_back(Action::StateChange { from, to, reason });
        match to {
            State::Master => {
                if self.ah_cycle {
                    // A counter that ran out starts again when we take over.
                    self.ah_cycle = false;
                    self.ah_seq = 0;
                }
                self.master = None;
                self.master_adver_int = own_interval(&self.params);
                self.log(Level::Info, "Entering MASTER STATE".to_string());
                self.send_advert(now, self.effective_priority);
                self.log(Level::Info, "setting VIPs.".to_string());
                self.actions.push_back(Action::AddVips);
                self.garp_burst(self.params.garp.master_repeat);
                self.counters.became_master += 1;
                self.timers.set(Timer::Advert, now + self.master_adver_int);
                let garp = &self.params.garp;
                let (delay, refresh) = (garp.master_delay, garp.master_refresh);
                if !delay.is_zero() {
                    self.timers.set(Timer::GarpDelay, now + delay);
                }
                if !refresh.is_zero() {
                    self.timers.set(Timer::GarpRefresh, now + delay + refresh);
                }
            }
            State::Backup => {
                let fresh = matches!(from, State::Init | State::Stop);
                if from != State::Master {
                    self.master = None;
                    self.master_adver_int = own_interval(&self.params);
                }
                self.log(Level::Info, format!("Entering BACKUP STATE{}", if fresh { " (init)" } else { "" }));
                if fresh {
                    // Stale VIPs of a previous run may still be installed.
                    self.remove_vips();
                }
                self.timers.set(Timer::MasterDown, now + self.master_down_interval());
            }
            State::Fault => {
                self.master = None;
                self.log(Level::Info, "Entering FAULT STATE".to_string());
            }
            State::Init | State::Stop => self.master = None,
        }
    }

    /// The advert of the Advert timer (`due`: the instant it was set for),
    /// or one sent at once (`None`); the next one follows an interval later.
    fn send_periodic_advert(&mut self, now: Instant, due: Option<Instant>) {
        if self.state == State::Master {
            self.send_advert_due(now, self.effective_priority, due);
            self.timers.set(Timer::Advert, now + self.master_adver_int);
        }
    }

    fn send_advert(&mut self, now: Instant, priority: u8) {
        self.send_advert_due(now, priority, None);
    }

    /// An advert; `due` is the instant a periodic one was scheduled for.
    fn send_advert_due(&mut self, now: Instant, priority: u8, due: Option<Instant>) {
        self.counters.tx += 1;
        let ah_seq = self.params.auth.ah_key().map(|_| {
            // keepalived stops counting just below the top (and then the
            // peers drop our adverts as replays and take over).
            if self.ah_seq > 0xffff_fffd {
                self.ah_cycle = true;
            } else {
                self.ah_seq += 1;
            }
            self.ah_seq
        });
        let unix = self.unix_time(now);
        let hmac_seq = match self.params.hmac.as_ref() {
            Some(hp) if hp.mode.sends() => Some(self.hmac_tx.next(hp, unix)),
            _ => None,
        };
        self.actions.push_back(Action::SendAdvert { priority, ah_seq, hmac_seq, due });
    }

    fn remove_vips(&mut self) {
        self.log(Level::Info, "removing VIPs.".to_string());
        self.actions.push_back(Action::RemoveVips);
    }

    fn garp_burst(&mut self, repeat: u32) {
        if repeat > 0 && self.state == State::Master {
            self.actions.push_back(Action::SendGratuitous { repeat, spacing: self.params.garp.spacing });
        }
    }

    fn is_owner(&self) -> bool {
        self.params.is_owner()
    }

    fn log(&mut self, level: Level, text: String) {
        let line = format!("({}) {text}", self.params.name);
        self.actions.push_back(Action::Log { level, line });
    }
}

fn own_interval(params: &InstanceParams) -> Duration {
    cs_to_duration(params.advert_interval_cs)
}

/// Centiseconds to a duration; 0 becomes 1 cs so timers always advance.
fn cs_to_duration(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs.max(1)) * 10)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
