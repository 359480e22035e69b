//! Small libc wrappers shared by the socket modules.

use std::ffi::CStr;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::{Error, Result};

/// A non-blocking, close-on-exec socket.
pub(crate) fn socket(domain: i32, ty: i32, protocol: i32, what: &str) -> Result<OwnedFd> {
    // SAFETY: plain syscall; the returned fd is owned by us alone.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(Error::last(format!("socket({what})")));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt` with any plain-old-data value.
pub(crate) fn setsockopt<T: Copy>(fd: &OwnedFd, level: i32, name: i32, value: &T, what: &str) -> Result<()> {
    // SAFETY: value points to size_of::<T>() readable bytes for the call's duration.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Error::last(format!("setsockopt({what})")));
    }
    Ok(())
}

pub(crate) fn setsockopt_int(fd: &OwnedFd, level: i32, name: i32, value: i32, what: &str) -> Result<()> {
    setsockopt(fd, level, name, &value, what)
}

/// Size a socket's receive buffer: SO_RCVBUFFORCE (root, past
/// net.core.rmem_max) when `force`, else SO_RCVBUF (capped by rmem_max).
/// The kernel doubles the value for its bookkeeping.
pub(crate) fn set_recv_buffer(fd: &OwnedFd, bytes: u32, force: bool) -> Result<()> {
    let v = bytes.min(i32::MAX as u32) as i32;
    if force {
        setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v, "SO_RCVBUFFORCE")
    } else {
        setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, v, "SO_RCVBUF")
    }
}

pub(crate) fn bind_to_device(fd: &OwnedFd, ifname: &str) -> Result<()> {
    // SAFETY: the name pointer and length describe a valid byte slice.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            ifname.as_ptr().cast(),
            ifname.len() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Error::last(format!("SO_BINDTODEVICE {ifname}")));
    }
    Ok(())
}

/// The name of an interface in the calling thread's network namespace.
pub(crate) fn ifname(ifindex: u32) -> Result<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf holds IF_NAMESIZE bytes as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(ifindex, buf.as_mut_ptr()) };
    if p.is_null() {
        return Err(Error::last(format!("no interface with index {ifindex}")));
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}

/// Wait until `fd` is readable; false on timeout.
pub(crate) fn wait_readable(fd: &OwnedFd, timeout_ms: i32) -> Result<bool> {
    let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    loop {
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc >= 0 {
            return Ok(rc > 0);
        }
        let e = Error::last("poll");
        if e.errno() != libc::EINTR {
            return Err(e);
        }
    }
}

pub(crate) fn sockaddr_in(addr: std::net::Ipv4Addr) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_addr.s_addr = u32::from_ne_bytes(addr.octets());
    sa
}

pub(crate) fn sockaddr_in6(addr: std::net::Ipv6Addr, scope_id: u32) -> libc::sockaddr_in6 {
    // SAFETY: sockaddr_in6 is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    sa.sin6_addr.s6_addr = addr.octets();
    sa.sin6_scope_id = scope_id;
    sa
}

/// `bind` with any sockaddr type.
pub(crate) fn bind<T>(fd: &OwnedFd, sa: &T, what: &str) -> Result<()> {
    // SAFETY: sa points to a complete sockaddr of size_of::<T>() bytes.
    let rc = unsafe {
        libc::bind(fd.as_raw_fd(), (sa as *const T).cast(), mem::size_of::<T>() as libc::socklen_t)
    };
    if rc < 0 {
        return Err(Error::last(format!("bind({what})")));
    }
    Ok(())
}

/// `sendto` with any sockaddr type.
/// `what` names the message in an error; formatted only then (adverts go
/// through here thousands of times a second).
pub(crate) fn sendto<T>(fd: &OwnedFd, buf: &[u8], sa: &T, what: impl std::fmt::Display) -> Result<()> {
    // SAFETY: buf and sa are valid for the lengths passed.
    let rc = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            0,
            (sa as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Error::last(format!("sendto({what})")));
    }
    if rc as usize != buf.len() {
        return Err(Error::new(libc::EMSGSIZE, format!("sendto({what}): short write")));
    }
    Ok(())
}

/// What `IP_PKTINFO`, `IPV6_RECVPKTINFO` and `IPV6_RECVHOPLIMIT` put beside
/// a received packet.
#[derive(Default)]
pub(crate) struct Cmsgs {
    pub pktinfo4_ifindex: Option<u32>,
    pub pktinfo6: Option<(std::net::Ipv6Addr, u32)>,
    pub hop_limit: Option<u8>,
}

pub(crate) fn parse_cmsgs(msg: &libc::msghdr) -> Cmsgs {
    let mut out = Cmsgs::default();
    // SAFETY: msg was filled by recvmsg; the CMSG_* macros stay within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let len = ((*c).cmsg_len as usize).saturating_sub(data as usize - c as usize);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO) if len >= std::mem::size_of::<libc::in_pktinfo>() => {
                    let pi: libc::in_pktinfo = std::ptr::read_unaligned(data.cast());
                    out.pktinfo4_ifindex = u32::try_from(pi.ipi_ifindex).ok();
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                    if len >= std::mem::size_of::<libc::in6_pktinfo>() =>
                {
                    let pi: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                    out.pktinfo6 = Some((std::net::Ipv6Addr::from(pi.ipi6_addr.s6_addr), pi.ipi6_ifindex));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) if len >= std::mem::size_of::<i32>() => {
                    let hops: i32 = std::ptr::read_unaligned(data.cast());
                    out.hop_limit = u8::try_from(hops).ok();
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    out
}
