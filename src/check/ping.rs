//! PING_CHECK's I/O edge: one raw ICMP socket per family, opened when the
//! first PING_CHECK of that family runs and shared by all of them (the
//! codec, the kernel's echo-reply filter and the reply matching are
//! `crate::sys::icmp`'s, as `track_ping` uses them). Every probe carries
//! this engine's random identifier, its own sequence number and a random
//! cookie; a reply counts only for the probe it matches exactly.

use std::net::IpAddr;
use std::os::fd::AsRawFd;

use log::{info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::sys::icmp::{self, EchoSocket, Probe};

pub struct Pinger {
    /// IPv4 and IPv6 sockets with their tokens.
    socks: [Option<(EchoSocket, Token)>; 2],
    /// The first token; IPv6's is the next one.
    token_base: usize,
    id: u16,
    seq: u16,
}

impl Pinger {
    pub fn new(token_base: usize) -> Pinger {
        Pinger { socks: [None, None], token_base, id: icmp::random_id(), seq: 0 }
    }

    /// Whether `t` is one of the echo sockets' tokens.
    pub fn owns(&self, t: Token) -> bool {
        t.0 == self.token_base || t.0 == self.token_base + 1
    }

    /// Send an echo request to `dst`: the probe a reply must match, or why
    /// it could not be sent (no raw socket: the check fails).
    pub fn send(&mut self, registry: &Registry, dst: IpAddr) -> Result<Probe, String> {
        let slot = usize::from(dst.is_ipv6());
        if self.socks[slot].is_none() {
            let sock =
                EchoSocket::open(dst.is_ipv6()).map_err(|e| format!("cannot open an ICMP socket: {e}"))?;
            let token = Token(self.token_base + slot);
            registry
                .register(&mut SourceFd(&sock.as_raw_fd()), token, Interest::READABLE)
                .map_err(|e| format!("register the ICMP socket: {e}"))?;
            info!(
                "PING_CHECK: raw ICMP{} socket open, echo id {:#06x}",
                if slot == 1 { "v6" } else { "" },
                self.id
            );
            self.socks[slot] = Some((sock, token));
        }
        let Some((sock, _)) = &self.socks[slot] else { return Err("no ICMP socket".to_string()) };
        self.seq = self.seq.wrapping_add(1);
        let probe = Probe::new(dst, self.id, self.seq).map_err(|e| format!("random cookie: {e}"))?;
        sock.send_echo(&probe, 0).map_err(|e| e.to_string())?;
        Ok(probe)
    }

    /// Every echo reply waiting on the socket of `token`, as (source,
    /// message); the socket is read until it would block (readiness is
    /// edge-triggered).
    pub fn drain(&self, token: Token) -> Vec<(IpAddr, Vec<u8>)> {
        let mut out = Vec::new();
        let Some((sock, _)) = self.socks.iter().flatten().find(|(_, t)| *t == token) else { return out };
        loop {
            match sock.recv() {
                Ok(Some((src, _, msg))) => out.push((src, msg)),
                Ok(None) => continue,
                Err(e) if e.is_would_block() => break,
                Err(e) if e.errno() == libc::EINTR => continue,
                Err(e) => {
                    warn!("PING_CHECK receive: {e}");
                    break;
                }
            }
        }
        out
    }

    /// Deregister and close the sockets.
    pub fn close(&mut self, registry: &Registry) {
        for (sock, _) in self.socks.iter_mut().filter_map(Option::take) {
            crate::runtime::deregister(registry, &mut SourceFd(&sock.as_raw_fd()));
        }
    }
}
