//! Pure VRRP core: codecs and state machines. No I/O, time passed in.
//!
//! Nothing here reads a clock, opens a socket or touches the system: every
//! input carries `now` (our own [`Instant`], microseconds since an epoch the
//! caller picks) and every effect comes back as an [`Action`].
//!
//! * [`packet`] / [`checksum`] / [`ipv4`]: the advert codec (v2 and v3, IPv4
//!   and IPv6), keepalived's checksum forms and the IPv4 header.
//! * [`ah`]: IPsec AH (HMAC-MD5-96) for VRRPv2 `auth_type AH`.
//! * [`hmac`]: keepalived 2.4's `auth_hmac` trailer (HMAC-SHA256-128, anti-replay).
//! * [`validate`]: keepalived's receive checks, one [`Reject`] per drop.
//! * [`Instance`]: the per-instance state machine.
//! * [`sync`]: sync groups over several instances (drag to BACKUP, MASTER
//!   only together, group FAULT), lookups in, [`sync::SyncAction`]s out.
//!
//! # Driving an [`Instance`] from the I/O edge
//!
//! 1. Build [`InstanceParams`] from the configuration, `Instance::new`, then
//!    `start(now)` once the interface is usable (or `set_fault(now, true)` first).
//! 2. On every received VRRP packet for this VRID: `receive(now, &ctx, bytes)`
//!    with the bytes after the IP header. For IPv4 raw sockets parse the
//!    header with [`Ipv4Header::parse`] and use [`RxContext::from_ipv4`]; for
//!    IPv6 fill [`RxContext`] from the hop-limit and pktinfo control messages.
//!    An IPv4 packet of IP protocol 51 (AH) goes to `receive_ah(now, &ctx,
//!    ip_header, after_ip)` instead, the VRID being after the AH header.
//!    Before the inputs, `set_wall_clock(now, unix_time)` keeps the Unix
//!    time `auth_hmac` stamps and judges adverts with.
//! 3. When tracking changes: `set_fault(now, bool)` and
//!    `set_effective_priority(now, prio)`.
//! 4. When the clock reaches `poll_timeout()`: `handle_timeout(now)`.
//! 5. After **every** one of the calls above: drain `poll_action()` until it
//!    returns `None` and apply the actions in order. `SendAdvert { priority,
//!    ah_seq, .. }` is sent as `instance.advert(priority)` emitted with
//!    `instance.tx_checksum_form(dst)` to the multicast group or each unicast
//!    peer (with `ah_seq`: a whole datagram from [`ah::build_datagram`];
//!    with `hmac_seq`: the message followed by [`hmac::sign`]'s trailer);
//!    then recompute the poll timeout, since any input may move it.
//! 6. On reload: `reconfigure(now, params)` keeps the state. It refuses
//!    (`Err`) another VRID, version, family, source or transport: that is a
//!    new instance, which the engine's reload diff (`failover/reload.rs`)
//!    restarts without asking. Then the trackers' `set_effective_priority`
//!    as in 3.
//! 7. On SIGTERM: `shutdown(now)` and drain the actions (priority-0 advert,
//!    VIP removal) before exiting.

pub mod action;
pub mod ah;
pub mod checksum;
pub mod hmac;
pub mod instance;
pub mod ipv4;
pub mod packet;
pub mod params;
pub mod ratelimit;
pub mod sync;
pub mod timer;
pub mod validate;

#[cfg(test)]
pub(crate) mod sim;
#[cfg(test)]
mod tests;

pub use crate::time::Instant;
pub use action::{Action, Reason, State};
pub use instance::{IdentityChange, Instance, MasterInfo};
pub use ipv4::{Ipv4Datagram, Ipv4Header};
pub use packet::{Advert, ChecksumForm, ChecksumMatch, Family, Packet, Version, WireError};
pub use params::{Auth, GarpParams, InstanceParams};
pub use ratelimit::LogLimiter;
pub use validate::{validate, validate_ah, validate_at, Counters, Notices, Reject, RxContext, Valid};
