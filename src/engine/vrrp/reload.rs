//! SIGHUP: apply a new configuration without disturbing what did not change.
//!
//! Instances are matched by name. One whose runtime configuration is
//! identical (ignoring where in the file it was written) keeps its core —
//! state, timers, master, counters — and its VIPs, so a reload is invisible
//! on the wire. A removed instance leaves as on shutdown (priority 0, VIPs
//! removed); a new one starts as at start-up. A changed one does both,
//! which costs at most what a restart of that one instance costs, except
//! that its AH sequence number carries over, as in keepalived.
//!
//! A pending instance (`pending.rs`) is not running, so `plan` sees it as
//! new when the configuration still has it: it is tried again with its new
//! configuration, and waits again or starts. One the configuration dropped
//! is forgotten.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::Instant as StdInstant;

use log::info;
use mio::unix::SourceFd;
use mio::Registry;

use super::VrrpEngine;
use crate::config::model::{GlobalDefs, VrrpInstance};
use crate::config::Config;
use crate::daemon::event_loop::TokenAlloc;

/// What a reload does to one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Keep,
    Restart,
    Remove,
}

/// Decide each running instance's fate; names in `new` that are not
/// running are the ones to add.
pub fn plan(running: &[(&VrrpInstance, &GlobalDefs)], new: &Config) -> (Vec<Fate>, Vec<usize>) {
    let fates = running
        .iter()
        .map(|(old, og)| match new.instance(&old.name) {
            None => Fate::Remove,
            Some(n) if fingerprint(old, og) == fingerprint(n, &new.global) => Fate::Keep,
            Some(_) => Fate::Restart,
        })
        .collect();
    let added = new
        .instances
        .iter()
        .enumerate()
        .filter(|(_, n)| !running.iter().any(|(old, _)| old.name == n.name))
        .map(|(i, _)| i)
        .collect();
    (fates, added)
}

/// Everything about an instance that affects how it runs, and nothing
/// about where it was written: the model's Debug text with every `loc` and
/// `locs` field cut out, plus the protocol parameters, which carry the
/// global settings the instance inherits (a changed `router_id` alone
/// restarts nothing). auth_hmac keys are kept out of Debug text, so their
/// bytes are added here: a new key (or key file content) is a change.
/// The fingerprint is only compared, never logged.
pub fn fingerprint(inst: &VrrpInstance, g: &GlobalDefs) -> String {
    let any =
        if inst.is_ipv6() { IpAddr::V6(Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
    let params = super::params::instance_params(inst, g, any);
    let group = (!inst.is_unicast()).then(|| super::mcast_group(g, params.family));
    let keys = inst.auth_hmac.as_ref().map(|h| &h.keys);
    strip_locs(&format!("{inst:?}|{params:?}|{group:?}|{:?}|{keys:?}", g.script_user))
}

fn strip_locs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = ["loc: Loc {", "locs: Locs("].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..pos]);
        // Skip to the bracket that closes the one opened by the field.
        let open = rest[pos..].find(['{', '(']).map_or(rest.len(), |o| pos + o);
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest[open..].char_indices() {
            match c {
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl VrrpEngine {
    /// Apply `new` (already validated by the parent).
    pub(super) fn reload_config(
        &mut self,
        registry: &Registry,
        tokens: &mut TokenAlloc,
        new: &Config,
        now: StdInstant,
    ) -> Result<(), String> {
        let running: Vec<(&VrrpInstance, &GlobalDefs)> =
            self.insts.iter().map(|i| (&i.cfg, &self.global)).collect();
        let (fates, added) = plan(&running, new);
        let mut to_start: Vec<&VrrpInstance> = added.iter().map(|&i| &new.instances[i]).collect();
        let vnow = self.vnow(now);
        // AH and auth_hmac sequence numbers of the restarted instances, by name.
        let mut ah_seqs = HashMap::new();

        // Leave first, so a restarted instance's VIPs are not removed after
        // its new self has added them.
        for (i, fate) in fates.iter().enumerate() {
            if *fate == Fate::Keep {
                continue;
            }
            info!(
                "({}) {} on reload",
                self.insts[i].cfg.name,
                if *fate == Fate::Remove { "removed" } else { "changed" }
            );
            self.insts[i].core.shutdown(vnow);
            self.apply(i, now);
            if self.insts[i].vips_set {
                self.set_vips(i, false);
            }
            self.vmac_teardown(i);
            let core = &self.insts[i].core;
            ah_seqs.insert(self.insts[i].cfg.name.clone(), (core.ah_seq(), core.hmac_seq()));
            if *fate == Fate::Restart {
                if let Some(n) = new.instance(&self.insts[i].cfg.name) {
                    to_start.push(n);
                }
            }
        }

        // Keep the survivors in order and renumber what refers to them.
        let old = std::mem::take(&mut self.insts);
        let mut renumber = HashMap::new();
        for (i, (inst, fate)) in old.into_iter().zip(&fates).enumerate() {
            if *fate == Fate::Keep {
                renumber.insert(i, self.insts.len());
                self.insts.push(inst);
            }
        }
        self.garps.renumber(&renumber);
        self.global = new.global.clone();
        self.children = crate::script::fifo::children(new, self.only);
        self.open_fifos(now);

        let (links, addrs) =
            super::links_and_addrs(&mut self.nl).map_err(|e| format!("interface dump: {e}"))?;
        self.pending.retain(|p| {
            let kept = new.instance(&p.cfg.name).is_some();
            if !kept {
                info!("({}) removed on reload (it was waiting for {})", p.cfg.name, p.waiting_for);
            }
            kept
        });
        let first_new = self.insts.len();
        for cfg in to_start {
            if let Some(i) = self.add_instance(cfg, &links, &addrs) {
                if let Some(&(seq, hmac_seq)) = ah_seqs.get(&cfg.name) {
                    self.insts[i].core.continue_ah_seq(seq);
                    self.insts[i].core.continue_hmac_seq(hmac_seq);
                }
            }
        }
        self.rebuild_socket_members();
        self.drop_idle_sockets(registry);
        self.register_sockets(registry).map_err(|e| format!("register socket: {e}"))?;
        self.ext_reload(registry, tokens, new, now);
        self.check_scripts();
        self.reevaluate(now);
        for i in first_new..self.insts.len() {
            self.start_instance(i, now);
        }
        Ok(())
    }

    fn rebuild_socket_members(&mut self) {
        for s in &mut self.socks {
            s.members.clear();
        }
        for (i, inst) in self.insts.iter().enumerate() {
            self.socks[inst.sock].members.push(i);
        }
    }

    /// Close sockets no instance uses any more (leaving their groups).
    fn drop_idle_sockets(&mut self, registry: &Registry) {
        let mut index = HashMap::new();
        let old = std::mem::take(&mut self.socks);
        for (i, s) in old.into_iter().enumerate() {
            if s.members.is_empty() {
                if s.token != super::NO_TOKEN {
                    let _ = registry.deregister(&mut SourceFd(&s.sock.as_raw_fd()));
                }
                continue;
            }
            index.insert(i, self.socks.len());
            self.socks.push(s);
        }
        for inst in &mut self.insts {
            inst.sock = index[&inst.sock];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_bytes, LoadOptions};
    use std::path::Path;

    fn load(text: &str) -> Config {
        let opts = LoadOptions { config_id: "n".into(), host_checks: false };
        load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts).config
    }

    const A: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
                     virtual_ipaddress {\n 198.18.0.1\n }\n}\n";
    const B: &str = "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n \
                     virtual_ipaddress {\n 198.18.0.2\n }\n}\n";

    #[test]
    fn unchanged_instances_are_kept_even_when_moved_in_the_file() {
        let old = load(&format!("{A}{B}"));
        let new = load(&format!("! a comment that shifts every line\n\n{B}{A}"));
        let running: Vec<_> = old.instances.iter().map(|i| (i, &old.global)).collect();
        let (fates, added) = plan(&running, &new);
        assert_eq!(fates, vec![Fate::Keep, Fate::Keep]);
        assert!(added.is_empty());
    }

    #[test]
    fn removed_changed_and_added_are_told_apart() {
        let old = load(&format!("{A}{B}"));
        let c = B.replace("vrrp_instance B", "vrrp_instance C").replace("router_id 2", "router_id 3");
        let new = load(&format!("{}{c}", A.replace("priority 100", "priority 101")));
        let running: Vec<_> = old.instances.iter().map(|i| (i, &old.global)).collect();
        let (fates, added) = plan(&running, &new);
        assert_eq!(fates, vec![Fate::Restart, Fate::Remove]);
        assert_eq!(added, vec![1]);
    }

    #[test]
    fn a_global_that_does_not_reach_the_instance_is_not_a_change() {
        let old = load(A);
        let new = load(&format!("global_defs {{\n router_id other\n}}\n{A}"));
        let running: Vec<_> = old.instances.iter().map(|i| (i, &old.global)).collect();
        assert_eq!(plan(&running, &new).0, vec![Fate::Keep]);
    }

    #[test]
    fn a_global_default_an_instance_inherits_is_a_change() {
        let old = load(A);
        let new = load(&format!("global_defs {{\n vrrp_garp_master_repeat 2\n}}\n{A}"));
        let running: Vec<_> = old.instances.iter().map(|i| (i, &old.global)).collect();
        assert_eq!(plan(&running, &new).0, vec![Fate::Restart]);
    }

    #[test]
    fn a_new_multicast_group_restarts_multicast_instances_only() {
        let u = A.replace("priority 100\n", "priority 100\n unicast_peer {\n 198.18.0.9\n }\n");
        let u = u.replace("vrrp_instance A", "vrrp_instance U");
        let old = load(&format!("{A}{u}"));
        let new = load(&format!("global_defs {{\n vrrp_mcast_group4 224.0.0.100\n}}\n{A}{u}"));
        let running: Vec<_> = old.instances.iter().map(|i| (i, &old.global)).collect();
        assert_eq!(plan(&running, &new).0, vec![Fate::Restart, Fate::Keep]);
    }

    #[test]
    fn a_new_auth_hmac_key_is_a_change() {
        let with = |key: &str, mode: &str| {
            A.replace(
                " priority 100\n",
                &format!(" priority 100\n auth_hmac {{\n key 1 {key}\n active_key 1\n mode {mode}\n }}\n"),
            )
        };
        let k1 = "0123456789abcdef0123456789abcdef";
        let k2 = "0123456789abcdef0123456789abcdeF";
        let old = load(&with(k1, "enforce"));
        let running: Vec<_> = old.instances.iter().map(|i| (i, &old.global)).collect();
        assert_eq!(plan(&running, &load(&with(k1, "enforce"))).0, vec![Fate::Keep]);
        assert_eq!(plan(&running, &load(&with(k2, "enforce"))).0, vec![Fate::Restart], "same id and length");
        assert_eq!(plan(&running, &load(&with(k1, "permissive"))).0, vec![Fate::Restart]);
        assert_eq!(plan(&running, &load(A)).0, vec![Fate::Restart]);
    }

    #[test]
    fn strip_locs_handles_nesting() {
        let s = "X { a: 1, loc: Loc { file: \"f\", line: 3, col: 1 }, b: [2], locs: Locs([(\"k\", Loc { line: 2 })]) }";
        assert_eq!(strip_locs(s), "X { a: 1, , b: [2],  }");
    }
}
