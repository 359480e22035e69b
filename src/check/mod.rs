//! Health checkers: keepalived's other half. Real servers are probed, and
//! the results decide which destinations IPVS holds.
//!
//! * [`checker`]: one checker's schedule and retry state, pure.
//! * [`vs`]: a virtual server's real servers, quorum, sorry server and
//!   `inhibit_on_failure`, pure; outputs are [`Action`]s.
//! * [`http`] / [`smtp`]: request building and reply parsing over bytes,
//!   pure and panic-free (SMTP replies with `smtp::reply`), plus the
//!   exchanges over any `Read + Write`.
//! * [`conn`] / [`probe`]: the I/O edge, non-blocking sockets with the
//!   checker connection options.
//! * [`udp`] / [`dns`]: UDP_CHECK's and DNS_CHECK's exchanges, pure (the
//!   values the configuration gives them are `config::probe`'s).
//! * [`ping`]: PING_CHECK's shared raw ICMP sockets (codec in `sys::icmp`).
//! * [`file`](mod@file): FILE_CHECK's rule, pure, and its track files watched with
//!   inotify (`sys::track_file`).
//! * `tls` (feature `ssl`): SSL_GET's rustls transport, no certificate
//!   verification (keepalived's behaviour).
//! * [`ha_suspend`]: which virtual servers' checkers are suspended while
//!   their address is absent from the host, pure; `addr_watch`: its
//!   rtnetlink address events.
//! * [`action`]: the virtual server core's outputs; [`build`]: the
//!   configuration model to running virtual servers; [`names`]: keepalived's
//!   spelling of services in log lines; [`body_regex`]: HTTP_GET's `regex`,
//!   pure.
//! * [`lvs`]: the IPVS calls the engine makes (errors are `ipvs::Error`), with
//!   an in-memory table; `lvs_kernel`: the same over the kernel's IPVS.
//! * `resume`: the state file a checker child leaves for its successor.
//! * [`engine`]: [`CheckerEngine`], the checker child's `Subsystem`; it also
//!   mails real server and quorum changes ([`AlertRef`]) through
//!   `crate::smtp::Mailer`.
//!
//! # Driving a [`VirtualServerCore`]
//!
//! `start(now, jitter)` once; then whenever `poll_timeout()` is reached,
//! `due(now)` returns the checks to run; run a probe for each and report
//! with `finish(now, id, result)`. After every call drain `poll_action()`
//! and apply the actions in order.

pub mod action;
mod addr_watch;
pub mod body_regex;
pub mod build;
pub mod checker;
pub mod conn;
pub mod dns;
pub mod engine;
pub mod file;
pub mod ha_suspend;
pub mod http;
pub mod lvs;
mod lvs_kernel;
pub mod names;
pub mod ping;
pub mod probe;
mod resume;
pub mod smtp;
#[cfg(feature = "ssl")]
pub mod tls;
pub mod udp;
pub mod vs;

#[cfg(test)]
mod tests;

pub use action::{Action, AlertRef, DestRef, ScriptRef};
pub use checker::{CheckResult, CheckerCore, CheckerParams, Step, Wording};
pub use engine::CheckerEngine;
pub use lvs::{DestSpec, Lvs, MemoryLvs, ServiceSpec, SvcAddr};
pub use vs::{CheckId, RealServerCore, RealServerParams, VirtualServerCore, VsParams};

use crate::config::Config;
use crate::runtime::Subsystem;

/// The checker child's subsystem for `config`.
/// `only`: `-P` / `-C` (who reads the global notify FIFO);
/// `release_on_exit`: false under `-I/--dont-release-ipvs`.
pub fn subsystem(
    config: &Config,
    only: crate::script::fifo::Only,
    release_on_exit: bool,
    resume: Option<crate::sys::state_file::ResumeFrom>,
) -> Result<Box<dyn Subsystem>, String> {
    let mut engine = CheckerEngine::new(config, only, resume)?;
    engine.release_on_exit = release_on_exit;
    Ok(Box::new(engine))
}
