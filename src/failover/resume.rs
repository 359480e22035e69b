//! A VRRP child that replaces one which crashed resumes its masters.
//!
//! A new child used to start every instance in BACKUP: remove the VIPs,
//! wait a whole Master_Down interval, and win back only if its own interval
//! is shorter than the backup's. The VIP was gone for ~3.5 s (advert 1 s).
//!
//! So the child keeps a small state file in the daemon's runtime directory
//! (`RunPaths::state_file`), rewritten atomically on every state change (not
//! per advert): per instance its state and the hash of its configuration,
//! and when it was written (CLOCK_MONOTONIC). The successor resumes an
//! instance as MASTER (`Instance::resume_as_master`: an advert at once,
//! gratuitous ARPs, the VIPs left in place) only when all of this holds:
//! - the parent saw the predecessor die (`ChildStart::predecessor`), the
//!   file was written during its life, and it died no longer ago than the
//!   instance's Master_Down interval (a backup may have taken over since);
//! - the instance was MASTER and its configuration (and the global one) is
//!   unchanged;
//! - it is in no sync group (the group decides for its members together);
//! - every VIP is still on its interface (a master whose VIPs went was
//!   leaving MASTER when it died).
//!
//! Anything else is the normal start. A backup starts as before: its master's
//! next advert is accepted well within the full Master_Down timer it starts
//! with, so it keeps that master without any state carried over. The
//! daemon's clean stop removes the file, so a later start is a normal start.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use log::{info, warn};

use super::VrrpEngine;
use crate::config::model::{GlobalDefs, VrrpInstance};
use crate::config::Config;
use crate::sys::link;
use crate::sys::state_file;
use crate::time::Monotonic;
use crate::vrrp::State;

/// First line of the state file.
const MAGIC: &str = "vigil-vrrp-state 1";

pub use crate::sys::state_file::ResumeFrom;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Saved {
    state: State,
    config: u64,
}

/// What the predecessor left, and where this child keeps its own.
#[derive(Default)]
pub(super) struct Resume {
    path: Option<PathBuf>,
    /// The predecessor's instances, when its file is from its life.
    previous: HashMap<String, Saved>,
    /// When the predecessor died.
    died: Option<Monotonic>,
    /// Members of sync groups: never resumed alone.
    grouped: HashSet<String>,
    global: u64,
    /// This child's [`ResumeFrom::config_digest`], and the predecessor's.
    digest: String,
    previous_digest: Option<String>,
    /// What was last written, so an unchanged state is not written again.
    written: Vec<(String, State, u64)>,
    /// Each instance's `config_hash` by name, computed once per configuration:
    /// a hash formats the whole instance, and a state change of many
    /// instances at once (start, a failover of 255) would otherwise format
    /// every instance again for each of them.
    hashes: HashMap<String, u64>,
    /// A state changed and is not written yet (written at the end of the loop pass).
    dirty: bool,
}

/// The instances in a sync group, which never resume as MASTER alone.
fn grouped(config: &Config) -> HashSet<String> {
    config.sync_groups.iter().flat_map(|g| g.members.iter().map(|(m, _)| m.clone())).collect()
}

impl Resume {
    pub fn new(from: Option<ResumeFrom>, config: &Config) -> Resume {
        let mut r =
            Resume { grouped: grouped(config), global: hash_global(&config.global), ..Default::default() };
        let Some(from) = from else { return r };
        r.digest = from.config_digest.clone();
        if let Some(life) = from.predecessor {
            let text = state_file::read_predecessors(&from.state_file, MAGIC, life, "VRRP");
            match text.as_deref().map(parse) {
                Some(Some(file)) => {
                    r.previous = file.instances;
                    r.previous_digest = file.config_digest;
                    r.died = Some(life.died);
                }
                Some(None) => warn!("{}: unreadable - normal start", from.state_file.display()),
                None => {}
            }
        }
        r.path = Some(from.state_file);
        r
    }

    fn config_hash(&self, cfg: &VrrpInstance) -> u64 {
        // Debug output of the model is deterministic (no hash maps in it).
        let mut h = DefaultHasher::new();
        self.global.hash(&mut h);
        format!("{cfg:?}").hash(&mut h);
        h.finish()
    }

    /// Whether instance `cfg` resumes as MASTER, judged by everything but
    /// its VIPs: `down` is its Master_Down interval. Logs why not when the
    /// predecessor had it as master.
    fn may_resume(&self, cfg: &VrrpInstance, down: Duration, now: Monotonic) -> bool {
        let (Some(saved), Some(died)) = (self.previous.get(&cfg.name), self.died) else { return false };
        if saved.state != State::Master {
            return false;
        }
        let same_snapshot =
            self.previous_digest.as_deref().is_some_and(|d| !d.is_empty() && d == self.digest);
        let why_not = if saved.config != self.config_hash(cfg) && !same_snapshot {
            "its configuration changed".to_string()
        } else if self.grouped.contains(&cfg.name) {
            "it is in a sync group".to_string()
        } else if now.saturating_duration_since(died) > down {
            let age = now.saturating_duration_since(died);
            format!(
                "the previous child died {} ms ago, longer than Master_Down {} ms",
                age.as_millis(),
                down.as_millis()
            )
        } else {
            return true;
        };
        info!("({}) was MASTER in the previous VRRP child, but {why_not} - normal start", cfg.name);
        false
    }

    /// A reload: hashes follow the new global settings, sync groups and instances.
    pub fn reconfigure(&mut self, config: &Config) {
        self.grouped = grouped(config);
        self.global = hash_global(&config.global);
        self.hashes.clear();
    }

    /// `cfg`'s `config_hash`, computed once per configuration.
    fn cached_hash(&mut self, cfg: &VrrpInstance) -> u64 {
        if let Some(&h) = self.hashes.get(&cfg.name) {
            return h;
        }
        let h = self.config_hash(cfg);
        self.hashes.insert(cfg.name.clone(), h);
        h
    }

    /// Record the states of `insts`, if they differ from what was written.
    fn save(&mut self, insts: Vec<(String, State, u64)>) {
        let Some(path) = &self.path else { return };
        if insts == self.written {
            return;
        }
        let mut body = String::new();
        for (name, state, hash) in &insts {
            body.push_str(&format!("instance {} {hash:016x} {name}\n", state.as_str()));
        }
        match state_file::write(path, MAGIC, &self.digest, &body) {
            Ok(()) => self.written = insts,
            Err(e) => {
                warn!("cannot write {}: {e} - a restarted VRRP child will start afresh", path.display())
            }
        }
    }

    /// The child's start is over: nothing more is resumed.
    pub fn forget_previous(&mut self) {
        self.previous.clear();
        self.died = None;
    }

    /// The daemon stops cleanly: the next start is a normal one.
    pub fn remove(&mut self) {
        if let Some(path) = self.path.take() {
            crate::sys::file::remove_own(&path, "state file");
        }
    }
}

impl VrrpEngine {
    /// At the child's start: start instance `i` as MASTER if its predecessor
    /// had it so (see the module docs); false when it must start normally.
    pub(super) fn resume_instance(&mut self, i: usize, now: Monotonic) -> bool {
        let inst = &self.insts[i];
        let down = inst.core.master_down_interval();
        if !self.resume.may_resume(&inst.cfg, down, now) {
            return false;
        }
        let missing = self.missing_vips(i);
        let inst = &self.insts[i];
        if !missing.is_empty() {
            let list = missing.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" ");
            info!(
                "({}) was MASTER in the previous VRRP child, but VIPs {list} are gone - normal start",
                inst.cfg.name
            );
            return false;
        }
        self.sync_wall_clock(now);
        let vnow = self.epoch.instant(now);
        if !self.insts[i].core.resume_as_master(vnow) {
            return false;
        }
        self.firewall_resumed(i);
        self.apply(i, now);
        true
    }

    /// The VIPs of instance `i` that are not on their interface.
    fn missing_vips(&mut self, i: usize) -> Vec<IpAddr> {
        let addrs = match link::dump_addrs(&mut self.nl, None, None) {
            Ok(a) => a,
            Err(e) => {
                warn!("cannot list addresses: {e}");
                return vec![IpAddr::from([0, 0, 0, 0])];
            }
        };
        let inst = &self.insts[i];
        let (vip_index, _) = inst.vip_dev();
        inst.cfg
            .vips
            .iter()
            .chain(&inst.cfg.vips_excluded)
            .filter(|vip| {
                // A VIP on another named device: that device's index.
                let on = |a: &link::Address| {
                    a.addr == vip.addr
                        && match &vip.dev {
                            None => a.index == vip_index,
                            Some(dev) if *dev == inst.ifname => a.index == inst.ifindex,
                            Some(_) => true,
                        }
                };
                !addrs.iter().any(on)
            })
            .map(|vip| vip.addr)
            .collect()
    }

    /// A state changed: written for a successor at the end of this loop
    /// pass (`flush_states`), once however many instances changed in it.
    pub(super) fn save_states(&mut self) {
        self.resume.dirty = true;
    }

    /// Whether `flush_states` has something to write (the loop's next pass is due at once).
    pub(super) fn states_dirty(&self) -> bool {
        self.resume.dirty
    }

    /// Write every instance's state for a successor, if one changed.
    pub(super) fn flush_states(&mut self) {
        if !std::mem::take(&mut self.resume.dirty) {
            return;
        }
        let resume = &mut self.resume;
        let insts = self
            .insts
            .iter()
            .map(|i| (i.cfg.name.clone(), i.core.state(), resume.cached_hash(&i.cfg)))
            .collect();
        resume.save(insts);
    }
}

fn hash_global(g: &GlobalDefs) -> u64 {
    let mut h = DefaultHasher::new();
    format!("{g:?}").hash(&mut h);
    h.finish()
}

/// What a state file says.
struct StateFile {
    instances: HashMap<String, Saved>,
    /// The snapshot digest of the child that wrote it.
    config_digest: Option<String>,
}

/// A state file; None if it is not one.
fn parse(text: &str) -> Option<StateFile> {
    let file = state_file::parse(text, MAGIC)?;
    let mut out = HashMap::new();
    for line in file.body {
        let mut w = line.splitn(4, ' ');
        let (Some("instance"), Some(state), Some(hash), Some(name)) =
            (w.next(), w.next(), w.next(), w.next())
        else {
            return None;
        };
        let state = [State::Init, State::Backup, State::Master, State::Fault, State::Stop]
            .into_iter()
            .find(|s| s.as_str() == state)?;
        out.insert(name.to_string(), Saved { state, config: u64::from_str_radix(hash, 16).ok()? });
    }
    Some(StateFile { instances: out, config_digest: file.config_digest.map(String::from) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_file_round_trip_and_garbage() {
        let text = format!("{MAGIC}\nwritten 1234\ninstance MASTER 00000000000000ff VI 1\ninstance BACKUP 0000000000000001 VI_2\n");
        let file = parse(&text).unwrap();
        assert_eq!(file.config_digest, None);
        let m = file.instances;
        assert_eq!(m["VI 1"], Saved { state: State::Master, config: 255 });
        assert_eq!(m["VI_2"].state, State::Backup);
        let text = format!("{MAGIC}\nwritten 5\nconfig ab12\ninstance MASTER 00000000000000ff VI\n");
        let file = parse(&text).unwrap();
        assert_eq!(file.config_digest.as_deref(), Some("ab12"));
        assert_eq!(file.instances["VI"].state, State::Master);
        for bad in [
            "",
            "vigil-vrrp-state 2\nwritten 1\n",
            &format!("{MAGIC}\nwritten x\n"),
            &format!("{MAGIC}\nwritten 1\ninstance MAYBE 1 VI\n"),
            &format!("{MAGIC}\nwritten 1\ninstance MASTER zz VI\n"),
            &format!("{MAGIC}\nwritten 1\nVI\n"),
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    fn instance(name: &str) -> VrrpInstance {
        let text = format!("vrrp_instance {name} {{\n interface eth0\n virtual_router_id 1\n priority 100\n virtual_ipaddress {{\n  198.18.0.100/24\n }}\n}}\n");
        let l = crate::config::load_bytes(
            "t.conf",
            text.as_bytes(),
            std::path::Path::new("/"),
            &Default::default(),
        );
        assert!(l.diags.iter().all(|d| !d.is_error()), "{:?}", l.diags);
        l.config.instances[0].clone()
    }

    #[test]
    fn only_a_recent_unchanged_master_resumes() {
        let cfg = instance("VI_1");
        let config = Config::default();
        let died = Monotonic::now();
        let mut r = Resume::new(None, &config);
        let hash = r.config_hash(&cfg);
        r.died = Some(died);
        r.previous.insert("VI_1".into(), Saved { state: State::Master, config: hash });
        let down = Duration::from_millis(3600);
        assert!(r.may_resume(&cfg, down, died + Duration::from_millis(50)));
        assert!(!r.may_resume(&cfg, down, died + Duration::from_millis(3700)), "too old");
        let mut changed = cfg.clone();
        changed.priority = Some(101);
        assert!(!r.may_resume(&changed, down, died), "configuration changed");
        r.grouped.insert("VI_1".into());
        assert!(!r.may_resume(&cfg, down, died), "sync group member");
        r.grouped.clear();
        r.previous.insert("VI_1".into(), Saved { state: State::Backup, config: hash });
        assert!(!r.may_resume(&cfg, down, died), "was backup");
        r.died = None;
        r.previous.insert("VI_1".into(), Saved { state: State::Master, config: hash });
        assert!(!r.may_resume(&cfg, down, died), "no predecessor seen dying");
    }
}
