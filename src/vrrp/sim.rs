//! Deterministic network simulator for the state machine (test only): a
//! virtual clock and one LAN segment of N instances with seeded loss, delay,
//! jitter and partitions. Adverts travel as real IPv4/IPv6 bytes and go
//! through `Instance::receive`, so the codec and validation are exercised too.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::packet::{MCAST_V4, MCAST_V6};
use super::{ipv4, Action, Instance, InstanceParams, Instant, Ipv4Header, RxContext, State};

/// xorshift64*: tiny, seeded, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

pub struct Node {
    pub inst: Instance,
    /// False after a hard stop (crash, cable pulled): silent, deaf.
    pub running: bool,
    /// Partition segment; nodes hear only their own segment.
    pub segment: u32,
    pub vips_installed: bool,
    /// (time, new state) for every transition.
    pub history: Vec<(Instant, State)>,
    /// (time, priority) for every advert sent.
    pub sent: Vec<(Instant, u8)>,
    pub garps: Vec<(Instant, u32)>,
    pub logs: Vec<(Instant, String)>,
}

struct InFlight {
    at: Instant,
    to: usize,
    src: IpAddr,
    dst: IpAddr,
    bytes: Vec<u8>,
}

pub struct Lan {
    pub now: Instant,
    pub nodes: Vec<Node>,
    /// Per-link loss probability.
    pub loss: f64,
    pub delay: Duration,
    /// Extra uniform random delay in [0, jitter).
    pub jitter: Duration,
    /// (node, from, to) of every transition not yet taken by a driver
    /// above the instances (a sync group), oldest first.
    pub changes: Vec<(usize, State, State)>,
    rng: Rng,
    in_flight: Vec<InFlight>,
    ident: u16,
}

impl Lan {
    pub fn new(seed: u64) -> Lan {
        Lan {
            now: Instant::ZERO,
            nodes: Vec::new(),
            loss: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            changes: Vec::new(),
            rng: Rng::new(seed),
            in_flight: Vec::new(),
            ident: 0,
        }
    }

    /// Add a node (not started) and return its index.
    pub fn add(&mut self, params: InstanceParams) -> usize {
        self.nodes.push(Node {
            inst: Instance::new(params),
            running: true,
            segment: 0,
            vips_installed: false,
            history: Vec::new(),
            sent: Vec::new(),
            garps: Vec::new(),
            logs: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Apply `f` to node `i` at the current time and collect its outputs.
    pub fn with(&mut self, i: usize, f: impl FnOnce(&mut Instance, Instant)) {
        let now = self.now;
        f(&mut self.nodes[i].inst, now);
        self.drain(i);
    }

    pub fn start(&mut self, i: usize) {
        self.nodes[i].running = true;
        self.with(i, |n, now| n.start(now));
    }

    /// Crash: no priority-0 advert, VIPs left as they are.
    pub fn stop_hard(&mut self, i: usize) {
        self.nodes[i].running = false;
    }

    /// Crash recovery: a fresh process with the same parameters, started now.
    pub fn restart_fresh(&mut self, i: usize, params: InstanceParams) {
        self.nodes[i].inst = Instance::new(params);
        self.start(i);
    }

    pub fn partition(&mut self, groups: &[&[usize]]) {
        for (seg, group) in groups.iter().enumerate() {
            for &i in *group {
                self.nodes[i].segment = seg as u32;
            }
        }
    }

    pub fn heal(&mut self) {
        for n in &mut self.nodes {
            n.segment = 0;
        }
    }

    /// Indices of running nodes in MASTER state.
    pub fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].running && self.state(i) == State::Master).collect()
    }

    pub fn state(&self, i: usize) -> State {
        self.nodes[i].inst.state()
    }

    /// Times at which node `i` entered `state`.
    pub fn entered(&self, i: usize, state: State) -> Vec<Instant> {
        self.nodes[i].history.iter().filter(|(_, s)| *s == state).map(|(t, _)| *t).collect()
    }

    pub fn next_event(&self) -> Option<Instant> {
        let timers = self.nodes.iter().filter(|n| n.running).filter_map(|n| n.inst.poll_timeout());
        timers.chain(self.in_flight.iter().map(|p| p.at)).min()
    }

    /// Advance to the earliest pending event; false if there is none.
    pub fn step(&mut self) -> bool {
        let Some(at) = self.next_event() else { return false };
        self.now = self.now.max(at);
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|p| p.at <= now);
        self.in_flight = later;
        for p in due {
            self.deliver(p);
        }
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if n.running && n.inst.poll_timeout().is_some_and(|t| t <= now) {
                self.with(i, |inst, now| inst.handle_timeout(now));
            }
        }
        true
    }

    /// Run every event up to and including `until`, then set the clock to it.
    pub fn run_until(&mut self, until: Instant) {
        while self.next_event().is_some_and(|t| t <= until) {
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// Like `run_until`, calling `check` whenever the clock is about to
    /// move on, i.e. after all events of one instant (with zero delay an
    /// advert and its reception happen at the same instant).
    pub fn run_checked(&mut self, until: Instant, mut check: impl FnMut(&Lan)) {
        while self.next_event().is_some_and(|t| t <= until) {
            self.step();
            if self.next_event().is_none_or(|t| t > self.now) {
                check(self);
            }
        }
        self.now = self.now.max(until);
    }

    fn deliver(&mut self, p: InFlight) {
        let node = &self.nodes[p.to];
        if !node.running {
            return;
        }
        let (ctx, payload) = match p.src {
            IpAddr::V4(_) => match Ipv4Header::parse(&p.bytes) {
                Ok(d) => (RxContext::from_ipv4(&d), d.payload.to_vec()),
                Err(_) => return,
            },
            IpAddr::V6(_) => (RxContext { src: p.src, dst: p.dst, ttl: 255, ip_header_len: 40 }, p.bytes),
        };
        self.with(p.to, |inst, now| {
            let _ = inst.receive(now, &ctx, &payload);
        });
    }

    fn drain(&mut self, i: usize) {
        let now = self.now;
        while let Some(action) = self.nodes[i].inst.poll_action() {
            let node = &mut self.nodes[i];
            match action {
                Action::SendAdvert { priority, .. } => {
                    node.sent.push((now, priority));
                    if node.running {
                        self.broadcast(i, priority);
                    }
                }
                Action::AddVips => {
                    assert!(!self.nodes[i].vips_installed, "node {i}: VIPs added twice");
                    self.nodes[i].vips_installed = true;
                }
                Action::RemoveVips => node.vips_installed = false,
                Action::SendGratuitous { repeat, .. } => node.garps.push((now, repeat)),
                Action::StateChange { from, to, .. } => {
                    node.history.push((now, to));
                    self.changes.push((i, from, to));
                }
                Action::Log { line, .. } => node.logs.push((now, line)),
            }
        }
    }

    fn broadcast(&mut self, from: usize, priority: u8) {
        let inst = &self.nodes[from].inst;
        let src = inst.params().source;
        let advert = inst.advert(priority);
        let (dst, bytes) = match src {
            IpAddr::V4(s) => {
                self.ident = self.ident.wrapping_add(1);
                let bytes = ipv4::build_advert_datagram(&advert, s, MCAST_V4, 255, self.ident, false);
                (IpAddr::V4(MCAST_V4), bytes)
            }
            IpAddr::V6(_) => {
                let dst = IpAddr::V6(MCAST_V6);
                (dst, advert.to_bytes(inst.tx_checksum_form(dst)))
            }
        };
        let Ok(bytes) = bytes else { panic!("node {from}: advert does not encode") };
        for to in 0..self.nodes.len() {
            if to == from || self.nodes[to].segment != self.nodes[from].segment || self.rng.chance(self.loss)
            {
                continue;
            }
            let jitter = match self.jitter.as_micros() as u64 {
                0 => 0,
                j => self.rng.below(j),
            };
            let at = self.now + self.delay + Duration::from_micros(jitter);
            self.in_flight.push(InFlight { at, to, src, dst, bytes: bytes.clone() });
        }
    }
}

/// Parameters of test node `i`: source 198.18.0.(10 + i), VIP 198.18.0.100.
pub fn node_params(i: usize, priority: u8) -> InstanceParams {
    let src = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 10 + i as u8));
    let mut p = InstanceParams::new("VI_1", 51, priority, src);
    p.vips = vec![IpAddr::V4(Ipv4Addr::new(198, 18, 0, 100))];
    p
}
