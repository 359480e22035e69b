//! The I/O edge: queued alerts delivered over non-blocking mio TCP streams,
//! a few at a time, each bounded by deadlines. Never blocks after
//! construction.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::client::{Client, SendError, Timeouts};
use super::message::{rfc5322_date, Alert, Envelope, Mail};
use crate::config::model::GlobalDefs;

/// Alerts waiting for a connection slot; beyond this the oldest is dropped.
pub const QUEUE_LIMIT: usize = 32;

/// Deliveries in flight at once, hence the number of tokens a mailer uses.
pub const MAX_IN_FLIGHT: usize = 4;

/// What a mailer needs, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailerConfig {
    pub server: SocketAddr,
    pub helo: String,
    pub envelope: Envelope,
    /// keepalived's smtp_connect_timeout: for the connect and each reply.
    pub timeouts: Timeouts,
}

impl MailerConfig {
    /// `None` when alerts are off (no `smtp_server` or no recipients) or the
    /// server name does not resolve. A host name is resolved here, with
    /// std's blocking resolver: call this at (re)load, never on a hot path.
    pub fn from_globals(g: &GlobalDefs) -> Option<MailerConfig> {
        let server = g.smtp_server.as_ref()?;
        if g.notification_email.is_empty() {
            return None;
        }
        let addr = match resolve(&server.host, server.port) {
            Ok(addr) => addr,
            Err(e) => {
                log::error!("Cannot resolve smtp_server {}: {e} - SMTP alerts disabled", server.host);
                return None;
            }
        };
        let host = full_hostname();
        let step =
            if g.smtp_connect_timeout.is_zero() { Duration::from_secs(30) } else { g.smtp_connect_timeout };
        Some(MailerConfig {
            server: addr,
            helo: g.smtp_helo_name.clone().unwrap_or_else(|| host.clone()),
            envelope: Envelope {
                from: g.notification_email_from.clone().unwrap_or_else(|| format!("{}@{host}", user_name())),
                to: g.notification_email.clone(),
                router_id: g.router_id.clone().unwrap_or_else(crate::config::short_hostname),
            },
            timeouts: Timeouts::from_step(step),
        })
    }
}

/// The end of one delivery, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendResult {
    pub subject: String,
    pub outcome: Result<(), SendError>,
}

impl SendResult {
    /// keepalived's log lines: `SMTP alert successfully sent.` /
    /// `Error sending SMTP alert: ...`.
    pub fn log(&self) {
        match &self.outcome {
            Ok(()) => log::info!("SMTP alert successfully sent."),
            Err(e) => log::error!("Error sending SMTP alert: {e} (subject: {})", self.subject),
        }
    }
}

struct Queued {
    mail: Mail,
    since: Instant,
}

struct Delivery {
    stream: TcpStream,
    client: Client,
    connected: bool,
}

pub struct Mailer {
    config: MailerConfig,
    token_base: usize,
    queue: VecDeque<Queued>,
    /// Slot `i` uses token `token_base + i`.
    slots: Vec<Option<Delivery>>,
    results: VecDeque<SendResult>,
}

impl Mailer {
    /// Tokens used: `token_base .. token_base + TOKENS`.
    pub const TOKENS: usize = MAX_IN_FLIGHT;

    /// See [`MailerConfig::from_globals`] (may block resolving a name).
    pub fn from_config(g: &GlobalDefs, token_base: usize) -> Option<Mailer> {
        MailerConfig::from_globals(g).map(|c| Mailer::new(c, token_base))
    }

    pub fn new(config: MailerConfig, token_base: usize) -> Mailer {
        Mailer {
            config,
            token_base,
            queue: VecDeque::new(),
            slots: (0..MAX_IN_FLIGHT).map(|_| None).collect(),
            results: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &MailerConfig {
        &self.config
    }

    /// Queue an alert; the Date header is the wall clock now. Delivery
    /// starts in the next `handle_timeout` (which `poll_timeout` asks for).
    pub fn send(&mut self, alert: &Alert, now: Instant) {
        let mail = Mail::compose(&self.config.envelope, alert, &local_date());
        if self.queue.len() >= QUEUE_LIMIT {
            if let Some(old) = self.queue.pop_front() {
                log::warn!("SMTP alert queue full - dropping alert '{}'", old.mail.subject);
            }
        }
        self.queue.push_back(Queued { mail, since: now });
    }

    /// Whether `token` is one of this mailer's.
    pub fn owns_token(&self, token: Token) -> bool {
        token.0.checked_sub(self.token_base).is_some_and(|i| i < MAX_IN_FLIGHT)
    }

    /// Nothing queued or in flight.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.slots.iter().all(Option::is_none)
    }

    /// Readiness on `token`; false when the token is not this mailer's.
    pub fn handle_event(&mut self, registry: &Registry, token: Token, now: Instant) -> bool {
        if !self.owns_token(token) {
            return false;
        }
        let slot = token.0 - self.token_base;
        if let Some(d) = self.slots[slot].as_mut() {
            drive(d, now);
        }
        self.settle(registry, slot);
        self.start_queued(registry, now);
        true
    }

    /// The earliest deadline, or `now`-ish when a queued alert can start.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadlines = self.slots.iter().flatten().filter_map(|d| d.client.poll_timeout());
        let start =
            self.slots.iter().any(Option::is_none).then(|| self.queue.front().map(|q| q.since)).flatten();
        deadlines.chain(start).min()
    }

    /// Expire deliveries past their deadlines and start queued ones.
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        for slot in 0..self.slots.len() {
            if let Some(d) = self.slots[slot].as_mut() {
                d.client.handle_timeout(now);
            }
            self.settle(registry, slot);
        }
        self.start_queued(registry, now);
    }

    /// Finished deliveries, one at a time; call after `handle_event` and
    /// `handle_timeout`. [`SendResult::log`] writes keepalived's lines.
    pub fn poll_result(&mut self) -> Option<SendResult> {
        self.results.pop_front()
    }

    /// Collect the outcome of the delivery in `slot` and close it if done.
    fn settle(&mut self, registry: &Registry, slot: usize) {
        let Some(d) = self.slots[slot].as_mut() else { return };
        if let Some(outcome) = d.client.poll_outcome() {
            self.results.push_back(SendResult { subject: d.client.mail().subject.clone(), outcome });
        }
        if d.client.is_finished() {
            if let Some(mut d) = self.slots[slot].take() {
                crate::runtime::deregister(registry, &mut d.stream);
            }
        }
    }

    fn start_queued(&mut self, registry: &Registry, now: Instant) {
        while let Some(slot) = self.slots.iter().position(Option::is_none) {
            let Some(q) = self.queue.pop_front() else { return };
            let mut client = Client::new(q.mail, &self.config.helo, self.config.timeouts, now);
            let token = Token(self.token_base + slot);
            let started = TcpStream::connect(self.config.server).and_then(|mut stream| {
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
                Ok(stream)
            });
            match started {
                Ok(stream) => {
                    let mut d = Delivery { stream, client, connected: false };
                    // A loopback connect may already be complete or refused.
                    drive(&mut d, now);
                    self.slots[slot] = Some(d);
                    self.settle(registry, slot);
                }
                Err(e) => {
                    client.connect_failed(e.to_string());
                    let subject = client.mail().subject.clone();
                    if let Some(outcome) = client.poll_outcome() {
                        self.results.push_back(SendResult { subject, outcome });
                    }
                }
            }
        }
    }
}

/// Move a delivery as far as the socket allows: finish the connect, then
/// write and read until WouldBlock (mio is edge-triggered).
fn drive(d: &mut Delivery, now: Instant) {
    if !d.connected {
        match d.stream.take_error() {
            Ok(Some(e)) | Err(e) => return d.client.connect_failed(e.to_string()),
            Ok(None) => {}
        }
        match d.stream.peer_addr() {
            Ok(_) => {
                d.connected = true;
                d.client.connected(now);
            }
            // Still connecting (or a spurious wakeup).
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
            Err(e) => return d.client.connect_failed(e.to_string()),
        }
    }
    let mut buf = [0u8; 1024];
    loop {
        if !flush(d) {
            return;
        }
        if d.client.is_finished() {
            return;
        }
        match d.stream.read(&mut buf) {
            Ok(0) => return d.client.closed(),
            Ok(n) => d.client.receive(&buf[..n], now),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return d.client.io_error(e.to_string()),
        }
    }
}

/// Write pending output; false on an error (already reported).
fn flush(d: &mut Delivery) -> bool {
    while !d.client.pending_output().is_empty() {
        match d.stream.write(d.client.pending_output()) {
            Ok(0) => {
                d.client.io_error("connection closed while writing".into());
                return false;
            }
            Ok(n) => d.client.consume_output(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                d.client.io_error(e.to_string());
                return false;
            }
        }
    }
    true
}

/// An IP literal (bracketed or not) needs no resolver.
fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (bare, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address for host"))
}

/// The full host name: keepalived's default HELO name and From domain.
fn full_hostname() -> String {
    crate::config::hostname().filter(|name| !name.is_empty()).unwrap_or_else(|| "localhost".into())
}

/// The effective user's name, from /etc/passwd (a static binary has no NSS).
fn user_name() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    crate::sys::users::UserDb::system()
        .ok()
        .and_then(|db| db.user_by_uid(uid).map(|u| u.name.clone()))
        .unwrap_or_else(|| if uid == 0 { "root".into() } else { "keepalived".into() })
}

/// Now, in local time, as an RFC 5322 date.
fn local_date() -> String {
    let unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    rfc5322_date(unix, utc_offset(unix))
}

/// The local zone's offset from UTC at `unix`, in seconds east.
fn utc_offset(unix: i64) -> i32 {
    crate::time::local_time(unix).map_or(0, |t| t.utc_offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::SmtpServer;

    fn globals() -> GlobalDefs {
        GlobalDefs {
            notification_email: vec!["ops@example.com".into()],
            smtp_server: Some(SmtpServer { host: "198.18.0.25".into(), port: 2525 }),
            smtp_connect_timeout: Duration::from_secs(7),
            router_id: Some("LB1".into()),
            ..GlobalDefs::default()
        }
    }

    #[test]
    fn config_from_globals() {
        let c = MailerConfig::from_globals(&globals()).unwrap();
        assert_eq!(c.server, "198.18.0.25:2525".parse().unwrap());
        assert_eq!(c.timeouts, Timeouts { step: Duration::from_secs(7), total: Duration::from_secs(21) });
        assert_eq!(c.envelope.router_id, "LB1");
        assert_eq!(c.helo, full_hostname());
        // `<user>@<hostname>` when notification_email_from is unset.
        let (user, host) = c.envelope.from.split_once('@').unwrap();
        assert!(!user.is_empty());
        assert_eq!(host, full_hostname());

        let g = GlobalDefs {
            notification_email_from: Some("lb@example.com".into()),
            smtp_helo_name: Some("lb1.example.com".into()),
            smtp_server: Some(SmtpServer { host: "[2001:db8::25]".into(), port: 25 }),
            ..globals()
        };
        let c = MailerConfig::from_globals(&g).unwrap();
        assert_eq!(c.server, "[2001:db8::25]:25".parse().unwrap());
        assert_eq!((c.helo.as_str(), c.envelope.from.as_str()), ("lb1.example.com", "lb@example.com"));
    }

    #[test]
    fn no_mailer_without_server_or_recipients() {
        assert!(Mailer::from_config(&GlobalDefs { smtp_server: None, ..globals() }, 100).is_none());
        assert!(Mailer::from_config(&GlobalDefs { notification_email: vec![], ..globals() }, 100).is_none());
        let m = Mailer::from_config(&globals(), 100).unwrap();
        assert!(m.owns_token(Token(100)) && m.owns_token(Token(103)));
        assert!(!m.owns_token(Token(99)) && !m.owns_token(Token(104)));
    }

    #[test]
    fn queue_is_bounded_and_asks_for_a_prompt_start() {
        let mut m = Mailer::from_config(&globals(), 100).unwrap();
        assert!(m.is_idle());
        assert_eq!(m.poll_timeout(), None);
        let t0 = Instant::now();
        for i in 0..QUEUE_LIMIT + 3 {
            m.send(
                &Alert { topic: format!("n{i}"), body: String::new() },
                t0 + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(m.queue.len(), QUEUE_LIMIT);
        assert_eq!(m.queue.front().unwrap().mail.subject, "[LB1] n3");
        assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_millis(3)));
        assert!(!m.is_idle());
    }
}
