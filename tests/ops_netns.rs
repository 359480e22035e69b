//! Operations on a running pair: the watchdog restarting a killed VRRP
//! child, SIGHUP reloads that must not disturb the wire, SIGTERM leaving
//! cleanly, and `vigil status`.

mod common;

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use common::*;
use vigil::runtime::Json;

fn instance(name: &str, vrid: u8, prio: u8, vip: IpAddr) -> String {
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

/// VI_1 (VRID 51) on `a` at priority 150, elected master, then on `b` at
/// 100 as its backup.
fn master_and_backup(a: &Netns, b: &Netns, vip: IpAddr) -> (Daemon, Daemon) {
    let da = Daemon::start(a, &vigil_bin(), &instance("VI_1", 51, 150, vip), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)));
    let db = Daemon::start(b, &vigil_bin(), &instance("VI_1", 51, 100, vip), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    (da, db)
}

fn vigil_status(host: &Netns, d: &Daemon, json: bool) -> String {
    let run_dir = d.dir().join("run");
    let bin = vigil_bin();
    let mut args = vec![bin.to_str().unwrap(), "status"];
    if json {
        args.push("--json");
    }
    let out = host.command(&args).env("VIGIL_RUN_DIR", &run_dir).output().expect("run vigil status");
    assert!(out.status.success(), "vigil status failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A master whose VRRP child is killed with SIGKILL, 20 times at random points of the advert
/// cycle (advert 1 s), priorities 100/90: the parent restarts the child at once and the new
/// child resumes MASTER from its predecessor's state file (an advert at once, VIPs left in
/// place). A client probing the VIP every 10 ms loses nothing, the backup never becomes master
/// (not in its log, not one advert from it on the wire) and the master never resigns
/// (no priority-0 advert). With 100/90 a child that started in BACKUP would lose the VIP for
/// ~3.5 s each time, and the backup (Master_Down 3.65 s against 3.61 s) would nearly win.
#[test]
fn killed_vrrp_child_resumes_master_without_losing_a_probe() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    // keepalived's respawn rate limit would delay a child that ran less than a minute by
    // 1, 2, 4... s (longer than Master_Down, so the backup would rightly take over): runs of
    // more than 0.1 s count as healthy here.
    let da = Daemon::start_env(
        &a,
        &vigil_bin(),
        &instance("VI_1", 51, 100, vip),
        &["-P"],
        &[("VIGIL_STABLE_RUN_MS", "100")],
    );
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)));
    let db = Daemon::start(&b, &vigil_bin(), &instance("VI_1", 51, 90, vip), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    let sniffer = AdvertSniffer::start(&c, "eth0");
    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(20, secs(3)));
    let t_start = Instant::now();
    // A small LCG seeded by the clock: random points of the 1 s advert cycle (seed printed).
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut seed = clock.as_nanos() as u64 ^ u64::from(std::process::id());
    println!("kill schedule seed {seed}");
    let mut next_delay = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ms((seed >> 33) % 1000)
    };
    for round in 1..=20 {
        // At least 0.1 s of run (see above), then a random point of the 1 s advert cycle.
        std::thread::sleep(ms(150) + next_delay());
        let child = da.pid_from_file("v.pid").expect("VRRP child pid file");
        // SAFETY: kill(2) of the daemon's child, pid from its pid file.
        unsafe { libc::kill(child as i32, libc::SIGKILL) };
        let back = wait_until(secs(3), ms(5), || {
            da.pid_from_file("v.pid").is_some_and(|p| p != child && pid_alive(p))
                && da.log_count("resuming MASTER state of the previous VRRP child") >= round
        });
        assert!(back, "round {round}: the new child did not resume MASTER:\n{}", da.log());
    }
    // The backup's child killed too: it starts as a backup again and keeps following the master.
    for round in 1..=3 {
        let child = db.pid_from_file("v.pid").expect("backup's VRRP child pid file");
        // SAFETY: kill(2) of the backup daemon's child, pid from its pid file.
        unsafe { libc::kill(child as i32, libc::SIGKILL) };
        let back = wait_until(secs(8), ms(5), || {
            db.pid_from_file("v.pid").is_some_and(|p| p != child && pid_alive(p))
                && db.log_count("(VI_1) Entering BACKUP STATE") > round
        });
        assert!(back, "backup round {round}: no new child in BACKUP:\n{}", db.log());
    }
    // One more advert interval on the wire after the last restart.
    std::thread::sleep(ms(1200));
    let report = probe.stop();
    assert_eq!(da.log_count("Entering MASTER STATE"), 21, "{}", da.log());
    assert_eq!(da.log_count("Entering BACKUP STATE"), 1, "a new child started in BACKUP:\n{}", da.log());
    assert_eq!(da.log_count("removing VIPs"), 1, "{}", da.log());
    assert_eq!(db.log_count("Entering MASTER STATE"), 0, "backup took over:\n{}", db.log());
    assert!(sniffer.adverts_after(b.ip4, t_start).is_empty(), "the backup sent adverts");
    let ours = sniffer.adverts_after(a.ip4, t_start);
    assert!(ours.len() >= 20, "only {} adverts from the master", ours.len());
    assert!(ours.iter().all(|ad| ad.priority == 100), "the master resigned or changed priority");
    assert_eq!(report.lost(), 0, "probes lost across 20 kills (longest gap {:?})", report.longest_gap());
    assert!(report.sent() > 1000, "only {} probes sent", report.sent());
    println!(
        "20 kills in {:?}: {} probes, 0 lost, longest gap {:?}, max rtt {:?}",
        t_start.elapsed(),
        report.sent(),
        report.longest_gap(),
        report.max_rtt()
    );
    assert!(a.has_addr(&vip) && !b.has_addr(&vip));
}

/// A killed child whose VIPs were removed meanwhile (so it may have been leaving MASTER)
/// does not resume: it starts normally, in BACKUP, and wins back by election.
#[test]
fn killed_vrrp_child_without_its_vips_starts_normally() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let (da, db) = master_and_backup(&a, &b, vip);
    let child = da.pid_from_file("v.pid").expect("VRRP child pid file");
    // Frozen, the child cannot see its VIP go; then it dies.
    // SAFETY: kill(2) of the daemon's child, pid from its pid file.
    unsafe { libc::kill(child as i32, libc::SIGSTOP) };
    a.ip(&["addr", "del", &format!("{vip}/24"), "dev", "eth0"]);
    // SAFETY: as above.
    unsafe { libc::kill(child as i32, libc::SIGKILL) };
    assert!(wait_until(secs(3), ms(20), || da.log_count("are gone - normal start") == 1), "{}", da.log());
    assert!(da.wait_log("(VI_1) Entering BACKUP STATE (init)", secs(1)));
    assert_eq!(da.log_count("resuming MASTER state"), 0, "{}", da.log());
    assert!(wait_until(secs(6), ms(20), || da.log_count("Entering MASTER STATE") == 2), "{}", da.log());
    assert!(wait_until(secs(2), ms(20), || a.has_addr(&vip)));
    assert_eq!(db.log_count("(VI_1) Entering MASTER STATE"), 0, "{}", db.log());
}

/// 100 SIGHUPs in 10 s while a client probes the VIP every 10 ms: not one
/// probe lost, no state change.
#[test]
fn hundred_reloads_lose_nothing() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let (da, db) = master_and_backup(&a, &b, vip);
    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(20, secs(3)));
    let masters = da.log_count("Entering MASTER STATE");
    let backups = da.log_count("Entering BACKUP STATE");
    for _ in 0..100 {
        da.signal(libc::SIGHUP);
        std::thread::sleep(ms(100));
    }
    assert!(wait_until(secs(3), ms(20), || da.log_count("Reload complete") >= 1));
    std::thread::sleep(ms(300));
    let report = probe.stop();
    assert_eq!(report.lost(), 0, "probes lost during reloads (longest gap {:?})", report.longest_gap());
    assert!(report.sent() > 900, "only {} probes sent", report.sent());
    assert_eq!(da.log_count("Entering MASTER STATE"), masters, "state changed:\n{}", da.log());
    assert_eq!(da.log_count("Entering BACKUP STATE"), backups, "master stepped down:\n{}", da.log());
    assert_eq!(db.log_count("Entering MASTER STATE"), 0, "backup took over:\n{}", db.log());
    assert_eq!(da.log_count("Reload failed"), 0, "{}", da.log());
}

/// A reload that removes one instance and adds another: both happen, and the
/// untouched instance's VIP never stops answering.
#[test]
fn reload_adds_and_removes_instances_without_touching_the_rest() {
    let lan = Lan::new();
    let (a, c) = (lan.add_host("a"), lan.add_host("c"));
    let (keep, gone, added): (IpAddr, IpAddr, IpAddr) =
        (lan.v4(100).into(), lan.v4(101).into(), lan.v4(102).into());
    let conf1 = format!("{}{}", instance("KEEP", 61, 150, keep), instance("GONE", 62, 150, gone));
    let da = Daemon::start(&a, &vigil_bin(), &conf1, &["-P"]);
    assert!(da.wait_log("(KEEP) Entering MASTER STATE", secs(8)));
    assert!(da.wait_log("(GONE) Entering MASTER STATE", secs(2)));
    assert!(a.has_addr(&gone));
    let probe = Prober::start(&c, keep);
    assert!(probe.wait_answers(20, secs(3)));

    // Shift every line, drop GONE, add ADDED.
    let conf2 =
        format!("! reloaded\n\n{}{}", instance("KEEP", 61, 150, keep), instance("ADDED", 63, 150, added));
    std::fs::write(da.dir().join("keepalived.conf"), conf2).unwrap();
    da.signal(libc::SIGHUP);
    assert!(da.wait_log("(GONE) removed on reload", secs(3)), "{}", da.log());
    assert!(wait_until(secs(2), ms(20), || !a.has_addr(&gone)), "removed instance left its VIP");
    assert!(da.wait_log("(ADDED) Entering MASTER STATE", secs(8)), "{}", da.log());
    assert!(a.has_addr(&added));
    let report = probe.stop();
    assert_eq!(report.lost(), 0, "KEEP's VIP dropped (longest gap {:?})", report.longest_gap());
    assert_eq!(da.log_count("(KEEP) Entering MASTER STATE"), 1);
    assert!(a.has_addr(&keep));
}

/// SIGTERM: within 1 s the daemon is gone with its VIP and pid files, and
/// the backup takes over after its skew time (0.61 s for priority 100), not
/// the master-down interval.
#[test]
fn sigterm_leaves_cleanly_and_fast() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let (mut da, db) = master_and_backup(&a, &b, vip);
    let pids = ["k.pid", "v.pid"].map(|f| da.pid_file(f));
    assert!(pids.iter().all(|p| p.exists()));

    let t0 = Instant::now();
    da.signal(libc::SIGTERM);
    assert!(wait_until(secs(1), ms(5), || !da.is_running()), "still running 1 s after SIGTERM");
    assert!(t0.elapsed() < secs(1));
    assert!(!a.has_addr(&vip), "VIP left behind");
    assert!(pids.iter().all(|p| !p.exists()), "pid files left behind");
    assert!(da.log().contains("(VI_1) sent 0 priority"));
    assert!(wait_until(secs(3), ms(5), || db.log_time_after("(VI_1) Entering MASTER STATE", t0).is_some()));
    let took = db.log_time_after("(VI_1) Entering MASTER STATE", t0).unwrap() - t0;
    assert!(took < ms(1500), "backup took {took:?}: priority 0 should cut the wait to the skew time");
    da.stop();
}

/// `vigil status` and `--json` show what the test saw.
#[test]
fn status_reports_states() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let (da, db) = master_and_backup(&a, &b, vip);
    std::thread::sleep(ms(1200));

    let json = vigil_status(&a, &da, true);
    let v = vigil::runtime::Json::parse(json.trim()).expect("status --json parses");
    let text = v.to_string();
    assert!(text.contains("\"name\":\"VI_1\""), "{text}");
    assert!(text.contains("\"state\":\"MASTER\""), "{text}");
    let jb = vigil_status(&b, &db, true);
    assert!(jb.contains("\"state\":\"BACKUP\""), "{jb}");
    assert!(jb.contains(&format!("\"master\":\"{}\"", a.ip4)), "backup should know the master: {jb}");
    let table = vigil_status(&a, &da, false);
    assert!(table.contains("VI_1") && table.contains("MASTER"), "{table}");
}

/// A stopped checker child stops answering the watchdog's hellos: the
/// parent kills and replaces it, and waking the old one up does not leave
/// two checkers running.
#[test]
fn stopped_checker_child_is_replaced() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let conf = format!(
        "virtual_server {} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server {} 80 {{\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n}}\n",
        lan.v4(80),
        lan.v4(1)
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    assert!(wait_until(secs(5), ms(20), || d.pid_from_file("c.pid").is_some_and(pid_alive)), "{}", d.log());
    let old = d.pid_from_file("c.pid").unwrap();
    unsafe { libc::kill(old as i32, libc::SIGSTOP) };
    let replaced =
        wait_until(secs(20), ms(50), || d.pid_from_file("c.pid").is_some_and(|p| p != old && pid_alive(p)));
    assert!(replaced, "checker child not replaced:\n{}", d.log());
    unsafe { libc::kill(old as i32, libc::SIGCONT) };
    std::thread::sleep(ms(300));
    assert!(!pid_alive(old), "the stopped checker came back next to its replacement");
    let children: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|&p| parent_of(p) == Some(d.pid()))
        .collect();
    assert_eq!(children.len(), 1, "children of the daemon: {children:?}");
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// (policy, rt_priority) of a process from /proc/PID/stat; 1 is SCHED_FIFO,
/// 2 SCHED_RR, 0 SCHED_OTHER.
fn sched_of(pid: u32) -> (u32, u32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest: Vec<&str> = stat.rsplit_once(')').expect("comm").1.split_whitespace().collect();
    (rest[41 - 3].parse().unwrap(), rest[40 - 3].parse().unwrap())
}

/// Sub-second adverts: the VRRP child runs SCHED_RR 1 and a notify script
/// it starts does not (reset on fork); `vrrp_rt_priority 0` turns it off,
/// and an explicit priority is used as given.
#[test]
fn sub_second_adverts_run_the_vrrp_child_realtime() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let dir = std::env::temp_dir().join(format!("vigil-sched-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seen = dir.join("policy");
    let script = dir.join("notify.sh");
    std::fs::write(&script, format!("#!/bin/sh\nawk '{{print $41}}' /proc/$$/stat > {}\n", seen.display()))
        .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let conf = |globals: &str| {
        format!(
            "{globals}vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
             version 3\n    priority 150\n    advert_int 0.05\n    notify_master \"{}\"\n    \
             virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n",
            script.display()
        )
    };

    let d = Daemon::start(&a, &vigil_bin(), &conf(""), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(5)), "{}", d.log());
    let vrrp = d.pid_from_file("v.pid").expect("VRRP child");
    assert_eq!(sched_of(vrrp), (2, 1), "SCHED_RR 1:\n{}", d.log());
    assert_eq!(sched_of(d.pid()), (0, 0), "the parent stays SCHED_OTHER");
    assert!(d.log().contains("realtime scheduling (SCHED_RR 1) for sub-second adverts"), "{}", d.log());
    assert!(wait_until(secs(3), ms(20), || seen.exists()), "notify_master did not run");
    assert!(wait_until(secs(1), ms(20), || std::fs::read_to_string(&seen).is_ok_and(|s| s.trim() == "0")));
    drop(d);

    let d = Daemon::start(&a, &vigil_bin(), &conf("global_defs {\n    vrrp_rt_priority 0\n}\n"), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(5)), "{}", d.log());
    let vrrp = d.pid_from_file("v.pid").expect("VRRP child");
    assert_eq!(sched_of(vrrp), (0, 0));
    // A reload that drops `vrrp_rt_priority 0` makes the running child realtime.
    std::fs::write(d.dir().join("keepalived.conf"), conf("")).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log("Reload complete", secs(5)), "{}", d.log());
    assert_eq!(sched_of(vrrp), (2, 1), "after the reload:\n{}", d.log());
    drop(d);

    let d = Daemon::start(&a, &vigil_bin(), &conf("global_defs {\n    vrrp_rt_priority 20\n}\n"), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(5)), "{}", d.log());
    assert_eq!(sched_of(d.pid_from_file("v.pid").expect("VRRP child")), (2, 20));
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One router of `reload_applies_each_kind_of_change_in_place`.
#[derive(Clone)]
struct Router {
    prio: u8,
    advert_int: u32,
    vips: Vec<IpAddr>,
    /// Lines inside the instance block.
    extra: String,
    /// Blocks before it (vrrp_script).
    prelude: String,
}

impl Router {
    fn conf(&self) -> String {
        let vips: String = self.vips.iter().map(|v| format!("        {v}/24\n")).collect();
        format!(
            "{}vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
             priority {}\n    advert_int {}\n{}    virtual_ipaddress {{\n{vips}    }}\n}}\n",
            self.prelude, self.prio, self.advert_int, self.extra
        )
    }
}

/// Issue 15: a reload for each kind of change an operator makes, on the
/// master of a pair (100 and 90, adverts every second) while a client
/// probes the VIPs every 10 ms. Each is applied in place: not one probe
/// lost on the VIPs the change did not touch, the master stays master with
/// no priority-0 advert, and what changed shows (the priority on the wire,
/// the addresses, the advert spacing). Last, a priority below the peer's:
/// the peer takes over the normal way (it preempts; no priority 0), and the
/// notify_backup path set by the first reload runs.
#[test]
fn reload_applies_each_kind_of_change_in_place() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let (vip1, vip2, vip3): (IpAddr, IpAddr, IpAddr) =
        (lan.v4(100).into(), lan.v4(101).into(), lan.v4(102).into());
    let dir = TempDir::new("reload-kinds");
    let seen = dir.path().join("backup.seen");
    let script = dir.path().join("backup.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" > {}\n", seen.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let mut ra = Router {
        prio: 100,
        advert_int: 1,
        vips: vec![vip1, vip3],
        extra: String::new(),
        prelude: String::new(),
    };
    let mut rb = Router { prio: 90, ..ra.clone() };
    let da = Daemon::start(&a, &vigil_bin(), &ra.conf(), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &rb.conf(), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());
    let sniffer = AdvertSniffer::start(&c, "eth0");
    let probe1 = Prober::start(&c, vip1);
    let probe3 = Prober::start(&c, vip3);
    assert!(probe1.wait_answers(20, secs(3)) && probe3.wait_answers(20, secs(3)));
    let a_ip = a.ip4;

    let reload = |d: &Daemon, r: &Router| {
        let done = d.log_count("Reload complete");
        std::fs::write(d.dir().join("keepalived.conf"), r.conf()).unwrap();
        d.signal(libc::SIGHUP);
        assert!(wait_until(secs(5), ms(10), || d.log_count("Reload complete") > done), "{}", d.log());
    };
    let wire_priority = |prio: u8, after: Instant| {
        wait_until(secs(5), ms(10), || sniffer.adverts_after(a_ip, after).iter().any(|s| s.priority == prio))
    };
    let mut figures = Vec::new();
    let mut step = |what: &str, t0: Instant, probes: &[&Prober]| {
        // A second of probes after the change was seen.
        assert!(probe1.wait_answers(100, secs(3)), "{what}: VIP stopped answering");
        let lost: usize = probes.iter().map(|p| p.report().lost_between(t0, Instant::now())).sum();
        figures.push(format!("{what}: {lost} lost"));
        assert_eq!(lost, 0, "{what}: probes lost on unchanged VIPs\n{}", da.log());
        assert_eq!(da.log_count("Entering MASTER STATE"), 1, "{what}: a changed state\n{}", da.log());
        assert_eq!(da.log_count("Entering BACKUP STATE"), 1, "{what}: a stepped down\n{}", da.log());
        assert_eq!(db.log_count("Entering MASTER STATE"), 0, "{what}: b took over\n{}", db.log());
        assert_eq!(da.log_count("sent 0 priority") + da.log_count("restarted on reload"), 0, "{}", da.log());
    };

    let t0 = Instant::now();
    ra.extra = format!("    notify_backup \"{}\"\n", script.display());
    reload(&da, &ra);
    assert!(da.log().contains("(VI_1) reloaded in place: notify"), "{}", da.log());
    step("notify path", t0, &[&probe1, &probe3]);

    let t0 = Instant::now();
    ra.prelude = "vrrp_script chk {\n    script \"/bin/true\"\n    interval 1\n    weight 2\n}\n".into();
    ra.extra += "    track_script {\n        chk\n    }\n";
    reload(&da, &ra);
    assert!(wire_priority(102, t0), "the script's weight is not on the wire:\n{}", da.log());
    step("track_script added", t0, &[&probe1, &probe3]);

    let t0 = Instant::now();
    ra.extra = ra.extra.replace("        chk\n", "        chk weight 5\n");
    reload(&da, &ra);
    assert!(wire_priority(105, t0), "the new weight is not on the wire:\n{}", da.log());
    step("weight", t0, &[&probe1, &probe3]);

    let t0 = Instant::now();
    ra.prio = 110;
    reload(&da, &ra);
    assert!(wire_priority(115, t0), "the new priority is not on the wire:\n{}", da.log());
    step("priority up", t0, &[&probe1, &probe3]);

    let t0 = Instant::now();
    ra.vips.push(vip2);
    reload(&da, &ra);
    assert!(wait_until(secs(2), ms(10), || a.has_addr(&vip2)), "VIP not added:\n{}", da.log());
    let probe2 = Prober::start(&c, vip2);
    assert!(probe2.wait_answers(10, secs(3)), "the added VIP does not answer");
    step("VIP added", t0, &[&probe1, &probe3]);

    let t0 = Instant::now();
    ra.vips.retain(|v| *v != vip3);
    reload(&da, &ra);
    assert!(wait_until(secs(2), ms(10), || !a.has_addr(&vip3)), "VIP not removed:\n{}", da.log());
    step("VIP removed", t0, &[&probe1, &probe2]);

    // VRRPv2 drops adverts of another interval: both routers change.
    let t0 = Instant::now();
    rb.advert_int = 2;
    ra.advert_int = 2;
    reload(&db, &rb);
    reload(&da, &ra);
    let spaced = wait_until(secs(8), ms(20), || {
        let seen = sniffer.adverts_after(a_ip, t0);
        seen.windows(2).skip(1).any(|w| w[1].at - w[0].at > ms(1800))
    });
    assert!(spaced, "adverts not 2 s apart: {:?}", sniffer.adverts_after(a_ip, t0));
    step("advert_int", t0, &[&probe1, &probe2]);

    // 80 + 5 from the script: below b's 90. b preempts when a's adverts
    // say so; a yields when it hears b.
    let t0 = Instant::now();
    ra.prio = 80;
    reload(&da, &ra);
    assert!(wire_priority(85, t0), "{}", da.log());
    assert!(
        wait_until(secs(10), ms(10), || db.log_time_after("(VI_1) Entering MASTER STATE", t0).is_some()),
        "b did not take over:\n{}",
        db.log()
    );
    assert!(da.wait_log("(VI_1) Master received advert from", secs(3)), "{}", da.log());
    assert!(wait_until(secs(2), ms(10), || b.has_addr(&vip1) && !a.has_addr(&vip1)));
    assert!(wait_until(secs(3), ms(20), || seen.exists()), "the reloaded notify_backup did not run");
    assert!(probe1.wait_answers(100, secs(3)));
    let lost = probe1.report().lost_between(t0, Instant::now());
    figures.push(format!("priority down below the peer (takeover): {lost} lost"));
    assert_eq!(da.log_count("sent 0 priority"), 0, "a resigned instead of yielding:\n{}", da.log());
    eprintln!("probes lost per reload: {}", figures.join("; "));
}

/// `vigil status -i ID -p FILE` (no `VIGIL_RUN_DIR`) for the daemon started with those flags:
/// its stdout, the exit code and stderr.
fn status_of(host: &Netns, d: &Daemon, id: &str) -> (String, Option<i32>, String) {
    let bin = vigil_bin();
    let pid = d.pid_file("k.pid");
    let args = [bin.to_str().unwrap(), "status", "--json", "-i", id, "-p", pid.to_str().unwrap()];
    let out = host.command(&args).env_remove("VIGIL_RUN_DIR").output().expect("run vigil status");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(&out.stdout), out.status.code(), text(&out.stderr))
}

/// Two daemons on one host, told apart by `-i` and their pid files, with no `VIGIL_RUN_DIR`:
/// each has its own runtime directory under /run/vigil, `vigil status` with the same flags
/// reaches each one and says which, a killed VRRP child comes back with its own daemon's
/// configuration (priority 100, master again), and a second daemon with the same identity is
/// refused while the first runs.
#[test]
fn two_daemons_on_one_host_keep_their_own_runtime_directories() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let da =
        Daemon::start_own_run_dir(&a, &vigil_bin(), &instance("VI_1", 51, 100, vip), &["-P", "-i", "node1"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db =
        Daemon::start_own_run_dir(&b, &vigil_bin(), &instance("VI_1", 51, 90, vip), &["-P", "-i", "node2"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());

    let run_dir_a =
        format!("/run/vigil/@node1/pid={}", da.pid_file("k.pid").to_str().unwrap()[1..].replace('/', "%2f"));
    assert!(
        Path::new(&run_dir_a).join("vrrp.ctl").exists(),
        "no control socket in {run_dir_a}:\n{}",
        da.log()
    );
    assert!(da.log().contains(&format!("Runtime directory {run_dir_a} (daemon: config-id node1, pid file ")));

    // The VRRP child's state for a successor: root's alone, rewritten on state changes.
    let state_file = Path::new(&run_dir_a).join("vrrp.state");
    let meta = std::fs::symlink_metadata(&state_file).expect("vrrp.state");
    assert_eq!((meta.mode() & 0o777, meta.uid()), (0o600, 0), "vrrp.state mode and owner");
    let state = std::fs::read_to_string(&state_file).unwrap();
    assert!(state.lines().any(|l| l.starts_with("instance MASTER ") && l.ends_with(" VI_1")), "{state}");

    let status = |host: &Netns, d: &Daemon, id: &str| -> Json {
        let (out, code, err) = status_of(host, d, id);
        assert_eq!(code, Some(0), "vigil status -i {id}: {err}");
        Json::parse(out.trim()).unwrap_or_else(|e| panic!("status --json: {e}: {out}"))
    };
    let instance_field = |v: &Json, k: &str| -> Option<Json> {
        let Some(Json::Arr(insts)) = v.get("vrrp")?.get("instances") else { return None };
        insts.first()?.get(k).cloned()
    };
    let sa = status(&a, &da, "node1");
    let sb = status(&b, &db, "node2");
    assert_eq!(
        sa.get("daemon").and_then(|d| d.get("run_dir")).and_then(Json::as_str),
        Some(run_dir_a.as_str())
    );
    assert!(sa.get("daemon").unwrap().to_string().contains("config-id node1"), "{sa}");
    assert!(sb.get("daemon").unwrap().to_string().contains("config-id node2"), "{sb}");
    assert_eq!(instance_field(&sa, "state"), Some(Json::Str("MASTER".into())), "{sa}");
    assert_eq!(instance_field(&sb, "state"), Some(Json::Str("BACKUP".into())), "{sb}");
    assert_eq!(instance_field(&sb, "priority").and_then(|p| p.as_i64()), Some(90), "{sb}");

    // kill -9 of node 1's VRRP child: the new one loads node 1's snapshot, not node 2's.
    let child = da.pid_from_file("v.pid").expect("VRRP child pid file");
    let t0 = Instant::now();
    // SAFETY: kill(2) of the daemon's child, pid from its pid file.
    unsafe { libc::kill(child as i32, libc::SIGKILL) };
    assert!(
        wait_until(secs(6), ms(20), || da.pid_from_file("v.pid").is_some_and(|p| p != child && pid_alive(p))),
        "VRRP child not restarted:\n{}",
        da.log()
    );
    assert!(
        wait_until(secs(6), ms(50), || {
            let s = status(&a, &da, "node1");
            instance_field(&s, "state") == Some(Json::Str("MASTER".into()))
                && instance_field(&s, "priority").and_then(|p| p.as_i64()) == Some(100)
        }),
        "node 1's restarted child is not master at priority 100:\n{}",
        da.log()
    );
    assert!(da.log_time_after("Starting VRRP child process", t0).is_some());
    assert_eq!(db.log_count("(VI_1) Entering MASTER STATE"), 0, "node 2 took over:\n{}", db.log());

    // The same identity again (same -i, same pid file): refused, and the first runs on.
    let pid_a = da.pid_file("k.pid");
    let mut dup = Daemon::start_own_run_dir(
        &a,
        &vigil_bin(),
        &instance("VI_1", 51, 100, vip),
        &["-P", "-i", "node1", "-p", pid_a.to_str().unwrap()],
    );
    assert!(
        wait_until(secs(5), ms(20), || !dup.is_running()),
        "a second node1 daemon started:\n{}",
        dup.log()
    );
    let code = dup.stop().code();
    assert!(code.is_some_and(|c| c != 0), "exit code {code:?}");
    assert!(
        dup.log().contains(&format!(
            "another vigil daemon (config-id node1, pid file {}) is already running",
            pid_a.display()
        )),
        "{}",
        dup.log()
    );
    assert!(
        da.is_running() && Path::new(&run_dir_a).join("vrrp.ctl").exists(),
        "the refused start disturbed the first"
    );
    assert_eq!(instance_field(&status(&a, &da, "node1"), "state"), Some(Json::Str("MASTER".into())));

    // A clean stop takes the directory away.
    let mut da = da;
    da.stop();
    assert!(!Path::new(&run_dir_a).exists(), "{run_dir_a} left behind");
    let (_, code, err) = status_of(&a, &da, "node1");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no running vigil found"), "{err}");
}
