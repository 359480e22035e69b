//! What changed in one instance between the running configuration and a
//! new one: typed values compared field by field, where each was written
//! left out. Pure; `reload.rs` acts on the answer.
//!
//! An instance is matched by name. What makes it the router its peers and
//! the kernel know (keepalived's `vrrp_exist`: VRID, interface, address
//! family, unicast or multicast; plus what its socket, macvlan or sync
//! group is built from) is its identity, and a change of it restarts the
//! instance. Everything else is applied in place.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use crate::config::diag::Loc;
use crate::config::model::{
    Command, GlobalDefs, IpLine, Notify, TrackInterface, TrackScript, UnicastPeer, VipSpec, VrrpInstance,
    VrrpSyncGroup,
};
use crate::vrrp::{Family, InstanceParams};

/// One difference. The first group restarts the instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Interface,
    Vrid,
    Family,
    Version,
    /// Unicast to multicast or back.
    Transport,
    /// `vrrp_mcast_group4/6` of a multicast instance.
    McastGroup,
    /// `mcast_src_ip` / `unicast_src_ip`: the socket's source and the election tie-break.
    SourceAddress,
    /// `use_vmac`, `vmac_xmit_base`: the macvlan the instance lives on.
    Vmac,
    /// `unicast_ttl`, and AH on or off (IP protocol 51 or 112): socket options.
    Socket,
    /// The set of members of the instance's sync group (conservative: a
    /// group that gains or loses a member starts its members afresh, since
    /// a group state carried over from other members could be wrong).
    SyncGroup,

    Priority,
    AdvertInt,
    /// `virtual_ipaddress`, `virtual_ipaddress_excluded`.
    Vips,
    /// `virtual_routes`, `virtual_rules`.
    VirtualRoutes,
    /// `nopreempt`, `preempt_delay`.
    Preempt,
    /// `authentication` (a new password or AH key), `auth_hmac`.
    Auth,
    UnicastPeers,
    /// `track_script`, `track_interface`, `track_ping`, `track_file`,
    /// `dont_track_primary`, `unicast_fault_no_peer`.
    Tracking,
    /// Notify scripts, `notify_priority_changes`, `smtp_alert`.
    Notify,
    /// Every other protocol parameter (GARP schedule, strict mode,
    /// `down_timer_adverts`, advert checks; own or inherited from global_defs).
    Tuning,
    /// `state` and `accept`: read at start only, or not used.
    StartOnly,
}

impl Change {
    /// Whether this change needs a new instance.
    pub fn restarts(self) -> bool {
        self <= Change::SyncGroup
    }

    /// Whether keepalived would see another instance after this change:
    /// its reload matches instances by VRID, family, interface, unicast or
    /// multicast, the unicast source address and the VMAC (not by name), so
    /// the old one is removed and reports DELETED or FAULT, not STOP.
    pub fn replaces_for_keepalived(self, unicast: bool) -> bool {
        match self {
            Change::Interface | Change::Vrid | Change::Family | Change::Transport | Change::Vmac => true,
            Change::SourceAddress => unicast,
            _ => false,
        }
    }

    /// What the log line calls it.
    pub fn name(self) -> &'static str {
        match self {
            Change::Interface => "interface",
            Change::Vrid => "virtual_router_id",
            Change::Family => "address family",
            Change::Version => "version",
            Change::Transport => "unicast/multicast",
            Change::McastGroup => "multicast group",
            Change::SourceAddress => "source address",
            Change::Vmac => "use_vmac",
            Change::Socket => "socket (unicast_ttl or AH)",
            Change::SyncGroup => "sync group members",
            Change::Priority => "priority",
            Change::AdvertInt => "advert_int",
            Change::Vips => "virtual_ipaddress",
            Change::VirtualRoutes => "virtual_routes/rules",
            Change::Preempt => "preempt",
            Change::Auth => "authentication",
            Change::UnicastPeers => "unicast_peer",
            Change::Tracking => "tracking",
            Change::Notify => "notify",
            Change::Tuning => "protocol tuning",
            Change::StartOnly => "state/accept",
        }
    }
}

/// One side of the comparison: an instance with the globals and sync
/// groups of its configuration.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub inst: &'a VrrpInstance,
    pub global: &'a GlobalDefs,
    pub sync_groups: &'a [VrrpSyncGroup],
}

/// Every difference between `old` and `new` (the same instance name), in
/// the order of [`Change`]; empty when only locations differ.
pub fn diff(old: Side, new: Side) -> Vec<Change> {
    let mut out = BTreeSet::new();
    let (a, b) = (old.inst, new.inst);
    let (pa, pb) = (params(old), params(new));
    // Every field is named, so a new one does not compile until it is sorted here.
    let VrrpInstance {
        name: _,
        state,
        interface,
        vrid,
        priority: _,
        advert_int: _,
        version: _,
        auth: _,
        auth_hmac: _,
        vips,
        vips_excluded,
        virtual_routes,
        virtual_rules,
        nopreempt: _,
        preempt_delay: _,
        track_scripts,
        track_pings,
        track_files,
        track_processes,
        track_interfaces,
        dont_track_primary,
        mcast_src_ip,
        unicast_src_ip,
        unicast_peers,
        unicast_ttl,
        check_unicast_src: _,
        unicast_fault_no_peer,
        use_vmac,
        vmac_xmit_base,
        accept,
        strict_mode: _,
        skip_check_adv_addr: _,
        garp_master_delay: _,
        garp_master_repeat: _,
        garp_master_refresh: _,
        garp_master_refresh_repeat: _,
        garp_lower_prio_delay: _,
        garp_lower_prio_repeat: _,
        lower_prio_no_advert: _,
        higher_prio_send_advert: _,
        owner_ignore_adverts: _,
        v3_checksum_as_v2: _,
        down_timer_adverts: _,
        notify,
        notify_deleted,
        notify_priority_changes,
        smtp_alert,
        loc: _,
        locs: _,
    } = a;
    // The fields written `_` above reach the core through `InstanceParams`,
    // compared below with the globals they inherit.
    let mut note = |changed: bool, c: Change| {
        if changed {
            out.insert(c);
        }
    };
    note(*interface != b.interface, Change::Interface);
    note(*vrid != b.vrid, Change::Vrid);
    note(pa.family != pb.family, Change::Family);
    note(pa.version != pb.version, Change::Version);
    note(a.is_unicast() != b.is_unicast(), Change::Transport);
    let multicast = !a.is_unicast() && !b.is_unicast();
    note(
        multicast && mcast_group(old.global, pa.family) != mcast_group(new.global, pb.family),
        Change::McastGroup,
    );
    note((mcast_src_ip, unicast_src_ip) != (&b.mcast_src_ip, &b.unicast_src_ip), Change::SourceAddress);
    note((use_vmac, vmac_xmit_base) != (&b.use_vmac, &b.vmac_xmit_base), Change::Vmac);
    let ah = |p: &InstanceParams| p.auth.ah_key().is_some();
    note(*unicast_ttl != b.unicast_ttl || ah(&pa) != ah(&pb), Change::Socket);
    note(
        group_members(old.sync_groups, &a.name) != group_members(new.sync_groups, &b.name),
        Change::SyncGroup,
    );

    note(pa.priority != pb.priority, Change::Priority);
    note(pa.advert_interval_cs != pb.advert_interval_cs, Change::AdvertInt);
    note(!same(vips, &b.vips) || !same(vips_excluded, &b.vips_excluded), Change::Vips);
    note(
        !same(virtual_routes, &b.virtual_routes) || !same(virtual_rules, &b.virtual_rules),
        Change::VirtualRoutes,
    );
    note((pa.nopreempt, pa.preempt_delay) != (pb.nopreempt, pb.preempt_delay), Change::Preempt);
    note(pa.auth != pb.auth || pa.hmac != pb.hmac, Change::Auth);
    note(!same(unicast_peers, &b.unicast_peers), Change::UnicastPeers);
    let tracking = !same(track_scripts, &b.track_scripts)
        || !same(track_pings, &b.track_pings)
        || !same(track_files, &b.track_files)
        || !same(track_processes, &b.track_processes)
        || !same(track_interfaces, &b.track_interfaces)
        || (dont_track_primary, unicast_fault_no_peer) != (&b.dont_track_primary, &b.unicast_fault_no_peer)
        // unicast_fault_no_peer tracks whether a `unicast_peer` block was written.
        || a.locs.of("unicast_peer").is_some() != b.locs.of("unicast_peer").is_some();
    note(tracking, Change::Tracking);
    note(
        notify.unlocated() != b.notify.unlocated()
            || (notify_deleted, notify_priority_changes, smtp_alert)
                != (&b.notify_deleted, &b.notify_priority_changes, &b.smtp_alert),
        Change::Notify,
    );
    note((state, accept) != (&b.state, &b.accept), Change::StartOnly);
    // What is left of the parameters once the changes above are set aside.
    let rest = InstanceParams {
        priority: pa.priority,
        advert_interval_cs: pa.advert_interval_cs,
        vips: pa.vips.clone(),
        nopreempt: pa.nopreempt,
        preempt_delay: pa.preempt_delay,
        auth: pa.auth.clone(),
        hmac: pa.hmac.clone(),
        unicast_peers: pa.unicast_peers.clone(),
        vrid: pa.vrid,
        version: pa.version,
        family: pa.family,
        source: pa.source,
        ..pb.clone()
    };
    note(rest != pa, Change::Tuning);
    out.into_iter().collect()
}

/// The protocol parameters of one side, with an unspecified source (the
/// source comes from the interface; its configured part is compared apart).
fn params(side: Side) -> InstanceParams {
    let any = if side.inst.is_ipv6() {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    super::super::params::instance_params(side.inst, side.global, any)
}

fn mcast_group(g: &GlobalDefs, family: Family) -> IpAddr {
    super::super::mcast_group(g, family)
}

/// The members of the sync group `name` is in, as the engine runs groups
/// (two members or more).
fn group_members<'a>(groups: &'a [VrrpSyncGroup], name: &str) -> Option<BTreeSet<&'a str>> {
    groups
        .iter()
        .filter(|g| g.members.len() >= 2)
        .find(|g| g.members.iter().any(|(m, _)| m == name))
        .map(|g| g.members.iter().map(|(m, _)| m.as_str()).collect())
}

/// Equal lists once the locations are left out.
fn same<T: Unlocated>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.unlocated() == y.unlocated())
}

/// A copy with every location set to the same nowhere, for comparisons.
pub trait Unlocated: Clone + PartialEq {
    fn unlocated(&self) -> Self;
}

fn nowhere() -> Loc {
    Loc { file: Rc::from(""), line: 0, col: 0 }
}

impl Unlocated for VipSpec {
    fn unlocated(&self) -> Self {
        VipSpec { loc: nowhere(), ..self.clone() }
    }
}

impl<T: Clone + PartialEq> Unlocated for IpLine<T> {
    fn unlocated(&self) -> Self {
        IpLine { loc: nowhere(), ..self.clone() }
    }
}

impl Unlocated for TrackScript {
    fn unlocated(&self) -> Self {
        TrackScript { loc: nowhere(), ..self.clone() }
    }
}

impl Unlocated for TrackInterface {
    fn unlocated(&self) -> Self {
        TrackInterface { loc: nowhere(), ..self.clone() }
    }
}

impl Unlocated for UnicastPeer {
    fn unlocated(&self) -> Self {
        UnicastPeer { loc: nowhere(), ..self.clone() }
    }
}

impl Unlocated for Command {
    fn unlocated(&self) -> Self {
        Command { loc: nowhere(), ..self.clone() }
    }
}

impl Unlocated for Notify {
    fn unlocated(&self) -> Self {
        let u = |c: &Option<Command>| c.as_ref().map(Command::unlocated);
        Notify {
            master: u(&self.master),
            backup: u(&self.backup),
            fault: u(&self.fault),
            stop: u(&self.stop),
            any: u(&self.any),
            deleted: u(&self.deleted),
        }
    }
}

/// The entries of `wanted` that `have` lacks, locations left out.
pub fn missing<T: Unlocated>(wanted: &[T], have: &[T]) -> Vec<T> {
    wanted.iter().filter(|w| !have.iter().any(|h| h.unlocated() == w.unlocated())).cloned().collect()
}
