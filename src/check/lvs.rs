//! The few IPVS calls the checker engine makes, behind a trait: the kernel
//! table (`crate::ipvs::Ipvs`, see `kernel`) or an in-memory table for tests
//! and for watching what vigil would program.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::rc::Rc;

use crate::config::model::{LvsMethod, LvsTimeouts, Protocol};
use crate::ipvs::{Error, SyncDaemon, SyncRole};

/// How a virtual service is identified.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SvcAddr {
    Addr { protocol: ProtocolKey, addr: IpAddr, port: u16 },
    Fwmark { v6: bool, mark: u32 },
}

/// `Protocol` with an order, for table keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolKey {
    Tcp,
    Udp,
    Sctp,
}

impl From<Protocol> for ProtocolKey {
    fn from(p: Protocol) -> ProtocolKey {
        match p {
            Protocol::Tcp => ProtocolKey::Tcp,
            Protocol::Udp => ProtocolKey::Udp,
            Protocol::Sctp => ProtocolKey::Sctp,
        }
    }
}

impl fmt::Display for SvcAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SvcAddr::Addr { protocol, addr, port } => {
                write!(f, "[{addr}]:{}:{port}", format!("{protocol:?}").to_lowercase())
            }
            SvcAddr::Fwmark { mark, .. } => write!(f, "FWM {mark}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    pub addr: SvcAddr,
    pub scheduler: String,
    /// Seconds.
    pub persistence: Option<u32>,
    pub netmask: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestSpec {
    pub addr: IpAddr,
    pub port: u16,
    pub weight: u32,
    pub method: LvsMethod,
    pub u_threshold: u32,
    pub l_threshold: u32,
}

/// What the engine asks of an IPVS table. Errors are IPVS's own, the
/// in-memory table answering with the kernel's errno (ESRCH: no such
/// service, ENOENT: no such destination).
pub trait Lvs {
    /// A short name for status: "kernel", "memory".
    fn kind(&self) -> &'static str;
    fn add_service(&mut self, svc: &ServiceSpec) -> Result<(), Error>;
    fn del_service(&mut self, svc: &SvcAddr) -> Result<(), Error>;
    /// Add, or update when it is there already.
    fn add_dest(&mut self, svc: &SvcAddr, dest: &DestSpec) -> Result<(), Error>;
    fn edit_dest(&mut self, svc: &SvcAddr, dest: &DestSpec) -> Result<(), Error>;
    fn del_dest(&mut self, svc: &SvcAddr, addr: IpAddr, port: u16) -> Result<(), Error>;
    /// Remove every service and destination (`lvs_flush`, `lvs_flush_on_stop`).
    fn flush(&mut self) -> Result<(), Error>;
    /// `lvs_timeouts`: 0 leaves that timeout as it is.
    fn set_timeouts(&mut self, t: &LvsTimeouts) -> Result<(), Error>;
    /// Start a connection sync daemon; one already running in that role is kept.
    fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error>;
    /// Stop the sync daemon of `role`, if one runs.
    fn stop_sync_daemon(&mut self, role: SyncRole) -> Result<(), Error>;
}

fn no_service(svc: &SvcAddr) -> Error {
    Error::Kernel { errno: libc::ESRCH, what: format!("service {svc}") }
}

fn no_dest(svc: &SvcAddr, addr: IpAddr, port: u16) -> Error {
    Error::Kernel { errno: libc::ENOENT, what: format!("destination [{addr}]:{port} in {svc}") }
}

type Table = BTreeMap<SvcAddr, (ServiceSpec, Vec<DestSpec>)>;

/// An IPVS table in memory. Clones share the table, so a test keeps one
/// clone to look at what the engine programmed through the other.
#[derive(Clone, Debug, Default)]
pub struct MemoryLvs {
    table: Rc<RefCell<Table>>,
    timeouts: Rc<RefCell<LvsTimeouts>>,
    daemons: Rc<RefCell<Vec<SyncDaemon>>>,
}

impl MemoryLvs {
    pub fn new() -> MemoryLvs {
        MemoryLvs::default()
    }

    pub fn services(&self) -> Vec<ServiceSpec> {
        self.table.borrow().values().map(|(s, _)| s.clone()).collect()
    }

    pub fn dests(&self, svc: &SvcAddr) -> Option<Vec<DestSpec>> {
        self.table.borrow().get(svc).map(|(_, d)| d.clone())
    }

    pub fn timeouts(&self) -> LvsTimeouts {
        *self.timeouts.borrow()
    }

    pub fn sync_daemons(&self) -> Vec<SyncDaemon> {
        self.daemons.borrow().clone()
    }

    /// The weight of one destination, if present.
    pub fn weight(&self, svc: &SvcAddr, addr: IpAddr, port: u16) -> Option<u32> {
        let t = self.table.borrow();
        t.get(svc)?.1.iter().find(|d| d.addr == addr && d.port == port).map(|d| d.weight)
    }
}

impl Lvs for MemoryLvs {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn add_service(&mut self, svc: &ServiceSpec) -> Result<(), Error> {
        let mut t = self.table.borrow_mut();
        let entry = t.entry(svc.addr.clone()).or_insert_with(|| (svc.clone(), Vec::new()));
        entry.0 = svc.clone();
        Ok(())
    }

    fn del_service(&mut self, svc: &SvcAddr) -> Result<(), Error> {
        self.table.borrow_mut().remove(svc).map(|_| ()).ok_or_else(|| no_service(svc))
    }

    fn add_dest(&mut self, svc: &SvcAddr, dest: &DestSpec) -> Result<(), Error> {
        let mut t = self.table.borrow_mut();
        let (_, dests) = t.get_mut(svc).ok_or_else(|| no_service(svc))?;
        dests.retain(|d| (d.addr, d.port) != (dest.addr, dest.port));
        dests.push(dest.clone());
        Ok(())
    }

    fn edit_dest(&mut self, svc: &SvcAddr, dest: &DestSpec) -> Result<(), Error> {
        let mut t = self.table.borrow_mut();
        let (_, dests) = t.get_mut(svc).ok_or_else(|| no_service(svc))?;
        let d = dests
            .iter_mut()
            .find(|d| (d.addr, d.port) == (dest.addr, dest.port))
            .ok_or_else(|| no_dest(svc, dest.addr, dest.port))?;
        *d = dest.clone();
        Ok(())
    }

    fn del_dest(&mut self, svc: &SvcAddr, addr: IpAddr, port: u16) -> Result<(), Error> {
        let mut t = self.table.borrow_mut();
        let (_, dests) = t.get_mut(svc).ok_or_else(|| no_service(svc))?;
        let before = dests.len();
        dests.retain(|d| (d.addr, d.port) != (addr, port));
        if dests.len() == before {
            return Err(no_dest(svc, addr, port));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.table.borrow_mut().clear();
        Ok(())
    }

    fn set_timeouts(&mut self, t: &LvsTimeouts) -> Result<(), Error> {
        let mut now = self.timeouts.borrow_mut();
        let keep = |new: u32, old: u32| if new == 0 { old } else { new };
        *now = LvsTimeouts {
            tcp: keep(t.tcp, now.tcp),
            tcp_fin: keep(t.tcp_fin, now.tcp_fin),
            udp: keep(t.udp, now.udp),
        };
        Ok(())
    }

    fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        let mut ds = self.daemons.borrow_mut();
        if !ds.iter().any(|r| r.role == d.role) {
            ds.push(d.clone());
        }
        Ok(())
    }

    fn stop_sync_daemon(&mut self, role: SyncRole) -> Result<(), Error> {
        self.daemons.borrow_mut().retain(|d| d.role != role);
        Ok(())
    }
}
