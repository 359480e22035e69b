//! What the engines and the daemon's loops share, below both: the contract a
//! subsystem (the VRRP engine, the checker engine) implements to run inside a
//! child's event loop ([`Subsystem`], [`TokenAlloc`], the [`tokens`] it
//! numbers itself) and the [`Json`] status value. `daemon::event_loop` runs
//! a `Subsystem`; engines implement it without knowing the daemon.

pub mod json;
pub mod tokens;

use std::io;
use std::time::Instant;

use mio::{Registry, Token};

use crate::config::Config;
pub use json::Json;

/// vigil's version, as `-v`, the logs and the status objects give it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A child's life as the parent saw it (CLOCK_MONOTONIC, shared by every
/// process of the host): the VRRP engine resumes from a state file written
/// within its predecessor's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    pub started: crate::time::Monotonic,
    pub died: crate::time::Monotonic,
}

/// Take `source` out of the loop's poll set just before it is closed. The
/// result is not looked at: the only failures are a source that was never
/// registered (ENOENT) or an fd already gone (EBADF), and closing the fd
/// removes it from the epoll set anyway; a failure here loses nothing.
pub fn deregister(registry: &Registry, source: &mut impl mio::event::Source) {
    let _ = registry.deregister(source);
}

/// Hands out tokens the loop does not use.
#[derive(Debug)]
pub struct TokenAlloc {
    next: usize,
}

impl TokenAlloc {
    /// Tokens below this are the loop's own (signals, parent, control
    /// socket and its clients, timer).
    pub const FIRST: usize = 16;

    pub fn new() -> TokenAlloc {
        TokenAlloc { next: Self::FIRST }
    }

    pub fn alloc(&mut self) -> Token {
        let t = Token(self.next);
        self.next += 1;
        t
    }
}

impl Default for TokenAlloc {
    fn default() -> Self {
        Self::new()
    }
}

/// What the VRRP and checker engines implement to run inside a child.
pub trait Subsystem {
    fn register(&mut self, registry: &Registry, tokens: &mut TokenAlloc) -> io::Result<()>;

    fn handle_event(&mut self, registry: &Registry, event: &mio::event::Event, now: Instant);

    /// The earliest instant `handle_timeout` must run at, if any.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Whether deadlines need the loop's timerfd (to the microsecond) or
    /// the poll timeout will do (whole milliseconds, rounded up: up to
    /// 1 ms late, and no timerfd_settime and read per sleep).
    fn precise_timers(&self) -> bool {
        true
    }

    /// The process is about to hand over to an upgraded daemon (it exits
    /// without destructors right after): write what a successor resumes from.
    fn before_handover(&mut self) {}

    fn handle_timeout(&mut self, registry: &Registry, now: Instant);

    /// Apply a new, already validated configuration. On `Err` the subsystem
    /// must still be running its previous configuration.
    fn reload(
        &mut self,
        registry: &Registry,
        tokens: &mut TokenAlloc,
        new_config: &Config,
        now: Instant,
    ) -> Result<(), String>;

    /// Leave cleanly (priority-0 adverts, drop VIPs): SIGTERM. Must be quick;
    /// the parent SIGKILLs after 5 s.
    fn shutdown(&mut self, registry: &Registry, now: Instant);

    /// SIGUSR1 text dump.
    fn dump_data(&self) -> String;

    /// SIGUSR2 counters.
    fn dump_stats(&self) -> String;

    /// SIGRTMAX-1: after the stats dump, zero the counters.
    fn clear_stats(&mut self) {}

    /// State for `vigil status` and the SIGRTMIN+2 JSON dump.
    fn status(&self) -> Json;
}
