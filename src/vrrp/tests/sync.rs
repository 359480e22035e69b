//! The sync-group hooks of the state machine: a held backup only wishes
//! for MASTER, the group lets it go or drags a master back.

use std::net::IpAddr;

use crate::vrrp::{Action, Instance, InstanceParams, Instant, Reason, State};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn held_backup() -> Instance {
    let mut p = InstanceParams::new("VI_1", 51, 100, ip("198.18.0.12"));
    p.vips = vec![ip("198.18.0.100")];
    let mut inst = Instance::new(p);
    inst.set_sync_hold(true);
    inst.start(Instant::ZERO);
    while inst.poll_action().is_some() {}
    inst
}

fn changes(inst: &mut Instance) -> Vec<(State, State, Reason)> {
    std::iter::from_fn(|| inst.poll_action())
        .filter_map(|a| match a {
            Action::StateChange { from, to, reason } => Some((from, to, reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_held_backup_only_wants_master_until_released() {
    let mut inst = held_backup();
    let t = inst.poll_timeout().unwrap();
    inst.handle_timeout(t);
    assert!(changes(&mut inst).is_empty());
    assert_eq!(inst.state(), State::Backup);
    assert!(inst.wants_master());
    assert_eq!(inst.poll_timeout(), None, "no timer runs while waiting for the group");
    inst.sync_master(t);
    assert_eq!(changes(&mut inst), vec![(State::Backup, State::Master, Reason::Sync)]);
    assert!(!inst.wants_master());
}

#[test]
fn an_advert_cancels_the_wish() {
    let mut inst = held_backup();
    let t = inst.poll_timeout().unwrap();
    inst.handle_timeout(t);
    assert!(inst.wants_master());
    let peer = Instance::new(InstanceParams::new("VI_1", 51, 150, ip("198.18.0.11"))).advert(150);
    inst.handle_advert(t, ip("198.18.0.11"), &peer);
    assert!(!inst.wants_master());
    inst.sync_master(t);
    assert_eq!(inst.state(), State::Backup, "a master is heard: no takeover");
    assert!(inst.poll_timeout().is_some());
}

#[test]
fn sync_backup_leaves_master_without_priority_zero() {
    let mut inst = held_backup();
    inst.set_sync_hold(false);
    let t = inst.poll_timeout().unwrap();
    inst.handle_timeout(t);
    assert_eq!(inst.state(), State::Master);
    while inst.poll_action().is_some() {}
    inst.sync_backup(t);
    let actions: Vec<Action> = std::iter::from_fn(|| inst.poll_action()).collect();
    assert!(actions.contains(&Action::RemoveVips));
    assert!(!actions.contains(&Action::SendAdvert { priority: 0, ah_seq: None, hmac_seq: None, due: None }));
    assert!(actions.contains(&Action::StateChange {
        from: State::Master,
        to: State::Backup,
        reason: Reason::Sync
    }));
    assert!(inst.poll_timeout().is_some(), "a fresh Master_Down timer runs");
    inst.sync_backup(t);
    assert!(inst.poll_action().is_none(), "a backup is left alone");
}
