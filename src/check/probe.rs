//! A running TCP_CHECK, HTTP_GET or SMTP_CHECK: one non-blocking socket
//! registered with the poll loop, and a deadline (`connect_timeout`, which
//! keepalived applies to the whole exchange).

use std::io;
use std::time::Instant;

use mio::{Interest, Registry, Token};

use super::checker::CheckResult;
use super::conn::{self, ConnSpec};
use super::http::{self, HttpExchange, Progress};
use super::smtp::{SmtpExchange, SmtpProgress};
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
        url: Box<Url>,
        exchange: HttpExchange,
        tls: Option<Box<Tls>>,
    },
    Smtp(SmtpExchange),
}

#[derive(Debug)]
pub struct Probe {
    stream: mio::net::TcpStream,
    token: Token,
    deadline: Instant,
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
        let mut stream = conn::connect(spec).map_err(|e| CheckResult::failure(format!("connect: {e}")))?;
        registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| CheckResult::failure(format!("register: {e}")))?;
        Ok(Probe { stream, token, deadline, connected: false, dialogue })
    }

    pub fn token(&self) -> Token {
        self.token
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Readiness arrived: advance; `Some` when the check is decided.
    pub fn advance(&mut self) -> Option<CheckResult> {
        if !self.connected {
            match self.stream.take_error() {
                Ok(Some(e)) | Err(e) => return Some(CheckResult::failure(format!("connect: {e}"))),
                Ok(None) => {}
            }
            match self.stream.peer_addr() {
                Ok(_) => self.connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return None,
                Err(e) => return Some(CheckResult::failure(format!("connect: {e}"))),
            }
        }
        match &mut self.dialogue {
            Dialogue::Connect => Some(CheckResult::success("connected")),
            Dialogue::Http { url, exchange, tls } => match drive_http(exchange, tls, &mut self.stream) {
                Progress::Pending => None,
                Progress::Done(response) => Some(http::judge(url, response)),
                Progress::Failed(e) => Some(CheckResult::failure(format!("{e} url({})", url.path))),
            },
            Dialogue::Smtp(exchange) => match exchange.drive(&mut self.stream) {
                SmtpProgress::Pending => None,
                SmtpProgress::Done(Ok(())) => Some(CheckResult::success("SMTP dialogue complete")),
                SmtpProgress::Done(Err(e)) => Some(CheckResult::failure(e.to_string())),
                SmtpProgress::Failed(e) => Some(CheckResult::failure(e.to_string())),
            },
        }
    }

    /// The deadline passed before a decision.
    pub fn timeout_result(&self) -> CheckResult {
        let what = if self.connected { "timeout reading the reply" } else { "connection timeout" };
        match &self.dialogue {
            Dialogue::Http { url, .. } => CheckResult::failure(format!("{what} url({})", url.path)),
            _ => CheckResult::failure(what),
        }
    }

    /// Deregister and close (dropping the stream closes the socket).
    pub fn close(mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
    }
}

fn drive_http(
    exchange: &mut HttpExchange,
    tls: &mut Option<Box<Tls>>,
    stream: &mut mio::net::TcpStream,
) -> Progress {
    match tls.as_deref_mut() {
        #[cfg(feature = "ssl")]
        Some(session) => exchange.drive(&mut session.over(stream)),
        #[cfg(not(feature = "ssl"))]
        Some(never) => match *never {},
        None => exchange.drive(stream),
    }
}
