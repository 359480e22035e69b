//! The rest of the VRRP instance as a real binary in namespaces: track_script
//! (weighted and unweighted), track_interface and the instance interface
//! (FAULT), a VIP's own interface (FAULT), sync groups over two links,
//! virtual and static routes and rules, SMTP alerts, track_file, and vigil's
//! track_ping. Needs root and `ip`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use common::*;

/// One instance block.
struct Inst<'a> {
    name: &'a str,
    iface: &'a str,
    vrid: u8,
    prio: u8,
    vip: IpAddr,
    /// Extra lines inside the block.
    extra: String,
}

impl Inst<'_> {
    fn conf(&self) -> String {
        format!(
            "vrrp_instance {} {{\n    state BACKUP\n    interface {}\n    virtual_router_id {}\n    priority {}\n    \
             advert_int 1\n{}    virtual_ipaddress {{\n        {}/24\n    }}\n}}\n",
            self.name, self.iface, self.vrid, self.prio, self.extra, self.vip
        )
    }
}

fn vi1(prio: u8, vip: IpAddr, extra: &str) -> String {
    Inst { name: "VI_1", iface: "eth0", vrid: 51, prio, vip, extra: extra.to_string() }.conf()
}

/// A script that exits with the number in `status_file`, and that file set to `status`.
fn flip_script(dir: &Path, status: u8) -> (PathBuf, PathBuf) {
    let script = dir.join("chk.sh");
    let status_file = dir.join("status");
    std::fs::write(&script, format!("#!/bin/sh\nexit $(cat {})\n", status_file.display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&status_file, status.to_string()).unwrap();
    (script, status_file)
}

fn script_block(script: &Path, weight: i32) -> String {
    format!(
        "vrrp_script chk {{\n    script \"{}\"\n    interval 1\n    weight {weight}\n}}\n",
        script.display()
    )
}

/// Plug an existing namespace into `lan` as `ifname` with host number `n`.
fn plug(lan: &Lan, host: &Netns, ifname: &str, n: u8) -> Ipv4Addr {
    let port = format!("x{n}");
    lan.switch().ip(&["link", "add", &port, "type", "veth", "peer", "name", ifname, "netns", host.name()]);
    lan.switch().ip(&["link", "set", &port, "master", "br0", "up"]);
    let addr = lan.v4(n);
    host.ip(&["addr", "add", &format!("{addr}/24"), "dev", ifname]);
    host.ip(&["link", "set", ifname, "up"]);
    addr
}

fn has_route(ns: &Netns, prefix: &str) -> bool {
    ns.ip(&["route", "show", "table", "all"]).lines().any(|l| l.starts_with(prefix))
}

/// A policy rule with preference `pref` whose `ip rule` line contains `text`.
fn has_rule(ns: &Netns, family: &str, pref: u32, text: &str) -> bool {
    let pref = format!("{pref}:");
    ns.ip(&[family, "rule", "show"]).lines().any(|l| l.starts_with(&pref) && l.contains(text))
}

/// A weighted script that starts failing lowers the master below the
/// backup, which preempts; when it recovers the master takes over again.
#[test]
fn weighted_track_script_moves_the_master() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let tmp = TempDir::new("track");
    let (script, status) = flip_script(tmp.path(), 0);
    let conf_a = format!(
        "{}{}",
        script_block(&script, -60),
        vi1(150, vip, "    track_script {\n        chk\n    }\n")
    );
    let da = Daemon::start(&a, &vigil_bin(), &conf_a, &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &vi1(100, vip, ""), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));

    let t0 = Instant::now();
    std::fs::write(&status, "1").unwrap();
    assert!(da.wait_log("VRRP_Script(chk) failed (exited with status 1)", secs(3)), "{}", da.log());
    assert!(da.wait_log("Script `chk` now returning 1", secs(1)));
    assert!(da.wait_log("(VI_1) Changing effective priority from 150 to 90", secs(1)));
    // Script interval + Master_Down of the backup (3 * 1 s + skew) + slack.
    assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());
    assert!(t0.elapsed() < secs(6));

    std::fs::write(&status, "0").unwrap();
    assert!(da.wait_log("VRRP_Script(chk) succeeded", secs(3)));
    assert!(da.wait_log("(VI_1) Changing effective priority from 90 to 150", secs(1)));
    assert!(wait_until(secs(6), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)), "{}", da.log());
}

/// An unweighted script failing puts the instance in FAULT: a priority-0
/// advert, so the backup takes over within the script interval plus skew.
#[test]
fn unweighted_track_script_failure_is_a_fault() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let tmp = TempDir::new("track");
    let (script, status) = flip_script(tmp.path(), 0);
    let conf_a =
        format!("{}{}", script_block(&script, 0), vi1(150, vip, "    track_script {\n        chk\n    }\n"));
    let da = Daemon::start(&a, &vigil_bin(), &conf_a, &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &vi1(100, vip, ""), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));

    let t0 = Instant::now();
    std::fs::write(&status, "3").unwrap();
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(3)), "{}", da.log());
    assert!(wait_until(secs(3), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());
    assert!(t0.elapsed() < ms(2600), "took {:?}", t0.elapsed());

    std::fs::write(&status, "0").unwrap();
    assert!(da.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", da.log());
    assert!(
        wait_until(secs(6), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)),
        "preemption: {}",
        da.log()
    );
}

/// The instance interface and a track_interface going down are faults;
/// coming back, the higher priority preempts again.
#[test]
fn tracked_links_down_fault_and_up_preempts() {
    let lan = Lan::new();
    let lan2 = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    plug(&lan2, &a, "eth1", 10);
    let vip: IpAddr = lan.v4(100).into();
    let da = Daemon::start(
        &a,
        &vigil_bin(),
        &vi1(150, vip, "    track_interface {\n        eth1\n    }\n"),
        &["-P"],
    );
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &vi1(100, vip, ""), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));

    // The tracked link: a priority-0 advert still goes out on eth0.
    let t0 = Instant::now();
    a.link_set("eth1", false);
    assert!(da.wait_log("Netlink reports eth1 down", secs(2)), "{}", da.log());
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(1)));
    assert!(wait_until(secs(3), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)));
    assert!(t0.elapsed() < ms(1600), "took {:?}", t0.elapsed());
    a.link_set("eth1", true);
    assert!(da.wait_log("Netlink reports eth1 up", secs(2)), "{}", da.log());
    assert!(wait_until(secs(6), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)), "{}", da.log());

    // The instance interface itself (carrier lost at the switch port).
    let masters = da.log_count("(VI_1) Entering MASTER STATE");
    let faults = da.log_count("(VI_1) Entering FAULT STATE");
    lan.switch().link_set("p1", false);
    let faulted = || da.log_count("(VI_1) Entering FAULT STATE") > faults;
    assert!(wait_until(secs(2), ms(20), faulted), "{}", da.log());
    assert!(!a.has_addr(&vip), "a faulted master keeps no VIP");
    assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip)), "{}", db.log());
    lan.switch().link_set("p1", true);
    assert!(
        wait_until(secs(8), ms(20), || da.log_count("(VI_1) Entering MASTER STATE") > masters),
        "{}",
        da.log()
    );
    assert!(wait_until(secs(3), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)));
}

/// A VIP on another interface (`dev eth1`): that link going down puts the
/// instance in FAULT like keepalived, so the backup takes every VIP; when
/// it returns the higher priority preempts again.
#[test]
fn a_vip_interface_down_is_a_fault() {
    let (lan, lan2) = (Lan::new(), Lan::new());
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    plug(&lan2, &a, "eth1", 10);
    plug(&lan2, &b, "eth1", 11);
    let (vip, vip2): (IpAddr, IpAddr) = (lan.v4(100).into(), lan2.v4(100).into());
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
             priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n        \
             {vip2}/24 dev eth1\n    }}\n}}\n"
        )
    };
    let da = Daemon::start(&a, &vigil_bin(), &conf(150), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &conf(100), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());
    assert!(wait_until(secs(2), ms(20), || a.has_addr(&vip) && a.has_addr(&vip2)));

    a.link_set("eth1", false);
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(3)), "{}", da.log());
    let moved = || b.has_addr(&vip) && b.has_addr(&vip2) && !a.has_addr(&vip) && !a.has_addr(&vip2);
    assert!(wait_until(secs(4), ms(20), moved), "{}\n{}", da.log(), db.log());

    let masters = da.log_count("(VI_1) Entering MASTER STATE");
    a.link_set("eth1", true);
    assert!(
        wait_until(secs(8), ms(20), || da.log_count("(VI_1) Entering MASTER STATE") > masters),
        "{}",
        da.log()
    );
    let back = || a.has_addr(&vip) && a.has_addr(&vip2) && !b.has_addr(&vip) && !b.has_addr(&vip2);
    assert!(wait_until(secs(3), ms(20), back), "{}", db.log());
}

/// Two instances on two links in one sync group: one link failing drags
/// both instances to FAULT, and the other router takes both VIPs.
#[test]
fn sync_group_moves_together() {
    let (lan1, lan2) = (Lan::new(), Lan::new());
    let (a, b) = (lan1.add_host("a"), lan1.add_host("b"));
    plug(&lan2, &a, "eth1", 10);
    plug(&lan2, &b, "eth1", 11);
    let (vip1, vip2): (IpAddr, IpAddr) = (lan1.v4(100).into(), lan2.v4(100).into());
    let conf = |prio: u8| {
        let i1 = Inst { name: "VI_1", iface: "eth0", vrid: 51, prio, vip: vip1, extra: String::new() };
        let i2 = Inst { name: "VI_2", iface: "eth1", vrid: 52, prio, vip: vip2, extra: String::new() };
        format!(
            "vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n{}{}",
            i1.conf(),
            i2.conf()
        )
    };
    let da = Daemon::start(&a, &vigil_bin(), &conf(150), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    assert!(da.wait_log("(VI_2) Entering MASTER STATE", secs(1)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &conf(100), &["-P"]);
    assert!(db.wait_log("(VI_2) Entering BACKUP STATE", secs(3)));
    assert!(a.has_addr(&vip1) && a.has_addr(&vip2));

    a.link_set("eth1", false);
    assert!(da.wait_log("VRRP_Group(G) Syncing instances to FAULT state", secs(2)), "{}", da.log());
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(1)), "{}", da.log());
    assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip1) && b.has_addr(&vip2)), "{}", db.log());
    assert!(!a.has_addr(&vip1), "the healthy member left with the faulty one");
    assert_eq!(db.log_count("(VI_1) Entering MASTER STATE"), 1);

    a.link_set("eth1", true);
    assert!(
        wait_until(secs(8), ms(20), || a.has_addr(&vip1) && a.has_addr(&vip2)),
        "both come back together:\n{}",
        da.log()
    );
    assert!(wait_until(secs(3), ms(20), || !b.has_addr(&vip1) && !b.has_addr(&vip2)));
}

/// virtual_routes and virtual_rules follow the VIPs; static addresses,
/// routes and rules exist while the daemon runs; nothing is left after SIGTERM.
#[test]
fn virtual_and_static_routes_follow_state_and_leave_on_exit() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let gw = lan.v4(254);
    let (static_ip, static_net) = (lan.v4(200), "198.19.251.0/24");
    let routes = format!(
        "    virtual_routes {{\n        198.19.250.0/24 via {gw} dev eth0\n        blackhole 198.19.249.0/24\n    }}\n\
         \x20   virtual_rules {{\n        from {vip} table 100 preference 100\n        \
         to 198.19.248.0/24 iif eth0 unreachable preference 101\n    }}\n"
    );
    let statics = format!(
        "static_ipaddress {{\n    {static_ip}/32 dev eth0\n}}\nstatic_routes {{\n    {static_net} via {gw} dev eth0\n}}\n\
         static_rules {{\n    from {static_net} fwmark 0x7/0xff lookup 200 preference 200\n    \
         from 2001:db8:7::/48 table 300 preference 300\n}}\n"
    );
    let mut da = Daemon::start(&a, &vigil_bin(), &format!("{statics}{}", vi1(150, vip, &routes)), &["-P"]);
    assert!(wait_until(secs(3), ms(20), || a.has_addr(&static_ip.into())), "{}", da.log());
    assert!(has_route(&a, static_net));
    assert!(has_rule(&a, "-4", 200, &format!("from {static_net} fwmark 0x7/0xff lookup 200")));
    assert!(has_rule(&a, "-6", 300, "from 2001:db8:7::/48 lookup 300"), "{}", a.ip(&["-6", "rule"]));
    assert!(!has_route(&a, "198.19.250.0/24"), "no virtual route before MASTER");
    assert!(!has_rule(&a, "-4", 100, ""), "no virtual rule before MASTER");
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    assert!(wait_until(secs(2), ms(20), || has_route(&a, "198.19.250.0/24 via")), "{}", a.ip(&["route"]));
    assert!(has_route(&a, "blackhole 198.19.249.0/24"));
    assert!(has_rule(&a, "-4", 100, &format!("from {vip} lookup 100")), "{}", a.ip(&["rule"]));
    assert!(has_rule(&a, "-4", 101, "to 198.19.248.0/24 iif eth0 unreachable"), "{}", a.ip(&["rule"]));

    // A higher-priority router takes over: the routes leave with the VIPs.
    let db = Daemon::start(&b, &vigil_bin(), &vi1(200, vip, &routes), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", db.log());
    assert!(wait_until(secs(3), ms(20), || !has_route(&a, "198.19.250.0/24")), "{}", a.ip(&["route"]));
    assert!(!has_route(&a, "blackhole 198.19.249.0/24"));
    assert!(!has_rule(&a, "-4", 100, "") && !has_rule(&a, "-4", 101, ""), "{}", a.ip(&["rule"]));
    assert!(has_route(&b, "198.19.250.0/24 via"));
    assert!(has_rule(&b, "-4", 100, &format!("from {vip} lookup 100")), "{}", b.ip(&["rule"]));
    assert!(has_route(&a, static_net), "static routes stay in BACKUP");
    assert!(has_rule(&a, "-4", 200, "lookup 200"), "static rules stay in BACKUP");

    da.stop();
    assert!(!a.has_addr(&static_ip.into()), "static address left after SIGTERM");
    assert!(!has_route(&a, static_net), "static route left after SIGTERM");
    assert!(!has_rule(&a, "-4", 200, "") && !has_rule(&a, "-6", 300, ""), "static rules left after SIGTERM");
    assert!(!da.log().contains("rule '"), "a rule was refused:\n{}", da.log());
}

/// A minimal SMTP server on `host`: every mail's DATA lines go to the channel.
/// `silent`: accept connections and never answer.
fn mail_server(host: &Netns, addr: Ipv4Addr, silent: bool) -> mpsc::Receiver<Vec<String>> {
    let listener = host.enter(|| TcpListener::bind((addr, 2525)).expect("bind SMTP"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            if silent {
                std::mem::forget(conn);
                continue;
            }
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut w = conn.try_clone().expect("clone");
                let mut r = BufReader::new(conn);
                let _ = w.write_all(b"220 test ESMTP\r\n");
                let (mut data, mut in_data) = (Vec::new(), false);
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 0 {
                    let l = line.trim_end().to_string();
                    line.clear();
                    if in_data {
                        if l == "." {
                            in_data = false;
                            let _ = tx.send(std::mem::take(&mut data));
                            let _ = w.write_all(b"250 ok\r\n");
                        } else {
                            data.push(l);
                        }
                    } else if l.eq_ignore_ascii_case("DATA") {
                        in_data = true;
                        let _ = w.write_all(b"354 go\r\n");
                    } else if l.eq_ignore_ascii_case("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n");
                        return;
                    } else {
                        let _ = w.write_all(b"250 ok\r\n");
                    }
                }
            });
        }
    });
    rx
}

fn smtp_globals(server: Ipv4Addr) -> String {
    format!(
        "global_defs {{\n    router_id r1\n    notification_email {{\n        ops@example.com\n    }}\n    \
         notification_email_from vigil@example.com\n    smtp_server {server} 2525\n    smtp_connect_timeout 30\n}}\n"
    )
}

/// A state change of an instance with smtp_alert is mailed.
#[test]
fn smtp_alert_is_mailed_on_state_change() {
    let lan = Lan::new();
    let (a, m) = (lan.add_host("a"), lan.add_host("m"));
    let mails = mail_server(&m, m.ip4, false);
    let vip: IpAddr = lan.v4(100).into();
    let conf = format!("{}{}", smtp_globals(m.ip4), vi1(150, vip, "    smtp_alert\n"));
    let da = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let mut subjects = Vec::new();
    let deadline = Instant::now() + secs(5);
    while Instant::now() < deadline {
        if let Ok(data) = mails.recv_timeout(ms(200)) {
            subjects.extend(data.into_iter().filter(|l| l.starts_with("Subject:")));
            if subjects.iter().any(|s| s.contains("MASTER")) {
                break;
            }
        }
    }
    assert!(
        subjects.iter().any(|s| s == "Subject: [r1] VRRP Instance VI_1 - Entering MASTER state"),
        "{subjects:?}\n{}",
        da.log()
    );
}

/// A mail server that never answers delays nothing: a fault still hands
/// the VIP over within the script interval plus skew.
#[test]
fn silent_mail_server_does_not_delay_failover() {
    let lan = Lan::new();
    let (a, b, m) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("m"));
    let _mails = mail_server(&m, m.ip4, true);
    let vip: IpAddr = lan.v4(100).into();
    let tmp = TempDir::new("track");
    let (script, status) = flip_script(tmp.path(), 0);
    let conf_a = format!(
        "{}{}{}",
        smtp_globals(m.ip4),
        script_block(&script, 0),
        vi1(150, vip, "    smtp_alert\n    track_script {\n        chk\n    }\n")
    );
    let da = Daemon::start(&a, &vigil_bin(), &conf_a, &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &vi1(100, vip, ""), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    let t0 = Instant::now();
    std::fs::write(&status, "1").unwrap();
    assert!(wait_until(secs(3), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", da.log());
    assert!(t0.elapsed() < ms(2600), "took {:?}", t0.elapsed());
    assert_eq!(da.log_count("SMTP alert successfully sent"), 0);
}

/// track_ping: the master loses its gateway link and steps down; the
/// backup, which still reaches the gateway, takes over.
#[test]
fn track_ping_hands_over_when_the_gateway_is_lost() {
    let (lan, uplink) = (Lan::new(), Lan::new());
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let gw = uplink.add_host("gw");
    plug(&uplink, &a, "eth1", 10);
    plug(&uplink, &b, "eth1", 11);
    let vip: IpAddr = lan.v4(100).into();
    let conf = |prio: u8| {
        format!(
            "vrrp_track_ping gw {{\n    address {}\n    interval 0.5\n    timeout 0.5\n    fall 2\n    \
             weight -100\n}}\n{}",
            gw.ip4,
            vi1(prio, vip, "    track_ping {\n        gw\n    }\n")
        )
    };
    let da = Daemon::start(&a, &vigil_bin(), &conf(150), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &conf(100), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    std::thread::sleep(secs(2));
    assert_eq!(da.log_count("unreachable"), 0, "{}", da.log());

    uplink.switch().link_set("x10", false);
    assert!(da.wait_log(&format!("VRRP_Ping(gw) {} unreachable", gw.ip4), secs(3)), "{}", da.log());
    assert!(da.wait_log("(VI_1) Changing effective priority from 150 to 50", secs(1)));
    assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());
    uplink.switch().link_set("x10", true);
    assert!(da.wait_log(&format!("VRRP_Ping(gw) {} reachable", gw.ip4), secs(4)), "{}", da.log());
    assert!(wait_until(secs(6), ms(20), || a.has_addr(&vip)), "{}", da.log());
}

/// `unicast_fault_no_peer` with an empty `unicast_peer` block holds the instance in FAULT
/// (keepalived 2.2); without it the instance falls back to multicast and elects itself.
#[test]
fn unicast_fault_no_peer_holds_fault() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let (vip_a, vip_b): (IpAddr, IpAddr) = (lan.v4(100).into(), lan.v4(101).into());
    let da = Daemon::start(
        &a,
        &vigil_bin(),
        &vi1(100, vip_a, "    unicast_fault_no_peer\n    unicast_peer {\n    }\n"),
        &["-P"],
    );
    let db = Daemon::start(
        &b,
        &vigil_bin(),
        &vi1(100, vip_b, "    unicast_peer {\n    }\n").replace("51", "52"),
        &["-P"],
    );
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(3)), "{}", da.log());
    assert!(db.wait_log("(VI_1) Entering MASTER STATE", secs(6)), "no fallback to multicast:\n{}", db.log());
    // b's master-down interval has passed; a, which started first, is still in FAULT.
    assert_eq!(da.log_count("Entering MASTER STATE"), 0, "{}", da.log());
    assert!(!a.has_addr(&vip_a));
}

/// The RFC 1071 checksum, for hand-made ICMP messages.
fn inet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 =
        bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet (IP_HDRINCL: the kernel fills in the length and header checksum) holding an
/// ICMP echo reply from `src` to `dst` with identifier `id`, sequence `seq` and vigil's old
/// fixed payload.
fn spoofed_echo_reply(src: Ipv4Addr, dst: Ipv4Addr, id: u16, seq: u16) -> Vec<u8> {
    let mut icmp = vec![0, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(b"vigilpng");
    let sum = inet_checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut pkt = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
    pkt.extend_from_slice(&src.octets());
    pkt.extend_from_slice(&dst.octets());
    pkt.extend_from_slice(&icmp);
    pkt
}

/// A thread in `ns` flooding `dst` with spoofed echo replies from `src`: for each of `ids`,
/// sequence numbers 0..64, a round every 10 ms, until dropped. Returns the packets sent so far.
struct Spoofer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spoofer {
    fn start(ns: &Netns, src: Ipv4Addr, dst: Ipv4Addr, ids: Vec<u16>) -> Spoofer {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let sent = std::sync::Arc::new(AtomicU64::new(0));
        let (stop2, sent2, name) = (stop.clone(), sent.clone(), ns.name().to_string());
        let thread = std::thread::spawn(move || {
            setns(&name).unwrap_or_else(|e| panic!("setns {name}: {e}"));
            // SAFETY: plain syscall; the fd is closed below.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
            assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
            // SAFETY: sockaddr_in is plain data.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
            while !stop2.load(Ordering::Relaxed) {
                for &id in &ids {
                    for seq in 0..64u16 {
                        let pkt = spoofed_echo_reply(src, dst, id, seq);
                        // SAFETY: pkt and sa are valid for the lengths passed.
                        let n = unsafe {
                            libc::sendto(
                                fd,
                                pkt.as_ptr().cast(),
                                pkt.len(),
                                0,
                                (&sa as *const libc::sockaddr_in).cast(),
                                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                            )
                        };
                        if n > 0 {
                            sent2.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                std::thread::sleep(ms(10));
            }
            // SAFETY: our own fd.
            unsafe { libc::close(fd) };
        });
        Spoofer { stop, sent, thread: Some(thread) }
    }

    fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Spoofer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Issue 16: with the gateway gone, a host on the uplink floods the router with echo replies
/// spoofed from the gateway's address, with the identifiers vigil used to use (its pids) and
/// every early sequence number. They are dropped (no random cookie), track_ping fails and
/// the VIP moves to the backup (whose own gateway is up); when the gateway returns its genuine replies still count.
#[test]
fn track_ping_ignores_spoofed_echo_replies() {
    let (lan, uplink) = (Lan::new(), Lan::new());
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    // b tracks a gateway of its own that stays up, so only a loses its gateway.
    let (gw, gw_b) = (uplink.add_host("gw"), uplink.add_host("gwb"));
    let attacker = uplink.add_host("atk");
    let a_up = plug(&uplink, &a, "eth1", 10);
    plug(&uplink, &b, "eth1", 11);
    let vip: IpAddr = lan.v4(100).into();
    let conf = |prio: u8, gw: Ipv4Addr| {
        format!(
            "vrrp_track_ping gw {{\n    address {}\n    interval 0.5\n    timeout 0.5\n    fall 2\n    \
             weight -100\n}}\n{}",
            gw,
            vi1(prio, vip, "    track_ping {\n        gw\n    }\n")
        )
    };
    let da = Daemon::start(&a, &vigil_bin(), &conf(150, gw.ip4), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &conf(100, gw_b.ip4), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    let child = da.pid_from_file("v.pid").expect("VRRP child pid");
    let ids = vec![(child & 0xffff) as u16, (da.pid() & 0xffff) as u16];

    let spoofer = Spoofer::start(&attacker, gw.ip4, a_up, ids);
    assert!(wait_until(secs(2), ms(10), || spoofer.sent() > 1000), "the spoofer sends nothing");
    gw.link_set("eth0", false);
    let down = format!("VRRP_Ping(gw) {} unreachable", gw.ip4);
    assert!(da.wait_log(&down, secs(4)), "spoofed replies kept the gateway alive:\n{}", da.log());
    assert!(da.wait_log("(VI_1) Changing effective priority from 150 to 50", secs(1)));
    assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());
    assert!(
        da.wait_log("echo replies matching no probe", secs(3)),
        "the spoofs never arrived:\n{}",
        da.log()
    );
    let up = format!("VRRP_Ping(gw) {} reachable", gw.ip4);
    assert!(!da.wait_log(&up, secs(2)), "a spoofed reply counted:\n{}", da.log());

    gw.link_set("eth0", true);
    assert!(da.wait_log(&up, secs(4)), "genuine replies ignored:\n{}", da.log());
    assert!(wait_until(secs(6), ms(20), || a.has_addr(&vip)), "{}", da.log());
    drop(spoofer);
}

/// A link-local IPv6 gateway is probed on the tracking instance's interface (the scope id),
/// here eth1, not the router's first interface (where an unscoped fe80:: destination goes):
/// it is reachable, goes unreachable when it leaves, and comes back.
#[test]
fn track_ping_reaches_a_link_local_ipv6_gateway() {
    let (lan, lan2) = (Lan::new(), Lan::new());
    let a = lan.add_host("a");
    let gw = lan2.add_host("gw");
    plug(&lan2, &a, "eth1", 10);
    assert!(
        wait_until(secs(3), ms(10), || !a
            .ip(&["-6", "addr", "show", "dev", "eth1", "scope", "link"])
            .is_empty()),
        "no link-local address on eth1"
    );
    let ll = gw.link_local().expect("gateway link-local address");
    let vip: IpAddr = lan2.v4(100).into();
    let inst = Inst {
        name: "VI_1",
        iface: "eth1",
        vrid: 51,
        prio: 150,
        vip,
        extra: "    track_ping {\n        gw\n    }\n".into(),
    };
    let conf = format!(
        "vrrp_track_ping gw {{\n    address {ll}\n    interval 0.5\n    timeout 0.5\n    fall 2\n    \
         weight -100\n}}\n{}",
        inst.conf()
    );
    let da = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    gw.link_set("eth0", false);
    assert!(da.wait_log(&format!("VRRP_Ping(gw) {ll} unreachable"), secs(4)), "{}", da.log());
    gw.link_set("eth0", true);
    assert!(da.wait_log(&format!("VRRP_Ping(gw) {ll} reachable"), secs(6)), "{}", da.log());
    assert!(da.wait_log("(VI_1) Changing effective priority from 50 to 150", secs(2)), "{}", da.log());
}

/// `interface` in vrrp_track_ping: probes leave by that interface only and
/// replies count only when they arrive on it. The gateway sits on eth1's
/// subnet; with `interface eth0` it cannot be reached (the router would
/// otherwise route the probe out of eth1 and be fooled into "reachable"),
/// and after a reload to `interface eth1` it is.
#[test]
fn track_ping_probes_only_through_its_interface() {
    let (lan, uplink) = (Lan::new(), Lan::new());
    let a = lan.add_host("a");
    let gw = uplink.add_host("gw");
    plug(&uplink, &a, "eth1", 10);
    let vip: IpAddr = lan.v4(100).into();
    let conf = |dev: &str| {
        format!(
            "vrrp_track_ping gw {{\n    address {}\n    interface {dev}\n    interval 0.3\n    timeout 0.3\n    \
             fall 2\n    weight -100\n}}\n{}",
            gw.ip4,
            vi1(150, vip, "    track_ping {\n        gw\n    }\n")
        )
    };
    let da = Daemon::start(&a, &vigil_bin(), &conf("eth0"), &["-P"]);
    assert!(
        da.wait_log(&format!("VRRP_Ping(gw) {} unreachable", gw.ip4), secs(4)),
        "a probe bound to eth0 reached a gateway on eth1:\n{}",
        da.log()
    );
    assert!(da.wait_log("Changing effective priority from 150 to 50", secs(2)), "{}", da.log());
    // The probe went out of eth0: the router asked for the gateway there, in vain.
    let neigh = a.ip(&["neigh", "show", "dev", "eth0"]);
    assert!(neigh.contains(&gw.ip4.to_string()), "no neighbour lookup on eth0: {neigh}");
    std::fs::write(da.dir().join("keepalived.conf"), conf("eth1")).unwrap();
    da.signal(libc::SIGHUP);
    assert!(
        da.wait_log(&format!("VRRP_Ping(gw) {} reachable", gw.ip4), secs(4)),
        "a probe bound to eth1 did not reach the gateway:\n{}",
        da.log()
    );
    assert!(da.wait_log("Changing effective priority from 50 to 150", secs(2)), "{}", da.log());
}

/// `vrrp_track_process` in a namespace, where the process connector does
/// not answer: vigil says so and scans /proc every second. Two `sleep`s
/// with this test's own argument (`param_match initial`) make a quorum of
/// 2; one killed drops the priority after `terminate_delay` and the VIP
/// moves; started again, the priority returns after `fork_delay` and the
/// VIP comes back.
#[test]
fn track_process_quorum_moves_the_vip_and_back() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    // An argument no other process has: this test's pid.
    let arg = format!("3600.{}", std::process::id());
    let sleep = |n: u32| ProcGuard::spawn(std::process::Command::new("sleep").arg(format!("{arg}{n}")));
    let mut procs = vec![sleep(1), sleep(2)];
    let tracker = format!(
        "vrrp_track_process daemons {{\n    process sleep {arg}\n    param_match initial\n    quorum 2\n    \
         weight -20\n    terminate_delay 1\n    fork_delay 2\n}}\n"
    );
    let conf_a = format!("{tracker}{}", vi1(100, vip, "    track_process {\n        daemons\n    }\n"));
    let da = Daemon::start(&a, &vigil_bin(), &conf_a, &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    assert!(
        da.log().contains("track_process: process connector unavailable (")
            && da.log().contains("scanning /proc every 1 s"),
        "the mode is named: {}",
        da.log()
    );
    assert_eq!(da.log_count("Quorum lost for tracked process daemons"), 0, "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &vi1(90, vip, ""), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());

    let killed = Instant::now();
    procs.pop().expect("a sleep").kill9();
    assert!(da.wait_log("Quorum lost for tracked process daemons", secs(4)), "{}", da.log());
    let lost = da.log_time("Quorum lost for tracked process daemons").expect("logged");
    // terminate_delay 1 s after the scan (every 1 s) that saw it.
    let after = lost.duration_since(killed);
    assert!(after >= ms(1000) && after < ms(2600), "lost after {after:?}");
    assert!(da.wait_log("(VI_1) Changing effective priority from 100 to 80", secs(1)), "{}", da.log());
    assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());

    let started = Instant::now();
    procs.push(sleep(3));
    let regained = || da.log_time_after("Quorum gained for tracked process daemons", started).is_some();
    assert!(wait_until(secs(5), ms(10), regained), "{}", da.log());
    let gained = da.log_time_after("Quorum gained for tracked process daemons", started).expect("logged");
    let after = gained.duration_since(started);
    assert!(after >= ms(2000) && after < ms(3600), "gained after {after:?}");
    assert!(da.wait_log("(VI_1) Changing effective priority from 80 to 100", secs(1)), "{}", da.log());
    assert!(wait_until(secs(6), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)), "{}", da.log());

    // A reload that asks for a quorum of 3: a changed tracker is counted
    // afresh at once (no delay), and the VIP moves again.
    let conf_3 = conf_a.replace("quorum 2", "quorum 3");
    std::fs::write(da.dir().join("keepalived.conf"), conf_3).expect("rewrite the configuration");
    let reload = Instant::now();
    da.signal(libc::SIGHUP);
    let relost = || da.log_time_after("Quorum lost for tracked process daemons", reload).is_some();
    assert!(wait_until(secs(3), ms(10), relost), "{}", da.log());
    assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());
    assert!(da.log().contains("track_process: scanned "), "one scan's cost is logged");
    for line in da.log().lines().filter(|l| l.contains("track_process: scanned ")) {
        eprintln!("{line}");
    }
}

/// The process connector against the real kernel: in the test's own
/// (initial) network namespace it acknowledges the subscription and
/// reports a child's fork, exec and exit; in another namespace the
/// subscription is refused (ECONNREFUSED, keepalived's "errno 111"), which
/// is what makes vigil fall back to scanning /proc.
#[test]
fn process_connector_reports_fork_exec_exit_and_is_refused_in_a_netns() {
    use vigil::sys::proc_connector::{Connector, Event};
    let mut conn = Connector::open().expect("the connector answers in the initial namespace");
    let mut events = Vec::new();
    let drain = |conn: &mut Connector, events: &mut Vec<Event>| loop {
        match conn.recv() {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => {}
            Err(e) if e.is_would_block() => return,
            Err(e) if e.errno() == libc::ENOBUFS => {}
            Err(e) => panic!("connector: {e}"),
        }
    };
    assert!(
        wait_until(secs(2), ms(5), || {
            drain(&mut conn, &mut events);
            events.contains(&Event::Ack(0))
        }),
        "the kernel acknowledges the subscription: {events:?}"
    );
    let mut child = ProcGuard::spawn(std::process::Command::new("sleep").arg("3600"));
    let pid = child.pid();
    let me = std::process::id();
    let seen = |events: &[Event], want: &Event| events.contains(want);
    assert!(
        wait_until(secs(3), ms(5), || {
            drain(&mut conn, &mut events);
            seen(&events, &Event::Fork { parent: me, child: pid }) && seen(&events, &Event::Exec(pid))
        }),
        "fork and exec of {pid}"
    );
    child.kill9();
    assert!(
        wait_until(secs(3), ms(5), || {
            drain(&mut conn, &mut events);
            seen(&events, &Event::Exit(pid))
        }),
        "exit of {pid}"
    );

    let ns = Netns::new("pc");
    let refused = ns.enter(|| Connector::open().err().map(|e| e.errno()));
    assert_eq!(refused, Some(libc::ECONNREFUSED));
}

/// track_file in an instance: the value × the instance's weight (-20, over
/// the block's 1) moves the priority, so the peer at 90 takes the VIP while
/// the file holds 1 and gives it back at 0; a value that takes the
/// contribution below -253 (13 × -20) is a FAULT, and so is any non-zero
/// value of a file tracked with weight 0. `init_file 0 overwrite` resets a
/// stale value before the first read, and not on a reload. Values arrive by
/// inotify.
#[test]
fn track_file_moves_the_vip_and_faults_as_keepalived() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let tmp = TempDir::new("trackfile");
    let (tf, sw) = (tmp.path().join("tf"), tmp.path().join("sw"));
    std::fs::write(&tf, "5\n").unwrap();
    let conf_a = |tf: &Path| {
        format!(
            "track_file tf {{\n    file {}\n    weight 1\n    init_file 0 overwrite\n}}\n\
             track_file sw {{\n    file {}\n}}\n{}",
            tf.display(),
            sw.display(),
            vi1(100, vip, "    track_file {\n        tf weight -20\n        sw weight 0\n    }\n")
        )
    };
    let da = Daemon::start(&a, &vigil_bin(), &conf_a(&tf), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    assert_eq!(std::fs::read_to_string(&tf).unwrap(), "0\n", "init_file overwrite");
    let db = Daemon::start(&b, &vigil_bin(), &vi1(90, vip, ""), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());

    let t0 = Instant::now();
    std::fs::write(&tf, "1\n").unwrap();
    assert!(da.wait_log("(VI_1) Changing effective priority from 100 to 80", secs(2)), "{}", da.log());
    // The peer ignores adverts of lower priority and takes over when its
    // Master_Down timer runs out (3 × 1 s + skew).
    assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());
    assert!(da.log().contains("track_file tf: value 1 from"), "{}", da.log());
    eprintln!("value 1: VIP on the peer after {:?}", t0.elapsed());

    std::fs::write(&tf, "0\n").unwrap();
    assert!(da.wait_log("(VI_1) Changing effective priority from 80 to 100", secs(2)), "{}", da.log());
    assert!(wait_until(secs(6), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)), "{}", da.log());

    // Weight 0: any non-zero value is a FAULT.
    let t0 = Instant::now();
    std::fs::write(&sw, "2\n").unwrap();
    assert!(da.wait_log("(VI_1) Entering FAULT STATE", secs(2)), "{}", da.log());
    assert!(wait_until(secs(3), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());
    eprintln!("weight 0, value 2: FAULT, VIP on the peer after {:?}", t0.elapsed());
    let masters = da.log_count("(VI_1) Entering MASTER STATE");
    std::fs::remove_file(&sw).unwrap();
    assert!(
        wait_until(secs(8), ms(20), || da.log_count("(VI_1) Entering MASTER STATE") > masters),
        "a removed file reads 0:\n{}",
        da.log()
    );
    assert!(wait_until(secs(3), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)), "{}", db.log());

    // -260: below -253, a FAULT whatever the priority.
    let faults = da.log_count("(VI_1) Entering FAULT STATE");
    std::fs::write(&tf, "13\n").unwrap();
    assert!(
        wait_until(secs(2), ms(20), || da.log_count("(VI_1) Entering FAULT STATE") > faults),
        "{}",
        da.log()
    );
    assert!(wait_until(secs(3), ms(20), || b.has_addr(&vip) && !a.has_addr(&vip)), "{}", db.log());

    // A reload that points the block at another file watches and reads that
    // one; as keepalived, `init_file 0 overwrite` leaves an existing file
    // alone on a reload: 7 × -20 takes the priority to 1 (no FAULT).
    let tf2 = tmp.path().join("tf2");
    std::fs::write(&tf2, "7\n").unwrap();
    std::fs::write(da.dir().join("keepalived.conf"), conf_a(&tf2)).unwrap();
    da.signal(libc::SIGHUP);
    assert!(da.wait_log("(VI_1) Changing effective priority from 100 to 1", secs(4)), "{}", da.log());
    assert_eq!(std::fs::read_to_string(&tf2).unwrap(), "7\n", "overwritten on reload");
    let masters = da.log_count("(VI_1) Entering MASTER STATE");
    std::fs::write(&tf2, "0\n").unwrap();
    assert!(da.wait_log("(VI_1) Changing effective priority from 1 to 100", secs(2)), "{}", da.log());
    assert!(
        wait_until(secs(8), ms(20), || da.log_count("(VI_1) Entering MASTER STATE") > masters),
        "{}",
        da.log()
    );

    // A local user puts a FIFO where a track file goes (track files often
    // live in /tmp), moved in so the watch sees it, and then a reload reads
    // every file again: it is read as no file (0), never waited on. The
    // child goes on: the VIP stays, the status answers, and a file written
    // after it is acted on at once.
    let planted = tmp.path().join("planted");
    let c = std::ffi::CString::new(planted.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
    std::fs::rename(&planted, &sw).unwrap();
    let reloads = da.log_count("Reload complete");
    da.signal(libc::SIGHUP);
    assert!(wait_until(secs(4), ms(20), || da.log_count("Reload complete") > reloads), "{}", da.log());
    std::fs::write(&tf2, "2\n").unwrap();
    assert!(da.wait_log("(VI_1) Changing effective priority from 100 to 60", secs(2)), "{}", da.log());
    assert!(da.status_json().is_ok(), "the VRRP child answers: {}", da.log());
    assert!(a.has_addr(&vip) && !b.has_addr(&vip), "{}", db.log());
    let faults = da.log_count("(VI_1) Entering FAULT STATE");
    std::fs::remove_file(&sw).unwrap();
    std::fs::write(&sw, "2\n").unwrap();
    assert!(
        wait_until(secs(2), ms(20), || da.log_count("(VI_1) Entering FAULT STATE") > faults),
        "{}",
        da.log()
    );
}
