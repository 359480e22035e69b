//! `no_accept`: while an instance without accept mode is MASTER, its VIPs
//! sit in the sets of an nf_tables table whose rules drop traffic to and
//! from them (`sys::nftables` says what the table holds).
//!
//! [`Sets`] is the pure part: which tables exist and which elements are in
//! them, and the batch a change needs. A table is made on first need (any
//! table of that name left by a crashed run is replaced in the same
//! batch), elements are added only once and removed only if present (the
//! kernel refuses a batch that removes an absent one), and the tables go
//! at a clean exit. [`Firewall`] sends the batches.

use log::{error, info};

use super::VrrpEngine;
use crate::config::model::{GlobalDefs, VipSpec, VrrpInstance};
use crate::sys::nftables::{Batch, Element, LinkKey, Nftables, TableSpec, NFPROTO_IPV4, NFPROTO_IPV6};
use crate::sys::{Error, Result};

/// How a link-local VIP of `cfg` is keyed. keepalived keys by name under
/// `dont_track_primary`, where the interface may be made again beneath a
/// running instance, unless `nftables_ifindex` says otherwise.
pub fn link_key(cfg: &VrrpInstance, g: &GlobalDefs) -> LinkKey {
    if cfg.dont_track_primary && !g.nftables.ifindex {
        LinkKey::Name
    } else {
        LinkKey::Index
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sets {
    spec: TableSpec,
    /// Families whose table exists.
    tables: Vec<u8>,
    /// A handful (the VIPs of the masters without accept mode): a Vec.
    present: Vec<Element>,
}

impl Sets {
    pub fn new(spec: TableSpec) -> Sets {
        Sets { spec, tables: Vec::new(), present: Vec::new() }
    }

    /// The batch that adds (`add`) or removes `elems`, None when nothing changes.
    pub fn change(&mut self, add: bool, elems: &[Element]) -> Option<Batch> {
        let todo: Vec<Element> = elems.iter().filter(|e| self.present.contains(*e) != add).cloned().collect();
        if todo.is_empty() {
            return None;
        }
        let mut batch = Batch::new();
        for e in &todo {
            if add && !self.tables.contains(&e.family) {
                self.tables.push(e.family);
                batch.create_table(e.family, &self.spec);
            }
        }
        batch.elements(add, &self.spec.name, &todo);
        if add {
            self.present.extend(todo);
        } else {
            self.present.retain(|e| !todo.contains(e));
        }
        Some(batch)
    }

    /// Delete the tables this run made.
    pub fn close(&mut self) -> Option<Batch> {
        if self.tables.is_empty() {
            return None;
        }
        let mut batch = Batch::new();
        for family in std::mem::take(&mut self.tables) {
            batch.delete_table(family, &self.spec.name);
        }
        self.present.clear();
        Some(batch)
    }

    /// Remove tables of this name that an earlier run left, of both families.
    pub fn leftovers(&self) -> Batch {
        let mut batch = Batch::new();
        for family in [NFPROTO_IPV4, NFPROTO_IPV6] {
            batch.remove_table(family, &self.spec.name);
        }
        batch
    }

    pub fn table(&self) -> &str {
        &self.spec.name
    }
}

/// The sets and the netfilter socket, opened on first need.
pub struct Firewall {
    sets: Sets,
    nft: Option<Nftables>,
}

impl Firewall {
    pub fn new(g: &GlobalDefs) -> Firewall {
        let spec = TableSpec {
            name: g.nftables.table_name().to_string(),
            priority: g.nftables.priority,
            counters: g.nftables.counters,
        };
        Firewall { sets: Sets::new(spec), nft: None }
    }

    /// Add or remove `elems`: whether anything changed. On failure nothing
    /// did (the kernel applies a batch whole or not at all).
    pub fn change(&mut self, add: bool, elems: &[Element]) -> Result<bool> {
        let before = self.sets.clone();
        let Some(batch) = self.sets.change(add, elems) else { return Ok(false) };
        let verb = if add { "add VIPs to" } else { "remove VIPs from" };
        self.send(batch, verb).inspect_err(|_| self.sets = before).map(|()| true)
    }

    /// At start: a table of this name left by a crashed run goes.
    pub fn remove_leftovers(&mut self) -> Result<()> {
        let batch = self.sets.leftovers();
        self.send(batch, "remove a leftover table")
    }

    /// At a clean exit: the tables go.
    pub fn close(&mut self) -> Result<()> {
        match self.sets.close() {
            Some(batch) => self.send(batch, "delete table"),
            None => Ok(()),
        }
    }

    pub fn table(&self) -> &str {
        self.sets.table()
    }

    fn send(&mut self, batch: Batch, what: &str) -> Result<()> {
        let what = format!("nftables: {what} table {}", self.sets.table());
        let nft = match self.nft.as_mut() {
            Some(n) => n,
            None => {
                let opened =
                    Nftables::open().map_err(|e| Error::new(e.errno(), format!("{what}: {}", e.context())));
                self.nft.insert(opened?)
            }
        };
        nft.send(batch, &what)
    }
}

impl VrrpEngine {
    /// At start: say which instances firewall their VIPs, and remove a
    /// table a crashed run left.
    pub(super) fn firewall_start(&mut self) {
        let blocking: Vec<&str> = self
            .insts
            .iter()
            .filter(|i| i.cfg.blocks_vips(&self.global))
            .map(|i| i.cfg.name.as_str())
            .collect();
        if blocking.is_empty() {
            return;
        }
        info!(
            "no_accept: the VIPs of {} are firewalled while master (nftables table {})",
            blocking.join(", "),
            self.firewall.table()
        );
        if let Err(e) = self.firewall.remove_leftovers() {
            error!("{e}");
        }
    }

    /// A MASTER resumed from the previous child (`resume.rs`) keeps its
    /// VIPs, so they are blocked again.
    pub(super) fn firewall_resumed(&mut self, i: usize) {
        let inst = &self.insts[i];
        let vips: Vec<VipSpec> = inst.cfg.vips.iter().chain(&inst.cfg.vips_excluded).cloned().collect();
        for vip in vips {
            if let Ok((ifindex, ifname)) = self.vip_device(i, &vip) {
                self.block_vip(i, vip.addr, ifindex, &ifname, true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vip(a: &str) -> Element {
        Element::for_vip(a.parse().unwrap(), 2, "eth0", LinkKey::Index)
    }

    fn spec() -> TableSpec {
        TableSpec { name: "keepalived".into(), priority: -1, counters: false }
    }

    #[test]
    fn link_local_vips_are_keyed_by_name_only_under_dont_track_primary() {
        let text = "global_defs {\n nftables_ifindex\n nftables_priority 7\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n no_accept\n dont_track_primary\n\
             virtual_ipaddress {\n fe80::1\n }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 2\n dont_track_primary\n\
             virtual_ipaddress {\n fe80::2\n }\n}\n";
        let opts = crate::config::LoadOptions::default();
        let loaded = crate::config::load_bytes("t.conf", text.as_bytes(), std::path::Path::new("/"), &opts);
        assert!(!loaded.has_errors(), "{:?}", loaded.diags);
        let cfg = loaded.config;
        let (a, b) = (&cfg.instances[0], &cfg.instances[1]);
        let mut g = cfg.global.clone();
        assert_eq!(g.nftables.priority, 7);
        assert!(a.blocks_vips(&g) && !b.blocks_vips(&g));
        assert_eq!(link_key(a, &g), LinkKey::Index, "nftables_ifindex");
        g.nftables.ifindex = false;
        assert_eq!(link_key(a, &g), LinkKey::Name);
        let mut tracked = a.clone();
        tracked.dont_track_primary = false;
        assert_eq!(link_key(&tracked, &g), LinkKey::Index);
        assert_eq!(Firewall::new(&g).sets.spec.priority, 7);
    }

    #[test]
    fn tables_are_made_on_first_need_and_elements_change_once() {
        let mut s = Sets::new(spec());
        assert!(s.change(false, &[vip("198.18.0.1")]).is_none(), "nothing to remove");
        let first = s.change(true, &[vip("198.18.0.1")]).unwrap().finish();
        // begin, new+del (leftover), new table, 2 chains, set, 2 rules, elements, end.
        assert_eq!(first.len(), 11);
        assert!(s.change(true, &[vip("198.18.0.1")]).is_none(), "already there");
        let second = s.change(true, &[vip("198.18.0.1"), vip("198.18.0.2")]).unwrap().finish();
        assert_eq!(second.len(), 3, "the table exists: only the new element");
        let v6 = s.change(true, &[vip("2001:db8::1")]).unwrap().finish();
        assert!(v6.len() > 3, "the IPv6 table is made when an IPv6 VIP first needs it");
        assert_eq!(s.change(false, &[vip("198.18.0.1"), vip("198.18.0.2")]).unwrap().finish().len(), 3);
        assert!(s.change(false, &[vip("198.18.0.1")]).is_none());
        assert_eq!(s.close().unwrap().finish().len(), 4, "both tables deleted");
        assert!(s.close().is_none());
        assert_eq!(s.leftovers().finish().len(), 6);
    }
}
