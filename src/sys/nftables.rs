//! nf_tables requests for `no_accept`: a pure encoder of netlink batches
//! (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_NFTABLES) and the exchange
//! that sends one and checks every acknowledgement.
//!
//! What a table holds, per family (`nft list table ip keepalived`):
//! chains `in` (input hook) and `out` (output hook), filter type, policy
//! accept, at the configured priority; a set `vips`; rules dropping packets
//! to (`in`) and from (`out`) an address in it. IPv6 also lets neighbour
//! solicitations and advertisements through first (the VIP must stay
//! reachable at the link layer) and keeps link-local VIPs in sets keyed by
//! address and interface (`vips_link_local` by index, `vips_link_local_name`
//! by name), since the same link-local address may live on several links.
//!
//! Layouts are `linux/netfilter/nfnetlink.h` and `nf_tables.h`; nf_tables
//! attribute values are big-endian except register contents, which hold
//! what the packet or the meta key put there (addresses in network order,
//! an interface index in host order).

use std::net::IpAddr;

use super::netlink::msg::{Request, NLM_F_ACK, NLM_F_CREATE};
use super::netlink::{AttrWriter, Socket};
use super::Result;

pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NLM_F_APPEND: u16 = 0x800;

const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
/// Every expression's first two attributes are its source or destination
/// register and its main parameter; the numbers differ per expression.
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;

const NF_INET_LOCAL_IN: u32 = 1;
const NF_INET_LOCAL_OUT: u32 = 3;
pub const NF_DROP: u32 = 0;
pub const NF_ACCEPT: u32 = 1;
const NFT_REG_VERDICT: u32 = 0;
/// 16-byte registers: a 20- or 32-byte key starts in REG_1 and runs on into REG_2.
const NFT_REG_1: u32 = 1;
const NFT_REG_2: u32 = 2;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_META_IIF: u32 = 4;
const NFT_META_OIF: u32 = 5;
const NFT_META_IIFNAME: u32 = 6;
const NFT_META_OIFNAME: u32 = 7;
const NFT_CMP_EQ: u32 = 0;

/// nft's data type numbers, which only `nft list` reads (how to print a key).
const TYPE_IPADDR: u32 = 7;
const TYPE_IP6ADDR: u32 = 8;
const TYPE_IFINDEX: u32 = 20;
const TYPE_ICMPV6_TYPE: u32 = 29;
const TYPE_IFNAME: u32 = 41;
/// A concatenated key's type: the first field's type shifted by this much per field.
const TYPE_BITS: u32 = 6;

const IFNAMSIZ: usize = 16;
const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;

pub const SET_VIPS: &str = "vips";
pub const SET_LINK_LOCAL: &str = "vips_link_local";
pub const SET_LINK_LOCAL_NAME: &str = "vips_link_local_name";
const SET_ND: &str = "neighbor-discovery";

/// The table vigil owns: its name, its chains' priority, and whether its
/// rules count what they match (`nftables_counters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub name: String,
    pub priority: i32,
    pub counters: bool,
}

/// How a link-local VIP is keyed: by interface index, or by name (which
/// survives the interface being made again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKey {
    Index,
    Name,
}

/// One element of one of the table's sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub family: u8,
    pub set: &'static str,
    pub key: Vec<u8>,
}

impl Element {
    /// The element that blocks `addr`; a link-local IPv6 address also
    /// names its interface (`ifindex`, `ifname`) the way `link` says.
    pub fn for_vip(addr: IpAddr, ifindex: u32, ifname: &str, link: LinkKey) -> Element {
        match addr {
            IpAddr::V4(a) => Element { family: NFPROTO_IPV4, set: SET_VIPS, key: a.octets().to_vec() },
            IpAddr::V6(a) if a.segments()[0] & 0xffc0 != 0xfe80 => {
                Element { family: NFPROTO_IPV6, set: SET_VIPS, key: a.octets().to_vec() }
            }
            IpAddr::V6(a) => {
                let mut key = a.octets().to_vec();
                let set = match link {
                    LinkKey::Index => {
                        key.extend_from_slice(&ifindex.to_ne_bytes());
                        SET_LINK_LOCAL
                    }
                    LinkKey::Name => {
                        let mut name = [0u8; IFNAMSIZ];
                        let n = ifname.len().min(IFNAMSIZ - 1);
                        name[..n].copy_from_slice(&ifname.as_bytes()[..n]);
                        key.extend_from_slice(&name);
                        SET_LINK_LOCAL_NAME
                    }
                };
                Element { family: NFPROTO_IPV6, set, key }
            }
        }
    }
}

/// One rule expression; loads go to register 1 unless said otherwise.
enum Expr<'a> {
    Payload { base: u32, offset: u32, len: u32 },
    Meta { key: u32, dreg: u32 },
    CmpEq(&'a [u8]),
    Lookup(&'a str),
    Counter,
    Verdict(u32),
}

/// A batch under construction: BATCH_BEGIN, then nf_tables messages that
/// each ask for an acknowledgement; [`Batch::finish`] adds BATCH_END. The
/// kernel applies the whole batch or none of it.
pub struct Batch {
    msgs: Vec<Request>,
    sets: u32,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    pub fn new() -> Batch {
        let mut b = Batch { msgs: Vec::new(), sets: 0 };
        b.msgs.push(batch_marker(NFNL_MSG_BATCH_BEGIN));
        b
    }

    /// Nothing but the markers.
    pub fn is_empty(&self) -> bool {
        self.msgs.len() == 1
    }

    /// The messages, BATCH_END last.
    pub fn finish(mut self) -> Vec<Request> {
        self.msgs.push(batch_marker(NFNL_MSG_BATCH_END));
        self.msgs
    }

    /// Remove table `name` of `family` whether it exists or not: creating
    /// it first makes the delete always succeed, in the same transaction.
    pub fn remove_table(&mut self, family: u8, name: &str) {
        self.table(NFT_MSG_NEWTABLE, NLM_F_CREATE, family, name);
        self.table(NFT_MSG_DELTABLE, 0, family, name);
    }

    /// The table of `family` afresh: any left by an earlier run goes first.
    pub fn create_table(&mut self, family: u8, spec: &TableSpec) {
        self.remove_table(family, &spec.name);
        self.table(NFT_MSG_NEWTABLE, NLM_F_CREATE, family, &spec.name);
        self.chain(family, spec, "in", NF_INET_LOCAL_IN);
        self.chain(family, spec, "out", NF_INET_LOCAL_OUT);
        let nh = NFT_PAYLOAD_NETWORK_HEADER;
        if family == NFPROTO_IPV4 {
            self.set(family, &spec.name, SET_VIPS, TYPE_IPADDR, 4);
            // daddr at 16, saddr at 12 of the IPv4 header.
            for (chain, offset) in [("in", 16), ("out", 12)] {
                let load = Expr::Payload { base: nh, offset, len: 4 };
                self.drop_rule(spec, family, chain, &[load, Expr::Lookup(SET_VIPS)]);
            }
            return;
        }
        let concat = |second| (TYPE_IP6ADDR << TYPE_BITS) | second;
        self.set(family, &spec.name, SET_VIPS, TYPE_IP6ADDR, 16);
        self.set(family, &spec.name, SET_LINK_LOCAL, concat(TYPE_IFINDEX), 16 + 4);
        self.set(family, &spec.name, SET_LINK_LOCAL_NAME, concat(TYPE_IFNAME), 16 + IFNAMSIZ as u32);
        self.set(family, &spec.name, SET_ND, TYPE_ICMPV6_TYPE, 1);
        self.elements(
            true,
            &spec.name,
            &[ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT].map(|t| Element { family, set: SET_ND, key: vec![t] }),
        );
        // daddr at 24, saddr at 8, next header at 6 of the IPv6 header.
        for (chain, offset, index, name) in
            [("in", 24, NFT_META_IIF, NFT_META_IIFNAME), ("out", 8, NFT_META_OIF, NFT_META_OIFNAME)]
        {
            let nd = [
                Expr::Payload { base: nh, offset: 6, len: 1 },
                Expr::CmpEq(&[IPPROTO_ICMPV6]),
                Expr::Payload { base: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, len: 1 },
                Expr::Lookup(SET_ND),
            ];
            self.rule(spec, family, chain, &nd, NF_ACCEPT);
            let addr = || Expr::Payload { base: nh, offset, len: 16 };
            self.drop_rule(spec, family, chain, &[addr(), Expr::Lookup(SET_VIPS)]);
            for (key, set) in [(index, SET_LINK_LOCAL), (name, SET_LINK_LOCAL_NAME)] {
                let exprs = [addr(), Expr::Meta { key, dreg: NFT_REG_2 }, Expr::Lookup(set)];
                self.drop_rule(spec, family, chain, &exprs);
            }
        }
    }

    /// Add (`add`) or remove `elems` of table `table`: one message per set.
    pub fn elements(&mut self, add: bool, table: &str, elems: &[Element]) {
        let mut groups: Vec<(u8, &str)> = Vec::new();
        for e in elems {
            if !groups.contains(&(e.family, e.set)) {
                groups.push((e.family, e.set));
            }
        }
        for (family, set) in groups {
            let kind = if add { NFT_MSG_NEWSETELEM } else { NFT_MSG_DELSETELEM };
            let mut req = nft_request(kind, if add { NLM_F_CREATE } else { 0 }, family);
            let mut w = req.attrs();
            w.put_str(NFTA_SET_ELEM_LIST_TABLE, table).put_str(NFTA_SET_ELEM_LIST_SET, set);
            let list = w.nest_begin(NFTA_SET_ELEM_LIST_ELEMENTS);
            for e in elems.iter().filter(|e| e.family == family && e.set == set) {
                let item = w.nest_begin(NFTA_LIST_ELEM);
                let key = w.nest_begin(NFTA_SET_ELEM_KEY);
                w.put(NFTA_DATA_VALUE, &e.key);
                w.nest_end(key);
                w.nest_end(item);
            }
            w.nest_end(list);
            self.msgs.push(req);
        }
    }

    pub fn delete_table(&mut self, family: u8, name: &str) {
        self.table(NFT_MSG_DELTABLE, 0, family, name);
    }

    fn table(&mut self, kind: u16, flags: u16, family: u8, name: &str) {
        let mut req = nft_request(kind, flags, family);
        req.attrs().put_str(NFTA_TABLE_NAME, name);
        self.msgs.push(req);
    }

    fn chain(&mut self, family: u8, spec: &TableSpec, name: &str, hook: u32) {
        let mut req = nft_request(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family);
        let mut w = req.attrs();
        w.put_str(NFTA_CHAIN_TABLE, &spec.name).put_str(NFTA_CHAIN_NAME, name);
        let h = w.nest_begin(NFTA_CHAIN_HOOK);
        w.put(NFTA_HOOK_HOOKNUM, &hook.to_be_bytes()).put(NFTA_HOOK_PRIORITY, &spec.priority.to_be_bytes());
        w.nest_end(h);
        w.put(NFTA_CHAIN_POLICY, &NF_ACCEPT.to_be_bytes()).put_str(NFTA_CHAIN_TYPE, "filter");
        self.msgs.push(req);
    }

    fn set(&mut self, family: u8, table: &str, name: &str, key_type: u32, key_len: u32) {
        self.sets += 1;
        let mut req = nft_request(NFT_MSG_NEWSET, NLM_F_CREATE, family);
        req.attrs()
            .put_str(NFTA_SET_TABLE, table)
            .put_str(NFTA_SET_NAME, name)
            .put(NFTA_SET_KEY_TYPE, &key_type.to_be_bytes())
            .put(NFTA_SET_KEY_LEN, &key_len.to_be_bytes())
            .put(NFTA_SET_ID, &self.sets.to_be_bytes());
        self.msgs.push(req);
    }

    fn drop_rule(&mut self, spec: &TableSpec, family: u8, chain: &str, exprs: &[Expr]) {
        self.rule(spec, family, chain, exprs, NF_DROP);
    }

    /// `exprs`, a counter when the spec asks for one, then `verdict`.
    fn rule(&mut self, spec: &TableSpec, family: u8, chain: &str, exprs: &[Expr], verdict: u32) {
        let mut req = nft_request(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family);
        let mut w = req.attrs();
        w.put_str(NFTA_RULE_TABLE, &spec.name).put_str(NFTA_RULE_CHAIN, chain);
        let list = w.nest_begin(NFTA_RULE_EXPRESSIONS);
        let counter = spec.counters.then_some(Expr::Counter);
        for e in exprs.iter().chain(&counter).chain(&[Expr::Verdict(verdict)]) {
            put_expr(&mut w, e);
        }
        w.nest_end(list);
        self.msgs.push(req);
    }
}

fn put_expr(w: &mut AttrWriter, e: &Expr) {
    let be = |v: u32| v.to_be_bytes();
    let name = match e {
        Expr::Payload { .. } => "payload",
        Expr::Meta { .. } => "meta",
        Expr::CmpEq(_) => "cmp",
        Expr::Lookup(_) => "lookup",
        Expr::Counter => "counter",
        Expr::Verdict(_) => "immediate",
    };
    let item = w.nest_begin(NFTA_LIST_ELEM);
    w.put_str(NFTA_EXPR_NAME, name);
    let data = w.nest_begin(NFTA_EXPR_DATA);
    match e {
        Expr::Payload { base, offset, len } => {
            w.put(NFTA_PAYLOAD_DREG, &be(NFT_REG_1))
                .put(NFTA_PAYLOAD_BASE, &be(*base))
                .put(NFTA_PAYLOAD_OFFSET, &be(*offset))
                .put(NFTA_PAYLOAD_LEN, &be(*len));
        }
        Expr::Meta { key, dreg } => {
            w.put(NFTA_META_DREG, &be(*dreg)).put(NFTA_META_KEY, &be(*key));
        }
        Expr::CmpEq(bytes) => {
            w.put(NFTA_CMP_SREG, &be(NFT_REG_1)).put(NFTA_CMP_OP, &be(NFT_CMP_EQ));
            let d = w.nest_begin(NFTA_CMP_DATA);
            w.put(NFTA_DATA_VALUE, bytes);
            w.nest_end(d);
        }
        Expr::Lookup(set) => {
            w.put_str(NFTA_LOOKUP_SET, set).put(NFTA_LOOKUP_SREG, &be(NFT_REG_1));
        }
        // No attributes: both counts start at zero.
        Expr::Counter => {}
        Expr::Verdict(code) => {
            w.put(NFTA_IMMEDIATE_DREG, &be(NFT_REG_VERDICT));
            let imm = w.nest_begin(NFTA_IMMEDIATE_DATA);
            let v = w.nest_begin(NFTA_DATA_VERDICT);
            w.put(NFTA_VERDICT_CODE, &be(*code));
            w.nest_end(v);
            w.nest_end(imm);
        }
    }
    w.nest_end(data);
    w.nest_end(item);
}

/// `struct nfgenmsg`: family, version 0, resource id (big-endian).
fn nfgenmsg(family: u8, res_id: u16) -> [u8; 4] {
    let r = res_id.to_be_bytes();
    [family, 0, r[0], r[1]]
}

fn nft_request(kind: u16, flags: u16, family: u8) -> Request {
    let mut req = Request::new((NFNL_SUBSYS_NFTABLES << 8) | kind, flags | NLM_F_ACK);
    req.push_fixed(&nfgenmsg(family, 0));
    req
}

fn batch_marker(kind: u16) -> Request {
    let mut req = Request::new(kind, 0);
    req.push_fixed(&nfgenmsg(libc::AF_UNSPEC as u8, NFNL_SUBSYS_NFTABLES));
    req
}

/// The edge: a NETLINK_NETFILTER socket that sends batches.
pub struct Nftables {
    sock: Socket,
}

impl Nftables {
    pub fn open() -> Result<Nftables> {
        Ok(Nftables { sock: Socket::open_protocol(libc::NETLINK_NETFILTER)? })
    }

    /// Send `batch` as one datagram and wait for the kernel's answer to
    /// each of its messages; the first refusal is the error (the kernel
    /// has then applied none of it).
    pub fn send(&mut self, batch: Batch, what: &str) -> Result<()> {
        self.sock.batch(batch.finish(), what)
    }
}

/// The messages of a finished batch, for tests: (type, family, payload).
#[cfg(test)]
fn decode(reqs: Vec<Request>) -> Vec<(u16, u8, Vec<u8>)> {
    use super::netlink::Messages;
    let mut bytes = Vec::new();
    for (seq, mut r) in reqs.into_iter().enumerate() {
        bytes.extend_from_slice(r.finish(seq as u32));
    }
    Messages::new(&bytes)
        .map(|m| {
            let m = m.unwrap();
            (m.header.kind, m.payload[0], m.payload[4..].to_vec())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netlink::Attrs;

    fn spec(counters: bool) -> TableSpec {
        TableSpec { name: "keepalived".into(), priority: -1, counters }
    }

    fn names(payload: &[u8]) -> Vec<(u16, Vec<u8>)> {
        Attrs::new(payload).map(|a| a.unwrap()).map(|a| (a.kind, a.payload.to_vec())).collect()
    }

    /// The expression names of a NEWRULE's payload, in order.
    fn expr_names(payload: &[u8]) -> Vec<String> {
        let exprs =
            Attrs::new(payload).map(|a| a.unwrap()).find(|a| a.kind == NFTA_RULE_EXPRESSIONS).unwrap();
        exprs
            .nested()
            .map(|e| e.unwrap().nested().next().unwrap().unwrap().str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn batch_markers_and_table_bytes() {
        let mut b = Batch::new();
        assert!(b.is_empty());
        b.delete_table(NFPROTO_IPV4, "keepalived");
        let mut msgs = b.finish();
        let mut bytes = Vec::new();
        for (seq, r) in msgs.iter_mut().enumerate() {
            bytes.extend_from_slice(r.finish(seq as u32 + 7));
        }
        let ne16 = |v: u16| v.to_ne_bytes();
        let ne32 = |v: u32| v.to_ne_bytes();
        let mut want = Vec::new();
        // BATCH_BEGIN: 20 bytes, request, AF_UNSPEC, version 0, res_id 10 big-endian.
        want.extend(ne32(20));
        want.extend(ne16(16));
        want.extend(ne16(1));
        want.extend(ne32(7));
        want.extend(ne32(0));
        want.extend([0, 0, 0, 10]);
        // DELTABLE (0x0a02): request + ack, NFPROTO_IPV4, NFTA_TABLE_NAME "keepalived\0".
        want.extend(ne32(20 + 4 + 11 + 1));
        want.extend(ne16(0x0a02));
        want.extend(ne16(0x5));
        want.extend(ne32(8));
        want.extend(ne32(0));
        want.extend([2, 0, 0, 0]);
        want.extend(ne16(15));
        want.extend(ne16(1));
        want.extend(b"keepalived\0\0");
        // BATCH_END.
        want.extend(ne32(20));
        want.extend(ne16(17));
        want.extend(ne16(1));
        want.extend(ne32(9));
        want.extend(ne32(0));
        want.extend([0, 0, 0, 10]);
        assert_eq!(bytes, want);
    }

    #[test]
    fn ipv4_table_drops_to_and_from_the_vips() {
        let mut b = Batch::new();
        b.create_table(NFPROTO_IPV4, &spec(false));
        let msgs = decode(b.finish());
        let kinds: Vec<u16> = msgs.iter().map(|m| m.0 & 0xff).collect();
        // remove (new + del), new table, chains in/out, set, two rules.
        assert_eq!(kinds[1..kinds.len() - 1], [0, 2, 0, 3, 3, 9, 6, 6]);
        assert!(msgs[1..msgs.len() - 1].iter().all(|m| m.1 == NFPROTO_IPV4 && m.0 >> 8 == 10));
        // The input chain: hook 1, priority -1 (big-endian), policy accept, type filter.
        let chain = names(&msgs[4].2);
        assert_eq!(chain[1], (NFTA_CHAIN_NAME, b"in\0".to_vec()));
        let hook = names(&chain[2].1);
        assert_eq!(hook, [(1, vec![0, 0, 0, 1]), (2, vec![0xff, 0xff, 0xff, 0xff])]);
        assert_eq!(chain[3], (NFTA_CHAIN_POLICY, vec![0, 0, 0, 1]));
        assert_eq!(chain[4], (NFTA_CHAIN_TYPE, b"filter\0".to_vec()));
        // The set: ipv4_addr (7), 4 bytes.
        let set = names(&msgs[6].2);
        assert_eq!(set[2], (NFTA_SET_KEY_TYPE, vec![0, 0, 0, 7]));
        assert_eq!(set[3], (NFTA_SET_KEY_LEN, vec![0, 0, 0, 4]));
        // ip daddr @vips drop: payload network header offset 16 length 4.
        let rule = &msgs[7].2;
        assert_eq!(expr_names(rule), ["payload", "lookup", "immediate"]);
        let exprs = names(&names(rule)[2].1);
        let payload = names(&names(&exprs[0].1)[1].1);
        assert_eq!(
            payload,
            [(1, vec![0, 0, 0, 1]), (2, vec![0, 0, 0, 1]), (3, vec![0, 0, 0, 16]), (4, vec![0, 0, 0, 4])]
        );
        let lookup = names(&names(&exprs[1].1)[1].1);
        assert_eq!(lookup, [(1, b"vips\0".to_vec()), (2, vec![0, 0, 0, 1])]);
        let verdict = names(&names(&exprs[2].1)[1].1);
        assert_eq!(verdict[0], (1, vec![0, 0, 0, 0]), "to the verdict register");
        assert_eq!(names(&names(&verdict[1].1)[0].1), [(NFTA_VERDICT_CODE, NF_DROP.to_be_bytes().to_vec())]);
        let out = names(&names(&names(&names(&msgs[8].2)[2].1)[0].1)[1].1);
        assert_eq!(out[2], (3, vec![0, 0, 0, 12]), "ip saddr in the output chain");
    }

    #[test]
    fn counters_come_before_the_verdict() {
        let mut b = Batch::new();
        b.create_table(NFPROTO_IPV4, &TableSpec { priority: 5, ..spec(true) });
        let msgs = decode(b.finish());
        assert_eq!(expr_names(&msgs[7].2), ["payload", "lookup", "counter", "immediate"]);
        let hook = names(&names(&msgs[4].2)[2].1);
        assert_eq!(hook[1], (2, vec![0, 0, 0, 5]));
    }

    #[test]
    fn ipv6_table_lets_neighbour_discovery_through_first() {
        let mut b = Batch::new();
        b.create_table(NFPROTO_IPV6, &spec(false));
        let msgs = decode(b.finish());
        let rules: Vec<_> = msgs.iter().filter(|m| m.0 & 0xff == NFT_MSG_NEWRULE).collect();
        assert_eq!(rules.len(), 8);
        assert_eq!(expr_names(&rules[0].2), ["payload", "cmp", "payload", "lookup", "immediate"]);
        assert_eq!(expr_names(&rules[2].2), ["payload", "meta", "lookup", "immediate"]);
        let elems: Vec<_> = msgs.iter().filter(|m| m.0 & 0xff == NFT_MSG_NEWSETELEM).collect();
        assert_eq!(elems.len(), 1);
        let list = names(&elems[0].2);
        assert_eq!(list[1], (NFTA_SET_ELEM_LIST_SET, b"neighbor-discovery\0".to_vec()));
        let keys: Vec<Vec<u8>> =
            Attrs::new(&list[2].1).map(|e| names(&names(e.unwrap().payload)[0].1)[0].1.clone()).collect();
        assert_eq!(keys, [vec![135], vec![136]]);
        let sets: Vec<_> =
            msgs.iter().filter(|m| m.0 & 0xff == NFT_MSG_NEWSET).map(|m| names(&m.2)).collect();
        assert_eq!(sets[1][3], (NFTA_SET_KEY_LEN, vec![0, 0, 0, 20]));
        assert_eq!(sets[1][2], (NFTA_SET_KEY_TYPE, ((8u32 << 6) | 20).to_be_bytes().to_vec()));
        assert_eq!(sets[2][3], (NFTA_SET_KEY_LEN, vec![0, 0, 0, 32]));
    }

    #[test]
    fn elements_are_grouped_per_set() {
        let v4 = Element::for_vip("198.18.0.10".parse().unwrap(), 3, "eth0", LinkKey::Index);
        assert_eq!(v4, Element { family: NFPROTO_IPV4, set: SET_VIPS, key: vec![198, 18, 0, 10] });
        let ll = Element::for_vip("fe80::10".parse().unwrap(), 3, "eth0", LinkKey::Index);
        assert_eq!(ll.set, SET_LINK_LOCAL);
        assert_eq!(ll.key[16..], 3u32.to_ne_bytes());
        let by_name = Element::for_vip("fe80::10".parse().unwrap(), 3, "eth0", LinkKey::Name);
        assert_eq!(by_name.set, SET_LINK_LOCAL_NAME);
        assert_eq!(by_name.key[16..], *b"eth0\0\0\0\0\0\0\0\0\0\0\0\0");
        let global = Element::for_vip("2001:db8::10".parse().unwrap(), 3, "eth0", LinkKey::Index);
        assert_eq!((global.set, global.key.len()), (SET_VIPS, 16));
        let v4b = Element::for_vip("198.18.0.11".parse().unwrap(), 3, "eth0", LinkKey::Index);

        let mut b = Batch::new();
        b.elements(false, "t", &[v4.clone(), global, v4b, ll]);
        let msgs = decode(b.finish());
        let kinds: Vec<(u16, u8)> = msgs[1..msgs.len() - 1].iter().map(|m| (m.0 & 0xff, m.1)).collect();
        assert_eq!(kinds, [(14, 2), (14, 10), (14, 10)]);
        let v4_keys = Attrs::new(&names(&msgs[1].2)[2].1).count();
        assert_eq!(v4_keys, 2);
    }
}
