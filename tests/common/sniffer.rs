//! Every VRRP advert seen on a host's interface, timestamped on the test's clock: what a
//! capture file cannot give while the test is still deciding what to do next.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Netns;

/// One IPv4 VRRP advert as it crossed the wire.
#[derive(Clone, Copy, Debug)]
pub struct SeenAdvert {
    pub at: Instant,
    pub src: Ipv4Addr,
    pub vrid: u8,
    pub priority: u8,
}

/// The seen adverts' IPv4 datagrams as they crossed the wire (for replays).
type Datagrams = Mutex<Vec<(Instant, Ipv4Addr, Vec<u8>)>>;

/// A thread reading an `AF_PACKET` socket on one interface of a namespace. Stops on drop.
pub struct AdvertSniffer {
    seen: Arc<Mutex<Vec<SeenAdvert>>>,
    datagrams: Arc<Datagrams>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AdvertSniffer {
    pub fn start(ns: &Netns, iface: &str) -> AdvertSniffer {
        let fd =
            ns.enter(|| open(iface)).unwrap_or_else(|e| panic!("sniffer on {iface} in {}: {e}", ns.name()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let datagrams = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, datagrams2, stop2) = (seen.clone(), datagrams.clone(), stop.clone());
        let thread = std::thread::spawn(move || read_loop(&fd, &seen2, &datagrams2, &stop2));
        AdvertSniffer { seen, datagrams, stop, thread: Some(thread) }
    }

    /// The whole IPv4 datagrams (header included) of the adverts from `src` seen after `after`.
    pub fn datagrams_after(&self, src: Ipv4Addr, after: Instant) -> Vec<Vec<u8>> {
        let all = self.datagrams.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().filter(|(at, s, _)| *s == src && *at > after).map(|(_, _, d)| d.clone()).collect()
    }

    /// Every advert so far.
    pub fn seen(&self) -> Vec<SeenAdvert> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The adverts from `src` seen after `after`.
    pub fn adverts_after(&self, src: Ipv4Addr, after: Instant) -> Vec<SeenAdvert> {
        self.seen().into_iter().filter(|a| a.src == src && a.at > after).collect()
    }

    /// Wait for an advert from `src` later than `after`; returns it.
    pub fn wait_from(&self, src: Ipv4Addr, after: Instant, timeout: Duration) -> Option<SeenAdvert> {
        let mut found = None;
        super::wait_until(timeout, Duration::from_millis(1), || {
            found = self.adverts_after(src, after).first().copied();
            found.is_some()
        });
        found
    }
}

impl Drop for AdvertSniffer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn open(iface: &str) -> io::Result<OwnedFd> {
    let proto = (libc::ETH_P_IP as u16).to_be();
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, proto.into()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh fd owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let name = std::ffi::CString::new(iface).expect("interface name");
    // SAFETY: NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zeroed sockaddr_ll is valid; family, protocol and index set.
    let rc = unsafe {
        let mut sa: libc::sockaddr_ll = std::mem::zeroed();
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = proto;
        sa.sll_ifindex = index as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        libc::bind(fd.as_raw_fd(), &sa as *const _ as *const libc::sockaddr, len)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

fn read_loop(fd: &OwnedFd, seen: &Mutex<Vec<SeenAdvert>>, datagrams: &Datagrams, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 50) } <= 0 {
            continue;
        }
        // SAFETY: valid buffer and length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        let at = Instant::now();
        let Ok(n) = usize::try_from(n) else { continue };
        let p = &buf[..n];
        let ihl = usize::from(p.first().map_or(0, |b| b & 0x0f)) * 4;
        if n < ihl + 8 || ihl < 20 || p[9] != 112 {
            continue;
        }
        let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
        let (vrid, priority) = (p[ihl + 1], p[ihl + 2]);
        seen.lock().unwrap_or_else(|e| e.into_inner()).push(SeenAdvert { at, src, vrid, priority });
        datagrams.lock().unwrap_or_else(|e| e.into_inner()).push((at, src, p.to_vec()));
    }
}
