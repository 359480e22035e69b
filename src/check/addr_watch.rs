//! `ha_suspend`'s I/O edge in the checker child: one non-blocking
//! rtnetlink socket subscribed to IPv4 and IPv6 address events, opened only
//! while a virtual server has `ha_suspend` and sized by
//! `lvs_netlink_monitor_rcv_bufs[_force]`; the host's addresses are dumped
//! once it is subscribed (so nothing falls between the dump and the
//! events) and again after lost events. The decisions are
//! [`HaSuspend`]'s; activations and suspensions are logged here with
//! keepalived's words, for each checker of the virtual server.

use std::net::IpAddr;
use std::os::fd::AsRawFd;

use log::{error, info};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::build::VsRun;
use super::ha_suspend::{HaSuspend, LocalAddr, Transition};
use crate::config::model::{RcvBuf, VsAddr};
use crate::runtime::tokens;
use crate::sys::link::{self, Address, Event, Monitor};
use crate::sys::netlink::Socket;

#[derive(Default)]
pub struct AddrWatch {
    core: HaSuspend,
    monitor: Option<Monitor>,
    /// `read_events`' buffer, kept to spare an allocation per event.
    events: Vec<Event>,
}

/// The address a virtual server's `ha_suspend` follows (the parser leaves
/// it only on `virtual_server IP PORT`).
fn watched(vs: &VsRun) -> Option<IpAddr> {
    match vs.cfg.addr {
        VsAddr::Addr(ip, _) if vs.cfg.ha_suspend => Some(ip),
        _ => None,
    }
}

fn local(a: &Address) -> LocalAddr {
    LocalAddr { ifindex: a.index, addr: a.addr, prefix_len: a.prefix_len }
}

/// Every address of the host, on a request socket of its own.
fn dump() -> Result<Vec<LocalAddr>, crate::sys::Error> {
    let mut sock = Socket::open()?;
    Ok(link::dump_addrs(&mut sock, None, None)?.iter().map(local).collect())
}

impl AddrWatch {
    pub fn is_suspended(&self, vs: usize) -> bool {
        self.core.is_suspended(vs)
    }

    /// Whether `vs` starts suspended: it has `ha_suspend` and its address
    /// is absent (false while the addresses are not followed).
    pub fn starts_suspended(&self, vs: &VsRun) -> bool {
        self.monitor.is_some() && watched(vs).is_some_and(|ip| !self.core.is_local(ip))
    }

    /// At start, before any service or check: subscribe and learn the
    /// host's addresses. (The cores log the deactivated ones as they start.)
    pub fn start(&mut self, registry: &Registry, buf: RcvBuf, vss: &[VsRun]) {
        let mut core = HaSuspend::new(vss.iter().map(watched));
        if !core.wants_addresses() {
            return;
        }
        let Some(addrs) = self.open(registry, buf) else { return };
        let _deactivated = core.start(addrs);
        self.core = core;
    }

    /// A reload, before the new virtual servers start: the socket opened
    /// when the new configuration is the first to need it.
    pub fn prepare_reload(&mut self, registry: &Registry, buf: RcvBuf, new: &[VsRun]) {
        if self.monitor.is_none() && new.iter().any(|v| watched(v).is_some()) {
            if let Some(addrs) = self.open(registry, buf) {
                self.core = HaSuspend::default();
                self.core.resync(addrs);
            }
        }
    }

    /// A reload, once the engine holds the new virtual servers: `was[v]`
    /// is the old index of `vss[v]` when the engine kept it. The socket is
    /// closed when nothing needs it any more.
    pub fn reload(&mut self, registry: &Registry, vss: &[VsRun], was: &[Option<usize>]) {
        if self.monitor.is_none() {
            // Nothing was suspended, and nothing can be.
            self.core = HaSuspend::default();
            return;
        }
        let addrs = vss.iter().map(watched).zip(was.iter().copied());
        log_transitions(&self.core.rewatch(addrs), vss);
        if !self.core.wants_addresses() {
            self.close(registry);
            self.core = HaSuspend::default();
        }
    }

    /// The socket is readable: apply every event it holds.
    pub fn handle_event(&mut self, vss: &[VsRun]) {
        let Some(m) = self.monitor.as_mut() else { return };
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        if let Err(e) = m.read_events(&mut events) {
            error!("ha_suspend: reading address events: {e}");
        }
        for ev in &events {
            let t = match ev {
                Event::Addr(a) => self.core.added(local(a)),
                Event::AddrGone(a) => self.core.removed(local(a)),
                Event::Resync => match dump() {
                    Ok(addrs) => self.core.resync(addrs),
                    Err(e) => {
                        error!("ha_suspend: address events were lost and the addresses cannot be read: {e}");
                        continue;
                    }
                },
                Event::Link(_) | Event::LinkGone(_) => continue,
            };
            log_transitions(&t, vss);
        }
        self.events = events;
    }

    pub fn close(&mut self, registry: &Registry) {
        if let Some(m) = self.monitor.take() {
            crate::runtime::deregister(registry, &mut SourceFd(&m.as_raw_fd()));
        }
    }

    /// Subscribe, then dump. A failure is logged and leaves every checker
    /// active: probing as without `ha_suspend` rather than never.
    fn open(&mut self, registry: &Registry, buf: RcvBuf) -> Option<Vec<LocalAddr>> {
        let opened = Monitor::open_addresses(buf.bytes, buf.force).map_err(|e| e.to_string()).and_then(|m| {
            registry
                .register(&mut SourceFd(&m.as_raw_fd()), Token(tokens::ADDR_MONITOR), Interest::READABLE)
                .map_err(|e| e.to_string())?;
            Ok(m)
        });
        let addrs = opened.and_then(|m| {
            self.monitor = Some(m);
            dump().map_err(|e| e.to_string())
        });
        match addrs {
            Ok(addrs) => Some(addrs),
            Err(e) => {
                error!("ha_suspend: cannot follow the host's addresses ({e}): checkers run as without it");
                self.close(registry);
                None
            }
        }
    }
}

/// keepalived's line for each checker of each virtual server that moved
/// (a deactivated one's is its core's start line).
fn log_transitions(ts: &[(usize, Transition)], vss: &[VsRun]) {
    for &(v, t) in ts {
        let Some(vs) = vss.get(v).filter(|_| t != Transition::Deactivate) else { continue };
        for rs in vs.core.real_servers() {
            for _ in rs.checkers() {
                info!("{} healthchecker for service {} for VS {}", t.verb(), rs.params().name, vs.name);
            }
        }
    }
}
