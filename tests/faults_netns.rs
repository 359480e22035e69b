//! Faults a network engineer worries about, against the real binary:
//! a partitioned pair that heals, a flood of malformed adverts at a
//! master, a notify script that never exits, and a machine so busy that
//! only realtime scheduling keeps 10 ms adverts on time, and control
//! clients that connect and stall.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use vigil::runtime::Json;
use vigil::vrrp::{Advert, ChecksumForm, Version};

const PASS: &str = "s3cret";

/// The tests that measure advert timing do not run beside the one that
/// loads every core on purpose.
static TIMING: Mutex<()> = Mutex::new(());

fn instance(prio: u8, vip: IpAddr, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        \
         auth_pass {PASS}\n    }}\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n{extra}}}\n"
    )
}

/// The first object anywhere in `v` that has `key`.
fn find<'a>(v: &'a Json, key: &str) -> Option<&'a Json> {
    if v.get(key).is_some() {
        return Some(v);
    }
    match v {
        Json::Arr(items) => items.iter().find_map(|i| find(i, key)),
        Json::Obj(pairs) => pairs.iter().find_map(|(_, i)| find(i, key)),
        _ => None,
    }
}

/// Per-reason reject counters of VI_1, plus the engine's `unknown_vrid`.
fn counters(d: &Daemon) -> Vec<(String, i64)> {
    let s = d.status();
    let engine = find(&s, "unknown_vrid").expect("engine status");
    let inst = find(engine, "rejected").expect("instance status");
    let Some(Json::Obj(rejected)) = inst.get("rejected") else { panic!("no rejected counters: {s}") };
    let mut out: Vec<(String, i64)> =
        rejected.iter().map(|(k, v)| (k.clone(), v.as_i64().unwrap_or(-1))).collect();
    out.push(("unknown_vrid".into(), engine.get("unknown_vrid").and_then(Json::as_i64).unwrap_or(-1)));
    for key in ["rx", "tx"] {
        out.push((key.into(), inst.get(key).and_then(Json::as_i64).unwrap_or(-1)));
    }
    out
}

fn count(c: &[(String, i64)], key: &str) -> i64 {
    c.iter().find(|(k, _)| k == key).map(|(_, v)| *v).unwrap_or_else(|| panic!("no counter {key}: {c:?}"))
}

/// utime + stime of `pid` in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/pid/stat");
    let fields: Vec<&str> = stat.rsplit_once(')').expect("stat format").1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz
}

/// The client's neighbour entry for `ip`, e.g. "198.18.0.100 dev eth0 lladdr ... REACHABLE".
fn neigh(ns: &Netns, ip: IpAddr) -> String {
    ns.ip(&["neigh", "show", &ip.to_string()])
}

/// Which router of a healing split brain hears the other first.
#[derive(Clone, Copy, Debug, PartialEq)]
enum HealOrder {
    /// The winner (a, 150) hears the loser's advert and re-announces.
    WinnerHearsLoser,
    /// The loser (b, 100) hears the winner's advert first and steps down.
    LoserHearsWinner,
}

/// A network partition between the routers while both stay up: bridge port isolation cuts
/// router to router but keeps each reachable from the client, which pings the VIP every
/// 10 ms. Both become master and the client follows b's gratuitous ARPs. The partition heals
/// at a moment chosen from the adverts the client sees, so that either the winner's or the
/// loser's next advert crosses first. In both orders exactly one master remains within one
/// advert interval, the client is pointed back at a, and fewer than 20 probes are lost.
#[test]
fn partition_heals_to_one_master_in_either_order() {
    let lan = Lan::new();
    let (a, b, client) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let da = Daemon::start(&a, &vigil_bin(), &instance(150, vip, ""), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)));
    let db = Daemon::start(&b, &vigil_bin(), &instance(100, vip, ""), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    let sniffer = AdvertSniffer::start(&client, "eth0");
    let probe = Prober::start(&client, vip);
    assert!(probe.wait_answers(20, secs(3)), "the VIP does not answer");

    let isolate = |on: &str| {
        for port in [format!("p{}", a.n), format!("p{}", b.n)] {
            lan.switch().ip(&["link", "set", "dev", &port, "type", "bridge_slave", "isolated", on]);
        }
    };
    let a_backups = da.log_count("Entering BACKUP STATE");
    // a's gratuitous ARP bursts: on becoming master and garp_master_delay (5 s) later; after
    // each heal, one on the lower-priority advert, the settle repeat one interval later and one
    // after garp_lower_prio_delay (5 s). A trial starts when the last one is out, so only b's
    // bursts point the client during the partition.
    let a_bursts = || da.log_count("(VI_1) Sending/queueing gratuitous ARPs");
    let mut bursts_due = 2;
    let orders = [HealOrder::LoserHearsWinner, HealOrder::WinnerHearsLoser];
    for (trial, order) in orders.iter().cycle().take(4).copied().enumerate() {
        assert!(
            wait_until(secs(8), ms(20), || a_bursts() >= bursts_due),
            "trial {trial}: {} of {bursts_due} gratuitous ARP bursts from a:\n{}",
            a_bursts(),
            da.log()
        );
        bursts_due += 3;
        let split = Instant::now();
        isolate("on");
        assert!(
            wait_until(secs(6), ms(5), || db.log_time_after("(VI_1) Entering MASTER STATE", split).is_some()),
            "trial {trial}: b never saw the partition:\n{}",
            db.log()
        );
        let b_master = db.log_time_after("(VI_1) Entering MASTER STATE", split).unwrap();
        // The client follows b's gratuitous ARPs: without a re-announcement after the heal it
        // would keep sending to b, which no longer holds the VIP.
        assert!(
            wait_until(secs(2), ms(10), || neigh(&client, vip).contains(&b.mac)),
            "trial {trial}: the client never moved to b: {}",
            neigh(&client, vip)
        );
        assert!(a.has_addr(&vip), "trial {trial}: a gave up the VIP during the partition");

        // Heal right after the advert of the router that is to be heard second, when the
        // other's next advert (one interval after its last) is well inside the gap; and more
        // than the client's ARP lock time (1 s) after b's gratuitous ARPs.
        let (quiet, other) = match order {
            HealOrder::LoserHearsWinner => (b.ip4, a.ip4),
            HealOrder::WinnerHearsLoser => (a.ip4, b.ip4),
        };
        let mut mark = b_master + ms(1500);
        let heal = loop {
            let seen = sniffer.wait_from(quiet, mark, secs(3)).expect("the quiet router stopped advertising");
            let now = Instant::now();
            let last_other = sniffer.seen().into_iter().rev().find(|s| s.src == other && s.at <= now);
            let next_other = last_other.expect("both routers advertise").at + secs(1);
            if next_other > now + ms(60) && next_other + ms(60) < seen.at + secs(1) {
                let before = neigh(&client, vip);
                assert!(
                    before.contains(&b.mac),
                    "trial {trial}: the client left b before the heal: {before}"
                );
                isolate("off");
                break now;
            }
            mark = seen.at;
        };
        assert!(
            wait_until(secs(2), ms(5), || db.log_time_after("(VI_1) Entering BACKUP STATE", heal).is_some()),
            "trial {trial}: b still master after the heal:\n{}",
            db.log()
        );
        let took = db.log_time_after("(VI_1) Entering BACKUP STATE", heal).unwrap() - heal;
        let first = sniffer.seen().into_iter().find(|s| s.at > heal && (s.src == a.ip4 || s.src == b.ip4));
        assert_eq!(
            first.map(|s| s.src),
            Some(other),
            "trial {trial} ({order:?}): the wrong advert crossed first"
        );

        assert!(took <= ms(1100), "trial {trial}: two masters for {took:?} after the heal (advert_int 1 s)");
        assert!(wait_until(secs(1), ms(10), || !b.has_addr(&vip)), "trial {trial}: b kept the VIP");
        assert!(
            wait_until(secs(2), ms(10), || neigh(&client, vip).contains(&a.mac)),
            "trial {trial} ({order:?}): no gratuitous ARP from a reached the client: {}",
            neigh(&client, vip)
        );
        assert!(probe.wait_answers(100, secs(3)), "trial {trial}: the VIP stopped answering");
        let report = probe.report();
        let lost = report.lost_between(heal, Instant::now() - ms(300));
        eprintln!(
            "trial {trial} ({order:?}): b back to BACKUP after {took:?}, {lost} probes lost after the heal"
        );
        assert!(lost < 20, "trial {trial} ({order:?}): {lost} probes lost after the heal");
        assert!(a.has_addr(&vip), "trial {trial}: the remaining master lost the VIP");
        assert_eq!(da.log_count("Entering BACKUP STATE"), a_backups, "a stepped down:\n{}", da.log());
    }
}

/// Raw IPv4 sender (IP_HDRINCL) inside the calling thread's namespace.
struct RawSender {
    fd: i32,
}

impl RawSender {
    fn new() -> RawSender {
        // SAFETY: plain socket call; the fd is closed on drop.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        RawSender { fd }
    }

    fn send(&self, datagram: &[u8], dst: Ipv4Addr) -> bool {
        // SAFETY: sockaddr_in is plain data; buffers outlive the call.
        unsafe {
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
            let n = libc::sendto(
                self.fd,
                datagram.as_ptr().cast(),
                datagram.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            );
            n == datagram.len() as isize
        }
    }
}

impl Drop for RawSender {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.fd) };
    }
}

/// IPv4 header (kernel fills length, id and checksum) + VRRP bytes.
fn datagram(src: Ipv4Addr, ttl: u8, vrrp: &[u8]) -> Vec<u8> {
    let dst = Ipv4Addr::new(224, 0, 0, 18);
    let mut d = vec![0x45, 0, 0, 0, 0, 0, 0, 0, ttl, 112, 0, 0];
    d.extend(src.octets());
    d.extend(dst.octets());
    d.extend(vrrp);
    d
}

/// The malformed kinds sent by the flood and the counter each must land in.
fn malformed_kinds(src: Ipv4Addr, vip: IpAddr) -> Vec<(&'static str, Vec<u8>)> {
    let advert = |vrid: u8, pass: &str| {
        let mut data = [0u8; 8];
        data.iter_mut().zip(pass.bytes()).for_each(|(d, s)| *d = s);
        // Priority 254: had any of these been accepted, the master would step down.
        let a = Advert {
            version: Version::V2,
            vrid,
            priority: 254,
            addrs: vec![vip],
            auth_type: 1,
            auth_data: data,
            interval_cs: 100,
            checksum: 0,
        };
        a.to_bytes(ChecksumForm::Plain).expect("emit advert")
    };
    let good = advert(51, PASS);
    let mut bad_sum = good.clone();
    bad_sum[6] ^= 0x5a;
    let mut v3 = good.clone();
    v3[0] = 0x31;
    vec![
        ("AuthMismatch", datagram(src, 255, &advert(51, "wrong"))),
        ("BadTtl", datagram(src, 64, &good)),
        ("BadChecksum", datagram(src, 255, &bad_sum)),
        ("BadVersion", datagram(src, 255, &v3)),
        ("BadLength", datagram(src, 255, &good[..12])),
        ("unknown_vrid", datagram(src, 255, &advert(52, PASS))),
    ]
}

/// 10,000 malformed adverts per second for 5 s from a third host: the
/// master stays master, its VRRP child uses well under half a core, and
/// every packet the kernel delivered is counted under its own reason.
#[test]
fn malformed_flood_is_counted_and_cheap() {
    let lan = Lan::new();
    let (a, c) = (lan.add_host("a"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let da = Daemon::start(&a, &vigil_bin(), &instance(150, vip, ""), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)));
    let child = da.pid_from_file("v.pid").expect("VRRP child pid");
    let kinds = malformed_kinds(c.ip4, vip);
    let before = counters(&da);
    let (masters, backups) = (da.log_count("Entering MASTER STATE"), da.log_count("Entering BACKUP STATE"));
    let cpu0 = cpu_seconds(child);
    let t0 = Instant::now();

    const RATE: u64 = 10_000;
    const SECS: u64 = 5;
    let sent: Vec<u64> = c.enter(|| {
        let tx = RawSender::new();
        let mut sent = vec![0u64; kinds.len()];
        let start = Instant::now();
        let mut n = 0u64;
        while n < RATE * SECS {
            // 10 packets per millisecond, paced against the clock.
            let due = start + Duration::from_micros(n * 1_000_000 / RATE);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for _ in 0..10 {
                let k = (n % kinds.len() as u64) as usize;
                if tx.send(&kinds[k].1, Ipv4Addr::new(224, 0, 0, 18)) {
                    sent[k] += 1;
                }
                n += 1;
            }
        }
        sent
    });
    let wall = t0.elapsed();
    std::thread::sleep(ms(300));
    let cpu = cpu_seconds(child) - cpu0;
    let after = counters(&da);

    let total: u64 = sent.iter().sum();
    eprintln!(
        "flood: {total} packets in {wall:?} ({:.0}/s); VRRP child CPU {cpu:.2} s ({:.1}% of one core)",
        total as f64 / wall.as_secs_f64(),
        100.0 * cpu / wall.as_secs_f64()
    );
    assert!(total >= RATE * SECS * 99 / 100, "sender managed only {total}");
    assert!(wall < secs(7), "sending took {wall:?}");
    for ((name, _), &n) in kinds.iter().zip(&sent) {
        let got = count(&after, name) - count(&before, name);
        eprintln!("  {name:<13} sent {n:>6}  counted {got:>6}");
        assert!(got as u64 <= n, "{name}: counted {got} of {n} sent: something else landed here");
        assert!(got as u64 * 10 >= n * 9, "{name}: counted only {got} of {n}");
    }
    for (name, v) in &after {
        let sent_here = kinds.iter().any(|(k, _)| k == name);
        if !sent_here && name != "rx" && name != "tx" {
            assert_eq!(*v, count(&before, name), "{name} moved though none was sent");
        }
    }
    assert_eq!(count(&after, "rx"), count(&before, "rx"), "a malformed advert was accepted");
    assert!(count(&after, "tx") > count(&before, "tx"), "the master stopped advertising");
    assert!(cpu < 0.5 * wall.as_secs_f64(), "VRRP child used {cpu:.2} s of CPU in {wall:?}");
    assert_eq!(da.log_count("Entering MASTER STATE"), masters, "state changed:\n{}", da.log());
    assert_eq!(da.log_count("Entering BACKUP STATE"), backups, "master stepped down:\n{}", da.log());
    assert!(a.has_addr(&vip));
}

/// A notify_master script that never exits: the instance keeps working
/// (it steps down and takes over again on time), the runner's timeout
/// kills the stuck script, and the notifications queued behind it run.
#[test]
fn stuck_notify_script_does_not_stop_the_instance() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let dir = TempDir::new("notify");
    let marks = dir.path().join("marks");
    let stuck = dir.path().join("stuck.sh");
    let backup = dir.path().join("backup.sh");
    std::fs::write(
        &stuck,
        format!("#!/bin/sh\necho \"master $$\" >> {}\nexec sleep 1000\n", marks.display()),
    )
    .unwrap();
    std::fs::write(&backup, format!("#!/bin/sh\necho backup >> {}\n", marks.display())).unwrap();
    for f in [&stuck, &backup] {
        std::process::Command::new("chmod").args(["755", f.to_str().unwrap()]).status().unwrap();
    }
    let read_marks = || std::fs::read_to_string(&marks).unwrap_or_default();
    let backups = || read_marks().lines().filter(|l| *l == "backup").count();
    let notify =
        format!("    notify_master \"{}\"\n    notify_backup \"{}\"\n", stuck.display(), backup.display());
    let conf = instance(100, vip, &notify);

    let da = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)));
    assert!(wait_until(secs(3), ms(20), || read_marks().contains("master")), "notify_master did not run");
    let marks_now = read_marks();
    let master_line = marks_now.lines().find(|l| l.starts_with("master ")).unwrap();
    let stuck_pid: u32 = master_line["master ".len()..].parse().unwrap();
    assert!(pid_alive(stuck_pid));
    // Startup entered BACKUP first; that notify ran before the stuck one.
    let backups_before = backups();

    // A higher-priority router arrives: a must step down at once, stuck script or not.
    let t0 = Instant::now();
    let mut db = Daemon::start(&b, &vigil_bin(), &instance(200, vip, ""), &["-P"]);
    let stepped_down = || da.log_time_after("(VI_1) Entering BACKUP STATE", t0).is_some();
    assert!(wait_until(secs(8), ms(20), stepped_down), "a did not step down:\n{}", da.log());
    assert!(wait_until(secs(2), ms(20), || !a.has_addr(&vip)), "a kept the VIP");
    assert!(db.wait_log("(VI_1) Entering MASTER STATE", secs(1)));

    // The backup notify is queued behind the stuck one until its timeout (30 s) kills it.
    assert!(
        wait_until(secs(40), ms(100), || backups() > backups_before),
        "notify_backup never ran:\n{}",
        da.log()
    );
    eprintln!("notify_backup ran {:?} after b started (the stuck script was killed at 30 s)", t0.elapsed());
    assert!(!pid_alive(stuck_pid), "stuck notify script {stuck_pid} still running");

    // And the instance still takes over when the other router leaves.
    db.stop();
    let t1 = Instant::now();
    assert!(
        wait_until(secs(5), ms(20), || da.log_time_after("(VI_1) Entering MASTER STATE", t1).is_some()),
        "a did not take over again:\n{}",
        da.log()
    );
    assert!(wait_until(secs(3), ms(20), || read_marks().matches("master").count() == 2), "{}", read_marks());
    assert!(a.has_addr(&vip));
}

/// A VIP the kernel refuses (IPv6 is disabled on a's eth0, so the excluded
/// IPv6 VIP cannot be added): vigil retries it with backoff, then puts the
/// instance in FAULT with a log line naming the address and the kernel's
/// reason, and the backup takes over. Once IPv6 is back and the interface
/// changes, a tries again, holds every VIP and preempts.
#[test]
fn a_refused_vip_is_retried_then_faults_the_instance() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let vip6: IpAddr = lan.v6(100).into();
    let extra = format!("    virtual_ipaddress_excluded {{\n        {vip6}/64\n    }}\n");
    a.sysctl(&["net.ipv6.conf.eth0.disable_ipv6=1"]);

    let t0 = Instant::now();
    let da = Daemon::start(&a, &vigil_bin(), &instance(150, vip, &extra), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let gave_up = "gave up after 3 retries, entering FAULT";
    assert!(da.wait_log(gave_up, secs(5)), "no FAULT after the retries:\n{}", da.log());
    let log = da.log();
    let refused = format!("(VI_1) cannot add VIP {vip6}/64 on eth0:");
    assert_eq!(log.matches(&refused).count(), 4, "the add and three retries:\n{log}");
    assert!(log.contains("retry 3 of 3 in 800 ms"), "backoff 200, 400, 800 ms:\n{log}");
    let line = log.lines().find(|l| l.contains(gave_up)).unwrap();
    assert!(line.contains(&refused) && line.contains("disabled"), "which address and why: {line}");
    // The state change is logged just after the line that gives up.
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(2)), "a did not enter FAULT:\n{}", da.log());
    let master = da.log_time("Entering MASTER STATE").unwrap();
    let fault = da.log_time("Entering FAULT STATE").expect("a entered FAULT");
    let took = fault.saturating_duration_since(master);
    eprintln!("refused VIP: FAULT {took:?} after MASTER ({:?} after start)", t0.elapsed());
    assert!(took >= ms(1350) && took < secs(3), "200 + 400 + 800 ms of retries, took {took:?}");
    assert!(wait_until(secs(2), ms(20), || !a.has_addr(&vip)), "a in FAULT kept its IPv4 VIP");
    let s = da.status();
    let vip_fault = find(&s, "vip_fault").and_then(|i| i.get("vip_fault")).and_then(Json::as_str);
    assert!(vip_fault.is_some_and(|f| f.contains(&vip6.to_string())), "status: {s}");

    let db = Daemon::start(&b, &vigil_bin(), &instance(100, vip, &extra), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", db.log());
    assert!(wait_until(secs(2), ms(20), || b.has_addr(&vip) && b.has_addr(&vip6)));

    a.sysctl(&["net.ipv6.conf.eth0.disable_ipv6=0"]);
    a.link_set("eth0", false);
    a.link_set("eth0", true);
    assert!(da.wait_log("leaving the FAULT of refused VIPs", secs(3)), "{}", da.log());
    let t1 = Instant::now();
    let back = || da.log_time_after("(VI_1) Entering MASTER STATE", t1).is_some();
    assert!(wait_until(secs(10), ms(20), back), "a did not preempt again:\n{}", da.log());
    assert!(wait_until(secs(2), ms(20), || a.has_addr(&vip) && a.has_addr(&vip6)), "{:?}", a.addrs());
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());
}

/// A local user's traps at the dump paths (keepalived's names in a sticky, world-writable
/// directory, as /tmp is): a FIFO of theirs must not stall the VRRP child on SIGUSR1, and a
/// hard link to a root file at the path must not have that file overwritten.
#[test]
fn dump_files_never_block_or_follow() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let d = Daemon::start(&a, &vigil_bin(), &instance(150, vip, ""), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)));
    let dir = d.dir().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let data = dir.join("keepalived.data");

    // The FIFO belongs to "nobody". Nothing opens it: the dump is a new file renamed over it
    // (root may rename over another user's name in a sticky directory).
    let c_path = std::ffi::CString::new(data.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o666) }, 0, "mkfifo");
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::chown(c_path.as_ptr(), 65534, 65534) }, 0, "chown");
    let tx_before = count(&counters(&d), "tx");
    let wrote = || d.log_count(&format!("Wrote {}", data.display()));
    d.signal(libc::SIGUSR1);
    assert!(wait_until(secs(3), ms(10), || wrote() == 1), "no dump written:\n{}", d.log());
    assert!(
        wait_until(secs(3), ms(50), || count(&counters(&d), "tx") >= tx_before + 2),
        "the VRRP child stopped advertising"
    );
    let meta = std::fs::symlink_metadata(&data).unwrap();
    assert!(meta.file_type().is_file() && meta.uid() == 0 && meta.mode() & 0o777 == 0o600, "{meta:?}");
    assert_eq!(d.log_count("Entering BACKUP STATE"), 1, "{}", d.log());

    // A hard link to a root-owned file: the dump replaces the name, not the file.
    std::fs::remove_file(&data).unwrap();
    let victim = d.dir().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::hard_link(&victim, &data).unwrap();
    d.signal(libc::SIGUSR1);
    assert!(wait_until(secs(3), ms(10), || wrote() == 2), "no dump written:\n{}", d.log());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n", "the linked file was overwritten");
    let dump = std::fs::read_to_string(&data).unwrap();
    assert!(dump.contains("VI_1"), "{dump}");
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().ends_with(".tmp")), "{leftovers:?}");
}

/// (policy, rt_priority) of a process from /proc/PID/stat: 0 SCHED_OTHER, 2 SCHED_RR.
fn sched_of(pid: u32) -> (u32, u32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest: Vec<&str> = stat.rsplit_once(')').expect("comm").1.split_whitespace().collect();
    (rest[41 - 3].parse().unwrap(), rest[40 - 3].parse().unwrap())
}

fn instance_v3(prio: u8, vip: IpAddr) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         version 3\n    priority {prio}\n    advert_int 0.01\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

/// An integer field of VI_1 from `vigil status --json`, asked the way a
/// monitoring system would: the control socket is a file, no namespace needed.
fn field(d: &Daemon, key: &str) -> i64 {
    let out = std::process::Command::new(vigil_bin())
        .args(["status", "--json"])
        .env("VIGIL_RUN_DIR", d.run_dir())
        .output()
        .expect("run vigil status");
    assert!(out.status.success(), "vigil status failed: {}", String::from_utf8_lossy(&out.stderr));
    let s = Json::parse(String::from_utf8_lossy(&out.stdout).trim()).expect("status --json parses");
    let inst = find(&s, "advert_late_max_us").unwrap_or_else(|| panic!("no advert lateness in status: {s}"));
    inst.get(key).and_then(Json::as_i64).unwrap_or_else(|| panic!("no {key} in {inst}"))
}

/// VI_1 at 10 ms adverts (VRRPv3): `a` elected master at 150, then `b` its
/// backup at 100, hearing the master's adverts.
fn pair_at_10ms(a: &Netns, b: &Netns, vip: IpAddr) -> (Daemon, Daemon) {
    let da = Daemon::start(a, &vigil_bin(), &instance_v3(150, vip), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(5)), "{}", da.log());
    let db = Daemon::start(b, &vigil_bin(), &instance_v3(100, vip), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());
    assert!(wait_until(secs(3), ms(20), || field(&db, "rx") >= 50), "the backup hears no adverts");
    (da, db)
}

/// A pair at 10 ms adverts while every core is busy for 10 s: two busy-loop
/// processes per core and a writer that writes and fsyncs 64 MiB files, all
/// SCHED_OTHER, while `vigil status` is asked every 100 ms. The backup never
/// takes over and the master never steps down; `vigil status` reports how
/// late the periodic adverts left. Asking for status was what made adverts
/// 20-25 ms late, when the control socket still blocked the loop.
///
/// How late (the 5 ms target) is a figure, not a pass/fail line here: it
/// depends on the kernel and on what else the machine runs, so `make bench`
/// measures it next to keepalived (see below for why preempt=none matters).
///
/// The writer writes 4 KiB at a time. On a kernel that runs preempt=none,
/// a write(2) copies into the page cache without a preemption point inside
/// one folio, and ext4 (since Linux 6.16) makes a folio as large as the
/// write: a process writing 1 MiB at a time holds its CPU for 3 to 15 ms
/// on the 2-core VM this was measured on, and no realtime priority gets it
/// back (a bare SCHED_RR timer loop in C is as late as vigil then). Other
/// builds on the machine that write big files can do the same.
#[test]
fn busy_machine_keeps_10ms_adverts_on_time() {
    let _serial = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    const LOAD: Duration = Duration::from_secs(10);
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let (da, db) = pair_at_10ms(&a, &b, lan.v4(100).into());
    for d in [&da, &db] {
        let child = d.pid_from_file("v.pid").expect("VRRP child pid");
        assert_eq!(sched_of(child), (2, 1), "the VRRP child runs SCHED_RR 1:\n{}", d.log());
    }
    let (masters, backups) = (da.log_count("Entering MASTER STATE"), da.log_count("Entering BACKUP STATE"));
    // STATS_CLEAR (which the parent passes on to the VRRP child) starts the
    // figures afresh, so that they cover the load.
    let total = field(&da, "tx");
    da.signal(libc::SIGRTMAX() - 1);
    assert!(wait_until(secs(3), ms(20), || field(&da, "tx") < total), "counters not cleared");
    let tx0 = field(&da, "tx");

    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = TempDir::new("load");
    let rounds = dir.path().join("rounds");
    let mut load: Vec<ProcGuard> = (0..2 * cores)
        .map(|_| ProcGuard::spawn(std::process::Command::new("sh").args(["-c", "while :; do :; done"])))
        .collect();
    // Bounded on its own as well: at most 400 files of 64 MiB.
    let writer = format!(
        "i=0; while [ $i -lt 400 ]; do dd if=/dev/zero of={} bs=4k count=16384 conv=fsync status=none; \
         echo $i >> {}; i=$((i+1)); done",
        dir.path().join("fill").display(),
        rounds.display()
    );
    load.push(ProcGuard::spawn(std::process::Command::new("sh").args(["-c", &writer])));
    for p in &load {
        assert_eq!(sched_of(p.pid()).0, 0, "load process {} must not be realtime", p.pid());
    }
    // A monitoring system asks for status meanwhile: answering it must not hold the adverts.
    let t0 = Instant::now();
    let mut polls = 0;
    while t0.elapsed() < LOAD {
        assert!(field(&da, "tx") >= tx0);
        polls += 1;
        std::thread::sleep(ms(100));
    }
    for p in &mut load {
        p.kill9();
    }
    let loaded = t0.elapsed();
    let files = std::fs::read_to_string(&rounds).map(|s| s.lines().count()).unwrap_or(0);
    drop(dir);

    let tx = field(&da, "tx") - tx0;
    let (worst, mean, late) =
        (field(&da, "advert_late_max_us"), field(&da, "advert_late_mean_us"), field(&da, "adverts_late"));
    eprintln!(
        "{} busy loops, {files} x 64 MiB written and fsynced, {polls} status queries in {loaded:?}: \
         master sent {tx} adverts; lateness worst {worst} us, mean {mean} us, {late} later than 2.5 ms",
        2 * cores
    );
    assert!(files >= 1, "the writer did not finish one file");
    assert!(tx >= 800, "only {tx} adverts in {loaded:?}");
    assert!(worst > 0 && mean > 0, "no lateness measured at all");
    assert_eq!(db.log_count("Entering MASTER STATE"), 0, "the backup took over:\n{}", db.log());
    assert_eq!(da.log_count("Entering MASTER STATE"), masters, "{}", da.log());
    assert_eq!(da.log_count("Entering BACKUP STATE"), backups, "the master stepped down:\n{}", da.log());
}

/// Control clients that connect and stall, for 10 s, at a master sending
/// adverts every 10 ms: every client slot held by one that says nothing,
/// one that sends half a request, and one that asks for status and never
/// reads, each reconnecting as soon as the VRRP child drops it at its
/// deadline; more knock and are turned away. The backup never takes over,
/// no advert leaves as late as the Master_Down margin, and `vigil status`
/// answers once the clients let go; the worst lateness is printed.
#[test]
fn stalled_control_clients_never_delay_adverts() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    const STALL: Duration = Duration::from_secs(10);
    let _serial = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let (da, db) = pair_at_10ms(&a, &b, lan.v4(100).into());
    let total = field(&da, "tx");
    da.signal(libc::SIGRTMAX() - 1);
    assert!(wait_until(secs(3), ms(20), || field(&da, "tx") < total), "counters not cleared");
    let tx0 = field(&da, "tx");
    let (masters, backups) = (da.log_count("Entering MASTER STATE"), da.log_count("Entering BACKUP STATE"));
    let takeovers = db.log_count("Entering MASTER STATE");

    let ctl = da.run_dir().join("vrrp.ctl");
    let stop = Arc::new(AtomicBool::new(false));
    let (connects, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..12)
        .map(|i| {
            let (ctl, stop, connects, dropped) =
                (ctl.clone(), stop.clone(), connects.clone(), dropped.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut s) = UnixStream::connect(&ctl) else { continue };
                    connects.fetch_add(1, Ordering::Relaxed);
                    match i % 3 {
                        0 => {}
                        1 => {
                            let _ = s.write_all(b"sta");
                        }
                        _ => {
                            let _ = s.write_all(b"status\n");
                        }
                    }
                    if i % 3 == 2 {
                        // Never read the reply: wait until the child gives up on us.
                        let _ = s.shutdown(std::net::Shutdown::Write);
                        std::thread::park_timeout(Duration::from_millis(1500));
                    } else {
                        // Blocks until the child drops the client (EOF).
                        let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
                        let mut buf = [0u8; 64];
                        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
                    }
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    assert!(!wait_until(STALL, ms(100), || !da.is_running()), "the daemon died:\n{}", da.log());
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client thread");
    }
    let stalled = t0.elapsed();

    let tx = field(&da, "tx") - tx0;
    let (worst, mean) = (field(&da, "advert_late_max_us"), field(&da, "advert_late_mean_us"));
    let (connects, dropped) = (connects.load(Ordering::Relaxed), dropped.load(Ordering::Relaxed));
    eprintln!(
        "{connects} stalled connections in {stalled:?}: master sent {tx} adverts; \
         lateness worst {worst} us, mean {mean} us"
    );
    assert!(connects >= 12 && dropped >= 12, "the clients never held the socket: {connects} connects");
    assert!(tx as f64 >= 0.9 * stalled.as_secs_f64() * 100.0, "only {tx} adverts in {stalled:?}");
    // The 2 ms target is a figure, not a pass/fail line (it depends on what
    // else the machine runs; see busy_machine_keeps_10ms_adverts_on_time):
    // here an advert must never be so late that the backup could take over.
    assert!(worst < 30_000, "an advert left {worst} us late while control clients stalled");
    assert_eq!(db.log_count("Entering MASTER STATE"), takeovers, "the backup took over:\n{}", db.log());
    assert_eq!(da.log_count("Entering MASTER STATE"), masters, "{}", da.log());
    assert_eq!(da.log_count("Entering BACKUP STATE"), backups, "the master stepped down:\n{}", da.log());
}
