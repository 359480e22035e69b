//! A virtual server's core: its real servers' checkers, which destinations
//! IPVS should hold, quorum with hysteresis and the sorry server, as
//! keepalived decides them. Pure: inputs carry `now`, outputs are pulled as [`Action`]s.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use log::Level;

use super::action::{Action, AlertRef, DestRef, ScriptRef};
use super::checker::{CheckResult, CheckerCore, SavedChecker, Step};
use crate::time::Instant;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServerParams {
    /// `[198.18.1.2]:tcp:80`.
    pub name: String,
    pub weight: u32,
    /// Set weight 0 instead of removing the destination.
    pub inhibit: bool,
    pub notify_up: bool,
    pub notify_down: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsParams {
    pub name: String,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: bool,
    pub quorum_down: bool,
    /// The sorry server's name, if configured.
    pub sorry: Option<String>,
    pub sorry_inhibit: bool,
    /// Run notify_down / quorum_down at shutdown.
    pub omega: bool,
}

/// A checker of a virtual server: real server index, checker index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CheckId {
    pub rs: usize,
    pub ck: usize,
}

/// A real server's state as a successor child resumes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedRealServer {
    pub checkers: Vec<SavedChecker>,
    pub dynamic: Vec<Option<u32>>,
    pub programmed: Option<u32>,
}

/// A virtual server's state as a successor child resumes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedVs {
    pub quorum_up: bool,
    pub sorry_programmed: Option<u32>,
    pub rs: Vec<SavedRealServer>,
}

/// Room the action queue keeps after a burst.
const ACTIONS_KEPT: usize = 64;

#[derive(Clone, Debug)]
pub struct RealServerCore {
    params: RealServerParams,
    checkers: Vec<CheckerCore>,
    /// Per checker: the weight a `misc_dynamic` script last asked for.
    dynamic: Vec<Option<u32>>,
    alive: bool,
    /// The weight IPVS holds for this destination, if it is there.
    programmed: Option<u32>,
}

impl RealServerCore {
    pub fn new(params: RealServerParams, checkers: Vec<CheckerCore>) -> RealServerCore {
        let dynamic = vec![None; checkers.len()];
        RealServerCore { params, checkers, dynamic, alive: false, programmed: None }
    }

    pub fn params(&self) -> &RealServerParams {
        &self.params
    }

    pub fn checkers(&self) -> &[CheckerCore] {
        &self.checkers
    }

    /// All checkers up (a real server without checkers is always alive).
    pub fn is_alive(&self) -> bool {
        self.alive
    }

    pub fn programmed_weight(&self) -> Option<u32> {
        self.programmed
    }

    /// The configured weight moved by `misc_dynamic` results: each dynamic
    /// checker contributes its asked weight minus the configured one, so a
    /// single one sets the weight and several add up.
    pub fn effective_weight(&self) -> u32 {
        let base = i64::from(self.params.weight);
        let offsets: i64 = self.dynamic.iter().flatten().map(|&w| i64::from(w) - base).sum();
        u32::try_from((base + offsets).max(0)).unwrap_or(u32::MAX)
    }

    fn all_up(&self) -> bool {
        self.checkers.iter().all(CheckerCore::is_up)
    }
}

#[derive(Debug)]
pub struct VirtualServerCore {
    params: VsParams,
    rs: Vec<RealServerCore>,
    quorum_up: bool,
    /// The weight IPVS holds for the sorry server, if it is there.
    sorry_programmed: Option<u32>,
    actions: VecDeque<Action>,
    /// Idle checkers by due time, earliest first, so that finding the next
    /// one is not a scan of every checker on every loop turn (1,000 real
    /// servers made that the checker's largest user-space cost). An entry
    /// whose checker is no longer idle at that time is stale: skipped when
    /// it comes up, and never left on top.
    schedule: BinaryHeap<Reverse<(Instant, usize, usize)>>,
}

impl VirtualServerCore {
    /// `quorum` is capped at the total weight and `hysteresis` at quorum - 1,
    /// as keepalived does.
    pub fn new(mut params: VsParams, rs: Vec<RealServerCore>) -> VirtualServerCore {
        let total: u32 = rs.iter().map(|r| r.params.weight).fold(0, u32::saturating_add);
        let mut actions = VecDeque::new();
        if params.quorum > total && total > 0 {
            let line = format!(
                "VS {}: quorum {} is above the total weight {total} - using {total}",
                params.name, params.quorum
            );
            actions.push_back(Action::Log { level: Level::Warn, line });
            params.quorum = total;
        }
        if params.hysteresis >= params.quorum && params.hysteresis > 0 {
            params.hysteresis = params.quorum.saturating_sub(1);
        }
        VirtualServerCore {
            params,
            rs,
            quorum_up: true,
            sorry_programmed: None,
            actions,
            schedule: BinaryHeap::new(),
        }
    }

    pub fn params(&self) -> &VsParams {
        &self.params
    }

    pub fn real_servers(&self) -> &[RealServerCore] {
        &self.rs
    }

    pub fn has_quorum(&self) -> bool {
        self.quorum_up
    }

    pub fn sorry_weight(&self) -> Option<u32> {
        self.sorry_programmed
    }

    /// Sum of the effective weights of the alive real servers.
    pub fn alive_weight(&self) -> u32 {
        self.rs.iter().filter(|r| r.alive).map(RealServerCore::effective_weight).fold(0, u32::saturating_add)
    }

    /// Create the service, schedule every checker's first run (`jitter`
    /// draws from [0, warmup]) and add the destinations that start alive.
    pub fn start(&mut self, now: Instant, jitter: &mut dyn FnMut(Duration) -> Duration) {
        self.start_with(now, jitter, true);
    }

    /// `start`, saying whether the checkers start active: keepalived's
    /// "Deactivating" line instead of "Activating" for those of a
    /// virtual server that `ha_suspend` holds (`check::ha_suspend`; the
    /// edge skips their checks).
    pub fn start_with(&mut self, now: Instant, jitter: &mut dyn FnMut(Duration) -> Duration, active: bool) {
        self.actions.push_back(Action::AddService);
        for rs in &mut self.rs {
            for ck in &mut rs.checkers {
                ck.start(now, jitter(ck.params().warmup));
            }
            rs.alive = rs.all_up();
        }
        self.reschedule();
        let verb = if active { "Activating" } else { "Deactivating" };
        for i in 0..self.rs.len() {
            let name = self.rs[i].params.name.clone();
            for _ in 0..self.rs[i].checkers.len() {
                self.log(
                    Level::Info,
                    format!("{verb} healthchecker for service {name} for VS {}", self.params.name),
                );
            }
        }
        if self.params.sorry.is_some() && self.params.sorry_inhibit {
            self.set_sorry(Some(0));
        }
        self.update_quorum();
        for i in 0..self.rs.len() {
            if self.rs[i].alive {
                if self.serving_reals() {
                    self.program_up(i);
                }
            } else if self.rs[i].params.inhibit {
                self.set_dest(i, Some(0));
            }
        }
        // keepalived starts a virtual server with quorum down (no real server
        // is alive while it reads the configuration) and gains it at once
        // when its real servers start alive, after adding them: the log line
        // and the quorum_up notify (script and FIFO line), no alert.
        let (sum, q, h) = (self.alive_weight(), self.params.quorum, self.params.hysteresis);
        if sum > 0 && sum >= q.saturating_add(h) {
            let high = q.saturating_add(h);
            self.log(
                Level::Info,
                format!("Gained quorum {q}+{h}={high} <= {sum} for VS {}", self.params.name),
            );
            if self.params.quorum_up {
                self.actions.push_back(Action::RunScript(ScriptRef::QuorumUp));
            }
        }
    }

    /// Adopt the state of real servers kept across a reload: `map[new] =
    /// Some(old)`. Their checkers keep up/down, and IPVS is assumed to hold
    /// what it held; `resume` then reconciles.
    /// `same_sorry`: the sorry server is the one the old core programmed.
    pub fn adopt(&mut self, old: &VirtualServerCore, map: &[Option<usize>], same_sorry: bool) {
        self.quorum_up = old.quorum_up;
        self.sorry_programmed = if same_sorry { old.sorry_programmed } else { None };
        for (new, old_idx) in map.iter().enumerate() {
            let (Some(o), Some(rs)) = (old_idx.and_then(|o| old.rs.get(o)), self.rs.get_mut(new)) else {
                continue;
            };
            for (c, ck) in rs.checkers.iter_mut().enumerate() {
                if let Some(oc) = o.checkers.get(c) {
                    if oc.params().wording == ck.params().wording {
                        ck.adopt(oc);
                        rs.dynamic[c] = o.dynamic.get(c).copied().flatten();
                    }
                }
            }
            rs.programmed = o.programmed;
        }
    }

    /// What a successor child needs to go on where this core is: per real
    /// server its checkers, `misc_dynamic` weights and what IPVS holds.
    pub fn saved(&self) -> SavedVs {
        SavedVs {
            quorum_up: self.quorum_up,
            sorry_programmed: self.sorry_programmed,
            rs: self
                .rs
                .iter()
                .map(|r| SavedRealServer {
                    checkers: r.checkers.iter().map(CheckerCore::saved).collect(),
                    dynamic: r.dynamic.clone(),
                    programmed: r.programmed,
                })
                .collect(),
        }
    }

    /// Go on from `saved`, written by a child that ran the same
    /// configuration (so the same real servers and checkers, in order);
    /// `resume` then schedules and programs only the differences. False,
    /// and nothing taken, if the shape differs.
    pub fn restore(&mut self, saved: &SavedVs) -> bool {
        let same_shape = saved.rs.len() == self.rs.len()
            && saved
                .rs
                .iter()
                .zip(&self.rs)
                .all(|(s, r)| s.checkers.len() == r.checkers.len() && s.dynamic.len() == r.dynamic.len());
        if !same_shape {
            return false;
        }
        self.quorum_up = saved.quorum_up;
        self.sorry_programmed = saved.sorry_programmed;
        for (s, r) in saved.rs.iter().zip(&mut self.rs) {
            for (sc, ck) in s.checkers.iter().zip(&mut r.checkers) {
                ck.restore(sc);
            }
            r.dynamic.clone_from(&s.dynamic);
            r.programmed = s.programmed;
        }
        true
    }

    /// After `adopt`: schedule the checkers and program only the differences
    /// from what IPVS holds (no re-adding of failed real servers).
    pub fn resume(&mut self, now: Instant, jitter: &mut dyn FnMut(Duration) -> Duration) {
        for rs in &mut self.rs {
            for ck in &mut rs.checkers {
                ck.start(now, jitter(ck.params().warmup));
            }
            rs.alive = rs.all_up();
        }
        self.reschedule();
        if self.params.sorry.is_none() {
            self.sorry_programmed = None;
        }
        self.update_quorum();
        for i in 0..self.rs.len() {
            let want = if self.rs[i].alive && self.serving_reals() {
                Some(self.rs[i].effective_weight())
            } else if self.rs[i].params.inhibit {
                Some(0)
            } else {
                None
            };
            self.set_dest(i, want);
        }
    }

    /// Start every due check: the edge runs a probe for each returned id
    /// and reports with `finish`.
    pub fn due(&mut self, now: Instant) -> Vec<CheckId> {
        let mut out = Vec::new();
        self.due_batch(now, Duration::ZERO, &mut out);
        out
    }

    /// `due`, plus the checks due within `window` after `now` that may
    /// start that early (`CheckerCore::early_start_allowance`), appended
    /// to `out` (a buffer the edge reuses).
    pub fn due_batch(&mut self, now: Instant, window: Duration, out: &mut Vec<CheckId>) {
        let horizon = now + window;
        // Due within the window but not within their own allowance: back in afterwards.
        let mut later = Vec::new();
        while let Some(&Reverse((at, r, c))) = self.schedule.peek() {
            if at > horizon {
                break;
            }
            self.schedule.pop();
            if let Some(ck) = self.rs.get_mut(r).and_then(|rs| rs.checkers.get_mut(c)) {
                if ck.poll_timeout() != Some(at) {
                    continue; // stale
                }
                if at <= now || at <= now + ck.early_start_allowance().min(window) {
                    ck.begin(now);
                    out.push(CheckId { rs: r, ck: c });
                } else {
                    later.push(Reverse((at, r, c)));
                }
            }
        }
        self.schedule.extend(later);
        self.drop_stale();
    }

    /// Every idle checker into the schedule, afresh.
    fn reschedule(&mut self) {
        self.schedule.clear();
        for (r, rs) in self.rs.iter().enumerate() {
            for (c, ck) in rs.checkers.iter().enumerate() {
                if let Some(at) = ck.poll_timeout() {
                    self.schedule.push(Reverse((at, r, c)));
                }
            }
        }
    }

    /// Pop stale entries off the top, so `poll_timeout` can trust it.
    fn drop_stale(&mut self) {
        while let Some(&Reverse((at, r, c))) = self.schedule.peek() {
            let ck = self.rs.get(r).and_then(|rs| rs.checkers.get(c));
            if ck.and_then(CheckerCore::poll_timeout) == Some(at) {
                break;
            }
            self.schedule.pop();
        }
    }

    /// A check `due` returned is not probed (`CheckerCore::skip`): nothing
    /// changes but its schedule.
    pub fn skip(&mut self, now: Instant, id: CheckId) {
        let Some(ck) = self.rs.get_mut(id.rs).and_then(|rs| rs.checkers.get_mut(id.ck)) else { return };
        if !ck.is_running() {
            return;
        }
        ck.skip(now);
        if let Some(at) = ck.poll_timeout() {
            self.schedule.push(Reverse((at, id.rs, id.ck)));
        }
        self.drop_stale();
    }

    /// A probe ended.
    pub fn finish(&mut self, now: Instant, id: CheckId, result: CheckResult) {
        let Some(rs) = self.rs.get_mut(id.rs) else { return };
        let weight_before = rs.effective_weight();
        let Some(ck) = rs.checkers.get_mut(id.ck) else { return };
        let asked = result.weight;
        let step = ck.finish(now, result);
        if let Some(at) = ck.poll_timeout() {
            self.schedule.push(Reverse((at, id.rs, id.ck)));
        }
        let line = match step {
            Step::Success { came_up, first } if came_up || first => Some((Level::Info, ck.success_line())),
            Step::Success { .. } => None,
            Step::Retrying { attempt } if ck.params().log_all_failures => {
                Some((Level::Info, ck.retry_line(attempt)))
            }
            Step::Retrying { .. } => None,
            Step::WentDown => Some((Level::Info, ck.failure_line())),
            Step::StillDown if ck.params().log_all_failures => Some((Level::Info, ck.failure_line())),
            Step::StillDown => None,
        };
        if let Some(slot) = rs.dynamic.get_mut(id.ck) {
            if matches!(step, Step::Success { .. }) {
                *slot = asked;
            }
        }
        if let Some((level, line)) = line {
            self.log(level, line);
        }
        self.drop_stale();
        let rs_changed = self.update_real_server(id.rs, weight_before);
        let up = match step {
            Step::Success { came_up: true, .. } => Some(true),
            Step::WentDown => Some(false),
            _ => None,
        };
        if let Some(up) = up {
            self.actions.push_back(Action::Alert(AlertRef::Checker { rs: id.rs, ck: id.ck, up, rs_changed }));
        }
    }

    /// The earliest due check.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.schedule.peek().map(|Reverse((at, _, _))| *at)
    }

    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        let action = self.actions.pop_front();
        // A burst (every real server changing at once) should not keep its
        // queue for the child's life: 1,000 real servers going down leave
        // over 100 KB otherwise. Bursts are rare, so is this reallocation.
        if action.is_none() && self.actions.capacity() > ACTIONS_KEPT {
            self.actions.shrink_to(ACTIONS_KEPT);
        }
        action
    }

    /// Stop checking; with `omega` run notify_down for the alive real
    /// servers and quorum_down; remove the service.
    pub fn shutdown(&mut self) {
        for rs in &mut self.rs {
            rs.checkers.iter_mut().for_each(CheckerCore::stop);
        }
        self.schedule.clear();
        if self.params.omega {
            for i in 0..self.rs.len() {
                if self.rs[i].alive && self.rs[i].params.notify_down {
                    self.actions.push_back(Action::RunScript(ScriptRef::NotifyDown(i)));
                }
            }
            if self.quorum_up && self.params.quorum_down {
                self.actions.push_back(Action::RunScript(ScriptRef::QuorumDown));
            }
        }
        self.actions.push_back(Action::DelService);
    }

    /// Whether the real server's state changed.
    /// `weight_before`: its effective weight before this result.
    fn update_real_server(&mut self, i: usize, weight_before: u32) -> bool {
        let (alive, was, weight) = {
            let rs = &self.rs[i];
            (rs.all_up(), rs.alive, rs.effective_weight())
        };
        if alive != was {
            self.rs[i].alive = alive;
            if self.serving_reals() {
                if alive {
                    self.program_up(i);
                } else {
                    self.program_down(i);
                }
            }
            let p = &self.rs[i].params;
            let script = if alive {
                p.notify_up.then_some(ScriptRef::NotifyUp(i))
            } else {
                p.notify_down.then_some(ScriptRef::NotifyDown(i))
            };
            if let Some(s) = script {
                self.actions.push_back(Action::RunScript(s));
            }
            self.update_quorum();
            return true;
        } else if alive && self.serving_reals() && self.rs[i].programmed.is_some_and(|w| w != weight) {
            let from = self.rs[i].programmed.unwrap_or(0);
            let name = self.rs[i].params.name.clone();
            self.log(
                Level::Info,
                format!("Changing weight from {from} to {weight} for {name} of VS {}", self.params.name),
            );
            self.set_dest(i, Some(weight));
            self.update_quorum();
        } else if alive && weight != weight_before {
            // Only a changed weight can move the quorum sum; re-adding it
            // up for every success would scan every real server each time.
            self.update_quorum();
        }
        false
    }

    /// Real servers are in IPVS unless the sorry server stands in for them.
    fn serving_reals(&self) -> bool {
        self.quorum_up || self.params.sorry.is_none()
    }

    fn program_up(&mut self, i: usize) {
        let rs = &self.rs[i];
        let verb = if rs.programmed.is_some() { "Enabling service" } else { "Adding service" };
        let line = format!("{verb} {} to VS {}", rs.params.name, self.params.name);
        let weight = rs.effective_weight();
        self.log(Level::Info, line);
        self.set_dest(i, Some(weight));
    }

    fn program_down(&mut self, i: usize) {
        let rs = &self.rs[i];
        if rs.programmed.is_none() {
            return;
        }
        let (verb, want) =
            if rs.params.inhibit { ("Disabling service", Some(0)) } else { ("Removing service", None) };
        let line = format!("{verb} {} from VS {}", rs.params.name, self.params.name);
        self.log(Level::Info, line);
        self.set_dest(i, want);
    }

    /// Make IPVS hold `want` for real server `i` (None: absent).
    fn set_dest(&mut self, i: usize, want: Option<u32>) {
        let dest = DestRef::Real(i);
        let action = match (self.rs[i].programmed, want) {
            (None, Some(weight)) => Action::AddDest { dest, weight },
            (Some(old), Some(weight)) if old != weight => Action::SetWeight { dest, weight },
            (Some(_), None) => Action::DelDest { dest },
            _ => return,
        };
        self.rs[i].programmed = want;
        self.actions.push_back(action);
    }

    fn set_sorry(&mut self, want: Option<u32>) {
        let dest = DestRef::Sorry;
        let action = match (self.sorry_programmed, want) {
            (None, Some(weight)) => Action::AddDest { dest, weight },
            (Some(old), Some(weight)) if old != weight => Action::SetWeight { dest, weight },
            (Some(_), None) => Action::DelDest { dest },
            _ => return,
        };
        self.sorry_programmed = want;
        self.actions.push_back(action);
    }

    /// keepalived's `update_quorum_state`: lose quorum when the alive weight
    /// is 0 or below quorum - hysteresis, regain it at quorum + hysteresis.
    fn update_quorum(&mut self) {
        let sum = self.alive_weight();
        let (q, h) = (self.params.quorum, self.params.hysteresis);
        let low = q.saturating_sub(h);
        let high = q.saturating_add(h);
        if self.quorum_up && (sum == 0 || sum < low) {
            self.quorum_up = false;
            self.log(Level::Info, format!("Lost quorum {q}-{h}={low} > {sum} for VS {}", self.params.name));
            self.actions.push_back(Action::Alert(AlertRef::Quorum { up: false, weight: sum }));
            if self.params.quorum_down {
                self.actions.push_back(Action::RunScript(ScriptRef::QuorumDown));
            }
            if let Some(sorry) = self.params.sorry.clone() {
                self.log(Level::Info, format!("Adding sorry server {sorry} to VS {}", self.params.name));
                self.set_sorry(Some(1));
                self.log(
                    Level::Info,
                    format!("Removing alive servers from the pool for VS {}", self.params.name),
                );
                for i in 0..self.rs.len() {
                    if self.rs[i].alive {
                        let want = if self.rs[i].params.inhibit { Some(0) } else { None };
                        self.set_dest(i, want);
                    }
                }
            }
        } else if !self.quorum_up && sum > 0 && sum >= high {
            self.quorum_up = true;
            self.log(
                Level::Info,
                format!("Gained quorum {q}+{h}={high} <= {sum} for VS {}", self.params.name),
            );
            self.actions.push_back(Action::Alert(AlertRef::Quorum { up: true, weight: sum }));
            if self.params.quorum_up {
                self.actions.push_back(Action::RunScript(ScriptRef::QuorumUp));
            }
            if let Some(sorry) = self.params.sorry.clone() {
                self.log(Level::Info, format!("Removing sorry server {sorry} from VS {}", self.params.name));
                let want = if self.params.sorry_inhibit { Some(0) } else { None };
                self.set_sorry(want);
                self.log(
                    Level::Info,
                    format!("Adding alive servers to the pool for VS {}", self.params.name),
                );
                for i in 0..self.rs.len() {
                    if self.rs[i].alive {
                        let weight = self.rs[i].effective_weight();
                        self.set_dest(i, Some(weight));
                    }
                }
            }
        }
    }

    fn log(&mut self, level: Level, line: String) {
        self.actions.push_back(Action::Log { level, line });
    }
}
