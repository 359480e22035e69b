//! `track_ping` (vigil's): echo requests to a gateway on their interval,
//! replies matched to the probe in flight, rise/fall as for scripts.

use std::net::IpAddr;
use std::time::Duration;

use log::{info, warn};
use mio::Token;

use super::track::{Change, Tracking};
use super::VrrpEngine;
use crate::config::model::VrrpTrackPing;
use crate::sys::icmp::{self, Probe};
use crate::time::Monotonic;

pub(super) struct PingJob {
    pub(super) cfg: VrrpTrackPing,
    pub(super) due: Option<Monotonic>,
    pub(super) seq: u16,
    /// The echo request in flight and when it counts as lost.
    pub(super) waiting: Option<(Probe, Monotonic)>,
    /// The interface probes leave by and replies must arrive on: the
    /// configured `interface`, else for a link-local IPv6 address the
    /// interface of an instance tracking it (the scope of the address).
    pub(super) dev: Option<String>,
    /// Echo replies from the address that matched no probe (wrong
    /// identifier, sequence or cookie: stale or spoofed) since last logged.
    pub(super) dropped: u64,
}

impl VrrpEngine {
    /// Readiness on an echo socket: take every reply; false if `token`
    /// is not one of ours.
    pub(super) fn ping_readable(&mut self, token: Token, now: Monotonic) -> bool {
        let Some(slot) =
            self.periphery.echo.iter().position(|e| e.as_ref().is_some_and(|(_, t)| *t == token))
        else {
            return false;
        };
        let mut changed = false;
        while let Some((sock, _)) = self.periphery.echo[slot].as_ref() {
            let (src, arrived_on, msg) = match sock.recv() {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) if e.is_would_block() => break,
                Err(e) => {
                    warn!("track_ping receive: {e}");
                    break;
                }
            };
            for p in &mut self.periphery.pings {
                if p.cfg.address != Some(src) {
                    continue;
                }
                // A reply that came in by another interface did not cross the probed link.
                if p.dev.as_deref().is_some_and(|d| ifindex(d) != arrived_on) {
                    p.dropped = p.dropped.saturating_add(1);
                    continue;
                }
                if p.waiting.is_some_and(|(probe, _)| icmp::reply_matches(&probe, src, &msg)) {
                    p.waiting = None;
                    changed |= ping_result(&mut self.periphery.tracking, p, true);
                } else {
                    p.dropped = p.dropped.saturating_add(1);
                }
            }
        }
        if changed {
            self.reevaluate(now);
        }
        true
    }

    pub(super) fn run_due_pings(&mut self, now: Monotonic) {
        let mut changed = false;
        let id = self.periphery.echo_id;
        for p in &mut self.periphery.pings {
            if p.waiting.is_some_and(|(_, deadline)| deadline <= now) {
                p.waiting = None;
                changed |= ping_result(&mut self.periphery.tracking, p, false);
            }
            if p.due.is_none_or(|d| d > now) {
                continue;
            }
            p.due = Some(now + p.cfg.interval.max(Duration::from_millis(10)));
            let Some(dst) = p.cfg.address else { continue };
            if p.waiting.take().is_some() {
                changed |= ping_result(&mut self.periphery.tracking, p, false);
            }
            p.seq = p.seq.wrapping_add(1);
            let probe = match Probe::new(dst, id, p.seq) {
                Ok(probe) => probe,
                Err(e) => {
                    warn!("VRRP_Ping({}): {e}", p.cfg.name);
                    changed |= ping_result(&mut self.periphery.tracking, p, false);
                    continue;
                }
            };
            let dev = p.dev.as_deref().map_or(0, ifindex);
            if dev == 0 && p.dev.is_some() {
                // The interface is gone: the gateway cannot be reached through it.
                changed |= ping_result(&mut self.periphery.tracking, p, false);
                continue;
            }
            let sock = self.periphery.echo[usize::from(dst.is_ipv6())].as_ref();
            match sock.map(|(s, _)| s.send_echo(&probe, dev)) {
                Some(Ok(())) => p.waiting = Some((probe, now + p.cfg.effective_timeout())),
                // No route (the gateway's link is down): a failed probe.
                Some(Err(_)) | None => changed |= ping_result(&mut self.periphery.tracking, p, false),
            }
        }
        if changed {
            self.reevaluate(now);
        }
    }
}

/// The index of interface `name`, 0 when there is none.
pub(super) fn ifindex(name: &str) -> u32 {
    std::ffi::CString::new(name).map_or(0, |c| {
        // SAFETY: c is a valid NUL-terminated string.
        unsafe { libc::if_nametoindex(c.as_ptr()) }
    })
}

/// Record a probe result of `p`, logging a flip; true when it flipped.
pub(super) fn ping_result(tracking: &mut Tracking, p: &mut PingJob, ok: bool) -> bool {
    let addr = p.cfg.address.map_or_else(String::new, |a: IpAddr| a.to_string());
    if !ok && p.dropped > 0 {
        warn!("VRRP_Ping({}) {addr}: dropped {} echo replies matching no probe", p.cfg.name, p.dropped);
        p.dropped = 0;
    }
    match tracking.ping_done(&p.cfg.name, ok) {
        Change::None => false,
        Change::Rose => {
            info!("VRRP_Ping({}) {addr} reachable", p.cfg.name);
            true
        }
        Change::Fell => {
            info!("VRRP_Ping({}) {addr} unreachable", p.cfg.name);
            true
        }
    }
}
