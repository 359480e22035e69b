//! Virtual addresses of an instance, as rtnetlink requests.

use std::net::IpAddr;

use crate::config::model::{Broadcast, VipSpec};
use crate::sys::addr::{self, AddrSpec, Scope};

/// The address request for `vip` on interface `ifindex` (named `ifname`).
pub fn addr_spec(vip: &VipSpec, ifindex: u32, ifname: &str) -> AddrSpec {
    let mut spec = AddrSpec::host(ifindex, vip.addr);
    spec.prefix_len = vip.prefix_len;
    spec.broadcast = match (&vip.brd, vip.addr) {
        (Some(Broadcast::Addr(IpAddr::V4(b))), _) => addr::Broadcast::Explicit(*b),
        (Some(Broadcast::Plus), IpAddr::V4(_)) => addr::Broadcast::Auto,
        _ => addr::Broadcast::None,
    };
    if let Some(scope) = vip.scope.as_deref().and_then(Scope::parse) {
        spec.scope = scope;
    }
    // The kernel refuses a label that does not start with the device name.
    spec.label = vip.label.clone().filter(|l| addr::validate_label(l, ifname).is_ok());
    if vip.addr.is_ipv6() {
        // A VIP must be usable at once, not after duplicate address detection.
        spec.nodad = true;
    }
    spec.peer = vip.peer;
    spec.preferred_lft = vip.preferred_lft.as_deref().and_then(preferred_lft);
    for (on, flag) in [
        (vip.home, addr::IFA_F_HOMEADDRESS),
        (vip.mngtmpaddr, addr::IFA_F_MANAGETEMPADDR),
        (vip.noprefixroute, addr::IFA_F_NOPREFIXROUTE),
        (vip.autojoin, addr::IFA_F_MCAUTOJOIN),
    ] {
        if on {
            spec.extra_flags |= flag;
        }
    }
    spec
}

/// `preferred_lft forever|SECONDS`: None is forever (the parser has
/// rejected anything else).
pub fn preferred_lft(value: &str) -> Option<u32> {
    value.parse().ok()
}

/// "198.18.0.100/24" for log lines.
pub fn show(vip: &VipSpec) -> String {
    format!("{}/{}", vip.addr, vip.prefix_len)
}
