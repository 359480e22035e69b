//! The clients of a small request/reply server inside a mio loop (the
//! control sockets, the metrics listener): a fixed number of slots, each a
//! non-blocking connection with a deadline from accept to its last byte.
//! One request per connection: read until the request is whole, answer
//! it, write the answer as the socket takes it, close. The loop never waits
//! on a client; a client over its deadline is dropped.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Interest, Registry, Token};

/// A connected socket a slot can serve.
pub trait Stream: Source {
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_some(&self, buf: &[u8]) -> io::Result<usize>;
    /// After the whole reply: tell the peer there is no more.
    fn finish(&self) {}
}

impl Stream for mio::net::UnixStream {
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
    fn write_some(&self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
}

impl Stream for mio::net::TcpStream {
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
    fn write_some(&self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn finish(&self) {
        // Only fails when the peer has gone already (ENOTCONN): the close
        // that follows ends the connection either way.
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

/// What a server says about the bytes a client sent so far.
pub enum Request {
    /// Not whole yet: read more.
    Partial,
    /// Whole (or refused with an answer): send this.
    Answer(Vec<u8>),
    /// Drop the client without an answer.
    Refuse(io::Error),
}

/// How a server reads its requests.
pub struct Rules {
    /// Names the server in debug lines.
    pub name: &'static str,
    pub deadline: Duration,
    /// Reading stops past this many bytes; `judge` decides what follows.
    pub max_request: usize,
    /// Bytes read per call.
    pub chunk: usize,
    /// Whether the bytes so far hold a whole request.
    pub complete: fn(&[u8]) -> bool,
}

pub struct Clients<S: Stream> {
    rules: Rules,
    /// The first client token; slot `i` uses `first + i`.
    first: usize,
    slots: Vec<Option<Client<S>>>,
}

struct Client<S> {
    stream: S,
    deadline: Instant,
    request: Vec<u8>,
    /// The answer once the request is judged, and how much of it is sent.
    reply: Option<(Vec<u8>, usize)>,
}

enum Progress {
    WantRead,
    WantWrite,
    Done,
}

impl<S: Stream> Clients<S> {
    /// `max` slots with tokens `first .. first + max`.
    pub fn new(rules: Rules, first: usize, max: usize) -> Clients<S> {
        Clients { rules, first, slots: (0..max).map(|_| None).collect() }
    }

    /// Whether `token` is one of these clients'.
    pub fn owns(&self, token: Token) -> bool {
        (self.first..self.first + self.slots.len()).contains(&token.0)
    }

    /// How many clients are being served.
    pub fn count(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// The earliest client deadline, for the loop's timeout.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|c| c.deadline).min()
    }

    /// Serve a freshly accepted `stream` in a free slot; with none free it
    /// is turned away (dropped, so closed).
    pub fn admit(&mut self, registry: &Registry, mut stream: S, now: Instant) {
        let Some(slot) = self.slots.iter().position(Option::is_none) else {
            log::debug!("{}: {} clients already; one turned away", self.rules.name, self.slots.len());
            return;
        };
        let token = Token(self.first + slot);
        if registry.register(&mut stream, token, Interest::READABLE).is_ok() {
            let deadline = now + self.rules.deadline;
            self.slots[slot] = Some(Client { stream, deadline, request: Vec::new(), reply: None });
        }
    }

    /// A client's socket is ready: read its request, have `judge` answer it
    /// once `complete` (or past `max_request`), and send what the socket takes.
    pub fn ready(&mut self, registry: &Registry, token: Token, judge: impl FnOnce(&[u8]) -> Request) {
        let Some(slot) = token.0.checked_sub(self.first) else { return };
        let rules = &self.rules;
        let Some(client) = self.slots.get_mut(slot).and_then(Option::as_mut) else { return };
        let done = match client.progress(rules, judge) {
            Ok(Progress::Done) => true,
            Ok(Progress::WantWrite) => {
                registry.reregister(&mut client.stream, token, Interest::WRITABLE).is_err()
            }
            Ok(Progress::WantRead) => false,
            Err(e) => {
                log::debug!("{}: {e}", rules.name);
                true
            }
        };
        if done {
            self.close(registry, slot);
        }
    }

    /// Drop the clients whose time is up.
    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        for slot in 0..self.slots.len() {
            if self.slots[slot].as_ref().is_some_and(|c| c.deadline <= now) {
                log::debug!("{}: a client timed out", self.rules.name);
                self.close(registry, slot);
            }
        }
    }

    /// Drop every client.
    pub fn close_all(&mut self, registry: &Registry) {
        for slot in 0..self.slots.len() {
            self.close(registry, slot);
        }
    }

    fn close(&mut self, registry: &Registry, slot: usize) {
        if let Some(mut c) = self.slots[slot].take() {
            crate::runtime::deregister(registry, &mut c.stream);
        }
    }
}

impl<S: Stream> Client<S> {
    fn progress(&mut self, rules: &Rules, judge: impl FnOnce(&[u8]) -> Request) -> io::Result<Progress> {
        if self.reply.is_none() {
            let mut buf = vec![0u8; rules.chunk];
            loop {
                match self.stream.read_some(&mut buf) {
                    // The peer closed before a whole request: nothing to answer.
                    Ok(0) => return Ok(Progress::Done),
                    Ok(n) => self.request.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
                if self.request.len() > rules.max_request || (rules.complete)(&self.request) {
                    break;
                }
            }
            if self.request.len() <= rules.max_request && !(rules.complete)(&self.request) {
                return Ok(Progress::WantRead);
            }
            match judge(&self.request) {
                Request::Partial => return Ok(Progress::WantRead),
                Request::Answer(reply) => self.reply = Some((reply, 0)),
                Request::Refuse(e) => return Err(e),
            }
        }
        let Some((reply, sent)) = self.reply.as_mut() else { return Ok(Progress::WantRead) };
        while *sent < reply.len() {
            match self.stream.write_some(&reply[*sent..]) {
                Ok(n) => *sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::WantWrite),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.stream.finish();
        Ok(Progress::Done)
    }
}
