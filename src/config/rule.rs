//! `virtual_rules` / `static_rules` lines, written in `ip rule` syntax,
//! parsed once, when the configuration is read, into the rule the VRRP
//! engine installs (`sys::rule` sends it). Pure: interfaces stay names, so
//! nothing is looked up.

use std::net::IpAddr;

use super::route::{address_prefix, number, number_u64, protocol, table_id, TABLE_MAIN};

/// What a matching packet does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RuleAction {
    /// Look the packet up in `table`.
    #[default]
    ToTable,
    /// Continue at the rule with this preference.
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

impl RuleAction {
    /// The kernel's `FR_ACT_*` value.
    pub fn value(self) -> u8 {
        match self {
            RuleAction::ToTable => 1,
            RuleAction::Goto(_) => 2,
            RuleAction::Nop => 3,
            RuleAction::Blackhole => 6,
            RuleAction::Unreachable => 7,
            RuleAction::Prohibit => 8,
        }
    }
}

/// One `ip rule`. Prefixes are (address, length); every address is of
/// `family`'s kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// AF_INET or AF_INET6.
    pub family: u8,
    pub src: Option<(IpAddr, u8)>,
    pub dst: Option<(IpAddr, u8)>,
    /// `not`: match what the selector does not.
    pub invert: bool,
    pub tos: u8,
    pub table: u32,
    pub action: RuleAction,
    /// `preference`; None lets the kernel pick one below the first rule.
    pub priority: Option<u32>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub suppress_prefixlen: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    /// `realms FROM/TO` as the kernel's (FROM << 16) | TO.
    pub realms: Option<u32>,
    pub tun_id: Option<u64>,
    pub uid_range: Option<(u32, u32)>,
    pub l3mdev: bool,
    pub protocol: Option<u8>,
    pub ip_proto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
}

impl RuleSpec {
    /// A rule matching everything of `family` and looking up the main table.
    pub fn new(family: u8) -> RuleSpec {
        RuleSpec {
            family,
            src: None,
            dst: None,
            invert: false,
            tos: 0,
            table: TABLE_MAIN,
            action: RuleAction::ToTable,
            priority: None,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            suppress_prefixlen: None,
            suppress_ifgroup: None,
            realms: None,
            tun_id: None,
            uid_range: None,
            l3mdev: false,
            protocol: None,
            ip_proto: None,
            sport: None,
            dport: None,
        }
    }
}

/// `[not] [from PFX|all] [to PFX|all] [table|lookup T] [preference|priority|
/// order N] [fwmark M[/MASK]] [iif|dev IF] [oif IF] [tos T] [realms [F/]T]
/// [goto N] [nop|blackhole|unreachable|prohibit] [suppress_prefixlength N]
/// [suppress_ifgroup N] [uidrange A-B] [ipproto P] [sport A[-B]] [dport A[-B]]
/// [tunnel-id N] [l3mdev] [protocol P] [no_track] [inet|inet6]`.
pub fn parse_rule(words: &[String]) -> Result<RuleSpec, String> {
    let mut spec = RuleSpec::new(libc::AF_INET as u8);
    let mut inet6 = None;
    let mut it = words.iter().map(String::as_str);
    while let Some(w) = it.next() {
        let mut value = |what: &str| it.next().ok_or_else(|| format!("'{what}' needs a value"));
        match w {
            "not" => spec.invert = true,
            "from" => spec.src = prefix(value(w)?)?,
            "to" => spec.dst = prefix(value(w)?)?,
            "table" | "lookup" => spec.table = rule_table(value(w)?)?,
            "preference" | "priority" | "order" | "pref" | "prio" => spec.priority = Some(number(value(w)?)?),
            "fwmark" => {
                let v = value(w)?;
                let (mark, mask) = match v.split_once('/') {
                    Some((m, k)) => (m, Some(k)),
                    None => (v, None),
                };
                spec.fwmark = Some(number(mark)?);
                spec.fwmask = mask.map(number).transpose()?;
            }
            "iif" | "dev" | "iifname" => spec.iif = Some(value(w)?.to_string()),
            "oif" | "oifname" => spec.oif = Some(value(w)?.to_string()),
            // `ip rule` reads a DS field in hex, with or without 0x.
            "tos" | "dsfield" => {
                let v = value(w)?;
                let hex = v.trim_start_matches("0x");
                spec.tos = u8::from_str_radix(hex, 16).map_err(|_| format!("bad tos '{v}'"))?;
            }
            "realms" | "realm" => {
                let v = value(w)?;
                spec.realms = Some(match v.split_once('/') {
                    Some((from, to)) => (realm(from)? << 16) | realm(to)?,
                    None => realm(v)?,
                });
            }
            "goto" => spec.action = RuleAction::Goto(number(value(w)?)?),
            "nop" => spec.action = RuleAction::Nop,
            "blackhole" => spec.action = RuleAction::Blackhole,
            "unreachable" => spec.action = RuleAction::Unreachable,
            "prohibit" => spec.action = RuleAction::Prohibit,
            "unicast" => spec.action = RuleAction::ToTable,
            "suppress_prefixlength" | "sup_pl" => spec.suppress_prefixlen = Some(number(value(w)?)?),
            "suppress_ifgroup" | "sup_group" => spec.suppress_ifgroup = Some(number(value(w)?)?),
            "uidrange" => {
                let (a, b) = range(value(w)?)?;
                spec.uid_range = Some((a, b));
            }
            "ipproto" => spec.ip_proto = Some(ip_proto(value(w)?)?),
            "sport" | "dport" => {
                let v = value(w)?;
                let (a, b) = range(v)?;
                let port = |n: u32| u16::try_from(n).map_err(|_| format!("bad port range '{v}'"));
                let r = Some((port(a)?, port(b)?));
                if w == "sport" {
                    spec.sport = r;
                } else {
                    spec.dport = r;
                }
            }
            "tunnel-id" | "tun_id" => {
                let v = value(w)?;
                spec.tun_id = Some(number_u64(v).ok_or_else(|| format!("bad tunnel id '{v}'"))?);
            }
            "l3mdev" => spec.l3mdev = true,
            "protocol" | "proto" => spec.protocol = Some(protocol(value(w)?)?),
            "no_track" => {}
            "inet" => inet6 = Some(false),
            "inet6" => inet6 = Some(true),
            other => return Err(format!("unexpected '{other}'")),
        }
    }
    // The family comes from the addresses, else from inet/inet6, else IPv4.
    let families: Vec<bool> = [spec.src, spec.dst].into_iter().flatten().map(|(a, _)| a.is_ipv6()).collect();
    let v6 = match (families.first(), inet6) {
        (Some(&f), Some(want)) if f != want => return Err("addresses and inet/inet6 disagree".into()),
        (Some(&f), _) => f,
        (None, want) => want.unwrap_or(false),
    };
    if families.iter().any(|&f| f != v6) {
        return Err("'from' and 'to' are of different families".into());
    }
    spec.family = if v6 { libc::AF_INET6 as u8 } else { libc::AF_INET as u8 };
    if spec.l3mdev && words.iter().any(|w| w == "table" || w == "lookup") {
        return Err("'l3mdev' and 'table' exclude each other".into());
    }
    Ok(spec)
}

/// `PFX/LEN`, a bare address (a host), or `all` / `default` (no selector).
fn prefix(s: &str) -> Result<Option<(IpAddr, u8)>, String> {
    if s == "all" || s == "default" {
        return Ok(None);
    }
    let (addr, len) = address_prefix(s)?;
    // A zero-length prefix matches everything: the same as no selector.
    Ok((len > 0).then_some((addr, len)))
}

fn realm(s: &str) -> Result<u32, String> {
    number(s).ok().filter(|&n| n <= 0xffff).ok_or_else(|| format!("bad realm '{s}'"))
}

/// `A-B` or `A` (a range of one).
fn range(s: &str) -> Result<(u32, u32), String> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (number(a)?, number(b)?),
        None => (number(s)?, number(s)?),
    };
    if a > b {
        return Err(format!("bad range '{s}'"));
    }
    Ok((a, b))
}

/// A rule needs a real table: 0 (unspecified) is refused.
fn rule_table(s: &str) -> Result<u32, String> {
    table_id(s).ok().filter(|&t| t > 0).ok_or_else(|| format!("unknown table '{s}'"))
}

fn ip_proto(s: &str) -> Result<u8, String> {
    match s {
        "icmp" => Ok(1),
        "tcp" => Ok(6),
        "udp" => Ok(17),
        "ipv6-icmp" | "icmpv6" => Ok(58),
        "sctp" => Ok(132),
        n => n.parse().map_err(|_| format!("unknown ipproto '{n}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<RuleSpec, String> {
        parse_rule(&line.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn keepalived_manual_line() {
        let r = parse(
            "from 198.18.28.0/24 to 198.18.29.0/26 table 100 iif eth3 oif eth0 tos 22 \
             fwmark 24/12 preference 39 realms 30/20 ipproto tcp sport 23-66 dport 20000-30000",
        )
        .unwrap();
        assert_eq!(r.family, libc::AF_INET as u8);
        assert_eq!(r.src, Some(("198.18.28.0".parse().unwrap(), 24)));
        assert_eq!(r.dst, Some(("198.18.29.0".parse().unwrap(), 26)));
        assert_eq!((r.table, r.priority, r.tos), (100, Some(39), 0x22));
        assert_eq!((r.fwmark, r.fwmask), (Some(24), Some(12)));
        assert_eq!((r.iif.as_deref(), r.oif.as_deref()), (Some("eth3"), Some("eth0")));
        assert_eq!(r.realms, Some((30 << 16) | 20));
        assert_eq!((r.ip_proto, r.sport, r.dport), (Some(6), Some((23, 66)), Some((20000, 30000))));
        assert_eq!(r.action, RuleAction::ToTable);
    }

    #[test]
    fn families_actions_and_shorthands() {
        let r = parse("to 2001:db8:1::/48 from 2001:db8:2::1 table 6908 uidrange 10000-19999").unwrap();
        assert_eq!(r.family, libc::AF_INET6 as u8);
        assert_eq!(r.src.map(|s| s.1), Some(128));
        assert_eq!(r.uid_range, Some((10000, 19999)));
        let r = parse("fwmark 0x10/0xff lookup main inet6 priority 5").unwrap();
        assert_eq!((r.family, r.fwmark, r.fwmask, r.table), (libc::AF_INET6 as u8, Some(16), Some(255), 254));
        let r = parse("from all priority 5000 tunnel-id 400 goto 5023").unwrap();
        assert_eq!((r.src, r.action, r.tun_id), (None, RuleAction::Goto(5023), Some(400)));
        let r = parse("not from 198.18.0.0/15 unreachable no_track").unwrap();
        assert!(r.invert);
        assert_eq!(r.action, RuleAction::Unreachable);
        let r = parse("from 198.18.1.0/24 l3mdev priority 9999").unwrap();
        assert!(r.l3mdev);
    }

    #[test]
    fn errors_are_values() {
        for bad in [
            "from 198.18.0.0/33",
            "from 198.18.0.0/24 to 2001:db8::/32",
            "from 198.18.0.0/24 inet6",
            "table",
            "table 0",
            "dport 10-5",
            "sport 1-70000",
            "realms 70000",
            "from 198.18.0.0/24 l3mdev table 5",
            "from 198.18.0.0/24 nat 198.18.1.1",
            "tos zz",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
