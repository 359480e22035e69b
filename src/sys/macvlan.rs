//! Macvlan links for `use_vmac`: a private-mode macvlan on the instance
//! interface carrying the RFC 5798 virtual MAC (00:00:5e:00:01:VRID for
//! IPv4, 00:00:5e:00:02:VRID for IPv6).
//!
//! Private mode because bridge and VEPA macvlans never see multicast sent
//! from their own MAC, which is exactly what the other routers' adverts are.
//! The link is created down with IPv6 address generation turned off: every
//! router carries the same MAC, so an EUI-64 link-local address would
//! collide, and its DAD and MLD frames would teach the switch the VMAC on
//! a backup's port. Message builders are pure; the rest asks the kernel.

use super::link::{self, Link, IFF_UP};
use super::netlink::msg::{NLM_F_CREATE, NLM_F_EXCL};
use super::netlink::rt::*;
use super::netlink::{Request, Socket};
use super::{Error, Result};

pub const IFLA_LINK: u16 = 5;
pub const IFLA_AF_SPEC: u16 = 26;
pub const IFLA_INFO_DATA: u16 = 2;
pub const IFLA_MACVLAN_MODE: u16 = 1;
pub const MACVLAN_MODE_PRIVATE: u32 = 1;
pub const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
pub const IN6_ADDR_GEN_MODE_NONE: u8 = 1;

/// The virtual router MAC of `vrid` (RFC 5798 section 7.3).
pub fn virtual_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// RTM_NEWLINK creating macvlan `name` on `parent` with `mac`, private
/// mode, left down. Fails if a link of that name exists (NLM_F_EXCL).
pub fn create_request(name: &str, parent: u32, mac: [u8; 6]) -> Result<Request> {
    check_name(name)?;
    let mut req = Request::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    req.push_fixed(&ifinfomsg(libc::AF_UNSPEC as u8, 0));
    let mut w = req.attrs();
    w.put_str(IFLA_IFNAME, name).put_u32(IFLA_LINK, parent).put(IFLA_ADDRESS, &mac);
    let info = w.nest_begin(IFLA_LINKINFO);
    w.put_str(IFLA_INFO_KIND, "macvlan");
    let data = w.nest_begin(IFLA_INFO_DATA);
    w.put_u32(IFLA_MACVLAN_MODE, MACVLAN_MODE_PRIVATE);
    w.nest_end(data);
    w.nest_end(info);
    Ok(req)
}

/// RTM_NEWLINK on an existing link: no IPv6 address generation (must
/// precede bringing it up, which is when the link-local would appear).
pub fn no_addr_gen_request(index: u32) -> Request {
    let mut req = Request::new(RTM_NEWLINK, 0);
    req.push_fixed(&ifinfomsg(libc::AF_UNSPEC as u8, index));
    let mut w = req.attrs();
    let spec = w.nest_begin(IFLA_AF_SPEC);
    let inet6 = w.nest_begin(libc::AF_INET6 as u16);
    w.put_u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    w.nest_end(inet6);
    w.nest_end(spec);
    req
}

/// RTM_NEWLINK setting IFF_UP on `index`.
pub fn up_request(index: u32) -> Request {
    let mut msg = ifinfomsg(libc::AF_UNSPEC as u8, index);
    msg[8..12].copy_from_slice(&IFF_UP.to_ne_bytes());
    msg[12..16].copy_from_slice(&IFF_UP.to_ne_bytes());
    let mut req = Request::new(RTM_NEWLINK, 0);
    req.push_fixed(&msg);
    req
}

/// RTM_DELLINK of `index`.
pub fn delete_request(index: u32) -> Request {
    let mut req = Request::new(RTM_DELLINK, 0);
    req.push_fixed(&ifinfomsg(libc::AF_UNSPEC as u8, index));
    req
}

fn check_name(name: &str) -> Result<()> {
    let bad = name.is_empty() || name.len() >= libc::IF_NAMESIZE || name.contains(['/', ' ', '\0']);
    if bad || name == "." || name == ".." {
        return Err(Error::invalid(format!("interface name {name:?}")));
    }
    Ok(())
}

/// Whether an existing link is a macvlan we can take over: same kind and MAC
/// (left behind by a run that was killed, or created by a restarted child).
pub fn is_reusable(l: &Link, mac: [u8; 6]) -> bool {
    l.kind.as_deref() == Some("macvlan") && l.mac == Some(mac)
}

/// Create (or take over) macvlan `name` on `parent` with `mac` and bring it
/// up. A link of that name that is something else is an EEXIST error.
pub fn create(sock: &mut Socket, name: &str, parent: u32, mac: [u8; 6]) -> Result<Link> {
    match sock.request(create_request(name, parent, mac)?, &format!("create macvlan {name}")) {
        Ok(()) => {}
        Err(e) if e.errno() == libc::EEXIST => {}
        Err(e) => return Err(e),
    }
    let l = link::link_by_name(sock, name)?
        .ok_or_else(|| Error::new(libc::ENODEV, format!("macvlan {name} vanished after creation")))?;
    if !is_reusable(&l, mac) {
        return Err(Error::new(libc::EEXIST, format!("{name} exists and is not our macvlan")));
    }
    if !l.is_up() {
        sock.request(no_addr_gen_request(l.index), &format!("no IPv6 address generation on {name}"))?;
    }
    sock.request(up_request(l.index), &format!("set {name} up"))?;
    Ok(l)
}

/// Delete link `index`; one that is already gone counts as deleted.
pub fn delete(sock: &mut Socket, index: u32, name: &str) -> Result<()> {
    match sock.request(delete_request(index), &format!("delete {name}")) {
        Err(e) if e.errno() == libc::ENODEV => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize((v.len() + 3) & !3, 0);
        v
    }

    fn header(len: usize, kind: u16, flags: u16, seq: u32) -> Vec<u8> {
        let mut h = (len as u32).to_ne_bytes().to_vec();
        h.extend_from_slice(&kind.to_ne_bytes());
        h.extend_from_slice(&flags.to_ne_bytes());
        h.extend_from_slice(&seq.to_ne_bytes());
        h.extend_from_slice(&[0; 4]);
        h
    }

    #[test]
    fn virtual_macs() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 0x33]);
        assert_eq!(virtual_mac(255, true), [0, 0, 0x5e, 0, 2, 0xff]);
    }

    #[test]
    fn create_bytes() {
        let mac = virtual_mac(7, false);
        let data = nla(IFLA_MACVLAN_MODE, &1u32.to_ne_bytes());
        let mut info = nla(IFLA_INFO_KIND, b"macvlan\0");
        info.extend(nla(IFLA_INFO_DATA | 0x8000, &data));
        let mut body = vec![0u8; 16];
        body.extend(nla(IFLA_IFNAME, b"vrrp.7\0"));
        body.extend(nla(IFLA_LINK, &4u32.to_ne_bytes()));
        body.extend(nla(IFLA_ADDRESS, &mac));
        body.extend(nla(IFLA_LINKINFO | 0x8000, &info));
        let mut want = header(16 + body.len(), RTM_NEWLINK, 0x01 | 0x400 | 0x200, 9);
        want.extend(body);
        let mut req = create_request("vrrp.7", 4, mac).unwrap();
        assert_eq!(req.finish(9), &want[..]);
        // Spot-check the layout independently of the helpers above.
        assert_eq!(want.len(), 16 + 16 + 12 + 8 + 12 + 28);
        assert_eq!(&want[want.len() - 8..], &[8, 0, 1, 0, 1, 0, 0, 0][..], "IFLA_MACVLAN_MODE private");
    }

    #[test]
    fn up_addr_gen_and_delete_bytes() {
        let mut up = header(32, RTM_NEWLINK, 0x01, 1);
        up.extend_from_slice(&[0, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(up_request(6).finish(1), &up[..]);

        let mut del = header(32, RTM_DELLINK, 0x01, 2);
        del.extend_from_slice(&[0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(delete_request(6).finish(2), &del[..]);

        let mut gen = header(48, RTM_NEWLINK, 0x01, 3);
        gen.extend_from_slice(&[0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE = 1 } }
        gen.extend_from_slice(&[16, 0, 26, 0x80, 12, 0, 10, 0x80, 5, 0, 8, 0, 1, 0, 0, 0]);
        assert_eq!(no_addr_gen_request(6).finish(3), &gen[..]);
    }

    #[test]
    fn bad_names_are_refused() {
        for name in ["", "a/b", "..", "sixteen-chars-xx", "a b"] {
            assert!(create_request(name, 1, [0; 6]).is_err(), "{name:?}");
        }
        assert!(create_request("vrrp.255", 1, [0; 6]).is_ok());
    }

    #[test]
    fn only_a_macvlan_with_our_mac_is_reused() {
        let mac = virtual_mac(9, false);
        let l = Link {
            index: 3,
            name: "vrrp.9".into(),
            flags: 0,
            operstate: link::OperState::Down,
            mac: Some(mac),
            mtu: 1500,
            kind: Some("macvlan".into()),
        };
        assert!(is_reusable(&l, mac));
        assert!(!is_reusable(&l, virtual_mac(10, false)));
        assert!(!is_reusable(&Link { kind: Some("veth".into()), ..l.clone() }, mac));
        assert!(!is_reusable(&Link { kind: None, ..l }, mac));
    }
}
