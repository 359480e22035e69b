//! Tracking, the edge: link states from rtnetlink, `vrrp_script` runs and
//! `track_file` values (inotify) are gathered here and fed to the pure tracking rules (`track.rs`), and
//! each instance's priority and FAULT follow from the verdicts.

use std::time::Duration;

use log::{error, info, warn};

use super::sync_groups::sync_lookup;
use super::track::{effective_priority, Change, Source};
use super::VrrpEngine;
use crate::config::model::{Command as ConfCommand, VrrpScript};
use crate::runtime::TokenAlloc;
use crate::script::{self, Command, Completion, Job, NotifyScope, Order, Outcome, ScriptKind};
use crate::sys::link::{self, Event};
use crate::sys::track_file::TrackedFiles;
use crate::time::Monotonic;
use crate::vrrp::State;

/// Queue/exclusivity keys of vrrp_script runs start with this.
const SCRIPT_KEY: &str = "VRRP_Script ";

pub(super) struct ScriptJob {
    pub(super) cfg: VrrpScript,
    pub(super) due: Option<Monotonic>,
}

impl VrrpEngine {
    /// Re-read every interface; the tracked ones that changed.
    pub(super) fn refresh_links(&mut self) -> Vec<(String, bool)> {
        match link::dump_links(&mut self.nl) {
            Ok(links) => {
                let states = links.iter().map(|l| (l.name.clone(), l.is_up() && l.is_running()));
                self.periphery.tracking.set_links(states)
            }
            Err(e) => {
                warn!("interface dump: {e}");
                Vec::new()
            }
        }
    }

    /// Every instance's priority and fault from its trackers and its sync group.
    pub(super) fn reevaluate(&mut self, now: Monotonic) {
        let vnow = self.epoch.instant(now);
        let verdicts: Vec<_> =
            self.insts.iter().map(|inst| self.periphery.tracking.verdict(&inst.cfg.name)).collect();
        // Refused VIPs fault an instance as its trackers do (`retry_vips`).
        let own_fault: Vec<bool> = (self.insts.iter().zip(&verdicts))
            .map(|(inst, v)| !v.faults.is_empty() || inst.vip_fault.is_some())
            .collect();
        let mut out = Vec::new();
        let group_fault =
            self.periphery.sync.faults(&sync_lookup(&self.insts, &self.pending), &|i| own_fault[i], &mut out);
        self.apply_sync(out, now);
        for (i, v) in verdicts.iter().enumerate() {
            let g = self.periphery.group_of(&self.insts[i].cfg.name);
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
    pub(super) fn notify_priority_changes(&self, i: usize, g: Option<usize>) -> bool {
        let own = self.insts[i].cfg.notify_priority_changes;
        let group = g.and_then(|g| self.periphery.group_cfgs[g].notify_priority_changes);
        own.or(group).unwrap_or(self.global.vrrp_notify_priority_changes)
    }

    /// Link and address events from the monitor. True when there were any
    /// (or a re-dump after an overrun): a pending instance may start now.
    pub(super) fn ext_link_events(&mut self, now: Monotonic) -> bool {
        let Some((monitor, _)) = self.monitor.as_mut() else { return false };
        let mut events = Vec::new();
        if let Err(e) = monitor.read_events(&mut events) {
            warn!("link monitor: {e}");
        }
        if events.contains(&Event::Resync) {
            // Events were dropped, and what is still queued is older than a
            // dump taken now that the socket is drained: trust the dump.
            warn!("Netlink: link events lost (receive queue overrun) - re-reading every interface");
            for (name, up) in self.refresh_links() {
                info!("Netlink reports {name} {}", if up { "up" } else { "down" });
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
            if self.periphery.tracking.set_link(&name, up) {
                changed = true;
                if self.periphery.tracking.tracks(&Source::Link(name.clone())) {
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

    /// Open the track files `configure` asked for (at start, or after a
    /// reload that changed them): `init_file`, the inotify watch, the
    /// first values.
    pub(super) fn open_track_files(&mut self, registry: &mio::Registry, tokens: &mut TokenAlloc) {
        let p = &mut self.periphery;
        let Some(files) = p.files_wanted.take() else { return };
        if let Some(mut old) = p.files.take() {
            old.close(registry);
        }
        let reload = std::mem::replace(&mut p.files_started, true);
        if files.is_empty() {
            return;
        }
        let token = *p.file_token.get_or_insert_with(|| tokens.alloc());
        let mut tracked = TrackedFiles::new(files, token);
        tracked.open(registry, reload);
        for name in tracked.names() {
            p.tracking.set_file(&name, tracked.value(&name));
        }
        p.files = Some(tracked);
    }

    /// Readiness on the track files' inotify descriptor: the new values;
    /// false if `token` is not its.
    pub(super) fn track_files_readable(&mut self, token: mio::Token, now: Monotonic) -> bool {
        let p = &mut self.periphery;
        let Some(tracked) = p.files.as_mut().filter(|t| t.token() == token) else { return false };
        let mut news = false;
        for name in tracked.changed() {
            news |= p.tracking.set_file(&name, tracked.value(&name));
        }
        if news {
            self.reevaluate(now);
        }
        true
    }

    /// An interface changed or the configuration was reloaded: instances
    /// held in FAULT by refused VIPs may try again.
    pub(super) fn clear_vip_faults(&mut self) {
        for inst in &mut self.insts {
            if let Some(what) = inst.vip_fault.take() {
                info!("({}) leaving the FAULT of refused VIPs ({what}) to try again", inst.cfg.name);
            }
        }
    }

    /// A finished job of the script runner; false if it is not a vrrp_script.
    /// The vrrp_scripts in use, by name.
    pub(super) fn ext_script_names(&self) -> Vec<String> {
        self.periphery.scripts.iter().map(|j| j.cfg.name.clone()).collect()
    }

    /// A vrrp_script's command with its `user` (as the runner sees it).
    pub(super) fn ext_script_command(&self, name: &str) -> Option<ConfCommand> {
        let j = self.periphery.scripts.iter().find(|j| j.cfg.name == name)?;
        let cmd = j.cfg.script.clone()?;
        Some(match &j.cfg.user {
            Some((u, g)) => ConfCommand { user: Some(u.clone()), group: g.clone(), ..cmd },
            None => cmd,
        })
    }

    pub(super) fn ext_disable_script(&mut self, name: &str, disabled: bool) {
        self.periphery.tracking.disable_script(name, disabled);
    }

    pub(super) fn ext_script_done(&mut self, done: &Completion, now: Monotonic) -> bool {
        let Some(name) = done.key.strip_prefix(SCRIPT_KEY) else { return false };
        let status = match done.outcome {
            Outcome::Exited(code) => Some(code),
            _ => None,
        };
        let (status, change) = self.periphery.tracking.script_done(name, status, done.outcome.success());
        if let Some(s) = status {
            info!("Script `{name}` now returning {s}");
        }
        if matches!(done.outcome, Outcome::TimedOut) {
            warn!("VRRP_Script({name}) timed_out");
        }
        match change {
            Change::None => return true,
            Change::Rose => info!("VRRP_Script({name}) succeeded"),
            Change::Fell => info!("VRRP_Script({name}) failed ({})", done.outcome),
        }
        self.reevaluate(now);
        true
    }

    pub(super) fn run_due_scripts(&mut self, now: Monotonic) {
        for k in 0..self.periphery.scripts.len() {
            let job = &self.periphery.scripts[k];
            if self.periphery.tracking.script_disabled(&job.cfg.name) || job.due.is_none_or(|d| d > now) {
                continue;
            }
            let cfg = job.cfg.clone();
            self.periphery.scripts[k].due = Some(now + cfg.interval.max(Duration::from_millis(10)));
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
                self.policy.user_for_command(ScriptKind::Track(&cfg.name), &conf_cmd, None, &command)
            else {
                self.periphery.tracking.disable_script(&cfg.name, true);
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
}

/// The interface an address event is about: its IPv4 label, else the name
/// the index has now (the interface may be gone: then its index).
pub(super) fn ifname_of(a: &crate::sys::link::Address) -> String {
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
