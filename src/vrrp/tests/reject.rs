//! One crafted bad packet per `Reject` reason, plus the non-dropping notices.

use std::net::IpAddr;
use std::time::Duration;

use crate::vrrp::packet::AUTH_PASS;
use crate::vrrp::{
    validate, Action, Advert, Auth, ChecksumForm, Instance, InstanceParams, Instant, Reject, RxContext,
    Version,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn params(version: Version) -> InstanceParams {
    let mut p = InstanceParams::new("VI_1", 51, 100, ip("198.18.0.12"));
    p.version = version;
    p.vips = vec![ip("198.18.0.100")];
    if version == Version::V2 {
        p.auth = Auth::pass("secret");
    }
    p
}

fn good(version: Version) -> Advert {
    let mut a = Instance::new(params(version)).advert(100);
    a.priority = 150;
    a
}

fn ctx() -> RxContext {
    RxContext { src: ip("198.18.0.11"), dst: ip("224.0.0.18"), ttl: 255, ip_header_len: 20 }
}

fn bytes(a: &Advert, c: &RxContext) -> Vec<u8> {
    a.to_bytes(ChecksumForm::for_tx(a.version, c.src, c.dst, false)).unwrap()
}

fn check(p: &InstanceParams, c: &RxContext, b: &[u8]) -> Result<(), Reject> {
    validate(c, b, p).map(|_| ())
}

#[test]
fn good_packets_pass() {
    for v in [Version::V2, Version::V3] {
        let valid = validate(&ctx(), &bytes(&good(v), &ctx()), &params(v)).unwrap();
        assert_eq!(valid.advert.priority, 150);
        assert!(!valid.notices.interval_mismatch && !valid.notices.addr_list_mismatch);
    }
}

#[test]
fn each_reject_reason() {
    let p = params(Version::V2);
    let c = ctx();
    let ok = bytes(&good(Version::V2), &c);
    let with = |f: &dyn Fn(&mut Advert)| {
        let mut a = good(Version::V2);
        f(&mut a);
        bytes(&a, &c)
    };

    let v6 = RxContext { src: ip("fe80::1"), dst: ip("ff02::12"), ..c };
    assert_eq!(check(&p, &v6, &ok), Err(Reject::WrongFamily));
    assert_eq!(check(&p, &c, &ok[..7]), Err(Reject::BadLength));
    assert_eq!(check(&p, &c, &ok[..19]), Err(Reject::BadLength));
    let mut long = ok.clone();
    long.extend_from_slice(&[0; 40]);
    assert_eq!(check(&p, &c, &long), Err(Reject::BadLength));
    assert_eq!(check(&p, &c, &with(&|a| a.vrid = 52)), Err(Reject::BadVrid));
    assert_eq!(check(&p, &RxContext { ttl: 254, ..c }, &ok), Err(Reject::BadTtl));
    let mut v3 = ok.clone();
    v3[0] = 0x31;
    assert_eq!(check(&p, &c, &v3), Err(Reject::BadVersion));
    assert_eq!(check(&p, &c, &with(&|a| a.auth_type = 0)), Err(Reject::BadAuthType));
    assert_eq!(check(&p, &c, &with(&|a| a.auth_type = 5)), Err(Reject::BadAuthType));
    assert_eq!(check(&p, &c, &with(&|a| a.auth_data = *b"secreT\0\0")), Err(Reject::AuthMismatch));
    assert_eq!(check(&p, &c, &with(&|a| a.interval_cs = 200)), Err(Reject::IntervalMismatch));
    let mut kind = ok.clone();
    kind[0] = 0x22;
    assert_eq!(check(&p, &c, &kind), Err(Reject::BadType));
    let mut sum = ok.clone();
    sum[7] ^= 0x40;
    assert_eq!(check(&p, &c, &sum), Err(Reject::BadChecksum));
    let unicast_dst = RxContext { dst: ip("198.18.0.12"), ..c };
    assert_eq!(
        check(&p, &unicast_dst, &bytes(&good(Version::V2), &unicast_dst)),
        Err(Reject::WrongDestination)
    );
    let mut owner = p.clone();
    owner.priority = 255;
    owner.owner_ignore_adverts = true;
    assert_eq!(check(&owner, &c, &ok), Err(Reject::OwnerIgnores));
    owner.owner_ignore_adverts = false;
    assert_eq!(check(&owner, &c, &ok), Ok(()), "keepalived's default: an owner processes adverts");
}

#[test]
fn unicast_mode() {
    let mut p = params(Version::V3);
    p.unicast_peers = vec![ip("198.18.0.13")];
    let c = RxContext { src: ip("198.18.0.11"), dst: ip("198.18.0.12"), ttl: 64, ip_header_len: 20 };
    let b = bytes(&good(Version::V3), &c);
    assert_eq!(check(&p, &c, &b), Err(Reject::BadUnicastSource));
    p.check_unicast_src = false;
    assert_eq!(check(&p, &c, &b), Ok(()), "no TTL check in unicast mode");
    p.unicast_peers = vec![ip("198.18.0.11")];
    p.check_unicast_src = true;
    assert_eq!(check(&p, &c, &b), Ok(()));
    let mcast = ctx();
    assert_eq!(check(&p, &mcast, &bytes(&good(Version::V3), &mcast)), Err(Reject::WrongDestination));
}

/// A v3 advert with interval 0 would be adopted as 1 cs and shrink a backup's
/// master-down interval to about 30 ms: rejected and counted instead.
#[test]
fn v3_zero_interval_is_rejected_not_adopted() {
    let p = params(Version::V3);
    let mut a = good(Version::V3);
    a.interval_cs = 0;
    assert_eq!(check(&p, &ctx(), &bytes(&a, &ctx())), Err(Reject::ZeroInterval));
    let mut inst = Instance::new(p);
    inst.start(Instant::ZERO);
    let down = inst.master_down_interval();
    assert_eq!(inst.receive(Instant::from_millis(10), &ctx(), &bytes(&a, &ctx())), Err(Reject::ZeroInterval));
    assert_eq!(inst.master_down_interval(), down);
    assert_eq!(inst.counters().rejects(Reject::ZeroInterval), 1);
}

#[test]
fn ethernet_padding_is_tolerated() {
    let p = params(Version::V3);
    let mut b = bytes(&good(Version::V3), &ctx());
    b.extend_from_slice(&[0; 14]); // 20 + 12 + 14 = 46: minimum Ethernet payload
    let valid = validate(&ctx(), &b, &p).unwrap();
    assert_eq!(valid.advert.addrs, vec![ip("198.18.0.100")]);
}

#[test]
fn v3_notices_do_not_drop() {
    let p = params(Version::V3);
    let mut a = good(Version::V3);
    a.interval_cs = 50;
    a.addrs = vec![ip("198.18.0.100"), ip("198.18.0.101")];
    let valid = validate(&ctx(), &bytes(&a, &ctx()), &p).unwrap();
    assert!(valid.notices.interval_mismatch);
    assert!(valid.notices.addr_list_mismatch);
    // Same set in another order is not a mismatch.
    let mut p2 = p.clone();
    p2.vips = vec![ip("198.18.0.101"), ip("198.18.0.100")];
    a.interval_cs = 100;
    assert!(!validate(&ctx(), &bytes(&a, &ctx()), &p2).unwrap().notices.addr_list_mismatch);
}

#[test]
fn instance_counts_and_rate_limits_rejects() {
    let mut p = params(Version::V2);
    p.log_interval = Duration::from_secs(10);
    let mut inst = Instance::new(p);
    inst.start(Instant::ZERO);
    while inst.poll_action().is_some() {}
    let mut bad = good(Version::V2);
    bad.auth_data = *b"wrong\0\0\0";
    let b = bytes(&bad, &ctx());
    let mut logs = 0;
    for s in 0..25 {
        assert_eq!(inst.receive(Instant::from_secs(s), &ctx(), &b), Err(Reject::AuthMismatch));
        while let Some(a) = inst.poll_action() {
            if let Action::Log { line, .. } = a {
                assert_eq!(line, "(VI_1) received an invalid passwd!");
                logs += 1;
            }
        }
    }
    assert_eq!(inst.counters().auth_mismatch, 25);
    assert_eq!(inst.counters().rejects(Reject::AuthMismatch), 25);
    assert_eq!(inst.counters().rx, 0);
    assert_eq!(logs, 3, "at 0 s, 10 s and 20 s");
    assert_eq!(good(Version::V2).auth_type, AUTH_PASS);
}
