//! The one place that binds engines to children: which children a
//! configuration needs, and what runs in each.

use super::{ChildStart, Engines, Needs};
use crate::config::Config;

pub fn engines() -> Engines {
    Engines {
        needs: Box::new(needs),
        vrrp: Box::new(|s: &ChildStart| {
            crate::engine::vrrp::subsystem(s.config, !s.opts.dont_release_vrrp, s.opts.address_monitoring)
        }),
        checker: Box::new(|s: &ChildStart| crate::check::subsystem(s.config, !s.opts.dont_release_ipvs)),
    }
}

/// keepalived's rule: a child per subsystem that has configuration.
fn needs(config: &Config) -> Needs {
    Needs { vrrp: !config.instances.is_empty(), checker: !config.virtual_servers.is_empty() }
}
