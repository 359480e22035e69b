//! `lvs_sync_daemon IF inst VI ...`: the kernel's IPVS connection sync
//! daemon follows one VRRP instance, a master daemon while the instance is
//! MASTER and a backup daemon otherwise (FAULT and BACKUP alike), as
//! keepalived's VRRP child does. Without `inst` the checker runs both
//! (`check::engine`).
//!
//! Each change stops the other role's daemon first, so a daemon left by a
//! child that crashed or was upgraded is replaced rather than doubled; a
//! daemon already running in the wanted role (EEXIST) is kept. A stop with
//! release (not `-V`, not a handover) stops the running daemon.

use log::{error, info};

use crate::config::model::{GlobalDefs, LvsSyncDaemon};
use crate::ipvs::{self, Ipvs, SyncDaemon, SyncRole};
use crate::vrrp::State;

/// What the sync daemon should be while the instance is in `state`.
pub(super) fn role_for(state: State) -> SyncRole {
    if state == State::Master {
        SyncRole::Master
    } else {
        SyncRole::Backup
    }
}

#[derive(Default)]
pub(super) struct LvsSync {
    cfg: Option<LvsSyncDaemon>,
    ipvs: Option<Ipvs>,
    /// IPVS could not be opened: said once, not retried on every change.
    unavailable: bool,
    running: Option<SyncRole>,
}

impl LvsSync {
    /// The daemon of `global`, if it follows a VRRP instance.
    pub(super) fn new(global: &GlobalDefs) -> LvsSync {
        LvsSync { cfg: followed(global), ..LvsSync::default() }
    }

    /// Instance `name` entered `state`.
    pub(super) fn follow(&mut self, name: &str, state: State) {
        if state == State::Stop || self.cfg.as_ref().and_then(|c| c.instance.as_deref()) != Some(name) {
            return;
        }
        let want = role_for(state);
        if self.running == Some(want) {
            return;
        }
        let Some(daemon) = self.daemon(want) else { return };
        let Some(ipvs) = self.open() else { return };
        let other = match want {
            SyncRole::Master => SyncRole::Backup,
            SyncRole::Backup => SyncRole::Master,
        };
        if let Err(e) = ipvs.stop_daemon(other) {
            if !e.is_not_found() {
                error!("IPVS: {e}");
            }
        }
        match ipvs.start_daemon(&daemon) {
            Ok(()) => info!(
                "Starting IPVS sync daemon ({}) on {} for ({name}), sync id {}",
                want.as_str(),
                daemon.ifname,
                daemon.sync_id
            ),
            Err(e) if e.is_exists() => {}
            Err(e) => {
                error!("IPVS: {e}");
                return;
            }
        }
        self.running = Some(want);
    }

    /// The daemon stops with the VRRP instances (a release, not a handover).
    pub(super) fn stop(&mut self) {
        let Some(role) = self.running.take() else { return };
        let Some(ipvs) = self.open() else { return };
        match ipvs.stop_daemon(role) {
            Ok(()) => info!("Stopping IPVS sync daemon ({})", role.as_str()),
            Err(e) if e.is_not_found() => {}
            Err(e) => error!("IPVS: {e}"),
        }
    }

    /// A reload: an unchanged daemon keeps running; a changed one is
    /// stopped, and `follow` starts the new one from the instance's state.
    pub(super) fn reconfigure(&mut self, global: &GlobalDefs) {
        let new = followed(global);
        if new != self.cfg {
            self.stop();
            self.cfg = new;
        }
    }

    /// The instance the daemon follows, if any.
    pub(super) fn instance(&self) -> Option<&str> {
        self.cfg.as_ref().and_then(|c| c.instance.as_deref())
    }

    fn daemon(&self, role: SyncRole) -> Option<SyncDaemon> {
        self.cfg.as_ref().map(|c| SyncDaemon::configured(c, role))
    }

    fn open(&mut self) -> Option<&mut Ipvs> {
        if self.ipvs.is_none() && !self.unavailable {
            match Ipvs::open() {
                Ok(i) => self.ipvs = Some(i),
                Err(e) => {
                    self.unavailable = true;
                    match e {
                        ipvs::Error::NotAvailable => {
                            error!(
                                "lvs_sync_daemon: IPVS is not available in this kernel; no connection sync"
                            )
                        }
                        e => error!("lvs_sync_daemon: cannot open IPVS: {e}; no connection sync"),
                    }
                }
            }
        }
        self.ipvs.as_mut()
    }
}

fn followed(global: &GlobalDefs) -> Option<LvsSyncDaemon> {
    global.lvs_sync_daemon.clone().filter(|d| d.instance.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_alone_runs_the_master_daemon() {
        assert_eq!(role_for(State::Master), SyncRole::Master);
        for s in [State::Init, State::Backup, State::Fault] {
            assert_eq!(role_for(s), SyncRole::Backup, "{s}");
        }
    }

    #[test]
    fn only_a_daemon_with_an_instance_is_followed() {
        let mut g = GlobalDefs::default();
        let d = LvsSyncDaemon {
            ifname: "eth1".into(),
            instance: None,
            sync_id: Some(0),
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        g.lvs_sync_daemon = Some(d.clone());
        assert_eq!(LvsSync::new(&g).instance(), None, "the checker runs it");
        g.lvs_sync_daemon = Some(LvsSyncDaemon { instance: Some("VI_1".into()), ..d });
        let mut s = LvsSync::new(&g);
        assert_eq!(s.instance(), Some("VI_1"));
        // Another instance's changes, and STOP, start nothing (no IPVS opened).
        s.follow("VI_2", State::Master);
        s.follow("VI_1", State::Stop);
        assert!(s.ipvs.is_none() && !s.unavailable && s.running.is_none());
    }
}
