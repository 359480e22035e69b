//! vigil and Debian's keepalived 2.2.7 as one virtual router on one bridge: VRRPv2 with PASS
//! auth, VRRPv3 over IPv4 and IPv6, and unicast. In each mode, each implementation is the
//! higher-priority master once; the VIP must move to the other one on a graceful stop and on a
//! crash, and back by preemption. Needs root, `ip` and /usr/sbin/keepalived.

mod common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use vigil::daemon::Json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// VRRPv2, PASS auth, multicast, IPv4.
    V2Pass,
    /// `vrrp_version 3`, multicast, IPv4.
    V3,
    /// VRRPv3 over IPv6 (ff02::12 from the link-local address).
    V3Ipv6,
    /// VRRPv2 to `unicast_peer`s from `unicast_src_ip`.
    Unicast,
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
        if matches!(self.mode, Mode::V2Pass | Mode::Unicast | Mode::V2Group) {
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
            body.push_str("    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n");
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

/// The master vigil's VI_1 follows, from `vigil status --json`.
fn vigil_sees_master(host: &Host, d: &Daemon) -> Option<String> {
    let out = host
        .command(&[&vigil_bin().to_string_lossy(), "status", "--json"])
        .env("VIGIL_RUN_DIR", d.run_dir())
        .output()
        .ok()?;
    let st = Json::parse(String::from_utf8_lossy(&out.stdout).trim()).ok()?;
    let Some(Json::Arr(insts)) = st.get("vrrp")?.get("instances") else { return None };
    insts.first()?.get("master")?.as_str().map(String::from)
}

/// `high` (priority 150) on host a and `low` (100) on host b: one master, then the VIP moves
/// a -> b on SIGTERM, b -> a by preemption when a restarts, a -> b on a crash.
fn interop(mode: Mode, vrid: u8, high: Impl, low: Impl) {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let v6 = mode.ipv6();
    let vip: IpAddr = if v6 { lan.v6(0x100).into() } else { lan.v4(100).into() };
    let unicast = |me: &Host, peer: &Host| (mode == Mode::Unicast).then(|| (me.ip4.into(), peer.ip4.into()));
    let ra = Router { mode, vrid, prio: 150, vip, unicast: unicast(&a, &b) };
    let rb = Router { mode, vrid, prio: 100, vip, unicast: unicast(&b, &a) };
    let tag = format!("{mode:?} {high:?}(150) / {low:?}(100)");
    let hosts = [&a, &b, &c];
    // Every advert on the segment, to check where each side sent them.
    let mut cap = mode.group().map(|_| lan.capture("ip proto 112 or ip6 proto 112"));
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
fn mcast_group4_vigil_master_keepalived_backup() {
    interop(Mode::V2Group, 89, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn mcast_group4_keepalived_master_vigil_backup() {
    interop(Mode::V2Group, 90, Impl::Keepalived, Impl::Vigil);
}

#[test]
fn mcast_group6_vigil_master_keepalived_backup() {
    interop(Mode::V3Ipv6Group, 91, Impl::Vigil, Impl::Keepalived);
}

#[test]
fn mcast_group6_keepalived_master_vigil_backup() {
    interop(Mode::V3Ipv6Group, 92, Impl::Keepalived, Impl::Vigil);
}
