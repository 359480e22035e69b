//! AH authentication: known answers from a keepalived 2.2.7 capture and from
//! Python's hmac/hashlib, the receive checks, and keepalived's handling of
//! the sequence number (one counter for sending and receiving).

use std::net::{IpAddr, Ipv4Addr};

use super::pcap::ipv4_frames;
use crate::vrrp::ah::{self, AhError, AhHeader, AhTx};
use crate::vrrp::packet::AUTH_AH;
use crate::vrrp::{
    validate, validate_ah, Action, Advert, Auth, Family, Instance, InstanceParams, Instant, Ipv4Header,
    Reject, RxContext, State,
};

/// keepalived 2.2.7, `auth_type AH`, `auth_pass s3cret`, VRID 51, priority 150,
/// VIP 198.18.250.100, from 198.18.250.1: its first four adverts as master.
const REF_AH: &[u8] = include_bytes!("fixtures/ref-vrrpv2-ah.pcap");
const KEY: [u8; 8] = *b"s3cret\0\0";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn keepalived_capture_verifies_and_rebuilds_byte_for_byte() {
    let frames = ipv4_frames(REF_AH);
    assert_eq!(frames.len(), 4);
    let src = Ipv4Addr::new(198, 18, 250, 1);
    for (n, f) in frames.iter().enumerate() {
        let d = Ipv4Header::parse(&f.ip).expect("IPv4 header");
        assert_eq!(d.header.protocol, ah::IP_PROTO_AH);
        assert_eq!((d.header.src, d.header.dst, d.header.ttl), (src, Ipv4Addr::new(224, 0, 0, 18), 255));
        // keepalived numbers IP identification and AH sequence from 1.
        let seq = n as u32 + 1;
        assert_eq!(d.header.ident, seq as u16);
        let hdr = AhHeader::parse(d.payload).unwrap();
        assert_eq!((hdr.next_header, hdr.payload_len, hdr.spi, hdr.seq), (112, 4, u32::from(src), seq));
        let ip_header = &f.ip[..d.header_len];
        assert_eq!(ah::verify(&KEY, ip_header, d.payload, src, false), Ok(hdr));
        assert_eq!(ah::verify(b"s3creT\0\0", ip_header, d.payload, src, false), Err(AhError::BadIcv));
        // The multicast TTL is part of the ICV.
        assert_eq!(ah::verify(&KEY, ip_header, d.payload, src, true), Err(AhError::BadIcv));

        let advert = Advert::parse_bytes(&d.payload[ah::HEADER_LEN..], Family::V4).unwrap();
        assert_eq!((advert.vrid, advert.priority, advert.auth_type), (51, 150, AUTH_AH));
        assert_eq!(advert.auth_data, [0; 8], "the key never goes on the wire");
        let tx = AhTx { key: KEY, seq, ident: seq as u16, ttl: 255, unicast: false };
        let built = ah::build_datagram(&advert, src, d.header.dst, &tx).unwrap();
        assert_eq!(built, f.ip, "frame {n}");
    }
}

#[test]
fn unicast_datagram_matches_python_hmac() {
    // Python: hmac.new(b"s3cret\0\0", ip_header_with_tos_frag_sum_ttl_zeroed + ah_with_zero_icv
    // + vrrp, hashlib.md5).digest()[:12], and the rest of the datagram built by hand.
    let want = hex("45c00040123400004033db5bc612000bc612000c70040000c612000b0000002a\
         a397bb99f14fae7354d09a762133960102018053c61200640000000000000000");
    let mut p = InstanceParams::new("VI_1", 51, 150, ip("198.18.0.11"));
    p.vips = vec![ip("198.18.0.100")];
    p.auth = Auth::ah(b"s3cret");
    let advert = Instance::new(p).advert(150);
    let tx = AhTx { key: KEY, seq: 42, ident: 0x1234, ttl: 64, unicast: true };
    let (src, dst) = (Ipv4Addr::new(198, 18, 0, 11), Ipv4Addr::new(198, 18, 0, 12));
    let built = ah::build_datagram(&advert, src, dst, &tx).unwrap();
    assert_eq!(built, want);
    // Unicast: the TTL may change on the way (unicast_ttl, routers), the ICV still holds.
    let mut hop = built.clone();
    hop[8] = 63;
    assert!(ah::verify(&KEY, &hop[..20], &hop[20..], src, true).is_ok());
    assert_eq!(ah::verify(&KEY, &hop[..20], &hop[20..], src, false), Err(AhError::BadIcv));
}

/// An AH instance on 198.18.0.12 and adverts to it from 198.18.0.11.
fn params() -> InstanceParams {
    let mut p = InstanceParams::new("VI_1", 51, 100, ip("198.18.0.12"));
    p.vips = vec![ip("198.18.0.100")];
    p.auth = Auth::ah(b"s3cret");
    p
}

fn ctx() -> RxContext {
    RxContext { src: ip("198.18.0.11"), dst: ip("224.0.0.18"), ttl: 255, ip_header_len: 20 }
}

fn datagram(priority: u8, seq: u32) -> Vec<u8> {
    let mut p = params();
    p.source = ip("198.18.0.11");
    let advert = Instance::new(p).advert(priority);
    let tx = AhTx { key: KEY, seq, ident: seq as u16, ttl: 255, unicast: false };
    ah::build_datagram(&advert, Ipv4Addr::new(198, 18, 0, 11), Ipv4Addr::new(224, 0, 0, 18), &tx).unwrap()
}

fn check(p: &InstanceParams, d: &[u8]) -> Result<Option<u32>, Reject> {
    validate_ah(&ctx(), &d[..20], &d[20..], p).map(|v| v.ah_seq)
}

/// Recompute the ICV after a change, so that only the change is judged.
fn resign(d: &mut [u8]) {
    let icv = ah::icv(&KEY, &d[..20], &d[20..], false).unwrap();
    d[32..44].copy_from_slice(&icv);
}

#[test]
fn each_ah_reject_reason() {
    let p = params();
    let ok = datagram(150, 7);
    assert_eq!(check(&p, &ok), Ok(Some(7)));

    // Any changed byte behind the IP header's mutable fields breaks the ICV.
    for at in [3, 4, 9, 12, 19, 27, 31, 35, 40, 46, 50, 54, 63] {
        let mut bad = ok.clone();
        bad[at] ^= 1;
        let got = check(&p, &bad);
        assert!(matches!(got, Err(Reject::AhAuthFailure | Reject::BadVrid)), "byte {at}: {got:?}");
    }
    // TOS, fragment field and IP checksum are outside it (the kernel checks the latter).
    for at in [1, 6, 10, 11] {
        let mut mutable = ok.clone();
        mutable[at] ^= 1;
        assert_eq!(check(&p, &mutable), Ok(Some(7)), "byte {at}");
    }
    let mut other_key = p.clone();
    other_key.auth = Auth::ah(b"s3creT");
    assert_eq!(check(&other_key, &ok), Err(Reject::AhAuthFailure));

    let mut spi = ok.clone();
    spi[27] ^= 1;
    resign(&mut spi);
    assert_eq!(check(&p, &spi), Err(Reject::AhBadHeader));
    let mut next = ok.clone();
    next[20] = 6;
    resign(&mut next);
    assert_eq!(check(&p, &next), Err(Reject::AhBadHeader));

    // AH where none is expected, and the reverse: keepalived's auth type mismatch.
    let mut pass = p.clone();
    pass.auth = Auth::pass("s3cret");
    assert_eq!(check(&pass, &ok), Err(Reject::BadAuthType));
    assert_eq!(validate(&ctx(), &ok[44..], &p).map(|_| ()), Err(Reject::BadAuthType));
    // An AH header around a PASS/none advert is judged by the VRRP auth type first.
    let mut wrong_type = ok.clone();
    wrong_type[44 + 4] = 1;
    assert_eq!(check(&p, &wrong_type), Err(Reject::BadAuthType));

    assert_eq!(check(&p, &ok[..40]), Err(Reject::BadLength));
    assert_eq!(check(&p, &ok[..60]), Err(Reject::BadLength));
    let mut vrid = ok.clone();
    vrid[45] = 52;
    assert_eq!(check(&p, &vrid), Err(Reject::BadVrid));
    let low_ttl = RxContext { ttl: 254, ..ctx() };
    assert_eq!(validate_ah(&low_ttl, &ok[..20], &ok[20..], &p).map(|_| ()), Err(Reject::BadTtl));
    for n in 20..ok.len() {
        let _ = check(&p, &ok[..n]);
    }
}

fn drain(inst: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| inst.poll_action()).collect()
}

fn sent_seqs(actions: &[Action]) -> Vec<Option<u32>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { ah_seq, .. } => Some(*ah_seq),
            _ => None,
        })
        .collect()
}

fn rx(inst: &mut Instance, t: Instant, priority: u8, seq: u32) -> Result<(), Reject> {
    let d = datagram(priority, seq);
    inst.receive_ah(t, &ctx(), &d[..20], &d[20..])
}

#[test]
fn backup_tracks_the_sequence_and_drops_replays() {
    let mut inst = Instance::new(params());
    inst.start(Instant::ZERO);
    drain(&mut inst);
    assert_eq!(rx(&mut inst, Instant::from_secs(1), 150, 5), Ok(()));
    assert_eq!(rx(&mut inst, Instant::from_secs(2), 150, 5), Err(Reject::AhReplay));
    assert_eq!(rx(&mut inst, Instant::from_secs(3), 150, 3), Err(Reject::AhReplay));
    assert_eq!(rx(&mut inst, Instant::from_secs(4), 150, 9), Ok(()));
    let logs: Vec<String> = drain(&mut inst)
        .into_iter()
        .filter_map(|a| match a {
            Action::Log { line, .. } => Some(line),
            _ => None,
        })
        .collect();
    assert!(logs.iter().any(|l| l.contains("IPSEC-AH : sequence number from 198.18.0.11 already processed")));
    assert_eq!(inst.counters().ah_replay, 2);
    assert_eq!(inst.counters().rejects(Reject::AhReplay), 2);
    assert_eq!(inst.counters().rx, 2);
    assert_eq!(inst.ah_seq(), 9);
    assert_eq!(inst.master().map(|m| m.addr), Some(ip("198.18.0.11")));

    // The master is gone: we take over and continue above what we have seen,
    // so the other backups (keepalived included) accept us.
    let t = Instant::from_secs(10);
    inst.handle_timeout(t);
    let actions = drain(&mut inst);
    assert_eq!(inst.state(), State::Master);
    assert_eq!(sent_seqs(&actions), vec![Some(10)]);
    inst.handle_timeout(inst.poll_timeout().unwrap());
    assert_eq!(sent_seqs(&drain(&mut inst)), vec![Some(11)]);
}

#[test]
fn master_jumps_past_a_lower_priority_rival() {
    let mut p = params();
    p.priority = 255;
    let mut inst = Instance::new(p);
    inst.start(Instant::ZERO);
    assert_eq!(sent_seqs(&drain(&mut inst)), vec![Some(1)]);
    // A rival that believes it is master, far ahead in numbers (keepalived:
    // "Syncing seq_num - Increment seq"): its number + 1, then our advert.
    assert_eq!(rx(&mut inst, Instant::from_secs(1), 100, 500), Ok(()));
    let actions = drain(&mut inst);
    assert_eq!(sent_seqs(&actions), vec![Some(502)]);
    let sync = Action::Log {
        level: log::Level::Info,
        line: "(VI_1) IPSEC-AH : Syncing seq_num - Increment seq".into(),
    };
    assert!(actions.contains(&sync), "{actions:?}");
    assert_eq!(rx(&mut inst, Instant::from_secs(2), 100, 502), Err(Reject::AhReplay));
    // Shutdown: the priority-0 advert continues the sequence too.
    inst.shutdown(Instant::from_secs(3));
    let actions = drain(&mut inst);
    assert!(
        actions.contains(&Action::SendAdvert { priority: 0, ah_seq: Some(503), hmac_seq: None, due: None }),
        "{actions:?}"
    );
}

#[test]
fn counter_at_the_top_stops_and_restarts_on_the_next_takeover() {
    let mut inst = Instance::new(params());
    inst.start(Instant::ZERO);
    drain(&mut inst);
    assert_eq!(rx(&mut inst, Instant::from_secs(1), 150, 0xffff_fffe), Ok(()));
    inst.handle_timeout(Instant::from_secs(10));
    // keepalived stops counting above 0xfffffffd: the peers drop these as replays.
    assert_eq!(sent_seqs(&drain(&mut inst)), vec![Some(0xffff_fffe)]);
    inst.set_fault(Instant::from_secs(11), true);
    assert_eq!(sent_seqs(&drain(&mut inst)), vec![Some(0xffff_fffe)]);
    inst.set_fault(Instant::from_secs(12), false);
    drain(&mut inst);
    inst.handle_timeout(Instant::from_secs(20));
    assert_eq!(inst.state(), State::Master);
    assert_eq!(sent_seqs(&drain(&mut inst)), vec![Some(1)], "restarted from 0 on becoming master");
}

#[test]
fn no_ah_no_sequence() {
    let mut p = params();
    p.auth = Auth::pass("s3cret");
    p.priority = 255;
    let mut inst = Instance::new(p);
    inst.start(Instant::ZERO);
    assert_eq!(sent_seqs(&drain(&mut inst)), vec![None]);
}

#[test]
fn a_restarted_instance_continues_the_sequence() {
    let mut p = params();
    p.priority = 255;
    let mut inst = Instance::new(p);
    inst.continue_ah_seq(41);
    inst.continue_ah_seq(7);
    inst.start(Instant::ZERO);
    assert_eq!(sent_seqs(&drain(&mut inst)), vec![Some(42)]);
}
