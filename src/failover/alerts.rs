//! Notify scripts by state, and SMTP alerts (instance and group) with
//! keepalived's switches.

use super::VrrpEngine;
use crate::config::model::{Command as ConfCommand, GlobalDefs, Notify};
use crate::smtp::VrrpState;
use crate::vrrp::State;

impl VrrpEngine {
    pub(super) fn drain_mail(&mut self) {
        if let Some(m) = self.periphery.mailer.as_mut() {
            while let Some(r) = m.poll_result() {
                r.log();
            }
        }
    }
}

/// The script of `notify_master` / `_backup` / `_fault` / `_stop` for entering `to`.
pub(super) fn state_script(n: &Notify, to: State) -> Option<&ConfCommand> {
    match to {
        State::Master => n.master.as_ref(),
        State::Backup => n.backup.as_ref(),
        State::Fault => n.fault.as_ref(),
        State::Stop => n.stop.as_ref(),
        State::Init => None,
    }
}

/// What an instance that a reload removes reports instead of STOP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Removal {
    /// `notify_deleted`: DELETED, with the `notify_deleted` script.
    Deleted,
    /// keepalived's older default, kept for compatibility: FAULT, with `notify_fault`.
    Fault,
}

/// keepalived 2.2 (`clear_diff_vrrp`): an instance removed by a reload
/// reports DELETED when it has `notify_deleted`; otherwise FAULT, or nothing
/// when it was in FAULT already. A stop (SIGTERM) reports STOP either way.
pub(super) fn removal_report(notify_deleted: bool, was: State) -> Option<Removal> {
    match (notify_deleted, was) {
        (true, _) => Some(Removal::Deleted),
        (false, State::Fault) => None,
        (false, _) => Some(Removal::Fault),
    }
}

/// A sync group's `smtp_alert`, else `smtp_alert_vrrp`, else `smtp_alert`, else off.
pub(super) fn group_alert(smtp_alert: Option<bool>, g: &GlobalDefs) -> bool {
    smtp_alert.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false)
}

/// The alert for entering `to`, if one is sent (`no_email_faults`).
pub(super) fn alert_state(to: State, g: &GlobalDefs) -> Option<VrrpState> {
    match to {
        State::Master => Some(VrrpState::Master),
        State::Backup => Some(VrrpState::Backup),
        State::Fault if !g.no_email_faults => Some(VrrpState::Fault),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::load_clean as load;

    const VI: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n \
                      virtual_ipaddress {\n 198.18.0.1\n }\n";

    #[test]
    fn each_state_runs_its_notify_script() {
        let c = load(&format!(
            "{VI} notify_master /m\n notify_backup /b\n notify_fault /f\n notify_stop /s\n}}\n\
             vrrp_instance B {{\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {{\n 198.18.0.2\n }}\n}}\n\
             vrrp_sync_group G {{\n group {{\n A\n B\n }}\n notify_master /gm\n notify_backup /gb\n \
             notify_fault /gf\n notify_stop /gs\n}}\n"
        ));
        let prog = |n: &Notify, s| state_script(n, s).map(|c| c.program().to_string());
        let (i, g) = (&c.instances[0].notify, &c.sync_groups[0].notify);
        for (st, a, b) in [
            (State::Master, "/m", "/gm"),
            (State::Backup, "/b", "/gb"),
            (State::Fault, "/f", "/gf"),
            (State::Stop, "/s", "/gs"),
        ] {
            assert_eq!(prog(i, st).as_deref(), Some(a));
            assert_eq!(prog(g, st).as_deref(), Some(b));
        }
        assert_eq!(prog(i, State::Init), None);
    }

    #[test]
    fn a_removed_instance_reports_deleted_or_keepaliveds_fault() {
        for was in [State::Init, State::Backup, State::Master, State::Fault] {
            assert_eq!(removal_report(true, was), Some(Removal::Deleted), "{was:?}");
        }
        assert_eq!(removal_report(false, State::Master), Some(Removal::Fault));
        assert_eq!(removal_report(false, State::Backup), Some(Removal::Fault));
        assert_eq!(removal_report(false, State::Fault), None, "FAULT already reported");
    }

    #[test]
    fn alerts_follow_keepalived_switches() {
        let c = load(&format!("global_defs {{\n no_email_faults\n smtp_alert_vrrp\n}}\n{VI}}}\n"));
        assert!(c.instances[0].effective_smtp_alert(&c.global), "smtp_alert_vrrp turns VRRP alerts on");
        assert_eq!(alert_state(State::Fault, &c.global), None, "no_email_faults");
        assert_eq!(alert_state(State::Master, &c.global), Some(VrrpState::Master));
        let c =
            load(&format!("global_defs {{\n smtp_alert\n smtp_alert_vrrp off\n}}\n{VI} smtp_alert\n}}\n"));
        assert!(c.instances[0].effective_smtp_alert(&c.global), "the instance's smtp_alert wins");
        assert_eq!(alert_state(State::Fault, &c.global), Some(VrrpState::Fault));
        let c = load(&format!("global_defs {{\n smtp_alert\n smtp_alert_vrrp off\n}}\n{VI}}}\n"));
        assert!(!c.instances[0].effective_smtp_alert(&c.global), "smtp_alert_vrrp over smtp_alert");
        let c = load(
            "global_defs {\n smtp_alert_checker off\n}\nvirtual_server 198.18.0.1 80 {\n protocol TCP\n \
             real_server 198.18.1.1 80 {\n TCP_CHECK {\n }\n }\n real_server 198.18.1.2 80 {\n smtp_alert\n \
             TCP_CHECK {\n }\n }\n}\n",
        );
        let vs = &c.virtual_servers[0];
        assert!(!vs.real_servers[0].effective_smtp_alert(vs, &c.global), "smtp_alert_checker off");
        let c = load(&format!(
            "global_defs {{\n smtp_alert\n}}\n{VI}}}\nvrrp_instance B {{\n interface eth0\n virtual_router_id 2\n \
             virtual_ipaddress {{\n 198.18.0.2\n }}\n}}\nvrrp_sync_group G {{\n group {{\n A\n B\n }}\n smtp_alert off\n}}\n"
        ));
        assert!(!group_alert(c.sync_groups[0].smtp_alert, &c.global), "the group's smtp_alert wins");
        assert!(group_alert(None, &c.global), "else smtp_alert");
        assert!(vs.real_servers[1].effective_smtp_alert(vs, &c.global), "real_server smtp_alert");
    }
}
