//! Link faults against the real binary: a tracked interface that flaps a
//! hundred times, and link events lost to a netlink receive-queue overrun
//! (ENOBUFS), which vigil must recover from by re-reading every interface
//! (also to start an instance that waits for an interface created meanwhile).

mod common;

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use common::*;

fn instance(prio: u8, vip: IpAddr, track: bool) -> String {
    let track = if track { "    track_interface {\n        t0\n    }\n" } else { "" };
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n{track}}}\n"
    )
}

/// Router a (priority 150) tracks t0, one end of a veth pair of its own;
/// router b (100) backs it up.
fn pair(lan: &Lan) -> (Host, Host, IpAddr) {
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    a.ip(&["link", "add", "t0", "type", "veth", "peer", "name", "t1"]);
    a.ip(&["link", "set", "t1", "up"]);
    a.ip(&["link", "set", "t0", "up"]);
    (a, b, lan.v4(100).into())
}

fn batch(ns: &Netns, commands: &str) {
    let mut child = Command::new("ip")
        .args(["-n", ns.name(), "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("ip -batch");
    child.stdin.take().unwrap().write_all(commands.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "ip -batch failed");
}

#[test]
fn tracked_interface_flapping_a_hundred_times() {
    let lan = Lan::new();
    let (a, b, vip) = pair(&lan);
    let da = Daemon::start(&a, &vigil_bin(), &instance(150, vip, true), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)));
    let db = Daemon::start(&b, &vigil_bin(), &instance(100, vip, false), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    let child = da.pid_from_file("v.pid").expect("VRRP child");

    for _ in 0..100 {
        a.ip(&["link", "set", "t0", "down"]);
        std::thread::sleep(ms(10));
        a.ip(&["link", "set", "t0", "up"]);
        std::thread::sleep(ms(10));
    }
    assert!(da.log_count("Entering FAULT STATE") >= 1, "no fault seen:\n{}", da.log());
    // With t0 up for good, a preempts again after its master-down interval.
    assert!(
        wait_until(secs(8), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)),
        "VIP not back on a:\n{}",
        da.log()
    );
    assert_eq!(da.pid_from_file("v.pid"), Some(child), "the VRRP child was restarted");
    assert!(pid_alive(child));
    std::thread::sleep(secs(2));
    assert!(a.has_addr(&vip) && !b.has_addr(&vip), "mastership moved again after the flapping stopped");
}

#[test]
fn lost_link_events_are_recovered_by_a_re_read() {
    let lan = Lan::new();
    let (a, b, vip) = pair(&lan);
    let da = Daemon::start(&a, &vigil_bin(), &instance(150, vip, true), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)));
    let db = Daemon::start(&b, &vigil_bin(), &instance(100, vip, false), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)));
    let child = da.pid_from_file("v.pid").expect("VRRP child") as i32;

    // While the VRRP child cannot read, bury its link monitor in thousands of
    // events; the last word is "t0 down".
    let mut cmds = String::new();
    for _ in 0..3000 {
        cmds.push_str("link set t0 down\nlink set t0 up\n");
    }
    cmds.push_str("link set t0 down\n");
    unsafe { libc::kill(child, libc::SIGSTOP) };
    batch(&a, &cmds);
    unsafe { libc::kill(child, libc::SIGCONT) };

    assert!(da.wait_log("link events lost", secs(3)), "no overrun reported:\n{}", da.log());
    assert!(
        wait_until(secs(3), ms(20), || !a.has_addr(&vip)),
        "t0 is down but a kept the VIP:\n{}",
        da.log()
    );
    assert!(wait_until(secs(5), ms(20), || b.has_addr(&vip)), "b did not take over");
    a.ip(&["link", "set", "t0", "up"]);
    assert!(
        wait_until(secs(8), ms(20), || a.has_addr(&vip) && !b.has_addr(&vip)),
        "a did not recover:\n{}",
        da.log()
    );
}

/// An instance waits for its interface, which is created while the events that announce it are
/// lost to an overrun: the re-read after the overrun finds it, and the instance starts.
#[test]
fn a_waiting_instance_starts_when_a_re_read_finds_its_interface() {
    let (lan, other) = (Lan::new(), Lan::new());
    let a = lan.add_host("a");
    a.ip(&["link", "add", "t0", "type", "veth", "peer", "name", "t1"]);
    a.ip(&["link", "set", "t1", "up"]);
    let vip: IpAddr = other.v4(100).into();
    let conf = format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth1\n    virtual_router_id 52\n    \
         priority 255\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24 dev eth1\n    }}\n}}\n"
    );
    let da = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(da.wait_log("(VI_1) waiting for interface eth1 to appear", secs(3)), "{}", da.log());
    assert!(wait_until(secs(3), ms(10), || da.pid_from_file("v.pid").is_some()), "no VRRP child pid");
    let child = da.pid_from_file("v.pid").expect("VRRP child") as i32;

    // While the VRRP child cannot read, bury its link monitor in events; eth1
    // comes last, when the receive queue is long full.
    let mut cmds = String::new();
    for _ in 0..3000 {
        cmds.push_str("link set t0 down\nlink set t0 up\n");
    }
    cmds.push_str("link add eth1 type veth peer name eth1p\nlink set eth1p up\nlink set eth1 up\n");
    cmds.push_str(&format!("addr add {}/24 dev eth1\n", other.v4(1)));
    unsafe { libc::kill(child, libc::SIGSTOP) };
    batch(&a, &cmds);
    unsafe { libc::kill(child, libc::SIGCONT) };

    assert!(da.wait_log("link events lost", secs(3)), "no overrun reported:\n{}", da.log());
    assert!(
        da.wait_log("(VI_1) Entering MASTER STATE", secs(3)),
        "not started after the re-read:\n{}",
        da.log()
    );
    assert!(wait_until(secs(2), ms(10), || a.has_addr(&vip)), "VIP not on eth1");
}
