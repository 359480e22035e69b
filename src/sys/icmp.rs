//! ICMP echo for `track_ping`: raw ICMP / ICMPv6 sockets (vigil runs as
//! root, and a raw socket needs no `ping_group_range` sysctl). The codec
//! is pure; replies are matched by identifier and sequence number.

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::{fd, Error, Result};

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const PAYLOAD: &[u8; 8] = b"vigilpng";

/// An echo request; IPv6 leaves the checksum to the kernel.
pub fn build_echo(ipv6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![if ipv6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 }, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(PAYLOAD);
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

/// The Internet checksum (RFC 1071).
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A non-blocking raw ICMP (or ICMPv6) socket.
pub struct EchoSocket {
    fd: OwnedFd,
    ipv6: bool,
}

impl EchoSocket {
    pub fn open(ipv6: bool) -> Result<EchoSocket> {
        let fd = if ipv6 {
            fd::socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6, "ICMPv6 echo")?
        } else {
            fd::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP, "ICMP echo")?
        };
        Ok(EchoSocket { fd, ipv6 })
    }

    pub fn send_echo(&self, dst: IpAddr, id: u16, seq: u16) -> Result<()> {
        let msg = build_echo(self.ipv6, id, seq);
        let what = format!("echo request to {dst}");
        match (dst, self.ipv6) {
            (IpAddr::V4(a), false) => fd::sendto(&self.fd, &msg, &fd::sockaddr_in(a), &what),
            (IpAddr::V6(a), true) => fd::sendto(&self.fd, &msg, &fd::sockaddr_in6(a, 0), &what),
            _ => Err(Error::invalid(format!("{what}: wrong address family for this socket"))),
        }
    }

    /// One echo reply: (source, identifier, sequence). `Ok(None)` for
    /// anything else that arrived; EAGAIN when drained.
    pub fn recv_reply(&self) -> Result<Option<(IpAddr, u16, u16)>> {
        let mut buf = [0u8; 1500];
        // SAFETY: sockaddr_storage is plain data; all-zero is valid.
        let mut sa: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: buf and sa are valid for the lengths given.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut sa as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        };
        if n < 0 {
            return Err(Error::last("receive echo reply"));
        }
        let pkt = &buf[..n as usize];
        let (src, msg) = if self.ipv6 {
            // SAFETY: an AF_INET6 socket fills a sockaddr_in6.
            let sin6: libc::sockaddr_in6 = unsafe { mem::transmute_copy(&sa) };
            (IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)), pkt)
        } else {
            // Raw IPv4 sockets deliver the IP header too.
            let Some(&first) = pkt.first() else { return Ok(None) };
            let ihl = usize::from(first & 0x0f) * 4;
            if pkt.len() < ihl + 8 || ihl < 20 {
                return Ok(None);
            }
            let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
            (IpAddr::V4(src), &pkt[ihl..])
        };
        Ok(parse_reply(self.ipv6, msg).map(|(id, seq)| (src, id, seq)))
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

    #[test]
    fn echo_request_has_a_valid_checksum() {
        let m = build_echo(false, 0x1234, 7);
        assert_eq!(&m[..2], &[8, 0]);
        assert_eq!(&m[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(checksum(&m), 0, "a message with its checksum sums to zero");
        assert_eq!(build_echo(true, 1, 2)[..4], [128, 0, 0, 0]);
    }

    #[test]
    fn replies_are_parsed_and_others_ignored() {
        let mut r = build_echo(false, 0xbeef, 9);
        assert_eq!(parse_reply(false, &r), None, "a request is not a reply");
        r[0] = 0;
        assert_eq!(parse_reply(false, &r), Some((0xbeef, 9)));
        assert_eq!(parse_reply(false, &r[..5]), None);
        let mut r6 = build_echo(true, 3, 4);
        r6[0] = 129;
        assert_eq!(parse_reply(true, &r6), Some((3, 4)));
        assert_eq!(parse_reply(false, &r6), None);
    }
}
