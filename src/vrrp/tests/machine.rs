//! The state machine alone: exact action sequences, timers and log wording.

use std::net::IpAddr;
use std::time::Duration;

use log::Level;

use crate::vrrp::{Action, Advert, Instance, InstanceParams, Instant, Reason, RxContext, State, Version};

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

fn log(line: &str) -> Action {
    Action::Log { level: Level::Info, line: line.to_string() }
}

fn garp(repeat: u32) -> Action {
    Action::SendGratuitous { repeat, spacing: Duration::ZERO }
}

fn peer_advert(priority: u8) -> Advert {
    Instance::new(params(priority)).advert(priority)
}

/// An instance that is MASTER since t = 0 (priority 255 starts as master).
fn master(p: InstanceParams) -> Instance {
    let mut inst = Instance::new(p);
    inst.start(Instant::ZERO);
    drain(&mut inst);
    inst
}

#[test]
fn becoming_master_sends_advert_then_vips_then_garp() {
    let mut inst = Instance::new(params(255));
    inst.start(Instant::ZERO);
    assert_eq!(
        drain(&mut inst),
        vec![
            Action::StateChange { from: State::Init, to: State::Master, reason: Reason::Startup },
            log("(VI_1) Entering MASTER STATE"),
            Action::SendAdvert { priority: 255, ah_seq: None, hmac_seq: None, due: None },
            log("(VI_1) setting VIPs."),
            Action::AddVips,
            garp(5),
        ]
    );
    assert_eq!(inst.poll_timeout(), Some(Instant::from_secs(1)));
    let a = inst.advert(255);
    assert_eq!((a.vrid, a.priority, a.interval_cs, a.version), (51, 255, 100, Version::V2));
    assert_eq!(a.addrs, vec![ip("198.18.0.100")]);
}

#[test]
fn garp_schedule_delay_and_refresh() {
    let mut p = params(255);
    p.garp.master_refresh = Duration::from_secs(10);
    p.garp.refresh_repeat = 2;
    let mut inst = master(p);
    let mut garps = Vec::new();
    for s in 1..=30 {
        inst.handle_timeout(Instant::from_secs(s));
        for a in drain(&mut inst) {
            if let Action::SendGratuitous { repeat, .. } = a {
                garps.push((s, repeat));
            }
        }
    }
    // Second burst after garp_master_delay, refresh from delay + refresh on.
    assert_eq!(garps, vec![(5, 5), (15, 2), (25, 2)]);
    assert_eq!(inst.counters().tx, 31);
}

#[test]
fn backup_at_startup() {
    let mut inst = Instance::new(params(100));
    inst.start(Instant::ZERO);
    assert_eq!(
        drain(&mut inst),
        vec![
            Action::StateChange { from: State::Init, to: State::Backup, reason: Reason::Startup },
            log("(VI_1) Entering BACKUP STATE (init)"),
            log("(VI_1) removing VIPs."),
            Action::RemoveVips,
        ]
    );
    // 3 * 1 s + 156/256 s.
    assert_eq!(inst.poll_timeout(), Some(Instant::from_micros(3_609_375)));
    inst.handle_advert(Instant::from_secs(1), ip("198.18.0.11"), &peer_advert(120));
    assert_eq!(inst.poll_timeout(), Some(Instant::from_micros(4_609_375)));
    assert_eq!(inst.master().map(|m| (m.addr, m.priority)), Some((ip("198.18.0.11"), 120)));
    // Priority 0: take over after the skew only.
    inst.handle_advert(Instant::from_secs(2), ip("198.18.0.11"), &peer_advert(0));
    assert_eq!(inst.poll_timeout(), Some(Instant::from_micros(2_609_375)));
    inst.handle_timeout(Instant::from_micros(2_609_375));
    let actions = drain(&mut inst);
    assert_eq!(actions[0], log("(VI_1) Receive advertisement timeout"));
    assert_eq!(
        actions[1],
        Action::StateChange { from: State::Backup, to: State::Master, reason: Reason::MasterDownTimeout }
    );
}

#[test]
fn skew_and_master_down_formulas() {
    let inst = Instance::new(params(100));
    assert_eq!(inst.skew(), Duration::from_micros(609_375));
    assert_eq!(inst.master_down_interval(), Duration::from_micros(3_609_375));
    let mut p = params(100);
    p.version = Version::V3;
    p.advert_interval_cs = 200;
    p.down_timer_adverts = 5;
    let inst = Instance::new(p);
    assert_eq!(inst.skew(), Duration::from_micros(1_218_750));
    assert_eq!(inst.master_down_interval(), Duration::from_micros(11_218_750));
}

/// A periodic advert names the instant its timer was set for, so the edge
/// can tell how late it leaves; the next one is an interval after the send.
#[test]
fn periodic_advert_carries_its_scheduled_instant() {
    let mut inst = master(params(255));
    assert_eq!(inst.poll_timeout(), Some(Instant::from_secs(1)));
    let woke = Instant::from_micros(1_003_250);
    inst.handle_timeout(woke);
    let due = Some(Instant::from_secs(1));
    assert_eq!(
        drain(&mut inst),
        vec![Action::SendAdvert { priority: 255, ah_seq: None, hmac_seq: None, due }]
    );
    assert_eq!(inst.poll_timeout(), Some(woke + Duration::from_secs(1)));
    assert_eq!(inst.counters().tx, 2);
    inst.clear_counters();
    assert_eq!(inst.counters().tx, 0);
}

#[test]
fn master_reasserts_on_lower_priority() {
    let mut inst = master(params(255));
    let now = Instant::from_millis(500);
    inst.handle_advert(now, ip("198.18.0.11"), &peer_advert(100));
    assert_eq!(
        drain(&mut inst),
        vec![
            log("(VI_1) Received advert from 198.18.0.11 with lower priority 100, ours 255, forcing new election"),
            Action::SendAdvert { priority: 255, ah_seq: None, hmac_seq: None, due: None },
            garp(5),
        ]
    );
    assert_eq!(inst.poll_timeout(), Some(Instant::from_millis(1_500)), "advert timer restarted");
    // One advert interval later the burst is repeated: the rival's own
    // gratuitous ARPs, from its moment as master, may have followed ours.
    inst.handle_timeout(Instant::from_millis(1_500));
    let actions = drain(&mut inst);
    let due = Some(Instant::from_millis(1_500));
    assert_eq!(
        actions,
        vec![Action::SendAdvert { priority: 255, ah_seq: None, hmac_seq: None, due }, garp(5)]
    );
    // Second lower-priority burst after garp_lower_prio_delay (5 s).
    for s in 2..=5 {
        inst.handle_timeout(Instant::from_millis(500 + s * 1000));
    }
    let bursts = drain(&mut inst).into_iter().filter(|a| matches!(a, Action::SendGratuitous { .. })).count();
    assert_eq!(bursts, 2, "garp_master_delay burst at 5 s and lower-prio burst at 5.5 s");
}

/// An on-link host flooding lower-priority adverts gets one advert and one
/// burst per advert interval, not one per packet.
#[test]
fn lower_priority_answers_are_rate_limited() {
    let mut inst = master(params(255));
    let mut answered = Vec::new();
    for ms in (500..3_500).step_by(10) {
        let now = Instant::from_millis(ms);
        inst.handle_timeout(now);
        drain(&mut inst);
        inst.handle_advert(now, ip("198.18.0.11"), &peer_advert(100));
        if drain(&mut inst).iter().any(|a| matches!(a, Action::SendGratuitous { .. })) {
            answered.push(ms);
        }
    }
    assert_eq!(answered, vec![500, 1_500, 2_500]);
    assert_eq!(inst.counters().lower_prio_unanswered, 300 - 3);
}

#[test]
fn lower_prio_no_advert_only_logs() {
    let mut p = params(255);
    p.lower_prio_no_advert = true;
    let mut inst = master(p);
    inst.handle_advert(Instant::from_millis(500), ip("198.18.0.11"), &peer_advert(100));
    assert_eq!(
        drain(&mut inst),
        vec![log("(VI_1) Received advert from 198.18.0.11 with lower priority 100, ours 255")]
    );
}

#[test]
fn master_steps_down_for_higher_priority() {
    for send_advert in [false, true] {
        let mut p = params(100);
        p.higher_prio_send_advert = send_advert;
        let mut inst = Instance::new(p);
        inst.start(Instant::ZERO);
        inst.handle_timeout(Instant::from_micros(3_609_375));
        drain(&mut inst);
        let now = Instant::from_secs(5);
        inst.handle_advert(now, ip("198.18.0.11"), &peer_advert(200));
        let mut expect =
            vec![log("(VI_1) Master received advert from 198.18.0.11 with higher priority 200, ours 100")];
        if send_advert {
            expect.push(Action::SendAdvert { priority: 100, ah_seq: None, hmac_seq: None, due: None });
        }
        expect.extend([
            log("(VI_1) removing VIPs."),
            Action::RemoveVips,
            Action::StateChange { from: State::Master, to: State::Backup, reason: Reason::HigherPriority },
            log("(VI_1) Entering BACKUP STATE"),
        ]);
        assert_eq!(drain(&mut inst), expect);
        assert_eq!(inst.poll_timeout(), Some(now + Duration::from_micros(3_609_375)));
        assert_eq!(inst.counters().released_master, 1);
        assert_eq!(inst.counters().prio0_tx, 0, "no priority-0 advert when stepping down");
    }
}

#[test]
fn equal_priority_tie_break_by_address() {
    let mut inst = master(params(255));
    // Equal priority from a lower address: stay master, say nothing.
    inst.handle_advert(Instant::from_millis(100), ip("198.18.0.11"), &peer_advert(255));
    assert!(drain(&mut inst).is_empty());
    assert_eq!(inst.state(), State::Master);
    // From our own address: a loop or a duplicate address.
    inst.handle_advert(Instant::from_millis(200), ip("198.18.0.12"), &peer_advert(255));
    assert!(matches!(&drain(&mut inst)[..], [Action::Log { level: Level::Warn, .. }]));
    // From a higher address: step down.
    inst.handle_advert(Instant::from_millis(300), ip("198.18.0.13"), &peer_advert(255));
    assert_eq!(inst.state(), State::Backup);
}

#[test]
fn master_answers_priority_zero_at_once() {
    let mut inst = master(params(255));
    let now = Instant::from_millis(700);
    inst.handle_advert(now, ip("198.18.0.11"), &peer_advert(0));
    assert_eq!(
        drain(&mut inst),
        vec![Action::SendAdvert { priority: 255, ah_seq: None, hmac_seq: None, due: None }]
    );
    assert_eq!(inst.poll_timeout(), Some(Instant::from_millis(1_700)));
    assert_eq!(inst.counters().prio0_rx, 1);
}

#[test]
fn shutdown_resigns_with_priority_zero() {
    let mut inst = master(params(255));
    inst.shutdown(Instant::from_secs(2));
    assert_eq!(
        drain(&mut inst),
        vec![
            Action::SendAdvert { priority: 0, ah_seq: None, hmac_seq: None, due: None },
            log("(VI_1) sent 0 priority"),
            log("(VI_1) removing VIPs."),
            Action::RemoveVips,
            Action::StateChange { from: State::Master, to: State::Stop, reason: Reason::Shutdown },
        ]
    );
    assert_eq!(inst.poll_timeout(), None);
    let mut backup = Instance::new(params(100));
    backup.start(Instant::ZERO);
    drain(&mut backup);
    backup.shutdown(Instant::from_secs(1));
    assert_eq!(
        drain(&mut backup),
        vec![Action::StateChange { from: State::Backup, to: State::Stop, reason: Reason::Shutdown }]
    );
}

#[test]
fn fault_before_start_and_while_faulty() {
    let mut inst = Instance::new(params(100));
    inst.set_fault(Instant::ZERO, true);
    assert!(drain(&mut inst).is_empty());
    inst.start(Instant::ZERO);
    assert_eq!(drain(&mut inst)[1], log("(VI_1) Entering FAULT STATE"));
    assert_eq!(inst.state(), State::Fault);
    assert_eq!(inst.poll_timeout(), None);
    inst.handle_advert(Instant::from_secs(1), ip("198.18.0.11"), &peer_advert(0));
    assert!(drain(&mut inst).is_empty(), "adverts are ignored in FAULT");
    inst.set_fault(Instant::from_secs(2), false);
    assert_eq!(inst.state(), State::Backup);
    assert_eq!(inst.poll_timeout(), Some(Instant::from_micros(5_609_375)));
}

#[test]
fn effective_priority_bounds() {
    let mut inst = Instance::new(params(100));
    inst.set_effective_priority(Instant::ZERO, 0);
    assert_eq!(inst.effective_priority(), 1);
    inst.set_effective_priority(Instant::ZERO, 255);
    assert_eq!(inst.effective_priority(), 254, "trackers cannot make an owner");
    let mut owner = Instance::new(params(255));
    owner.set_effective_priority(Instant::ZERO, 10);
    assert_eq!(owner.effective_priority(), 255, "an owner is never changed");
    assert!(drain(&mut owner).is_empty());
}

#[test]
fn address_list_mismatch_is_counted_not_dropped() {
    let ctx = RxContext { src: ip("198.18.0.11"), dst: ip("224.0.0.18"), ttl: 255, ip_header_len: 20 };
    for skip in [false, true] {
        let mut p = params(100);
        p.skip_check_adv_addr = skip;
        let mut inst = Instance::new(p);
        inst.start(Instant::ZERO);
        let mut a = peer_advert(150);
        a.addrs.push(ip("198.18.0.101"));
        let bytes = a.to_bytes(crate::vrrp::ChecksumForm::Plain).unwrap();
        for s in 1..=3 {
            assert_eq!(inst.receive(Instant::from_secs(s), &ctx, &bytes), Ok(()));
        }
        let logs = drain(&mut inst)
            .into_iter()
            .filter(|a| *a == log("(VI_1) received an unexpected ip number count 2, expected 1!"))
            .count();
        assert_eq!(inst.counters().rx, 3);
        // skip_check_adv_addr: only the first advert (from a new master) is compared.
        let expect = if skip { 1 } else { 3 };
        assert_eq!(inst.counters().addr_list_mismatch, expect);
        assert_eq!(logs, 1, "rate-limited");
    }
}

/// A restarted edge resumes a master: advert at once, VIPs asserted (never
/// removed), gratuitous ARPs, no Master_Down wait; refused in fault or once running.
#[test]
fn resume_as_master_asserts_at_once_without_removing_vips() {
    let mut inst = Instance::new(params(100));
    assert!(inst.resume_as_master(Instant::from_millis(5)));
    assert_eq!(
        drain(&mut inst),
        vec![
            log("(VI_1) resuming MASTER state of the previous VRRP child"),
            Action::StateChange { from: State::Init, to: State::Master, reason: Reason::Startup },
            log("(VI_1) Entering MASTER STATE"),
            Action::SendAdvert { priority: 100, ah_seq: None, hmac_seq: None, due: None },
            log("(VI_1) setting VIPs."),
            Action::AddVips,
            garp(5),
        ]
    );
    assert_eq!(inst.state(), State::Master);
    assert_eq!(inst.poll_timeout(), Some(Instant::from_millis(1005)), "next advert one interval later");
    assert!(!inst.resume_as_master(Instant::from_secs(2)), "already running");

    let mut faulty = Instance::new(params(100));
    faulty.set_fault(Instant::ZERO, true);
    assert!(!faulty.resume_as_master(Instant::ZERO));
    assert!(drain(&mut faulty).is_empty());
    assert_eq!(faulty.state(), State::Init);
}
