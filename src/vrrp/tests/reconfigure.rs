//! `Instance::reconfigure`, a reload applied in place: state and timers are
//! kept, identity changes are refused, priority changes work the way the
//! protocol has them.

use std::net::IpAddr;
use std::time::Duration;

use crate::vrrp::{Action, Advert, IdentityChange, Instance, InstanceParams, Instant, Reason, State};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn params(priority: u8) -> InstanceParams {
    let mut p = InstanceParams::new("VI_1", 51, priority, ip("198.18.0.12"));
    p.vips = vec![ip("198.18.0.100")];
    p
}

fn drain(inst: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| inst.poll_action()).collect()
}

fn adverts(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { priority, .. } => Some(*priority),
            _ => None,
        })
        .collect()
}

fn changes(actions: &[Action]) -> Vec<(State, State)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StateChange { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

fn peer_advert(priority: u8) -> Advert {
    Instance::new(params(priority)).advert(priority)
}

/// Master since t = 0 at `priority` (it times out of BACKUP first unless it owns the VIP).
fn master(priority: u8) -> Instance {
    let mut inst = Instance::new(params(priority));
    inst.start(Instant::ZERO);
    if let Some(t) = inst.poll_timeout().filter(|_| inst.state() == State::Backup) {
        inst.handle_timeout(t);
    }
    drain(&mut inst);
    assert_eq!(inst.state(), State::Master);
    inst
}

#[test]
fn identity_changes_are_refused_and_change_nothing() {
    let mut inst = master(100);
    let now = Instant::from_millis(4_000);
    let mut p = params(100);
    p.vrid = 52;
    assert_eq!(inst.reconfigure(now, p), Err(IdentityChange::Vrid));
    let mut p = params(100);
    p.version = crate::vrrp::Version::V3;
    assert_eq!(inst.reconfigure(now, p), Err(IdentityChange::Version));
    let p = InstanceParams { source: ip("198.18.0.13"), ..params(100) };
    assert_eq!(inst.reconfigure(now, p), Err(IdentityChange::Source));
    let p = InstanceParams { unicast_peers: vec![ip("198.18.0.11")], ..params(100) };
    assert_eq!(inst.reconfigure(now, p), Err(IdentityChange::Transport));
    let p = InstanceParams::new("VI_1", 51, 100, ip("2001:db8::12"));
    assert_eq!(inst.reconfigure(now, p), Err(IdentityChange::Family));
    assert_eq!(inst.params(), &params(100));
    assert!(drain(&mut inst).is_empty());
}

#[test]
fn unchanged_parameters_leave_the_timers_alone() {
    let mut inst = master(100);
    let next = inst.poll_timeout();
    assert_eq!(inst.reconfigure(Instant::from_millis(3_700), params(100)), Ok(()));
    assert_eq!(inst.poll_timeout(), next);
    assert!(drain(&mut inst).is_empty());
}

/// A master whose priority drops below its peer's stays master, advertises
/// the new priority at once, and yields when it hears the better advert.
#[test]
fn a_master_with_a_lower_priority_yields_the_normal_way() {
    let mut inst = master(100);
    let now = Instant::from_millis(4_000);
    inst.reconfigure(now, params(80)).unwrap();
    inst.set_effective_priority(now, 80);
    assert_eq!(inst.state(), State::Master);
    assert_eq!(inst.poll_timeout(), Some(now), "the new priority goes out at once");
    inst.handle_timeout(now);
    let out = drain(&mut inst);
    assert_eq!(adverts(&out), vec![80]);
    assert!(changes(&out).is_empty(), "no resignation: {out:?}");
    inst.handle_advert(Instant::from_millis(4_500), ip("198.18.0.11"), &peer_advert(90));
    let out = drain(&mut inst);
    assert_eq!(changes(&out), vec![(State::Master, State::Backup)]);
    assert!(out.contains(&Action::StateChange {
        from: State::Master,
        to: State::Backup,
        reason: Reason::HigherPriority
    }));
    assert!(!adverts(&out).contains(&0), "no priority-0 advert: {out:?}");
}

/// A backup whose priority now beats the master's (preempt on) ignores the
/// master's adverts and takes over when its Master_Down timer runs out.
#[test]
fn a_backup_with_a_higher_priority_preempts_the_normal_way() {
    let mut inst = Instance::new(params(90));
    inst.start(Instant::ZERO);
    inst.handle_advert(Instant::from_millis(500), ip("198.18.0.11"), &peer_advert(100));
    drain(&mut inst);
    let now = Instant::from_millis(1_000);
    inst.reconfigure(now, params(110)).unwrap();
    inst.set_effective_priority(now, 110);
    assert_eq!(inst.state(), State::Backup);
    inst.handle_advert(Instant::from_millis(1_500), ip("198.18.0.11"), &peer_advert(100));
    let expiry = inst.poll_timeout().unwrap();
    assert!(expiry < Instant::from_millis(1_500) + inst.master_down_interval(), "lower advert ignored");
    inst.handle_timeout(expiry);
    assert_eq!(changes(&drain(&mut inst)), vec![(State::Backup, State::Master)]);
}

/// advert_int: one advert at once, then the new interval.
#[test]
fn a_new_advert_interval_applies_from_the_next_advert() {
    let mut inst = master(100);
    let now = Instant::from_millis(4_200);
    let mut p = params(100);
    p.advert_interval_cs = 50;
    inst.reconfigure(now, p).unwrap();
    assert_eq!(inst.master_adver_interval(), Duration::from_millis(500));
    inst.handle_timeout(now);
    assert_eq!(adverts(&drain(&mut inst)), vec![100]);
    assert_eq!(inst.poll_timeout(), Some(Instant::from_millis(4_700)));
    assert_eq!(inst.advert(100).interval_cs, 50);
}

/// A VIP list change is carried by the adverts; the state machine does not
/// touch the addresses (the edge adds and removes only what changed).
#[test]
fn a_new_vip_list_is_advertised_without_a_state_change() {
    let mut inst = master(100);
    let now = Instant::from_millis(4_000);
    let mut p = params(100);
    p.vips = vec![ip("198.18.0.101")];
    inst.reconfigure(now, p).unwrap();
    inst.handle_timeout(now);
    let out = drain(&mut inst);
    assert!(!out.iter().any(|a| matches!(a, Action::AddVips | Action::RemoveVips)), "{out:?}");
    assert_eq!(inst.advert(100).addrs, vec![ip("198.18.0.101")]);
    assert_eq!(inst.state(), State::Master);
}

/// The address owner that is no longer one keeps MASTER at its new priority.
#[test]
fn an_owner_that_is_demoted_keeps_master_at_its_new_priority() {
    let mut inst = master(255);
    let now = Instant::from_millis(2_000);
    inst.reconfigure(now, params(100)).unwrap();
    assert_eq!(inst.effective_priority(), 100);
    inst.handle_timeout(now);
    assert_eq!(adverts(&drain(&mut inst)), vec![100]);
    assert_eq!(inst.state(), State::Master);
}
