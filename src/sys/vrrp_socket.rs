//! Raw IPPROTO_VRRP (112) sockets for IPv4 and IPv6.
//!
//! The payload is opaque here: `send_to` takes the finished VRRP message
//! and `recv` fills a caller buffer and says where the message is
//! (`recv_batch` fills a [`RecvBatch`] with several at once).
//!
//! IPv4: the kernel builds the IP header (no IP_HDRINCL), with TOS 0xc0,
//! TTL 255 (or the configured unicast TTL) and its own incrementing IP ID.
//! A raw IPv4 socket receives the whole packet, header included, so
//! [`RxMeta`] is read from that header (the TTL check is the caller's).
//! In multicast mode the source address is set through IP_MULTICAST_IF
//! rather than bind(2), because a raw IPv4 socket bound to an address only
//! receives packets addressed to it, which would drop 224.0.0.18.
//!
//! AH (`auth_type AH`, IPv4 only): a socket of IP protocol 51 with
//! IP_HDRINCL, since the AH ICV covers the IP header (identification and
//! total length included): `send_to` then takes the whole datagram. It
//! receives only AH packets, so AH instances get sockets of their own, as
//! in keepalived's sockpool.
//!
//! IPv6: IPV6_CHECKSUM at offset 6 makes the kernel fill in the VRRP
//! checksum (pseudo-header included) on send and verify it on receive,
//! silently dropping packets with a bad checksum; the caller may leave the
//! field zero. Hop limit and destination come from IPV6_HOPLIMIT and
//! IPV6_PKTINFO control messages.

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr;

use super::fd;
use super::{Error, Result};

pub const IPPROTO_VRRP: i32 = 112;
pub const IPPROTO_AH: i32 = 51;
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// DSCP CS6 ("internetwork control"), as keepalived sends.
const TOS_CS6: i32 = 0xc0;
/// Offset of the checksum in the VRRP header.
const VRRP_CHECKSUM_OFFSET: i32 = 6;

/// Where a received advertisement came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMeta {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl_or_hop_limit: u8,
    pub ifindex: u32,
    /// IP protocol: 112, or 51 when the VRRP message follows an AH header.
    pub protocol: u8,
}

/// A received packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// IPv4: the whole datagram, header included, in `buf[..len]`, as the
    /// kernel handed it over; the protocol core parses and checks the
    /// header (`vrrp::ipv4`), so there is one IPv4 parser and it is fuzzed.
    /// The socket is bound to its interface, so it is the one the packet
    /// came in on; no IP_PKTINFO is asked for (a backup reads thousands of
    /// adverts a second, and each control message costs the kernel a copy).
    V4 { len: usize },
    /// IPv6: the kernel strips the header; what it said is in `meta`, and
    /// the VRRP message is `buf[..len]`.
    V6 { meta: RxMeta, len: usize },
}

/// How to open a socket on one interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketConfig {
    pub ifindex: u32,
    /// The multicast group to join; None for unicast mode.
    pub group: Option<IpAddr>,
    /// `mcast_src_ip` / `unicast_src_ip`; for IPv6 a link-local address
    /// (bound with the interface as scope id).
    pub src: Option<IpAddr>,
    /// TTL / hop limit of unicast packets (`unicast_ttl`); multicast always uses 255.
    pub unicast_ttl: u8,
    /// IPv4 AH: protocol 51 and IP_HDRINCL (the caller builds the datagram).
    pub ah: bool,
}

impl SocketConfig {
    pub fn multicast_v4(ifindex: u32) -> Self {
        SocketConfig {
            ifindex,
            group: Some(IpAddr::V4(VRRP_GROUP_V4)),
            src: None,
            unicast_ttl: 255,
            ah: false,
        }
    }

    pub fn multicast_v6(ifindex: u32) -> Self {
        SocketConfig {
            ifindex,
            group: Some(IpAddr::V6(VRRP_GROUP_V6)),
            src: None,
            unicast_ttl: 255,
            ah: false,
        }
    }

    pub fn unicast(ifindex: u32) -> Self {
        SocketConfig { ifindex, group: None, src: None, unicast_ttl: 255, ah: false }
    }
}

/// A non-blocking raw VRRP socket bound to one interface.
pub struct VrrpSocket {
    fd: OwnedFd,
    ipv6: bool,
    ifindex: u32,
}

impl VrrpSocket {
    pub fn open_v4(cfg: &SocketConfig) -> Result<VrrpSocket> {
        let src = match cfg.src {
            None => None,
            Some(IpAddr::V4(a)) => Some(a),
            Some(a) => return Err(Error::invalid(format!("IPv4 VRRP socket with source {a}"))),
        };
        let (proto, what) = if cfg.ah { (IPPROTO_AH, "IPv4 VRRP AH") } else { (IPPROTO_VRRP, "IPv4 VRRP") };
        let fd = fd::socket(libc::AF_INET, libc::SOCK_RAW, proto, what)?;
        fd::bind_to_device(&fd, &fd::ifname(cfg.ifindex)?)?;
        let ip = libc::IPPROTO_IP;
        if cfg.ah {
            fd::setsockopt_int(&fd, ip, libc::IP_HDRINCL, 1, "IP_HDRINCL")?;
        }
        fd::setsockopt_int(&fd, ip, libc::IP_TOS, TOS_CS6, "IP_TOS")?;
        fd::setsockopt_int(&fd, ip, libc::IP_TTL, cfg.unicast_ttl as i32, "IP_TTL")?;
        fd::setsockopt_int(&fd, ip, libc::IP_MULTICAST_TTL, 255, "IP_MULTICAST_TTL")?;
        fd::setsockopt_int(&fd, ip, libc::IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP")?;
        fd::setsockopt_int(&fd, ip, libc::IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL")?;
        let out_if = mreqn(Ipv4Addr::UNSPECIFIED, src.unwrap_or(Ipv4Addr::UNSPECIFIED), cfg.ifindex);
        fd::setsockopt(&fd, ip, libc::IP_MULTICAST_IF, &out_if, "IP_MULTICAST_IF")?;
        match cfg.group {
            Some(IpAddr::V4(g)) => {
                let join = mreqn(g, Ipv4Addr::UNSPECIFIED, cfg.ifindex);
                fd::setsockopt(&fd, ip, libc::IP_ADD_MEMBERSHIP, &join, &format!("IP_ADD_MEMBERSHIP {g}"))?;
            }
            Some(g) => return Err(Error::invalid(format!("IPv4 VRRP socket with group {g}"))),
            None => {
                if let Some(a) = src {
                    fd::bind(&fd, &fd::sockaddr_in(a), &a.to_string())?;
                }
            }
        }
        Ok(VrrpSocket { fd, ipv6: false, ifindex: cfg.ifindex })
    }

    pub fn open_v6(cfg: &SocketConfig) -> Result<VrrpSocket> {
        let src = match cfg.src {
            None => None,
            Some(IpAddr::V6(a)) => Some(a),
            Some(a) => return Err(Error::invalid(format!("IPv6 VRRP socket with source {a}"))),
        };
        if cfg.ah {
            return Err(Error::invalid("AH authentication is IPv4 only".to_string()));
        }
        let fd = fd::socket(libc::AF_INET6, libc::SOCK_RAW, IPPROTO_VRRP, "IPv6 VRRP")?;
        fd::bind_to_device(&fd, &fd::ifname(cfg.ifindex)?)?;
        let ip6 = libc::IPPROTO_IPV6;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET, "IPV6_CHECKSUM")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_TCLASS, TOS_CS6, "IPV6_TCLASS")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_UNICAST_HOPS, cfg.unicast_ttl as i32, "IPV6_UNICAST_HOPS")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_MULTICAST_IF, cfg.ifindex as i32, "IPV6_MULTICAST_IF")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT")?;
        match cfg.group {
            Some(IpAddr::V6(g)) => {
                let join = libc::ipv6_mreq { ipv6mr_multiaddr: in6_addr(g), ipv6mr_interface: cfg.ifindex };
                fd::setsockopt(&fd, ip6, libc::IPV6_ADD_MEMBERSHIP, &join, &format!("IPV6_JOIN_GROUP {g}"))?;
            }
            Some(g) => return Err(Error::invalid(format!("IPv6 VRRP socket with group {g}"))),
            None => {}
        }
        // Unlike IPv4, a bound raw IPv6 socket still receives joined groups.
        if let Some(a) = src {
            let scope = if is_link_scoped(a) { cfg.ifindex } else { 0 };
            fd::bind(&fd, &fd::sockaddr_in6(a, scope), &a.to_string())?;
        }
        Ok(VrrpSocket { fd, ipv6: true, ifindex: cfg.ifindex })
    }

    /// SO_RCVBUF of the receive side (`vrrp_rx_bufs_policy`).
    pub fn set_recv_buffer(&self, bytes: u32) -> Result<()> {
        fd::set_recv_buffer(&self.fd, bytes, false)
    }

    pub fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    /// Send one VRRP message to `dst` (the group or a unicast peer).
    pub fn send_to(&self, dst: IpAddr, payload: &[u8]) -> Result<()> {
        match (dst, self.ipv6) {
            (IpAddr::V4(a), false) => {
                fd::sendto(&self.fd, payload, &fd::sockaddr_in(a), format_args!("VRRP to {dst}"))
            }
            (IpAddr::V6(a), true) => {
                let scope = if is_link_scoped(a) { self.ifindex } else { 0 };
                fd::sendto(&self.fd, payload, &fd::sockaddr_in6(a, scope), format_args!("VRRP to {dst}"))
            }
            _ => Err(Error::invalid(format!("VRRP to {dst}: wrong address family for this socket"))),
        }
    }

    /// Receive one packet into `buf`. EAGAIN (see [`Error::is_would_block`])
    /// means drained; a packet larger than `buf` is an EMSGSIZE error.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Received> {
        let mut control = Control::default();
        // SAFETY: sockaddr_storage is plain data; all-zero is valid.
        let mut from: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let mut msg = msghdr(&mut from, &mut iov, &mut control);
        let n = loop {
            // SAFETY: msg describes valid, writable buffers.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, 0) };
            if n >= 0 {
                break n as usize;
            }
            let e = Error::last("VRRP recv");
            if e.errno() != libc::EINTR {
                return Err(e);
            }
        };
        self.received(&msg, &from, n, buf.len())
    }

    /// Receive up to [`RECV_BATCH`] packets with one recvmmsg(2) call into
    /// `batch` (a backup hears every master's adverts: thousands a second
    /// with a few hundred instances). Returns how many arrived; fewer than
    /// [`RECV_BATCH`] means the socket is drained. EAGAIN (see
    /// [`Error::is_would_block`]) when none was waiting.
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> Result<usize> {
        batch.got.clear();
        let RecvBatch { bufs, from, control, got } = batch;
        let mut iovs: [libc::iovec; RECV_BATCH] = std::array::from_fn(|k| libc::iovec {
            iov_base: bufs[k * RECV_SLOT..].as_mut_ptr().cast(),
            iov_len: RECV_SLOT,
        });
        let mut msgs: [libc::mmsghdr; RECV_BATCH] = std::array::from_fn(|k| {
            let mut msg_hdr = msghdr(&mut from[k], &mut iovs[k], &mut control[k]);
            if !self.ipv6 {
                // The source is in the IPv4 header and no control message is
                // asked for: the kernel need not copy either out.
                msg_hdr.msg_name = ptr::null_mut();
                msg_hdr.msg_namelen = 0;
                msg_hdr.msg_control = ptr::null_mut();
                msg_hdr.msg_controllen = 0;
            }
            libc::mmsghdr { msg_hdr, msg_len: 0 }
        });
        let n = loop {
            // SAFETY: every header describes valid, writable buffers; the
            // socket is non-blocking, so the call takes what is waiting.
            let n = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    RECV_BATCH as _,
                    0 as _,
                    ptr::null_mut(),
                )
            };
            if n >= 0 {
                break n as usize;
            }
            let e = Error::last("VRRP recv");
            if e.errno() != libc::EINTR {
                return Err(e);
            }
        };
        for (m, f) in msgs.iter().zip(from.iter()).take(n) {
            got.push(self.received(&m.msg_hdr, f, m.msg_len as usize, RECV_SLOT));
        }
        Ok(n)
    }

    /// What a received message (`n` bytes, in a buffer of `room`) is.
    fn received(
        &self,
        msg: &libc::msghdr,
        from: &libc::sockaddr_storage,
        n: usize,
        room: usize,
    ) -> Result<Received> {
        if msg.msg_flags & libc::MSG_TRUNC != 0 {
            return Err(Error::new(libc::EMSGSIZE, format!("VRRP recv: packet larger than {room} bytes")));
        }
        let len = n.min(room);
        if self.ipv6 {
            let cmsgs = fd::parse_cmsgs(msg);
            let src = sockaddr_v6(from).ok_or_else(|| Error::malformed("VRRP recv: no IPv6 source"))?;
            let (dst, ifindex) =
                cmsgs.pktinfo6.ok_or_else(|| Error::malformed("VRRP recv: no IPV6_PKTINFO"))?;
            let hops = cmsgs.hop_limit.ok_or_else(|| Error::malformed("VRRP recv: no IPV6_HOPLIMIT"))?;
            let meta = RxMeta {
                src: IpAddr::V6(src),
                dst: IpAddr::V6(dst),
                ttl_or_hop_limit: hops,
                ifindex,
                protocol: IPPROTO_VRRP as u8,
            };
            Ok(Received::V6 { meta, len })
        } else {
            Ok(Received::V4 { len })
        }
    }
}

/// Packets one [`VrrpSocket::recv_batch`] call takes at most.
pub const RECV_BATCH: usize = 16;
/// Room for one packet of a batch. The largest advert is IPv6 with 255
/// addresses and an auth_hmac trailer (8 + 255 x 16 + 28 = 4,116 bytes;
/// IPv4 with a full header, AH and 255 addresses is 1,120); a longer
/// packet is an EMSGSIZE error.
pub const RECV_SLOT: usize = 4352;

/// Room for IPV6_PKTINFO and IPV6_HOPLIMIT, 8-byte aligned for cmsghdr.
type Control = [u64; 16];

/// The buffers of [`VrrpSocket::recv_batch`], kept from call to call.
pub struct RecvBatch {
    bufs: Vec<u8>,
    from: [libc::sockaddr_storage; RECV_BATCH],
    control: [Control; RECV_BATCH],
    got: Vec<Result<Received>>,
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch {
            bufs: vec![0; RECV_BATCH * RECV_SLOT],
            // SAFETY: sockaddr_storage is plain data; all-zero is valid.
            from: unsafe { mem::zeroed() },
            control: [Control::default(); RECV_BATCH],
            got: Vec::with_capacity(RECV_BATCH),
        }
    }
}

impl RecvBatch {
    /// Packet `k` of the last call: what it is, and its slot (the message
    /// is `slot[..len]`, as `recv` puts it in its buffer).
    pub fn get(&self, k: usize) -> Option<(&Result<Received>, &[u8])> {
        let got = self.got.get(k)?;
        Some((got, &self.bufs[k * RECV_SLOT..(k + 1) * RECV_SLOT]))
    }
}

/// A msghdr for one packet: source address, one buffer, control messages.
fn msghdr(from: &mut libc::sockaddr_storage, iov: &mut libc::iovec, control: &mut Control) -> libc::msghdr {
    // SAFETY: msghdr is plain data; the pointers set below are the caller's to keep alive.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (from as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of::<Control>() as _;
    msg
}

fn sockaddr_v6(sa: &libc::sockaddr_storage) -> Option<Ipv6Addr> {
    if sa.ss_family as i32 != libc::AF_INET6 {
        return None;
    }
    // SAFETY: the family says the storage holds a sockaddr_in6, which fits in it.
    let sin6: libc::sockaddr_in6 =
        unsafe { ptr::read_unaligned((sa as *const libc::sockaddr_storage).cast()) };
    Some(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
}

fn mreqn(group: Ipv4Addr, local: Ipv4Addr, ifindex: u32) -> libc::ip_mreqn {
    libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: u32::from_ne_bytes(group.octets()) },
        imr_address: libc::in_addr { s_addr: u32::from_ne_bytes(local.octets()) },
        imr_ifindex: ifindex as i32,
    }
}

fn in6_addr(a: Ipv6Addr) -> libc::in6_addr {
    libc::in6_addr { s6_addr: a.octets() }
}

/// Link-local unicast and link/interface-local multicast need a scope id.
fn is_link_scoped(a: Ipv6Addr) -> bool {
    let s = a.segments()[0];
    s & 0xffc0 == 0xfe80 || (s & 0xff00 == 0xff00 && matches!(s & 0x000f, 1 | 2))
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// `unicast_ttl` is the TTL of the socket's unicast adverts (root: raw socket).
    #[test]
    fn unicast_ttl_sets_the_socket_ttl() {
        let cfg = SocketConfig { ifindex: 1, group: None, src: None, unicast_ttl: 7, ah: false };
        let sock = VrrpSocket::open_v4(&cfg).expect("raw VRRP socket on lo (as root)");
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: v and len are valid for getsockopt to write.
        let rc = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_TTL,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!((rc, v), (0, 7));
    }

    #[test]
    fn link_scope() {
        assert!(is_link_scoped("fe80::1".parse().unwrap()));
        assert!(is_link_scoped(VRRP_GROUP_V6));
        assert!(!is_link_scoped("2001:db8::1".parse().unwrap()));
        assert!(!is_link_scoped("ff05::2".parse().unwrap()));
    }
}
