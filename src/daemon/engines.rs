//! The one place that binds engines to children: which children a
//! configuration needs, and what runs in each.

use super::{ChildStart, Engines, Needs};
use crate::config::Config;
use crate::script::fifo::Only;

pub fn engines() -> Engines {
    Engines {
        needs: Box::new(needs),
        vrrp: Box::new(|s: &ChildStart| {
            crate::failover::subsystem(
                s.config,
                only(s),
                !s.settings.dont_release_vrrp,
                s.settings.address_monitoring,
                Some(crate::failover::ResumeFrom {
                    state_file: s.state_file.to_path_buf(),
                    config_digest: s.config_digest.clone(),
                    predecessor: s.predecessor,
                }),
            )
        }),
        checker: Box::new(|s: &ChildStart| {
            crate::check::subsystem(
                s.config,
                only(s),
                !s.settings.dont_release_ipvs,
                Some(crate::sys::state_file::ResumeFrom {
                    state_file: s.state_file.to_path_buf(),
                    config_digest: s.config_digest.clone(),
                    predecessor: s.predecessor,
                }),
            )
        }),
    }
}

/// `-P` / `-C`, which the notify FIFOs need to know who reads the global one.
fn only(s: &ChildStart) -> Only {
    Only { vrrp: s.settings.vrrp_only, checker: s.settings.check_only }
}

/// keepalived's rule: a child per subsystem that has configuration.
fn needs(config: &Config) -> Needs {
    Needs { vrrp: !config.instances.is_empty(), checker: !config.virtual_servers.is_empty() }
}
