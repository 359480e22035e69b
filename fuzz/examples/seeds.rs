//! Writes the binary seed files of fuzz/corpus/ from real samples:
//! VRRP adverts from the pcaps in src/vrrp/tests/fixtures, rtnetlink replies
//! from the kernel of the network namespace it runs in, and IPVS replies in
//! the kernel's layout, DNS_CHECK queries and replies from vigil's own
//! builder. The text seeds (configs, HTTP, SMTP) are plain files.
//!
//! `ip netns exec <ns> cargo run --manifest-path fuzz/Cargo.toml --example seeds`
//! from the repository root, in a namespace with a few links and addresses.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use vigil::ipvs::{codec, Dest, Family, Forward, Protocol, Service, ServiceKey};
use vigil::sys::netlink::msg::{NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use vigil::sys::netlink::rt::{ifaddrmsg, ifinfomsg, IFLA_IFNAME, RTM_GETADDR, RTM_GETLINK};
use vigil::sys::netlink::{Messages, Request};
use vigil::vrrp::{ChecksumForm, Instance, InstanceParams, Version};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("fuzz/corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

/// IPv4 datagrams of protocol 112 (VRRP) or 51 (AH) in a pcap with Ethernet or Linux cooked framing.
fn vrrp_datagrams(pcap: &[u8]) -> Vec<Vec<u8>> {
    let le = pcap.get(..4) == Some(&[0xd4, 0xc3, 0xb2, 0xa1]);
    let u32_at = |i: usize| {
        let b = [pcap[i], pcap[i + 1], pcap[i + 2], pcap[i + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let link = u32_at(20);
    let skip = match link {
        1 => 14,
        113 => 16,
        276 => 20,
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let len = u32_at(at + 8) as usize;
        let Some(frame) = pcap.get(at + 16..at + 16 + len) else { break };
        at += 16 + len;
        let ip = match frame.get(skip..) {
            // Skip one 802.1Q tag when present.
            Some(ip) if link == 1 && frame[12..14] == [0x81, 0x00] => &ip[4..],
            Some(ip) => ip,
            None => continue,
        };
        if ip.len() >= 20 && ip[0] >> 4 == 4 && (ip[9] == 112 || ip[9] == 51) {
            out.push(ip.to_vec());
        }
    }
    out
}

fn vrrp() {
    let fixtures = Path::new("src/vrrp/tests/fixtures");
    let mut n = 0;
    for entry in fs::read_dir(fixtures).expect("fixtures") {
        let path = entry.expect("entry").path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("pcap").to_string();
        let pcap = fs::read(&path).expect("read pcap");
        let mut seen = Vec::new();
        for d in vrrp_datagrams(&pcap) {
            let payload = d[usize::from(d[0] & 0xf) * 4..].to_vec();
            // Distinct by everything but the checksum-free fields that change per packet.
            if seen.contains(&payload) || seen.len() >= 3 {
                continue;
            }
            seen.push(payload.clone());
            let i = seen.len();
            write("vrrp_ipv4", &format!("{stem}-{i}"), &d);
            if d[9] == 51 {
                // Behind AH: only the whole datagram means anything.
                n += 1;
                continue;
            }
            write("vrrp_advert", &format!("{stem}-{i}"), &payload);
            // One instance pick byte (v2 or v3 IPv4), then one record per second.
            let v3 = payload[0] >> 4 == 3;
            let mut seq = vec![if v3 { 2 } else { 0 }];
            for delay in [0u8, 100, 100, 250] {
                seq.extend([0, delay, payload.len() as u8]);
                seq.extend(&payload);
            }
            write("vrrp_instance", &format!("{stem}-{i}"), &seq);
            n += 1;
        }
    }
    // IPv6 has no pcap here: the codec's own v3 advert.
    let src: IpAddr = "fe80::1".parse().expect("addr");
    let mut p = InstanceParams::new("VI_6", 51, 100, src);
    p.version = Version::V3;
    p.vips = vec!["2001:db8::100".parse().expect("addr"), "2001:db8::101".parse().expect("addr")];
    let dst: IpAddr = "ff02::12".parse().expect("addr");
    let a = Instance::new(p).advert(100);
    let bytes = a.to_bytes(ChecksumForm::for_tx(Version::V3, src, dst, false)).expect("emit");
    write("vrrp_advert", "codec-v3-ipv6", &bytes);
    let mut seq = vec![1];
    for delay in [0u8, 100, 100] {
        seq.extend([0, delay, bytes.len() as u8]);
        seq.extend(&bytes);
    }
    write("vrrp_instance", "codec-v3-ipv6", &seq);
    println!("vrrp: {n} adverts from pcaps");
}

/// Send one request on a raw rtnetlink socket and keep every datagram of
/// the answer, as the kernel wrote it.
fn capture(mut req: Request, flags: u16) -> Vec<Vec<u8>> {
    req.add_flags(NLM_F_REQUEST | flags);
    // SAFETY: plain socket calls on a descriptor we own; buffers outlive the calls.
    unsafe {
        let fd = libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE);
        assert!(fd >= 0, "netlink socket");
        let one: libc::c_int = 1;
        let p = (&one as *const libc::c_int).cast();
        libc::setsockopt(fd, 270, 11, p, 4); // NETLINK_EXT_ACK: error text too
        let bytes = req.finish(1);
        let mut sa: libc::sockaddr_nl = std::mem::zeroed();
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let sent = libc::sendto(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            (&sa as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        );
        assert_eq!(sent, bytes.len() as isize, "netlink send");
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
            assert!(n > 0, "netlink recv");
            let d = buf[..n as usize].to_vec();
            let last = flags & NLM_F_DUMP == 0
                || Messages::new(&d).flatten().any(|m| matches!(m.header.kind, NLMSG_DONE | NLMSG_ERROR));
            out.push(d);
            if last || out.len() > 16 {
                break;
            }
        }
        libc::close(fd);
        out
    }
}

fn netlink() {
    let mut req = Request::new(RTM_GETLINK, 0);
    req.push_fixed(&ifinfomsg(libc::AF_UNSPEC as u8, 0));
    for (i, d) in capture(req, NLM_F_DUMP).iter().enumerate() {
        write("netlink_route", &format!("dump-links-{i}"), d);
    }
    for (name, family) in [("v4", libc::AF_INET), ("v6", libc::AF_INET6)] {
        let mut req = Request::new(RTM_GETADDR, 0);
        req.push_fixed(&ifaddrmsg(family as u8, 0, 0, 0, 0));
        for (i, d) in capture(req, NLM_F_DUMP).iter().enumerate() {
            write("netlink_route", &format!("dump-addrs-{name}-{i}"), d);
        }
    }
    // A GET for a link that does not exist: NLMSG_ERROR (ENODEV) echoing the request.
    let mut req = Request::new(RTM_GETLINK, 0);
    req.push_fixed(&ifinfomsg(libc::AF_UNSPEC as u8, 0));
    req.attrs().put_str(IFLA_IFNAME, "no-such-link");
    for (i, d) in capture(req, NLM_F_ACK).iter().enumerate() {
        write("netlink_route", &format!("error-enodev-{i}"), d);
    }
    println!("netlink: captured");
}

/// A reply datagram: netlink header + the payload of one of our requests,
/// whose attribute layout is the kernel's reply layout.
fn as_reply(mut req: Request, family_id: u16) -> Vec<u8> {
    let mut d = req.finish(7).to_vec();
    d[4..6].copy_from_slice(&family_id.to_ne_bytes());
    d
}

fn ipvs() {
    let hex = |s: &str| -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).expect("hex"), 16).expect("hex"))
            .collect()
    };
    // Payloads (genl header + attributes) as a 6.x kernel sends them.
    write(
        "ipvs_reply",
        "family",
        &hex("01020000 09000200 49505653 00000000 06000100 22000000 08000300 01000000 08000500 06000000"),
    );
    write("ipvs_reply", "info", &hex("0e010000 08000100 01020100 08000200 00100000"));
    write("ipvs_reply", "timeouts", &hex("0c010000 08000400 84030000 08000500 78000000 08000600 2c010000"));
    write(
        "ipvs_reply",
        "dest-v4-tun",
        &hex("05010000 5c000200 14000100 c6120102 00000000 00000000 00000000 06000200 00500000 08000300 02000000 08000400 07000000 08000500 00000000 08000600 00000000 08000700 02000000 08000800 01000000 06000b00 02000000 04000a00"),
    );
    let ip = |s: &str| -> IpAddr { s.parse().expect("addr") };
    let services = [
        Service {
            key: ServiceKey::Addr { protocol: Protocol::Tcp, addr: ip("198.18.0.10"), port: 80 },
            scheduler: "wrr".into(),
            persistence: Some(300),
            netmask: Some(0xffff_ff00),
            flags: 0,
        },
        Service {
            key: ServiceKey::Addr { protocol: Protocol::Udp, addr: ip("2001:db8::10"), port: 53 },
            scheduler: "rr".into(),
            persistence: None,
            netmask: Some(64),
            flags: 0,
        },
        Service {
            key: ServiceKey::Fwmark { af: Family::V4, mark: 7 },
            scheduler: "sh".into(),
            persistence: None,
            netmask: None,
            flags: 0,
        },
    ];
    for (i, svc) in services.iter().enumerate() {
        write("ipvs_reply", &format!("service-{i}"), &as_reply(codec::new_service(0x22, svc), 0x22));
        let dest = Dest {
            addr: if i == 1 { ip("2001:db8::2") } else { ip("198.18.0.2") },
            port: 80,
            weight: 3,
            forward: if i == 0 { Forward::Nat } else { Forward::Dr },
            u_threshold: 100,
            l_threshold: 10,
        };
        write("ipvs_reply", &format!("dest-{i}"), &as_reply(codec::new_dest(0x22, &svc.key, &dest), 0x22));
    }
    println!("ipvs: written");
}

/// dns_reply: `[id] [datagram]` for replies a server may send, and
/// `[id] [name]` for the query builder.
fn dns() {
    use vigil::check::dns::{query, SOA};
    let with_id = |id: u16, msg: &[u8]| [&id.to_be_bytes()[..], msg].concat();
    let reply = |id: u16, flags: u16, qtype: u16, name: &str| {
        let mut r = query(id, qtype, name).expect("seed name");
        r[2..4].copy_from_slice(&flags.to_be_bytes());
        r
    };
    write("dns_reply", "noerror-root-soa", &with_id(0xbeef, &reply(0xbeef, 0x8180, SOA, ".")));
    write("dns_reply", "nxdomain", &with_id(0x1234, &reply(0x1234, 0x8183, 1, "www.example.com")));
    write("dns_reply", "other-id", &with_id(0x1234, &reply(0x4321, 0x8180, SOA, ".")));
    write("dns_reply", "query-not-reply", &with_id(0x1234, &reply(0x1234, 0x0100, SOA, ".")));
    write("dns_reply", "short", &with_id(0x1234, &[0x12, 0x34, 0x81]));
    write("dns_reply", "name-www.example.com", &with_id(1, b"www.example.com"));
    write("dns_reply", "name-empty-label", &with_id(1, b"a..b"));
}

fn main() {
    dns();
    vrrp();
    netlink();
    ipvs();
}
