//! SMTP alerts (keepalived's `notification_email`, `smtp_server`,
//! `smtp_alert`): VRRP state changes and real/virtual server up/down mailed
//! to the configured recipients, with keepalived's subjects, bodies and
//! `X-Mailer: Keepalived` header (users filter on them).
//!
//! * [`reply`]: the server reply parser (pure, never panics).
//! * [`message`]: [`Alert`] builders with keepalived's wording and the wire
//!   form of a [`Mail`] (headers, dot-stuffing, RFC 5322 date).
//! * [`client`]: one delivery's dialogue as a state machine, bytes and time
//!   in, bytes and an outcome out.
//! * [`mailer`]: the I/O edge, [`Mailer`], which drives deliveries over
//!   non-blocking mio TCP streams inside the owner's poll loop.
//!
//! # Using a [`Mailer`] from a poll loop
//!
//! ```text
//! // At start and on reload. May block once resolving a host name in
//! // smtp_server (an IP literal does not); None = alerts are off.
//! // Tokens token_base .. token_base + Mailer::TOKENS are the mailer's.
//! let mailer = Mailer::from_config(&config.global, token_base);
//!
//! // When something happens (and the object's smtp_alert is on):
//! mailer.send(&Alert::vrrp_instance("VI_1", VrrpState::Master), now);
//! mailer.send(&Alert::real_server(&rs, &vs, false, &check_body("TCP", false)), now);
//!
//! // In the loop:
//! timeout = min(own deadlines, mailer.poll_timeout());
//! for ev in events { if mailer.handle_event(registry, ev.token(), now) { continue; } ... }
//! if mailer.poll_timeout().is_some_and(|t| t <= now) { mailer.handle_timeout(registry, now); }
//! while let Some(r) = mailer.poll_result() { r.log(); }
//! ```
//!
//! `send` only queues (it has no registry): delivery starts in the next
//! `handle_timeout`, which `poll_timeout` asks for at once. At most
//! [`MAX_IN_FLIGHT`] deliveries run, on tokens `token_base ..
//! token_base + Mailer::TOKENS`; up to [`QUEUE_LIMIT`] more wait, and the
//! oldest is dropped with a warning beyond that. Every delivery is bounded by
//! `smtp_connect_timeout` per step (connect, each reply) and three times
//! that overall, so a dead or silent server delays nothing. Each accepted
//! alert ends in exactly one [`SendResult`], except those dropped from a
//! full queue. Dropping a `Mailer` abandons what it has in flight (the
//! sockets close); on reload an owner may keep the old one until
//! `is_idle()`. `send` reads the wall clock for the Date header (local
//! time via localtime_r); nothing else reads a clock.
//!
//! The router id (subject prefix), HELO name (default: the host name) and
//! From (default: `<user>@<hostname>`) come from `global_defs`.

pub mod client;
pub mod mailer;
pub mod message;
pub mod reply;

pub use client::{Client, SendError, Step, Timeouts, QUIT_WAIT};
pub use mailer::{Mailer, MailerConfig, SendResult, MAX_IN_FLIGHT, QUEUE_LIMIT};
pub use message::{check_body, quorum_body, rfc5322_date, Alert, Envelope, Mail, VrrpState, X_MAILER};
pub use reply::{parse_reply, Reply, ReplyError};
