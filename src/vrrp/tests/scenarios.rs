//! Elections, failover, preemption, partitions and loss on the simulated LAN.
//! Timings the protocol fixes are asserted to the microsecond (delay 0).
//!
//! v2, 1 s adverts: skew(p) = (256 - p) * 1 s / 256, so
//! Master_Down(150) = 3.414062 s, Master_Down(120) = 3.531250 s,
//! Master_Down(100) = 3.609375 s, skew(120) = 0.531250 s.

use std::time::Duration;

use crate::vrrp::sim::{node_params, Lan};
use crate::vrrp::{Instant, State, Version};

fn us(n: u64) -> Instant {
    Instant::from_micros(n)
}

fn secs(n: u64) -> Instant {
    Instant::from_secs(n)
}

const DOWN_150: u64 = 3_414_062;
const DOWN_120: u64 = 3_531_250;

/// Three nodes, priorities 150, 120, 100, started at 0.
fn trio(seed: u64) -> Lan {
    let mut lan = Lan::new(seed);
    for (i, p) in [150, 120, 100].into_iter().enumerate() {
        lan.add(node_params(i, p));
    }
    for i in 0..3 {
        lan.start(i);
    }
    lan
}

fn assert_single_master(lan: &Lan) {
    assert!(lan.masters().len() <= 1, "at {}: masters {:?}", lan.now, lan.masters());
}

#[test]
fn highest_priority_wins_and_stays_alone() {
    let mut lan = trio(1);
    assert!(lan.nodes.iter().all(|n| n.logs[0].1 == "(VI_1) Entering BACKUP STATE (init)"));
    lan.run_checked(secs(60), assert_single_master);
    assert_eq!(lan.entered(0, State::Master), vec![us(DOWN_150)]);
    assert!(lan.entered(1, State::Master).is_empty() && lan.entered(2, State::Master).is_empty());
    assert_eq!(lan.masters(), vec![0]);
    assert!(lan.nodes[0].vips_installed && !lan.nodes[1].vips_installed);
    // One advert per second from the master, none from the backups.
    assert_eq!(lan.nodes[0].sent.len(), 57);
    assert!(lan.nodes[1].sent.is_empty());
    let logs: Vec<&str> = lan.nodes[0].logs.iter().map(|(_, l)| l.as_str()).collect();
    assert!(logs.contains(&"(VI_1) Receive advertisement timeout"));
    assert!(logs.contains(&"(VI_1) Entering MASTER STATE"));
    assert_eq!(lan.nodes[1].inst.master().map(|m| m.priority), Some(150));
}

#[test]
fn hard_failover_after_master_down_interval() {
    let mut lan = trio(2);
    lan.run_until(secs(10));
    lan.stop_hard(0);
    lan.run_checked(secs(30), assert_single_master);
    // Last advert at 9.414062 s; the 120 node waits Master_Down_Interval.
    let last = DOWN_150 + 6_000_000;
    assert_eq!(lan.entered(1, State::Master), vec![us(last + DOWN_120)]);
    assert_eq!(lan.masters(), vec![1]);
}

#[test]
fn graceful_failover_after_skew_time() {
    let mut lan = trio(3);
    lan.run_until(secs(10));
    lan.with(0, |n, now| n.shutdown(now));
    assert_eq!(lan.nodes[0].sent.last(), Some(&(secs(10), 0)));
    assert!(lan.nodes[0].logs.iter().any(|(_, l)| l == "(VI_1) sent 0 priority"));
    assert!(!lan.nodes[0].vips_installed);
    lan.run_checked(secs(30), assert_single_master);
    // Skew of 120, not the down interval.
    assert_eq!(lan.entered(1, State::Master), vec![us(10_531_250)]);
    assert!(lan.entered(2, State::Master).is_empty());
    assert_eq!(lan.state(0), State::Stop);
    assert_eq!(lan.nodes[1].inst.counters().prio0_rx, 1);
    assert_eq!(lan.nodes[0].inst.counters().prio0_tx, 1);
}

#[test]
fn higher_priority_returns_and_preempts() {
    let mut lan = trio(4);
    lan.run_until(secs(10));
    lan.stop_hard(0);
    lan.run_until(secs(20));
    lan.restart_fresh(0, node_params(0, 150));
    lan.run_checked(secs(40), assert_single_master);
    // Lower adverts are discarded, so the start-up timer runs out.
    assert_eq!(lan.entered(0, State::Master), vec![us(DOWN_150), us(20_000_000 + DOWN_150)]);
    assert_eq!(lan.entered(1, State::Backup).last(), Some(&us(20_000_000 + DOWN_150)));
    assert!(lan.nodes[0]
        .logs
        .iter()
        .any(|(_, l)| l
            .starts_with("(VI_1) received lower priority (120) advert from 198.18.0.11 - discarding")));
    assert!(lan.nodes[1].logs.iter().any(
        |(_, l)| l == "(VI_1) Master received advert from 198.18.0.10 with higher priority 150, ours 120"
    ));
    assert_eq!(lan.masters(), vec![0]);
}

#[test]
fn nopreempt_keeps_the_current_master() {
    let mut lan = Lan::new(5);
    for (i, p) in [150, 120].into_iter().enumerate() {
        let mut params = node_params(i, p);
        params.nopreempt = true;
        lan.add(params);
        lan.start(i);
    }
    lan.run_until(secs(10));
    lan.stop_hard(0);
    lan.run_until(secs(20));
    let mut params = node_params(0, 150);
    params.nopreempt = true;
    lan.restart_fresh(0, params);
    lan.run_checked(secs(60), assert_single_master);
    assert_eq!(lan.masters(), vec![1]);
    assert_eq!(lan.entered(0, State::Master).len(), 1, "only the first election");
}

#[test]
fn preempt_delay_postpones_preemption() {
    let mut lan = trio(6);
    lan.run_until(secs(10));
    lan.stop_hard(0);
    lan.run_until(secs(20));
    let mut params = node_params(0, 150);
    params.preempt_delay = Duration::from_secs(10);
    lan.restart_fresh(0, params);
    lan.run_checked(secs(60), assert_single_master);
    // 120's adverts come at 12.945312 + k s. They are accepted until the
    // delay (from start-up, 30 s) is over; the last one at 29.945312 s
    // restarts the down timer for the last time.
    let takeover = 29_945_312 + DOWN_150;
    assert_eq!(lan.entered(0, State::Master).last(), Some(&us(takeover)));
    assert_eq!(lan.masters(), vec![0]);
}

#[test]
fn owner_takes_over_at_once() {
    let mut lan = Lan::new(7);
    lan.add(node_params(0, 100));
    lan.start(0);
    lan.run_until(secs(5));
    lan.add(node_params(1, 255));
    lan.start(1);
    lan.run_until(secs(5));
    assert_eq!(lan.entered(1, State::Master), vec![secs(5)]);
    assert_eq!(
        lan.entered(0, State::Backup).last(),
        Some(&secs(5)),
        "steps down on the owner's first advert"
    );
    lan.run_checked(secs(30), assert_single_master);
    assert_eq!(lan.masters(), vec![1]);
    // Leaving FAULT, the owner is master again at once.
    lan.with(1, |n, now| n.set_fault(now, true));
    lan.run_until(secs(40));
    assert_eq!(lan.masters(), vec![0]);
    lan.with(1, |n, now| n.set_fault(now, false));
    assert_eq!(lan.entered(1, State::Master).last(), Some(&secs(40)));
    lan.run_checked(secs(50), assert_single_master);
    assert_eq!(lan.masters(), vec![1]);
}

#[test]
fn split_brain_heals_within_one_advert_interval() {
    let mut lan = trio(8);
    lan.delay = Duration::from_millis(1);
    lan.jitter = Duration::from_millis(5);
    lan.run_until(secs(10));
    lan.partition(&[&[0], &[1, 2]]);
    lan.run_until(secs(30));
    assert_eq!(lan.masters(), vec![0, 1], "both sides elect a master");
    lan.heal();
    let heal = lan.now;
    lan.run_until(heal + Duration::from_secs(1));
    assert_eq!(lan.masters(), vec![0]);
    lan.run_checked(secs(90), assert_single_master);
}

/// Adverts lost per link with probability `loss` for `seconds`; returns the
/// number of times a backup took over and the longest dual-master period.
fn lossy_run(loss: f64, seed: u64, seconds: u64) -> (usize, Duration) {
    let mut lan = trio(seed);
    lan.run_until(secs(5));
    lan.loss = loss;
    lan.delay = Duration::from_millis(1);
    let (mut since, mut longest) = (None::<Instant>, Duration::ZERO);
    lan.run_checked(secs(5 + seconds), |l| match (l.masters().len() > 1, since) {
        (true, None) => since = Some(l.now),
        (false, Some(t)) => {
            longest = longest.max(l.now - t);
            since = None;
        }
        _ => {}
    });
    let flaps = lan.entered(1, State::Master).len() + lan.entered(2, State::Master).len();
    assert_eq!(lan.masters(), vec![0], "the highest priority ends as master");
    (flaps, longest)
}

#[test]
fn advert_loss_and_flaps() {
    // 3 adverts per down interval: a backup flaps when 3 in a row are lost,
    // p = loss^3 per advert and backup: 5% -> 1.25e-4/s, 20% -> 8e-3/s.
    let (flaps, longest) = lossy_run(0.05, 42, 600);
    assert_eq!(flaps, 0, "5% loss: no flap in 10 minutes");
    assert_eq!(longest, Duration::ZERO);
    // 20%: ~9.6 flaps expected over 600 s for two backups (7 with this
    // seed). Each is healed by the master's immediate re-assertion on the
    // backup's first lower-priority advert: with this seed always within
    // one interval plus two link delays.
    let (flaps, longest) = lossy_run(0.2, 42, 600);
    assert!((3..=20).contains(&flaps), "20% loss: {flaps} flaps");
    assert!(longest <= Duration::from_millis(1_002), "longest dual master {longest:?}");
}

#[test]
fn v3_backup_adopts_the_master_interval() {
    let mut lan = Lan::new(9);
    let mut fast = node_params(0, 150);
    fast.version = Version::V3;
    fast.advert_interval_cs = 50;
    let mut slow = node_params(1, 100);
    slow.version = Version::V3;
    lan.add(fast);
    lan.add(slow);
    lan.start(0);
    lan.start(1);
    // Master_Down(150, 0.5 s) = 1.5 + 106 * 0.5 / 256 = 1.707031 s.
    lan.run_until(secs(10));
    assert_eq!(lan.entered(0, State::Master), vec![us(1_707_031)]);
    assert_eq!(lan.nodes[1].inst.master_adver_interval(), Duration::from_millis(500));
    assert!(lan.nodes[1].inst.counters().interval_adopted > 0);
    lan.stop_hard(0);
    lan.run_until(secs(20));
    // Last advert at 1.707031 + 16 * 0.5 s; then 3 * 0.5 + 156 * 0.5 / 256.
    assert_eq!(lan.entered(1, State::Master), vec![us(9_707_031 + 1_804_687)]);
    // As master it sends its own interval again.
    assert_eq!(lan.nodes[1].inst.master_adver_interval(), Duration::from_secs(1));
}

#[test]
fn fault_and_recovery() {
    let mut lan = trio(10);
    lan.run_until(secs(10));
    lan.with(0, |n, now| n.set_fault(now, true));
    assert_eq!(lan.state(0), State::Fault);
    assert_eq!(lan.nodes[0].sent.last(), Some(&(secs(10), 0)), "priority 0 when leaving MASTER");
    assert!(!lan.nodes[0].vips_installed);
    lan.run_until(secs(20));
    assert_eq!(lan.entered(1, State::Master), vec![us(10_531_250)]);
    lan.with(0, |n, now| n.set_fault(now, false));
    assert_eq!(lan.state(0), State::Backup);
    lan.run_checked(secs(40), assert_single_master);
    // Back in BACKUP with a full timer; 120's adverts are lower: preempt.
    assert_eq!(lan.entered(0, State::Master).last(), Some(&us(20_000_000 + DOWN_150)));
    let logs: Vec<&str> = lan.nodes[0].logs.iter().map(|(_, l)| l.as_str()).collect();
    assert!(logs.contains(&"(VI_1) Entering FAULT STATE"));
    assert!(logs.contains(&"(VI_1) Entering BACKUP STATE"));
}

#[test]
fn lowered_effective_priority_hands_over() {
    let mut lan = trio(11);
    lan.run_until(secs(10));
    lan.with(0, |n, now| n.set_effective_priority(now, 50));
    lan.run_checked(secs(30), assert_single_master);
    // The adverts from 10.414062 s on carry 50: discarded by the 120 node,
    // whose timer last restarted at 9.414062 s.
    assert_eq!(lan.nodes[0].sent.iter().find(|(t, _)| *t > secs(10)), Some(&(us(10_414_062), 50)));
    assert_eq!(lan.entered(1, State::Master), vec![us(9_414_062 + DOWN_120)]);
    assert_eq!(lan.masters(), vec![1]);
    assert!(lan.nodes[0].logs.iter().any(|(_, l)| l == "(VI_1) Changing effective priority from 150 to 50"));
}

#[test]
fn ipv6_v3_election() {
    let mut lan = Lan::new(12);
    for (i, p) in [100u8, 200].into_iter().enumerate() {
        let src = format!("fe80::{}", i + 1).parse().unwrap();
        let mut params = crate::vrrp::InstanceParams::new("VI_6", 52, p, src);
        params.vips = vec!["2001:db8::100".parse().unwrap()];
        assert_eq!(params.version, Version::V3);
        lan.add(params);
        lan.start(i);
    }
    lan.run_checked(secs(20), assert_single_master);
    // 3 s + 56 * 1 s / 256.
    assert_eq!(lan.entered(1, State::Master), vec![us(3_218_750)]);
    assert!(lan.nodes[0].inst.counters().rx > 10);
}

/// Which of the two masters of a split brain is heard first when it heals.
#[derive(Clone, Copy, Debug, PartialEq)]
enum HealOrder {
    /// The winner hears the loser's advert before the loser hears the winner's.
    WinnerHearsLoser,
    /// The loser hears the winner's advert first and steps down.
    LoserHearsWinner,
}

/// Node 0 (150) and node 1 (100) are both master behind a partition; it
/// heals right after the one that is to be heard second sent an advert, so
/// the other's next advert crosses first. Returns the heal instant, the
/// instants of node 0's gratuitous ARP bursts after it, and node 1's return
/// to BACKUP.
fn heal_split_brain(order: HealOrder, loser_speaks: bool) -> (Instant, Vec<Instant>, Instant) {
    let mut lan = Lan::new(19);
    lan.delay = Duration::from_millis(1);
    for (i, prio) in [150, 100].into_iter().enumerate() {
        let mut p = node_params(i, prio);
        p.higher_prio_send_advert = loser_speaks;
        lan.add(p);
    }
    lan.start(0);
    lan.start(1);
    lan.run_until(secs(10));
    lan.partition(&[&[0], &[1]]);
    lan.run_until(secs(25));
    assert_eq!(lan.masters(), vec![0, 1], "both sides elect a master");
    // Both masters' scheduled bursts (garp_master_delay) are long past.
    let quiet = match order {
        HealOrder::WinnerHearsLoser => 0,
        HealOrder::LoserHearsWinner => 1,
    };
    let sent = lan.nodes[quiet].sent.len();
    while lan.nodes[quiet].sent.len() == sent {
        assert!(lan.step());
    }
    lan.heal();
    let heal = lan.now;
    // Two masters until the first advert crosses: at most one interval.
    lan.run_until(heal + Duration::from_millis(1002));
    lan.run_checked(heal + Duration::from_secs(30), assert_single_master);
    assert_eq!(lan.masters(), vec![0]);
    assert!(lan.nodes[0].vips_installed && !lan.nodes[1].vips_installed);
    let back = lan.entered(1, State::Backup).into_iter().find(|t| *t >= heal).expect("node 1 steps down");
    // The loser must have stepped down on the winner's advert, not the reverse.
    let first_lower = lan.nodes[0].logs.iter().find(|(t, l)| *t >= heal && l.contains("lower priority"));
    match (order, first_lower) {
        (HealOrder::WinnerHearsLoser, Some((t, _))) => assert!(*t < back, "node 0 heard node 1 first"),
        (HealOrder::LoserHearsWinner, Some((t, _))) => assert!(*t > back, "node 1 heard node 0 first"),
        (_, None) => {}
    }
    let garps = lan.nodes[0].garps.iter().map(|(t, _)| *t).filter(|t| *t >= heal).collect();
    (heal, garps, back)
}

#[test]
fn healed_split_brain_winner_reannounces_in_either_order() {
    for order in [HealOrder::WinnerHearsLoser, HealOrder::LoserHearsWinner] {
        let (heal, garps, back) = heal_split_brain(order, true);
        let first = *garps.first().unwrap_or_else(|| panic!("{order:?}: no gratuitous ARP after the heal"));
        // Within one advert interval of the heal, and at most one link
        // delay after the loser stepped down (its parting advert).
        assert!(first <= heal + Duration::from_secs(1), "{order:?}: first burst at {first}, heal at {heal}");
        assert!(
            first <= back + Duration::from_millis(1),
            "{order:?}: burst at {first}, loser back at {back}"
        );
        // The answer to lower priorities is rate-limited: one burst, then
        // the settle repeat one advert interval later.
        let within = garps.iter().filter(|t| **t < first + Duration::from_secs(1)).count();
        assert_eq!(within, 1, "{order:?}: {garps:?}");
        assert!(garps.contains(&(first + Duration::from_secs(1))), "{order:?}: no settle burst: {garps:?}");
    }
}

/// keepalived's default (`higher_prio_send_advert` off): when the loser hears
/// the winner first it steps down without a word, and the winner never
/// re-announces, so clients keep the loser's MAC. vigil's default is on.
#[test]
fn silent_loser_leaves_the_winner_unannounced() {
    let (_, garps, _) = heal_split_brain(HealOrder::LoserHearsWinner, false);
    assert!(garps.is_empty(), "{garps:?}");
    let (_, garps, _) = heal_split_brain(HealOrder::WinnerHearsLoser, false);
    assert!(!garps.is_empty());
}
