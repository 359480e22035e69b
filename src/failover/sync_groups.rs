//! Sync groups, the edge: instances as `crate::vrrp::sync` sees them, and
//! its decisions carried out (member moves queued as `Work`, group notify
//! scripts, FIFO lines and alerts).

use super::alerts::{alert_state, group_alert, state_script};
use super::{VrrpEngine, Work};
use crate::script::{self, NotifyScope};
use crate::smtp::Alert;
use crate::time::Monotonic;
use crate::vrrp::sync::{Lookup, Member, SyncAction};
use crate::vrrp::State;

impl VrrpEngine {
    pub(super) fn apply_sync_holds(&mut self) {
        for i in 0..self.insts.len() {
            let held = self.periphery.group_of(&self.insts[i].cfg.name).is_some();
            self.insts[i].core.set_sync_hold(held);
        }
    }

    /// The notify scripts of every sync group.
    pub(super) fn ext_group_notifies(&self) -> Vec<crate::config::model::Notify> {
        self.periphery.group_cfgs.iter().map(|g| g.notify.clone()).collect()
    }

    /// A state change of instance `i`: SMTP alert, sync group moves,
    /// group notifications.
    pub(super) fn ext_state_change(&mut self, i: usize, from: State, to: State, now: Monotonic) {
        let inst = &self.insts[i];
        if inst.cfg.effective_smtp_alert(&self.global) {
            if let Some(s) = alert_state(to, &self.global) {
                let alert = Alert::vrrp_instance(&inst.cfg.name, s);
                if let Some(m) = self.periphery.mailer.as_mut() {
                    m.send(&alert, now);
                }
            }
        }
        let name = inst.cfg.name.clone();
        let mut out = Vec::new();
        self.periphery.sync.member_changed(
            &name,
            i,
            from,
            to,
            &sync_lookup(&self.insts, &self.pending),
            &mut out,
        );
        self.apply_sync(out, now);
    }

    /// keepalived announces every sync group before its members start:
    /// BACKUP, or FAULT when a member starts in FAULT.
    pub(super) fn ext_announce_groups(&mut self, now: Monotonic) {
        let mut out = Vec::new();
        self.periphery.sync.announce_start(&sync_lookup(&self.insts, &self.pending), &mut out);
        self.apply_sync(out, now);
    }

    /// Members held in BACKUP go MASTER together once every member wants
    /// it; the one that wanted it last goes first.
    pub(super) fn sync_settle(&mut self, now: Monotonic) {
        let mut out = Vec::new();
        self.periphery.sync.settle(&sync_lookup(&self.insts, &self.pending), &mut out);
        self.apply_sync(out, now);
    }

    /// Carry out the sync groups' decisions: the moved members' own
    /// effects are queued behind what is already queued (`apply`).
    pub(super) fn apply_sync(&mut self, actions: Vec<SyncAction>, now: Monotonic) {
        let vnow = self.epoch.instant(now);
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
    pub(super) fn group_set_state(&mut self, g: usize, state: State, prio: u8, now: Monotonic) {
        let cfg = &self.periphery.group_cfgs[g];
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
            if let Some(m) = self.periphery.mailer.as_mut() {
                m.send(&Alert::vrrp_group(&name, s), now);
            }
        }
    }
}

/// How the sync groups see each configured instance: running (by its
/// index, with its core's state), waiting to run, or not configured.
pub(super) fn sync_lookup<'a>(
    insts: &'a [super::RunningInstance],
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
