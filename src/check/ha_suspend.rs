//! `ha_suspend`, pure: a virtual server's checkers probe only while its
//! address is on one of the host's interfaces (on the VRRP master, say),
//! and are suspended while it is absent. The engine feeds the host's
//! addresses (a dump, then rtnetlink events, `sys::link::Monitor`) and
//! logs and applies the transitions; a suspended virtual server's checks
//! keep their `delay_loop` schedule but send nothing, so their last result,
//! and what IPVS holds, stay as they were.
//!
//! keepalived counts address additions and removals per virtual server,
//! so a repeated addition (IPv6's second RTM_NEWADDR when DAD completes)
//! counts twice and a later single removal leaves the checkers on. This
//! core keeps the set of addresses itself, by interface and prefix, so
//! every repetition is one entry.

use std::collections::HashSet;
use std::net::IpAddr;

/// One address on one interface, as rtnetlink reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LocalAddr {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
}

/// What happens to a virtual server's checkers; the engine logs it with
/// keepalived's words for each of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// At start (or a reload that adds it): the address is absent. The
    /// core's start logs it (`VirtualServerCore::start_with`).
    Deactivate,
    /// The address appeared.
    Activate,
    /// The address went away.
    Suspend,
}

impl Transition {
    /// keepalived's verb: "`verb` healthchecker for service RS for VS VS".
    pub fn verb(self) -> &'static str {
        match self {
            Transition::Deactivate => "Deactivating",
            Transition::Activate => "Activating",
            Transition::Suspend => "Suspending",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Watch {
    addr: IpAddr,
    suspended: bool,
}

/// The host's addresses and, per virtual server (by index), whether its
/// checkers are suspended.
#[derive(Debug, Default)]
pub struct HaSuspend {
    local: HashSet<LocalAddr>,
    /// `Some` for a virtual server with `ha_suspend`: its address.
    watched: Vec<Option<Watch>>,
}

impl HaSuspend {
    /// `addrs`: per virtual server, its address when it has `ha_suspend`.
    /// Nothing is suspended before [`HaSuspend::start`].
    pub fn new(addrs: impl IntoIterator<Item = Option<IpAddr>>) -> HaSuspend {
        let watched = addrs.into_iter().map(|a| a.map(|addr| Watch { addr, suspended: false })).collect();
        HaSuspend { local: HashSet::new(), watched }
    }

    /// Whether any virtual server has `ha_suspend` (the engine needs the
    /// address events only then).
    pub fn wants_addresses(&self) -> bool {
        self.watched.iter().any(Option::is_some)
    }

    pub fn is_suspended(&self, vs: usize) -> bool {
        self.watched.get(vs).copied().flatten().is_some_and(|w| w.suspended)
    }

    /// The first dump of the host's addresses: every watched virtual
    /// server whose address is absent is deactivated.
    pub fn start(&mut self, dump: impl IntoIterator<Item = LocalAddr>) -> Vec<(usize, Transition)> {
        self.local = dump.into_iter().collect();
        let mut out = Vec::new();
        for (v, w) in self.watched.iter_mut().enumerate() {
            let Some(w) = w else { continue };
            let present = self.local.iter().any(|l| l.addr == w.addr);
            if !present {
                out.push((v, Transition::Deactivate));
            }
            w.suspended = !present;
        }
        out
    }

    /// A new dump after lost events: the host's addresses replaced, and
    /// every change of presence reported as an event would.
    pub fn resync(&mut self, dump: impl IntoIterator<Item = LocalAddr>) -> Vec<(usize, Transition)> {
        self.local = dump.into_iter().collect();
        self.settle()
    }

    /// RTM_NEWADDR.
    pub fn added(&mut self, a: LocalAddr) -> Vec<(usize, Transition)> {
        if !self.local.insert(a) {
            return Vec::new();
        }
        self.settle()
    }

    /// RTM_DELADDR.
    pub fn removed(&mut self, a: LocalAddr) -> Vec<(usize, Transition)> {
        if !self.local.remove(&a) {
            return Vec::new();
        }
        self.settle()
    }

    /// Whether `addr` is on one of the host's interfaces.
    pub fn is_local(&self, addr: IpAddr) -> bool {
        self.local.iter().any(|l| l.addr == addr)
    }

    /// A reload: the new configuration's virtual servers (with the index
    /// each had before when the engine kept it), judged against the
    /// addresses known now. A kept one goes on from its state before
    /// (active when it had no `ha_suspend`; activated when it loses it); a
    /// new one whose address is absent is deactivated.
    pub fn rewatch(
        &mut self,
        addrs: impl IntoIterator<Item = (Option<IpAddr>, Option<usize>)>,
    ) -> Vec<(usize, Transition)> {
        let old = std::mem::take(&mut self.watched);
        let mut out = Vec::new();
        for (v, (addr, was)) in addrs.into_iter().enumerate() {
            let Some(addr) = addr else {
                // A kept one that lost ha_suspend while suspended probes again.
                if was.and_then(|o| old.get(o).copied().flatten()).is_some_and(|w| w.suspended) {
                    out.push((v, Transition::Activate));
                }
                self.watched.push(None);
                continue;
            };
            let present = self.is_local(addr);
            // Suspended before (the engine keeps a virtual server only under the same address).
            let before = was.map(|o| old.get(o).copied().flatten().is_some_and(|w| w.suspended));
            match before {
                Some(true) if present => out.push((v, Transition::Activate)),
                Some(false) if !present => out.push((v, Transition::Suspend)),
                Some(_) => {}
                None if !present => out.push((v, Transition::Deactivate)),
                None => {}
            }
            self.watched.push(Some(Watch { addr, suspended: !present }));
        }
        out
    }

    fn settle(&mut self) -> Vec<(usize, Transition)> {
        let mut out = Vec::new();
        for (v, w) in self.watched.iter_mut().enumerate() {
            let Some(w) = w else { continue };
            let present = self.local.iter().any(|l| l.addr == w.addr);
            if present == w.suspended {
                out.push((v, if present { Transition::Activate } else { Transition::Suspend }));
                w.suspended = !present;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ifindex: u32, addr: &str) -> LocalAddr {
        let addr: IpAddr = addr.parse().unwrap();
        LocalAddr { ifindex, addr, prefix_len: if addr.is_ipv4() { 32 } else { 128 } }
    }

    fn vip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn absent_at_start_deactivates_then_follows_the_address() {
        use Transition::*;
        // VS 0 watches .1, VS 1 has no ha_suspend, VS 2 watches an IPv6 address.
        let mut h = HaSuspend::new([vip("198.18.0.1"), None, vip("2001:db8::1")]);
        assert!(h.wants_addresses());
        assert!(!h.is_suspended(0), "nothing is suspended before the dump");
        assert_eq!(h.start([at(1, "198.18.0.9"), at(2, "2001:db8::1")]), vec![(0, Deactivate)]);
        assert!(h.is_suspended(0) && !h.is_suspended(1) && !h.is_suspended(2));
        // Another address changes nothing; the VS address activates.
        assert!(h.added(at(1, "198.18.0.2")).is_empty());
        assert_eq!(h.added(at(1, "198.18.0.1")), vec![(0, Activate)]);
        assert!(!h.is_suspended(0));
        assert_eq!(h.removed(at(1, "198.18.0.1")), vec![(0, Suspend)]);
        assert!(h.is_suspended(0));
        assert_eq!(h.removed(at(2, "2001:db8::1")), vec![(2, Suspend)]);
        assert_eq!(h.added(at(2, "2001:db8::1")), vec![(2, Activate)]);
    }

    #[test]
    fn repeated_messages_and_second_interfaces_count_once_each() {
        use Transition::*;
        let mut h = HaSuspend::new([vip("2001:db8::1")]);
        assert_eq!(h.start([]), vec![(0, Deactivate)]);
        // Tentative, then DAD done: two RTM_NEWADDR for one address.
        assert_eq!(h.added(at(3, "2001:db8::1")), vec![(0, Activate)]);
        assert!(h.added(at(3, "2001:db8::1")).is_empty());
        // One removal takes it away (keepalived's counter would stay at 1).
        assert_eq!(h.removed(at(3, "2001:db8::1")), vec![(0, Suspend)]);
        assert!(h.removed(at(3, "2001:db8::1")).is_empty(), "a removal of what is absent");
        // On two interfaces: suspended only when both are gone.
        h.added(at(3, "2001:db8::1"));
        assert!(h.added(at(4, "2001:db8::1")).is_empty());
        assert!(h.removed(at(3, "2001:db8::1")).is_empty());
        assert_eq!(h.removed(at(4, "2001:db8::1")), vec![(0, Suspend)]);
    }

    #[test]
    fn resync_reports_what_changed_while_events_were_lost() {
        use Transition::*;
        let mut h = HaSuspend::new([vip("198.18.0.1"), vip("198.18.0.2")]);
        assert_eq!(h.start([at(1, "198.18.0.1")]), vec![(1, Deactivate)]);
        assert_eq!(h.resync([at(1, "198.18.0.2")]), vec![(0, Suspend), (1, Activate)]);
        assert!(h.resync([at(1, "198.18.0.2")]).is_empty());
    }

    #[test]
    fn reload_keeps_the_state_of_a_server_it_kept() {
        use Transition::*;
        let mut h = HaSuspend::new([vip("198.18.0.1"), vip("198.18.0.2")]);
        h.start([at(1, "198.18.0.2")]);
        // VS 0 kept (was 0), a new one on .3, VS 1 (.2) kept at index 2, one without.
        let got = h.rewatch([
            (vip("198.18.0.1"), Some(0)),
            (vip("198.18.0.3"), None),
            (vip("198.18.0.2"), Some(1)),
            (None, None),
        ]);
        assert_eq!(got, vec![(1, Deactivate)]);
        assert!(h.is_suspended(0) && h.is_suspended(1) && !h.is_suspended(2) && !h.is_suspended(3));
        // A kept one that gains ha_suspend (it was at 3, without) on an absent address: suspended;
        // the active one on .2 (at 2) stays so.
        let got = h.rewatch([(vip("198.18.0.4"), Some(3)), (vip("198.18.0.2"), Some(2))]);
        assert_eq!(got, vec![(0, Suspend)]);
        assert!(h.is_local("198.18.0.2".parse().unwrap()) && !h.is_local("198.18.0.4".parse().unwrap()));
        // The suspended one (0, on .4) loses ha_suspend: activated; nothing is watched any more.
        assert_eq!(h.rewatch([(None, Some(1)), (None, Some(0))]), vec![(1, Activate)]);
        assert!(!h.wants_addresses() && !h.is_suspended(1));
        assert!(!HaSuspend::new([None]).wants_addresses());
    }
}
