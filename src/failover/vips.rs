//! Virtual addresses of an instance, as rtnetlink requests.

use std::net::IpAddr;
use std::time::{Duration, Instant};

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

/// Retries after a VIP add the kernel refused: this many, the first after
/// `VIP_RETRY_FIRST`, each wait twice the one before; then the instance
/// goes to FAULT (a MASTER without its addresses would draw the traffic
/// and drop it).
pub const VIP_ADD_RETRIES: u32 = 3;
pub const VIP_RETRY_FIRST: Duration = Duration::from_millis(200);

/// VIP adds that failed and when to try them again: a timer as data, the
/// engine runs it from its poll timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipRetry {
    /// Indices into the instance's VIPs then excluded VIPs, with the
    /// reason each failed last ("198.18.0.100/24 on eth0: ...").
    pub failed: Vec<(usize, String)>,
    /// Retries done so far.
    pub retries: u32,
    pub due: Instant,
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VipOutcome {
    /// Every address is there.
    Done,
    Retry(VipRetry),
    /// Out of retries: these still fail.
    GiveUp(Vec<(usize, String)>),
}

impl VipRetry {
    /// After the first attempt (`retries` 0) or a retry at `now` left `failed`.
    pub fn after(retries: u32, failed: Vec<(usize, String)>, now: Instant) -> VipOutcome {
        if failed.is_empty() {
            VipOutcome::Done
        } else if retries >= VIP_ADD_RETRIES {
            VipOutcome::GiveUp(failed)
        } else {
            let due = now + VIP_RETRY_FIRST * (1 << retries);
            VipOutcome::Retry(VipRetry { failed, retries, due })
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[test]
    fn refused_adds_are_retried_with_backoff_then_given_up() {
        let t0 = Instant::now();
        let failed = || vec![(1, "198.18.0.2/24 on eth0: Permission denied".to_string())];
        assert_eq!(VipRetry::after(0, Vec::new(), t0), VipOutcome::Done);
        let mut waits = Vec::new();
        let mut retries = 0;
        let mut now = t0;
        loop {
            match VipRetry::after(retries, failed(), now) {
                VipOutcome::Retry(r) => {
                    waits.push(r.due - now);
                    now = r.due;
                    retries = r.retries + 1;
                }
                VipOutcome::GiveUp(f) => {
                    assert_eq!(f, failed());
                    break;
                }
                VipOutcome::Done => unreachable!(),
            }
        }
        let ms = |m| Duration::from_millis(m);
        assert_eq!(waits, [ms(200), ms(400), ms(800)]);
        assert_eq!(VipRetry::after(1, Vec::new(), now), VipOutcome::Done, "a retry that works ends it");
    }
}
