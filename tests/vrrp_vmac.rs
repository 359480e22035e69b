//! `use_vmac` as a real binary in namespaces: the private-mode macvlan with
//! the virtual router MAC, adverts and gratuitous ARPs from that MAC, a
//! client resolving the VIP to it, failover moving it, and clean removal
//! (macvlan and sysctls) on SIGTERM. Needs root, `ip`, tcpdump and tshark.

mod common;

use std::net::IpAddr;

use common::*;

const VRID: u8 = 51;
const VMAC: &str = "00:00:5e:00:01:33";
const DEV: &str = "vrrp.51";

fn conf(prio: u8, vip: IpAddr) -> String {
    conf_with(prio, vip, "use_vmac")
}

fn conf_with(prio: u8, vip: IpAddr, vmac: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {VRID}\n    \
         priority {prio}\n    advert_int 1\n    {vmac}\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

fn sysctl(ns: &Netns, dev: &str, key: &str) -> String {
    let out = ns.run(&["cat", &format!("/proc/sys/net/ipv4/conf/{dev}/{key}")]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn has_link(ns: &Netns, dev: &str) -> bool {
    ns.run(&["ip", "link", "show", "dev", dev]).status.success()
}

/// Addresses on `dev` only.
fn addrs_on(ns: &Netns, dev: &str) -> Vec<IpAddr> {
    ns.addrs().into_iter().filter(|(d, _)| d == dev).map(|(_, a)| a).collect()
}

#[test]
fn vmac_master_failover_and_cleanup() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    // b has a macvlan left over from a killed run: it must be taken over, not refused.
    b.ip(&[
        "link", "add", "link", "eth0", "name", DEV, "address", VMAC, "type", "macvlan", "mode", "private",
    ]);
    let mut cap = lan.capture("vrrp or arp");

    let mut da = Daemon::start(&a, &vigil_bin(), &conf(150, vip), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &conf(100, vip), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(4)), "{}", db.log());

    // The macvlan, in private mode with the VMAC, on both routers; the VIP only on the master's.
    for h in [&a, &b] {
        let link = h.ip(&["-d", "link", "show", "dev", DEV]);
        assert!(link.contains("macvlan mode private"), "{link}");
        assert!(link.contains(&format!("link/ether {VMAC}")), "{link}");
        assert!(link.contains(&format!("{DEV}@eth0")), "{link}");
        assert_eq!(sysctl(h, DEV, "arp_ignore"), "1");
        assert_eq!(sysctl(h, DEV, "accept_local"), "1");
        assert_eq!(sysctl(h, DEV, "rp_filter"), "0");
        assert_eq!(sysctl(h, "eth0", "arp_ignore"), "1");
        assert_eq!(sysctl(h, "eth0", "arp_filter"), "1");
        assert_eq!(sysctl(h, "eth0", "arp_announce"), "2");
    }
    assert!(wait_until(secs(2), ms(20), || addrs_on(&a, DEV).contains(&vip)), "{:?}", a.addrs());
    assert!(!b.has_addr(&vip));
    assert!(!db.log().contains("Entering MASTER STATE"), "exactly one master: {}", db.log());

    // A client resolves the VIP to the VMAC and gets answers.
    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(5, secs(3)), "no answers from the VIP: {}", da.log());
    let neigh = c.ip(&["neigh", "show", &vip.to_string()]);
    assert!(neigh.contains(&format!("lladdr {VMAC}")), "{neigh}");

    // SIGTERM: the backup takes over (priority 0 advert), the master's macvlan and sysctls go.
    let status = da.stop();
    assert!(status.success(), "{status:?}: {}", da.log());
    assert!(wait_until(secs(4), ms(20), || addrs_on(&b, DEV).contains(&vip)), "{}", db.log());
    assert!(!has_link(&a, DEV), "{}", a.ip(&["link"]));
    assert!(!a.has_addr(&vip));
    assert_eq!(sysctl(&a, "eth0", "arp_ignore"), "0");
    assert_eq!(sysctl(&a, "eth0", "arp_filter"), "0");
    assert_eq!(sysctl(&a, "eth0", "arp_announce"), "0");
    // The same VMAC now answers from b: the client keeps its ARP entry and its answers.
    let before = probe.answered();
    assert!(probe.wait_answers(before + 20, secs(3)), "no answers after failover: {}", db.log());
    let neigh = c.ip(&["neigh", "show", &vip.to_string()]);
    assert!(neigh.contains(&format!("lladdr {VMAC}")), "{neigh}");
    drop(probe.stop());
    let mut db = db;
    assert!(db.stop().success(), "{}", db.log());
    assert!(!has_link(&b, DEV), "the taken-over macvlan is removed too");
    assert_eq!(sysctl(&b, "eth0", "arp_ignore"), "0");

    // On the wire: every advert and every gratuitous ARP comes from the VMAC,
    // with the router's own address as the advert source (never the VIP).
    let adverts = cap.fields(&format!("vrrp.virt_rtr_id == {VRID}"), &["eth.src", "ip.src", "vrrp.prio"]);
    let from = |ip: std::net::Ipv4Addr, prio: &str| {
        adverts.iter().filter(|r| r[1] == ip.to_string() && r[2] == prio).count()
    };
    assert!(from(a.ip4, "150") >= 1 && from(a.ip4, "0") >= 1 && from(b.ip4, "100") >= 1, "{adverts:?}");
    assert!(adverts.iter().all(|r| r[0] == VMAC && r[1] != vip.to_string()), "{adverts:?}");
    let garps = cap.fields(
        &format!("arp.opcode == 1 && arp.src.proto_ipv4 == {vip} && arp.dst.proto_ipv4 == {vip}"),
        &["eth.src", "arp.src.hw_mac"],
    );
    assert!(garps.len() >= 2, "GARPs from both masters: {garps:?}");
    assert!(garps.iter().all(|r| r[0] == VMAC && r[1] == VMAC), "{garps:?}");
    let replies = cap.fields(&format!("arp.opcode == 2 && arp.src.proto_ipv4 == {vip}"), &["arp.src.hw_mac"]);
    assert!(!replies.is_empty() && replies.iter().all(|r| r[0] == VMAC), "{replies:?}");
    assert!(cap.expert_problems().is_empty(), "{:?}", cap.expert_problems());
}

/// `vmac_xmit_base` with a custom name: adverts leave from the parent (its
/// MAC and address), the VIP and the gratuitous ARPs stay on the macvlan.
#[test]
fn vmac_xmit_base_sends_adverts_from_the_parent() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let mut cap = lan.capture("vrrp or arp");
    let conf = conf_with(150, vip, "use_vmac vmac51\n    vmac_xmit_base");
    let mut da = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    assert!(wait_until(secs(2), ms(20), || addrs_on(&a, "vmac51").contains(&vip)), "{:?}", a.addrs());
    assert!(a.ip(&["-d", "link", "show", "dev", "vmac51"]).contains("macvlan mode private"));
    assert!(da.stop().success(), "{}", da.log());
    assert!(!has_link(&a, "vmac51"));

    let adverts = cap.fields(&format!("vrrp.virt_rtr_id == {VRID}"), &["eth.src", "ip.src"]);
    assert!(adverts.len() >= 2, "{adverts:?}");
    assert!(adverts.iter().all(|r| r[0] == a.mac && r[1] == a.ip4.to_string()), "{adverts:?}");
    let garps = cap
        .fields(&format!("arp.opcode == 1 && arp.src.proto_ipv4 == {vip}"), &["eth.src", "arp.src.hw_mac"]);
    assert!(!garps.is_empty() && garps.iter().all(|r| r[0] == VMAC && r[1] == VMAC), "{garps:?}");
}
