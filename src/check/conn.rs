//! Non-blocking TCP connects (and connected UDP sockets) with the checker connection options:
//! `bindto`/`bind_port`, `bind_if` (SO_BINDTODEVICE) and `fwmark` (SO_MARK).

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{FromRawFd, OwnedFd};

/// Where and how a probe connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnSpec {
    pub target: SocketAddr,
    pub bind_ip: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
}

impl ConnSpec {
    pub fn to(target: SocketAddr) -> ConnSpec {
        ConnSpec { target, bind_ip: None, bind_port: None, bind_if: None, fwmark: None }
    }
}

/// Start a connect; completion is signalled by writability.
pub fn connect(spec: &ConnSpec) -> io::Result<mio::net::TcpStream> {
    let fd = open(spec, libc::SOCK_STREAM)?;
    Ok(mio::net::TcpStream::from_std(std::net::TcpStream::from(fd)))
}

/// A UDP socket connected to the target (DNS_CHECK), with the same options:
/// replies from elsewhere are not delivered, and an ICMP port unreachable
/// comes back as ECONNREFUSED on the next receive.
pub fn connect_udp(spec: &ConnSpec) -> io::Result<mio::net::UdpSocket> {
    let fd = open(spec, libc::SOCK_DGRAM)?;
    Ok(mio::net::UdpSocket::from_std(std::net::UdpSocket::from(fd)))
}

/// A non-blocking socket of type `ty` with the options, bound if asked,
/// and connecting (a stream's connect may be in progress).
fn open(spec: &ConnSpec, ty: libc::c_int) -> io::Result<OwnedFd> {
    let family = if spec.target.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(family, ty, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned to us and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    if let Some(mark) = spec.fwmark {
        setsockopt(raw, libc::SO_MARK, &mark.to_ne_bytes())?;
    }
    if let Some(ifname) = &spec.bind_if {
        setsockopt(raw, libc::SO_BINDTODEVICE, ifname.as_bytes())?;
    }
    if spec.bind_ip.is_some() || spec.bind_port.is_some() {
        let ip = spec.bind_ip.unwrap_or(match spec.target {
            SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
            SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
        });
        if spec.bind_port.is_some() {
            setsockopt(raw, libc::SO_REUSEADDR, &1i32.to_ne_bytes())?;
        }
        let (sa, len) = sockaddr(SocketAddr::new(ip, spec.bind_port.unwrap_or(0)));
        // SAFETY: sa is a valid sockaddr of length len.
        if unsafe { libc::bind(raw, (&sa as *const libc::sockaddr_storage).cast(), len) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let (sa, len) = sockaddr(spec.target);
    // SAFETY: sa is a valid sockaddr of length len.
    if unsafe { libc::connect(raw, (&sa as *const libc::sockaddr_storage).cast(), len) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    Ok(fd)
}

fn setsockopt(fd: libc::c_int, opt: libc::c_int, value: &[u8]) -> io::Result<()> {
    let len =
        libc::socklen_t::try_from(value.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: value is valid for len bytes.
    let rc = unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, opt, value.as_ptr().cast(), len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid.
    let mut ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { (&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>().write(sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { (&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>().write(sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn sockopt(fd: libc::c_int, opt: libc::c_int) -> u32 {
        let mut v: u32 = 0;
        let mut len = mem::size_of::<u32>() as libc::socklen_t;
        // SAFETY: v and len are valid for getsockopt to write.
        let rc =
            unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, opt, (&mut v as *mut u32).cast(), &mut len) };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        v
    }

    /// `bindto`, `bind_port`, `bind_if` and `fwmark` reach the socket
    /// (SO_MARK and SO_BINDTODEVICE need root, as vigil runs).
    #[test]
    fn connect_binds_pins_and_marks_as_configured() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let free = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
        let spec = ConnSpec {
            target: listener.local_addr().unwrap(),
            bind_ip: Some("127.0.0.2".parse().unwrap()),
            bind_port: Some(free),
            bind_if: Some("lo".into()),
            fwmark: Some(7),
        };
        let stream = connect(&spec).expect("connect (as root)");
        let (_, peer) = listener.accept().unwrap();
        assert_eq!(peer, SocketAddr::new("127.0.0.2".parse().unwrap(), free), "bindto, bind_port");
        assert_eq!(sockopt(stream.as_raw_fd(), libc::SO_MARK), 7, "fwmark");
        let mut name = [0u8; 16];
        let mut len = name.len() as libc::socklen_t;
        // SAFETY: name and len are valid for getsockopt to write.
        let rc = unsafe {
            libc::getsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                name.as_mut_ptr().cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        assert_eq!(&name[..2], b"lo", "bind_if");
    }
}
