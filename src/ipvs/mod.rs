//! A small IPVS client over generic netlink.
//!
//! [`codec`] builds and parses the messages without touching a socket;
//! [`Ipvs`] resolves the "IPVS" generic netlink family once and runs
//! commands over the shared netlink [`Socket`]. IPVS state is per network
//! namespace: an `Ipvs` talks to the namespace it was opened in.

pub mod codec;
mod model;
pub mod selftest;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

pub use model::{
    flags, Dest, Family, Forward, Info, Protocol, Service, ServiceKey, SyncDaemon, SyncRole, Timeouts,
};

use crate::sys::netlink::{Request, Socket};

#[derive(Debug)]
pub enum Error {
    /// This kernel (or network namespace) has no IPVS: the `ip_vs` module
    /// is not loaded, or not built.
    NotAvailable,
    /// The kernel refused a command (or we refused it first, with EINVAL).
    /// EEXIST: already there; ENOENT/ESRCH: no such service or destination.
    Kernel { errno: i32, what: String },
    /// A reply we could not decode.
    Malformed(String),
    /// The netlink socket itself failed, or the kernel did not answer.
    Io(std::io::Error),
}

impl Error {
    /// The errno behind this error, if there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io(e) => e.raw_os_error(),
            Error::NotAvailable | Error::Malformed(_) => None,
        }
    }

    /// The service or destination is already there.
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// No such service (ESRCH), destination or scheduler (ENOENT).
    pub fn is_not_found(&self) -> bool {
        matches!(self.errno(), Some(libc::ENOENT) | Some(libc::ESRCH))
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Error {
        Error::Kernel { errno: libc::EINVAL, what: what.into() }
    }

    /// Socket-level errors keep their errno; kernel answers become `Kernel`.
    fn from_sys(e: crate::sys::Error) -> Error {
        match e.errno() {
            libc::EBADMSG => Error::Malformed(e.context().to_string()),
            libc::ETIMEDOUT => Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, e.to_string())),
            errno => Error::Kernel { errno, what: e.context().to_string() },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotAvailable => f.write_str("IPVS is not available in this kernel (is ip_vs loaded?)"),
            Error::Kernel { errno, what } => {
                write!(f, "{what}: {}", std::io::Error::from_raw_os_error(*errno))
            }
            Error::Malformed(m) => write!(f, "malformed IPVS reply: {m}"),
            Error::Io(e) => write!(f, "IPVS netlink socket: {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// A generic netlink socket bound to the IPVS family of this namespace.
pub struct Ipvs {
    sock: Socket,
    family: u16,
}

impl Ipvs {
    /// Open a socket and resolve the IPVS family. [`Error::NotAvailable`]
    /// when there is no IPVS here.
    pub fn open() -> Result<Ipvs, Error> {
        let mut sock = Socket::open_protocol(libc::NETLINK_GENERIC).map_err(|e| Error::Io(e.into()))?;
        let replies = match collect(&mut sock, codec::get_family(codec::FAMILY_NAME), false, "resolve IPVS") {
            Err(e) if e.errno() == Some(libc::ENOENT) => return Err(Error::NotAvailable),
            r => r?,
        };
        let first = replies.first().ok_or_else(|| Error::Malformed("no family reply".into()))?;
        let family = codec::parse_family(first)?;
        Ok(Ipvs { sock, family })
    }

    /// Size the socket's receive buffer as the configuration asks
    /// (`lvs_netlink_cmd_rcv_bufs[_force]`); `bytes` 0 leaves the kernel's.
    pub fn set_configured_recv_buffer(&self, bytes: u32, force: bool) -> Result<(), Error> {
        self.sock.set_configured_recv_buffer(bytes, force).map_err(|e| Error::Io(e.into()))
    }

    /// The generic netlink family id the kernel gave IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    pub fn info(&mut self) -> Result<Info, Error> {
        let replies = self.get(codec::get_info(self.family), "IPVS get info")?;
        codec::parse_info(one(&replies)?)
    }

    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let replies = self.get(codec::get_config(self.family), "IPVS get timeouts")?;
        codec::parse_timeouts(one(&replies)?)
    }

    pub fn services(&mut self) -> Result<Vec<Service>, Error> {
        let replies = collect(&mut self.sock, codec::get_services(self.family), true, "IPVS list services")?;
        replies.iter().map(|p| codec::parse_service(p)).collect()
    }

    pub fn dests(&mut self, svc: &ServiceKey) -> Result<Vec<Dest>, Error> {
        codec::validate_key(svc)?;
        let what = format!("IPVS list destinations of {svc}");
        let replies = collect(&mut self.sock, codec::get_dests(self.family, svc), true, &what)?;
        replies.iter().map(|p| codec::parse_dest(p, svc.family())).collect()
    }

    pub fn add_service(&mut self, svc: &Service) -> Result<(), Error> {
        codec::validate_service(svc)?;
        self.change(codec::new_service(self.family, svc), format!("add IPVS service {}", svc.key))
    }

    pub fn edit_service(&mut self, svc: &Service) -> Result<(), Error> {
        codec::validate_service(svc)?;
        self.change(codec::set_service(self.family, svc), format!("edit IPVS service {}", svc.key))
    }

    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        codec::validate_key(key)?;
        self.change(codec::del_service(self.family, key), format!("delete IPVS service {key}"))
    }

    pub fn add_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<(), Error> {
        codec::validate_key(key)?;
        let what = format!("add {} to IPVS service {key}", sock_addr(d.addr, d.port));
        self.change(codec::new_dest(self.family, key, d), what)
    }

    pub fn edit_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<(), Error> {
        codec::validate_key(key)?;
        let what = format!("edit {} of IPVS service {key}", sock_addr(d.addr, d.port));
        self.change(codec::set_dest(self.family, key, d), what)
    }

    pub fn del_dest(&mut self, key: &ServiceKey, addr: IpAddr, port: u16) -> Result<(), Error> {
        codec::validate_key(key)?;
        let what = format!("delete {} from IPVS service {key}", sock_addr(addr, port));
        self.change(codec::del_dest(self.family, key, addr, port), what)
    }

    /// Remove every service and destination in this namespace.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.change(codec::flush(self.family), "flush IPVS".to_string())
    }

    /// Connection timeouts in seconds; 0 leaves that one unchanged.
    pub fn set_timeouts(&mut self, tcp: u32, tcpfin: u32, udp: u32) -> Result<(), Error> {
        let t = Timeouts { tcp, tcp_fin: tcpfin, udp };
        self.change(codec::set_timeouts(self.family, &t), "set IPVS timeouts".to_string())
    }

    /// Start a connection sync daemon (EEXIST: one of that role runs).
    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        if d.ifname.is_empty() || d.ifname.len() > codec::DAEMON_IFNAME_MAX {
            return Err(Error::invalid(format!("sync daemon interface name {:?}", d.ifname)));
        }
        let what =
            format!("start the IPVS sync daemon ({} on {}, id {})", d.role.as_str(), d.ifname, d.sync_id);
        self.change(codec::new_daemon(self.family, d), what)
    }

    /// Stop the connection sync daemon of `role` (ESRCH: none runs).
    pub fn stop_daemon(&mut self, role: SyncRole) -> Result<(), Error> {
        let what = format!("stop the IPVS sync daemon ({})", role.as_str());
        self.change(codec::del_daemon(self.family, role), what)
    }

    /// The sync daemons running in this namespace.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, Error> {
        let replies =
            collect(&mut self.sock, codec::get_daemons(self.family), true, "IPVS list sync daemons")?;
        replies.iter().map(|p| codec::parse_daemon(p)).collect()
    }

    fn change(&mut self, req: Request, what: String) -> Result<(), Error> {
        self.sock.request(req, &what).map_err(Error::from_sys)
    }

    fn get(&mut self, req: Request, what: &str) -> Result<Vec<Vec<u8>>, Error> {
        collect(&mut self.sock, req, false, what)
    }
}

/// Run a GET (or a dump) and keep the payloads of its data messages.
fn collect(sock: &mut Socket, req: Request, dump: bool, what: &str) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    let keep = |m: &crate::sys::netlink::Message| {
        out.push(m.payload.to_vec());
        Ok(())
    };
    if dump { sock.dump(req, what, keep) } else { sock.get(req, what, keep) }.map_err(Error::from_sys)?;
    Ok(out)
}

fn one(replies: &[Vec<u8>]) -> Result<&[u8], Error> {
    replies.first().map(Vec::as_slice).ok_or_else(|| Error::Malformed("empty reply".into()))
}

fn sock_addr(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}
