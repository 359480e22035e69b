//! auth_hmac: keepalived's test vectors (test/auth_hmac_test.c, reproduced
//! with Python's hmac/hashlib), every single-byte mutation of the IPv6 image,
//! the sequence and replay rules, the modes, and the receive path end to end.

use std::net::IpAddr;
use std::time::Duration;

use crate::vrrp::checksum;
use crate::vrrp::hmac::{
    self, derived_window, newer, AntiReplay, HmacError, HmacParams, Mode, ReplayMark, ReplayTable, SeqGen,
    Trailer, TRAILER_LEN,
};
use crate::vrrp::packet::{self, Version};
use crate::vrrp::{
    validate, Action, Advert, ChecksumForm, Family, Instance, InstanceParams, Instant, Reject, RxContext,
    State,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn key() -> Vec<u8> {
    (0u8..32).collect()
}

/// The vectors' receiver: key 1, monotonic (the timestamps are fixed).
fn vec_params() -> HmacParams {
    HmacParams { anti_replay: AntiReplay::Monotonic, ..HmacParams::new(1, &key()) }
}

const V4_IMAGE: &str = "3133c80100644402c0000264 010100006800000080000000 1b84bc4e8e43892dc6d98448f8ee2265";
const V6_IMAGE: &str = "3133c8010064a2e9 fe800000000000000000000000000100 010100006800000080000000
                        c8c56146ebfd66ee10ec4d8186461b78";
const SEQ: u64 = 0x6800_0000_8000_0000;

/// Steps 1-4 and then a fresh replay mark, as the C test's verifier.
fn verify_fresh(p: &HmacParams, src: IpAddr, vrid: u8, image: &[u8]) -> Result<u64, HmacError> {
    let (msg, trailer) = image.split_at(image.len() - TRAILER_LEN);
    let t = hmac::verify(p, None, Version::V3, vrid, src, msg, trailer)?;
    ReplayMark::default().accept(p, 0, t.seq)?;
    Ok(t.seq)
}

#[test]
fn ipv4_vector_signs_and_verifies() {
    let image = hex(V4_IMAGE);
    assert_eq!(image.len(), 40);
    let src = ip("198.51.100.10");
    let advert = Advert {
        version: Version::V3,
        vrid: 51,
        priority: 200,
        addrs: vec![ip("192.0.2.100")],
        auth_type: 0,
        auth_data: [0; 8],
        interval_cs: 100,
        checksum: 0,
    };
    // The message-only checksum (v3_checksum_as_v2), trailer excluded.
    let msg = advert.to_bytes(ChecksumForm::Plain).unwrap();
    assert_eq!(msg, image[..12]);
    let trailer = hmac::sign(&vec_params(), SEQ, Version::V3, 51, src, &msg).unwrap();
    assert_eq!(trailer[..], image[12..]);
    assert_eq!(verify_fresh(&vec_params(), src, 51, &image), Ok(SEQ));
    // The draft's 60-byte HMAC input: pseudo-header, message (checksum 0), trailer head.
    assert_eq!(
        hmac::pseudo_header(Version::V3, 51, src)[..],
        hex("04033300c633640a000000000000000000000000")[..]
    );
}

#[test]
fn ipv6_vector_signs_verifies_and_carries_the_kernel_checksum() {
    let image = hex(V6_IMAGE);
    assert_eq!(image.len(), 52);
    let (src, dst) = (ip("fe80::10"), ip("fe80::20"));
    // Signed with the checksum at zero: the checksum does not matter.
    let mut zeroed = image[..24].to_vec();
    zeroed[6..8].fill(0);
    let trailer = hmac::sign(&vec_params(), SEQ, Version::V3, 51, src, &zeroed).unwrap();
    assert_eq!(trailer[..], image[24..]);
    assert_eq!(verify_fresh(&vec_params(), src, 51, &image), Ok(SEQ));
    // 0xa2e9: the IPv6 transport checksum over all 52 bytes, trailer included.
    let mut whole = zeroed.clone();
    whole.extend_from_slice(&trailer);
    let acc = checksum::pseudo_header_sum(src, dst, whole.len()).unwrap();
    assert_eq!(checksum::finish(checksum::sum(acc, &whole)), 0xa2e9);
    assert!(packet::verify_checksum(&image, Version::V3, src, dst).is_some());
}

#[test]
fn every_single_byte_mutation_of_the_ipv6_image() {
    let image = hex(V6_IMAGE);
    let src = ip("fe80::10");
    let cases: [(usize, Result<u64, HmacError>); 10] = [
        (2, Err(HmacError::BadHmac)),        // priority
        (4, Err(HmacError::BadHmac)),        // advert interval, high byte
        (6, Ok(SEQ)),                        // checksum: read as zero by the HMAC
        (23, Err(HmacError::BadHmac)),       // VIP last byte
        (24, Err(HmacError::Malformed)),     // ext_type
        (25, Err(HmacError::UnknownKey(0))), // key_id
        (26, Err(HmacError::Malformed)),     // reserved
        (28, Err(HmacError::BadHmac)),       // sec high byte (monotonic: not stale)
        (34, Err(HmacError::BadHmac)),       // ctr high byte
        (36, Err(HmacError::BadHmac)),       // hmac first byte
    ];
    for (at, want) in cases {
        let mut m = image.clone();
        m[at] ^= 0x01;
        assert_eq!(verify_fresh(&vec_params(), src, 51, &m), want, "offset {at}");
    }
    // The unmodified image from another source, or for another VRID.
    assert_eq!(verify_fresh(&vec_params(), ip("fe80::20"), 51, &image), Err(HmacError::BadHmac));
    assert_eq!(verify_fresh(&vec_params(), src, 52, &image), Err(HmacError::BadHmac));
    // And every other byte: nothing but the checksum may change.
    for at in 0..image.len() {
        let mut m = image.clone();
        m[at] ^= 0x80;
        let got = verify_fresh(&vec_params(), src, 51, &m);
        assert_eq!(got.is_ok(), (6..8).contains(&at), "offset {at}: {got:?}");
    }
    // A wrong key of the right id.
    let other = HmacParams { keys: vec![(1, vec![7; 32])], ..vec_params() };
    assert_eq!(verify_fresh(&other, src, 51, &image), Err(HmacError::BadHmac));
    // A second key id is found among all configured keys.
    let two = HmacParams { keys: vec![(9, vec![7; 32]), (1, key())], active_key: 9, ..vec_params() };
    assert_eq!(verify_fresh(&two, src, 51, &image), Ok(SEQ));
    // Truncated trailers are malformed, never a panic.
    let (msg, trailer) = image.split_at(24);
    for n in 0..TRAILER_LEN {
        assert_eq!(
            hmac::verify(&vec_params(), None, Version::V3, 51, src, msg, &trailer[..n]),
            Err(HmacError::Malformed)
        );
    }
}

#[test]
fn replay_marks_per_sender() {
    let p = vec_params();
    let image = hex(V6_IMAGE);
    let mut table = ReplayTable::default();
    let peers = [ip("fe80::10"), ip("fe80::11")];
    let seq = verify_fresh(&p, peers[0], 51, &image).unwrap();
    let a = table.mark(&peers, peers[0]).unwrap();
    assert_eq!(a.accept(&p, 0, seq), Ok(()));
    assert_eq!(a.accept(&p, 0, seq), Err(HmacError::Replay));
    assert_eq!(a.accept(&p, 0, seq - 1), Err(HmacError::Replay));
    assert_eq!(a.accept(&p, 0, seq + 1), Ok(()));
    // A second peer's own fresh state.
    assert_eq!(table.mark(&peers, peers[1]).unwrap().accept(&p, 0, seq), Ok(()));
    // Unicast: a source that is no peer has no mark.
    assert!(table.mark(&peers, ip("fe80::99")).is_none());
    // Serial arithmetic across the wrap.
    assert!(newer(0, u64::MAX) && !newer(u64::MAX, 0) && !newer(5, 5));
}

#[test]
fn multicast_slots_are_lru_and_a_new_sender_starts_fresh() {
    let p = vec_params();
    let mut t = ReplayTable::default();
    let srcs: Vec<IpAddr> = (1..=5).map(|i| ip(&format!("198.18.0.{i}"))).collect();
    for s in &srcs[..4] {
        t.mark(&[], *s).unwrap().accept(&p, 0, 100).unwrap();
    }
    // All four are remembered.
    for s in &srcs[..4] {
        assert_eq!(t.mark(&[], *s).unwrap().accept(&p, 0, 100), Err(HmacError::Replay), "{s}");
    }
    // Refresh 1, 3, 4: the fifth sender evicts 2, the least recently used.
    for i in [0, 2, 3] {
        t.mark(&[], srcs[i]).unwrap();
    }
    assert_eq!(t.mark(&[], srcs[4]).unwrap().accept(&p, 0, 100), Ok(()));
    assert_eq!(t.mark(&[], srcs[0]).unwrap().accept(&p, 0, 100), Err(HmacError::Replay));
    // 2 lost its mark: its old sequence is accepted again (keepalived's 4 slots).
    assert_eq!(t.mark(&[], srcs[1]).unwrap().accept(&p, 0, 100), Ok(()));
}

fn time_params() -> HmacParams {
    HmacParams { window: 5, ..HmacParams::new(1, &key()) }
}

#[test]
fn time_mode_stale_window_and_mark_expiry() {
    let p = time_params();
    let now: u64 = 1_800_000_000;
    let src = ip("198.18.0.1");
    let msg = [0x31u8, 1, 100, 1, 0, 100, 0, 0, 198, 18, 0, 100];
    let at = |sec: u64| {
        let t = hmac::sign(&p, sec << 32, Version::V3, 1, src, &msg).unwrap();
        hmac::verify(&p, Some(now), Version::V3, 1, src, &msg, &t).map(|t| t.seq)
    };
    assert_eq!(at(now), Ok(now << 32));
    assert_eq!(at(now - 5), Ok((now - 5) << 32));
    assert_eq!(at(now + 5), Ok((now + 5) << 32));
    assert_eq!(at(now - 100), Err(HmacError::Stale { skew: 100 }));
    assert_eq!(at(now + 100), Err(HmacError::Stale { skew: -100 }));
    // Stale is judged before the key: a stale trailer with an unknown key is stale.
    let mut t = hmac::sign(&p, (now - 100) << 32, Version::V3, 1, src, &msg).unwrap();
    t[1] = 77;
    assert!(matches!(
        hmac::verify(&p, Some(now), Version::V3, 1, src, &msg, &t),
        Err(HmacError::Stale { .. })
    ));
    // A mark far in the future expires; then the same sequence is a replay.
    let mut mark = ReplayMark::default();
    mark.set(Some((now + 3600) << 32));
    assert_eq!(mark.accept(&p, now, now << 32), Ok(()));
    assert_eq!(mark.accept(&p, now, now << 32), Err(HmacError::Replay));
    // Monotonic: no expiry.
    let mono = HmacParams { anti_replay: AntiReplay::Monotonic, ..p.clone() };
    mark.set(Some((now + 7200) << 32));
    assert_eq!(mark.accept(&mono, now, (now + 3600) << 32), Err(HmacError::Replay));
}

#[test]
fn sender_sequence_follows_the_clock_and_recovers_from_steps() {
    let p = time_params();
    let now = Duration::new(1_800_000_000, 500_000_000);
    let mut g = SeqGen::default();
    let s1 = g.next(&p, now);
    assert_eq!(s1, (1_800_000_000u64 << 32) | (0x8000 << 16));
    // Same instant: the counter breaks the tie.
    assert_eq!(g.next(&p, now), s1 + 1);
    assert_eq!(g.next(&p, now + Duration::from_millis(100)) >> 32, 1_800_000_000);
    // Time mode: a mark an hour ahead (clock stepped back) restarts from the clock.
    g.set_last((1_800_003_600u64) << 32);
    assert_eq!(g.next(&p, now) >> 32, 1_800_000_000);
    // Monotonic: never backwards; sec stays ahead, the counter counts.
    let mono = HmacParams { anti_replay: AntiReplay::Monotonic, ..p.clone() };
    g.set_last((1_800_003_600u64) << 32);
    let s = g.next(&mono, now);
    assert_eq!((s >> 32, s & 0xffff), (1_800_003_600, 1));
    // Carry from ctr into subsec.
    g.set_last(0x1234_5678_0000_ffff);
    assert_eq!(g.next(&mono, Duration::ZERO), 0x1234_5678_0001_0000);
}

#[test]
fn derived_window_and_modes() {
    assert_eq!([50, 100, 200, 4000, 25500].map(derived_window), [5, 5, 6, 120, 300]);
    assert!(Mode::Enforce.sends() && Mode::Permissive.sends() && !Mode::ReceiveOnly.sends());
    let ro = HmacParams { mode: Mode::ReceiveOnly, ..time_params() };
    assert_eq!((ro.tx_len(), time_params().tx_len()), (0, TRAILER_LEN));
    let t = Trailer::parse(&hex(V6_IMAGE)[24..]).unwrap();
    assert_eq!((t.ext_type, t.key_id, t.reserved, t.seq, t.sec()), (1, 1, 0, SEQ, 0x6800_0000));
    assert_eq!(Trailer::parse(&t.to_bytes()), Some(t));
    assert!(!format!("{:?}", time_params()).contains("31"), "Debug must not print key bytes");
}

// ---- The receive path: validate + Instance ----

const NOW_UNIX: u64 = 1_800_000_000;

fn inst_params(mode: Mode, unicast: bool) -> InstanceParams {
    let mut p = InstanceParams::new("VI_1", 51, 100, ip("198.18.0.12"));
    p.version = Version::V3;
    p.vips = vec![ip("198.18.0.100")];
    p.hmac = Some(HmacParams { mode, ..time_params() });
    if unicast {
        p.unicast_peers = vec![ip("198.18.0.11")];
    }
    p
}

/// A v3 advert from 198.18.0.11 with `prio`, signed with `key` and `seq`
/// (no trailer when `key` is `None`).
fn advert(prio: u8, key: Option<&[u8]>, seq: u64, dst: &str) -> Vec<u8> {
    let a = Advert {
        version: Version::V3,
        vrid: 51,
        priority: prio,
        addrs: vec![ip("198.18.0.100")],
        auth_type: 0,
        auth_data: [0; 8],
        interval_cs: 100,
        checksum: 0,
    };
    let src = ip("198.18.0.11");
    let mut b = a.to_bytes(ChecksumForm::for_tx(Version::V3, src, ip(dst), false)).unwrap();
    if let Some(k) = key {
        let p = HmacParams::new(1, k);
        b.extend_from_slice(&hmac::sign(&p, seq, Version::V3, 51, src, &b).unwrap());
    }
    b
}

fn ctx(dst: &str) -> RxContext {
    RxContext { src: ip("198.18.0.11"), dst: ip(dst), ttl: 255, ip_header_len: 20 }
}

fn started(p: InstanceParams) -> Instance {
    let mut inst = Instance::new(p);
    inst.set_wall_clock(Instant::ZERO, Duration::from_secs(NOW_UNIX));
    inst.start(Instant::ZERO);
    while inst.poll_action().is_some() {}
    inst
}

#[test]
fn enforce_accepts_signed_and_counts_each_failure() {
    let dst = "198.18.0.12";
    let mut inst = started(inst_params(Mode::Enforce, true));
    let t = Instant::from_secs(1);
    let seq = NOW_UNIX << 32;
    let good = advert(200, Some(&key()), seq, dst);
    assert_eq!(inst.receive(t, &ctx(dst), &good), Ok(()));
    assert_eq!(inst.master().map(|m| m.priority), Some(200));
    assert_eq!(inst.receive(t, &ctx(dst), &good), Err(Reject::HmacReplay), "replayed capture");
    assert_eq!(inst.receive(t, &ctx(dst), &advert(200, None, 0, dst)), Err(Reject::HmacMissing));
    let forged = advert(250, Some(&[9u8; 32]), seq + 5, dst);
    assert_eq!(inst.receive(t, &ctx(dst), &forged), Err(Reject::HmacBadDigest));
    let mut unknown = advert(200, Some(&key()), seq + 6, dst);
    let n = unknown.len();
    unknown[n - TRAILER_LEN + 1] = 4;
    assert_eq!(inst.receive(t, &ctx(dst), &unknown), Err(Reject::HmacUnknownKey));
    let mut malformed = advert(200, Some(&key()), seq + 7, dst);
    malformed[n - TRAILER_LEN] = 2;
    assert_eq!(inst.receive(t, &ctx(dst), &malformed), Err(Reject::HmacMalformed));
    let stale = advert(200, Some(&key()), (NOW_UNIX - 60) << 32, dst);
    assert_eq!(inst.receive(t, &ctx(dst), &stale), Err(Reject::HmacStale));
    // The wall clock moves with our instants: 60 s later that stamp is stale too.
    let later = advert(200, Some(&key()), (NOW_UNIX + 1) << 32, dst);
    assert_eq!(inst.receive(Instant::from_secs(61), &ctx(dst), &later), Err(Reject::HmacStale));
    let c = *inst.counters();
    assert_eq!(
        (
            c.rx,
            c.hmac_replay,
            c.hmac_missing,
            c.hmac_bad_digest,
            c.hmac_unknown_key,
            c.hmac_malformed,
            c.hmac_stale
        ),
        (1, 1, 1, 1, 1, 1, 2)
    );
    for r in [Reject::HmacReplay, Reject::HmacMissing, Reject::HmacBadDigest] {
        assert!(Reject::ALL.contains(&r) && c.rejects(r) == 1);
    }
    // The forged higher priority did not move us: still following the real master.
    assert_eq!(inst.master().map(|m| m.priority), Some(200));
}

#[test]
fn permissive_and_receive_only_accept_without_a_trailer_and_verify_one() {
    let dst = "198.18.0.12";
    for mode in [Mode::Permissive, Mode::ReceiveOnly] {
        let mut inst = started(inst_params(mode, true));
        let t = Instant::from_secs(1);
        assert_eq!(inst.receive(t, &ctx(dst), &advert(200, None, 0, dst)), Ok(()), "{mode:?}");
        assert_eq!(inst.counters().hmac_missing_accepted, 1);
        let forged = advert(250, Some(&[9u8; 32]), NOW_UNIX << 32, dst);
        assert_eq!(inst.receive(t, &ctx(dst), &forged), Err(Reject::HmacBadDigest), "{mode:?}");
    }
}

#[test]
fn without_auth_hmac_a_trailered_advert_is_too_long() {
    let dst = "198.18.0.12";
    let mut p = inst_params(Mode::Enforce, true);
    p.hmac = None;
    let got = validate(&ctx(dst), &advert(200, Some(&key()), NOW_UNIX << 32, dst), &p);
    assert_eq!(got.map(|_| ()), Err(Reject::BadLength));
}

#[test]
fn unicast_non_peer_and_multicast() {
    // check_unicast_src off: a signed advert from a non-peer still has no mark.
    let dst = "198.18.0.12";
    let mut p = inst_params(Mode::Enforce, true);
    p.check_unicast_src = false;
    p.unicast_peers = vec![ip("198.18.0.13")];
    let mut inst = started(p);
    let good = advert(200, Some(&key()), NOW_UNIX << 32, dst);
    assert_eq!(inst.receive(Instant::from_secs(1), &ctx(dst), &good), Err(Reject::BadUnicastSource));
    // Multicast with the pseudo-header checksum.
    let mcast = "224.0.0.18";
    let mut inst = started(inst_params(Mode::Enforce, false));
    let good = advert(200, Some(&key()), NOW_UNIX << 32, mcast);
    assert_eq!(inst.receive(Instant::from_secs(1), &ctx(mcast), &good), Ok(()));
    assert_eq!(inst.receive(Instant::from_secs(1), &ctx(mcast), &good), Err(Reject::HmacReplay));
}

#[test]
fn ipv6_receive_checks_the_checksum_over_the_trailer() {
    let mut p = InstanceParams::new("VI_6", 51, 100, ip("fe80::20"));
    p.vips = vec![ip("fe80::100")];
    p.unicast_peers = vec![ip("fe80::10")];
    p.hmac = Some(vec_params());
    let c = RxContext { src: ip("fe80::10"), dst: ip("fe80::20"), ttl: 255, ip_header_len: 40 };
    let image = hex(V6_IMAGE);
    let v = validate(&c, &image, &p).expect("the vector validates");
    assert_eq!(v.hmac.map(|t| t.seq), Some(SEQ));
    let mut bad = image.clone();
    bad[7] ^= 1;
    assert_eq!(validate(&c, &bad, &p).map(|_| ()), Err(Reject::BadChecksum));
}

#[test]
fn master_sends_signed_adverts_and_receive_only_sends_none() {
    for (mode, signed) in [(Mode::Enforce, true), (Mode::Permissive, true), (Mode::ReceiveOnly, false)] {
        let mut p = inst_params(mode, true);
        p.priority = 255;
        let mut inst = Instance::new(p);
        inst.set_wall_clock(Instant::ZERO, Duration::new(NOW_UNIX, 0));
        inst.start(Instant::ZERO);
        assert_eq!(inst.state(), State::Master);
        let mut seqs = Vec::new();
        let mut at = Instant::ZERO;
        for _ in 0..3 {
            while let Some(a) = inst.poll_action() {
                if let Action::SendAdvert { hmac_seq, .. } = a {
                    seqs.push(hmac_seq);
                }
            }
            at += Duration::from_secs(1);
            inst.handle_timeout(at);
        }
        assert_eq!(seqs.len(), 3, "{mode:?}");
        if signed {
            let s: Vec<u64> = seqs.iter().map(|s| s.unwrap()).collect();
            assert_eq!(s[0] >> 32, NOW_UNIX);
            assert!(newer(s[1], s[0]) && newer(s[2], s[1]) && s[2] >> 32 == NOW_UNIX + 2, "{s:x?}");
        } else {
            assert!(seqs.iter().all(Option::is_none));
        }
    }
}

#[test]
fn v2_ipv4_trailer_follows_the_auth_bytes() {
    let mut p = inst_params(Mode::Enforce, false);
    p.version = Version::V2;
    let src = ip("198.18.0.11");
    let a = Advert {
        version: Version::V2,
        vrid: 51,
        priority: 200,
        addrs: vec![ip("198.18.0.100")],
        auth_type: 0,
        auth_data: [0; 8],
        interval_cs: 100,
        checksum: 0,
    };
    let mut b = a.to_bytes(ChecksumForm::Plain).unwrap();
    assert_eq!(b.len(), 20);
    let hp = HmacParams::new(1, &key());
    b.extend_from_slice(&hmac::sign(&hp, NOW_UNIX << 32, Version::V2, 51, src, &b).unwrap());
    let c = ctx("224.0.0.18");
    let v = validate(&c, &b, &p).expect("valid v2 advert with trailer");
    assert_eq!(v.advert.priority, 200);
    assert_eq!(Family::of(src), Family::V4);
    // The v3 signature does not verify as v2 (the pseudo-header carries the version).
    let mut wrong = b.clone();
    let n = wrong.len();
    let t3 = hmac::sign(&hp, NOW_UNIX << 32, Version::V3, 51, src, &b[..20]).unwrap();
    wrong[n - TRAILER_LEN..].copy_from_slice(&t3);
    assert_eq!(validate(&c, &wrong, &p).map(|_| ()), Err(Reject::HmacBadDigest));
}

/// The fuzz seeds fuzz/corpus/vrrp_ipv4/hmac-vrrpv3-* were written with Python's
/// hmac/hashlib: whole datagrams that must pass the receive path (and so
/// reach the fuzzer's deeper states).
#[test]
fn python_built_fuzz_seeds_validate() {
    let seeds: [&[u8]; 3] = [
        include_bytes!("../../../fuzz/corpus/vrrp_ipv4/hmac-vrrpv3-1"),
        include_bytes!("../../../fuzz/corpus/vrrp_ipv4/hmac-vrrpv3-2"),
        include_bytes!("../../../fuzz/corpus/vrrp_ipv4/hmac-vrrpv3-3"),
    ];
    let mut p = InstanceParams::new("VI_1", 51, 100, ip("198.18.0.1"));
    p.version = Version::V3;
    p.vips = vec![ip("198.18.0.100")];
    p.hmac = Some(vec_params());
    let mut inst = started(p);
    for (n, d) in seeds.iter().enumerate() {
        let dg = crate::vrrp::Ipv4Header::parse(d).expect("IPv4 datagram");
        let c = RxContext::from_ipv4(&dg);
        assert_eq!(inst.receive(Instant::from_secs(1 + n as u64), &c, dg.payload), Ok(()), "seed {n}");
    }
    // The third one is a signed priority-0 advert.
    assert_eq!(inst.counters().prio0_rx, 1);
}

#[test]
fn reject_log_lines_are_keepalived_s() {
    let dst = "198.18.0.12";
    let mut inst = started(inst_params(Mode::Enforce, true));
    let mut logs = Vec::new();
    let mut feed = |inst: &mut Instance, at: u64, bytes: &[u8]| {
        let r = inst.receive(Instant::from_secs(at), &ctx(dst), bytes);
        while let Some(a) = inst.poll_action() {
            if let Action::Log { line, .. } = a {
                logs.push(line);
            }
        }
        r
    };
    let seq = NOW_UNIX << 32;
    let mut unknown = advert(200, Some(&key()), seq, dst);
    let n = unknown.len();
    unknown[n - TRAILER_LEN + 1] = 9;
    assert_eq!(feed(&mut inst, 1, &unknown), Err(Reject::HmacUnknownKey));
    let stale = advert(200, Some(&key()), (NOW_UNIX - 60) << 32, dst);
    assert_eq!(feed(&mut inst, 1, &stale), Err(Reject::HmacStale));
    assert_eq!(feed(&mut inst, 1, &advert(200, Some(&[3; 32]), seq, dst)), Err(Reject::HmacBadDigest));
    assert_eq!(feed(&mut inst, 1, &advert(200, None, 0, dst)), Err(Reject::HmacMissing));
    assert_eq!(feed(&mut inst, 1, &advert(200, Some(&key()), seq, dst)), Ok(()));
    assert_eq!(feed(&mut inst, 1, &advert(200, Some(&key()), seq, dst)), Err(Reject::HmacReplay));
    // Within the window but more than half of it away: accepted, with a warning.
    assert_eq!(feed(&mut inst, 2, &advert(200, Some(&key()), (NOW_UNIX + 5) << 32, dst)), Ok(()));
    for want in [
        "(VI_1) unknown authentication key id 9 from 198.18.0.11",
        "(VI_1) stale authentication trailer from 198.18.0.11, clock skew 61 sec exceeds window 5 sec",
        "(VI_1) invalid authentication HMAC from 198.18.0.11",
        "(VI_1) missing authentication trailer from 198.18.0.11",
        "(VI_1) replayed authentication trailer from 198.18.0.11",
        "(VI_1) authentication clock skew -3 sec from 198.18.0.11 approaching window 5 sec",
    ] {
        assert!(logs.iter().any(|l| l == want), "no {want:?} in {logs:#?}");
    }
    let c = inst.counters();
    assert_eq!((c.hmac_unknown_key, c.hmac_stale, c.rx), (1, 1, 2));
}
