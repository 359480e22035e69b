//! The instance state machine fed a sequence of arbitrary packets and
//! events, with time moving forward as the input says.
//!
//! Input: one byte picks the instance (v2/v3, IPv4/IPv6, unicast, owner,
//! nopreempt); then records of `[op] [delay] [len] [len bytes]`. Checked:
//! nothing panics, and the driver loop (run timers until the next timeout
//! is in the future) always ends: no timer re-arms itself at `now`.

#![no_main]

use std::net::IpAddr;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vigil::vrrp::{Auth, Family, Instance, InstanceParams, Instant, RxContext, Version};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal address")
}

fn params(pick: u8) -> InstanceParams {
    let v6 = pick & 1 != 0;
    let mut p = if v6 {
        InstanceParams::new("VI_6", 51, 100, ip("fe80::1"))
    } else {
        InstanceParams::new("VI_4", 51, 100, ip("198.18.0.1"))
    };
    p.vips = if v6 { vec![ip("2001:db8::100")] } else { vec![ip("198.18.0.100")] };
    if !v6 && pick & 2 != 0 {
        p.version = Version::V3;
    }
    if !v6 && p.version == Version::V2 && pick & 4 != 0 {
        p.auth = Auth::pass("secret");
    }
    if pick & 8 != 0 {
        p.unicast_peers = vec![if v6 { ip("fe80::2") } else { ip("198.18.0.2") }];
    }
    if pick & 16 != 0 {
        p.priority = 255;
        p.owner_ignore_adverts = pick & 32 != 0;
    }
    p.nopreempt = pick & 64 != 0;
    if pick & 128 != 0 {
        p.advert_interval_cs = 1;
        p.preempt_delay = Duration::from_millis(30);
    }
    p
}

/// Run every due timer; panics if the timers never settle.
fn settle(inst: &mut Instance, now: Instant) {
    for _ in 0..64 {
        while inst.poll_action().is_some() {}
        match inst.poll_timeout() {
            Some(t) if t <= now => inst.handle_timeout(now),
            _ => return,
        }
    }
    panic!("timers still due after 64 rounds at {now}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else { return };
    let p = params(pick);
    let family = p.family;
    let mut inst = Instance::new(p);
    let mut now = Instant::from_secs(1);
    inst.start(now);
    settle(&mut inst, now);
    while let [op, delay, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        rest = next;
        // Up to ~2.5 s per step, in 10 ms units: enough to cross every timer.
        now += Duration::from_millis(u64::from(*delay) * 10);
        settle(&mut inst, now);
        match op % 8 {
            0..=4 => {
                let src = match (family, op & 8 != 0) {
                    (Family::V4, false) => ip("198.18.0.2"),
                    (Family::V4, true) => ip("198.18.0.3"),
                    (Family::V6, false) => ip("fe80::2"),
                    (Family::V6, true) => ip("fe80::3"),
                };
                let dst = match (family, op & 16 != 0) {
                    (Family::V4, false) => ip("224.0.0.18"),
                    (Family::V4, true) => ip("198.18.0.1"),
                    (Family::V6, false) => ip("ff02::12"),
                    (Family::V6, true) => ip("fe80::1"),
                };
                let ttl = if op & 32 != 0 { 64 } else { 255 };
                let ctx = RxContext { src, dst, ttl, ip_header_len: 20 };
                let _ = inst.receive(now, &ctx, bytes);
            }
            5 => inst.set_fault(now, bytes.first().is_some_and(|b| b & 1 != 0)),
            6 => inst.set_effective_priority(now, bytes.first().copied().unwrap_or(0)),
            _ => {
                if bytes.first() == Some(&0xff) {
                    inst.shutdown(now);
                } else {
                    let _ = (inst.state(), inst.master(), inst.counters(), inst.master_down_interval());
                }
            }
        }
        settle(&mut inst, now);
    }
});
