//! `vigil::sys` against the real kernel, inside throw-away network
//! namespaces joined by a veth pair (root only; skipped otherwise).
//!
//! Library code runs inside a namespace on a helper thread that calls
//! setns(CLONE_NEWNET); sockets opened there stay in that namespace, so
//! they can be handed back and used from the test thread.

use std::mem;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::time::{Duration, Instant};

use vigil::sys::addr::{self, AddrSpec, Broadcast, Change, Scope};
use vigil::sys::garp::{build_garp, build_unsolicited_na, ArpSocket, NaSocket};
use vigil::sys::link::{self, Event, Monitor};
use vigil::sys::netlink::Socket;
use vigil::sys::route::{self, RouteSpec, RouteType};
use vigil::sys::vrrp_socket::{SocketConfig, VrrpSocket, VRRP_GROUP_V4, VRRP_GROUP_V6};

// ---- harness -------------------------------------------------------------

/// These tests need root (network namespaces, raw sockets); CI runs as root,
/// so without it they fail with the reason instead of passing by skipping.
fn require_root() {
    // SAFETY: no arguments, no side effects.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(root, "network namespace tests need root");
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two namespaces `a` and `b` joined by veth `va` (in a) <-> `vb` (in b),
/// both up. Deleted on drop, also when the test fails.
struct NsPair {
    a: String,
    b: String,
}

impl NsPair {
    fn new(tag: &str) -> NsPair {
        let pid = std::process::id();
        let pair = NsPair { a: format!("vg-{pid}-{tag}-a"), b: format!("vg-{pid}-{tag}-b") };
        ip(&["netns", "add", &pair.a]);
        ip(&["netns", "add", &pair.b]);
        // Created inside `a`, so the host's interfaces are never involved.
        ip(&["-n", &pair.a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &pair.b]);
        for (ns, dev) in [(&pair.a, "va"), (&pair.b, "vb")] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        pair
    }
}

impl Drop for NsPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Run `f` on a thread that has entered namespace `ns`.
fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns");
        // SAFETY: a valid namespace fd; affects only this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

fn ifindex(ns: &str, dev: &'static str) -> u32 {
    in_ns(ns, move || {
        let mut nl = Socket::open().unwrap();
        link::link_by_name(&mut nl, dev).unwrap().expect("interface exists").index
    })
}

fn mac_of(ns: &str, dev: &str) -> [u8; 6] {
    let out = ip(&["-n", ns, "-j", "link", "show", dev]);
    let text = json_str(&out, "address").expect("link has an address");
    let mut mac = [0u8; 6];
    for (i, part) in text.split(':').enumerate() {
        mac[i] = u8::from_str_radix(part, 16).unwrap();
    }
    mac
}

/// The string value of the first `"key":"value"` in compact JSON.
fn json_str(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = json.find(&pat)? + pat.len();
    Some(json[start..].split('"').next()?.to_string())
}

/// The flat `{...}` object of `ip -j addr` that holds `"local":"<addr>"`.
fn addr_object(ns: &str, dev: &str, addr: &str) -> Option<String> {
    let out = ip(&["-n", ns, "-j", "addr", "show", "dev", dev]);
    let at = out.find(&format!("\"local\":\"{addr}\""))?;
    let start = out[..at].rfind('{')?;
    let end = at + out[at..].find('}')?;
    Some(out[start..=end].to_string())
}

fn wait_readable(fd: i32, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) > 0 }
}

/// An AF_PACKET socket in the current namespace capturing `proto` on `ifindex`.
fn capture_socket(proto: u16, ifindex: u32) -> OwnedFd {
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, proto.to_be() as i32);
        assert!(fd >= 0, "AF_PACKET socket: {}", std::io::Error::last_os_error());
        let fd = OwnedFd::from_raw_fd(fd);
        let mut sa: libc::sockaddr_ll = mem::zeroed();
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = proto.to_be();
        sa.sll_ifindex = ifindex as i32;
        let rc = libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        assert_eq!(rc, 0, "bind AF_PACKET");
        fd
    }
}

/// Frames from `fd` until `want` accepts one or 3 s pass.
fn capture(fd: &OwnedFd, want: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        if !wait_readable(fd.as_raw_fd(), Duration::from_millis(100)) {
            continue;
        }
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 && want(&buf[..n as usize]) {
            return Some(buf[..n as usize].to_vec());
        }
    }
    None
}

/// What a received VRRP packet said, as the engine reads it: IPv4 through
/// the protocol core's header parser, IPv6 from the socket's metadata.
struct Got {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    /// IPv6 only (IPV6_PKTINFO); an IPv4 socket is bound to its interface.
    ifindex: Option<u32>,
    payload: std::ops::Range<usize>,
}

/// One VRRP packet from `sock`, waiting up to 3 s.
fn recv_vrrp(sock: &VrrpSocket, buf: &mut [u8]) -> Got {
    use vigil::sys::vrrp_socket::Received;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match sock.recv(buf) {
            Ok(Received::V4 { len }) => {
                let d = vigil::vrrp::Ipv4Header::parse(&buf[..len]).expect("a valid IPv4 header");
                let end = d.header_len + d.payload.len();
                let (src, dst, ttl) = (IpAddr::V4(d.header.src), IpAddr::V4(d.header.dst), d.header.ttl);
                return Got { src, dst, ttl, ifindex: None, payload: d.header_len..end };
            }
            Ok(Received::V6 { meta, len }) => {
                let (src, dst, ttl) = (meta.src, meta.dst, meta.ttl_or_hop_limit);
                return Got { src, dst, ttl, ifindex: Some(meta.ifindex), payload: 0..len };
            }
            Err(e) if e.is_would_block() && Instant::now() < deadline => {
                wait_readable(sock.as_raw_fd(), Duration::from_millis(100));
            }
            Err(e) => panic!("no VRRP packet: {e}"),
        }
    }
}

/// The Internet checksum of `data` folded into `sum`.
fn ones_complement_sum(mut sum: u32, data: &[u8]) -> u32 {
    for chunk in data.chunks(2) {
        let word =
            if chunk.len() == 2 { u16::from_be_bytes([chunk[0], chunk[1]]) } else { (chunk[0] as u16) << 8 };
        sum += word as u32;
    }
    sum
}

/// Checksum over the IPv6 pseudo-header and `payload`; 0 when the
/// checksum field inside `payload` is correct.
fn ipv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, payload: &[u8]) -> u16 {
    let mut sum = ones_complement_sum(0, &src.octets());
    sum = ones_complement_sum(sum, &dst.octets());
    sum = ones_complement_sum(sum, &(payload.len() as u32).to_be_bytes());
    sum = ones_complement_sum(sum, &[0, 0, 0, next_header]);
    sum = ones_complement_sum(sum, payload);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A VRRPv3-shaped payload; its content is opaque to `sys`.
fn advert(checksum: [u8; 2], vip: IpAddr) -> Vec<u8> {
    let mut p = vec![0x31, 51, 150, 1, 0, 100, checksum[0], checksum[1]];
    match vip {
        IpAddr::V4(a) => p.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => p.extend_from_slice(&a.octets()),
    }
    p
}

// ---- addresses -----------------------------------------------------------

#[test]
fn ipv4_addresses_with_label_brd_scope() {
    require_root();
    let ns = NsPair::new("a4");
    let idx = ifindex(&ns.a, "va");
    let mut spec = AddrSpec::host(idx, "198.18.1.10".parse().unwrap());
    spec.prefix_len = 24;
    spec.broadcast = Broadcast::Auto;
    addr::validate_label("va:vip", "va").unwrap();
    assert!(addr::validate_label("vip", "va").is_err());
    spec.label = Some("va:vip".into());
    let mut host = AddrSpec::host(idx, "198.18.1.11".parse().unwrap());
    host.scope = Scope::Host;
    host.broadcast = Broadcast::Explicit("198.18.1.99".parse().unwrap());

    let (s1, s2) = (spec.clone(), host.clone());
    let results = in_ns(&ns.a, move || {
        let mut nl = Socket::open().unwrap();
        vec![
            addr::add(&mut nl, &s1).unwrap(),
            addr::add(&mut nl, &s1).unwrap(),
            addr::add(&mut nl, &s2).unwrap(),
        ]
    });
    assert_eq!(results, [Change::Added, Change::AlreadyPresent, Change::Added]);

    let obj = addr_object(&ns.a, "va", "198.18.1.10").expect("address present");
    assert!(obj.contains("\"prefixlen\":24"), "{obj}");
    assert!(obj.contains("\"broadcast\":\"198.18.1.255\""), "{obj}");
    assert!(obj.contains("\"label\":\"va:vip\""), "{obj}");
    assert!(obj.contains("\"scope\":\"global\""), "{obj}");
    let obj = addr_object(&ns.a, "va", "198.18.1.11").expect("host address present");
    assert!(obj.contains("\"scope\":\"host\""), "{obj}");
    assert!(obj.contains("\"broadcast\":\"198.18.1.99\""), "{obj}");

    // Our own dump sees the same, with the label.
    let dumped =
        in_ns(&ns.a, move || link::dump_addrs(&mut Socket::open().unwrap(), Some(false), Some(idx)).unwrap());
    let vip = dumped.iter().find(|a| a.addr == spec.addr).expect("dumped");
    assert_eq!((vip.prefix_len, vip.label.as_deref()), (24, Some("va:vip")));
    assert_eq!(link::primary_ipv4(&dumped).map(|a| a.addr), Some(spec.addr));

    let (s1, s2) = (spec.clone(), host.clone());
    let results = in_ns(&ns.a, move || {
        let mut nl = Socket::open().unwrap();
        vec![
            addr::delete(&mut nl, &s1).unwrap(),
            addr::delete(&mut nl, &s1).unwrap(),
            addr::delete(&mut nl, &s2).unwrap(),
        ]
    });
    assert_eq!(results, [Change::Removed, Change::AlreadyAbsent, Change::Removed]);
    assert!(addr_object(&ns.a, "va", "198.18.1.10").is_none());
}

#[test]
fn ipv6_vip_nodad_deprecated() {
    require_root();
    let ns = NsPair::new("a6");
    let idx = ifindex(&ns.a, "va");
    let mut spec = AddrSpec::host(idx, "2001:db8::10".parse().unwrap());
    spec.nodad = true;
    spec.preferred_lft = Some(0);
    let s = spec.clone();
    let (added, again, dumped) = in_ns(&ns.a, move || {
        let mut nl = Socket::open().unwrap();
        let added = addr::add(&mut nl, &s).unwrap();
        let again = addr::add(&mut nl, &s).unwrap();
        (added, again, link::dump_addrs(&mut nl, Some(true), Some(idx)).unwrap())
    });
    assert_eq!((added, again), (Change::Added, Change::AlreadyPresent));
    let vip = dumped.iter().find(|a| a.addr == spec.addr).expect("dumped");
    assert_eq!(vip.prefix_len, 128);
    assert!(vip.flags & link::IFA_F_NODAD != 0, "nodad flag: {:#x}", vip.flags);
    assert!(!vip.is_tentative() && !vip.is_dadfailed(), "usable at once: {:#x}", vip.flags);
    assert!(vip.is_deprecated(), "preferred_lft 0 deprecates: {:#x}", vip.flags);

    let obj = addr_object(&ns.a, "va", "2001:db8::10").expect("address present");
    assert!(obj.contains("\"preferred_life_time\":0"), "{obj}");
    assert!(obj.contains("\"nodad\":true"), "{obj}");

    let s = spec.clone();
    let results = in_ns(&ns.a, move || {
        let mut nl = Socket::open().unwrap();
        [addr::delete(&mut nl, &s).unwrap(), addr::delete(&mut nl, &s).unwrap()]
    });
    assert_eq!(results, [Change::Removed, Change::AlreadyAbsent]);
    assert!(addr_object(&ns.a, "va", "2001:db8::10").is_none());
}

// ---- routes --------------------------------------------------------------

#[test]
fn routes_add_delete_and_types() {
    require_root();
    let ns = NsPair::new("rt");
    ip(&["-n", &ns.a, "addr", "add", "198.18.1.1/24", "dev", "va"]);
    let idx = ifindex(&ns.a, "va");
    let mut via = RouteSpec::new("198.18.50.0".parse().unwrap(), 24);
    via.gateway = Some("198.18.1.2".parse().unwrap());
    via.oif = Some(idx);
    via.metric = Some(77);
    via.src = Some("198.18.1.1".parse().unwrap());
    let mut hole = RouteSpec::new("198.18.60.0".parse().unwrap(), 24);
    hole.kind = RouteType::Blackhole;
    hole.table = 100;
    let mut unreach = RouteSpec::new("2001:db8:99::".parse().unwrap(), 48);
    unreach.kind = RouteType::Unreachable;
    let mut dev_route = RouteSpec::new("198.18.70.0".parse().unwrap(), 24);
    dev_route.oif = Some(idx);

    let specs = [via.clone(), hole.clone(), unreach.clone(), dev_route.clone()];
    let added = in_ns(&ns.a, move || {
        let mut nl = Socket::open().unwrap();
        let mut r: Vec<Change> = specs.iter().map(|s| route::add(&mut nl, s).unwrap()).collect();
        r.push(route::add(&mut nl, &specs[0]).unwrap());
        r
    });
    assert_eq!(added, [Change::Added, Change::Added, Change::Added, Change::Added, Change::AlreadyPresent]);

    let main = ip(&["-n", &ns.a, "route", "show"]);
    assert!(main.contains("198.18.50.0/24 via 198.18.1.2 dev va src 198.18.1.1 metric 77"), "{main}");
    assert!(main.contains("198.18.70.0/24 dev va scope link"), "{main}");
    let t100 = ip(&["-n", &ns.a, "route", "show", "table", "100"]);
    assert!(t100.contains("blackhole 198.18.60.0/24"), "{t100}");
    let v6 = ip(&["-n", &ns.a, "-6", "route", "show"]);
    assert!(v6.contains("unreachable 2001:db8:99::/48"), "{v6}");

    let specs = [via, hole, unreach, dev_route];
    let deleted = in_ns(&ns.a, move || {
        let mut nl = Socket::open().unwrap();
        let mut r: Vec<Change> = specs.iter().map(|s| route::delete(&mut nl, s).unwrap()).collect();
        r.push(route::delete(&mut nl, &specs[0]).unwrap());
        r
    });
    assert_eq!(
        deleted,
        [Change::Removed, Change::Removed, Change::Removed, Change::Removed, Change::AlreadyAbsent]
    );
    let main = ip(&["-n", &ns.a, "route", "show"]);
    assert!(!main.contains("198.18.50.0") && !main.contains("198.18.70.0"), "{main}");
    assert!(ip(&["-n", &ns.a, "route", "show", "table", "100"]).trim().is_empty());
}

// ---- links and events ----------------------------------------------------

#[test]
fn link_dump_finds_veth() {
    require_root();
    let ns = NsPair::new("ld");
    let mac = mac_of(&ns.a, "va");
    let va = in_ns(&ns.a, || {
        let mut nl = Socket::open().unwrap();
        // The carrier comes up asynchronously once both ends are up.
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let links = link::dump_links(&mut nl).unwrap();
            let va = links.into_iter().find(|l| l.name == "va").expect("va in dump");
            if va.is_lower_up() || Instant::now() > deadline {
                let by_name = link::link_by_name(&mut nl, "va").unwrap();
                assert_eq!(by_name.as_ref(), Some(&va));
                assert_eq!(link::link_by_name(&mut nl, "nonexistent0").unwrap(), None);
                return va;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    assert_eq!(va.mac, Some(mac));
    assert_eq!(va.kind.as_deref(), Some("veth"));
    assert_eq!(va.mtu, 1500);
    assert!(va.is_up() && va.is_running() && va.is_lower_up(), "flags {:#x}", va.flags);
    assert_eq!(va.operstate, link::OperState::Up);
}

/// Events from `mon` until `want` matches one or 3 s pass, driven by mio.
fn wait_event(mon: &mut Monitor, want: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut poll = mio::Poll::new().unwrap();
    let fd = mon.as_raw_fd();
    poll.registry().register(&mut mio::unix::SourceFd(&fd), mio::Token(0), mio::Interest::READABLE).unwrap();
    let mut events = mio::Events::with_capacity(4);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
        mon.read_events(&mut seen).unwrap();
        if seen.iter().any(&want) {
            break;
        }
    }
    poll.registry().deregister(&mut mio::unix::SourceFd(&fd)).unwrap();
    seen
}

#[test]
fn link_and_address_events() {
    require_root();
    let ns = NsPair::new("ev");
    let mut mon = in_ns(&ns.a, || Monitor::open().unwrap());

    ip(&["-n", &ns.a, "link", "set", "va", "down"]);
    let seen = wait_event(&mut mon, |e| matches!(e, Event::Link(l) if l.name == "va" && !l.is_up()));
    assert!(seen.iter().any(|e| matches!(e, Event::Link(l) if l.name == "va" && !l.is_up())), "{seen:?}");

    ip(&["-n", &ns.a, "link", "set", "va", "up"]);
    let seen = wait_event(&mut mon, |e| matches!(e, Event::Link(l) if l.name == "va" && l.is_up()));
    assert!(seen.iter().any(|e| matches!(e, Event::Link(l) if l.name == "va" && l.is_up())), "{seen:?}");

    let vip: IpAddr = "198.18.1.77".parse().unwrap();
    ip(&["-n", &ns.a, "addr", "add", "198.18.1.77/32", "dev", "va"]);
    let seen = wait_event(&mut mon, |e| matches!(e, Event::Addr(a) if a.addr == vip));
    assert!(
        seen.iter().any(|e| matches!(e, Event::Addr(a) if a.addr == vip && a.prefix_len == 32)),
        "{seen:?}"
    );

    ip(&["-n", &ns.a, "addr", "del", "198.18.1.77/32", "dev", "va"]);
    let seen = wait_event(&mut mon, |e| matches!(e, Event::AddrGone(a) if a.addr == vip));
    assert!(seen.iter().any(|e| matches!(e, Event::AddrGone(a) if a.addr == vip)), "{seen:?}");
}

#[test]
fn overflowing_monitor_asks_for_resync() {
    require_root();
    let ns = NsPair::new("nb");
    // The smallest queue the kernel allows, then a burst we do not read.
    let mut mon = in_ns(&ns.a, || Monitor::with_recv_buffer(0).unwrap());
    let batch: String =
        (1..=200).map(|i| format!("addr add 198.18.{}.{}/32 dev va\n", 100 + i / 200, i % 200)).collect();
    let path = std::env::temp_dir().join(format!("vg-{}-batch", std::process::id()));
    std::fs::write(&path, batch).unwrap();
    let res = Command::new("ip").args(["-n", &ns.a, "-batch"]).arg(&path).status();
    let _ = std::fs::remove_file(&path);
    assert!(res.unwrap().success());
    let mut seen = Vec::new();
    mon.read_events(&mut seen).unwrap();
    assert!(seen.contains(&Event::Resync), "expected a resync among {} events", seen.len());
    // After a resync a fresh dump is the source of truth.
    let n = in_ns(&ns.a, || link::dump_addrs(&mut Socket::open().unwrap(), Some(false), None).unwrap().len());
    assert!(n >= 199, "dump after resync sees the addresses: {n}");
}

// ---- VRRP raw sockets ----------------------------------------------------

#[test]
fn vrrp_ipv4_multicast() {
    require_root();
    let ns = NsPair::new("m4");
    ip(&["-n", &ns.a, "addr", "add", "198.18.2.1/24", "dev", "va"]);
    ip(&["-n", &ns.b, "addr", "add", "198.18.2.2/24", "dev", "vb"]);
    let (ia, ib) = (ifindex(&ns.a, "va"), ifindex(&ns.b, "vb"));
    let tx = in_ns(&ns.a, move || {
        let mut cfg = SocketConfig::multicast_v4(ia);
        cfg.src = Some("198.18.2.1".parse().unwrap());
        VrrpSocket::open_v4(&cfg).unwrap()
    });
    let rx = in_ns(&ns.b, move || VrrpSocket::open_v4(&SocketConfig::multicast_v4(ib)).unwrap());

    let payload = advert([0xab, 0xcd], "198.18.2.100".parse().unwrap());
    tx.send_to(IpAddr::V4(VRRP_GROUP_V4), &payload).unwrap();
    let mut buf = [0u8; 1500];
    let got = recv_vrrp(&rx, &mut buf);
    assert_eq!(got.src, "198.18.2.1".parse::<IpAddr>().unwrap());
    assert_eq!(got.dst, IpAddr::V4(VRRP_GROUP_V4));
    assert_eq!(got.ttl, 255);
    assert_eq!(&buf[got.payload.clone()], &payload[..]);
    assert_eq!(buf[1], 0xc0, "TOS CS6");
    assert_eq!(buf[9], 112, "protocol VRRP");
    // The sender does not hear itself.
    assert!(tx.recv(&mut buf).unwrap_err().is_would_block());
}

#[test]
fn vrrp_ipv4_unicast() {
    require_root();
    let ns = NsPair::new("u4");
    ip(&["-n", &ns.a, "addr", "add", "198.18.3.1/24", "dev", "va"]);
    ip(&["-n", &ns.b, "addr", "add", "198.18.3.2/24", "dev", "vb"]);
    let (ia, ib) = (ifindex(&ns.a, "va"), ifindex(&ns.b, "vb"));
    let tx = in_ns(&ns.a, move || {
        let mut cfg = SocketConfig::unicast(ia);
        cfg.src = Some("198.18.3.1".parse().unwrap());
        VrrpSocket::open_v4(&cfg).unwrap()
    });
    let rx = in_ns(&ns.b, move || {
        let mut cfg = SocketConfig::unicast(ib);
        cfg.src = Some("198.18.3.2".parse().unwrap());
        VrrpSocket::open_v4(&cfg).unwrap()
    });
    let payload = advert([0, 0], "198.18.3.100".parse().unwrap());
    tx.send_to("198.18.3.2".parse().unwrap(), &payload).unwrap();
    let mut buf = [0u8; 1500];
    let got = recv_vrrp(&rx, &mut buf);
    assert_eq!(got.src, "198.18.3.1".parse::<IpAddr>().unwrap());
    assert_eq!(got.dst, "198.18.3.2".parse::<IpAddr>().unwrap());
    assert_eq!(got.ttl, 255);
    assert_eq!(&buf[got.payload.clone()], &payload[..]);
}

#[test]
fn vrrp_ipv6_multicast_kernel_checksum() {
    require_root();
    let ns = NsPair::new("m6");
    ip(&["-n", &ns.a, "addr", "add", "fe80::a/64", "dev", "va", "nodad"]);
    ip(&["-n", &ns.b, "addr", "add", "fe80::b/64", "dev", "vb", "nodad"]);
    let (ia, ib) = (ifindex(&ns.a, "va"), ifindex(&ns.b, "vb"));
    let src: Ipv6Addr = "fe80::a".parse().unwrap();
    let tx = in_ns(&ns.a, move || {
        let mut cfg = SocketConfig::multicast_v6(ia);
        cfg.src = Some(IpAddr::V6(src));
        VrrpSocket::open_v6(&cfg).unwrap()
    });
    let rx = in_ns(&ns.b, move || VrrpSocket::open_v6(&SocketConfig::multicast_v6(ib)).unwrap());

    // Checksum left zero: the kernel fills it in.
    let payload = advert([0, 0], "2001:db8::100".parse().unwrap());
    tx.send_to(IpAddr::V6(VRRP_GROUP_V6), &payload).unwrap();
    let mut buf = [0u8; 1500];
    let got = recv_vrrp(&rx, &mut buf);
    assert_eq!(got.src, IpAddr::V6(src));
    assert_eq!(got.dst, IpAddr::V6(VRRP_GROUP_V6));
    assert_eq!(got.ttl, 255);
    assert_eq!(got.ifindex, Some(ib));
    let rx_payload = &buf[got.payload.clone()];
    assert_eq!(rx_payload.len(), payload.len());
    assert_eq!(rx_payload[..6], payload[..6]);
    assert_eq!(rx_payload[8..], payload[8..]);
    assert_ne!(rx_payload[6..8], [0, 0], "kernel wrote a checksum");
    assert_eq!(ipv6_checksum(src, VRRP_GROUP_V6, 112, rx_payload), 0, "checksum verifies");
}

// ---- gratuitous ARP and unsolicited NA -----------------------------------

#[test]
fn garp_seen_on_peer() {
    require_root();
    let ns = NsPair::new("ga");
    let (ia, ib) = (ifindex(&ns.a, "va"), ifindex(&ns.b, "vb"));
    let mac = mac_of(&ns.a, "va");
    let frame = build_garp(mac, "198.18.4.100".parse().unwrap());
    let cap = in_ns(&ns.b, move || capture_socket(libc::ETH_P_ARP as u16, ib));
    in_ns(&ns.a, move || ArpSocket::open().unwrap().send(ia, &frame).unwrap());
    let got = capture(&cap, |f| f.len() >= 42 && f[28..32] == [198, 18, 4, 100]).expect("GARP captured");
    assert_eq!(got, frame.to_vec(), "exact bytes on the wire");
}

#[test]
fn unsolicited_na_seen_on_peer() {
    require_root();
    let ns = NsPair::new("na");
    ip(&["-n", &ns.a, "addr", "add", "fe80::a/64", "dev", "va", "nodad"]);
    let (ia, ib) = (ifindex(&ns.a, "va"), ifindex(&ns.b, "vb"));
    let mac = mac_of(&ns.a, "va");
    let target: Ipv6Addr = "2001:db8::64".parse().unwrap();
    let msg = build_unsolicited_na(target, mac, false);
    let cap = in_ns(&ns.b, move || capture_socket(libc::ETH_P_IPV6 as u16, ib));
    let sent = msg.clone();
    in_ns(&ns.a, move || NaSocket::open().unwrap().send(ia, &sent).unwrap());

    // Ethernet (14) + IPv6 (40) + NA; skip other traffic such as MLD and DAD.
    let got = capture(&cap, |f| f.len() >= 86 && f[20] == 58 && f[54] == 136 && f[62..78] == target.octets())
        .expect("NA captured");
    assert_eq!(got[0..6], [0x33, 0x33, 0, 0, 0, 1], "to all-nodes MAC");
    assert_eq!(got[6..12], mac);
    assert_eq!(got[21], 255, "hop limit");
    assert_eq!(got[38..54], Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets());
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&got[22..38]).unwrap());
    assert_eq!(src, "fe80::a".parse::<Ipv6Addr>().unwrap());
    let icmp = &got[54..86];
    assert_eq!(icmp[..2], msg[..2]);
    assert_eq!(icmp[4..], msg[4..], "flags, target and option as built");
    assert_eq!(icmp[4] & 0x20, 0x20, "override");
    assert_eq!(ipv6_checksum(src, "ff02::1".parse().unwrap(), 58, icmp), 0, "kernel checksum verifies");
}

/// `track_ping`'s echo sockets see echo replies only (ICMP_FILTER / ICMP6_FILTER): pinging
/// loopback, the request (which a raw socket would also receive) never arrives, the reply
/// does and matches its probe.
#[test]
fn icmp_echo_socket_receives_only_echo_replies() {
    use vigil::sys::icmp::{reply_matches, EchoSocket, Probe};
    require_root();
    let pair = NsPair::new("icmp");
    in_ns(&pair.a, || {
        let v6: IpAddr = Ipv6Addr::LOCALHOST.into();
        for dst in [IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), v6] {
            let sock = EchoSocket::open(dst.is_ipv6()).unwrap();
            let probe = Probe::new(dst, 0x4242, 1).unwrap();
            sock.send_echo(&probe, 0).unwrap();
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut seen = Vec::new();
            let matched = loop {
                match sock.recv() {
                    Ok(Some((src, ifindex, msg))) => {
                        seen.push(msg[0]);
                        if reply_matches(&probe, src, &msg) {
                            assert_eq!(ifindex, 1, "{dst}: the reply did not arrive on lo");
                            break true;
                        }
                    }
                    Ok(None) => {}
                    Err(e) if e.is_would_block() => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() || !wait_readable(sock.as_raw_fd(), left) {
                            break false;
                        }
                    }
                    Err(e) => panic!("{dst}: {e}"),
                }
            };
            assert!(matched, "{dst}: no reply; saw types {seen:?}");
            let reply = if dst.is_ipv6() { 129 } else { 0 };
            assert!(seen.iter().all(|&t| t == reply), "{dst}: not only echo replies: {seen:?}");
        }
    });
}

/// `nft list table` inside `ns`.
fn nft_list(ns: &str, family: &str, table: &str) -> Option<String> {
    let out = Command::new("ip").args(["netns", "exec", ns, "nft", "list", "table", family, table]).output();
    let out = out.expect("run nft (tests/deps.sh installs nftables)");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The nf_tables encoder's batches against the kernel: both tables are
/// built (a leftover one replaced), elements come and go, a refused
/// batch is an error, and the tables are deleted.
#[test]
fn nftables_tables_sets_and_elements() {
    use vigil::sys::nftables::{Batch, Element, LinkKey, Nftables, TableSpec, NFPROTO_IPV4, NFPROTO_IPV6};
    require_root();
    let pair = NsPair::new("nft");
    let spec = TableSpec { name: "vigil_t".into(), priority: -1, counters: true };
    let index = ifindex(&pair.a, "va");
    let elems: Vec<Element> = ["198.18.7.1", "2001:db8::7:1", "fe80::7:1"]
        .iter()
        .map(|a| Element::for_vip(a.parse().unwrap(), index, "va", LinkKey::Index))
        .chain([Element::for_vip("fe80::7:2".parse().unwrap(), index, "va", LinkKey::Name)])
        .collect();
    let mut nft = in_ns(&pair.a, || Nftables::open().expect("netfilter socket"));
    for _ in 0..2 {
        // The second round replaces what the first left, as a restart after a crash does.
        let mut b = Batch::new();
        b.create_table(NFPROTO_IPV4, &spec);
        b.create_table(NFPROTO_IPV6, &spec);
        b.elements(true, &spec.name, &elems);
        nft.send(b, "create").expect("create tables");
    }
    let v4 = nft_list(&pair.a, "ip", "vigil_t").expect("ip table listed");
    assert!(v4.contains("hook input priority filter - 1"), "{v4}");
    assert!(v4.contains("ip daddr @vips counter packets 0 bytes 0 drop"), "{v4}");
    assert!(v4.contains("ip saddr @vips counter packets 0 bytes 0 drop"), "{v4}");
    assert!(v4.contains("198.18.7.1"), "{v4}");
    let v6 = nft_list(&pair.a, "ip6", "vigil_t").expect("ip6 table listed");
    for want in ["2001:db8::7:1", "fe80::7:1 . ", "fe80::7:2 . \"va\"", "nd-neighbor-solicit", "accept"] {
        assert!(v6.contains(want), "{want} missing from\n{v6}");
    }
    let mut b = Batch::new();
    b.elements(false, &spec.name, &elems[..2]);
    nft.send(b, "remove").expect("remove elements");
    assert!(!nft_list(&pair.a, "ip", "vigil_t").unwrap().contains("198.18.7.1"));
    // Removing an absent element is refused, and nothing of the batch is applied.
    let mut b = Batch::new();
    b.elements(false, &spec.name, &elems[..2]);
    let err = nft.send(b, "remove again").expect_err("absent elements");
    assert_eq!(err.errno(), libc::ENOENT, "{err}");
    let mut b = Batch::new();
    b.delete_table(NFPROTO_IPV4, &spec.name);
    b.delete_table(NFPROTO_IPV6, &spec.name);
    nft.send(b, "delete").expect("delete tables");
    assert!(nft_list(&pair.a, "ip", "vigil_t").is_none());
    assert!(nft_list(&pair.a, "ip6", "vigil_t").is_none());
}
