//! `vrrp_track_process`, the edge: what processes run, from the kernel's
//! process connector or, where it does not answer, from a scan of /proc
//! every [`SCAN_EVERY`]; the pure table (`track_process.rs`) turns that
//! into quorum flips, fed to the tracking rules.
//!
//! The connector answers only in the initial network namespace (keepalived
//! 2.2 started elsewhere stays in FAULT); routers run VRRP in namespaces
//! and containers, so vigil falls back to scanning and logs which mode it
//! uses. With the connector, /proc is scanned at start, after a reload and
//! after an overrun (ENOBUFS: events were lost).

use std::os::fd::AsRawFd;
use std::time::Duration;

use log::{info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::track_process::{Flip, ProcessTable};
use super::VrrpEngine;
use crate::runtime::TokenAlloc;
use crate::sys::proc_connector::{Connector, Event};
use crate::sys::proc_scan::{self, Process};
use crate::time::Monotonic;

/// The scan's cadence when the connector is unavailable.
pub(super) const SCAN_EVERY: Duration = Duration::from_secs(1);
/// How long the kernel has to acknowledge the subscription.
const ACK_WAIT: Duration = Duration::from_secs(1);

#[derive(Default)]
enum Mode {
    /// Nothing tracked, or not started yet.
    #[default]
    Off,
    Connector {
        conn: Connector,
        token: Token,
        /// Until the kernel acknowledges: when to give up on it.
        ack_by: Option<Monotonic>,
    },
    Scan,
}

#[derive(Default)]
pub(super) struct ProcessWatch {
    pub(super) table: ProcessTable,
    mode: Mode,
    /// The next scan (every `SCAN_EVERY` in scan mode; once, soon, after a
    /// connector overrun or a reload).
    next_scan: Option<Monotonic>,
    procs: Vec<Process>,
    scans: u64,
}

impl ProcessWatch {
    pub(super) fn poll_timeout(&self) -> Option<Monotonic> {
        let ack = match &self.mode {
            Mode::Connector { ack_by, .. } => *ack_by,
            _ => None,
        };
        [self.next_scan, self.table.next_due(), ack].into_iter().flatten().min()
    }

    /// Scan /proc now; the flips.
    fn scan(&mut self, now: Monotonic) -> Vec<Flip> {
        let started = Monotonic::now();
        if let Err(e) = proc_scan::scan(self.table.needs_comm(), self.table.cmdline_len(), &mut self.procs) {
            warn!("track_process: cannot scan /proc: {e}");
            return Vec::new();
        }
        self.scans += 1;
        if self.scans == 1 {
            info!(
                "track_process: scanned {} processes in {} us",
                self.procs.len(),
                started.elapsed().as_micros()
            );
        }
        let procs = self.procs.iter().map(|p| (p.pid, p.comm(), p.cmdline()));
        let flips = self.table.scan(procs, now);
        for (name, count, _) in self.table.counts() {
            log::debug!("track_process {name}: {count} running");
        }
        flips
    }

    fn fall_back(&mut self, registry: &Registry, why: &str, now: Monotonic) {
        if let Mode::Connector { conn, .. } = &self.mode {
            crate::runtime::deregister(registry, &mut SourceFd(&conn.as_raw_fd()));
        }
        self.mode = Mode::Scan;
        info!(
            "track_process: process connector unavailable ({why}); scanning /proc every {} s",
            SCAN_EVERY.as_secs()
        );
        self.next_scan = Some(self.next_scan.map_or(now, |t| t.min(now + SCAN_EVERY)));
    }
}

impl VrrpEngine {
    /// Open the connector when something is tracked (at start and after a
    /// reload), or fall back to scanning; close it when nothing is.
    pub(super) fn processes_register(
        &mut self,
        registry: &Registry,
        tokens: &mut TokenAlloc,
        now: Monotonic,
    ) {
        let pb = self.global.netlink_bufs.process_monitor;
        let w = &mut self.periphery.processes;
        if w.table.is_empty() {
            if let Mode::Connector { conn, .. } = &w.mode {
                crate::runtime::deregister(registry, &mut SourceFd(&conn.as_raw_fd()));
            }
            w.mode = Mode::Off;
            w.next_scan = None;
            return;
        }
        if !matches!(w.mode, Mode::Off) {
            // A reload: trackers new or changed need a scan.
            w.next_scan = Some(now);
            return;
        }
        match Connector::open_configured(pb.bytes, pb.force) {
            Ok(conn) => {
                let token = tokens.alloc();
                let fd = conn.as_raw_fd();
                if let Err(e) = registry.register(&mut SourceFd(&fd), token, Interest::READABLE) {
                    w.fall_back(registry, &e.to_string(), now);
                    return;
                }
                // Events from now on; what already runs comes from a scan.
                w.mode = Mode::Connector { conn, token, ack_by: Some(now + ACK_WAIT) };
                w.next_scan = Some(now);
            }
            Err(e) => w.fall_back(registry, &e.to_string(), now),
        }
    }

    /// Readiness on the connector; false if `token` is not its.
    pub(super) fn processes_readable(&mut self, registry: &Registry, token: Token, now: Monotonic) -> bool {
        let w = &mut self.periphery.processes;
        let Mode::Connector { conn, token: t, ack_by } = &mut w.mode else { return false };
        if t != &token {
            return false;
        }
        let (needs_comm, cmdline_len) = (w.table.needs_comm(), w.table.cmdline_len());
        let mut flips = Vec::new();
        let mut buf = Vec::new();
        let mut refused = None;
        loop {
            let event = match conn.recv() {
                Ok(Some(ev)) => ev,
                Ok(None) => continue,
                Err(e) if e.is_would_block() => break,
                Err(e) if e.errno() == libc::ENOBUFS => {
                    warn!("track_process: process events lost (receive queue overrun) - rescanning /proc");
                    w.next_scan = Some(now);
                    continue;
                }
                Err(e) => {
                    warn!("track_process: {e}");
                    break;
                }
            };
            match event {
                Event::Ack(0) => {
                    if ack_by.take().is_some() {
                        info!("track_process: using the process connector");
                    }
                }
                Event::Ack(errno) => {
                    refused = Some(std::io::Error::from_raw_os_error(errno as i32).to_string());
                    break;
                }
                Event::Exec(pid) => {
                    let p = proc_scan::read(pid, needs_comm, cmdline_len, &mut buf);
                    let p = p.unwrap_or(Process { pid, ..Process::default() });
                    flips.extend(w.table.exec(pid, p.comm(), p.cmdline(), now));
                }
                Event::Fork { parent, child } => flips.extend(w.table.fork(parent, child, now)),
                Event::Comm(pid, name) => flips.extend(w.table.comm(pid, &name, now)),
                Event::Exit(pid) => flips.extend(w.table.exit(pid, now)),
            }
        }
        if let Some(why) = refused {
            w.fall_back(registry, &why, now);
        }
        if self.apply_process_flips(flips) {
            self.reevaluate(now);
        }
        true
    }

    /// Scans, delays and the connector's acknowledgement that are due.
    pub(super) fn processes_timeout(&mut self, registry: &Registry, now: Monotonic) {
        let w = &mut self.periphery.processes;
        if let Mode::Connector { ack_by: Some(t), .. } = &w.mode {
            if *t <= now {
                w.fall_back(registry, "no answer from the kernel", now);
            }
        }
        let mut flips = Vec::new();
        if w.next_scan.is_some_and(|t| t <= now) {
            w.next_scan = matches!(w.mode, Mode::Scan).then(|| now + SCAN_EVERY);
            flips.extend(w.scan(now));
        }
        flips.extend(w.table.expire(now));
        if self.apply_process_flips(flips) {
            self.reevaluate(now);
        }
    }

    /// Before the instances start (and after a reload): a scan, so that an
    /// instance whose process does not run starts in FAULT or with its
    /// weight. The caller re-evaluates the instances.
    pub(super) fn processes_start(&mut self, now: Monotonic) {
        let w = &mut self.periphery.processes;
        if w.table.is_empty() {
            return;
        }
        let flips = w.scan(now);
        if w.next_scan.is_some_and(|t| t <= now) {
            w.next_scan = matches!(w.mode, Mode::Scan).then(|| now + SCAN_EVERY);
        }
        self.apply_process_flips(flips);
    }

    /// Hand flips to the tracking rules; true when an instance may change.
    fn apply_process_flips(&mut self, flips: Vec<Flip>) -> bool {
        let mut changed = false;
        for (name, up) in flips {
            info!("Quorum {} for tracked process {name}", if up { "gained" } else { "lost" });
            changed |= self.periphery.tracking.set_process(&name, up);
        }
        changed
    }
}
