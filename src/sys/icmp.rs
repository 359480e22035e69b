//! ICMP echo for `track_ping`: raw ICMP / ICMPv6 sockets (vigil runs as
//! root, and a raw socket needs no `ping_group_range` sysctl). The codec
//! is pure. A kernel filter passes only echo replies to the socket, and a
//! reply counts only if it comes from the probed address and echoes the
//! probe's random identifier, its sequence number and its random cookie:
//! a host on the link cannot keep a dead gateway "reachable" by spraying
//! echo replies with guessed identifiers and sequence numbers.

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::{fd, Error, Result};
use crate::vrrp::checksum::checksum;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
/// Random bytes carried in every echo request and required in its reply.
pub const COOKIE_LEN: usize = 16;

/// `ICMP_FILTER` on a raw IPv4 ICMP socket (linux/icmp.h): a bit set per
/// ICMP type the socket must not receive.
const ICMP_FILTER: i32 = 1;
/// `ICMP6_FILTER` (linux/icmpv6.h), at level IPPROTO_ICMPV6.
const ICMP6_FILTER: i32 = 1;

/// One echo request in flight: what a reply must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub dst: IpAddr,
    pub id: u16,
    pub seq: u16,
    pub cookie: [u8; COOKIE_LEN],
}

impl Probe {
    /// A probe with a fresh random cookie.
    pub fn new(dst: IpAddr, id: u16, seq: u16) -> Result<Probe> {
        let mut cookie = [0u8; COOKIE_LEN];
        random_bytes(&mut cookie)?;
        Ok(Probe { dst, id, seq, cookie })
    }
}

/// Fill `buf` from the kernel's CSPRNG: the getrandom syscall (called
/// directly: musl's libc wrapper once resolved to address 0 in the static
/// build), /dev/urandom when the syscall is missing.
pub fn random_bytes(buf: &mut [u8]) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: rest is valid for rest.len() writable bytes.
        let n = unsafe { libc::syscall(libc::SYS_getrandom, rest.as_mut_ptr(), rest.len(), 0) };
        if n > 0 {
            done += n as usize;
            continue;
        }
        let e = Error::last("getrandom");
        if e.errno() == libc::EINTR {
            continue;
        }
        use std::io::Read;
        return std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(rest))
            .map_err(|io| Error::new(io.raw_os_error().unwrap_or(libc::EIO), "read /dev/urandom"));
    }
    Ok(())
}

/// A random echo identifier for this daemon.
pub fn random_id() -> u16 {
    let mut b = [0u8; 2];
    match random_bytes(&mut b) {
        Ok(()) => u16::from_ne_bytes(b),
        // Never expected; the cookie still protects the match.
        Err(_) => (std::process::id() & 0xffff) as u16,
    }
}

/// An echo request; IPv6 leaves the checksum to the kernel.
pub fn build_echo(ipv6: bool, probe: &Probe) -> Vec<u8> {
    let mut m = vec![if ipv6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 }, 0, 0, 0];
    m.extend_from_slice(&probe.id.to_be_bytes());
    m.extend_from_slice(&probe.seq.to_be_bytes());
    m.extend_from_slice(&probe.cookie);
    if !ipv6 {
        let sum = checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    m
}

/// (identifier, sequence) of an echo reply; `msg` starts at the ICMP header.
pub fn parse_reply(ipv6: bool, msg: &[u8]) -> Option<(u16, u16)> {
    let want = if ipv6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if msg.len() < 8 || msg[0] != want || msg[1] != 0 {
        return None;
    }
    Some((u16::from_be_bytes([msg[4], msg[5]]), u16::from_be_bytes([msg[6], msg[7]])))
}

/// Whether `msg` (from the ICMP header on), received from `src`, is the
/// reply to `probe`: an echo reply of the probe's family from the probed
/// address with its identifier, sequence and cookie (and, for IPv4, a
/// valid checksum; the kernel verifies ICMPv6's).
pub fn reply_matches(probe: &Probe, src: IpAddr, msg: &[u8]) -> bool {
    let ipv6 = probe.dst.is_ipv6();
    if src != probe.dst || src.is_ipv6() != ipv6 {
        return false;
    }
    if parse_reply(ipv6, msg) != Some((probe.id, probe.seq)) {
        return false;
    }
    if !ipv6 && checksum(msg) != 0 {
        return false;
    }
    msg.get(8..8 + COOKIE_LEN) == Some(&probe.cookie[..])
}

/// A raw IPv4 ICMP socket delivers the IP header too: (source, the ICMP
/// message after the header), or `None` for a header that does not fit
/// or leaves less than an ICMP header.
pub fn strip_ipv4_header(pkt: &[u8]) -> Option<(Ipv4Addr, &[u8])> {
    let ihl = usize::from(pkt.first()? & 0x0f) * 4;
    if ihl < 20 || pkt.len() < ihl + 8 {
        return None;
    }
    Some((Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]), &pkt[ihl..]))
}

/// A non-blocking raw ICMP (or ICMPv6) socket that receives echo replies only.
pub struct EchoSocket {
    fd: OwnedFd,
    ipv6: bool,
}

impl EchoSocket {
    pub fn open(ipv6: bool) -> Result<EchoSocket> {
        let fd = if ipv6 {
            let fd = fd::socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6, "ICMPv6 echo")?;
            // A set bit blocks its type (the kernel's ICMP6_FILTER_WILLPASS).
            let mut filter = [u32::MAX; 8];
            filter[usize::from(ECHO_REPLY_V6 >> 5)] &= !(1u32 << (ECHO_REPLY_V6 & 31));
            fd::setsockopt(&fd, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &filter, "ICMP6_FILTER")?;
            fd::setsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO")?;
            fd
        } else {
            let fd = fd::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP, "ICMP echo")?;
            let filter: u32 = !(1u32 << ECHO_REPLY_V4);
            fd::setsockopt(&fd, libc::SOL_RAW, ICMP_FILTER, &filter, "ICMP_FILTER")?;
            fd::setsockopt_int(&fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1, "IP_PKTINFO")?;
            fd
        };
        Ok(EchoSocket { fd, ipv6 })
    }

    /// Send `probe`, out of interface `ifindex` when it is not 0 (an
    /// `IP(V6)_PKTINFO` control message, as SO_BINDTODEVICE would, per
    /// packet: one socket serves every track_ping); `ifindex` is also the
    /// scope of a link-local IPv6 destination.
    pub fn send_echo(&self, probe: &Probe, ifindex: u32) -> Result<()> {
        let msg = build_echo(self.ipv6, probe);
        let dst = probe.dst;
        let what = format!("echo request to {dst}");
        // 8-byte aligned room for one in(6)_pktinfo control message.
        let mut control = [0u64; 8];
        let mut iov = libc::iovec { iov_base: msg.as_ptr() as *mut libc::c_void, iov_len: msg.len() };
        // SAFETY: msghdr is plain data; the pointers set below outlive the call.
        let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        let (mut sin, mut sin6) = (None, None);
        match (dst, self.ipv6) {
            (IpAddr::V4(a), false) => {
                let sa = sin.insert(fd::sockaddr_in(a));
                hdr.msg_name = (sa as *mut libc::sockaddr_in).cast();
                hdr.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            (IpAddr::V6(a), true) => {
                let sa = sin6.insert(fd::sockaddr_in6(a, ifindex));
                hdr.msg_name = (sa as *mut libc::sockaddr_in6).cast();
                hdr.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
            _ => return Err(Error::invalid(format!("{what}: wrong address family for this socket"))),
        }
        if ifindex != 0 {
            let (level, ty, len) = if self.ipv6 {
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, mem::size_of::<libc::in6_pktinfo>())
            } else {
                (libc::IPPROTO_IP, libc::IP_PKTINFO, mem::size_of::<libc::in_pktinfo>())
            };
            hdr.msg_control = control.as_mut_ptr().cast();
            // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic.
            hdr.msg_controllen = unsafe { libc::CMSG_SPACE(len as u32) } as _;
            // SAFETY: control holds CMSG_SPACE(len) bytes (checked below); the
            // header and its data are written within it.
            unsafe {
                assert!(hdr.msg_controllen as usize <= mem::size_of_val(&control));
                let c = libc::CMSG_FIRSTHDR(&hdr);
                (*c).cmsg_level = level;
                (*c).cmsg_type = ty;
                (*c).cmsg_len = libc::CMSG_LEN(len as u32) as _;
                let data = libc::CMSG_DATA(c);
                if self.ipv6 {
                    let mut pi: libc::in6_pktinfo = mem::zeroed();
                    pi.ipi6_ifindex = ifindex;
                    std::ptr::write_unaligned(data.cast(), pi);
                } else {
                    let mut pi: libc::in_pktinfo = mem::zeroed();
                    pi.ipi_ifindex = ifindex as i32;
                    std::ptr::write_unaligned(data.cast(), pi);
                }
            }
        }
        // SAFETY: hdr describes valid buffers for the call.
        let rc = unsafe { libc::sendmsg(self.fd.as_raw_fd(), &hdr, 0) };
        if rc < 0 {
            return Err(Error::last(format!("sendmsg({what})")));
        }
        Ok(())
    }

    /// One received ICMP message: (source, arrival interface index, message
    /// from the ICMP header on). `Ok(None)` for a truncated packet; EAGAIN
    /// when drained.
    pub fn recv(&self) -> Result<Option<(IpAddr, u32, Vec<u8>)>> {
        let mut buf = [0u8; 1500];
        let mut control = [0u64; 8];
        // SAFETY: sockaddr_storage is plain data; all-zero is valid.
        let mut sa: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        // SAFETY: msghdr is plain data; the pointers set below outlive the call.
        let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
        hdr.msg_name = (&mut sa as *mut libc::sockaddr_storage).cast();
        hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = control.as_mut_ptr().cast();
        hdr.msg_controllen = mem::size_of_val(&control) as _;
        // SAFETY: hdr describes valid, writable buffers.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut hdr, 0) };
        if n < 0 {
            return Err(Error::last("receive echo reply"));
        }
        let cmsgs = fd::parse_cmsgs(&hdr);
        let pkt = &buf[..n as usize];
        let (src, ifindex, msg) = if self.ipv6 {
            // SAFETY: an AF_INET6 socket fills a sockaddr_in6.
            let sin6: libc::sockaddr_in6 = unsafe { mem::transmute_copy(&sa) };
            let ifindex = cmsgs.pktinfo6.map_or(0, |(_, i)| i);
            (IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)), ifindex, pkt)
        } else {
            let Some((src, msg)) = strip_ipv4_header(pkt) else { return Ok(None) };
            (IpAddr::V4(src), cmsgs.pktinfo4_ifindex.unwrap_or(0), msg)
        };
        Ok(Some((src, ifindex, msg.to_vec())))
    }
}

impl AsRawFd for EchoSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for EchoSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(dst: IpAddr) -> Probe {
        Probe { dst, id: 0x1234, seq: 7, cookie: *b"0123456789abcdef" }
    }

    /// The reply a well-behaved host sends to `m`.
    fn reply_to(mut m: Vec<u8>) -> Vec<u8> {
        let ipv6 = m[0] == ECHO_REQUEST_V6;
        m[0] = if ipv6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
        if !ipv6 {
            m[2..4].copy_from_slice(&[0, 0]);
            let sum = checksum(&m);
            m[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        m
    }

    #[test]
    fn echo_request_has_a_valid_checksum() {
        let p = probe(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)));
        let m = build_echo(false, &p);
        assert_eq!(&m[..2], &[8, 0]);
        assert_eq!(&m[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(&m[8..], b"0123456789abcdef");
        assert_eq!(checksum(&m), 0, "a message with its checksum sums to zero");
        assert_eq!(build_echo(true, &p)[..4], [128, 0, 0, 0]);
    }

    #[test]
    fn replies_are_parsed_and_others_ignored() {
        let p = probe(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)));
        let r = build_echo(false, &p);
        assert_eq!(parse_reply(false, &r), None, "a request is not a reply");
        let r = reply_to(r);
        assert_eq!(parse_reply(false, &r), Some((0x1234, 7)));
        assert_eq!(parse_reply(false, &r[..5]), None);
        let r6 = reply_to(build_echo(true, &p));
        assert_eq!(parse_reply(true, &r6), Some((0x1234, 7)));
        assert_eq!(parse_reply(false, &r6), None);
    }

    #[test]
    fn icmp_reply_matcher_accepts_only_the_genuine_reply() {
        let gw4 = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
        let gw6 = IpAddr::V6("2001:db8::1".parse().unwrap());
        for gw in [gw4, gw6] {
            let p = probe(gw);
            let good = reply_to(build_echo(gw.is_ipv6(), &p));
            assert!(reply_matches(&p, gw, &good), "{gw}");
            // From another address.
            let other = if gw.is_ipv6() { gw4 } else { IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)) };
            assert!(!reply_matches(&p, other, &good));
            // Another identifier, sequence or cookie; a request; truncated; no cookie.
            for bad in [
                Probe { id: 0x1235, ..p },
                Probe { seq: 8, ..p },
                Probe { cookie: *b"0123456789abcdeF", ..p },
            ] {
                assert!(!reply_matches(&p, gw, &reply_to(build_echo(gw.is_ipv6(), &bad))), "{bad:?}");
            }
            assert!(!reply_matches(&p, gw, &build_echo(gw.is_ipv6(), &p)), "a request");
            assert!(!reply_matches(&p, gw, &good[..good.len() - 1]), "truncated");
            assert!(!reply_matches(&p, gw, &good[..8]), "no payload");
            // The old fixed payload with the right id and sequence.
            let mut old = good[..8].to_vec();
            old.extend_from_slice(b"vigilpng");
            assert!(!reply_matches(&p, gw, &reply_to(old)), "the old payload");
        }
        // IPv4: a corrupted checksum.
        let p = probe(gw4);
        let mut bad = reply_to(build_echo(false, &p));
        bad[2] ^= 1;
        assert!(!reply_matches(&p, gw4, &bad));
        // A longer payload (padding) after the cookie is still the reply.
        let mut long = build_echo(false, &p);
        long.extend_from_slice(&[0; 4]);
        assert!(reply_matches(&p, gw4, &reply_to(long)));
    }

    #[test]
    fn icmp_random_bytes_differ() {
        let (mut a, mut b) = ([0u8; COOKIE_LEN], [0u8; COOKIE_LEN]);
        random_bytes(&mut a).unwrap();
        random_bytes(&mut b).unwrap();
        assert_ne!(a, b);
        let p = Probe::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 1, 2).unwrap();
        assert_ne!(p.cookie, [0; COOKIE_LEN]);
    }
}
