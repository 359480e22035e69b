//! The kernel's process connector (NETLINK_CONNECTOR, CN_IDX_PROC): fork,
//! exec, name change and exit of every process, for `vrrp_track_process`.
//!
//! The codec is pure ([`subscribe_message`], [`parse_event`]); [`Connector`]
//! is the socket. The kernel answers only in the initial network
//! namespace: elsewhere the subscription is refused (ECONNREFUSED) and the
//! caller falls back to scanning /proc.
//!
//! Layout (host byte order): `nlmsghdr` (16 bytes), `cn_msg` (idx, val,
//! seq, ack: u32; len, flags: u16 = 20 bytes), then the payload: for a
//! subscription one u32 (PROC_CN_MCAST_LISTEN / _IGNORE), for an event a
//! `proc_event` (what, cpu: u32; timestamp: u64; the event's data). The
//! kernel sends one message per datagram.

use std::os::fd::{AsRawFd, RawFd};

use super::netlink::{msg, Socket};
use super::{Error, Result};

const NETLINK_CONNECTOR: i32 = 11;
pub const CN_IDX_PROC: u32 = 1;
pub const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;

const CN_MSG_LEN: usize = 20;
const CN_AT: usize = msg::HEADER_LEN;
const EVENT_AT: usize = CN_AT + CN_MSG_LEN;
/// Where the event's data starts, after what, cpu and timestamp.
const DATA_AT: usize = EVENT_AT + 16;

const PROC_EVENT_NONE: u32 = 0;
const PROC_EVENT_FORK: u32 = 1;
const PROC_EVENT_EXEC: u32 = 2;
const PROC_EVENT_COMM: u32 = 0x200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// The message that starts (`listen`) or stops the events.
pub fn subscribe_message(seq: u32, listen: bool) -> [u8; EVENT_AT + 4] {
    let mut m = [0u8; EVENT_AT + 4];
    m[0..4].copy_from_slice(&((EVENT_AT + 4) as u32).to_ne_bytes());
    m[4..6].copy_from_slice(&msg::NLMSG_DONE.to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    m[CN_AT..CN_AT + 4].copy_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m[CN_AT + 4..CN_AT + 8].copy_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m[CN_AT + 8..CN_AT + 12].copy_from_slice(&seq.to_ne_bytes());
    m[CN_AT + 16..CN_AT + 18].copy_from_slice(&4u16.to_ne_bytes());
    let op = if listen { PROC_CN_MCAST_LISTEN } else { PROC_CN_MCAST_IGNORE };
    m[EVENT_AT..].copy_from_slice(&op.to_ne_bytes());
    m
}

/// One event about a process (thread events are left out: the trackers
/// count processes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The answer to a subscription: 0, or an errno.
    Ack(u32),
    Fork {
        parent: u32,
        child: u32,
    },
    Exec(u32),
    /// A new `comm` (prctl PR_SET_NAME), up to its NUL.
    Comm(u32, Vec<u8>),
    Exit(u32),
}

/// The event in a datagram; `None` for anything else (other connector
/// users, other events, threads). Malformed bytes are an error.
pub fn parse_event(d: &[u8]) -> Result<Option<Event>> {
    let u32_at = |i: usize| d.get(i..i + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    let bad = |what: &str| Error::malformed(format!("process connector: {what}"));
    let len = u32_at(0).ok_or_else(|| bad("short header"))? as usize;
    if len < msg::HEADER_LEN || len > d.len() {
        return Err(bad("bad message length"));
    }
    let d = &d[..len];
    let kind = u16::from_ne_bytes([d[4], d[5]]);
    if kind == msg::NLMSG_NOOP || kind == msg::NLMSG_ERROR || kind == msg::NLMSG_OVERRUN {
        return Ok(None);
    }
    let (Some(idx), Some(val), Some(ack)) = (u32_at(CN_AT), u32_at(CN_AT + 4), u32_at(CN_AT + 12)) else {
        return Err(bad("short cn_msg"));
    };
    if (idx, val) != (CN_IDX_PROC, CN_VAL_PROC) {
        return Ok(None);
    }
    let payload = d.get(CN_AT + 16..CN_AT + 18).map(|b| u16::from_ne_bytes([b[0], b[1]]) as usize);
    if payload.is_none_or(|p| EVENT_AT + p > len) {
        return Err(bad("payload longer than the message"));
    }
    let what = u32_at(EVENT_AT).ok_or_else(|| bad("no event"))?;
    let arg = |i: usize| u32_at(DATA_AT + 4 * i).ok_or_else(|| bad("short event"));
    // Only an acknowledgement carries a non-zero ack.
    if (what == PROC_EVENT_NONE) != (ack != 0) {
        return Ok(None);
    }
    // Process events name a thread (pid) and its process (tgid); a thread's differ.
    let process = |pid: u32, tgid: u32| (pid == tgid).then_some(tgid);
    Ok(match what {
        PROC_EVENT_NONE => Some(Event::Ack(arg(0)?)),
        PROC_EVENT_FORK => {
            let (parent, child_pid, child) = (arg(1)?, arg(2)?, arg(3)?);
            process(child_pid, child).map(|child| Event::Fork { parent, child })
        }
        PROC_EVENT_EXEC => process(arg(0)?, arg(1)?).map(Event::Exec),
        PROC_EVENT_EXIT => process(arg(0)?, arg(1)?).map(Event::Exit),
        PROC_EVENT_COMM => {
            let name = d.get(DATA_AT + 8..DATA_AT + 24).ok_or_else(|| bad("short comm event"))?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            process(arg(0)?, arg(1)?).map(|pid| Event::Comm(pid, name[..end].to_vec()))
        }
        _ => None,
    })
}

/// A subscribed process connector socket (non-blocking).
pub struct Connector {
    sock: Socket,
}

impl Connector {
    /// Open and subscribe. Outside the initial network namespace this
    /// fails with ECONNREFUSED.
    pub fn open() -> Result<Connector> {
        Connector::open_configured(0, false)
    }

    /// As [`Connector::open`], with the receive buffer a configuration asked
    /// for (`process_monitor_rcv_bufs[_force]`); `bytes` 0: 1 MiB.
    pub fn open_configured(bytes: u32, force: bool) -> Result<Connector> {
        let sock = Socket::subscribe_protocol(NETLINK_CONNECTOR, CN_IDX_PROC)?;
        if bytes == 0 {
            // Bursts of forks must not overrun it; an overrun costs a rescan,
            // so a smaller buffer (the limit refused) only costs more of them.
            let _ = sock.set_recv_buffer(1 << 20);
        } else {
            sock.set_configured_recv_buffer(bytes, force)?;
        }
        sock.send_raw(&subscribe_message(1, true), "process connector subscribe")?;
        Ok(Connector { sock })
    }

    /// The next event, `Ok(None)` for a datagram of no interest; EAGAIN
    /// when drained, ENOBUFS when events were lost.
    pub fn recv(&mut self) -> Result<Option<Event>> {
        parse_event(self.sock.recv()?)
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        // Closing the socket ends the subscription anyway; this only says
        // so to the kernel at once.
        let _ = self.sock.send_raw(&subscribe_message(2, false), "process connector unsubscribe");
    }
}

impl AsRawFd for Connector {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram as the kernel builds it: `what`, then `data` words.
    pub(crate) fn event(what: u32, ack: u32, data: &[u32], tail: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; DATA_AT];
        d[4..6].copy_from_slice(&msg::NLMSG_DONE.to_ne_bytes());
        d[CN_AT..CN_AT + 4].copy_from_slice(&CN_IDX_PROC.to_ne_bytes());
        d[CN_AT + 4..CN_AT + 8].copy_from_slice(&CN_VAL_PROC.to_ne_bytes());
        d[CN_AT + 12..CN_AT + 16].copy_from_slice(&ack.to_ne_bytes());
        d[EVENT_AT..EVENT_AT + 4].copy_from_slice(&what.to_ne_bytes());
        for w in data {
            d.extend_from_slice(&w.to_ne_bytes());
        }
        d.extend_from_slice(tail);
        let payload = (d.len() - EVENT_AT) as u16;
        d[CN_AT + 16..CN_AT + 18].copy_from_slice(&payload.to_ne_bytes());
        let len = d.len() as u32;
        d[0..4].copy_from_slice(&len.to_ne_bytes());
        d
    }

    #[test]
    fn subscribe_message_layout() {
        let m = subscribe_message(7, true);
        assert_eq!(m.len(), 40);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 40);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), msg::NLMSG_DONE);
        assert_eq!(
            &m[16..24],
            &[1u32.to_ne_bytes(), 1u32.to_ne_bytes()].concat()[..],
            "CN_IDX_PROC, CN_VAL_PROC"
        );
        assert_eq!(u16::from_ne_bytes(m[32..34].try_into().unwrap()), 4);
        assert_eq!(u32::from_ne_bytes(m[36..40].try_into().unwrap()), PROC_CN_MCAST_LISTEN);
        assert_eq!(u32::from_ne_bytes(subscribe_message(8, false)[36..40].try_into().unwrap()), 2);
    }

    #[test]
    fn events_of_processes_are_read_and_threads_left_out() {
        let p = |d: Vec<u8>| parse_event(&d).unwrap();
        assert_eq!(p(event(PROC_EVENT_NONE, 2, &[0], &[])), Some(Event::Ack(0)));
        assert_eq!(p(event(PROC_EVENT_NONE, 0, &[0], &[])), None, "an ack must say it is one");
        assert_eq!(
            p(event(PROC_EVENT_FORK, 0, &[10, 10, 11, 11], &[])),
            Some(Event::Fork { parent: 10, child: 11 })
        );
        assert_eq!(p(event(PROC_EVENT_FORK, 0, &[10, 10, 12, 11], &[])), None, "a new thread");
        assert_eq!(p(event(PROC_EVENT_EXEC, 0, &[11, 11], &[])), Some(Event::Exec(11)));
        assert_eq!(p(event(PROC_EVENT_EXIT, 0, &[11, 11, 0, 17], &[])), Some(Event::Exit(11)));
        assert_eq!(p(event(PROC_EVENT_EXIT, 0, &[12, 11, 0, 17], &[])), None, "a thread ends");
        let comm = *b"worker\0\0\0\0\0\0\0\0\0\0";
        assert_eq!(p(event(PROC_EVENT_COMM, 0, &[11, 11], &comm)), Some(Event::Comm(11, b"worker".to_vec())));
        assert_eq!(p(event(0x4, 0, &[11, 11, 0, 0], &[])), None, "uid changes do not matter");
    }

    #[test]
    fn malformed_datagrams_are_errors_not_panics() {
        let good = event(PROC_EVENT_FORK, 0, &[10, 10, 11, 11], &[]);
        for cut in 0..good.len() {
            let mut d = good[..cut].to_vec();
            if d.len() >= 4 {
                d[0..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            }
            assert!(parse_event(&d).is_err(), "cut at {cut}");
        }
        let mut long = good.clone();
        long[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(parse_event(&long).is_err());
        let mut other = good;
        other[CN_AT..CN_AT + 4].copy_from_slice(&5u32.to_ne_bytes());
        assert_eq!(parse_event(&other), Ok(None), "another connector user");
    }
}
