//! `garp_group` against the real binary: the gratuitous ARPs and
//! unsolicited NAs of a burst on the group's interface are spaced by the
//! group's `garp_interval` / `gna_interval`, while a router whose interface
//! is in no group keeps `vrrp_garp_interval`. Measured on the wire (tcpdump
//! on the LAN's bridge).

mod common;

use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const REPEAT: usize = 4;

fn instance(name: &str, vrid: u8, vip: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n state BACKUP\n interface eth0\n virtual_router_id {vrid}\n priority 150\n \
         advert_int 1\n virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
    )
}

/// A second burst (after vrrp_garp_master_delay) stays out of the capture.
const GLOBALS: &str = "global_defs {\n vrrp_garp_interval 0.05\n vrrp_garp_master_delay 60\n \
                       vrrp_garp_master_repeat 4\n}\n";

/// Capture times (seconds) of the frames matching `filter` whose `field` is `value`,
/// read from the pcap while tcpdump still writes it.
fn times(cap: &Capture, filter: &str, field: &str, value: &str) -> Vec<f64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(cap.path())
        .args(["-Y", filter, "-T", "fields", "-E", "separator=\t", "-e", "frame.time_epoch", "-e", field])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(_, v)| *v == value)
        .filter_map(|(t, _)| t.parse().ok())
        .collect()
}

/// The gaps between the first burst's messages, once all are on the wire.
fn burst_gaps(cap: &Capture, filter: &str, field: &str, addr: IpAddr) -> Vec<Duration> {
    let value = addr.to_string();
    let mut t = Vec::new();
    let complete = wait_until(secs(8), ms(100), || {
        t = times(cap, filter, field, &value);
        t.len() >= REPEAT
    });
    assert!(complete, "fewer than {REPEAT} messages for {addr}: {t:?}");
    t.windows(2).take(REPEAT - 1).map(|w| Duration::from_secs_f64(w[1] - w[0])).collect()
}

/// Each message leaves one interval after the one before (a timer may
/// fire late under load, hence the slack above; never much early).
fn within(gaps: &[Duration], lo: Duration, hi: Duration, what: &str) {
    assert!(gaps.iter().all(|g| *g >= lo && *g <= hi), "{what}: gaps {gaps:?} not within {lo:?}..{hi:?}");
}

#[test]
fn garp_group_spaces_the_bursts_of_its_interfaces() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let (vip_a, vip6_a, vip_b) = (lan.v4(100), lan.v6(0x100), lan.v4(101));
    let cap = lan.capture("arp or icmp6");
    let conf_a = format!(
        "{GLOBALS}garp_group {{\n garp_interval 0.3\n gna_interval 0.2\n interfaces {{\n  eth0\n }}\n}}\n{}{}",
        instance("VI_4", 81, &format!("{vip_a}/24")),
        instance("VI_6", 82, &format!("{vip6_a}/64")),
    );
    // b's group is on another interface: the global interval applies on eth0.
    let conf_b = format!(
        "{GLOBALS}garp_group {{\n garp_interval 0.5\n interface eth9\n}}\n{}",
        instance("VI_B", 83, &format!("{vip_b}/24"))
    );
    let da = Daemon::start(&a, &vigil_bin(), &conf_a, &["-P"]);
    let db = Daemon::start(&b, &vigil_bin(), &conf_b, &["-P"]);
    for (d, vi) in [(&da, "VI_4"), (&da, "VI_6"), (&db, "VI_B")] {
        assert!(d.wait_log(&format!("({vi}) Entering MASTER STATE"), secs(8)), "{}", d.log());
    }
    let arp = "arp.opcode == 1";
    let na = "icmpv6.type == 136";
    let na_target = "icmpv6.nd.na.target_address";
    let gaps_a = burst_gaps(&cap, arp, "arp.src.proto_ipv4", vip_a.into());
    let gaps_a6 = burst_gaps(&cap, na, na_target, vip6_a.into());
    let gaps_b = burst_gaps(&cap, arp, "arp.src.proto_ipv4", vip_b.into());
    within(&gaps_a, ms(240), ms(600), "garp_interval 0.3 of the group");
    within(&gaps_a6, ms(160), ms(500), "gna_interval 0.2 of the group");
    within(&gaps_b, ms(40), ms(200), "vrrp_garp_interval 0.05 outside the group");
    eprintln!("gaps: group ARP {gaps_a:?}, group NA {gaps_a6:?}, global ARP {gaps_b:?}");
}
