//! DNS_CHECK in the real binary: vigil's checker child queries a small DNS
//! responder (a UDP socket in another namespace, answered by a thread of this
//! test) on the same bridge. While it answers, the real server is UP; when it
//! goes silent, the checks time out and the server goes DOWN (keepalived's
//! log line and `vigil status --json` agree); when it answers again, the
//! server comes back. Needs root and `ip`.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use vigil::runtime::Json;

/// One query as the responder saw it.
#[derive(Clone, Debug)]
struct Query {
    id: u16,
    flags: u16,
    qdcount: u16,
    /// The question: name in wire form, type, class.
    question: Vec<u8>,
}

/// A UDP DNS responder: answers every query with NOERROR (and the question
/// echoed, no answers) while `answering`, and reads but drops queries
/// otherwise. Stopped and joined on drop.
struct Responder {
    answering: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Query>>>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    fn start(host: &Host, addr: SocketAddr) -> Responder {
        // Bound inside the host's namespace; served from an ordinary thread.
        let sock = host.enter(|| UdpSocket::bind(addr)).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        sock.set_read_timeout(Some(ms(50))).expect("read timeout");
        let answering = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (a, s, q) = (answering.clone(), stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
                let msg = &buf[..n];
                if n < 12 {
                    continue;
                }
                let be = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
                q.lock().unwrap().push(Query {
                    id: be(0),
                    flags: be(2),
                    qdcount: be(4),
                    question: msg[12..].to_vec(),
                });
                if !a.load(Ordering::Relaxed) {
                    continue;
                }
                // QR, RD and RA set, RCODE NOERROR; the question echoed, no answer.
                let mut reply = msg.to_vec();
                reply[2..4].copy_from_slice(&0x8180u16.to_be_bytes());
                let _ = sock.send_to(&reply, from);
            }
        });
        Responder { answering, stop, seen, thread: Some(thread) }
    }

    fn answer(&self, on: bool) {
        self.answering.store(on, Ordering::Relaxed);
    }

    fn queries(&self) -> Vec<Query> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// (real server state, its DNS checker's state, last_result) from the checker child.
fn rs_state(d: &Daemon) -> Option<(String, String, String)> {
    let st = d.status();
    let Some(Json::Arr(vss)) = st.get("checker")?.get("virtual_servers") else { return None };
    let Some(Json::Arr(rss)) = vss.first()?.get("real_servers") else { return None };
    let rs = rss.first()?;
    let Some(Json::Arr(cks)) = rs.get("checkers") else { return None };
    let ck = cks.first()?;
    let s = |j: &Json, k: &str| j.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    assert_eq!(s(ck, "type"), "DNS", "{st}");
    Some((s(rs, "state"), s(ck, "state"), s(ck, "last_result")))
}

fn wait_state(d: &Daemon, want: &str, timeout: Duration) -> bool {
    wait_until(timeout, ms(100), || rs_state(d).is_some_and(|(rs, ck, _)| rs == want && ck == want))
}

#[test]
fn dns_check_follows_the_responder() {
    let lan = Lan::new();
    let (a, dns) = (lan.add_host("a"), lan.add_host("dns"));
    let target = SocketAddr::new(dns.ip4.into(), 53);
    let responder = Responder::start(&dns, target);
    let conf = format!(
        "virtual_server {vip} 53 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol UDP\n    \
         real_server {rs} 53 {{\n        DNS_CHECK {{\n            type a\n            name www.example.com\n            \
         connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }}\n    }}\n}}\n",
        vip = lan.v4(80),
        rs = dns.ip4,
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let rs_name = format!("[{}]:udp:53", dns.ip4);

    // Answering: the first check succeeds.
    let up_line = format!("DNS_CHECK ({rs_name}) succeeded.");
    assert!(d.wait_log(&up_line, secs(10)), "no successful DNS check:\n{}", d.log());
    assert!(wait_state(&d, "UP", secs(5)), "{:?}\n{}", rs_state(&d), d.log());

    // The queries are what keepalived sends: RD, one question, A for the name, class IN.
    let qs = responder.queries();
    assert!(!qs.is_empty());
    for q in &qs {
        assert_eq!((q.flags, q.qdcount), (0x0100, 1), "{q:?}");
        assert_eq!(q.question, b"\x03www\x07example\x03com\x00\x00\x01\x00\x01", "{q:?}");
    }

    // Silent: two timed-out checks (retry 1) and the server is DOWN.
    responder.answer(false);
    let down_line = format!("DNS_CHECK ({rs_name}) read timeout from socket after 1 retries");
    assert!(d.wait_log(&down_line, secs(10)), "server never went down:\n{}", d.log());
    assert!(wait_state(&d, "DOWN", secs(5)), "{:?}\n{}", rs_state(&d), d.log());
    let (_, _, last) = rs_state(&d).expect("status");
    assert_eq!(last, "read timeout from socket");

    // Answering again: back UP.
    responder.answer(true);
    let back = wait_until(secs(10), ms(100), || d.log_count(&up_line) >= 2);
    assert!(back, "server never came back:\n{}", d.log());
    assert!(wait_state(&d, "UP", secs(5)), "{:?}\n{}", rs_state(&d), d.log());

    // A fresh random id per query.
    let ids: std::collections::HashSet<u16> = responder.queries().iter().map(|q| q.id).collect();
    let n = responder.queries().len();
    assert!(n >= 4 && ids.len() >= n - 1, "query ids {ids:?} over {n} queries");
}

/// The same over IPv6: the query leaves from the checker's address and the reply counts;
/// silence takes the server down (retry 0: the first timeout).
#[test]
fn dns_check_over_ipv6() {
    let lan = Lan::new();
    let (a, dns) = (lan.add_host("a"), lan.add_host("dns"));
    let responder = Responder::start(&dns, SocketAddr::new(dns.ip6.into(), 53));
    let conf = format!(
        "virtual_server {vip} 53 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol UDP\n    \
         real_server {rs} 53 {{\n        DNS_CHECK {{\n            connect_timeout 1\n            retry 0\n        \
         }}\n    }}\n}}\n",
        vip = lan.v6(0x80),
        rs = dns.ip6,
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let rs_name = format!("[{}]:udp:53", dns.ip6);
    let up_line = format!("DNS_CHECK ({rs_name}) succeeded.");
    assert!(d.wait_log(&up_line, secs(10)), "no successful DNS check:\n{}", d.log());
    assert!(wait_state(&d, "UP", secs(5)), "{:?}\n{}", rs_state(&d), d.log());
    // The default question: the root, SOA, class IN.
    let qs = responder.queries();
    assert!(qs.iter().all(|q| q.question == b"\x00\x00\x06\x00\x01"), "{qs:?}");
    responder.answer(false);
    let down_line = format!("DNS_CHECK ({rs_name}) read timeout from socket");
    assert!(d.wait_log(&down_line, secs(10)), "server never went down:\n{}", d.log());
    assert!(wait_state(&d, "DOWN", secs(5)), "{:?}\n{}", rs_state(&d), d.log());
}

/// A reply with another id is not the reply (keepalived keeps waiting), and
/// an error RCODE fails the check at once: the server goes DOWN, and the
/// log names the RCODE.
#[test]
fn dns_check_ignores_strangers_and_fails_on_error_rcode() {
    let lan = Lan::new();
    let (a, dns) = (lan.add_host("a"), lan.add_host("dns"));
    let target = SocketAddr::new(dns.ip4.into(), 5353);
    let sock = dns.enter(|| UdpSocket::bind(target)).expect("bind");
    sock.set_read_timeout(Some(ms(50))).expect("read timeout");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Every query gets a reply with the wrong id first, then REFUSED (5).
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while !flag.load(Ordering::Relaxed) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
            if n < 12 {
                continue;
            }
            let mut reply = buf[..n].to_vec();
            reply[2..4].copy_from_slice(&0x8180u16.to_be_bytes());
            reply[0] ^= 0xff;
            let _ = sock.send_to(&reply, from);
            reply[0] ^= 0xff;
            reply[2..4].copy_from_slice(&0x8185u16.to_be_bytes());
            let _ = sock.send_to(&reply, from);
        }
    });
    // connect_port overrides the real server's port.
    let conf = format!(
        "virtual_server {vip} 53 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol UDP\n    \
         real_server {rs} 53 {{\n        DNS_CHECK {{\n            connect_port 5353\n            \
         connect_timeout 2\n            retry 0\n        }}\n    }}\n}}\n",
        vip = lan.v4(80),
        rs = dns.ip4,
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let line = format!("DNS_CHECK ([{}]:udp:5353) read error occurred (rcode = 5 REFUSED)", dns.ip4);
    assert!(d.wait_log(&line, secs(10)), "no REFUSED failure:\n{}", d.log());
    assert!(wait_state(&d, "DOWN", secs(5)), "{:?}\n{}", rs_state(&d), d.log());
    assert_eq!(d.log_count("read timeout"), 0, "the wrong-id reply was not skipped:\n{}", d.log());
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
}
