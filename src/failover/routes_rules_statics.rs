//! `virtual_routes` / `virtual_rules` following an instance's VIPs, and
//! `static_ipaddress` / `static_routes` / `static_rules` installed for the
//! daemon's lifetime.

use log::{error, warn};

use super::VrrpEngine;
use crate::config::model::{GlobalDefs, RouteLine, RuleLine, VipSpec};
use crate::config::route::Route;
use crate::sys::link::{self};
use crate::sys::{addr, route, rule};

impl VrrpEngine {
    /// The instance's VIPs were added or removed: its virtual routes and
    /// rules follow (rules go first on the way out, last on the way in).
    pub(super) fn ext_vips_changed(&mut self, i: usize, add: bool) {
        let name = self.insts[i].cfg.name.clone();
        let routes = self.insts[i].cfg.virtual_routes.clone();
        let rules = self.insts[i].cfg.virtual_rules.clone();
        if !add {
            rules.iter().for_each(|line| self.rule_change(&name, line, false));
        }
        routes.iter().for_each(|line| self.route_change(&name, line, add));
        if add {
            rules.iter().for_each(|line| self.rule_change(&name, line, true));
        }
    }

    pub(super) fn rule_change(&mut self, owner: &str, line: &RuleLine, add: bool) {
        let spec = match &*line.parsed {
            Ok(r) => r,
            Err(e) => {
                error!("({owner}) rule '{}': {e}", line.words.join(" "));
                return;
            }
        };
        let res = if add { rule::add(&mut self.nl, spec) } else { rule::delete(&mut self.nl, spec) };
        if let Err(e) = res {
            error!(
                "({owner}) cannot {} rule '{}': {e}",
                if add { "add" } else { "remove" },
                line.words.join(" ")
            );
        }
    }

    pub(super) fn route_change(&mut self, owner: &str, line: &RouteLine, add: bool) {
        let Route { mut spec, dev } = match &*line.parsed {
            Ok(r) => r.clone(),
            Err(e) => {
                error!("({owner}) route '{}': {e}", line.words.join(" "));
                return;
            }
        };
        if let Some(dev) = &dev {
            match link::link_by_name(&mut self.nl, dev) {
                Ok(Some(l)) => spec.oif = Some(l.index),
                _ => {
                    warn!("({owner}) route '{}': device {dev} not found", line.words.join(" "));
                    return;
                }
            }
        }
        let res = if add { route::add(&mut self.nl, &spec) } else { route::delete(&mut self.nl, &spec) };
        if let Err(e) = res {
            error!(
                "({owner}) cannot {} route '{}': {e}",
                if add { "add" } else { "remove" },
                line.words.join(" ")
            );
        }
    }

    pub(super) fn install_statics(&mut self, add: bool) {
        if add == self.periphery.statics_installed && !add {
            return;
        }
        let (addrs, routes) = (self.periphery.static_addrs.clone(), self.periphery.static_routes.clone());
        let rules = self.periphery.static_rules.clone();
        self.static_changes(&addrs, &routes, &rules, add);
        self.periphery.statics_installed = add;
    }

    pub(super) fn static_changes(
        &mut self,
        addrs: &[VipSpec],
        routes: &[RouteLine],
        rules: &[RuleLine],
        add: bool,
    ) {
        // Addresses, routes, rules on the way in; the reverse on the way out.
        if !add {
            for r in rules {
                self.rule_change("static_rules", r, false);
            }
            for r in routes {
                self.route_change("static_routes", r, false);
            }
        }
        for a in addrs {
            let dev = static_dev(a, &self.global);
            let Ok(Some(l)) = link::link_by_name(&mut self.nl, &dev) else {
                warn!("static_ipaddress {}: device {dev} not found", super::vips::show(a));
                continue;
            };
            let spec = super::vips::addr_spec(a, l.index, &l.name);
            let res = if add { addr::add(&mut self.nl, &spec) } else { addr::delete(&mut self.nl, &spec) };
            if let Err(e) = res {
                error!("static_ipaddress {}: {e}", super::vips::show(a));
            }
        }
        if add {
            for r in routes {
                self.route_change("static_routes", r, true);
            }
            for r in rules {
                self.rule_change("static_rules", r, true);
            }
        }
    }
}

pub(super) fn same_addr(a: &VipSpec, b: &VipSpec) -> bool {
    (a.addr, a.prefix_len, &a.dev) == (b.addr, b.prefix_len, &b.dev)
}

/// The device of a `static_ipaddress` line: its `dev`, else `default_interface`.
pub(super) fn static_dev(a: &VipSpec, g: &GlobalDefs) -> String {
    a.dev.clone().unwrap_or_else(|| g.default_interface.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::load_clean as load;

    #[test]
    fn static_addresses_default_to_default_interface() {
        let c = load("global_defs {\n default_interface br0\n}\nstatic_ipaddress {\n 198.18.9.1/24\n 198.18.9.2/24 dev eth1\n}\n");
        let devs: Vec<String> = c.static_ipaddress.iter().map(|a| static_dev(a, &c.global)).collect();
        assert_eq!(devs, ["br0", "eth1"]);
        let c = load("static_ipaddress {\n 198.18.9.1/24\n}\n");
        assert_eq!(static_dev(&c.static_ipaddress[0], &c.global), "eth0", "keepalived's default");
    }
}
