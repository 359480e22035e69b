//! A running TCP_CHECK, HTTP_GET, SMTP_CHECK or DNS_CHECK: one non-blocking
//! socket (TCP, or connected UDP for DNS) registered with the poll loop, and
//! a deadline (`connect_timeout`, which keepalived applies to the whole
//! exchange).

use std::io;
use std::rc::Rc;
use std::time::Instant;

use mio::{Interest, Registry, Token};

use super::checker::CheckResult;
use super::conn::{self, ConnSpec};
use super::dns::{self, Verdict};
use super::http::{self, HttpExchange, Progress};
use super::smtp::{SmtpExchange, SmtpProgress};
use super::udp::{self, ReplyRule};
use crate::config::model::Url;

/// SSL_GET's session (feature `ssl`); without the feature nothing can
/// create one.
#[cfg(feature = "ssl")]
pub type Tls = super::tls::TlsSession;
#[cfg(not(feature = "ssl"))]
#[derive(Debug)]
pub enum Tls {}

/// What to do once connected.
#[derive(Debug)]
pub enum Dialogue {
    /// TCP_CHECK: the handshake is the check.
    Connect,
    /// HTTP_GET, or SSL_GET with `tls`.
    Http {
        url: Rc<Url>,
        exchange: HttpExchange,
        tls: Option<Box<Tls>>,
    },
    Smtp(SmtpExchange),
    /// DNS_CHECK over UDP: send `query` once, wait for the reply to `id`.
    Dns {
        query: Vec<u8>,
        id: u16,
    },
    /// UDP_CHECK: send `payload` once, then judge the first datagram back
    /// (or the silence) by `rule`.
    Udp {
        payload: Vec<u8>,
        rule: ReplyRule,
    },
}

#[derive(Debug)]
enum Socket {
    Tcp(mio::net::TcpStream),
    Udp(mio::net::UdpSocket),
}

/// What a readiness event said about a probe's socket.
#[derive(Clone, Copy, Debug, Default)]
pub struct Readiness {
    pub readable: bool,
    pub writable: bool,
    /// An error or hang-up: the socket has something to report.
    pub error: bool,
}

impl Readiness {
    pub fn of(event: &mio::event::Event) -> Readiness {
        Readiness {
            readable: event.is_readable() || event.is_read_closed(),
            writable: event.is_writable(),
            error: event.is_error() || event.is_write_closed(),
        }
    }
}

#[derive(Debug)]
pub struct Probe {
    socket: Socket,
    token: Token,
    deadline: Instant,
    /// TCP: the handshake completed; UDP: the query went out.
    connected: bool,
    dialogue: Dialogue,
}

impl Probe {
    /// Connect and register. A connect that fails at once (no route,
    /// bad bind address) is returned as the check's failure.
    pub fn start(
        spec: &ConnSpec,
        dialogue: Dialogue,
        registry: &Registry,
        token: Token,
        deadline: Instant,
    ) -> Result<Probe, CheckResult> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        let registered = |e: io::Error| CheckResult::failure(format!("register: {e}"));
        let socket = if let Dialogue::Dns { .. } | Dialogue::Udp { .. } = dialogue {
            let mut udp =
                conn::connect_udp(spec).map_err(|e| CheckResult::failure(format!("socket: {e}")))?;
            registry.register(&mut udp, token, interest).map_err(registered)?;
            Socket::Udp(udp)
        } else {
            let mut stream =
                conn::connect(spec).map_err(|e| CheckResult::failure(format!("connect: {e}")))?;
            registry.register(&mut stream, token, interest).map_err(registered)?;
            Socket::Tcp(stream)
        };
        Ok(Probe { socket, token, deadline, connected: false, dialogue })
    }

    pub fn token(&self) -> Token {
        self.token
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Readiness arrived: advance; `Some` when the check is decided.
    pub fn advance(&mut self, ready: Readiness) -> Option<CheckResult> {
        let stream = match &mut self.socket {
            Socket::Tcp(stream) => stream,
            Socket::Udp(udp) => {
                return match &self.dialogue {
                    Dialogue::Dns { query, id } => advance_dns(udp, &mut self.connected, query, *id),
                    Dialogue::Udp { payload, rule } => advance_udp(udp, &mut self.connected, payload, rule),
                    _ => Some(CheckResult::failure("internal: UDP socket without a UDP dialogue")),
                };
            }
        };
        let mut readable = ready.readable || ready.error;
        if !self.connected {
            // A connecting socket reports only the end of the handshake
            // (writable, or an error): SO_ERROR says which, and with no
            // error and writability the connection is made (no getpeername).
            match stream.take_error() {
                Ok(Some(e)) | Err(e) => return Some(CheckResult::failure(format!("connect: {e}"))),
                Ok(None) if ready.writable => self.connected = true,
                Ok(None) => return None,
            }
        }
        if let Dialogue::Http { tls: Some(_), .. } = self.dialogue {
            readable = true; // TLS records flow both ways from the start
        }
        match &mut self.dialogue {
            Dialogue::Connect => Some(CheckResult::success("connected")),
            Dialogue::Http { url, exchange, tls } => match drive_http(exchange, tls, stream, readable) {
                Progress::Pending => None,
                Progress::Done(response) => Some(http::judge(url, response)),
                Progress::Failed(e) => Some(CheckResult::failure(format!("{e} url({})", url.path))),
            },
            Dialogue::Smtp(exchange) => match exchange.drive(stream) {
                SmtpProgress::Pending => None,
                SmtpProgress::Done(Ok(())) => Some(CheckResult::success("SMTP dialogue complete")),
                SmtpProgress::Done(Err(e)) => Some(CheckResult::failure(e.to_string())),
                SmtpProgress::Failed(e) => Some(CheckResult::failure(e.to_string())),
            },
            Dialogue::Dns { .. } | Dialogue::Udp { .. } => {
                Some(CheckResult::failure("internal: UDP dialogue on a TCP socket"))
            }
        }
    }

    /// The deadline passed before a decision.
    pub fn timeout_result(&self) -> CheckResult {
        let what = if self.connected { "timeout reading the reply" } else { "connection timeout" };
        match &self.dialogue {
            Dialogue::Http { url, .. } => CheckResult::failure(format!("{what} url({})", url.path)),
            // keepalived's words.
            Dialogue::Dns { .. } if self.connected => CheckResult::failure("read timeout from socket"),
            Dialogue::Dns { .. } => CheckResult::failure("write timeout to socket"),
            // keepalived: silence is a success unless a reply is required.
            Dialogue::Udp { rule, .. } if self.connected && !rule.required => {
                CheckResult::success("no reply and no port unreachable")
            }
            Dialogue::Udp { .. } if self.connected => CheckResult::failure("no reply"),
            Dialogue::Udp { .. } => CheckResult::failure("send timeout"),
            _ => CheckResult::failure(what),
        }
    }

    /// Close. No epoll_ctl(DEL) first: closing the only descriptor of a
    /// socket takes it out of the epoll set (the socket is never duplicated).
    pub fn close(self) {}
}

/// DNS_CHECK: send the query once the socket is writable, then read every
/// datagram that is there (readiness is edge-triggered) until one decides.
fn advance_dns(udp: &mut mio::net::UdpSocket, sent: &mut bool, query: &[u8], id: u16) -> Option<CheckResult> {
    if !*sent {
        match udp.send(query) {
            Ok(n) if n == query.len() => *sent = true,
            Ok(_) => return Some(CheckResult::failure("failed to write all of the datagram")),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) => return Some(CheckResult::failure(format!("failed to write socket: {e}"))),
        }
    }
    let mut buf = [0u8; 768];
    // Readiness is edge-triggered, so the socket is drained to WouldBlock
    // (a reply behind other datagrams must not wait for an edge that never
    // comes); a server that keeps it busy with datagrams that are not the
    // reply fails the check rather than hold the loop.
    for _ in 0..MAX_DATAGRAMS_PER_WAKE {
        match udp.recv(&mut buf) {
            Ok(n) => match dns::judge(id, buf.get(..n).unwrap_or(&[])) {
                Verdict::Ignore(_) => continue,
                Verdict::Success => return Some(CheckResult::success("DNS reply NOERROR")),
                Verdict::Error(rcode) => {
                    let name = dns::rcode_name(rcode);
                    return Some(CheckResult::failure(format!(
                        "read error occurred (rcode = {rcode} {name})"
                    )));
                }
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Some(CheckResult::failure(format!("failed to read socket: {e}"))),
        }
    }
    Some(CheckResult::failure(format!("more than {MAX_DATAGRAMS_PER_WAKE} datagrams that are not the reply")))
}

/// UDP_CHECK: send the payload once the socket is writable, then the
/// first datagram back decides; an ICMP port unreachable comes back as
/// ECONNREFUSED on the connected socket and fails the check.
fn advance_udp(
    udp: &mut mio::net::UdpSocket,
    sent: &mut bool,
    payload: &[u8],
    rule: &ReplyRule,
) -> Option<CheckResult> {
    if !*sent {
        match udp.send(payload) {
            Ok(n) if n == payload.len() => *sent = true,
            Ok(_) => return Some(CheckResult::failure("failed to send all of the payload")),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) => return Some(CheckResult::failure(format!("send: {e}"))),
        }
    }
    let mut buf = vec![0u8; udp::recv_len(rule)];
    loop {
        return match udp.recv(&mut buf) {
            Ok(n) if udp::reply_ok(rule, buf.get(..n).unwrap_or(&[])) => {
                Some(CheckResult::success(format!("reply of {n} bytes")))
            }
            Ok(n) => Some(CheckResult::failure(format!("reply data mismatch ({n} bytes)"))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                Some(CheckResult::failure("port unreachable"))
            }
            Err(e) => Some(CheckResult::failure(format!("receive: {e}"))),
        };
    }
}

/// See `advance_dns`.
const MAX_DATAGRAMS_PER_WAKE: usize = 256;

fn drive_http(
    exchange: &mut HttpExchange,
    tls: &mut Option<Box<Tls>>,
    stream: &mut mio::net::TcpStream,
    readable: bool,
) -> Progress {
    match tls.as_deref_mut() {
        #[cfg(feature = "ssl")]
        Some(session) => exchange.drive(&mut session.over(stream), readable),
        #[cfg(not(feature = "ssl"))]
        Some(never) => match *never {},
        None => exchange.drive(stream, readable),
    }
}
