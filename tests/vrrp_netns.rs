//! vigil's VRRP engine as a real binary in network namespaces: election, graceful and hard
//! failover, preemption and nopreempt, unicast, VRRPv3 over IPv6, dropping forged adverts, and
//! what the adverts and gratuitous ARPs look like on the wire. Needs root, `ip`, tcpdump, tshark.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::*;
use vigil::runtime::Json;
use vigil::sys::vrrp_socket::{SocketConfig, VrrpSocket, VRRP_GROUP_V4};

/// One router's `vrrp_instance VI_1`.
#[derive(Clone)]
struct Router {
    version: u8,
    vrid: u8,
    prio: u8,
    /// advert_int in seconds.
    advert: f64,
    /// "addr/prefix".
    vip: String,
    nopreempt: bool,
    /// PASS password (v2 only).
    pass: Option<&'static str>,
    /// (unicast_src_ip, unicast_peer list).
    unicast: Option<(IpAddr, Vec<IpAddr>)>,
}

impl Router {
    fn v2(vrid: u8, prio: u8, vip: IpAddr) -> Router {
        Router {
            version: 2,
            vrid,
            prio,
            advert: 1.0,
            vip: with_prefix(vip),
            nopreempt: false,
            pass: Some("secret"),
            unicast: None,
        }
    }

    fn prio(&self, prio: u8) -> Router {
        Router { prio, ..self.clone() }
    }

    fn config(&self) -> String {
        let mut body = format!(
            "    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    priority {}\n    \
             advert_int {}\n    version {}\n",
            self.vrid, self.prio, self.advert, self.version
        );
        if self.nopreempt {
            body.push_str("    nopreempt\n");
        }
        if let Some(pw) = self.pass {
            body.push_str(&format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {pw}\n    }}\n"
            ));
        }
        if let Some((src, peers)) = &self.unicast {
            body.push_str(&format!("    unicast_src_ip {src}\n    unicast_peer {{\n"));
            for p in peers {
                body.push_str(&format!("        {p}\n"));
            }
            body.push_str("    }\n");
        }
        format!(
            "global_defs {{\n    router_id r{}\n}}\n\nvrrp_instance VI_1 {{\n{body}    virtual_ipaddress {{\n        \
             {} dev eth0\n    }}\n}}\n",
            self.prio, self.vip
        )
    }

    /// v2: 3 s + (256 - prio)/256 s; v3: (3 + (256 - prio)/256) * advert_int.
    fn master_down(&self) -> Duration {
        let skew = f64::from(256 - u16::from(self.prio)) / 256.0;
        let skew = if self.version == 2 { skew } else { skew * self.advert };
        Duration::from_secs_f64(3.0 * self.advert + skew)
    }

    /// Skew_Time: how long after a priority-0 advert this backup takes over.
    fn skew(&self) -> Duration {
        self.master_down() - Duration::from_secs_f64(3.0 * self.advert)
    }
}

fn with_prefix(vip: IpAddr) -> String {
    if vip.is_ipv6() {
        format!("{vip}/64")
    } else {
        format!("{vip}/24")
    }
}

const MASTER: &str = "(VI_1) Entering MASTER STATE";
const BACKUP: &str = "(VI_1) Entering BACKUP STATE";

fn start(host: &Host, r: &Router) -> Daemon {
    Daemon::start(host, &vigil_bin(), &r.config(), &["-P"])
}

/// Start `r` on `host` alone and wait until it is master and holds the VIP.
fn start_master(host: &Host, r: &Router, vip: &IpAddr) -> Daemon {
    let d = start(host, r);
    let bound = r.master_down() + secs(4);
    assert!(d.wait_log(MASTER, bound), "{} never became master:\n{}", host.name(), d.log());
    assert!(wait_until(secs(3), ms(10), || host.has_addr(vip)), "VIP not on {}", host.name());
    d
}

/// Wait until `d` has printed `needle` at least `n` times.
fn wait_count(d: &Daemon, needle: &str, n: usize, timeout: Duration) -> bool {
    wait_until(timeout, ms(10), || d.log_count(needle) >= n)
}

/// The hosts (by name) that hold `vip`.
fn holders(hosts: &[&Host], vip: &IpAddr) -> Vec<String> {
    hosts.iter().filter(|h| h.has_addr(vip)).map(|h| h.name().to_string()).collect()
}

/// Exactly one of `hosts` holds `vip`, and it is `owner`.
fn assert_sole_holder(hosts: &[&Host], owner: &Host, vip: &IpAddr) {
    let got = holders(hosts, vip);
    assert_eq!(got, vec![owner.name().to_string()], "VIP {vip} holders");
}

/// Graceful stop of the master `dm` on `m`: `backup` (running `br`) must own the VIP within
/// `limit` of the SIGTERM, `m` must have resigned and removed its VIP. Returns (VIP latency,
/// log latency of the backup's MASTER line).
fn graceful_failover(
    m: &Host,
    dm: &mut Daemon,
    backup: &Host,
    db: &Daemon,
    vip: &IpAddr,
    limit: Duration,
) -> (Duration, Duration) {
    let masters_before = db.log_count(MASTER);
    let t0 = Instant::now();
    dm.signal(libc::SIGTERM);
    let moved = wait_until(secs(5), ms(5), || backup.has_addr(vip));
    let vip_latency = t0.elapsed();
    assert!(moved, "{} never took the VIP:\n{}", backup.name(), db.log());
    assert!(wait_count(db, MASTER, masters_before + 1, secs(2)), "no MASTER line:\n{}", db.log());
    let log_latency = db.log_time(MASTER).map(|t| t.saturating_duration_since(t0)).unwrap_or_default();
    dm.stop();
    assert!(dm.log().contains("(VI_1) sent 0 priority"), "no priority-0 advert:\n{}", dm.log());
    assert!(!m.has_addr(vip), "{} kept its VIP after stopping", m.name());
    eprintln!("graceful failover: VIP after {vip_latency:?}, MASTER line after {log_latency:?}");
    assert!(vip_latency < limit, "graceful failover took {vip_latency:?} (limit {limit:?})");
    (vip_latency, log_latency)
}

/// Crash of the master `dm` on `m` (SIGKILL, and its link goes dark so its stale VIP cannot
/// answer): `backup` (whose master-down interval is `down`) must own the VIP within `down` + 1 s,
/// and not before `down` - one advert interval: it heard nothing, no priority-0 advert.
fn hard_failover(
    m: &Host,
    dm: &mut Daemon,
    backup: &Host,
    db: &Daemon,
    vip: &IpAddr,
    r: &Router,
) -> Duration {
    let (down, advert) = (r.master_down(), Duration::from_secs_f64(r.advert));
    let limit = down + secs(1);
    let t0 = Instant::now();
    dm.kill9();
    m.link_set("eth0", false);
    let moved = wait_until(limit + secs(3), ms(10), || backup.has_addr(vip));
    let latency = t0.elapsed();
    assert!(moved, "{} never took over after the crash:\n{}", backup.name(), db.log());
    eprintln!("hard failover: VIP after {latency:?} (master-down interval {down:?})");
    assert!(!dm.log().contains("sent 0 priority"), "the crashed node resigned:\n{}", dm.log());
    assert!(latency < limit, "hard failover took {latency:?} (limit {limit:?})");
    assert!(latency + advert + ms(200) >= down, "takeover after {latency:?}: too early for a crash");
    latency
}

/// Two routers, VRRPv2 with PASS auth: one master, a client reaches the VIP; SIGTERM hands
/// over within the skew; a crash hands over within the master-down interval.
#[test]
fn vrrp2_pass_auth_graceful_and_hard_failover() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let (ra, rb) = (Router::v2(51, 150, vip), Router::v2(51, 100, vip));
    let mut da = start_master(&a, &ra, &vip);
    let db = start(&b, &rb);
    assert!(db.wait_log(BACKUP, secs(5)), "b not backup:\n{}", db.log());
    // b hears a's adverts through more than one master-down interval and stays backup.
    std::thread::sleep(rb.master_down() + ms(500));
    assert_eq!(db.log_count(MASTER), 0, "b became master too:\n{}", db.log());
    assert_eq!(da.log_count(BACKUP), 1, "a left MASTER:\n{}", da.log());
    assert_sole_holder(&[&a, &b, &c], &a, &vip);
    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(20, secs(3)), "client gets no answers from the VIP");

    // Graceful: b takes over one skew (0.609 s) after a's priority-0 advert.
    let limit = Duration::from_millis(1500);
    graceful_failover(&a, &mut da, &b, &db, &vip, limit);
    assert!(db.log().contains(BACKUP), "b was never backup");
    assert!(probe.wait_answers(20, secs(3)), "client lost the VIP after the graceful failover");
    assert_sole_holder(&[&a, &b, &c], &b, &vip);

    // a comes back with the higher priority and preempts; then it crashes.
    let mut da = start(&a, &ra);
    assert!(da.wait_log(MASTER, ra.master_down() + secs(4)), "a did not preempt:\n{}", da.log());
    assert!(wait_count(&db, BACKUP, 2, secs(3)), "b did not step back:\n{}", db.log());
    assert!(wait_until(secs(3), ms(10), || holders(&[&a, &b, &c], &vip) == [a.name()]), "VIP not back on a");
    hard_failover(&a, &mut da, &b, &db, &vip, &rb);
    assert!(probe.wait_answers(20, secs(3)), "client lost the VIP after the crash");
    let report = probe.stop();
    eprintln!("client: longest gap {:?}, lost {}/{}", report.longest_gap(), report.lost(), report.sent());
    assert!(!c.has_addr(&vip));
}

/// Three routers: the highest priority wins, and on its stop the next highest (not the
/// lowest) takes over.
#[test]
fn three_routers_highest_priority_wins() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let r = Router::v2(60, 150, vip);
    let mut da = start_master(&a, &r, &vip);
    let db = start(&b, &r.prio(120));
    let dc = start(&c, &r.prio(100));
    assert!(db.wait_log(BACKUP, secs(5)) && dc.wait_log(BACKUP, secs(5)), "b and c not backup");
    std::thread::sleep(r.prio(100).master_down() + ms(500));
    assert_eq!(db.log_count(MASTER) + dc.log_count(MASTER), 0, "a backup became master");
    assert_sole_holder(&[&a, &b, &c], &a, &vip);

    // 120's skew (0.531 s) beats 100's (0.609 s); 100 then hears 120 and stays backup.
    graceful_failover(&a, &mut da, &b, &db, &vip, ms(1500));
    std::thread::sleep(r.prio(100).master_down() + ms(500));
    assert_sole_holder(&[&a, &b, &c], &b, &vip);
    assert_eq!(dc.log_count(MASTER), 0, "priority 100 became master:\n{}", dc.log());
    assert_eq!(db.log_count(MASTER), 1, "priority 120 flapped:\n{}", db.log());
}

/// nopreempt: a higher-priority router that comes back while the lower one is master
/// stays backup.
#[test]
fn nopreempt_keeps_the_current_master() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let ra = Router { nopreempt: true, ..Router::v2(61, 150, vip) };
    let rb = ra.prio(100);
    let mut da = start_master(&a, &ra, &vip);
    let db = start(&b, &rb);
    assert!(db.wait_log(BACKUP, secs(5)), "b not backup");
    graceful_failover(&a, &mut da, &b, &db, &vip, ms(1500));

    let da = start(&a, &ra);
    assert!(da.wait_log(BACKUP, secs(5)), "a did not start as backup:\n{}", da.log());
    let hold = ra.master_down() * 2;
    std::thread::sleep(hold);
    assert_eq!(da.log_count(MASTER), 0, "a preempted despite nopreempt:\n{}", da.log());
    assert_eq!(db.log_count(BACKUP), 1, "b stepped down:\n{}", db.log());
    assert_sole_holder(&[&a, &b], &b, &vip);
}

/// Preemption: the higher-priority router that comes back takes over, one master-down
/// interval after it starts (it ignores the lower-priority adverts).
#[test]
fn higher_priority_preempts_after_master_down_interval() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let ra = Router::v2(62, 150, vip);
    let rb = ra.prio(100);
    let mut da = start_master(&a, &ra, &vip);
    let db = start(&b, &rb);
    assert!(db.wait_log(BACKUP, secs(5)), "b not backup");
    graceful_failover(&a, &mut da, &b, &db, &vip, ms(1500));

    let started = Instant::now();
    let da = start(&a, &ra);
    assert!(da.wait_log(BACKUP, secs(5)), "a did not start as backup:\n{}", da.log());
    assert!(da.wait_log(MASTER, ra.master_down() + secs(4)), "a did not preempt:\n{}", da.log());
    let took = da.log_time(MASTER).map(|t| t - started).unwrap_or_default();
    eprintln!("preempted {took:?} after start (master-down interval {:?})", ra.master_down());
    // Not before its master-down interval (minus the daemon's own start-up, well under 0.4 s).
    assert!(took >= ra.master_down() - ms(400), "a preempted after only {took:?}");
    assert!(da.log().contains("received lower priority (100) advert"), "{}", da.log());
    assert!(wait_count(&db, BACKUP, 2, secs(3)), "b did not step back:\n{}", db.log());
    assert!(wait_until(secs(3), ms(10), || holders(&[&a, &b], &vip) == [a.name()]), "VIP not on a");
}

/// Unicast peers, VRRPv2: one master, stop, takeover.
#[test]
fn unicast_peers_failover() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let ra = Router { unicast: Some((a.ip4.into(), vec![b.ip4.into()])), ..Router::v2(63, 150, vip) };
    let rb = Router { unicast: Some((b.ip4.into(), vec![a.ip4.into()])), ..ra.prio(100) };
    let mut cap = lan.capture("ip proto 112");
    let mut da = start_master(&a, &ra, &vip);
    let db = start(&b, &rb);
    assert!(db.wait_log(BACKUP, secs(5)), "b not backup");
    std::thread::sleep(rb.master_down() + ms(500));
    assert_eq!(db.log_count(MASTER), 0, "b became master too:\n{}", db.log());
    assert_sole_holder(&[&a, &b], &a, &vip);
    graceful_failover(&a, &mut da, &b, &db, &vip, ms(1500));
    // Every advert went to the peer, none to the multicast group.
    let rows = cap.fields("vrrp", &["ip.src", "ip.dst", "vrrp.prio"]);
    assert!(!rows.is_empty());
    let (sa, sb) = (a.ip4.to_string(), b.ip4.to_string());
    for row in &rows {
        let ok = (row[0] == sa && row[1] == sb) || (row[0] == sb && row[1] == sa);
        assert!(ok, "advert not between the peers: {row:?}");
    }
    assert!(rows.iter().any(|r| r[0] == sa && r[2] == "0"), "no unicast priority-0 advert: {rows:?}");
}

/// VRRPv3 over IPv6: one master, a client reaches the VIP, stop, takeover.
#[test]
fn vrrp3_ipv6_failover() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v6(0x100).into();
    let ra = Router { version: 3, pass: None, ..Router::v2(64, 150, vip) };
    let rb = ra.prio(100);
    let mut da = start_master(&a, &ra, &vip);
    let db = start(&b, &rb);
    assert!(db.wait_log(BACKUP, secs(5)), "b not backup");
    std::thread::sleep(rb.master_down() + ms(500));
    assert_eq!(db.log_count(MASTER), 0, "b became master too:\n{}", db.log());
    assert_sole_holder(&[&a, &b, &c], &a, &vip);
    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(20, secs(3)), "client gets no answers from the IPv6 VIP");
    graceful_failover(&a, &mut da, &b, &db, &vip, rb.skew() + ms(900));
    assert!(probe.wait_answers(20, secs(3)), "client lost the IPv6 VIP after failover");
    let report = probe.stop();
    eprintln!("v6 client: longest gap {:?}, lost {}/{}", report.longest_gap(), report.lost(), report.sent());
}

/// A VRRPv2 advert for one IPv4 VIP with PASS auth; `checksum_delta` spoils the checksum.
fn v2_advert(vrid: u8, prio: u8, vip: Ipv4Addr, pass: &str, checksum_delta: u16) -> Vec<u8> {
    let mut m = vec![0x21, vrid, prio, 1, 1, 1, 0, 0];
    m.extend_from_slice(&vip.octets());
    let mut auth = [0u8; 8];
    let n = pass.len().min(8);
    auth[..n].copy_from_slice(&pass.as_bytes()[..n]);
    m.extend_from_slice(&auth);
    let sum = internet_checksum(&m).wrapping_add(checksum_delta);
    m[6..8].copy_from_slice(&sum.to_be_bytes());
    m
}

/// RFC 1071, written here so that the test does not trust the code under test.
fn internet_checksum(data: &[u8]) -> u16 {
    let mut acc: u32 =
        data.chunks(2).map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0))).sum();
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// `vigil status --json` for daemon `d`, run in `host`'s namespace.
fn status(host: &Host, d: &Daemon) -> Json {
    let run_dir = d.run_dir();
    let bin = vigil_bin();
    let out = host
        .command(&[&bin.to_string_lossy(), "status", "--json"])
        .env("VIGIL_RUN_DIR", &run_dir)
        .output()
        .unwrap_or_else(|e| panic!("vigil status: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "vigil status: {}", String::from_utf8_lossy(&out.stderr));
    Json::parse(text.trim()).unwrap_or_else(|e| panic!("vigil status --json: {e}: {text}"))
}

/// (VI_1's rejected-counter `name`, the engine's unknown_vrid) from a status object.
fn counter(st: &Json, name: &str) -> i64 {
    let vrrp = st.get("vrrp").unwrap_or_else(|| panic!("no vrrp in {st}"));
    if name == "unknown_vrid" {
        return vrrp.get(name).and_then(Json::as_i64).unwrap_or(-1);
    }
    let Some(Json::Arr(insts)) = vrrp.get("instances") else { panic!("no instances in {st}") };
    let inst = insts.iter().find(|i| i.get("name").and_then(Json::as_str) == Some("VI_1"));
    let inst = inst.unwrap_or_else(|| panic!("no VI_1 in {st}"));
    if let Some(v) = inst.get(name).and_then(Json::as_i64) {
        return v;
    }
    inst.get("rejected").and_then(|r| r.get(name)).and_then(Json::as_i64).unwrap_or(-1)
}

fn state_of(st: &Json) -> String {
    let Some(Json::Arr(insts)) = st.get("vrrp").and_then(|v| v.get("instances")) else {
        return String::new();
    };
    insts.first().and_then(|i| i.get("state")).and_then(Json::as_str).unwrap_or("").to_string()
}

/// Forged adverts that must fail validation (wrong password, TTL 64, bad checksum, another
/// VRID, truncated) are dropped and counted; the master stays master. A valid priority-254
/// advert from the same socket then does make it step down, so the forgeries did arrive.
#[test]
fn bad_adverts_are_counted_and_ignored() {
    let lan = Lan::new();
    let (a, c) = (lan.add_host("a"), lan.add_host("c"));
    let vip4 = lan.v4(100);
    let vip: IpAddr = vip4.into();
    let ra = Router::v2(65, 150, vip);
    let da = start_master(&a, &ra, &vip);
    let st = status(&a, &da);
    assert_eq!(state_of(&st), "MASTER", "{st}");
    for name in ["AuthMismatch", "BadTtl", "BadChecksum", "BadLength", "unknown_vrid"] {
        assert_eq!(counter(&st, name), 0, "{name} before the attack: {st}");
    }

    let sock = c.enter(|| {
        // SAFETY: if_nametoindex on a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(c"eth0".as_ptr()) };
        assert!(ifindex > 0, "no eth0 in {}", c.name());
        VrrpSocket::open_v4(&SocketConfig::multicast_v4(ifindex)).expect("raw VRRP socket")
    });
    let group = IpAddr::V4(VRRP_GROUP_V4);
    let set_ttl = |ttl: i32| {
        // SAFETY: setsockopt with an int option on a valid socket.
        let rc = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&sock),
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_TTL,
                (&ttl as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "IP_MULTICAST_TTL: {}", std::io::Error::last_os_error());
    };
    let send = |bytes: &[u8]| sock.send_to(group, bytes).expect("send forged advert");
    let good = v2_advert(65, 254, vip4, "secret", 0);
    let forged: [(&str, Vec<u8>); 4] = [
        ("AuthMismatch", v2_advert(65, 254, vip4, "guessed", 0)),
        ("BadChecksum", v2_advert(65, 254, vip4, "secret", 1)),
        ("unknown_vrid", v2_advert(66, 254, vip4, "secret", 0)),
        ("BadLength", good[..12].to_vec()),
    ];
    const N: i64 = 3;
    for _ in 0..N {
        for (_, bytes) in &forged {
            send(bytes);
        }
        set_ttl(64);
        send(&good);
        set_ttl(255);
        std::thread::sleep(ms(100));
    }
    let expected = ["AuthMismatch", "BadChecksum", "unknown_vrid", "BadLength", "BadTtl"];
    let counted = wait_until(secs(3), ms(50), || {
        let st = status(&a, &da);
        expected.iter().all(|name| counter(&st, name) >= N)
    });
    let st = status(&a, &da);
    assert!(counted, "forged adverts not all counted: {st}");
    for name in expected {
        assert_eq!(counter(&st, name), N, "{name}: {st}");
    }
    // The SIGUSR2 stats dump lands in the daemon's private VIGIL_DUMP_DIR with the same counts.
    da.signal(libc::SIGUSR2);
    let stats_file = da.dir().join("keepalived.stats");
    let read_stats = || std::fs::read_to_string(&stats_file).unwrap_or_default();
    assert!(wait_until(secs(3), ms(20), || read_stats().contains("AuthMismatch")), "no stats dump");
    let stats = read_stats();
    for line in ["AuthMismatch: 3", "BadTtl: 3", "BadChecksum: 3", "BadLength: 3"] {
        assert!(stats.contains(line), "{line:?} not in the stats dump:\n{stats}");
    }
    // STATS_CLEAR (the number as `vigil --signum` gives it to init scripts) dumps, then zeroes
    // the VRRP child's counters.
    let out = std::process::Command::new(vigil_bin()).arg("--signum=STATS_CLEAR").output().expect("--signum");
    let sig: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("a signal number");
    da.signal(sig);
    let cleared = wait_until(secs(3), ms(20), || {
        let st = status(&a, &da);
        expected.iter().all(|name| counter(&st, name) == 0)
    });
    assert!(cleared, "STATS_CLEAR left the counters: {}", status(&a, &da));
    // Still master after hearing nothing valid but its own silence.
    std::thread::sleep(ms(500));
    assert_eq!(state_of(&status(&a, &da)), "MASTER");
    assert_eq!(da.log_count(BACKUP), 1, "master changed state:\n{}", da.log());
    assert!(a.has_addr(&vip));

    // Control: the same advert with TTL 255 is valid and outranks 150.
    send(&good);
    assert!(wait_count(&da, BACKUP, 2, secs(3)), "valid priority-254 advert ignored:\n{}", da.log());
    assert!(da.log().contains("higher priority 254"), "{}", da.log());
    // The forger falls silent: a takes the VIP back after its master-down interval.
    assert!(wait_count(&da, MASTER, 2, ra.master_down() + secs(3)), "a did not recover:\n{}", da.log());
}

/// The wire format: VRRPv2 (PASS), VRRPv3 over IPv4 and over IPv6 from one daemon, decoded
/// by tshark without a warning; GARPs are ARP requests for the VIP from the router's MAC; the
/// unsolicited NA announces the IPv6 VIP.
#[test]
fn tshark_decodes_adverts_and_garps() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let (v2vip, v3vip, v6vip) = (lan.v4(100), lan.v4(101), lan.v6(0x100));
    let mut cap = lan.capture("ip proto 112 or ip6 proto 112 or arp or icmp6");
    let conf = format!(
        "vrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n virtual_router_id 70\n priority 150\n \
         advert_int 1\n version 2\n authentication {{\n  auth_type PASS\n  auth_pass secret\n }}\n \
         virtual_ipaddress {{\n  {v2vip}/24\n }}\n}}\n\
         vrrp_instance VI_2 {{\n state BACKUP\n interface eth0\n virtual_router_id 71\n priority 150\n \
         advert_int 0.5\n version 3\n virtual_ipaddress {{\n  {v3vip}/24\n }}\n}}\n\
         vrrp_instance VI_3 {{\n state BACKUP\n interface eth0\n virtual_router_id 72\n priority 150\n \
         advert_int 0.5\n virtual_ipaddress {{\n  {v6vip}/64\n }}\n}}\n"
    );
    let da = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    for vi in ["VI_1", "VI_2", "VI_3"] {
        let line = format!("({vi}) Entering MASTER STATE");
        assert!(da.wait_log(&line, secs(8)), "{vi} not master:\n{}", da.log());
    }
    // A few adverts of each after the GARP bursts.
    std::thread::sleep(ms(2500));

    let rows = cap.fields(
        "vrrp",
        &[
            "ip.src",
            "ipv6.src",
            "ip.dst",
            "ipv6.dst",
            "ip.ttl",
            "ipv6.hlim",
            "vrrp.version",
            "vrrp.virt_rtr_id",
        ],
    );
    let find = |vrid: &str| rows.iter().filter(|r| r[7] == vrid).collect::<Vec<_>>();
    let (v2, v3, v6) = (find("70"), find("71"), find("72"));
    assert!(v2.len() >= 2 && v3.len() >= 3 && v6.len() >= 3, "too few adverts: {rows:?}");
    let ll = a.link_local().map(|l| l.to_string()).unwrap_or_default();
    for r in v2.iter().chain(&v3) {
        assert_eq!([&r[0], &r[2], &r[4]], [&a.ip4.to_string(), "224.0.0.18", "255"], "{r:?}");
    }
    for r in &v6 {
        assert_eq!([&r[1], &r[3], &r[5]], [&ll, "ff02::12", "255"], "{r:?}");
    }
    assert!(v2.iter().all(|r| r[6] == "2") && v3.iter().chain(&v6).all(|r| r[6] == "3"), "{rows:?}");
    let auth = cap.fields("vrrp.virt_rtr_id == 70", &["vrrp.auth_type", "vrrp.auth_string", "vrrp.ip_addr"]);
    assert!(auth.iter().all(|r| r[..] == ["1", "secret", &v2vip.to_string()]), "{auth:?}");
    let v3addrs =
        cap.fields("vrrp.virt_rtr_id == 71", &["vrrp.adver_int", "vrrp.short_adver_int", "vrrp.ip_addr"]);
    assert!(v3addrs.iter().all(|r| r[2] == v3vip.to_string()), "{v3addrs:?}");
    let v6addrs = cap.fields("vrrp.virt_rtr_id == 72", &["vrrp.ipv6_addr"]);
    assert!(v6addrs.iter().all(|r| r[0] == v6vip.to_string()), "{v6addrs:?}");

    let garps = cap.fields(
        "arp",
        &["eth.src", "eth.dst", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"],
    );
    for vip in [v2vip, v3vip] {
        let mine: Vec<_> = garps.iter().filter(|r| r[4] == vip.to_string()).collect();
        assert!(mine.len() >= 5, "fewer than 5 GARPs for {vip}: {garps:?}");
        for r in mine {
            let want = [&a.mac, "ff:ff:ff:ff:ff:ff", "1", &a.mac, &vip.to_string(), &vip.to_string()];
            assert_eq!(r.iter().map(String::as_str).collect::<Vec<_>>(), want, "not a GARP request");
        }
    }
    let nas = cap.fields(
        "icmpv6.type == 136",
        &["eth.src", "ipv6.src", "icmpv6.nd.na.target_address", "icmpv6.nd.na.flag.o", "icmpv6.opt.linkaddr"],
    );
    let mine: Vec<_> = nas.iter().filter(|r| r[2] == v6vip.to_string()).collect();
    assert!(!mine.is_empty(), "no unsolicited NA for {v6vip}: {nas:?}");
    for r in mine {
        assert_eq!(r[0], a.mac, "{r:?}");
        assert!(r[3] == "1" || r[3] == "True", "NA without the override flag: {r:?}");
    }
    let problems = cap.expert_problems();
    assert!(problems.is_empty(), "tshark: {problems:?}");
}

/// VRRPv2 carries whole seconds 1-255: `advert_int 60` goes on the wire as 60 (it used to be
/// cut to v3's 40.95 s and sent as 41, which a keepalived peer with the same config rejects),
/// and the master's advert timer runs on 60 s: the second advert leaves 60 s after the first.
#[test]
fn vrrp2_advert_int_60_on_the_wire_and_in_the_timer() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100);
    let mut cap = lan.capture("ip proto 112");
    // The address owner (priority 255) is master at once and adverts right away.
    let conf = format!(
        "vrrp_instance VI_1 {{\n state MASTER\n interface eth0\n virtual_router_id 73\n priority 255\n \
         advert_int 60\n version 2\n authentication {{\n  auth_type PASS\n  auth_pass secret\n }}\n \
         virtual_ipaddress {{\n  {vip}/24\n }}\n}}\n"
    );
    let da = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(da.wait_log(MASTER, secs(5)), "not master:\n{}", da.log());
    let tx = || counter(&status(&a, &da), "tx");
    assert!(wait_until(secs(5), ms(50), || tx() >= 1), "no first advert");
    let first = Instant::now();
    assert!(wait_until(secs(75), ms(200), || tx() >= 2), "no second advert within 75 s");
    let seen = first.elapsed();
    assert_eq!(tx(), 2, "more adverts than one per 60 s");
    assert!(seen > secs(58), "second advert after {seen:?}, not 60 s");

    let rows = cap.fields("vrrp.virt_rtr_id == 73", &["frame.time_epoch", "vrrp.version", "vrrp.adver_int"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        assert_eq!([&r[1], &r[2]], ["2", "60"], "advert interval field: {rows:?}");
    }
    let t: Vec<f64> = rows.iter().map(|r| r[0].parse().unwrap_or_else(|e| panic!("{r:?}: {e}"))).collect();
    let gap = t[1] - t[0];
    assert!((59.9..60.5).contains(&gap), "adverts {gap:.3} s apart on the wire, not 60 s");
    let problems = cap.expert_problems();
    assert!(problems.is_empty(), "tshark: {problems:?}");
}

/// The master's interface goes down: it enters FAULT and drops its VIP, the backup takes
/// over; the interface comes back: it returns as backup and preempts again.
#[test]
fn interface_down_is_a_fault() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let ra = Router::v2(66, 150, vip);
    let rb = ra.prio(100);
    let da = start_master(&a, &ra, &vip);
    let db = start(&b, &rb);
    assert!(db.wait_log(BACKUP, secs(5)), "b not backup");

    a.link_set("eth0", false);
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(3)), "a not in FAULT:\n{}", da.log());
    assert!(wait_until(secs(2), ms(10), || !a.has_addr(&vip)), "a kept its VIP in FAULT");
    let limit = rb.master_down() + secs(1);
    assert!(wait_until(limit, ms(10), || b.has_addr(&vip)), "b did not take over:\n{}", db.log());

    a.link_set("eth0", true);
    assert!(wait_count(&da, BACKUP, 2, secs(3)), "a did not leave FAULT:\n{}", da.log());
    assert!(wait_count(&da, MASTER, 2, ra.master_down() + secs(3)), "a did not preempt:\n{}", da.log());
    assert!(wait_count(&db, BACKUP, 2, secs(3)), "b did not step back:\n{}", db.log());
    assert!(wait_until(secs(3), ms(10), || holders(&[&a, &b], &vip) == [a.name()]), "VIP not back on a");
}

/// Started while its interface is down, an instance waits in FAULT (no VIP, no adverts) and
/// only runs the election once the link is up.
#[test]
fn start_with_interface_down_is_a_fault() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let ra = Router::v2(67, 150, vip);
    a.link_set("eth0", false);
    let da = start(&a, &ra);
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(5)), "not in FAULT:\n{}", da.log());
    std::thread::sleep(ra.master_down() + ms(500));
    assert_eq!(da.log_count(MASTER), 0, "master on a down interface:\n{}", da.log());
    assert!(!a.has_addr(&vip), "VIP set on a down interface");

    a.link_set("eth0", true);
    assert!(da.wait_log(BACKUP, secs(3)), "did not leave FAULT:\n{}", da.log());
    assert!(da.wait_log(MASTER, ra.master_down() + secs(3)), "no election after link up:\n{}", da.log());
    assert!(wait_until(secs(3), ms(10), || a.has_addr(&vip)), "VIP not set after link up");
}

/// `vrrp_strict` makes a non-owner's VIPs firewalled unless it says `accept` (`-t` warns
/// about the default): with `accept` the VIP answers, and no nftables table is made.
#[test]
fn strict_mode_vip_answers_with_accept() {
    let lan = Lan::new();
    let (a, client) = (lan.add_host("a"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let r = Router { pass: None, version: 3, ..Router::v2(51, 100, vip) };
    let strict = r.config().replace("global_defs {\n", "global_defs {\n    vrrp_strict\n");
    let d = Daemon::start(
        &a,
        &vigil_bin(),
        &strict.replace("    state BACKUP\n", "    state BACKUP\n    accept\n"),
        &["-P"],
    );
    let conf = d.dir().join("strict.conf");
    std::fs::write(&conf, &strict).expect("write the config without accept");
    let test = a.command(&[vigil_bin().to_str().unwrap(), "-t", "-f", conf.to_str().unwrap()]).output();
    let said = String::from_utf8_lossy(&test.expect("run vigil -t").stderr).into_owned();
    assert!(said.contains("strict mode implies no_accept") && said.contains("add 'accept'"), "{said}");
    assert!(d.wait_log(MASTER, r.master_down() + secs(4)), "never master:\n{}", d.log());
    assert!(wait_until(secs(3), ms(10), || a.has_addr(&vip)), "VIP not on a");
    let probe = Prober::start(&client, vip);
    assert!(probe.wait_answers(10, secs(3)), "the strict-mode VIP with accept does not answer a ping");
    assert_eq!(nft_table(&a, "ip", "keepalived"), None, "a table for an instance in accept mode");
}

/// `nft list table FAMILY TABLE` inside `ns`, None when there is no such table.
fn nft_table(ns: &Netns, family: &str, table: &str) -> Option<String> {
    let out = ns.run(&["nft", "list", "table", family, table]);
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The packets counted by the rule of `listing` that contains `rule` (`nftables_counters`).
fn nft_count(listing: &str, rule: &str) -> Option<u64> {
    let line = listing.lines().find(|l| l.contains(rule))?;
    line.split("counter packets ").nth(1)?.split(' ').next()?.parse().ok()
}

/// `no_accept` as keepalived does it: while MASTER the VIPs are in the sets of the nftables
/// table (`nftables NAME`, counters on, chains at `nftables_priority`), pings to them (IPv4
/// and IPv6) go unanswered while the drop rules count them, and neighbour discovery still
/// works; a table left by a crash is replaced at the next start, a VRRP child that resumes
/// MASTER blocks its VIPs again, and a clean stop deletes the table.
#[test]
fn no_accept_firewalls_the_vips_while_master() {
    let lan = Lan::new();
    let (a, client) = (lan.add_host("a"), lan.add_host("c"));
    let (v4, v6) = (lan.v4(100), lan.v6(0x100));
    let mut r = Router { pass: None, version: 3, ..Router::v2(51, 100, v4.into()) };
    r.vip = format!("{v4}/24 dev eth0\n        {v6}/64");
    let conf = r
        .config()
        .replace(
            "global_defs {\n",
            "global_defs {\n    nftables vigil_na\n    nftables_counters\n    nftables_priority -5\n",
        )
        .replace("    state BACKUP\n", "    state BACKUP\n    no_accept\n");
    // A VRRP child that ran 0.1 s is restarted at once (see ops_netns), so that it resumes.
    let stable = [("VIGIL_STABLE_RUN_MS", "100")];
    let mut d = Daemon::start_env(&a, &vigil_bin(), &conf, &["-P"], &stable);
    for round in ["first start", "after a crash", "after the VRRP child was killed"] {
        assert!(d.wait_log(MASTER, r.master_down() + secs(4)), "{round}: never master:\n{}", d.log());
        assert!(wait_until(secs(3), ms(10), || a.has_addr(&IpAddr::V6(v6))), "{round}: VIPs not on a");
        let blocked = || nft_table(&a, "ip6", "vigil_na").is_some_and(|t| t.contains(&v6.to_string()));
        assert!(wait_until(secs(3), ms(10), blocked), "{round}: VIPs not blocked:\n{}", d.log());
        let ip4 =
            nft_table(&a, "ip", "vigil_na").unwrap_or_else(|| panic!("{round}: no ip table:\n{}", d.log()));
        assert_eq!(ip4.matches(&v4.to_string()).count(), 1, "{round}: {ip4}");
        assert!(ip4.contains("hook input priority filter - 5"), "{round}: nftables_priority: {ip4}");
        let ip6 = nft_table(&a, "ip6", "vigil_na").unwrap_or_else(|| panic!("{round}: no ip6 table"));
        assert!(ip6.contains(&v6.to_string()), "{round}: {ip6}");
        let (p4, p6) = (Prober::start(&client, v4.into()), Prober::start(&client, v6.into()));
        let dropped = |family, rule| {
            nft_table(&a, family, "vigil_na").and_then(|l| nft_count(&l, rule)).is_some_and(|n| n >= 20)
        };
        assert!(
            wait_until(secs(5), ms(20), || dropped("ip", "ip daddr @vips")
                && dropped("ip6", "ip6 daddr @vips")),
            "{round}: the drop rules count nothing:\n{}",
            nft_table(&a, "ip6", "vigil_na").unwrap_or_default()
        );
        let (r4, r6) = (p4.stop(), p6.stop());
        assert!(r4.sent() >= 20 && r6.sent() >= 20, "{round}: {} and {} probes", r4.sent(), r6.sent());
        assert_eq!((r4.answered(), r6.answered()), (0, 0), "{round}: a firewalled VIP answered");
        // The client resolved both VIPs: ARP is not IP, and neighbour discovery is let through.
        let neigh = client.ip(&["neigh", "show", "dev", "eth0"]);
        for vip in [v4.to_string(), v6.to_string()] {
            let line = neigh.lines().find(|l| l.starts_with(&format!("{vip} "))).unwrap_or_default();
            assert!(line.contains("lladdr"), "{round}: {vip} unresolved:\n{neigh}");
        }
        if round == "first start" {
            d.kill9();
            assert!(nft_table(&a, "ip", "vigil_na").is_some(), "the crash took the table away");
            d = Daemon::start_env(&a, &vigil_bin(), &conf, &["-P"], &stable);
        } else if round == "after a crash" {
            // The new child replaces the table and blocks the VIPs it resumes with.
            let child = d.pid_from_file("v.pid").expect("VRRP child pid file");
            // SAFETY: kill(2) of the daemon's child, pid from its pid file.
            unsafe { libc::kill(child as i32, libc::SIGKILL) };
            let resumed = || d.log_count("resuming MASTER state of the previous VRRP child") == 1;
            assert!(wait_until(secs(4), ms(10), resumed), "the new child did not resume:\n{}", d.log());
        }
    }
    assert!(d.log().contains("no_accept: dropping traffic to"), "{}", d.log());
    d.stop();
    assert_eq!(nft_table(&a, "ip", "vigil_na"), None, "the table outlived a clean stop");
    assert_eq!(nft_table(&a, "ip6", "vigil_na"), None, "the ip6 table outlived a clean stop");
}

/// Leaving MASTER takes the VIPs out of the set: a higher-priority router takes over and
/// the first one's table no longer holds its VIP.
#[test]
fn no_accept_unblocks_the_vips_when_leaving_master() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let r = Router { pass: None, version: 3, ..Router::v2(51, 100, vip) };
    let conf = |r: &Router| r.config().replace("    state BACKUP\n", "    state BACKUP\n    no_accept\n");
    let da = Daemon::start(&a, &vigil_bin(), &conf(&r), &["-P"]);
    assert!(da.wait_log(MASTER, r.master_down() + secs(4)), "never master:\n{}", da.log());
    let holds_vip =
        || nft_table(&a, "ip", "keepalived").is_some_and(|t| t.contains(&lan.v4(100).to_string()));
    assert!(wait_until(secs(3), ms(10), holds_vip), "VIP not in the table:\n{}", da.log());
    let _db = Daemon::start(&b, &vigil_bin(), &conf(&r.prio(200)), &["-P"]);
    let mastered = da.log_time(MASTER).expect("master line");
    let yielded = wait_until(secs(6), ms(10), || da.log_time_after(BACKUP, mastered).is_some());
    assert!(yielded, "a never yielded:\n{}", da.log());
    assert!(wait_until(secs(3), ms(10), || !holds_vip()), "the VIP stayed in the set:\n{}", da.log());
    assert!(nft_table(&a, "ip", "keepalived").is_some(), "the table goes only at exit");
}

/// keepalived's address options on VIP lines reach the kernel: `peer`, `noprefixroute`,
/// `home`, `mngtmpaddr` and `preferred_lft 0` (deprecated), as `ip address` shows them.
#[test]
fn vip_address_options_reach_the_kernel() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let (v4, peer, v6) = (lan.v4(100), lan.v4(101), lan.v6(0x100));
    let mut r = Router { pass: None, version: 3, ..Router::v2(51, 100, v4.into()) };
    r.vip = format!(
        "{v4}/32 peer {peer} noprefixroute dev eth0\n        {v6}/64 home mngtmpaddr preferred_lft 0"
    );
    let d = start(&a, &r);
    assert!(d.wait_log(MASTER, r.master_down() + secs(4)), "never master:\n{}", d.log());
    assert!(wait_until(secs(3), ms(10), || a.has_addr(&IpAddr::V6(v6))), "IPv6 VIP not added:\n{}", d.log());
    let show4 = a.ip(&["-4", "-o", "addr", "show", "dev", "eth0"]);
    let line4 =
        show4.lines().find(|l| l.contains(&format!("inet {v4} "))).unwrap_or_else(|| panic!("{show4}"));
    assert!(line4.contains(&format!("peer {peer}/32")) && line4.contains("noprefixroute"), "{line4}");
    let show6 = a.ip(&["-6", "-o", "addr", "show", "dev", "eth0"]);
    let line6 =
        show6.lines().find(|l| l.contains(&format!("inet6 {v6}/64"))).unwrap_or_else(|| panic!("{show6}"));
    for flag in ["home", "mngtmpaddr", "deprecated"] {
        assert!(line6.contains(flag), "no {flag}: {line6}");
    }
}

/// `vrrp_startup_delay`: the instances start that long after the VRRP child.
#[test]
fn startup_delay_holds_the_instances() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let r = Router::v2(51, 100, vip);
    let conf = r.config().replace("global_defs {\n", "global_defs {\n    vrrp_startup_delay 1.5\n");
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(d.wait_log("Delaying startup for 1.5 seconds", secs(3)), "{}", d.log());
    let delayed = d.log_time("Delaying startup").unwrap();
    assert!(d.wait_log("(VI_1) Entering BACKUP STATE (init)", secs(4)), "{}", d.log());
    let started = d.log_time("(VI_1) Entering BACKUP STATE (init)").unwrap() - delayed;
    assert!(started >= ms(1400), "instances started {started:?} after the delay was announced");
    assert!(d.wait_log(MASTER, r.master_down() + secs(2)), "{}", d.log());
}

/// `vigil status --json` for daemon `d`, or None while its control socket does not answer yet.
fn try_status(host: &Host, d: &Daemon) -> Option<Json> {
    let out = host
        .command(&[&vigil_bin().to_string_lossy(), "status", "--json"])
        .env("VIGIL_RUN_DIR", d.run_dir())
        .output()
        .ok()?;
    Json::parse(String::from_utf8_lossy(&out.stdout).trim()).ok().filter(|_| out.status.success())
}

/// `vigil status --json` of `d`, once its control socket answers (2 s at most).
fn wait_status(host: &Host, d: &Daemon) -> Json {
    let mut st = None;
    assert!(
        wait_until(secs(2), ms(10), || {
            st = try_status(host, d);
            st.is_some()
        }),
        "no status"
    );
    st.expect("status")
}

/// Instance `name`'s (state, waiting_for) in a status object.
fn instance_state(st: &Json, name: &str) -> (String, String) {
    let Some(Json::Arr(insts)) = st.get("vrrp").and_then(|v| v.get("instances")) else {
        panic!("no instances in {st}")
    };
    let inst = insts.iter().find(|i| i.get("name").and_then(Json::as_str) == Some(name));
    let inst = inst.unwrap_or_else(|| panic!("no {name} in {st}"));
    let field = |k: &str| inst.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    (field("state"), field("waiting_for"))
}

/// A router boots: vigil starts while duplicate address detection still holds eth0's fresh
/// link-local address tentative, so no IPv6 instance can send adverts yet. The instances wait
/// (in status as INIT, no VIP) instead of being dropped, and start when DAD completes: the
/// address owner (priority 255) as MASTER at once, the other as BACKUP and then MASTER after
/// its master-down interval, alone on the link.
#[test]
fn ipv6_instances_wait_for_dad_of_a_fresh_link_local() {
    let lan = Lan::new();
    let a = lan.add_host_with_dad("a", 2);
    let (vip6, vip7): (IpAddr, IpAddr) = (lan.v6(0x100).into(), lan.v6(0x101).into());
    let tentative = wait_until(secs(2), ms(5), || !a.link_local_lines().is_empty());
    let lines = a.link_local_lines();
    assert!(
        tentative && lines.iter().all(|l| l.contains("tentative")),
        "link-local not tentative: {lines:?}"
    );
    let instance = |name: &str, vrid: u8, prio: u8, vip: &IpAddr| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
             priority {prio}\n    advert_int 1\n    version 3\n    virtual_ipaddress {{\n        {vip}/64 dev \
             eth0\n    }}\n}}\n"
        )
    };
    let conf = format!(
        "global_defs {{\n    router_id dad\n}}\n\n{}{}",
        instance("VI_6", 68, 150, &vip6),
        instance("VI_7", 69, 255, &vip7)
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);

    for name in ["VI_6", "VI_7"] {
        let waiting =
            format!("({name}) waiting for a usable IPv6 link-local address on eth0 (DAD in progress)");
        assert!(d.wait_log(&waiting, secs(3)), "{name} not waiting for DAD:\n{}", d.log());
    }
    let st = wait_status(&a, &d);
    let still_tentative = a.link_local().is_none();
    for name in ["VI_6", "VI_7"] {
        let (state, waiting_for) = instance_state(&st, name);
        assert_eq!(state, "INIT", "{name} during DAD: {st}");
        assert!(waiting_for.contains("(DAD in progress)"), "{name} waiting for {waiting_for:?}");
    }
    assert!(still_tentative, "DAD was over before the status could show the waiting instances");
    assert!(!a.has_addr(&vip6) && !a.has_addr(&vip7), "a VIP was set before the instances started");

    // An instant at which the link-local was still tentative: taken before each look.
    let mut tentative_at = Instant::now();
    let dad_done = wait_until(secs(5), ms(5), || {
        let before = Instant::now();
        let usable = a.link_local().is_some();
        if !usable {
            tentative_at = before;
        }
        usable
    });
    assert!(dad_done, "DAD never completed: {:?}", a.link_local_lines());
    assert!(d.wait_log("(VI_7) Entering MASTER STATE", secs(2)), "owner not master after DAD:\n{}", d.log());
    assert!(d.wait_log("(VI_6) Entering BACKUP STATE", secs(2)), "VI_6 not backup after DAD:\n{}", d.log());
    let first_start = d.log_time("Entering").expect("a state line");
    assert!(first_start > tentative_at, "an instance started while its link-local was tentative");
    let owner_after = d.log_time("(VI_7) Entering MASTER STATE").expect("owner line") - tentative_at;
    // Master_Down_Interval of VRRPv3: 3 * advert_int + (256 - 150) / 256 * advert_int.
    let master_down = Duration::from_secs_f64(3.0 + 106.0 / 256.0);
    assert!(
        d.wait_log("(VI_6) Entering MASTER STATE", master_down + secs(2)),
        "VI_6 never master:\n{}",
        d.log()
    );
    let backup_at = d.log_time("(VI_6) Entering BACKUP STATE").expect("backup line");
    let master_at = d.log_time("(VI_6) Entering MASTER STATE").expect("master line");
    let elected_after = master_at.saturating_duration_since(backup_at);
    assert!(elected_after + ms(100) >= master_down, "VI_6 master after {elected_after:?} < {master_down:?}");
    assert!(wait_until(secs(2), ms(10), || a.has_addr(&vip6) && a.has_addr(&vip7)), "VIPs not set on a");
    let st = try_status(&a, &d).expect("status after DAD");
    for name in ["VI_6", "VI_7"] {
        assert_eq!(instance_state(&st, name), ("MASTER".to_string(), String::new()), "{name}: {st}");
    }
    assert_eq!(d.log_count("cannot start"), 0, "{}", d.log());
    eprintln!(
        "owner MASTER {owner_after:?} after the link-local was last seen tentative; VI_6 BACKUP -> \
         MASTER after {elected_after:?} (master-down {master_down:?})"
    );
}

/// An instance whose interface does not exist yet (a VLAN or bond created after the daemon)
/// waits for it (keepalived's `dynamic_interfaces`, vigil's behaviour with or without it), shown in status as INIT, instead of being dropped. A reload forgets a waiting
/// instance the new configuration removed and makes a new one wait, without touching the
/// running one. The interface appears without an address (still waiting), gets one while down
/// (starts in FAULT), and comes up: the instance, an owner, becomes MASTER with its VIP.
#[test]
fn instances_wait_for_a_missing_interface_across_reloads() {
    let (lan, other) = (Lan::new(), Lan::new());
    let a = lan.add_host("a");
    let (vip_run, vip_gone, vip_late): (IpAddr, IpAddr, IpAddr) =
        (lan.v4(100).into(), other.v4(101).into(), other.v4(100).into());
    let instance = |name: &str, dev: &str, vrid: u8, vip: &IpAddr| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface {dev}\n    virtual_router_id {vrid}\n    \
             priority 255\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24 dev {dev}\n    }}\n}}\n"
        )
    };
    // keepalived waits so only with dynamic_interfaces; vigil always does.
    let run =
        format!("global_defs {{\n    dynamic_interfaces\n}}\n{}", instance("RUN", "eth0", 70, &vip_run));
    let conf1 = format!("{run}{}", instance("GONE", "vlan7", 71, &vip_gone));
    let d = Daemon::start(&a, &vigil_bin(), &conf1, &["-P"]);
    assert!(d.wait_log("(GONE) waiting for interface vlan7 to appear", secs(3)), "{}", d.log());
    assert!(
        d.wait_log("(RUN) Entering MASTER STATE", secs(3)),
        "the other instance did not run:\n{}",
        d.log()
    );
    let st = wait_status(&a, &d);
    assert_eq!(instance_state(&st, "GONE"), ("INIT".into(), "interface vlan7 to appear".into()), "{st}");

    let conf2 = format!("! reloaded\n{run}{}", instance("LATE", "eth1", 72, &vip_late));
    std::fs::write(d.dir().join("keepalived.conf"), conf2).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log("(LATE) waiting for interface eth1 to appear", secs(3)), "{}", d.log());
    assert!(d.wait_log("(GONE) removed on reload", secs(1)), "{}", d.log());
    let st = try_status(&a, &d).expect("status after reload");
    let names: Vec<&str> = match st.get("vrrp").and_then(|v| v.get("instances")) {
        Some(Json::Arr(insts)) => insts.iter().filter_map(|i| i.get("name").and_then(Json::as_str)).collect(),
        _ => panic!("no instances in {st}"),
    };
    assert_eq!(names, ["RUN", "LATE"], "{st}");
    assert_eq!(instance_state(&st, "LATE"), ("INIT".into(), "interface eth1 to appear".into()), "{st}");

    // A veth pair inside `a`: this kernel may have no dummy driver.
    a.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
    assert!(d.wait_log("(LATE) waiting for an IPv4 address on eth1", secs(3)), "{}", d.log());
    a.ip(&["addr", "add", &format!("{}/24", other.v4(1)), "dev", "eth1"]);
    assert!(d.wait_log("(LATE) Entering FAULT STATE", secs(3)), "not started on a down link:\n{}", d.log());
    assert!(!a.has_addr(&vip_late), "VIP set on a down interface");
    a.link_set("eth1p", true);
    a.link_set("eth1", true);
    assert!(d.wait_log("(LATE) Entering MASTER STATE", secs(3)), "owner not master:\n{}", d.log());
    assert!(wait_until(secs(2), ms(10), || a.has_addr(&vip_late)), "VIP not on eth1");
    let st = try_status(&a, &d).expect("status at the end");
    assert_eq!(instance_state(&st, "LATE"), ("MASTER".into(), String::new()), "{st}");
    assert_eq!(d.log_count("(RUN) Entering MASTER STATE"), 1, "RUN was restarted:\n{}", d.log());
    assert!(!a.has_addr(&vip_gone) && d.log_count("(GONE) Entering") == 0, "GONE ran:\n{}", d.log());
    assert_eq!(d.log_count("cannot start"), 0, "{}", d.log());
}

/// A dual-stack router boots: its IPv4 and IPv6 instances are one sync group, and the IPv6
/// one waits for DAD of eth0's link-local. The waiting member holds the group in FAULT, as a
/// faulty one would (keepalived keeps it in FAULT), so the IPv4 instance does not run the
/// election alone; once DAD is over both start and become MASTER together.
#[test]
fn a_sync_group_waits_for_its_member_in_dad() {
    let lan = Lan::new();
    let a = lan.add_host_with_dad("a", 2);
    let (vip4, vip6): (IpAddr, IpAddr) = (lan.v4(100).into(), lan.v6(0x100).into());
    assert!(wait_until(secs(2), ms(5), || !a.link_local_lines().is_empty()), "no link-local on eth0");
    let lines = a.link_local_lines();
    assert!(lines.iter().all(|l| l.contains("tentative")), "link-local not tentative: {lines:?}");
    let instance = |name: &str, vrid: u8, vip: &IpAddr| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
             priority 150\n    advert_int 1\n    version 3\n    virtual_ipaddress {{\n        {} dev eth0\n    \
             }}\n}}\n",
            with_prefix(*vip)
        )
    };
    let conf = format!(
        "vrrp_sync_group G {{\n    group {{\n        VI_4\n        VI_6\n    }}\n}}\n{}{}",
        instance("VI_4", 73, &vip4),
        instance("VI_6", 74, &vip6)
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    let waiting = "(VI_6) waiting for a usable IPv6 link-local address on eth0 (DAD in progress)";
    assert!(d.wait_log(waiting, secs(3)), "VI_6 not waiting for DAD:\n{}", d.log());
    assert!(d.wait_log("VRRP_Group(G) Syncing instances to FAULT state", secs(1)), "{}", d.log());
    assert!(d.wait_log("(VI_4) Entering FAULT STATE", secs(1)), "VI_4 ran alone:\n{}", d.log());
    assert!(wait_until(secs(5), ms(5), || a.link_local().is_some()), "DAD never completed");
    assert!(d.wait_log("(VI_6) Entering BACKUP STATE", secs(2)), "VI_6 did not start:\n{}", d.log());
    let fault_at = d.log_time("(VI_4) Entering FAULT STATE").expect("fault line");
    let started_at = d.log_time("(VI_6) Entering BACKUP STATE").expect("backup line");
    assert!(fault_at < started_at, "VI_4 was not in FAULT while VI_6 waited:\n{}", d.log());
    assert_eq!(d.log_count("(VI_4) Entering MASTER STATE"), 0, "VI_4 master without VI_6:\n{}", d.log());

    let master_down = Duration::from_secs_f64(3.0 + 106.0 / 256.0);
    for name in ["VI_4", "VI_6"] {
        let line = format!("({name}) Entering MASTER STATE");
        assert!(d.wait_log(&line, master_down + secs(2)), "{name} never master:\n{}", d.log());
    }
    let m4 = d.log_time("(VI_4) Entering MASTER STATE").expect("VI_4 master");
    let m6 = d.log_time("(VI_6) Entering MASTER STATE").expect("VI_6 master");
    let apart = if m4 > m6 { m4 - m6 } else { m6 - m4 };
    assert!(apart < ms(200), "members became master {apart:?} apart:\n{}", d.log());
    assert!(m4.min(m6) - started_at + ms(100) >= master_down, "elected before master-down:\n{}", d.log());
    assert!(wait_until(secs(2), ms(10), || a.has_addr(&vip4) && a.has_addr(&vip6)), "VIPs not on a");
}
