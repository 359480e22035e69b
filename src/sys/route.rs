//! Adding and removing routes (RTM_NEWROUTE / RTM_DELROUTE), enough for
//! keepalived's `virtual_routes`.

use super::addr::{Change, Scope};
use super::netlink::msg::{NLM_F_CREATE, NLM_F_EXCL};
use super::netlink::rt::*;
use super::netlink::{Request, Socket};
use super::{Error, Result};
pub use crate::config::route::{RouteSpec, RouteType, PROTO_BOOT, TABLE_MAIN};

pub fn add(sock: &mut Socket, spec: &RouteSpec) -> Result<Change> {
    let req = build(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, spec)?;
    Change::of_add(sock.request(req, &describe("add", spec)))
}

pub fn delete(sock: &mut Socket, spec: &RouteSpec) -> Result<Change> {
    let req = build(RTM_DELROUTE, 0, spec)?;
    Change::of_delete(sock.request(req, &describe("delete", spec)), libc::ESRCH)
}

fn describe(verb: &str, spec: &RouteSpec) -> String {
    format!("{verb} route {}/{} table {}", spec.dst, spec.prefix_len, spec.table)
}

/// The request for `spec`; pure, so it is unit-tested byte for byte.
pub fn build(kind: u16, flags: u16, spec: &RouteSpec) -> Result<Request> {
    let max = if spec.dst.is_ipv4() { 32 } else { 128 };
    if spec.prefix_len > max {
        return Err(Error::invalid(format!("prefix length {} for {}", spec.prefix_len, spec.dst)));
    }
    for other in [spec.gateway, spec.src].into_iter().flatten() {
        if other.is_ipv4() != spec.dst.is_ipv4() {
            return Err(Error::invalid(format!("route {}: {other} is of another family", spec.dst)));
        }
    }
    let deleting = kind == RTM_DELROUTE;
    let scope = match spec.scope {
        Some(s) => s.value(),
        None if deleting => Scope::Nowhere.value(),
        None if spec.kind == RouteType::Unicast && spec.gateway.is_none() => Scope::Link.value(),
        None => Scope::Global.value(),
    };
    let mut rtmsg = [0u8; RTMSG_LEN];
    rtmsg[0] = family_of(spec.dst);
    rtmsg[1] = spec.prefix_len;
    rtmsg[4] = u8::try_from(spec.table).unwrap_or(0);
    rtmsg[5] = spec.protocol;
    rtmsg[6] = scope;
    rtmsg[7] = spec.kind.value();
    let mut req = Request::new(kind, flags);
    req.push_fixed(&rtmsg);
    let mut w = req.attrs();
    w.put_u32(RTA_TABLE, spec.table);
    if spec.prefix_len > 0 {
        w.put_ip(RTA_DST, spec.dst);
    }
    if let Some(gw) = spec.gateway {
        w.put_ip(RTA_GATEWAY, gw);
    }
    if let Some(oif) = spec.oif {
        w.put_u32(RTA_OIF, oif);
    }
    if let Some(src) = spec.src {
        w.put_ip(RTA_PREFSRC, src);
    }
    if let Some(metric) = spec.metric {
        w.put_u32(RTA_PRIORITY, metric);
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
        let attrs =
            Attrs::new(&m.payload[RTMSG_LEN..]).map(|a| a.unwrap()).map(|a| (a.kind, a.payload.to_vec()));
        (m.payload[..RTMSG_LEN].to_vec(), attrs.collect())
    }

    #[test]
    fn unicast_via_gateway() {
        let mut spec = RouteSpec::new("198.18.5.0".parse().unwrap(), 24);
        spec.gateway = Some("198.18.0.1".parse().unwrap());
        spec.oif = Some(3);
        spec.metric = Some(100);
        spec.table = 1000;
        let (fixed, attrs) = parts(&mut build(RTM_NEWROUTE, NLM_F_CREATE, &spec).unwrap());
        assert_eq!(fixed, [2, 24, 0, 0, 0, PROTO_BOOT, 0, 1, 0, 0, 0, 0]);
        let want: Vec<(u16, Vec<u8>)> = vec![
            (RTA_TABLE, 1000u32.to_ne_bytes().to_vec()),
            (RTA_DST, vec![198, 18, 5, 0]),
            (RTA_GATEWAY, vec![198, 18, 0, 1]),
            (RTA_OIF, 3u32.to_ne_bytes().to_vec()),
            (RTA_PRIORITY, 100u32.to_ne_bytes().to_vec()),
        ];
        assert_eq!(attrs, want);
    }

    #[test]
    fn scopes_and_types() {
        let mut spec = RouteSpec::new("2001:db8:1::".parse().unwrap(), 48);
        spec.oif = Some(2);
        let (fixed, _) = parts(&mut build(RTM_NEWROUTE, 0, &spec).unwrap());
        assert_eq!((fixed[0], fixed[4], fixed[6]), (10, 254, 253), "device route is link scope");
        let (fixed, _) = parts(&mut build(RTM_DELROUTE, 0, &spec).unwrap());
        assert_eq!(fixed[6], 255, "delete matches any scope");
        spec.kind = RouteType::Blackhole;
        let (fixed, _) = parts(&mut build(RTM_NEWROUTE, 0, &spec).unwrap());
        assert_eq!((fixed[6], fixed[7]), (0, 6));
        spec.gateway = Some("198.18.0.1".parse().unwrap());
        assert!(build(RTM_NEWROUTE, 0, &spec).is_err(), "gateway family must match");
    }
}
