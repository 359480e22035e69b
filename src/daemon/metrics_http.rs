//! `metrics_listen ADDR:PORT` (a vigil extension): HTTP `GET /metrics`
//! answered with [`super::metrics::render`].
//!
//! Which process serves it: the parent. The VRRP child runs SCHED_RR and
//! its loop sends the adverts; a TCP peer there, however well bounded, is
//! work on the path of an advert. The checker child is absent under `-P` or
//! without virtual servers. The parent's loop only sends hellos and reaps
//! children, and it already talks to both children over their control
//! sockets (`vigil status`'s path, [`super::control::gather`]). A scrape
//! costs the parent one local request per child, each bounded by
//! [`super::supervisor::SCRAPE_TIMEOUT`], and scrapes within
//! [`super::supervisor::SCRAPE_REUSE`] of the last share its answer; the
//! children answer after their timers, so a scrape never delays an advert.
//!
//! Scrapers are remote and may be slow or hostile: every socket is
//! non-blocking in the parent's mio loop, a client has [`CLIENT_DEADLINE`]
//! from accept to its last byte, at most [`MAX_CLIENTS`] are served at once
//! (more are closed at accept), and a request larger than [`MAX_REQUEST`] is
//! answered 431 and closed. One request per connection (`Connection: close`).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use super::clients::{Clients, Request, Rules};

pub const CLIENT_DEADLINE: Duration = Duration::from_secs(5);
pub const MAX_CLIENTS: usize = 4;
/// Request line and headers; Prometheus sends a few hundred bytes.
pub const MAX_REQUEST: usize = 4096;
/// What the Prometheus text format is served as.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct MetricsServer {
    listener: TcpListener,
    addr: SocketAddr,
    listen_token: Token,
    clients: Clients<TcpStream>,
}

/// A request head, at most [`MAX_REQUEST`] bytes.
const RULES: Rules = Rules {
    name: "metrics",
    deadline: CLIENT_DEADLINE,
    max_request: MAX_REQUEST,
    chunk: 1024,
    complete: |request| head_end(request).is_some(),
};

impl MetricsServer {
    /// Listen on `addr` and register with `registry` under `listen_token`;
    /// clients get `first_client .. first_client + MAX_CLIENTS`.
    pub fn bind(
        addr: SocketAddr,
        registry: &Registry,
        listen_token: Token,
        first_client: usize,
    ) -> io::Result<MetricsServer> {
        let mut listener = TcpListener::bind(addr)?;
        registry.register(&mut listener, listen_token, Interest::READABLE)?;
        let clients = Clients::new(RULES, first_client, MAX_CLIENTS);
        Ok(MetricsServer { listener, addr, listen_token, clients })
    }

    /// The address as configured (port 0 stays 0; see [`Self::local_addr`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn is_listener(&self, token: Token) -> bool {
        token == self.listen_token
    }

    pub fn owns(&self, token: Token) -> bool {
        self.clients.owns(token)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients.next_deadline()
    }

    /// Take every pending connection; beyond [`MAX_CLIENTS`] they are closed.
    pub fn accept(&mut self, registry: &Registry, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((s, _)) => self.clients.admit(registry, s, now),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// A client is ready: read its request; once complete, answer it (with
    /// `body()` for `/metrics`) and send what the socket takes.
    pub fn ready(&mut self, registry: &Registry, token: Token, body: impl FnOnce() -> String) {
        self.clients.ready(registry, token, |request| {
            Request::Answer(if request.len() > MAX_REQUEST {
                response(431, "Request Header Fields Too Large", "text/plain", b"request too large\n", false)
            } else {
                answer(request, body)
            })
        });
    }

    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        self.clients.expire(registry, now);
    }

    /// Stop listening and drop every client.
    pub fn close_all(mut self, registry: &Registry) {
        self.clients.close_all(registry);
        crate::runtime::deregister(registry, &mut self.listener);
    }
}

/// Where the request head ends (after the blank line), if it has.
fn head_end(req: &[u8]) -> Option<usize> {
    let crlf = req.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = req.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    crlf.into_iter().chain(lf).min()
}

/// The response to a complete request head.
fn answer(request: &[u8], body: impl FnOnce() -> String) -> Vec<u8> {
    let line = request.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) || parts.next().is_some() {
        return response(400, "Bad Request", "text/plain", b"bad request\n", false);
    }
    let head_only = match method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return response(405, "Method Not Allowed", "text/plain", b"only GET\n", false),
    };
    let path = target.unwrap_or_default().split('?').next().unwrap_or_default();
    if path != "/metrics" {
        return response(404, "Not Found", "text/plain", b"vigil serves /metrics\n", head_only);
    }
    response(200, "OK", CONTENT_TYPE, body().as_bytes(), head_only)
}

fn response(code: u16, reason: &str, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if code == 405 {
        // RFC 9110: a 405 names the methods that are allowed.
        let at = out.len() - 2;
        out.splice(at..at, b"Allow: GET, HEAD\r\n".iter().copied());
    }
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn text(v: Vec<u8>) -> String {
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn routes_methods_and_bad_requests() {
        let ok = text(answer(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", || "m 1\n".into()));
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert!(ok.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\nm 1\n"), "{ok}");
        let q = text(answer(b"GET /metrics?x=1 HTTP/1.0\n\n", || "m 1\n".into()));
        assert!(q.starts_with("HTTP/1.1 200"), "{q}");
        let head = text(answer(b"HEAD /metrics HTTP/1.1\r\n\r\n", || "m 1\n".into()));
        assert!(head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"), "{head}");
        let nf = text(answer(b"GET / HTTP/1.1\r\n\r\n", || unreachable!()));
        assert!(nf.starts_with("HTTP/1.1 404"), "{nf}");
        let post = text(answer(b"POST /metrics HTTP/1.1\r\n\r\n", || unreachable!()));
        assert!(post.starts_with("HTTP/1.1 405") && post.contains("\r\nAllow: GET, HEAD\r\n\r\n"), "{post}");
        for bad in
            [&b"GET /metrics\r\n\r\n"[..], b"\r\n\r\n", b"GET /metrics SMTP/1.0\r\n\r\n", b"\xff\xfe x y\n\n"]
        {
            assert!(text(answer(bad, || unreachable!())).starts_with("HTTP/1.1 400"), "{bad:?}");
        }
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }

    /// A real loop: a silent client and a slow one do not stop a third from
    /// being served; the cap turns a fifth away; the oversized request gets
    /// 431; the silent ones are dropped at their deadline.
    #[test]
    fn serves_without_waiting_on_slow_clients() {
        let mut poll = mio::Poll::new().unwrap();
        let registry = poll.registry().try_clone().unwrap();
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut server = MetricsServer::bind(addr, &registry, Token(1), 10).unwrap();
        let at = server.local_addr().unwrap();
        let silent = std::net::TcpStream::connect(at).unwrap();
        let mut slow = std::net::TcpStream::connect(at).unwrap();
        slow.write_all(b"GET /met").unwrap();
        let mut big = std::net::TcpStream::connect(at).unwrap();
        let scraper = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(at).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        });
        let mut events = mio::Events::with_capacity(16);
        let start = Instant::now();
        while !scraper.is_finished() && start.elapsed() < Duration::from_secs(5) {
            poll.poll(&mut events, Some(Duration::from_millis(20))).unwrap();
            for ev in events.iter() {
                if server.is_listener(ev.token()) {
                    server.accept(&registry, Instant::now());
                } else if server.owns(ev.token()) {
                    server.ready(&registry, ev.token(), || "up 1\n".into());
                }
            }
        }
        let out = scraper.join().unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nup 1\n"), "{out}");
        // All slots are taken now (silent, slow, big and one free after the
        // scraper left): fill the free one, and the next is turned away.
        let _filler = std::net::TcpStream::connect(at).unwrap();
        let mut extra = std::net::TcpStream::connect(at).unwrap();
        big.write_all(&vec![b'x'; MAX_REQUEST + 10]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut big_reply = String::new();
        big.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        while Instant::now() < deadline {
            poll.poll(&mut events, Some(Duration::from_millis(20))).unwrap();
            for ev in events.iter() {
                if server.is_listener(ev.token()) {
                    server.accept(&registry, Instant::now());
                } else if server.owns(ev.token()) {
                    server.ready(&registry, ev.token(), || "up 1\n".into());
                }
            }
            let mut buf = [0u8; 512];
            if let Ok(n) = big.read(&mut buf) {
                big_reply.push_str(&String::from_utf8_lossy(&buf[..n]));
                if n == 0 || big_reply.contains("too large") {
                    break;
                }
            }
        }
        assert!(big_reply.starts_with("HTTP/1.1 431"), "{big_reply:?}");
        let mut buf = [0u8; 16];
        extra.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert_eq!(extra.read(&mut buf).unwrap_or(0), 0, "a client over the cap is closed");
        assert_eq!(server.clients.count(), 3, "silent, slow and filler wait");
        server.expire(&registry, Instant::now() + CLIENT_DEADLINE);
        assert!(server.next_deadline().is_none());
        for mut s in [silent, slow] {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            assert_eq!(s.read(&mut buf).unwrap(), 0, "dropped at the deadline");
        }
        server.close_all(&registry);
    }
}
