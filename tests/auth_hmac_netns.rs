//! auth_hmac against the real binary: two vigil routers in unicast VRRPv3 with the
//! HMAC-SHA256 trailer in enforce mode elect as usual; from a third host, a forged
//! higher-priority advert (right format, wrong key, spoofed peer source) and a replay
//! of the master's captured advert are both dropped and counted, and nothing fails over.
//!
//! Also the modes on the wire, IPv6 multicast, and Debian's keepalived 2.2.7 next to an enforce
//! node. No auth_hmac interop with keepalived is possible here: 2.2.7 predates auth_hmac (2.4).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use common::*;
use vigil::runtime::Json;
use vigil::vrrp::hmac::{self, HmacParams, TRAILER_LEN};
use vigil::vrrp::{Advert, ChecksumForm, Version};

const VRID: u8 = 61;
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn key() -> Vec<u8> {
    (0u8..32).collect()
}

fn config(prio: u8, me: Ipv4Addr, peer: Ipv4Addr, vip: IpAddr) -> String {
    config_mode(prio, Some((me, peer)), vip, "enforce")
}

/// VRRPv3 with auth_hmac in `mode`; unicast between `(me, peer)`, else multicast.
fn config_mode(prio: u8, unicast: Option<(Ipv4Addr, Ipv4Addr)>, vip: IpAddr, mode: &str) -> String {
    let unicast = unicast.map_or(String::new(), |(me, peer)| {
        format!("    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n")
    });
    let prefix = if vip.is_ipv6() { 64 } else { 24 };
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id {VRID}
    priority {prio}
    advert_int 1
    version 3
{unicast}    auth_hmac {{
        key 1 hex:{KEY_HEX}
        active_key 1
        mode {mode}
    }}
    virtual_ipaddress {{
        {vip}/{prefix}
    }}
}}
"
    )
}

/// VI_1's field `name` (e.g. "rx", "state"), or its rejected-counter `name`.
fn field(st: &Json, name: &str) -> Json {
    let Some(Json::Arr(insts)) = st.get("vrrp").and_then(|v| v.get("instances")) else {
        panic!("no instances in {st}")
    };
    let inst = insts.iter().find(|i| i.get("name").and_then(Json::as_str) == Some("VI_1"));
    let inst = inst.unwrap_or_else(|| panic!("no VI_1 in {st}"));
    inst.get(name)
        .or_else(|| inst.get("rejected").and_then(|r| r.get(name)))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {st}"))
}

fn count(st: &Json, name: &str) -> i64 {
    field(st, name).as_i64().unwrap_or_else(|| panic!("{name} is not a number in {st}"))
}

const HMAC_REJECTS: [&str; 6] =
    ["HmacMissing", "HmacMalformed", "HmacUnknownKey", "HmacBadDigest", "HmacStale", "HmacReplay"];

/// The HMAC reject counters of VI_1, in `HMAC_REJECTS` order.
/// SIGTERM to the master `da`: its signed priority-0 advert must be accepted, so `db` takes over
/// at its skew time (0.61 s), not after the master-down interval (3.61 s).
fn stop_and_see_b_take_over(da: &mut Daemon, db: &Daemon) {
    let stop = Instant::now();
    da.stop();
    assert!(
        wait_until(secs(3), ms(10), || db.log_time_after("(VI_1) Entering MASTER STATE", stop).is_some()),
        "b did not take over:\n{}",
        db.log()
    );
    let took = db.log_time_after("(VI_1) Entering MASTER STATE", stop).unwrap() - stop;
    assert!(took < ms(2500), "b took {took:?}: the priority-0 advert was not accepted:\n{}", db.log());
}

fn hmac_rejects(st: &Json) -> Vec<i64> {
    HMAC_REJECTS.iter().map(|r| count(st, r)).collect()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Send whole IPv4 datagrams (IP_HDRINCL; the kernel fills in length and checksum) from
/// the calling thread's namespace.
fn send_raw(datagram: &[u8], dst: Ipv4Addr, copies: usize) -> usize {
    // SAFETY: plain socket call; closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    let mut sent = 0;
    for _ in 0..copies {
        // SAFETY: sockaddr_in is plain data; the buffers outlive the call.
        let n = unsafe {
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
            libc::sendto(
                fd,
                datagram.as_ptr().cast(),
                datagram.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            )
        };
        sent += usize::from(n == datagram.len() as isize);
    }
    // SAFETY: we own the descriptor.
    unsafe { libc::close(fd) };
    sent
}

/// IPv4 header from `src` to `dst`, TTL 255, protocol 112, then `vrrp`.
fn datagram(src: Ipv4Addr, dst: Ipv4Addr, vrrp: &[u8]) -> Vec<u8> {
    let mut d = vec![0x45, 0xc0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0];
    d.extend(src.octets());
    d.extend(dst.octets());
    d.extend(vrrp);
    d
}

#[test]
fn enforce_pair_elects_and_drops_forged_and_replayed_adverts() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let sniffer = AdvertSniffer::start(&b, "eth0");
    let t0 = Instant::now();
    let da = Daemon::start(&a, &vigil_bin(), &config(150, a.ip4, b.ip4, vip), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "a never became master:\n{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &config(100, b.ip4, a.ip4, vip), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));

    // Normal election: b accepts a's signed adverts and follows it; nothing is rejected.
    assert!(
        wait_until(secs(5), ms(50), || count(&db.status(), "rx") >= 3),
        "b accepted no adverts from a:\n{}\n{}",
        db.log(),
        db.status()
    );
    let (sa, sb) = (da.status(), db.status());
    assert_eq!(field(&sa, "state").as_str(), Some("MASTER"));
    assert_eq!(field(&sb, "state").as_str(), Some("BACKUP"));
    assert_eq!(field(&sb, "master").as_str(), Some(a.ip4.to_string().as_str()));
    assert_eq!(field(&sb, "auth_hmac").as_str(), Some("enforce"));
    assert_eq!(hmac_rejects(&sa), [0; 6], "{sa}");
    assert_eq!(hmac_rejects(&sb), [0; 6], "{sb}");
    assert!(a.has_addr(&vip) && !b.has_addr(&vip));

    // On the wire: IP header, 12-byte v3 advert, 28-byte trailer that verifies with the key.
    let wire = sniffer.datagrams_after(a.ip4, t0);
    let last = wire.last().expect("a's adverts reached b").clone();
    assert_eq!(last.len(), 20 + 12 + TRAILER_LEN, "{last:02x?}");
    let (msg, trailer) = last[20..].split_at(12);
    let p = HmacParams::new(1, &key());
    let t = hmac::verify(&p, Some(unix_now()), Version::V3, VRID, a.ip4.into(), msg, trailer)
        .unwrap_or_else(|e| panic!("a's trailer does not verify: {e:?}"));
    assert_eq!((t.ext_type, t.key_id), (1, 1));
    assert!(unix_now().abs_diff(u64::from(t.sec())) <= 2, "sec {} is not now", t.sec());
    // Every advert a sent carried a newer sequence than the one before.
    let seqs: Vec<u64> =
        wire.iter().filter_map(|d| hmac::Trailer::parse(d.get(32..)?)).map(|t| t.seq).collect();
    assert!(seqs.len() >= 3 && seqs.windows(2).all(|w| hmac::newer(w[1], w[0])), "{seqs:x?}");

    let a_states = (da.log_count("Entering MASTER STATE"), da.log_count("Entering BACKUP STATE"));
    let b_states = (db.log_count("Entering MASTER STATE"), db.log_count("Entering BACKUP STATE"));

    // Forged: priority 254 "from b" to the master a, current timestamp, signed with the wrong key.
    let forged = {
        let adv = Advert {
            version: Version::V3,
            vrid: VRID,
            priority: 254,
            addrs: vec![vip],
            auth_type: 0,
            auth_data: [0; 8],
            interval_cs: 100,
            checksum: 0,
        };
        let form = ChecksumForm::PseudoHeader { src: b.ip4.into(), dst: a.ip4.into() };
        let mut m = adv.to_bytes(form).unwrap();
        let wrong = HmacParams::new(1, &[0x5a; 32]);
        let seq = (unix_now() << 32) | 0xffff;
        m.extend(hmac::sign(&wrong, seq, Version::V3, VRID, b.ip4.into(), &m).unwrap());
        datagram(b.ip4, a.ip4, &m)
    };
    const FORGED: usize = 5;
    let sent = c.enter(|| send_raw(&forged, a.ip4, FORGED));
    assert_eq!(sent, FORGED);
    assert!(
        wait_until(secs(3), ms(20), || count(&da.status(), "HmacBadDigest") == FORGED as i64),
        "a did not count the forged adverts: {}",
        da.status()
    );
    assert!(da.log().contains(&format!("(VI_1) invalid authentication HMAC from {}", b.ip4)), "{}", da.log());

    // Replay: the master's last advert as b received it, resent from c to b.
    let captured = sniffer.datagrams_after(a.ip4, t0).last().cloned().unwrap();
    const REPLAYED: usize = 3;
    let sent = c.enter(|| send_raw(&captured, b.ip4, REPLAYED));
    assert_eq!(sent, REPLAYED);
    assert!(
        wait_until(secs(3), ms(20), || count(&db.status(), "HmacReplay") == REPLAYED as i64),
        "b did not count the replays: {}",
        db.status()
    );
    assert!(db.log().contains(&format!("(VI_1) replayed authentication trailer from {}", a.ip4)));

    // Two more advert intervals: no failover, and nothing else was rejected.
    let since = Instant::now();
    assert!(sniffer.wait_from(a.ip4, since, secs(3)).is_some());
    assert!(sniffer.wait_from(a.ip4, Instant::now(), secs(3)).is_some());
    let (sa, sb) = (da.status(), db.status());
    assert_eq!(field(&sa, "state").as_str(), Some("MASTER"), "{sa}");
    assert_eq!(field(&sb, "state").as_str(), Some("BACKUP"), "{sb}");
    assert_eq!(hmac_rejects(&sa), [0, 0, 0, FORGED as i64, 0, 0], "{sa}");
    assert_eq!(hmac_rejects(&sb), [0, 0, 0, 0, 0, REPLAYED as i64], "{sb}");
    assert_eq!(
        (da.log_count("Entering MASTER STATE"), da.log_count("Entering BACKUP STATE")),
        a_states,
        "a changed state:\n{}",
        da.log()
    );
    assert_eq!(
        (db.log_count("Entering MASTER STATE"), db.log_count("Entering BACKUP STATE")),
        b_states,
        "b changed state:\n{}",
        db.log()
    );
    assert!(a.has_addr(&vip) && !b.has_addr(&vip));

    // The master's signed priority-0 advert on shutdown is accepted: b takes over at its skew
    // time (0.61 s), not after the master-down interval (3.61 s).
    let mut da = da;
    stop_and_see_b_take_over(&mut da, &db);
    assert_eq!(hmac_rejects(&db.status()), [0, 0, 0, 0, 0, REPLAYED as i64]);
}

/// IPv6 multicast, enforce: the kernel's checksum covers the trailer both ways (IPV6_CHECKSUM);
/// b follows a with no reject, and a's signed priority-0 advert hands over at b's skew time.
#[test]
fn ipv6_multicast_enforce_pair_elects_and_hands_over() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v6(0x100).into();
    let mut da = Daemon::start(&a, &vigil_bin(), &config_mode(150, None, vip, "enforce"), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "a never became master:\n{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &config_mode(100, None, vip, "enforce"), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    assert!(
        wait_until(secs(5), ms(50), || count(&db.status(), "rx") >= 3),
        "b accepted no adverts from a:\n{}\n{}",
        db.log(),
        db.status()
    );
    let sb = db.status();
    let ll = a.link_local().expect("a's link-local").to_string();
    assert_eq!(field(&sb, "master").as_str(), Some(ll.as_str()), "{sb}");
    assert_eq!(hmac_rejects(&sb), [0; 6], "{sb}");
    assert_eq!(count(&sb, "BadChecksum"), 0, "{sb}");
    assert_eq!(hmac_rejects(&da.status()), [0; 6]);
    assert!(a.has_addr(&vip) && !b.has_addr(&vip));
    stop_and_see_b_take_over(&mut da, &db);
    assert!(wait_until(secs(2), ms(10), || b.has_addr(&vip)));
}

/// Modes on the wire: a (150) in receive-only sends no trailer, so b (100) in enforce drops
/// every advert of a as HmacMissing and becomes master too; a verifies b's signed adverts and
/// accepts them. Then b switches to permissive (reload): it accepts a's unsigned adverts,
/// counts them, and goes back to backup.
#[test]
fn receive_only_sends_nothing_that_enforce_accepts() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let uni = |me: &Host, peer: &Host| Some((me.ip4, peer.ip4));
    let da = Daemon::start(&a, &vigil_bin(), &config_mode(150, uni(&a, &b), vip, "receive-only"), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "a never became master:\n{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &config_mode(100, uni(&b, &a), vip, "enforce"), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    assert!(
        wait_until(secs(6), ms(50), || count(&db.status(), "HmacMissing") >= 3),
        "b did not drop a's unsigned adverts: {}",
        db.status()
    );
    assert!(db.wait_log("(VI_1) Entering MASTER STATE", secs(6)), "b stayed backup:\n{}", db.log());
    assert!(db.log().contains(&format!("(VI_1) missing authentication trailer from {}", a.ip4)));
    // a hears b's lower priority, signed: verified and accepted (a stays master).
    assert!(
        wait_until(secs(4), ms(50), || count(&da.status(), "rx") >= 2),
        "a accepted none of b's signed adverts: {}",
        da.status()
    );
    let sa = da.status();
    assert_eq!(hmac_rejects(&sa), [0; 6], "{sa}");
    assert_eq!(field(&sa, "auth_hmac").as_str(), Some("receive-only"));
    assert_eq!(field(&sa, "state").as_str(), Some("MASTER"));

    // b to permissive by reload: a's unsigned adverts are let in and counted; b steps back.
    std::fs::write(db.dir().join("keepalived.conf"), config_mode(100, uni(&b, &a), vip, "permissive"))
        .unwrap();
    let reload = Instant::now();
    db.signal(libc::SIGHUP);
    assert!(
        wait_until(secs(6), ms(20), || db.log_time_after("(VI_1) Entering BACKUP STATE", reload).is_some()),
        "b did not step back after the reload:\n{}",
        db.log()
    );
    assert!(
        wait_until(secs(4), ms(50), || count(&db.status(), "hmac_missing_accepted") >= 2),
        "{}",
        db.status()
    );
    let sb = db.status();
    assert_eq!(field(&sb, "auth_hmac").as_str(), Some("permissive"));
    assert_eq!(field(&sb, "master").as_str(), Some(a.ip4.to_string().as_str()), "{sb}");
    assert!(wait_until(secs(3), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)));
}

/// With Debian's keepalived 2.2.7, which has no auth_hmac: it fails closed both ways. keepalived
/// drops vigil's trailered adverts as too long and takes over although its priority is lower;
/// vigil (enforce) drops keepalived's unsigned adverts as HmacMissing. Two masters, by design:
/// an upgrade goes through receive-only and permissive first.
#[test]
fn keepalived_2_2_7_without_auth_hmac_accepts_nothing_from_an_enforce_node() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let da = Daemon::start(&a, &vigil_bin(), &config(150, a.ip4, b.ip4, vip), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "vigil never became master:\n{}", da.log());
    let plain = config(100, b.ip4, a.ip4, vip);
    let start = plain.find("    auth_hmac").unwrap();
    let end = start + plain[start..].find("    }\n").unwrap() + "    }\n".len();
    let plain = format!("{}{}", &plain[..start], &plain[end..]);
    assert!(!plain.contains("auth_hmac"), "{plain}");
    let mut cap = lan.capture("ip proto 112");
    let dk = Daemon::start(&b, &keepalived_bin(), &plain, &["-P"]);
    assert!(
        dk.wait_log("(VI_1) Entering MASTER STATE", secs(8)),
        "keepalived accepted vigil's trailered adverts:\n{}",
        dk.log()
    );
    let why = dk.log().lines().find(|l| l.contains("too long")).map(String::from);
    let why = why.unwrap_or_else(|| panic!("keepalived did not say why:\n{}", dk.log()));
    assert!(why.contains("(VI_1) vrrp packet too long, length 60 and expect 32"), "{why}");
    assert!(
        // Observed: keepalived sends its advert on taking over and then none while vigil's
        // (dropped) adverts keep arriving every second, so one is what vigil gets to judge.
        wait_until(secs(4), ms(50), || count(&da.status(), "HmacMissing") >= 1),
        "vigil did not drop keepalived's unsigned adverts: {}\nkeepalived:\n{}\n{:?}",
        da.status(),
        dk.log(),
        cap.fields("vrrp", &["frame.time_relative", "ip.src", "ip.dst", "ip.len", "vrrp.prio"])
    );
    assert_eq!(field(&da.status(), "state").as_str(), Some("MASTER"));
}
