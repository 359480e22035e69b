//! How a child is scheduled: keepalived's `vrrp_rt_priority`,
//! `vrrp_priority`, `vrrp_no_swap` and `vrrp_rlimit_rttime` (and their
//! `checker_` forms). A VRRP child with sub-second adverts runs SCHED_RR at
//! priority 1 unless the config says otherwise: its master-down interval is
//! then tens of milliseconds, and a busy machine must not delay it that
//! long (a compile on the soak machine did, and the backup took over). The
//! kernel's realtime throttling still leaves other tasks 5 % of each CPU.
//!
//! `max_auto_priority` / `min_auto_priority_delay` ([`AutoPriority`]): as
//! keepalived's children do, a child whose loop wakes up more than the delay
//! (default 1 s) after its earliest timer was due logs "A thread timer
//! expired N seconds ago" and raises itself one SCHED_RR step (to 1 when it
//! is not realtime yet), up to the maximum. Lowering happens only at a
//! restart of the child, as with the other settings (see `child.rs`).

use std::time::{Duration, Instant};

use crate::config::model::{Config, GlobalDefs, Scheduling};

use super::ChildKind;

/// What to apply; pure, so the defaults are unit-tested.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub rt_priority: Option<u32>,
    pub nice: Option<i32>,
    pub no_swap: bool,
    pub rlimit_rttime_us: Option<u32>,
    /// The realtime priority is vigil's default, not the config's.
    pub rt_by_default: bool,
}

pub fn plan(kind: ChildKind, config: &Config) -> Plan {
    let (sched, fast): (&Scheduling, bool) = match kind {
        ChildKind::Vrrp => {
            let fast = config.instances.iter().any(|i| i.advert_int < Duration::from_secs(1));
            (&config.global.vrrp_sched, fast)
        }
        ChildKind::Checker => (&config.global.checker_sched, false),
    };
    let (rt_priority, rt_by_default) = match sched.rt_priority {
        Some(0) => (None, false),
        Some(p) => (Some(p), false),
        None if fast => (Some(1), true),
        None => (None, false),
    };
    Plan {
        rt_priority,
        nice: sched.nice,
        no_swap: sched.no_swap,
        rlimit_rttime_us: sched.rlimit_rttime,
        rt_by_default,
    }
}

/// Apply `plan` to this process; each failure is logged and skipped (no
/// CAP_SYS_NICE in a container must not stop the daemon).
pub fn apply(label: &str, plan: &Plan) {
    if let Some(nice) = plan.nice {
        // SAFETY: plain syscall on this process.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
            log::warn!("{label}: cannot set priority {nice}: {}", std::io::Error::last_os_error());
        }
    }
    if plan.no_swap {
        // SAFETY: plain syscall on this process.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
            log::warn!("{label}: cannot lock memory: {}", std::io::Error::last_os_error());
        }
    }
    if let Some(us) = plan.rlimit_rttime_us {
        let limit = libc::rlimit { rlim_cur: us.into(), rlim_max: us.into() };
        // SAFETY: a valid rlimit for this process.
        if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &limit) } != 0 {
            log::warn!("{label}: cannot set RLIMIT_RTTIME: {}", std::io::Error::last_os_error());
        }
    }
    if let Some(prio) = plan.rt_priority {
        if let Err(e) = set_realtime(prio) {
            log::warn!("{label}: cannot use realtime scheduling: {e}");
        } else if plan.rt_by_default {
            log::info!(
                "{label}: realtime scheduling (SCHED_RR 1) for sub-second adverts; vrrp_rt_priority 0 turns it off"
            );
        } else {
            log::info!("{label}: realtime scheduling (SCHED_RR {prio})");
        }
    }
}

/// SCHED_RR at `prio` for this process; scripts it forks start as normal tasks.
fn set_realtime(prio: u32) -> std::io::Result<()> {
    // SAFETY: all-zero is a valid sched_param (musl's has extra fields).
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    param.sched_priority = prio.try_into().unwrap_or(1);
    // Scripts we fork must not inherit realtime scheduling.
    let policy = libc::SCHED_RR | libc::SCHED_RESET_ON_FORK;
    // The raw syscall: musl's wrapper is a stub that returns ENOSYS.
    // SAFETY: a valid sched_param for this process.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setscheduler, 0, policy, &param as *const _) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// This process's realtime priority, `None` when it is not realtime.
fn current_realtime() -> Option<u32> {
    // Raw syscalls: musl's wrappers are stubs (see `set_realtime`).
    // SAFETY: plain syscall on this process.
    let policy = unsafe { libc::syscall(libc::SYS_sched_getscheduler, 0) };
    let policy = i32::try_from(policy).ok()? & !libc::SCHED_RESET_ON_FORK;
    if policy != libc::SCHED_RR && policy != libc::SCHED_FIFO {
        return None;
    }
    // SAFETY: all-zero is a valid sched_param; the kernel fills it.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer for this process.
    let rc = unsafe { libc::syscall(libc::SYS_sched_getparam, 0, &mut param as *mut _) };
    (rc == 0).then(|| u32::try_from(param.sched_priority).unwrap_or(0))
}

/// keepalived's `max_auto_priority` and `min_auto_priority_delay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoPriority {
    /// The highest SCHED_RR priority to raise to.
    pub max: u32,
    /// How long after its due time a timer must fire to count as late.
    pub min_delay: Duration,
}

impl AutoPriority {
    /// `None` unless `max_auto_priority` is set (keepalived's default is off).
    pub fn from_config(g: &GlobalDefs) -> Option<AutoPriority> {
        g.max_auto_priority.map(|max| AutoPriority { max, min_delay: g.min_auto_priority_delay })
    }

    /// How late the loop woke for a deadline `due`, when that counts.
    pub fn lateness(&self, due: Instant, now: Instant) -> Option<Duration> {
        now.checked_duration_since(due).filter(|late| *late > self.min_delay)
    }

    /// The next priority from `current` (`None`: not realtime), or `None`
    /// at the maximum already.
    pub fn next(&self, current: Option<u32>) -> Option<u32> {
        match current {
            None => Some(1),
            Some(p) if p < self.max => Some(p + 1),
            Some(_) => None,
        }
    }

    /// The loop woke at `now` for a timer due at `due`: log and raise this
    /// process one step if that was late (the I/O edge of `lateness`/`next`).
    pub fn woke(&self, label: &str, due: Instant, now: Instant) {
        let Some(late) = self.lateness(due, now) else { return };
        log::info!("A thread timer expired {}.{:06} seconds ago", late.as_secs(), late.subsec_micros());
        let Some(prio) = self.next(current_realtime()) else { return };
        match set_realtime(prio) {
            Ok(()) => log::info!("Set realtime priority {prio}"),
            Err(e) => log::warn!("{label}: cannot raise realtime priority to {prio}: {e}"),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    use crate::config::load_clean as load;

    fn instance(advert: &str) -> String {
        format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n version 3\n advert_int {advert}\n}}\n")
    }

    #[test]
    fn sub_second_adverts_get_realtime_unless_turned_off() {
        let p = plan(ChildKind::Vrrp, &load(&instance("0.05")));
        assert_eq!((p.rt_priority, p.rt_by_default), (Some(1), true));
        assert_eq!(plan(ChildKind::Vrrp, &load(&instance("1"))), Plan::default());
        assert_eq!(plan(ChildKind::Checker, &load(&instance("0.05"))), Plan::default());
        let off = format!("global_defs {{\n vrrp_rt_priority 0\n}}\n{}", instance("0.05"));
        assert_eq!(plan(ChildKind::Vrrp, &load(&off)).rt_priority, None);
    }

    #[test]
    fn late_timers_raise_the_priority_a_step_at_a_time() {
        assert_eq!(AutoPriority::from_config(&load(&instance("1")).global), None, "off by default");
        let c = load(&format!(
            "global_defs {{\n max_auto_priority 3\n min_auto_priority_delay 200000\n}}\n{}",
            instance("1")
        ));
        let auto = AutoPriority::from_config(&c.global).unwrap();
        assert_eq!(auto, AutoPriority { max: 3, min_delay: Duration::from_millis(200) });
        let due = Instant::now();
        assert_eq!(auto.lateness(due, due + Duration::from_millis(200)), None, "not later than the delay");
        assert_eq!(auto.lateness(due + Duration::from_secs(1), due), None, "early");
        assert_eq!(auto.lateness(due, due + Duration::from_millis(201)), Some(Duration::from_millis(201)));
        assert_eq!((auto.next(None), auto.next(Some(1)), auto.next(Some(3))), (Some(1), Some(2), None));
        let bare = load(&format!("global_defs {{\n max_auto_priority\n}}\n{}", instance("1")));
        let auto = AutoPriority::from_config(&bare.global).unwrap();
        assert_eq!(
            auto,
            AutoPriority { max: 99, min_delay: Duration::from_secs(1) },
            "keepalived's defaults"
        );
        for off in ["0", "-1"] {
            let c = load(&format!("global_defs {{\n max_auto_priority {off}\n}}\n{}", instance("1")));
            assert_eq!(AutoPriority::from_config(&c.global), None, "{off} turns it off");
        }
    }

    #[test]
    fn keywords_map_to_the_plan() {
        let conf = format!(
            "global_defs {{\n vrrp_rt_priority 20\n vrrp_priority -5\n vrrp_no_swap\n vrrp_rlimit_rttime 100000\n\
             checker_priority 10\n checker_rt_priority 5\n checker_no_swap\n checker_rlimit_rttime 50000\n}}\n{}",
            instance("1")
        );
        let c = load(&conf);
        let want = Plan {
            rt_priority: Some(20),
            nice: Some(-5),
            no_swap: true,
            rlimit_rttime_us: Some(100_000),
            rt_by_default: false,
        };
        assert_eq!(plan(ChildKind::Vrrp, &c), want);
        let checker = Plan {
            rt_priority: Some(5),
            nice: Some(10),
            no_swap: true,
            rlimit_rttime_us: Some(50_000),
            rt_by_default: false,
        };
        assert_eq!(plan(ChildKind::Checker, &c), checker);
    }
}
