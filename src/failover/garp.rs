//! Gratuitous ARP / unsolicited NA bursts, spaced by `vrrp_garp_interval`.
//!
//! The protocol core says when a burst is due and how many messages per
//! address; this queue sends them, spreading them out when a spacing is set.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::sys::garp::{build_garp, build_unsolicited_na, ArpSocket, NaSocket};

struct Burst {
    inst: usize,
    ifindex: u32,
    mac: [u8; 6],
    addrs: Vec<IpAddr>,
    /// Rounds still to send (one message per address per round).
    left: u32,
    spacing: Duration,
    due: Instant,
    logged: bool,
}

#[derive(Default)]
pub struct GarpQueue {
    bursts: Vec<Burst>,
}

impl GarpQueue {
    #[allow(clippy::too_many_arguments)]
    pub fn queue(
        &mut self,
        inst: usize,
        ifindex: u32,
        mac: [u8; 6],
        addrs: Vec<IpAddr>,
        repeat: u32,
        spacing: Duration,
        now: Instant,
    ) {
        if repeat == 0 || addrs.is_empty() {
            return;
        }
        // A new burst for the same instance replaces the unsent rest of the old one.
        self.bursts.retain(|b| b.inst != inst);
        self.bursts.push(Burst { inst, ifindex, mac, addrs, left: repeat, spacing, due: now, logged: false });
    }

    pub fn next_due(&self) -> Option<Instant> {
        self.bursts.iter().map(|b| b.due).min()
    }

    /// Send every round that is due; `ifname` names instance interfaces for logs.
    pub fn send_due<'a>(
        &mut self,
        now: Instant,
        arp: Option<&ArpSocket>,
        na: Option<&NaSocket>,
        ifname: impl Fn(usize) -> &'a str,
    ) {
        for b in &mut self.bursts {
            while b.left > 0 && b.due <= now {
                for addr in &b.addrs {
                    let res = match addr {
                        IpAddr::V4(a) => arp.map(|s| s.send(b.ifindex, &build_garp(b.mac, *a))),
                        IpAddr::V6(a) => {
                            na.map(|s| s.send(b.ifindex, &build_unsolicited_na(*a, b.mac, false)))
                        }
                    };
                    if !b.logged {
                        match addr {
                            IpAddr::V4(_) => info!("Sending gratuitous ARP on {} for {addr}", ifname(b.inst)),
                            IpAddr::V6(_) => {
                                info!("Sending unsolicited Neighbour Advert on {} for {addr}", ifname(b.inst))
                            }
                        }
                    }
                    if let Some(Err(e)) = res {
                        warn!("gratuitous message for {addr} on {} failed: {e}", ifname(b.inst));
                    }
                }
                b.logged = true;
                b.left -= 1;
                if b.spacing.is_zero() {
                    continue;
                }
                b.due = now + b.spacing;
            }
        }
        self.bursts.retain(|b| b.left > 0);
    }

    /// Instances were renumbered (reload): follow them, forget the gone.
    pub fn renumber(&mut self, map: &std::collections::HashMap<usize, usize>) {
        self.bursts.retain_mut(|b| match map.get(&b.inst) {
            Some(&n) => {
                b.inst = n;
                true
            }
            None => false,
        });
    }

    /// Forget bursts of an instance that is no longer master.
    pub fn cancel(&mut self, inst: usize) {
        self.bursts.retain(|b| b.inst != inst);
    }
}
