//! Gratuitous ARP and unsolicited neighbour advertisements, sent after a
//! VIP moves so that hosts and switches learn its new MAC.
//!
//! Frame builders are pure; [`ArpSocket`] and [`NaSocket`] only send.

use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::fd;
use super::{Error, Result};

pub const GARP_LEN: usize = 42;
pub const NA_LEN: usize = 32;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IP: u16 = 0x0800;
const ICMPV6_NEIGHBOUR_ADVERT: u8 = 136;
const NA_FLAG_ROUTER: u8 = 0x80;
const NA_FLAG_OVERRIDE: u8 = 0x20;
const ND_OPT_TARGET_LL_ADDR: u8 = 2;
const ICMP6_FILTER: i32 = 1;
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A broadcast ARP request "who-has `ip` tell `ip`" from `mac` (the
/// interface MAC, or the VMAC), Ethernet header included.
pub fn build_garp(mac: [u8; 6], ip: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware type: Ethernet
    f[16..18].copy_from_slice(&ETH_P_IP.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // operation: request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    // f[32..38]: target MAC stays zero.
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// An ICMPv6 neighbour advertisement for `target` with the Override flag
/// and a target link-layer address option. The checksum is left zero: a
/// raw ICMPv6 socket always has the kernel compute it.
pub fn build_unsolicited_na(target: Ipv6Addr, mac: [u8; 6], router: bool) -> Vec<u8> {
    let mut m = vec![0u8; NA_LEN];
    m[0] = ICMPV6_NEIGHBOUR_ADVERT;
    m[4] = NA_FLAG_OVERRIDE | if router { NA_FLAG_ROUTER } else { 0 };
    m[8..24].copy_from_slice(&target.octets());
    m[24] = ND_OPT_TARGET_LL_ADDR;
    m[25] = 1; // option length in units of 8 bytes
    m[26..32].copy_from_slice(&mac);
    m
}

/// An AF_PACKET socket that only transmits (protocol 0 receives nothing).
pub struct ArpSocket {
    fd: OwnedFd,
}

impl ArpSocket {
    pub fn open() -> Result<ArpSocket> {
        Ok(ArpSocket { fd: fd::socket(libc::AF_PACKET, libc::SOCK_RAW, 0, "AF_PACKET")? })
    }

    /// Send a frame from [`build_garp`] out of `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8; GARP_LEN]) -> Result<()> {
        // SAFETY: sockaddr_ll is plain data; all-zero is valid.
        let mut sa: libc::sockaddr_ll = unsafe { mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = ETH_P_ARP.to_be();
        sa.sll_ifindex = i32::try_from(ifindex).map_err(|_| Error::invalid(format!("ifindex {ifindex}")))?;
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(&frame[0..6]);
        fd::sendto(&self.fd, frame, &sa, format_args!("gratuitous ARP on ifindex {ifindex}"))
    }
}

/// A raw ICMPv6 socket for unsolicited NAs to ff02::1, hop limit 255.
pub struct NaSocket {
    fd: OwnedFd,
}

impl NaSocket {
    pub fn open() -> Result<NaSocket> {
        let fd = fd::socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6, "ICMPv6")?;
        // Transmit only: block every ICMPv6 type so nothing queues up.
        fd::setsockopt(&fd, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &[u32::MAX; 8], "ICMP6_FILTER")?;
        let ip6 = libc::IPPROTO_IPV6;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_UNICAST_HOPS, 255, "IPV6_UNICAST_HOPS")?;
        fd::setsockopt_int(&fd, ip6, libc::IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP")?;
        Ok(NaSocket { fd })
    }

    /// Send a message from [`build_unsolicited_na`] to all nodes on `ifindex`.
    /// The kernel picks the source (the interface's link-local address).
    pub fn send(&self, ifindex: u32, msg: &[u8]) -> Result<()> {
        let sa = fd::sockaddr_in6(ALL_NODES, ifindex);
        fd::sendto(&self.fd, msg, &sa, format_args!("neighbour advertisement on ifindex {ifindex}"))
    }
}

impl AsRawFd for ArpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for ArpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for NaSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for NaSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    const MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33];

    #[test]
    fn garp_bytes() {
        #[rustfmt::skip]
        let want: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x06,
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
            0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 198, 18, 0, 100,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198, 18, 0, 100,
        ];
        assert_eq!(build_garp(MAC, Ipv4Addr::new(198, 18, 0, 100)), want);
    }

    #[test]
    fn na_bytes() {
        #[rustfmt::skip]
        let want: [u8; 32] = [
            136, 0, 0, 0, 0xa0, 0, 0, 0,
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x64,
            2, 1, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33,
        ];
        assert_eq!(build_unsolicited_na("2001:db8::64".parse().unwrap(), MAC, true), want);
        assert_eq!(build_unsolicited_na("2001:db8::64".parse().unwrap(), MAC, false)[4], 0x20);
    }
}
