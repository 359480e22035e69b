//! vigil and Debian's keepalived 2.2.7 as one virtual router on one bridge: VRRPv2 with PASS
//! auth, VRRPv2 with IPsec AH auth, VRRPv3 over IPv4 and IPv6, and unicast (PASS and AH). In each mode, each
//! implementation is the higher-priority master once; the VIP must move to the other one on a
//! graceful stop and on a crash, and back by preemption. Forged AH adverts (replayed, wrong
//! key) are dropped and counted. Needs root, `ip` and /usr/sbin/keepalived.

mod common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use vigil::runtime::Json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// VRRPv2, PASS auth, multicast, IPv4.
    V2Pass,
    /// VRRPv2, IPsec AH auth (HMAC-MD5-96, IP protocol 51), multicast, IPv4.
    V2Ah,
    /// `vrrp_version 3`, multicast, IPv4.
    V3,
    /// VRRPv3 over IPv6 (ff02::12 from the link-local address).
    V3Ipv6,
    /// VRRPv2 to `unicast_peer`s from `unicast_src_ip`.
    Unicast,
    /// Unicast with AH (the TTL is left out of the ICV).
    UnicastAh,
    /// VRRPv2 with PASS auth to `vrrp_mcast_group4` [`GROUP4`].
    V2Group,
    /// VRRPv3 over IPv6 to `vrrp_mcast_group6` [`GROUP6`].
    V3Ipv6Group,
}

/// Non-default advert groups; keepalived takes any multicast address (IPv6 preferably link-local).
const GROUP4: &str = "224.0.0.100";
const GROUP6: &str = "ff02::100";

impl Mode {
    fn ipv6(self) -> bool {
        matches!(self, Mode::V3Ipv6 | Mode::V3Ipv6Group)
    }

    /// The configured advert group, if not the default.
    fn group(self) -> Option<&'static str> {
        match self {
            Mode::V2Group => Some(GROUP4),
            Mode::V3Ipv6Group => Some(GROUP6),
            _ => None,
        }
    }

    fn ah(self) -> bool {
        matches!(self, Mode::V2Ah | Mode::UnicastAh)
    }

    fn unicast(self) -> bool {
        matches!(self, Mode::Unicast | Mode::UnicastAh)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Vigil,
    Keepalived,
}

impl Impl {
    fn bin(self) -> PathBuf {
        match self {
            Impl::Vigil => vigil_bin(),
            Impl::Keepalived => {
                let bin = keepalived_bin();
                assert!(bin.exists(), "{} missing: run `sh tests/deps.sh`", bin.display());
                bin
            }
        }
    }
}

const MASTER: &str = "(VI_1) Entering MASTER STATE";
const AUTH_PASS: &str = "s3cret";
const BACKUP: &str = "(VI_1) Entering BACKUP STATE";

/// One router of the pair.
struct Router {
    mode: Mode,
    vrid: u8,
    prio: u8,
    vip: IpAddr,
    /// (our address, the peer's) for unicast.
    unicast: Option<(IpAddr, IpAddr)>,
}

impl Router {
    fn version(&self) -> u8 {
        if matches!(self.mode, Mode::V2Pass | Mode::V2Ah | Mode::Unicast | Mode::UnicastAh | Mode::V2Group) {
            2
        } else {
            3
        }
    }

    /// v2 carries whole seconds; v3 runs at 0.5 s to keep the file short.
    fn advert(&self) -> f64 {
        if self.version() == 2 {
            1.0
        } else {
            0.5
        }
    }

    fn config(&self) -> String {
        let prefix = if self.vip.is_ipv6() { 64 } else { 24 };
        let mut body = format!(
            "    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    priority {}\n    advert_int {}\n",
            self.vrid,
            self.prio,
            self.advert()
        );
        if self.version() == 2 {
            let kind = if self.mode.ah() { "AH" } else { "PASS" };
            body.push_str(&format!(
                "    authentication {{\n        auth_type {kind}\n        auth_pass {AUTH_PASS}\n    }}\n"
            ));
        }
        if let Some((me, peer)) = self.unicast {
            body.push_str(&format!("    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n"));
        }
        let group = match self.mode.group() {
            Some(g) if self.vip.is_ipv6() => format!("    vrrp_mcast_group6 {g}\n"),
            Some(g) => format!("    vrrp_mcast_group4 {g}\n"),
            None => String::new(),
        };
        format!(
            "global_defs {{\n    router_id r{}\n    vrrp_version {}\n{group}}}\n\nvrrp_instance VI_1 {{\n{body}    \
             virtual_ipaddress {{\n        {}/{prefix} dev eth0\n    }}\n}}\n",
            self.prio,
            self.version(),
            self.vip
        )
    }

    fn skew(&self) -> Duration {
        let s = f64::from(256 - u16::from(self.prio)) / 256.0;
        Duration::from_secs_f64(if self.version() == 2 { s } else { s * self.advert() })
    }

    fn master_down(&self) -> Duration {
        Duration::from_secs_f64(3.0 * self.advert()) + self.skew()
    }
}

fn holders(hosts: &[&Host], vip: &IpAddr) -> Vec<String> {
    hosts.iter().filter(|h| h.has_addr(vip)).map(|h| h.name().to_string()).collect()
}

fn wait_count(d: &Daemon, needle: &str, n: usize, timeout: Duration) -> bool {
    wait_until(timeout, ms(10), || d.log_count(needle) >= n)
}

/// VI_1 of the vigil `d` on `host`, from `vigil status --json`.
fn vigil_instance(host: &Host, d: &Daemon) -> Option<Json> {
    let out = host
        .command(&[&vigil_bin().to_string_lossy(), "status", "--json"])
        .env("VIGIL_RUN_DIR", d.run_dir())
        .output()
        .ok()?;
    let st = Json::parse(String::from_utf8_lossy(&out.stdout).trim()).ok()?;
    let Some(Json::Arr(insts)) = st.get("vrrp")?.get("instances") else { return None };
    insts.first().cloned()
}

/// The master vigil's VI_1 follows.
fn vigil_sees_master(host: &Host, d: &Daemon) -> Option<String> {
    vigil_instance(host, d)?.get("master")?.as_str().map(String::from)
}

/// How many adverts vigil's VI_1 dropped for `reason` (a `Reject` name, e.g. "AhReplay").
fn vigil_rejected(host: &Host, d: &Daemon, reason: &str) -> Option<i64> {
    vigil_instance(host, d)?.get("rejected")?.get(reason)?.as_i64()
}

/// Log lines of either side that would mean the two disagree on AH.
const AH_TROUBLE: [&str; 3] = ["IPSEC-AH : invalid", "already processed", "AH header but auth type"];

/// `high` (priority 150) on host a and `low` (100) on host b: one master, then the VIP moves
/// a -> b on SIGTERM, b -> a by preemption when a restarts, a -> b on a crash.
fn interop(mode: Mode, vrid: u8, high: Impl, low: Impl) {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let v6 = mode.ipv6();
    let vip: IpAddr = if v6 { lan.v6(0x100).into() } else { lan.v4(100).into() };
    let unicast = |me: &Host, peer: &Host| mode.unicast().then(|| (me.ip4.into(), peer.ip4.into()));
    let ra = Router { mode, vrid, prio: 150, vip, unicast: unicast(&a, &b) };
    let rb = Router { mode, vrid, prio: 100, vip, unicast: unicast(&b, &a) };
    let tag = format!("{mode:?} {high:?}(150) / {low:?}(100)");
    let hosts = [&a, &b, &c];
    // Every advert on the segment: AH's wire form, or where each side sent them.
    let mut cap = if mode.ah() {
        Some(lan.capture("ip proto 51 or ip proto 112"))
    } else {
        mode.group().map(|_| lan.capture("ip proto 112 or ip6 proto 112"))
    };
    // Advert sources, taken now: a's link-local address goes with its link after the crash.
    let src_of = |h: &Host| if v6 { h.link_local().map(|l| l.to_string()) } else { Some(h.ip4.to_string()) };
    let (a_src, b_src) = (src_of(&a), src_of(&b));

    // Steady state: exactly one master, and both sides say so.
    let mut da = Daemon::start(&a, &high.bin(), &ra.config(), &["-P"]);
    assert!(da.wait_log(MASTER, ra.master_down() + secs(5)), "{tag}: a never master:\n{}", da.log());
    let db = Daemon::start(&b, &low.bin(), &rb.config(), &["-P"]);
    assert!(db.wait_log(BACKUP, secs(5)), "{tag}: b not backup:\n{}", db.log());
    std::thread::sleep(rb.master_down() + ms(500));
    assert_eq!(db.log_count(MASTER), 0, "{tag}: b became master too:\n{}", db.log());
    assert_eq!(da.log_count(BACKUP), 1, "{tag}: a left MASTER:\n{}", da.log());
    assert!(wait_until(secs(2), ms(10), || holders(&hosts, &vip) == [a.name()]), "{tag}: VIP not only on a");
    if low == Impl::Vigil {
        assert_eq!(vigil_sees_master(&b, &db), a_src, "{tag}: vigil follows the wrong master");
    }
    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(20, secs(3)), "{tag}: client gets no answers from the VIP");

    // Graceful stop of a: b takes over one skew after a's priority-0 advert.
    let t0 = Instant::now();
    da.signal(libc::SIGTERM);
    let moved = wait_until(secs(5), ms(5), || b.has_addr(&vip));
    let graceful = t0.elapsed();
    assert!(moved, "{tag}: b never took the VIP on a's stop:\n{}", db.log());
    da.stop();
    eprintln!("{tag}: graceful a -> b after {graceful:?} (skew {:?})", rb.skew());
    assert!(graceful < rb.skew() + ms(900), "{tag}: graceful failover took {graceful:?}");
    assert!(da.log().contains("(VI_1) sent 0 priority"), "{tag}: a did not resign:\n{}", da.log());
    assert!(!a.has_addr(&vip), "{tag}: a kept the VIP after stopping");
    if mode.ah() {
        assert_ah_clean(&tag, "a (first run)", &da);
    }
    assert!(wait_count(&db, MASTER, 1, secs(2)), "{tag}: no MASTER line on b:\n{}", db.log());
    assert!(probe.wait_answers(20, secs(3)), "{tag}: client lost the VIP after the graceful failover");

    // a comes back and preempts b.
    let t1 = Instant::now();
    let mut da = Daemon::start(&a, &high.bin(), &ra.config(), &["-P"]);
    assert!(da.wait_log(MASTER, ra.master_down() + secs(5)), "{tag}: a did not preempt:\n{}", da.log());
    let preempt = t1.elapsed();
    assert!(wait_count(&db, BACKUP, 2, secs(3)), "{tag}: b did not step back:\n{}", db.log());
    assert!(wait_until(secs(3), ms(10), || holders(&hosts, &vip) == [a.name()]), "{tag}: VIP not back on a");
    eprintln!("{tag}: preempted b -> a {preempt:?} after a's start (master-down {:?})", ra.master_down());
    assert!(probe.wait_answers(20, secs(3)), "{tag}: client lost the VIP after preemption");

    // Crash of a: b takes over after its master-down interval.
    let t2 = Instant::now();
    da.kill9();
    a.link_set("eth0", false);
    let limit = rb.master_down() + secs(1);
    let moved = wait_until(limit + secs(3), ms(10), || b.has_addr(&vip));
    let crash = t2.elapsed();
    assert!(moved, "{tag}: b never took over after the crash:\n{}", db.log());
    eprintln!("{tag}: crash a -> b after {crash:?} (master-down {:?})", rb.master_down());
    assert!(crash < limit, "{tag}: crash failover took {crash:?}");
    let advert = Duration::from_secs_f64(rb.advert());
    assert!(crash + advert + ms(200) >= rb.master_down(), "{tag}: takeover after {crash:?}: too early");
    assert!(!da.log().contains("sent 0 priority"), "{tag}: the crashed node resigned:\n{}", da.log());
    assert!(wait_count(&db, MASTER, 2, secs(2)), "{tag}: no MASTER line on b:\n{}", db.log());
    assert!(probe.wait_answers(20, secs(3)), "{tag}: client lost the VIP after the crash");
    let report = probe.stop();
    eprintln!(
        "{tag}: client longest gap {:?}, lost {}/{}",
        report.longest_gap(),
        report.lost(),
        report.sent()
    );
    assert!(db.is_running(), "{tag}: b died:\n{}", db.log());
    if let (true, Some(cap)) = (mode.ah(), cap.as_mut()) {
        assert_ah_wire(&tag, cap, [a.ip4, b.ip4]);
    }
    // Both implementations advertised, and only ever to the configured group.
    if let (Some(group), Some(cap)) = (mode.group(), cap.as_mut()) {
        let (src, dst) = if v6 { ("ipv6.src", "ipv6.dst") } else { ("ip.src", "ip.dst") };
        let rows = cap.fields("vrrp", &[src, dst, "vrrp.prio"]);
        let from = |s: &Option<String>| rows.iter().filter(|r| Some(&r[0]) == s.as_ref()).count();
        eprintln!("{tag}: {} adverts captured, {} from a, {} from b", rows.len(), from(&a_src), from(&b_src));
        assert!(from(&a_src) >= 3 && from(&b_src) >= 3, "{tag}: adverts missing from a or b: {rows:?}");
        let stray: Vec<_> = rows.iter().filter(|r| r[1] != group).collect();
        assert!(stray.is_empty(), "{tag}: adverts not sent to {group}: {stray:?}");
        assert!(cap.expert_problems().is_empty(), "{tag}: {:?}", cap.expert_problems());
    }
    if mode.ah() {
        assert_ah_clean(&tag, "a (second run)", &da);
        assert_ah_clean(&tag, "b", &db);
        if low == Impl::Vigil {
            for r in ["AhAuthFailure", "AhBadHeader", "AhReplay", "BadAuthType"] {
                assert_eq!(vigil_rejected(&b, &db, r), Some(0), "{tag}: vigil rejected {r}");
            }
        }
    }
}

/// Every advert on the wire went behind AH (protocol 51, SPI = source, next header VRRP,
/// auth type 2, no password in the clear), both routers sent some, and the sequence numbers
/// grew across the whole run, from one master to the next: each took over above the last
/// number it had seen.
fn assert_ah_wire(tag: &str, cap: &mut Capture, routers: [std::net::Ipv4Addr; 2]) {
    assert!(cap.expert_problems().is_empty(), "{tag}: {:?}", cap.expert_problems());
    let fields = ["ip.src", "ip.proto", "ah.spi", "ah.sequence", "vrrp.auth_type", "vrrp.prio"];
    let rows = cap.fields("", &fields);
    assert!(rows.len() > 10, "{tag}: {} frames captured", rows.len());
    let mut last: Option<u64> = None;
    for row in &rows {
        let src: std::net::Ipv4Addr = row[0].parse().unwrap_or_else(|_| panic!("{tag}: {row:?}"));
        assert!(routers.contains(&src), "{tag}: advert from {src}");
        assert_eq!(row[1], "51", "{tag}: advert without AH: {row:?}");
        let spi = u32::from_str_radix(row[2].trim_start_matches("0x"), 16).unwrap_or(0);
        assert_eq!(spi, u32::from(src), "{tag}: SPI {row:?}");
        assert_eq!(row[4], "2", "{tag}: VRRP auth type {row:?}");
        let seq: u64 = row[3].parse().unwrap_or_else(|_| panic!("{tag}: sequence {row:?}"));
        assert!(last.is_none_or(|l| seq > l), "{tag}: sequence {seq} after {last:?}: {row:?}");
        last = Some(seq);
    }
    for r in routers {
        assert!(rows.iter().any(|row| row[0] == r.to_string()), "{tag}: no advert from {r}");
    }
    let clear = cap.fields("vrrp.auth_string", &["vrrp.auth_string"]);
    assert!(clear.iter().all(|r| !r[0].contains(AUTH_PASS)), "{tag}: password on the wire");
}

/// Neither side dropped the other's AH adverts (each sequence number continued the last one).
fn assert_ah_clean(tag: &str, who: &str, d: &Daemon) {
    for bad in AH_TROUBLE {
        assert_eq!(d.log_count(bad), 0, "{tag}: {who} rejected AH adverts ({bad}):\n{}", d.log());
    }
}

#[test]
fn v2_pass_vigil_master_keepalived_backup() {
    interop(Mode::V2Pass, 81, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn v2_pass_keepalived_master_vigil_backup() {
    interop(Mode::V2Pass, 82, Impl::Keepalived, Impl::Vigil);
}

#[test]
fn v2_ah_vigil_master_keepalived_backup() {
    interop(Mode::V2Ah, 89, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn v2_ah_keepalived_master_vigil_backup() {
    interop(Mode::V2Ah, 90, Impl::Keepalived, Impl::Vigil);
}

#[test]
fn v3_ipv4_vigil_master_keepalived_backup() {
    interop(Mode::V3, 83, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn v3_ipv4_keepalived_master_vigil_backup() {
    interop(Mode::V3, 84, Impl::Keepalived, Impl::Vigil);
}

#[test]
fn v3_ipv6_vigil_master_keepalived_backup() {
    interop(Mode::V3Ipv6, 85, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn v3_ipv6_keepalived_master_vigil_backup() {
    interop(Mode::V3Ipv6, 86, Impl::Keepalived, Impl::Vigil);
}

#[test]
fn unicast_vigil_master_keepalived_backup() {
    interop(Mode::Unicast, 87, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn unicast_keepalived_master_vigil_backup() {
    interop(Mode::Unicast, 88, Impl::Keepalived, Impl::Vigil);
}

#[test]
fn unicast_ah_vigil_master_keepalived_backup() {
    interop(Mode::UnicastAh, 92, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn unicast_ah_keepalived_master_vigil_backup() {
    interop(Mode::UnicastAh, 93, Impl::Keepalived, Impl::Vigil);
}

/// keepalived's AH key: the password, zero-padded to 8 bytes.
fn ah_key(password: &str) -> [u8; 8] {
    let mut key = [0u8; 8];
    for (k, p) in key.iter_mut().zip(password.bytes()) {
        *k = p;
    }
    key
}

/// Send one whole IPv4 datagram (header included, any source) out of `host`'s eth0 to 224.0.0.18.
fn send_raw_ipv4(host: &Host, datagram: &[u8]) {
    host.enter(|| {
        // SAFETY: plain socket calls on a descriptor owned and closed here.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW);
            assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
            let dev = b"eth0\0";
            let r = libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_BINDTODEVICE, dev.as_ptr().cast(), 5);
            assert_eq!(r, 0, "SO_BINDTODEVICE: {}", std::io::Error::last_os_error());
            let mut to: libc::sockaddr_in = std::mem::zeroed();
            to.sin_family = libc::AF_INET as libc::sa_family_t;
            to.sin_addr.s_addr = u32::from_ne_bytes([224, 0, 0, 18]);
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let sent = libc::sendto(
                fd,
                datagram.as_ptr().cast(),
                datagram.len(),
                0,
                (&to as *const libc::sockaddr_in).cast(),
                len,
            );
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            assert_eq!(sent, datagram.len() as isize, "sendto: {err}");
        }
    });
}

/// keepalived master (a, 150) and vigil backup (b, 100) with AH. A third host forges priority-0
/// adverts ("the master resigns"), which would hand vigil the VIP within its skew time if
/// accepted: first a replay (right key, a sequence number already seen), then a fresh number
/// signed with the wrong key. vigil drops both and counts each under its own reason in `vigil status --json`,
/// as keepalived (which gets them too) logs them as "already processed" and "invalid IPSEC
/// HMAC-MD5 value"; vigil keeps following a.
#[test]
fn v2_ah_forged_adverts_are_rejected_and_counted() {
    use vigil::vrrp::ah::{build_datagram, AhTx};
    use vigil::vrrp::{Advert, Version};

    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let vrid = 91;
    let ra = Router { mode: Mode::V2Ah, vrid, prio: 150, vip, unicast: None };
    let rb = Router { mode: Mode::V2Ah, vrid, prio: 100, vip, unicast: None };
    let da = Daemon::start(&a, &Impl::Keepalived.bin(), &ra.config(), &["-P"]);
    assert!(da.wait_log(MASTER, ra.master_down() + secs(5)), "a never master:\n{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &rb.config(), &["-P"]);
    assert!(db.wait_log(BACKUP, secs(5)), "b not backup:\n{}", db.log());
    let a_src = Some(a.ip4.to_string());
    assert!(wait_until(secs(5), ms(20), || vigil_sees_master(&b, &db) == a_src), "vigil does not follow a");

    let forge = |password: &str, seq: u32| {
        let resign = Advert {
            version: Version::V2,
            vrid,
            priority: 0,
            addrs: vec![vip],
            auth_type: 2,
            auth_data: [0; 8],
            interval_cs: 100,
            checksum: 0,
        };
        let tx = AhTx { key: ah_key(password), seq, ident: 0x4242, ttl: 255, unicast: false };
        build_datagram(&resign, c.ip4, "224.0.0.18".parse().unwrap(), &tx).expect("forged advert")
    };
    let count = |reason: &str| vigil_rejected(&b, &db, reason);
    assert_eq!((count("AhReplay"), count("AhAuthFailure")), (Some(0), Some(0)));

    // keepalived numbers from 1 and vigil has accepted at least one advert: 1 is a replay.
    send_raw_ipv4(&c, &forge(AUTH_PASS, 1));
    assert!(
        wait_until(secs(3), ms(20), || count("AhReplay") == Some(1)),
        "replay not counted:\n{}",
        db.log()
    );
    let line = format!("IPSEC-AH : sequence number from {} already processed", c.ip4);
    assert!(db.wait_log(&line, secs(2)), "{}", db.log());
    assert!(da.wait_log("IPSEC-AH : sequence number 1 already processed", secs(2)), "{}", da.log());

    send_raw_ipv4(&c, &forge("guess", u32::MAX - 10));
    assert!(
        wait_until(secs(3), ms(20), || count("AhAuthFailure") == Some(1)),
        "bad ICV not counted:\n{}",
        db.log()
    );
    let line = format!("IPSEC-AH : invalid IPSEC HMAC-MD5 value from {}", c.ip4);
    assert!(db.wait_log(&line, secs(2)), "{}", db.log());
    assert!(da.wait_log("IPSEC-AH : invalid IPSEC HMAC-MD5 value", secs(2)), "{}", da.log());

    // Had either been accepted, vigil would have been master one skew time (0.61 s) later. It
    // is still following a, after a's next adverts, which it accepted (rx grew).
    let rx = |host: &Host, d: &Daemon| vigil_instance(host, d).and_then(|i| i.get("rx")?.as_i64());
    let rx0 = rx(&b, &db).expect("rx");
    assert!(wait_until(rb.skew() + secs(3), ms(50), || rx(&b, &db) >= Some(rx0 + 2)), "{}", db.log());
    let st = vigil_instance(&b, &db).expect("status");
    assert_eq!(st.get("state").and_then(Json::as_str), Some("BACKUP"), "{}", db.log());
    assert_eq!(vigil_sees_master(&b, &db), a_src);
    assert_eq!(db.log_count(MASTER), 0, "{}", db.log());
    assert!(a.has_addr(&vip) && !b.has_addr(&vip), "the VIP moved");
    assert_eq!(
        (count("AhReplay"), count("AhAuthFailure"), count("AhBadHeader")),
        (Some(1), Some(1), Some(0))
    );
}

/// VRRPv2 `advert_int 60` is 60 on the wire (it was 41, past v3's 40.95 s limit), so a
/// keepalived peer with the same configuration accepts vigil's adverts: vigil (priority 255)
/// is master, keepalived (100) backup; vigil's graceful stop sends a priority-0 advert, and
/// keepalived takes over one skew time later instead of dropping it for an interval mismatch
/// (which would leave it waiting 3 x 60 s).
#[test]
fn v2_advert_int_60_keepalived_accepts_vigils_adverts() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let conf = |state: &str, prio: u8| {
        format!(
            "global_defs {{\n    router_id r{prio}\n}}\n\nvrrp_instance VI_1 {{\n    state {state}\n    \
             interface eth0\n    virtual_router_id 60\n    priority {prio}\n    advert_int 60\n    \
             authentication {{\n        auth_type PASS\n        auth_pass s3cret\n    }}\n    \
             virtual_ipaddress {{\n        {vip}/24 dev eth0\n    }}\n}}\n"
        )
    };
    let mut dv = Daemon::start(&a, &vigil_bin(), &conf("MASTER", 255), &["-P"]);
    assert!(dv.wait_log(MASTER, secs(5)), "vigil never master:\n{}", dv.log());
    let dk = Daemon::start(&b, &Impl::Keepalived.bin(), &conf("BACKUP", 100), &["-P"]);
    assert!(dk.wait_log(BACKUP, secs(5)), "keepalived not backup:\n{}", dk.log());

    let t0 = Instant::now();
    dv.signal(libc::SIGTERM);
    let took_over = dk.wait_log(MASTER, secs(5));
    let after = t0.elapsed();
    assert!(took_over, "keepalived ignored vigil's priority-0 advert:\n{}\nvigil:\n{}", dk.log(), dv.log());
    dv.stop();
    assert!(after < secs(3), "keepalived took over after {after:?}, not one skew time");
    assert!(dv.log().contains("(VI_1) sent 0 priority"), "{}", dv.log());
    assert!(!dk.log().contains("interval mismatch"), "{}", dk.log());
    assert!(wait_until(secs(3), ms(10), || b.has_addr(&vip) && !a.has_addr(&vip)), "VIP not on b");
}

#[test]
fn mcast_group4_vigil_master_keepalived_backup() {
    interop(Mode::V2Group, 89, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn mcast_group4_keepalived_master_vigil_backup() {
    interop(Mode::V2Group, 90, Impl::Keepalived, Impl::Vigil);
}

#[test]
fn mcast_group6_vigil_master_keepalived_backup() {
    interop(Mode::V3Ipv6Group, 94, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn mcast_group6_keepalived_master_vigil_backup() {
    interop(Mode::V3Ipv6Group, 95, Impl::Keepalived, Impl::Vigil);
}
