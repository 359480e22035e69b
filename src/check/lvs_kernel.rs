//! [`Lvs`] over the kernel's IPVS (`crate::ipvs`), and opening it: a kernel
//! without IPVS leaves vigil checking and notifying only, where keepalived
//! gives up.

use std::net::IpAddr;

use log::{error, info, warn};

use super::lvs::{DestSpec, Lvs, ProtocolKey, ServiceSpec, SvcAddr};
use crate::config::model::{LvsMethod, LvsTimeouts, RcvBuf};
use crate::ipvs::{Dest, Error, Family, Forward, Ipvs, Protocol, Service, ServiceKey, SyncDaemon, SyncRole};

/// The kernel table, or `None` (logged once) when there is none. `buf`
/// sizes its netlink socket (`lvs_netlink_cmd_rcv_bufs[_force]`).
pub fn open(buf: RcvBuf) -> Option<Box<dyn Lvs>> {
    match Ipvs::open() {
        Ok(ipvs) => {
            info!("Initializing ipvs");
            if let Err(e) = ipvs.set_configured_recv_buffer(buf.bytes, buf.force) {
                warn!("lvs_netlink_cmd_rcv_bufs {}: {e}", buf.bytes);
            }
            Some(Box::new(ipvs))
        }
        Err(Error::NotAvailable) => {
            info!("IPVS: not available in this kernel - checking and notifying only");
            None
        }
        Err(e) => {
            error!("IPVS: Can't initialize ipvs: {e} - checking and notifying only");
            None
        }
    }
}

fn key(svc: &SvcAddr) -> ServiceKey {
    match *svc {
        SvcAddr::Addr { protocol, addr, port } => {
            let protocol = match protocol {
                ProtocolKey::Tcp => Protocol::Tcp,
                ProtocolKey::Udp => Protocol::Udp,
                ProtocolKey::Sctp => Protocol::Sctp,
            };
            ServiceKey::Addr { protocol, addr, port }
        }
        SvcAddr::Fwmark { v6, mark } => {
            ServiceKey::Fwmark { af: if v6 { Family::V6 } else { Family::V4 }, mark }
        }
    }
}

fn dest(d: &DestSpec) -> Dest {
    let forward = match d.method {
        LvsMethod::Nat => Forward::Nat,
        LvsMethod::Dr => Forward::Dr,
        LvsMethod::Tun => Forward::Tun,
    };
    Dest {
        addr: d.addr,
        port: d.port,
        weight: d.weight,
        forward,
        u_threshold: d.u_threshold,
        l_threshold: d.l_threshold,
    }
}

impl Lvs for Ipvs {
    fn kind(&self) -> &'static str {
        "kernel"
    }

    /// An existing service (left by a previous run) is updated.
    fn add_service(&mut self, svc: &ServiceSpec) -> Result<(), Error> {
        let s = Service {
            key: key(&svc.addr),
            scheduler: svc.scheduler.clone(),
            persistence: svc.persistence,
            netmask: svc.netmask,
            flags: 0,
        };
        match Ipvs::add_service(self, &s) {
            Err(e) if e.is_exists() => Ipvs::edit_service(self, &s),
            r => r,
        }
    }

    fn del_service(&mut self, svc: &SvcAddr) -> Result<(), Error> {
        Ipvs::del_service(self, &key(svc))
    }

    fn add_dest(&mut self, svc: &SvcAddr, d: &DestSpec) -> Result<(), Error> {
        let (k, d) = (key(svc), dest(d));
        match Ipvs::add_dest(self, &k, &d) {
            Err(e) if e.is_exists() => Ipvs::edit_dest(self, &k, &d),
            r => r,
        }
    }

    fn edit_dest(&mut self, svc: &SvcAddr, d: &DestSpec) -> Result<(), Error> {
        Ipvs::edit_dest(self, &key(svc), &dest(d))
    }

    fn del_dest(&mut self, svc: &SvcAddr, addr: IpAddr, port: u16) -> Result<(), Error> {
        Ipvs::del_dest(self, &key(svc), addr, port)
    }

    fn flush(&mut self) -> Result<(), Error> {
        Ipvs::flush(self)
    }

    fn set_timeouts(&mut self, t: &LvsTimeouts) -> Result<(), Error> {
        Ipvs::set_timeouts(self, t.tcp, t.tcp_fin, t.udp)
    }

    fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        match Ipvs::start_daemon(self, d) {
            Err(e) if e.is_exists() => Ok(()),
            r => r,
        }
    }

    fn stop_sync_daemon(&mut self, role: SyncRole) -> Result<(), Error> {
        match Ipvs::stop_daemon(self, role) {
            Err(e) if e.is_not_found() => Ok(()),
            r => r,
        }
    }
}
