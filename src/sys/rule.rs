//! Adding and removing policy routing rules (RTM_NEWRULE / RTM_DELRULE,
//! `linux/fib_rules.h`), enough for keepalived's `virtual_rules` and
//! `static_rules`. Interfaces go by name (FRA_IIFNAME / FRA_OIFNAME), so a
//! rule needs no ifindex lookup and may name an interface not yet present.

use std::net::IpAddr;

use super::addr::Change;
use super::netlink::msg::{NLM_F_CREATE, NLM_F_EXCL};
use super::netlink::rt::family_of;
use super::netlink::{Request, Socket};
use super::{Error, Result};
pub use crate::config::rule::{RuleAction, RuleSpec};

pub const RTM_NEWRULE: u16 = 32;
pub const RTM_DELRULE: u16 = 33;

/// `struct fib_rule_hdr`: family, dst_len, src_len, tos, table, 2 reserved,
/// action, flags (u32).
pub const FIB_RULE_HDR_LEN: usize = 12;
const FIB_RULE_INVERT: u32 = 0x2;

pub const FRA_DST: u16 = 1;
pub const FRA_SRC: u16 = 2;
pub const FRA_IIFNAME: u16 = 3;
pub const FRA_GOTO: u16 = 4;
pub const FRA_PRIORITY: u16 = 6;
pub const FRA_FWMARK: u16 = 10;
pub const FRA_FLOW: u16 = 11;
pub const FRA_TUN_ID: u16 = 12;
pub const FRA_SUPPRESS_IFGROUP: u16 = 13;
pub const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
pub const FRA_TABLE: u16 = 15;
pub const FRA_FWMASK: u16 = 16;
pub const FRA_OIFNAME: u16 = 17;
pub const FRA_L3MDEV: u16 = 19;
pub const FRA_UID_RANGE: u16 = 20;
pub const FRA_PROTOCOL: u16 = 21;
pub const FRA_IP_PROTO: u16 = 22;
pub const FRA_SPORT_RANGE: u16 = 23;
pub const FRA_DPORT_RANGE: u16 = 24;

pub fn add(sock: &mut Socket, spec: &RuleSpec) -> Result<Change> {
    // EXCL makes the kernel refuse an identical rule instead of stacking a copy.
    let req = build(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, spec)?;
    Change::of_add(sock.request(req, &describe("add", spec)))
}

pub fn delete(sock: &mut Socket, spec: &RuleSpec) -> Result<Change> {
    let req = build(RTM_DELRULE, 0, spec)?;
    Change::of_delete(sock.request(req, &describe("delete", spec)), libc::ENOENT)
}

fn describe(verb: &str, spec: &RuleSpec) -> String {
    let show = |p: Option<(IpAddr, u8)>| p.map_or_else(|| "all".to_string(), |(a, l)| format!("{a}/{l}"));
    format!("{verb} rule from {} to {} table {}", show(spec.src), show(spec.dst), spec.table)
}

/// The request for `spec`; pure, so it is unit-tested byte for byte.
pub fn build(kind: u16, flags: u16, spec: &RuleSpec) -> Result<Request> {
    let v4 = spec.family == libc::AF_INET as u8;
    if !v4 && spec.family != libc::AF_INET6 as u8 {
        return Err(Error::invalid(format!("rule family {}", spec.family)));
    }
    for (addr, len) in [spec.src, spec.dst].into_iter().flatten() {
        if family_of(addr) != spec.family || len > if v4 { 32 } else { 128 } {
            return Err(Error::invalid(format!("rule prefix {addr}/{len}")));
        }
    }
    let mut hdr = [0u8; FIB_RULE_HDR_LEN];
    hdr[0] = spec.family;
    hdr[1] = spec.dst.map_or(0, |d| d.1);
    hdr[2] = spec.src.map_or(0, |s| s.1);
    hdr[3] = spec.tos;
    // Tables above 255 only fit in FRA_TABLE; the header then says 0 (unspec).
    let to_table = spec.action == RuleAction::ToTable;
    hdr[4] = if to_table { u8::try_from(spec.table).unwrap_or(0) } else { 0 };
    hdr[7] = spec.action.value();
    let flags_field = if spec.invert { FIB_RULE_INVERT } else { 0 };
    hdr[8..12].copy_from_slice(&flags_field.to_ne_bytes());
    let mut req = Request::new(kind, flags);
    req.push_fixed(&hdr);
    let mut w = req.attrs();
    if to_table && !spec.l3mdev {
        w.put_u32(FRA_TABLE, spec.table);
    }
    if let Some((a, _)) = spec.dst {
        w.put_ip(FRA_DST, a);
    }
    if let Some((a, _)) = spec.src {
        w.put_ip(FRA_SRC, a);
    }
    if let Some(p) = spec.priority {
        w.put_u32(FRA_PRIORITY, p);
    }
    if let RuleAction::Goto(target) = spec.action {
        w.put_u32(FRA_GOTO, target);
    }
    if let Some(m) = spec.fwmark {
        w.put_u32(FRA_FWMARK, m);
    }
    if let Some(m) = spec.fwmask {
        w.put_u32(FRA_FWMASK, m);
    }
    if let Some(i) = &spec.iif {
        w.put_str(FRA_IIFNAME, i);
    }
    if let Some(o) = &spec.oif {
        w.put_str(FRA_OIFNAME, o);
    }
    if let Some(n) = spec.suppress_prefixlen {
        w.put_u32(FRA_SUPPRESS_PREFIXLEN, n);
    }
    if let Some(g) = spec.suppress_ifgroup {
        w.put_u32(FRA_SUPPRESS_IFGROUP, g);
    }
    if let Some(r) = spec.realms {
        w.put_u32(FRA_FLOW, r);
    }
    if let Some(id) = spec.tun_id {
        w.put(FRA_TUN_ID, &id.to_be_bytes());
    }
    if let Some((start, end)) = spec.uid_range {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&start.to_ne_bytes());
        b[4..].copy_from_slice(&end.to_ne_bytes());
        w.put(FRA_UID_RANGE, &b);
    }
    if spec.l3mdev {
        w.put_u8(FRA_L3MDEV, 1);
    }
    if let Some(p) = spec.protocol {
        w.put_u8(FRA_PROTOCOL, p);
    }
    if let Some(p) = spec.ip_proto {
        w.put_u8(FRA_IP_PROTO, p);
    }
    for (kind, range) in [(FRA_SPORT_RANGE, spec.sport), (FRA_DPORT_RANGE, spec.dport)] {
        if let Some((start, end)) = range {
            let mut b = [0u8; 4];
            b[..2].copy_from_slice(&start.to_ne_bytes());
            b[2..].copy_from_slice(&end.to_ne_bytes());
            w.put(kind, &b);
        }
    }
    Ok(req)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::sys::netlink::{Attrs, Messages};

    fn parts(req: &mut Request) -> (Vec<u8>, Vec<(u16, Vec<u8>)>) {
        let bytes = req.finish(1).to_vec();
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        let attrs = Attrs::new(&m.payload[FIB_RULE_HDR_LEN..])
            .map(|a| a.unwrap())
            .map(|a| (a.kind, a.payload.to_vec()));
        (m.payload[..FIB_RULE_HDR_LEN].to_vec(), attrs.collect())
    }

    #[test]
    fn from_to_table_preference() {
        let mut spec = RuleSpec::new(libc::AF_INET as u8);
        spec.src = Some(("198.18.1.0".parse().unwrap(), 24));
        spec.dst = Some(("198.18.2.0".parse().unwrap(), 26));
        spec.table = 1000;
        spec.priority = Some(100);
        spec.fwmark = Some(0x24);
        spec.fwmask = Some(0x12);
        spec.iif = Some("eth3".into());
        let (hdr, attrs) = parts(&mut build(RTM_NEWRULE, NLM_F_CREATE, &spec).unwrap());
        assert_eq!(hdr, [2, 26, 24, 0, 0, 0, 0, 1, 0, 0, 0, 0], "table 1000 only in FRA_TABLE");
        let want: Vec<(u16, Vec<u8>)> = vec![
            (FRA_TABLE, 1000u32.to_ne_bytes().to_vec()),
            (FRA_DST, vec![198, 18, 2, 0]),
            (FRA_SRC, vec![198, 18, 1, 0]),
            (FRA_PRIORITY, 100u32.to_ne_bytes().to_vec()),
            (FRA_FWMARK, 0x24u32.to_ne_bytes().to_vec()),
            (FRA_FWMASK, 0x12u32.to_ne_bytes().to_vec()),
            (FRA_IIFNAME, b"eth3\0".to_vec()),
        ];
        assert_eq!(attrs, want);
    }

    #[test]
    fn actions_invert_and_ranges() {
        let mut spec = RuleSpec::new(libc::AF_INET6 as u8);
        spec.src = Some(("2001:db8:1::".parse().unwrap(), 48));
        spec.invert = true;
        spec.action = RuleAction::Goto(5023);
        spec.dport = Some((80, 443));
        let (hdr, attrs) = parts(&mut build(RTM_DELRULE, 0, &spec).unwrap());
        assert_eq!((hdr[0], hdr[2], hdr[4], hdr[7]), (10, 48, 0, 2));
        assert_eq!(u32::from_ne_bytes(hdr[8..12].try_into().unwrap()), FIB_RULE_INVERT);
        assert!(attrs.iter().all(|(k, _)| *k != FRA_TABLE), "goto has no table");
        assert!(attrs.contains(&(FRA_GOTO, 5023u32.to_ne_bytes().to_vec())));
        let mut range = 80u16.to_ne_bytes().to_vec();
        range.extend(443u16.to_ne_bytes());
        assert!(attrs.contains(&(FRA_DPORT_RANGE, range)));

        spec.action = RuleAction::Blackhole;
        let (hdr, _) = parts(&mut build(RTM_NEWRULE, 0, &spec).unwrap());
        assert_eq!(hdr[7], 6);
    }

    #[test]
    fn family_mismatch_is_an_error() {
        let mut spec = RuleSpec::new(libc::AF_INET as u8);
        spec.dst = Some(("2001:db8::".parse().unwrap(), 32));
        assert!(build(RTM_NEWRULE, 0, &spec).is_err());
        let mut spec = RuleSpec::new(libc::AF_INET as u8);
        spec.src = Some(("198.18.0.0".parse().unwrap(), 33));
        assert!(build(RTM_NEWRULE, 0, &spec).is_err());
    }
}
