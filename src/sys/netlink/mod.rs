//! A small rtnetlink (NETLINK_ROUTE) socket.
//!
//! `attr` and `msg` are pure codecs; [`Socket`] adds sequence numbers,
//! request/ack and multipart dumps. The socket is non-blocking so that an
//! event subscriber can sit in a mio loop (register `SourceFd(&sock.as_raw_fd())`);
//! [`Socket::request`] and [`Socket::dump`] wait for their replies with
//! `poll(2)` and a timeout, as rtnetlink answers promptly.

pub mod attr;
pub mod msg;
pub mod rt;

use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

pub use attr::{Attr, AttrWriter, Attrs};
pub use msg::{Message, Messages, Reply, Request};

use super::fd;
use super::{Error, Result};

const SOL_NETLINK: i32 = 270;
const NETLINK_EXT_ACK: i32 = 11;
const NETLINK_CAP_ACK: i32 = 10;
/// Large enough for any single rtnetlink datagram the kernel builds
/// (it sizes dump skbs to about a page, events far smaller).
const RECV_BUF: usize = 64 * 1024;
/// How long a request waits for its answer before giving up.
const REPLY_TIMEOUT_MS: i32 = 5_000;

pub struct Socket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    /// Bytes of the last datagram in `buf`.
    len: usize,
    /// Datagrams from other processes' netlink sockets, dropped.
    foreign: u64,
}

impl Socket {
    /// A socket for requests and dumps (no multicast groups).
    pub fn open() -> Result<Socket> {
        Socket::subscribe(0)
    }

    /// A socket that also receives the multicast groups in `groups`
    /// (an `RTMGRP_*` bitmask).
    pub fn subscribe(groups: u32) -> Result<Socket> {
        Socket::open_with(libc::NETLINK_ROUTE, groups)
    }

    /// A request/dump socket for another netlink protocol, such as
    /// `libc::NETLINK_GENERIC`.
    pub fn open_protocol(protocol: i32) -> Result<Socket> {
        Socket::open_with(protocol, 0)
    }

    /// A socket of another netlink protocol that receives its multicast
    /// `groups` (the process connector's CN_IDX_PROC).
    pub fn subscribe_protocol(protocol: i32, groups: u32) -> Result<Socket> {
        Socket::open_with(protocol, groups)
    }

    fn open_with(protocol: i32, groups: u32) -> Result<Socket> {
        let fd = fd::socket(libc::AF_NETLINK, libc::SOCK_RAW, protocol, "netlink")?;
        // Best effort (older kernels lack them; EXT_ACK came in 4.12): error text from the
        // kernel, and errors without the echoed request.
        let _ = fd::setsockopt_int(&fd, SOL_NETLINK, NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK");
        let _ = fd::setsockopt_int(&fd, SOL_NETLINK, NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK");
        // SAFETY: sockaddr_nl is plain data; all-zero is valid.
        let mut sa: libc::sockaddr_nl = unsafe { mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        sa.nl_groups = groups;
        fd::bind(&fd, &sa, "netlink")?;
        // Start from a value unlikely to match stale replies of a previous socket.
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        Ok(Socket { fd, seq, buf: vec![0; RECV_BUF], len: 0, foreign: 0 })
    }

    /// Raise the kernel receive buffer (SO_RCVBUFFORCE as root, else SO_RCVBUF)
    /// to make ENOBUFS on busy event sockets rarer.
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<()> {
        let v = bytes.min(u32::MAX as usize) as u32;
        fd::set_recv_buffer(&self.fd, v, true).or_else(|_| fd::set_recv_buffer(&self.fd, v, false))
    }

    /// The receive buffer a configuration asked for (`*_rcv_bufs[_force]`):
    /// exactly the option it names, as keepalived; `bytes` 0 leaves it.
    pub fn set_configured_recv_buffer(&self, bytes: u32, force: bool) -> Result<()> {
        if bytes == 0 {
            return Ok(());
        }
        fd::set_recv_buffer(&self.fd, bytes, force)
    }

    /// Send a request with NLM_F_ACK and wait for its acknowledgement.
    /// A negative ack becomes an [`Error`] carrying the kernel's errno.
    pub fn request(&mut self, req: Request, what: &str) -> Result<()> {
        self.get(req, what, |_| Ok(()))
    }

    /// Send a request with NLM_F_DUMP and hand every data message to
    /// `each` until NLMSG_DONE.
    pub fn dump(
        &mut self,
        mut req: Request,
        what: &str,
        mut each: impl FnMut(&Message) -> Result<()>,
    ) -> Result<()> {
        let seq = self.send(&mut req, msg::NLM_F_DUMP, what)?;
        self.collect(seq, what, &mut each)
    }

    /// A non-dump GET (e.g. one link by name): the data messages of the reply.
    pub fn get(
        &mut self,
        mut req: Request,
        what: &str,
        mut each: impl FnMut(&Message) -> Result<()>,
    ) -> Result<()> {
        let seq = self.send(&mut req, msg::NLM_F_ACK, what)?;
        self.collect(seq, what, &mut each)
    }

    /// Send `reqs` in one datagram (a netfilter batch) and wait for the
    /// acknowledgement of each one that asks for it (NLM_F_ACK). The first
    /// negative acknowledgement, of any of them, is the error: the kernel
    /// refuses a whole batch at its first message (no permission, no
    /// nf_tables) without acknowledging the rest.
    pub fn batch(&mut self, mut reqs: Vec<Request>, what: &str) -> Result<()> {
        let mut bytes = Vec::new();
        let mut waiting = Vec::new();
        let first = self.seq.wrapping_add(1);
        for req in &mut reqs {
            self.seq = self.seq.wrapping_add(1);
            if req.flags() & msg::NLM_F_ACK != 0 {
                waiting.push(self.seq);
            }
            bytes.extend_from_slice(req.finish(self.seq));
        }
        let ours = |seq: u32| seq.wrapping_sub(first) < reqs.len() as u32;
        self.send_raw(&bytes, what)?;
        while !waiting.is_empty() {
            self.recv_reply(what)?;
            for m in Messages::new(self.received()) {
                let m = m?;
                if !ours(m.header.seq) {
                    continue;
                }
                match m.classify()? {
                    Reply::Ack => waiting.retain(|&s| s != m.header.seq),
                    Reply::Error { errno, text } => return Err(kernel_error(errno, text, what)),
                    Reply::Data(_) | Reply::Done | Reply::Noise => {}
                }
            }
        }
        Ok(())
    }

    fn collect(&mut self, seq: u32, what: &str, each: &mut dyn FnMut(&Message) -> Result<()>) -> Result<()> {
        loop {
            self.recv_reply(what)?;
            let mut done = false;
            for m in Messages::new(self.received()) {
                let m = m?;
                if m.header.seq != seq {
                    continue;
                }
                match m.classify()? {
                    Reply::Data(m) => each(&m)?,
                    Reply::Done | Reply::Ack => done = true,
                    Reply::Error { errno, text } => return Err(kernel_error(errno, text, what)),
                    Reply::Noise => {}
                }
            }
            if done {
                return Ok(());
            }
        }
    }

    fn send(&mut self, req: &mut Request, extra_flags: u16, what: &str) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        req.add_flags(extra_flags);
        self.send_raw(req.finish(self.seq), what)?;
        Ok(self.seq)
    }

    /// Send bytes framed by the caller to the kernel, without waiting for
    /// an answer (the process connector's subscription).
    pub fn send_raw(&self, bytes: &[u8], what: &str) -> Result<()> {
        // SAFETY: sockaddr_nl is plain data; all-zero addresses the kernel.
        let mut kernel: libc::sockaddr_nl = unsafe { mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        fd::sendto(&self.fd, bytes, &kernel, what)
    }

    /// Receive one datagram into the internal buffer, waiting up to the reply timeout.
    fn recv_reply(&mut self, what: &str) -> Result<()> {
        loop {
            match self.recv() {
                Ok(_) => return Ok(()),
                Err(e) if e.is_would_block() => {
                    if !fd::wait_readable(&self.fd, REPLY_TIMEOUT_MS)? {
                        return Err(Error::new(libc::ETIMEDOUT, format!("{what}: no netlink reply")));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Receive one datagram without waiting. Returns the message bytes;
    /// EAGAIN means drained, ENOBUFS means the kernel dropped messages
    /// (subscribers must resynchronise). Only the kernel's datagrams count:
    /// one from another process's netlink socket (port id not 0) is dropped.
    pub fn recv(&mut self) -> Result<&[u8]> {
        loop {
            // SAFETY: zeroed sockaddr_nl is valid; recvfrom writes at most `alen` bytes of it.
            let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            let mut alen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // SAFETY: buf is valid for its whole length; `from` for `alen` bytes.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_TRUNC,
                    (&mut from as *mut libc::sockaddr_nl).cast(),
                    &mut alen,
                )
            };
            if n < 0 {
                let e = Error::last("netlink recv");
                if e.errno() == libc::EINTR {
                    continue;
                }
                self.len = 0;
                return Err(e);
            }
            if from.nl_pid != 0 {
                self.foreign += 1;
                continue;
            }
            let n = n as usize;
            if n > self.buf.len() {
                self.len = 0;
                return Err(Error::new(libc::EMSGSIZE, format!("netlink datagram of {n} bytes truncated")));
            }
            self.len = n;
            return Ok(&self.buf[..n]);
        }
    }

    /// Datagrams dropped because they did not come from the kernel.
    pub fn foreign(&self) -> u64 {
        self.foreign
    }

    fn received(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn kernel_error(errno: i32, text: Option<&str>, what: &str) -> Error {
    match text {
        Some(t) => Error::new(errno, format!("{what} ({t})")),
        None => Error::new(errno, what.to_string()),
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another process's netlink socket can address ours by its port id:
    /// what it sends is not the kernel speaking, so it is dropped and counted.
    #[test]
    fn datagrams_not_from_the_kernel_are_dropped() {
        let mut ours = Socket::open().expect("netlink socket");
        let other = Socket::open().expect("netlink socket");
        // SAFETY: zeroed sockaddr_nl is valid; getsockname writes at most `len` bytes.
        let mut me: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: as above.
        let rc = unsafe {
            libc::getsockname(ours.as_raw_fd(), (&mut me as *mut libc::sockaddr_nl).cast(), &mut len)
        };
        assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
        // A well-formed NLMSG_DONE, as a forger would send it.
        let mut msg = [0u8; 20];
        msg[0..4].copy_from_slice(&20u32.to_ne_bytes());
        msg[4..6].copy_from_slice(&3u16.to_ne_bytes());
        // SAFETY: valid buffer; `me` is a complete sockaddr_nl.
        let sent = unsafe {
            libc::sendto(
                other.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&me as *const libc::sockaddr_nl).cast(),
                len,
            )
        };
        assert_eq!(sent, 20, "sendto: {}", std::io::Error::last_os_error());
        assert!(fd::wait_readable(&ours.fd, 1000).unwrap(), "the datagram never arrived");
        let got = ours.recv().map(|b| b.to_vec());
        assert!(got.as_ref().is_err_and(|e| e.is_would_block()), "accepted: {got:?}");
        assert_eq!(ours.foreign(), 1);
    }
}
