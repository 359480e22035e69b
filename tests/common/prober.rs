//! ICMP echo every 10 ms from inside a namespace, recording which probes were answered.

use std::io;
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Netns;

/// Time between probes.
pub const INTERVAL: Duration = Duration::from_millis(10);
/// A reply later than this counts as lost: the address was not reachable when probed.
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, Debug)]
struct Probe {
    sent: Instant,
    rtt: Option<Duration>,
}

/// A thread in the prober's namespace pinging one address over a datagram ICMP socket
/// (no raw socket, no `ping` output parsing). Stops on drop.
pub struct Prober {
    probes: Arc<Mutex<Vec<Probe>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The timeline of one [`Prober`] run.
#[derive(Clone, Debug)]
pub struct ProbeReport {
    probes: Vec<Probe>,
}

impl Prober {
    /// Start probing `target` from inside `ns` (its `net.ipv4.ping_group_range` is opened up
    /// so that datagram ICMP sockets are allowed).
    pub fn start(ns: &Netns, target: IpAddr) -> Prober {
        ns.sysctl(&["net.ipv4.ping_group_range=0 2147483647"]);
        let probes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let name = ns.name().to_string();
        let (probes2, stop2) = (probes.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let sock = super::netns::setns(&name).and_then(|()| EchoSocket::connect(target));
            match sock {
                Ok(sock) => {
                    let _ = tx.send(Ok(()));
                    probe_loop(&sock, &probes2, &stop2);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("prober in {}: {e}", ns.name()),
            Err(_) => panic!("prober thread in {} died", ns.name()),
        }
        Prober { probes, stop, thread: Some(thread) }
    }

    /// The probes so far whose fate is known (answered, or older than [`REPLY_TIMEOUT`]).
    pub fn report(&self) -> ProbeReport {
        let now = Instant::now();
        let probes = self.probes.lock().unwrap_or_else(|p| p.into_inner());
        let settled = probes.iter().filter(|p| p.rtt.is_some() || now - p.sent >= REPLY_TIMEOUT);
        ProbeReport { probes: settled.copied().collect() }
    }

    /// Answered probes so far.
    pub fn answered(&self) -> usize {
        self.probes.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|p| p.rtt.is_some()).count()
    }

    /// Wait until `n` more probes than now have been answered.
    pub fn wait_answers(&self, n: usize, timeout: Duration) -> bool {
        let goal = self.answered() + n;
        super::wait_until(timeout, Duration::from_millis(10), || self.answered() >= goal)
    }

    /// Stop sending, wait [`REPLY_TIMEOUT`] for the last replies, and return the full timeline.
    pub fn stop(mut self) -> ProbeReport {
        self.halt();
        let probes = self.probes.lock().unwrap_or_else(|p| p.into_inner()).clone();
        ProbeReport { probes }
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.halt();
    }
}

impl ProbeReport {
    pub fn sent(&self) -> usize {
        self.probes.len()
    }

    pub fn answered(&self) -> usize {
        self.probes.iter().filter(|p| p.rtt.is_some()).count()
    }

    pub fn lost(&self) -> usize {
        self.sent() - self.answered()
    }

    /// Probes sent in `[from, to)` that were not answered.
    pub fn lost_between(&self, from: Instant, to: Instant) -> usize {
        self.probes.iter().filter(|p| p.sent >= from && p.sent < to && p.rtt.is_none()).count()
    }

    /// The longest time the target was unreachable: the largest distance between the send
    /// times of consecutive answered probes. [`INTERVAL`] when nothing was lost; lost probes at
    /// the start or end count up to one interval before the first / after the last probe.
    pub fn longest_gap(&self) -> Duration {
        let (Some(first), Some(last)) = (self.probes.first(), self.probes.last()) else {
            return Duration::ZERO;
        };
        let answered = self.probes.iter().filter(|p| p.rtt.is_some()).map(|p| p.sent);
        let mut edges = vec![first.sent - INTERVAL];
        edges.extend(answered);
        edges.push(last.sent + INTERVAL);
        edges.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
    }

    /// The longest round-trip time among answered probes.
    pub fn max_rtt(&self) -> Duration {
        self.probes.iter().filter_map(|p| p.rtt).max().unwrap_or_default()
    }
}

fn probe_loop(sock: &EchoSocket, probes: &Mutex<Vec<Probe>>, stop: &AtomicBool) {
    let mut next = Instant::now();
    let mut stopped_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        match stopped_at {
            Some(t) if now - t >= REPLY_TIMEOUT => return,
            None if stop.load(Ordering::Relaxed) => stopped_at = Some(now),
            _ => {}
        }
        if stopped_at.is_none() && now >= next {
            let mut probes = probes.lock().unwrap_or_else(|p| p.into_inner());
            // A send error (e.g. no neighbour) is just an unanswered probe.
            let _ = sock.send(probes.len() as u16);
            probes.push(Probe { sent: now, rtt: None });
            next = (next + INTERVAL).max(now);
        }
        let wait = next.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        if sock.readable(wait) {
            while let Some(seq) = sock.recv() {
                let now = Instant::now();
                let mut probes = probes.lock().unwrap_or_else(|p| p.into_inner());
                // The newest probe with this 16-bit sequence number.
                let newest = probes.len().saturating_sub(1);
                let idx = newest.checked_sub((newest as u16).wrapping_sub(seq) as usize);
                if let Some(p) = idx.and_then(|i| probes.get_mut(i)).filter(|p| p.rtt.is_none()) {
                    if now - p.sent < REPLY_TIMEOUT {
                        p.rtt = Some(now - p.sent);
                    }
                }
            }
        }
    }
}

/// A connected `SOCK_DGRAM` ICMP/ICMPv6 socket: the kernel fills in the identifier and the
/// checksum and delivers only replies to our own echoes.
struct EchoSocket {
    fd: OwnedFd,
    v6: bool,
}

impl EchoSocket {
    fn connect(target: IpAddr) -> io::Result<EchoSocket> {
        let (domain, proto) = match target {
            IpAddr::V4(_) => (libc::AF_INET, libc::IPPROTO_ICMP),
            IpAddr::V6(_) => (libc::AF_INET6, libc::IPPROTO_ICMPV6),
        };
        let flags = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: plain socket(2).
        let fd = unsafe { libc::socket(domain, flags, proto) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: zeroed sockaddrs are valid; we fill family, address (port 0).
        let rc = unsafe {
            match target {
                IpAddr::V4(a) => {
                    let mut sa: libc::sockaddr_in = std::mem::zeroed();
                    sa.sin_family = libc::AF_INET as libc::sa_family_t;
                    sa.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
                    let len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
                    libc::connect(fd.as_raw_fd(), &sa as *const _ as *const libc::sockaddr, len)
                }
                IpAddr::V6(a) => {
                    let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                    sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                    sa.sin6_addr.s6_addr = a.octets();
                    let len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
                    libc::connect(fd.as_raw_fd(), &sa as *const _ as *const libc::sockaddr, len)
                }
            }
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(EchoSocket { fd, v6: target.is_ipv6() })
    }

    fn send(&self, seq: u16) -> io::Result<()> {
        let mut msg = [0u8; 24];
        msg[0] = if self.v6 { 128 } else { 8 }; // echo request
        msg[6..8].copy_from_slice(&seq.to_be_bytes());
        msg[8..].copy_from_slice(b"vigil-test-probe");
        // SAFETY: valid buffer and length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn readable(&self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = timeout.as_millis().min(1000) as libc::c_int;
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, ms) > 0 }
    }

    /// The sequence number of the next echo reply waiting, if any.
    fn recv(&self) -> Option<u16> {
        loop {
            let mut buf = [0u8; 1500];
            // SAFETY: valid buffer and length.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return None;
            }
            let reply = if self.v6 { 129 } else { 0 };
            if n >= 8 && buf[0] == reply {
                return Some(u16::from_be_bytes([buf[6], buf[7]]));
            }
        }
    }
}
