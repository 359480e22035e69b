//! `vigil ipvs-selftest`: drive the IPVS client against the running kernel
//! (the VM test in tests/ipvs_vm.rs runs it) and print one line per check,
//! then `N passed, N failed`. It flushes this namespace's IPVS table, so it
//! is a hidden subcommand for test machines only.
//!
//! On success it leaves one service behind for an independent look with
//! `ipvsadm -Ln`: TCP 198.18.0.10:80 wrr with 198.18.1.1:8080 (NAT, weight
//! 3) and 198.18.1.2:80 (DR, weight 1). `vigil ipvs-selftest list` prints
//! the table as vigil reads it, for comparison with what ipvsadm programmed.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::{flags, Dest, Error, Family, Forward, Ipvs, Protocol, Service, ServiceKey, Timeouts};

struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    fn check(&mut self, what: &str, r: Result<(), String>) {
        match r {
            Ok(()) => {
                self.passed += 1;
                println!("ok   - {what}");
            }
            Err(e) => {
                self.failed += 1;
                println!("FAIL - {what}: {e}");
            }
        }
    }
}

pub fn main(args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        None => run_checks(),
        Some("list") => list(),
        Some(other) => {
            eprintln!("vigil ipvs-selftest: unknown argument {other:?} (try: list)");
            2
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn dest(addr: &str, port: u16, weight: u32, forward: Forward) -> Dest {
    Dest { addr: ip(addr), port, weight, forward, u_threshold: 0, l_threshold: 0 }
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr { protocol: Protocol::Tcp, addr: ip(addr), port }
}

fn service(key: ServiceKey, scheduler: &str) -> Service {
    Service { key, scheduler: scheduler.into(), persistence: None, netmask: None, flags: 0 }
}

fn ok(r: Result<(), Error>) -> Result<(), String> {
    r.map_err(|e| e.to_string())
}

fn expect_err(r: Result<(), Error>, want: fn(&Error) -> bool, name: &str) -> Result<(), String> {
    match r {
        Ok(()) => Err(format!("succeeded, expected {name}")),
        Err(e) if want(&e) => Ok(()),
        Err(e) => Err(format!("expected {name}, got {e}")),
    }
}

fn same_services(ipvs: &mut Ipvs, want: &[&Service]) -> Result<(), String> {
    let got = ipvs.services().map_err(|e| e.to_string())?;
    let key = |s: &Service| format!("{s:?}");
    let got_set: BTreeSet<String> = got.iter().map(key).collect();
    let want_set: BTreeSet<String> = want.iter().map(|s| key(s)).collect();
    if got.len() == want.len() && got_set == want_set {
        Ok(())
    } else {
        Err(format!("kernel has {got:?}"))
    }
}

fn same_dests(ipvs: &mut Ipvs, key: &ServiceKey, want: &[&Dest]) -> Result<(), String> {
    let got = ipvs.dests(key).map_err(|e| e.to_string())?;
    let fmt = |d: &Dest| format!("{d:?}");
    let got_set: BTreeSet<String> = got.iter().map(fmt).collect();
    let want_set: BTreeSet<String> = want.iter().map(|d| fmt(d)).collect();
    if got.len() == want.len() && got_set == want_set {
        Ok(())
    } else {
        Err(format!("kernel has {got:?}"))
    }
}

fn run_checks() -> i32 {
    let mut r = Report { passed: 0, failed: 0 };
    let mut ipvs = match Ipvs::open() {
        Ok(i) => i,
        Err(e) => {
            r.check("open the IPVS generic netlink family", Err(e.to_string()));
            println!("{} passed, {} failed", r.passed, r.failed);
            return 1;
        }
    };
    r.check(&format!("open the IPVS generic netlink family (id {})", ipvs.family_id()), Ok(()));
    exercise(&mut ipvs, &mut r);
    println!("{} passed, {} failed", r.passed, r.failed);
    r.failed.min(100) as i32
}

fn exercise(ipvs: &mut Ipvs, r: &mut Report) {
    r.check(
        "info: version and connection table size",
        match ipvs.info() {
            Ok(i) if i.version >= 0x010200 && i.conn_tab_size > 0 => {
                println!("     IPVS {} size={}", i.version_string(), i.conn_tab_size);
                Ok(())
            }
            Ok(i) => Err(format!("implausible {i:?}")),
            Err(e) => Err(e.to_string()),
        },
    );
    r.check("flush", ok(ipvs.flush()));
    r.check("table is empty after flush", same_services(ipvs, &[]));

    // Services of every kind.
    let web = Service {
        persistence: Some(300),
        netmask: Some(u32::from(std::net::Ipv4Addr::new(255, 255, 255, 0))),
        flags: flags::ONE_PACKET,
        ..service(tcp("198.18.0.10", 80), "wrr")
    };
    let dns = service(ServiceKey::Addr { protocol: Protocol::Udp, addr: ip("198.18.0.11"), port: 53 }, "rr");
    let mark = Service {
        flags: flags::SCHED1 | flags::SCHED2,
        ..service(ServiceKey::Fwmark { af: Family::V4, mark: 7 }, "sh")
    };
    let v6 = Service { netmask: Some(64), persistence: Some(60), ..service(tcp("2001:db8::1", 443), "wlc") };
    for s in [&web, &dns, &mark, &v6] {
        r.check(&format!("add service {}", s.key), ok(ipvs.add_service(s)));
    }
    r.check(
        "adding a service twice is EEXIST",
        expect_err(ipvs.add_service(&web), Error::is_exists, "EEXIST"),
    );
    r.check("services read back as added", same_services(ipvs, &[&web, &dns, &mark, &v6]));
    let bogus = service(tcp("198.18.0.12", 80), "no-such-sched");
    r.check(
        "an unknown scheduler is ENOENT",
        expect_err(ipvs.add_service(&bogus), Error::is_not_found, "ENOENT"),
    );

    // Destinations: NAT, DR, TUN, thresholds, edit, delete.
    let nat = dest("198.18.1.1", 8080, 3, Forward::Nat);
    let dr = dest("198.18.1.2", 80, 1, Forward::Dr);
    let tun = Dest { u_threshold: 100, l_threshold: 10, ..dest("198.18.1.3", 80, 2, Forward::Tun) };
    for d in [&nat, &dr, &tun] {
        r.check(&format!("add dest {} to {}", d.addr, web.key), ok(ipvs.add_dest(&web.key, d)));
    }
    r.check(
        "adding a dest twice is EEXIST",
        expect_err(ipvs.add_dest(&web.key, &nat), Error::is_exists, "EEXIST"),
    );
    r.check("dests read back as added", same_dests(ipvs, &web.key, &[&nat, &dr, &tun]));
    let nat_quiet = Dest { weight: 0, u_threshold: 50, ..nat.clone() };
    r.check("edit dest: weight 0 and a threshold", ok(ipvs.edit_dest(&web.key, &nat_quiet)));
    r.check("edited dest reads back", same_dests(ipvs, &web.key, &[&nat_quiet, &dr, &tun]));
    r.check("delete dest", ok(ipvs.del_dest(&web.key, tun.addr, tun.port)));
    r.check(
        "deleting it again is ENOENT",
        expect_err(ipvs.del_dest(&web.key, tun.addr, tun.port), Error::is_not_found, "ENOENT"),
    );
    r.check("dests after delete", same_dests(ipvs, &web.key, &[&nat_quiet, &dr]));
    let v6_dest = dest("2001:db8::2", 443, 5, Forward::Dr);
    r.check("add IPv6 dest", ok(ipvs.add_dest(&v6.key, &v6_dest)));
    r.check("IPv6 dest reads back", same_dests(ipvs, &v6.key, &[&v6_dest]));
    let mark_dest = dest("198.18.1.9", 0, 1, Forward::Dr);
    r.check("add dest to the fwmark service", ok(ipvs.add_dest(&mark.key, &mark_dest)));
    r.check("fwmark dest reads back", same_dests(ipvs, &mark.key, &[&mark_dest]));

    // Editing and deleting services.
    let web2 = Service { scheduler: "lc".into(), persistence: None, netmask: None, flags: 0, ..web.clone() };
    r.check("edit service: scheduler, persistence off", ok(ipvs.edit_service(&web2)));
    r.check("delete service", ok(ipvs.del_service(&dns.key)));
    r.check(
        "deleting it again is ESRCH",
        expect_err(ipvs.del_service(&dns.key), Error::is_not_found, "ESRCH"),
    );
    r.check("services after edit and delete", same_services(ipvs, &[&web2, &mark, &v6]));
    r.check("dests survive a service edit", same_dests(ipvs, &web2.key, &[&nat_quiet, &dr]));

    let t = Timeouts { tcp: 900, tcp_fin: 120, udp: 300 };
    r.check("set timeouts", ok(ipvs.set_timeouts(t.tcp, t.tcp_fin, t.udp)));
    r.check(
        "timeouts read back",
        match ipvs.timeouts() {
            Ok(got) if got == t => Ok(()),
            Ok(got) => Err(format!("kernel has {got:?}")),
            Err(e) => Err(e.to_string()),
        },
    );
    r.check("flush", ok(ipvs.flush()));
    r.check("table is empty after flush", same_services(ipvs, &[]));

    // The table left behind for ipvsadm.
    let show = service(tcp("198.18.0.10", 80), "wrr");
    r.check("add the service left for ipvsadm", ok(ipvs.add_service(&show)));
    r.check("add its NAT dest", ok(ipvs.add_dest(&show.key, &nat)));
    r.check("add its DR dest", ok(ipvs.add_dest(&show.key, &dr)));
    r.check("the service left for ipvsadm reads back", same_dests(ipvs, &show.key, &[&nat, &dr]));
}

/// `vigil ipvs-selftest list`: one line per service and per destination,
/// sorted, in a stable text form.
fn list() -> i32 {
    let mut ipvs = match Ipvs::open() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("vigil ipvs-selftest: {e}");
            return 1;
        }
    };
    let mut services = match ipvs.services() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigil ipvs-selftest: {e}");
            return 1;
        }
    };
    services.sort_by_key(|s| s.key.to_string());
    for s in services {
        let persistence = s.persistence.map_or("off".to_string(), |p| p.to_string());
        let netmask = s.netmask.map_or("default".to_string(), |m| format!("{m:#x}"));
        println!(
            "service {} scheduler {} persistence {persistence} netmask {netmask} flags {:#x}",
            s.key, s.scheduler, s.flags
        );
        let mut dests = match ipvs.dests(&s.key) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("vigil ipvs-selftest: {e}");
                return 1;
            }
        };
        dests.sort_by_key(|d| (d.addr, d.port));
        for d in dests {
            let addr = match d.addr {
                IpAddr::V4(a) => format!("{a}:{}", d.port),
                IpAddr::V6(a) => format!("[{a}]:{}", d.port),
            };
            println!(
                "  dest {addr} {:?} weight {} thresholds {}/{}",
                d.forward, d.weight, d.u_threshold, d.l_threshold
            );
        }
    }
    0
}
