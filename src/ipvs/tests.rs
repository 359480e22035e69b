//! Codec tests: every request compared byte for byte with a hand-computed
//! vector, reply parsing, and a no-panic property test on hostile replies.
//!
//! The vectors are written for a little-endian host (nlmsghdr, genl and
//! attribute headers and most integers are host order); ports and the IPv4
//! netmask are big-endian on every host. Family id 0x22, sequence 1.

use std::net::IpAddr;

use super::codec::*;
use super::*;
use crate::sys::netlink::{Messages, Reply, Request};

const FAM: u16 = 0x22;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}

fn bytes(mut r: Request) -> Vec<u8> {
    r.finish(1).to_vec()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn v4_key() -> ServiceKey {
    ServiceKey::Addr { protocol: Protocol::Tcp, addr: ip("198.18.0.10"), port: 80 }
}

fn v6_key() -> ServiceKey {
    ServiceKey::Addr { protocol: Protocol::Tcp, addr: ip("2001:db8::1"), port: 443 }
}

// Service key attributes of v4_key(): AF, PROTOCOL, ADDR (16 bytes), PORT (big-endian).
const V4_KEY: &str = "06000100 02000000  06000200 06000000
                      14000300 c612000a 00000000 00000000 00000000  06000400 00500000";
const V6_KEY: &str = "06000100 0a000000  06000200 06000000
                      14000300 20010db8 00000000 00000000 00000001  06000400 01bb0000";

#[cfg(target_endian = "little")]
mod vectors {
    use super::*;

    #[test]
    fn get_family_ipvs() {
        let want = hex("20000000 1000 0500 01000000 00000000  03010000  09000200 49505653 00000000");
        assert_eq!(bytes(get_family("IPVS")), want);
    }

    #[test]
    fn new_service_v4_tcp_persistent_with_netmask() {
        let svc = Service {
            key: v4_key(),
            scheduler: "wrr".into(),
            persistence: Some(300),
            netmask: Some(0xffff_ff00),
            flags: flags::ONE_PACKET,
        };
        let want = hex(&format!(
            "68000000 2200 0500 01000000 00000000  01010000
             54000180 {V4_KEY}
             08000600 77727200
             0c000700 05000000 ffffffff
             08000800 2c010000
             08000900 ffffff00"
        ));
        assert_eq!(bytes(new_service(FAM, &svc)), want);
    }

    #[test]
    fn set_service_v6_defaults() {
        let svc =
            Service { key: v6_key(), scheduler: "rr".into(), persistence: None, netmask: None, flags: 0 };
        // Netmask default for IPv6 is the prefix length 128, host order.
        let want = hex(&format!(
            "68000000 2200 0500 01000000 00000000  02010000
             54000180 {V6_KEY}
             07000600 72720000
             0c000700 00000000 ffffffff
             08000800 00000000
             08000900 80000000"
        ));
        assert_eq!(bytes(set_service(FAM, &svc)), want);
    }

    #[test]
    fn new_service_fwmark_sched_flags() {
        let svc = Service {
            key: ServiceKey::Fwmark { af: Family::V4, mark: 7 },
            scheduler: "sh".into(),
            persistence: None,
            netmask: None,
            // The caller cannot set PERSISTENT or HASHED through `flags`.
            flags: flags::SCHED1 | flags::SCHED2 | flags::PERSISTENT | flags::HASHED,
        };
        let want = hex("4c000000 2200 0500 01000000 00000000  01010000
             38000180 06000100 02000000  08000500 07000000
             07000600 73680000
             0c000700 18000000 ffffffff
             08000800 00000000
             08000900 ffffffff");
        assert_eq!(bytes(new_service(FAM, &svc)), want);
    }

    #[test]
    fn del_service_sends_only_the_key() {
        let want = hex(&format!("44000000 2200 0500 01000000 00000000  03010000  30000180 {V4_KEY}"));
        assert_eq!(bytes(del_service(FAM, &v4_key())), want);
    }

    #[test]
    fn new_dest_v4_nat_with_thresholds() {
        let d = Dest {
            addr: ip("198.18.1.1"),
            port: 8080,
            weight: 3,
            forward: Forward::Nat,
            u_threshold: 100,
            l_threshold: 10,
        };
        let want = hex(&format!(
            "84000000 2200 0500 01000000 00000000  05010000
             30000180 {V4_KEY}
             40000280 14000100 c6120101 00000000 00000000 00000000
                      06000200 1f900000
                      08000300 00000000
                      08000400 03000000
                      08000500 64000000
                      08000600 0a000000"
        ));
        assert_eq!(bytes(new_dest(FAM, &v4_key(), &d)), want);
    }

    #[test]
    fn set_dest_v6_dr() {
        let d = Dest {
            addr: ip("2001:db8::2"),
            port: 443,
            weight: 1,
            forward: Forward::Dr,
            u_threshold: 0,
            l_threshold: 0,
        };
        let want = hex(&format!(
            "84000000 2200 0500 01000000 00000000  06010000
             30000180 {V6_KEY}
             40000280 14000100 20010db8 00000000 00000000 00000002
                      06000200 01bb0000
                      08000300 03000000
                      08000400 01000000
                      08000500 00000000
                      08000600 00000000"
        ));
        assert_eq!(bytes(set_dest(FAM, &v6_key(), &d)), want);
    }

    #[test]
    fn del_dest_other_family_names_it() {
        let key = ServiceKey::Fwmark { af: Family::V4, mark: 7 };
        let want = hex("50000000 2200 0500 01000000 00000000  07010000
             14000180 06000100 02000000  08000500 07000000
             28000280 14000100 20010db8 00000000 00000000 00000005
                      06000200 00000000
                      06000b00 0a000000");
        assert_eq!(bytes(del_dest(FAM, &key, ip("2001:db8::5"), 0)), want);
    }

    #[test]
    fn flush_info_config_and_dumps() {
        assert_eq!(bytes(flush(FAM)), hex("14000000 2200 0500 01000000 00000000 11010000"));
        assert_eq!(bytes(get_info(FAM)), hex("14000000 2200 0500 01000000 00000000 0f010000"));
        assert_eq!(bytes(get_config(FAM)), hex("14000000 2200 0500 01000000 00000000 0d010000"));
        // NLM_F_REQUEST | NLM_F_DUMP = 0x301.
        assert_eq!(bytes(get_services(FAM)), hex("14000000 2200 0103 01000000 00000000 04010000"));
        let want = hex(&format!("44000000 2200 0103 01000000 00000000 08010000 30000180 {V4_KEY}"));
        assert_eq!(bytes(get_dests(FAM, &v4_key())), want);
    }

    #[test]
    fn sync_daemon_start_stop_and_dump() {
        let d = SyncDaemon {
            role: SyncRole::Master,
            ifname: "eth1".into(),
            sync_id: 7,
            maxlen: None,
            group: Some(ip("224.0.0.81")),
            port: Some(8848),
            ttl: Some(2),
        };
        // The port is host order (the kernel reads it with nla_get_u16).
        let want = hex("4c000000 2200 0500 01000000 00000000 09010000  38000380
             08000100 01000000  09000200 65746831 00000000  08000300 07000000
             08000500 e0000051  06000700 90220000  05000800 02000000");
        assert_eq!(bytes(new_daemon(FAM, &d)), want);
        let want = hex("20000000 2200 0500 01000000 00000000 0a010000  0c000380 08000100 02000000");
        assert_eq!(bytes(del_daemon(FAM, SyncRole::Backup)), want);
        assert_eq!(bytes(get_daemons(FAM)), hex("14000000 2200 0103 01000000 00000000 0b010000"));
    }

    #[test]
    fn set_timeouts_skips_zeroes() {
        let t = Timeouts { tcp: 900, tcp_fin: 0, udp: 300 };
        let want = hex("24000000 2200 0500 01000000 00000000  0c010000
             08000400 84030000  08000600 2c010000");
        assert_eq!(bytes(set_timeouts(FAM, &t)), want);
    }

    /// A GET_SERVICE dump datagram as Linux 6.1 sends it: NEW_SERVICE with
    /// HASHED set, stats nests, then NLMSG_DONE.
    #[test]
    fn kernel_service_dump_is_parsed() {
        let d = hex(&format!(
            "7c000000 2200 0200 09000000 39300000  01010000
             68000100 {V4_KEY}
                      08000600 77726300
                      0c000700 03000000 ffffffff
                      08000800 3c000000
                      08000900 ffffff00
                      0c000a00 08000100 05000000
                      08000b00 00000000
             14000000 0300 0200 09000000 39300000 00000000"
        ));
        let mut got = Vec::new();
        for m in Messages::new(&d) {
            match m.unwrap().classify().unwrap() {
                Reply::Data(m) => got.push(parse_service(m.payload).unwrap()),
                Reply::Done => got.push(Service {
                    key: ServiceKey::Fwmark { af: Family::V6, mark: 1 },
                    scheduler: "done".into(),
                    persistence: None,
                    netmask: None,
                    flags: 0,
                }),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            Service {
                key: v4_key(),
                scheduler: "wrc".into(),
                persistence: Some(60),
                netmask: Some(0xffff_ff00),
                flags: 0
            }
        );
        assert_eq!(got[1].scheduler, "done");
    }

    #[test]
    fn kernel_dest_reply_is_parsed() {
        // ADDR_FAMILY present (Linux >= 3.18), connection counters, stats.
        let p = hex("05010000
             5c000200 14000100 c6120102 00000000 00000000 00000000
                      06000200 00500000
                      08000300 02000000
                      08000400 07000000
                      08000500 00000000
                      08000600 00000000
                      08000700 02000000
                      08000800 01000000
                      06000b00 02000000
                      04000a00");
        let d = parse_dest(&p, Family::V4).unwrap();
        assert_eq!(
            d,
            Dest {
                addr: ip("198.18.1.2"),
                port: 80,
                weight: 7,
                forward: Forward::Tun,
                u_threshold: 0,
                l_threshold: 0
            }
        );
    }

    #[test]
    fn family_and_info_replies() {
        let fam = hex("01020000  09000200 49505653 00000000  06000100 22000000
             08000300 01000000  08000500 06000000");
        assert_eq!(parse_family(&fam).unwrap(), 0x22);
        let info = parse_info(&hex("0e010000 08000100 01020100 08000200 00100000")).unwrap();
        assert_eq!(info, Info { version: 0x010201, conn_tab_size: 4096 });
        assert_eq!(info.version_string(), "1.2.1");
        let t = parse_timeouts(&hex("0c010000 08000400 84030000 08000500 78000000 08000600 2c010000"));
        assert_eq!(t.unwrap(), Timeouts { tcp: 900, tcp_fin: 120, udp: 300 });
    }
}

fn sample_services() -> Vec<Service> {
    vec![
        Service {
            key: v4_key(),
            scheduler: "wrr".into(),
            persistence: Some(300),
            netmask: Some(0xffff_0000),
            flags: flags::ONE_PACKET,
        },
        Service { key: v6_key(), scheduler: "rr".into(), persistence: None, netmask: Some(64), flags: 0 },
        Service {
            key: ServiceKey::Addr { protocol: Protocol::Udp, addr: ip("198.18.0.11"), port: 53 },
            scheduler: "lc".into(),
            persistence: Some(0),
            netmask: None,
            flags: 0,
        },
        Service {
            key: ServiceKey::Addr { protocol: Protocol::Sctp, addr: ip("2001:db8::9"), port: 38412 },
            scheduler: "mh".into(),
            persistence: None,
            netmask: None,
            flags: flags::SCHED1 | flags::SCHED2,
        },
        Service {
            key: ServiceKey::Fwmark { af: Family::V6, mark: 0xdead_beef },
            scheduler: "sh".into(),
            persistence: None,
            netmask: None,
            flags: flags::SCHED3,
        },
    ]
}

fn sample_dests() -> Vec<Dest> {
    let d = |a: &str, port, weight, forward| Dest {
        addr: ip(a),
        port,
        weight,
        forward,
        u_threshold: 5,
        l_threshold: 1,
    };
    vec![
        d("198.18.1.1", 80, 1, Forward::Nat),
        d("198.18.1.2", 0, 0, Forward::Dr),
        d("2001:db8::7", 65535, 100, Forward::Tun),
        d("2001:db8::8", 443, u32::MAX, Forward::Local),
    ]
}

/// A request's payload has the same shape as the kernel's reply, so
/// parse(encode(x)) must give x back on any host.
#[test]
fn encode_then_parse_round_trips() {
    for svc in sample_services() {
        let mut r = new_service(FAM, &svc);
        let b = r.finish(1).to_vec();
        let m = Messages::new(&b).next().unwrap().unwrap();
        assert_eq!(parse_service(m.payload).unwrap(), svc);
    }
    for d in sample_dests() {
        for key in [v4_key(), v6_key()] {
            let mut r = new_dest(FAM, &key, &d);
            let b = r.finish(1).to_vec();
            let m = Messages::new(&b).next().unwrap().unwrap();
            assert_eq!(parse_dest(m.payload, key.family()).unwrap(), d);
        }
    }
}

#[test]
fn sync_daemons_round_trip() {
    let minimal = SyncDaemon {
        role: SyncRole::Backup,
        ifname: "veth-dir1".into(),
        sync_id: 255,
        maxlen: None,
        group: None,
        port: None,
        ttl: None,
    };
    let full = SyncDaemon {
        role: SyncRole::Master,
        maxlen: Some(1400),
        group: Some(ip("ff02::1:81")),
        port: Some(9000),
        ttl: Some(3),
        ..minimal.clone()
    };
    for d in [minimal, full] {
        let mut r = new_daemon(FAM, &d);
        let b = r.finish(1).to_vec();
        let m = Messages::new(&b).next().unwrap().unwrap();
        assert_eq!(parse_daemon(m.payload).unwrap(), d);
    }
    let mut r = del_daemon(FAM, SyncRole::Master);
    let b = r.finish(1).to_vec();
    let m = Messages::new(&b).next().unwrap().unwrap();
    assert!(parse_daemon(m.payload).is_err(), "a daemon without an interface is malformed");
}

#[test]
fn bad_replies_are_errors() {
    assert!(matches!(parse_service(&[1, 1]), Err(Error::Malformed(_))));
    // A genl header and nothing else: no service nest.
    assert!(matches!(parse_service(&[1, 1, 0, 0]), Err(Error::Malformed(_))));
    assert!(parse_family(&[1, 2, 0, 0]).is_err());
    // A service nest without its address.
    let mut b = Vec::new();
    let mut r = del_service(FAM, &v4_key());
    b.extend_from_slice(&r.finish(1)[16..]);
    b.truncate(4 + 4 + 16); // genl + nest header + AF + PROTOCOL
    b[4] = 20; // nest length
    assert!(matches!(parse_service(&b), Err(Error::Malformed(_))));
}

#[test]
fn local_validation_refuses_bad_arguments() {
    let mut svc = sample_services().remove(0);
    svc.scheduler = "a-scheduler-name-too-long".into();
    assert_eq!(validate_service(&svc).unwrap_err().errno(), Some(libc::EINVAL));
    let mut svc = sample_services().remove(1);
    svc.netmask = Some(129);
    assert!(validate_service(&svc).is_err());
    assert!(validate_key(&ServiceKey::Fwmark { af: Family::V4, mark: 0 }).is_err());
    for s in sample_services() {
        validate_service(&s).unwrap();
    }
}

#[test]
fn error_classes() {
    let e = Error::Kernel { errno: libc::EEXIST, what: "add IPVS service TCP 198.18.0.10:80".into() };
    assert!(e.is_exists() && !e.is_not_found());
    assert!(e.to_string().starts_with("add IPVS service TCP 198.18.0.10:80: "));
    assert!(Error::Kernel { errno: libc::ESRCH, what: String::new() }.is_not_found());
    assert!(Error::Kernel { errno: libc::ENOENT, what: String::new() }.is_not_found());
    assert_eq!(Error::NotAvailable.errno(), None);
    assert_eq!(v6_key().to_string(), "TCP [2001:db8::1]:443");
    assert_eq!(ServiceKey::Fwmark { af: Family::V4, mark: 3 }.to_string(), "FWM 3 IPv4");
}

/// This host's kernel may or may not have IPVS; either way `open` must say
/// so cleanly (root is needed only for changes, not for resolving).
#[test]
fn open_reports_availability() {
    match Ipvs::open() {
        Ok(mut ipvs) => {
            assert!(ipvs.family_id() >= 0x10);
            let info = ipvs.info().unwrap();
            assert!(info.version > 0);
        }
        Err(Error::NotAvailable) => {}
        Err(e) => panic!("unexpected error from Ipvs::open: {e}"),
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn parse_everything(b: &[u8]) {
    let _ = parse_service(b);
    let _ = parse_dest(b, Family::V4);
    let _ = parse_dest(b, Family::V6);
    let _ = parse_info(b);
    let _ = parse_timeouts(b);
    let _ = parse_family(b);
    let _ = parse_daemon(b);
    for m in Messages::new(b).flatten() {
        if let Ok(Reply::Data(m)) = m.classify() {
            let _ = parse_service(m.payload);
            let _ = parse_dest(m.payload, Family::V4);
            let _ = parse_daemon(m.payload);
        }
    }
}

/// 20,000 random and mutated replies: parsers return errors, never panic.
#[test]
fn hostile_replies_never_panic() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for s in sample_services() {
        seeds.push(new_service(FAM, &s).finish(3).to_vec());
    }
    for d in sample_dests() {
        seeds.push(new_dest(FAM, &v6_key(), &d).finish(4).to_vec());
    }
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut parsed_ok = 0;
    for case in 0..20_000 {
        let b: Vec<u8> = if case % 4 == 0 {
            let len = rng.below(200);
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let mut b = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(4) {
                if b.is_empty() {
                    break;
                }
                let i = rng.below(b.len());
                match rng.below(3) {
                    0 => b[i] = rng.next() as u8,
                    1 => b[i] ^= 1 << rng.below(8),
                    _ => b.truncate(i),
                }
            }
            b
        };
        parse_everything(&b);
        if b.len() > 16 {
            parse_everything(&b[16..]);
            parsed_ok +=
                usize::from(parse_service(&b[16..]).is_ok() || parse_dest(&b[16..], Family::V6).is_ok());
        }
    }
    // The mutations keep a fair share decodable, so both paths are exercised.
    assert!(parsed_ok > 1000, "only {parsed_ok} mutated replies decoded");
}
