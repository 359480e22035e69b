//! `use_vmac` as a real binary in namespaces: the private-mode macvlan with
//! the virtual router MAC, adverts and gratuitous ARPs (or, over IPv6,
//! unsolicited NAs) from that MAC, a client resolving the VIP to it,
//! failover moving it, and clean removal (macvlan and sysctls) on SIGTERM.
//! Needs root, `ip`, tcpdump and tshark.

mod common;

use std::net::{IpAddr, Ipv6Addr};

use common::*;

const VRID: u8 = 51;
const VMAC: &str = "00:00:5e:00:01:33";
const VMAC6: &str = "00:00:5e:00:02:33";
const DEV: &str = "vrrp.51";

fn conf(prio: u8, vip: IpAddr) -> String {
    conf_with(prio, vip, "use_vmac")
}

fn conf_with(prio: u8, vip: IpAddr, vmac: &str) -> String {
    let len = if vip.is_ipv6() { 64 } else { 24 };
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {VRID}\n    \
         priority {prio}\n    advert_int 1\n    {vmac}\n    virtual_ipaddress {{\n        {vip}/{len}\n    }}\n}}\n"
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

/// fe80::/64 with the modified EUI-64 interface identifier of `mac` ("02:00:c6:..").
fn eui64_link_local(mac: &str) -> Ipv6Addr {
    let m: Vec<u8> = mac.split(':').map(|b| u8::from_str_radix(b, 16).expect("MAC byte")).collect();
    let id = [m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]];
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&[0xfe, 0x80]);
    b[8..].copy_from_slice(&id);
    Ipv6Addr::from(b)
}

/// The usable (not tentative) IPv6 link-local addresses on `dev`.
fn link_locals_on(ns: &Netns, dev: &str) -> Vec<Ipv6Addr> {
    let out = ns.ip(&["-o", "-6", "addr", "show", "dev", dev, "scope", "link"]);
    out.lines()
        .filter(|l| !l.contains("tentative"))
        .filter_map(|l| l.split_whitespace().nth(3)?.split('/').next()?.parse().ok())
        .collect()
}

/// The client's neighbour entry for `ip`, e.g. "2001:db8::100 dev eth0 lladdr ... REACHABLE".
fn neigh(ns: &Netns, ip: IpAddr) -> String {
    ns.ip(&["neigh", "show", &ip.to_string()])
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

/// A VMAC joining 224.0.0.18 sends IGMP reports from the virtual MAC (which a
/// switch would learn on the backup's port too); `disable_local_igmp` stops
/// reports for 224.0.0.x while vigil runs and puts the sysctl back on exit.
#[test]
fn disable_local_igmp_silences_the_vmac() {
    const KEY: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let reports_from_vmac = |globals: &str| {
        let mut cap = lan.capture("igmp");
        let mut da = Daemon::start(&a, &vigil_bin(), &format!("{globals}{}", conf(150, vip)), &["-P"]);
        assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
        let value = String::from_utf8_lossy(&a.run(&["cat", KEY]).stdout).trim().to_string();
        // Unsolicited reports follow a join within a second (robustness 2).
        std::thread::sleep(secs(3));
        assert!(da.stop().success(), "{}", da.log());
        let reports = cap.fields(&format!("eth.src == {VMAC}"), &["igmp.type"]);
        (value, reports)
    };

    let (value, reports) = reports_from_vmac("");
    assert_eq!(value, "1");
    assert!(!reports.is_empty(), "the kernel's default sends reports from the VMAC");

    let (value, reports) = reports_from_vmac("global_defs {\n    disable_local_igmp\n}\n");
    assert_eq!(value, "0", "zeroed while vigil runs");
    assert!(reports.is_empty(), "IGMP from the VMAC: {reports:?}");
    let after = a.run(&["cat", KEY]);
    assert_eq!(String::from_utf8_lossy(&after.stdout).trim(), "1", "restored on exit");
}

/// VRRPv3 over IPv6 with `use_vmac`: the macvlan carries 00:00:5e:00:02:VRID and a
/// link-local derived from its parent's MAC (so the routers' addresses differ though their
/// MACs do not); adverts and unsolicited NAs leave from the VMAC; the client's neighbour
/// entry for the VIP is the VMAC and survives failover; SIGTERM removes the macvlan.
#[test]
fn vmac_ipv6_master_failover_and_cleanup() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v6(0x100).into();
    // VRRP and neighbour discovery (ICMPv6 types 133-137, no extension headers).
    let mut cap = lan.capture("ip6 proto 112 or (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)");

    let mut da = Daemon::start(&a, &vigil_bin(), &conf(150, vip), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(10)), "{}", da.log());
    let mut db = Daemon::start(&b, &vigil_bin(), &conf(100, vip), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(6)), "{}", db.log());

    // The macvlan with the IPv6 VMAC on both routers, each with the EUI-64 link-local of
    // its own parent's MAC and nothing derived from the shared VMAC.
    let (lla, llb) = (eui64_link_local(&a.mac), eui64_link_local(&b.mac));
    assert_ne!(lla, llb);
    for (h, ll) in [(&a, lla), (&b, llb)] {
        let link = h.ip(&["-d", "link", "show", "dev", DEV]);
        assert!(link.contains("macvlan mode private"), "{link}");
        assert!(link.contains(&format!("link/ether {VMAC6}")), "{link}");
        assert!(link.contains(&format!("{DEV}@eth0")), "{link}");
        assert_eq!(h.link_local(), Some(ll), "eth0's own link-local is the same EUI-64");
        let usable = || link_locals_on(h, DEV) == [ll];
        assert!(wait_until(secs(3), ms(20), usable), "{}", h.ip(&["-6", "addr", "show", "dev", DEV]));
    }
    assert!(wait_until(secs(3), ms(20), || addrs_on(&a, DEV).contains(&vip)), "{:?}", a.addrs());
    assert!(!addrs_on(&a, "eth0").contains(&vip) && !b.has_addr(&vip), "{:?} {:?}", a.addrs(), b.addrs());
    // b's macvlan hears a's adverts, sent from the very MAC it carries itself (private
    // mode delivers them): it stays backup well past its master-down interval (3.6 s).
    std::thread::sleep(ms(4500));
    assert!(!db.log().contains("Entering MASTER STATE"), "exactly one master: {}", db.log());

    // The client reaches the VIP and resolves it to the VMAC.
    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(5, secs(5)), "no answers from the VIP: {}", da.log());
    let n = neigh(&c, vip);
    assert!(n.contains(&format!("lladdr {VMAC6}")), "{n}");

    // SIGTERM: b takes over (priority 0 advert), a's macvlan goes.
    let status = da.stop();
    assert!(status.success(), "{status:?}: {}", da.log());
    assert!(db.wait_log("(VI_1) Entering MASTER STATE", secs(6)), "{}", db.log());
    assert!(wait_until(secs(4), ms(20), || addrs_on(&b, DEV).contains(&vip)), "{}", db.log());
    assert!(!has_link(&a, DEV), "{}", a.ip(&["link"]));
    assert!(!a.has_addr(&vip), "{:?}", a.addrs());
    // The same VMAC answers from b: the client keeps its neighbour entry and its answers.
    let before = probe.answered();
    assert!(probe.wait_answers(before + 20, secs(5)), "no answers after failover: {}", db.log());
    let n = neigh(&c, vip);
    assert!(n.contains(&format!("lladdr {VMAC6}")), "{n}");
    drop(probe.stop());
    assert!(db.stop().success(), "{}", db.log());
    assert!(!has_link(&b, DEV), "{}", b.ip(&["link"]));
    assert!(!b.has_addr(&vip), "{:?}", b.addrs());

    // On the wire: every advert is VRRPv3 to ff02::12 from the VMAC and the sender's own
    // link-local; a's (150, then 0 on stop) and b's (100 as master).
    let adverts = cap.fields(
        &format!("vrrp.virt_rtr_id == {VRID}"),
        &["eth.src", "ipv6.src", "ipv6.dst", "vrrp.version", "vrrp.prio", "vrrp.ipv6_addr"],
    );
    let from =
        |ll: Ipv6Addr, prio: &str| adverts.iter().filter(|r| r[1] == ll.to_string() && r[4] == prio).count();
    assert!(from(lla, "150") >= 1 && from(lla, "0") >= 1 && from(llb, "100") >= 1, "{adverts:?}");
    let (ll_a, ll_b, v) = (lla.to_string(), llb.to_string(), vip.to_string());
    for r in &adverts {
        assert!(r[0] == VMAC6 && (r[1] == ll_a || r[1] == ll_b), "{r:?}");
        assert_eq!([&r[2], &r[3], &r[5]], ["ff02::12", "3", &v], "{r:?}");
    }
    // Unsolicited NAs for the VIP to all nodes from both masters, from the VMAC with its
    // link-local; every other NA for the VIP (replies to the client) from the VMAC too.
    let nas = cap.fields(
        &format!("icmpv6.type == 136 && icmpv6.nd.na.target_address == {vip}"),
        &["eth.src", "ipv6.src", "ipv6.dst", "icmpv6.nd.na.flag.o", "icmpv6.opt.linkaddr"],
    );
    let unsolicited: Vec<_> = nas.iter().filter(|r| r[2] == "ff02::1").collect();
    assert!(unsolicited.iter().any(|r| r[1] == ll_a) && unsolicited.iter().any(|r| r[1] == ll_b), "{nas:?}");
    for r in &unsolicited {
        assert!(r[3] == "1" || r[3] == "True", "NA without the override flag: {r:?}");
        assert_eq!(r[4], VMAC6, "{r:?}");
    }
    assert!(nas.iter().all(|r| r[0] == VMAC6 && (r[4].is_empty() || r[4] == VMAC6)), "{nas:?}");
    // The link-local the VMAC's own MAC would give (shared by every router) is never used.
    let vmac_ll = eui64_link_local(VMAC6);
    assert!(cap.fields(&format!("ipv6.src == {vmac_ll}"), &["eth.src"]).is_empty());
    assert!(cap.expert_problems().is_empty(), "{:?}", cap.expert_problems());
}

/// Dual stack with one VRID: the IPv4 instance's macvlan is `vrrp.51`, so the IPv6 one,
/// whose default name clashes with it, becomes `vrrp6.51`; both run, both go on SIGTERM.
#[test]
fn vmac_ipv4_and_ipv6_with_one_vrid() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let (vip4, vip6): (IpAddr, IpAddr) = (lan.v4(100).into(), lan.v6(0x100).into());
    let conf = format!("{}{}", conf(150, vip4), conf(150, vip6).replace("VI_1", "VI_6"));
    let mut da = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    for vi in ["VI_1", "VI_6"] {
        assert!(da.wait_log(&format!("({vi}) Entering MASTER STATE"), secs(10)), "{}", da.log());
    }
    for (dev, mac, vip) in [(DEV, VMAC, vip4), ("vrrp6.51", VMAC6, vip6)] {
        let link = a.ip(&["-d", "link", "show", "dev", dev]);
        assert!(link.contains("macvlan mode private"), "{link}");
        assert!(link.contains(&format!("link/ether {mac}")), "{link}");
        assert!(wait_until(secs(3), ms(20), || addrs_on(&a, dev).contains(&vip)), "{:?}", a.addrs());
    }
    assert_eq!(link_locals_on(&a, "vrrp6.51"), [eui64_link_local(&a.mac)]);
    assert!(da.stop().success(), "{}", da.log());
    assert!(!has_link(&a, DEV) && !has_link(&a, "vrrp6.51"), "{}", a.ip(&["link"]));
}
