//! Proves the shared harness (tests/common) against stock keepalived 2.2.7: election, VIP,
//! prober gap on a crash, pcap decoding, and that nothing is left behind.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;

/// (namespaces, pids) a scenario created; all must be gone once it returns.
type Traces = (Vec<String>, Vec<u32>);

fn keepalived() -> std::path::PathBuf {
    let bin = keepalived_bin();
    assert!(bin.exists(), "{} missing: run `sh tests/deps.sh`", bin.display());
    bin
}

fn config(version: u8, vrid: u8, prio: u8, advert: &str, vip: &str) -> String {
    let auth = if version == 2 {
        "    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n"
    } else {
        ""
    };
    format!(
        "global_defs {{\n    router_id r{prio}\n    vrrp_version {version}\n}}\n\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority {prio}\n    advert_int {advert}\n{auth}    virtual_ipaddress {{\n        {vip} dev eth0\n    }}\n}}\n"
    )
}

/// Two routers (priorities 150 and 100) and a client on one Lan: one master, the client
/// reaches the VIP, the master crashes, the backup takes over within `bound`.
fn failover(version: u8, vrid: u8, advert: f64, v6: bool) -> Traces {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = if v6 { lan.v6(0x100).into() } else { lan.v4(100).into() };
    let vip_conf = if v6 { format!("{vip}/64") } else { format!("{vip}/24") };
    let mut cap = lan.capture("ip proto 112 or ip6 proto 112");

    let ka = keepalived();
    let advert_s = format!("{advert}");
    // a first: started together, the 20 ms difference between the two master-down timers
    // at advert_int 0.1 can lose to scheduling, and b would be master for a moment.
    let mut da = Daemon::start(&a, &ka, &config(version, vrid, 150, &advert_s, &vip_conf), &["-P"]);
    // Generous: a loaded CI machine once took 4 s just to exec keepalived.
    let elect = Duration::from_secs_f64(3.0 * advert + 8.0);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", elect), "a never became master");
    let db = Daemon::start(&b, &ka, &config(version, vrid, 100, &advert_s, &vip_conf), &["-P"]);
    let mut traces = (
        [lan.switch().name(), a.name(), b.name(), c.name()].map(String::from).to_vec(),
        vec![da.pid(), db.pid()],
    );
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "b not backup");
    // b hears a's adverts for a while and stays backup.
    std::thread::sleep(Duration::from_secs_f64(2.0 * advert));
    assert!(wait_until(secs(2), ms(10), || a.has_addr(&vip)), "VIP not on the master");
    let holders = [&a, &b, &c].iter().filter(|h| h.has_addr(&vip)).count();
    assert_eq!(holders, 1, "VIP on more than one host");
    assert_eq!(db.log_count("Entering MASTER STATE"), 0, "b was master:\n{}", db.log());
    assert!(da.is_running() && db.is_running());
    traces.1.extend([da.pid_from_file("v.pid"), db.pid_from_file("v.pid")].into_iter().flatten());

    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(20, secs(3)), "client gets no answers from the VIP");

    // Crash the master: processes frozen and killed at once, and its link goes dark (a killed
    // keepalived leaves the VIP configured, so the kernel would go on answering).
    da.kill9();
    a.link_set("eth0", false);
    let takeover = Duration::from_secs_f64(3.0 * advert + 3.0);
    assert!(db.wait_log("(VI_1) Entering MASTER STATE", takeover), "b never took over");
    assert!(wait_until(secs(2), ms(10), || b.has_addr(&vip)), "VIP not on the new master");
    assert!(probe.wait_answers(20, secs(3)), "client lost the VIP after failover");
    let report = probe.stop();

    let skew = (256.0 - 100.0) / 256.0 * advert;
    let bound = Duration::from_secs_f64(3.0 * advert + skew + 1.5);
    let gap = report.longest_gap();
    eprintln!("v{version}: gap {gap:?} (bound {bound:?}), lost {}/{}", report.lost(), report.sent());
    assert!(gap <= bound, "gap {gap:?} > {bound:?}");
    assert!(gap >= Duration::from_secs_f64(advert), "gap {gap:?}: outage not seen");
    assert!(report.lost() > 0 && report.sent() > report.lost());

    // The adverts on the wire: both routers, the right version, VRID, auth and VIP.
    let (src, vip_field) = if v6 { ("ipv6.src", "vrrp.ipv6_addr") } else { ("ip.src", "vrrp.ip_addr") };
    let fields = [src, "vrrp.version", "vrrp.virt_rtr_id", "vrrp.prio", "vrrp.auth_type", vip_field];
    let rows = cap.fields("vrrp", &fields);
    let version_s = version.to_string();
    let auth = if version == 2 { "1" } else { "" };
    for row in &rows {
        assert_eq!(row[1..=2], [version_s.clone(), vrid.to_string()], "{row:?}");
        assert_eq!(row[4], auth, "{row:?}");
        assert_eq!(row[5].parse::<IpAddr>().ok(), Some(vip), "{row:?}");
    }
    for prio in ["150", "100"] {
        assert!(rows.iter().any(|r| r[3] == prio), "no advert with priority {prio}: {rows:?}");
    }
    let problems = cap.expert_problems();
    assert!(problems.is_empty(), "tshark: {problems:?}");
    traces
}

fn assert_cleaned_up((namespaces, pids): Traces) {
    for ns in &namespaces {
        assert!(!netns_exists(ns), "namespace {ns} left behind");
    }
    for pid in pids {
        assert!(wait_until(secs(1), ms(10), || !pid_alive(pid)), "process {pid} left behind");
    }
}

#[test]
fn keepalived_vrrp2_pass_auth_failover() {
    assert_cleaned_up(failover(2, 51, 1.0, false));
}

#[test]
fn keepalived_vrrp3_ipv6_failover() {
    assert_cleaned_up(failover(3, 52, 0.1, true));
}
