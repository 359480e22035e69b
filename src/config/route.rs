//! `virtual_routes` / `static_routes` lines, written in `ip route` syntax,
//! parsed once, when the configuration is read, into the route the VRRP
//! engine installs (`sys::route` sends it). Pure: the `dev` name is resolved
//! by the engine.

use std::net::IpAddr;

/// The routing table `ip route` uses by default.
pub const TABLE_MAIN: u32 = 254;
/// `proto boot`, what `ip route add` sets unless told otherwise.
pub const PROTO_BOOT: u8 = 3;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouteType {
    #[default]
    Unicast,
    /// Silently discard.
    Blackhole,
    /// Discard with ICMP unreachable.
    Unreachable,
    /// Discard with ICMP administratively prohibited.
    Prohibit,
}

impl RouteType {
    /// The kernel's `RTN_*` value.
    pub fn value(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub dst: IpAddr,
    pub prefix_len: u8,
    /// `via`; same family as `dst`.
    pub gateway: Option<IpAddr>,
    /// `dev` as an ifindex.
    pub oif: Option<u32>,
    /// `src`: preferred source address.
    pub src: Option<IpAddr>,
    /// `metric` / `preference`.
    pub metric: Option<u32>,
    pub table: u32,
    /// None: what `ip` picks (link for a unicast route without gateway,
    /// else global; on delete, any scope).
    pub scope: Option<Scope>,
    pub protocol: u8,
    pub kind: RouteType,
}

impl RouteSpec {
    /// A unicast route in the main table with `ip route`'s defaults.
    pub fn new(dst: IpAddr, prefix_len: u8) -> RouteSpec {
        RouteSpec {
            dst,
            prefix_len,
            gateway: None,
            oif: None,
            src: None,
            metric: None,
            table: TABLE_MAIN,
            scope: None,
            protocol: PROTO_BOOT,
            kind: RouteType::Unicast,
        }
    }
}

/// Address scope (`scope`); values from `rtnetlink.h`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    #[default]
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    pub fn value(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }

    /// The names `ip` accepts, or a number 0-255.
    pub fn parse(s: &str) -> Option<Scope> {
        Some(match s {
            "global" | "universe" => Scope::Global,
            "site" => Scope::Site,
            "link" => Scope::Link,
            "host" => Scope::Host,
            "nowhere" => Scope::Nowhere,
            n => match n.parse::<u8>().ok()? {
                0 => Scope::Global,
                200 => Scope::Site,
                253 => Scope::Link,
                254 => Scope::Host,
                255 => Scope::Nowhere,
                v => Scope::Other(v),
            },
        })
    }
}

/// A parsed route line; `dev` still needs an ifindex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub spec: RouteSpec,
    pub dev: Option<String>,
}

/// `[type] [src IP] [to] PFX [via|gw IP] [dev IF] [scope S] [table T]
/// [metric|preference|priority M] [proto P] [no_track] [inet6]`, where type
/// is `blackhole`, `unreachable` or `prohibit`.
pub fn parse_route(words: &[String]) -> Result<Route, String> {
    let mut kind = RouteType::Unicast;
    let mut dst: Option<(IpAddr, u8)> = None;
    let (mut gateway, mut src, mut dev, mut scope, mut table, mut metric, mut proto) =
        (None, None, None, None, None, None, None);
    let mut inet6 = false;
    let mut it = words.iter().map(String::as_str);
    while let Some(w) = it.next() {
        let mut value = |what: &str| it.next().ok_or_else(|| format!("'{what}' needs a value"));
        match w {
            "blackhole" => kind = RouteType::Blackhole,
            "unreachable" => kind = RouteType::Unreachable,
            "prohibit" => kind = RouteType::Prohibit,
            "src" => src = Some(ip(value(w)?)?),
            "to" => dst = Some(prefix(value(w)?, inet6)?),
            "via" | "gw" => gateway = Some(ip(value(w)?)?),
            "dev" | "oif" => dev = Some(value(w)?.to_string()),
            "scope" => {
                let v = value(w)?;
                scope = Some(Scope::parse(v).ok_or_else(|| format!("unknown scope '{v}'"))?);
            }
            "table" => table = Some(table_id(value(w)?)?),
            "metric" | "preference" | "priority" => {
                let v = value(w)?;
                metric = Some(v.parse::<u32>().map_err(|_| format!("bad metric '{v}'"))?);
            }
            "proto" | "protocol" => proto = Some(protocol(value(w)?)?),
            "no_track" => {}
            "inet6" => inet6 = true,
            "or" => return Err("'or' (alternative gateways) is not supported".into()),
            other if dst.is_none() => dst = Some(prefix(other, inet6)?),
            other => return Err(format!("unexpected '{other}'")),
        }
    }
    let (addr, len) = dst.ok_or("no destination prefix")?;
    let mut spec = RouteSpec::new(addr, len);
    spec.kind = kind;
    spec.gateway = gateway;
    spec.src = src;
    spec.scope = scope;
    spec.metric = metric;
    if let Some(t) = table {
        spec.table = t;
    }
    if let Some(p) = proto {
        spec.protocol = p;
    }
    Ok(Route { spec, dev })
}

fn ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("bad address '{s}'"))
}

/// `PFX/LEN`, a bare address (a host route) or `default`.
fn prefix(s: &str, inet6: bool) -> Result<(IpAddr, u8), String> {
    if s == "default" {
        let any: IpAddr = if inet6 { "::".parse().map_err(|_| "::")? } else { [0u8, 0, 0, 0].into() };
        return Ok((any, 0));
    }
    address_prefix(s)
}

/// `ADDR/LEN`, or a bare address (a host: the full length). Shared with `ip rule` lines.
pub(crate) fn address_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr = ip(a)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.parse::<u8>().ok().filter(|&l| l <= max).ok_or_else(|| format!("bad prefix '{s}'"))?,
        None => max,
    };
    Ok((addr, len))
}

/// Decimal or 0x-hex, as iproute2 reads tables, marks and preferences.
pub(crate) fn number(s: &str) -> Result<u32, String> {
    number_u64(s).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| format!("bad number '{s}'"))
}

pub(crate) fn number_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A routing table by name or number.
pub(crate) fn table_id(s: &str) -> Result<u32, String> {
    match s {
        "main" => Ok(254),
        "local" => Ok(255),
        "default" => Ok(253),
        n => number(n).map_err(|_| format!("unknown table '{n}'")),
    }
}

/// A route's or rule's protocol (who installed it) by name or number.
pub(crate) fn protocol(s: &str) -> Result<u8, String> {
    match s {
        "kernel" => Ok(2),
        "boot" => Ok(3),
        "static" => Ok(4),
        n => n.parse().map_err(|_| format!("unknown protocol '{n}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Route, String> {
        parse_route(&line.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn full_unicast_line() {
        let r = parse(
            "src 198.18.0.100 to 198.18.9.0/24 via 198.18.0.254 dev eth0 scope global table 100 metric 5",
        )
        .unwrap();
        assert_eq!(r.dev.as_deref(), Some("eth0"));
        let s = &r.spec;
        assert_eq!((s.dst, s.prefix_len), ("198.18.9.0".parse().unwrap(), 24));
        assert_eq!(s.gateway, Some("198.18.0.254".parse().unwrap()));
        assert_eq!(s.src, Some("198.18.0.100".parse().unwrap()));
        assert_eq!((s.table, s.metric, s.scope), (100, Some(5), Some(Scope::Global)));
        assert_eq!(s.kind, RouteType::Unicast);
    }

    #[test]
    fn short_forms_and_types() {
        let r = parse("198.18.9.1 gw 198.18.0.1").unwrap();
        assert_eq!((r.spec.prefix_len, r.dev), (32, None));
        let r = parse("blackhole 2001:db8:9::/48").unwrap();
        assert_eq!((r.spec.kind, r.spec.prefix_len), (RouteType::Blackhole, 48));
        let r = parse("unreachable 198.18.7.0/24 table main no_track").unwrap();
        assert_eq!((r.spec.kind, r.spec.table), (RouteType::Unreachable, 254));
        let r = parse("default via 198.18.0.1").unwrap();
        assert_eq!((r.spec.dst, r.spec.prefix_len), ("0.0.0.0".parse().unwrap(), 0));
        let r = parse("inet6 default via 2001:db8::1").unwrap();
        assert!(r.spec.dst.is_ipv6());
    }

    #[test]
    fn errors_are_values() {
        assert!(parse("via 198.18.0.1").is_err());
        assert!(parse("198.18.0.0/33").is_err());
        assert!(parse("198.18.0.0/24 metric").is_err());
        assert!(parse("198.18.0.0/24 198.18.1.0/24").is_err());
        assert!(parse("198.18.0.0/24 scope galaxy").is_err());
    }
}
