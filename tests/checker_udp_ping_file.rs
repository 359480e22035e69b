//! UDP_CHECK, PING_CHECK and FILE_CHECK in the real binary: vigil's checker
//! child (`-C`) in one namespace probes real servers in others on the same
//! bridge (or reads track files), and `vigil status --json` shows each real
//! server go DOWN when its server stops (or its file says so) and come back
//! UP when it returns. Needs root and `ip`.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use vigil::runtime::Json;

/// A UDP responder: while `answering`, replies `ok` followed by what it
/// received; otherwise reads and drops. Stopped and joined on drop.
struct Responder {
    answering: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    fn start(host: &Host, addr: SocketAddr, answering: bool) -> Responder {
        let sock = host.enter(|| UdpSocket::bind(addr)).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        sock.set_read_timeout(Some(ms(50))).expect("read timeout");
        let answering = Arc::new(AtomicBool::new(answering));
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (a, s, q) = (answering.clone(), stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
                q.lock().unwrap().push(buf[..n].to_vec());
                if a.load(Ordering::Relaxed) {
                    let mut reply = b"ok".to_vec();
                    reply.extend_from_slice(&buf[..n]);
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        Responder { answering, stop, seen, thread: Some(thread) }
    }

    fn answer(&self, on: bool) {
        self.answering.store(on, Ordering::Relaxed);
    }

    fn datagrams(&self) -> Vec<Vec<u8>> {
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

/// (real server state, its checker's type, state, last_result) of the real server `name`.
fn rs_state(d: &Daemon, name: &str) -> Option<(String, String, String, String)> {
    let st = d.status_if_running()?;
    let Some(Json::Arr(vss)) = st.get("checker")?.get("virtual_servers") else { return None };
    let s = |j: &Json, k: &str| j.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    let rs = vss
        .iter()
        .filter_map(|vs| match vs.get("real_servers") {
            Some(Json::Arr(rss)) => Some(rss),
            _ => None,
        })
        .flatten()
        .find(|rs| s(rs, "name") == name)?;
    let Some(Json::Arr(cks)) = rs.get("checkers") else { return None };
    let ck = cks.first()?;
    Some((s(rs, "state"), s(ck, "type"), s(ck, "state"), s(ck, "last_result")))
}

fn wait_state(d: &Daemon, name: &str, want: &str, timeout: Duration) -> bool {
    wait_until(timeout, ms(100), || rs_state(d, name).is_some_and(|(rs, _, ck, _)| rs == want && ck == want))
}

/// keepalived's two UDP_CHECK rules. With `require_reply`, the reply must
/// come and match (the responder going silent takes the server out);
/// without, silence passes and only a port unreachable fails (no socket on
/// the port takes the server out, a socket that never answers puts it back).
#[test]
fn udp_check_follows_the_responder() {
    let lan = Lan::new();
    let (a, srv) = (lan.add_host("a"), lan.add_host("srv"));
    let echo = Responder::start(&srv, SocketAddr::new(srv.ip4.into(), 5000), true);
    let conf = format!(
        "virtual_server {vip} 5000 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol UDP\n \
         real_server {rs} 5000 {{\n  UDP_CHECK {{\n   payload 68 65 6c6c6f\n   require_reply 6f 6b 6x\n   \
         min_reply_length 3\n   connect_timeout 1\n   retry 1\n   delay_before_retry 1\n  }}\n }}\n \
         real_server {rs} 5001 {{\n  UDP_CHECK {{\n   connect_timeout 1\n   retry 0\n  }}\n }}\n}}\n",
        vip = lan.v4(80),
        rs = srv.ip4,
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let (echo_name, bare_name) = (format!("[{}]:udp:5000", srv.ip4), format!("[{}]:udp:5001", srv.ip4));

    // The responder answers "ok" + "hello": up, with the payload as configured.
    let up_line = format!("UDP connection to {echo_name} success.");
    assert!(d.wait_log(&up_line, secs(10)), "no successful UDP check:\n{}", d.log());
    assert!(wait_state(&d, &echo_name, "UP", secs(5)), "{:?}\n{}", rs_state(&d, &echo_name), d.log());
    assert!(echo.datagrams().iter().all(|p| p == b"hello"), "{:?}", echo.datagrams());
    let (_, ty, _, _) = rs_state(&d, &echo_name).unwrap();
    assert_eq!(ty, "UDP");

    // Nothing listens on 5001: the port unreachable takes that server down at once.
    let down_bare = format!("UDP_CHECK on service {bare_name} failed.");
    assert!(d.wait_log(&down_bare, secs(10)), "no port unreachable failure:\n{}", d.log());
    assert!(wait_state(&d, &bare_name, "DOWN", secs(5)), "{:?}", rs_state(&d, &bare_name));
    assert_eq!(rs_state(&d, &bare_name).unwrap().3, "port unreachable");

    // A socket that reads and never answers: no unreachable, so it is up (keepalived's rule).
    let silent = Responder::start(&srv, SocketAddr::new(srv.ip4.into(), 5001), false);
    assert!(wait_state(&d, &bare_name, "UP", secs(10)), "{:?}\n{}", rs_state(&d, &bare_name), d.log());
    assert!(!silent.datagrams().is_empty());
    assert!(silent.datagrams().iter().all(|p| p.len() == 32), "the default payload is 32 bytes");

    // The responder goes silent: require_reply fails twice (retry 1) and the server is DOWN.
    echo.answer(false);
    let down_line = format!("UDP_CHECK on service {echo_name} failed after 1 retries.");
    assert!(d.wait_log(&down_line, secs(10)), "server never went down:\n{}", d.log());
    assert!(wait_state(&d, &echo_name, "DOWN", secs(5)), "{:?}", rs_state(&d, &echo_name));
    assert_eq!(rs_state(&d, &echo_name).unwrap().3, "no reply");

    // Answering again: back UP.
    echo.answer(true);
    let back = wait_until(secs(10), ms(100), || d.log_count(&up_line) >= 2);
    assert!(back, "server never came back:\n{}", d.log());
    assert!(wait_state(&d, &echo_name, "UP", secs(5)), "{:?}", rs_state(&d, &echo_name));
}

/// A reply that does not match `require_reply` fails the check: the
/// server never comes up.
#[test]
fn udp_check_reply_mismatch_keeps_the_server_down() {
    let lan = Lan::new();
    let (a, srv) = (lan.add_host("a"), lan.add_host("srv"));
    let _echo = Responder::start(&srv, SocketAddr::new(srv.ip6.into(), 5000), true);
    let conf = format!(
        "virtual_server {vip} 5000 {{\n delay_loop 1\n lb_algo rr\n lb_kind DR\n protocol UDP\n \
         real_server {rs} 5000 {{\n  UDP_CHECK {{\n   require_reply 6e6f\n   connect_timeout 1\n   \
         retry 0\n  }}\n }}\n}}\n",
        vip = lan.v6(0x80),
        rs = srv.ip6,
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let name = format!("[{}]:udp:5000", srv.ip6);
    let line = format!("UDP_CHECK on service {name} failed.");
    assert!(d.wait_log(&line, secs(10)), "no failed UDP check:\n{}", d.log());
    assert!(wait_state(&d, &name, "DOWN", secs(5)), "{:?}", rs_state(&d, &name));
    assert!(rs_state(&d, &name).unwrap().3.starts_with("reply data mismatch"));
    assert_eq!(d.log_count("UDP connection to"), 0, "{}", d.log());
}

/// PING_CHECK over IPv4 and IPv6 (a virtual server of each family): a real server whose address is removed
/// goes DOWN, and comes back UP when the address is added again; the
/// other family's server is not disturbed.
#[test]
fn ping_check_follows_the_address() {
    let lan = Lan::new();
    let (a, srv) = (lan.add_host("a"), lan.add_host("srv"));
    // A second address on the server, for the IPv4 real server; connect_ip points at it.
    let extra4 = lan.v4(90);
    srv.ip(&["addr", "add", &format!("{extra4}/24"), "dev", "eth0"]);
    let conf = format!(
        "virtual_server {vip} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind DR\n protocol TCP\n \
         real_server {rs4} 80 {{\n  PING_CHECK {{\n   connect_ip {extra4}\n   connect_timeout 1\n   \
         retry 1\n   delay_before_retry 1\n  }}\n }}\n}}\n\
         virtual_server {vip6} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind DR\n protocol TCP\n \
         real_server {rs6} 80 {{\n  PING_CHECK {{\n   connect_timeout 1\n   retry 0\n  }}\n }}\n}}\n",
        vip = lan.v4(80),
        vip6 = lan.v6(80),
        rs4 = srv.ip4,
        rs6 = srv.ip6,
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let (n4, n6) = (format!("[{}]:tcp:80", srv.ip4), format!("[{}]:tcp:80", srv.ip6));

    let up4 = format!("ICMP connection to [{extra4}] success.");
    assert!(d.wait_log(&up4, secs(10)), "no successful ping:\n{}", d.log());
    assert!(wait_state(&d, &n4, "UP", secs(5)), "{:?}\n{}", rs_state(&d, &n4), d.log());
    assert!(wait_state(&d, &n6, "UP", secs(5)), "{:?}\n{}", rs_state(&d, &n6), d.log());
    assert_eq!(rs_state(&d, &n4).unwrap().1, "PING");

    // The address goes: two unanswered echoes (retry 1), DOWN.
    srv.ip(&["addr", "del", &format!("{extra4}/24"), "dev", "eth0"]);
    let down4 = format!("ICMP CHECK on service [{extra4}] failed after 1 retries.");
    assert!(d.wait_log(&down4, secs(10)), "never went down:\n{}", d.log());
    assert!(wait_state(&d, &n4, "DOWN", secs(5)), "{:?}", rs_state(&d, &n4));
    assert_eq!(rs_state(&d, &n4).unwrap().3, "timeout");
    assert_eq!(rs_state(&d, &n6).unwrap().0, "UP", "the IPv6 server is not disturbed");

    // It comes back: UP again.
    srv.ip(&["addr", "add", &format!("{extra4}/24"), "dev", "eth0"]);
    let back = wait_until(secs(10), ms(100), || d.log_count(&up4) >= 2);
    assert!(back, "never came back:\n{}", d.log());
    assert!(wait_state(&d, &n4, "UP", secs(5)), "{:?}", rs_state(&d, &n4));

    // IPv6: the address goes, DOWN at the first timeout (retry 0); back when it returns.
    let six = format!("{}/64", srv.ip6);
    srv.ip(&["addr", "del", &six, "dev", "eth0"]);
    assert!(wait_state(&d, &n6, "DOWN", secs(10)), "{:?}\n{}", rs_state(&d, &n6), d.log());
    srv.ip(&["addr", "add", &six, "dev", "eth0", "nodad"]);
    assert!(wait_state(&d, &n6, "UP", secs(10)), "{:?}\n{}", rs_state(&d, &n6), d.log());
}

/// (state, weight) of the real server `name`.
fn rs_weight(d: &Daemon, name: &str) -> Option<(String, u64)> {
    let st = d.status_if_running()?;
    let Some(Json::Arr(vss)) = st.get("checker")?.get("virtual_servers") else { return None };
    let Some(Json::Arr(rss)) = vss.first()?.get("real_servers") else { return None };
    let rs = rss.iter().find(|rs| rs.get("name").and_then(Json::as_str) == Some(name))?;
    let state = rs.get("state").and_then(Json::as_str)?.to_string();
    Some((state, rs.get("weight").and_then(Json::as_i64).and_then(|w| u64::try_from(w).ok())?))
}

/// Write `text` to `path` as an editor or a script would: the change is
/// seen through inotify (close after write, or a rename into place).
fn write_file(path: &std::path::Path, text: &str, by_rename: bool) {
    if by_rename {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    } else {
        std::fs::write(path, text).unwrap();
    }
}

/// FILE_CHECK: a track_file with weight 0 is a switch (a non-zero value
/// takes the real server out, 0 puts it back); one with a weight moves the
/// real server's weight by value x weight, and a value that makes it a
/// FAULT takes the server out. `init_file` writes the first value; changes
/// are seen through inotify, at once, not at the next check period
/// (delay_loop is 60 s here).
#[test]
fn file_check_follows_the_file() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let dir = TempDir::new("filecheck");
    let (sw, dynf) = (dir.path().join("switch"), dir.path().join("dyn"));
    std::fs::write(&dynf, "7\n").unwrap();
    let conf = format!(
        "track_file sw {{\n file {sw}\n weight 0\n init_file\n}}\n\
         track_file dyn {{\n file {dynf}\n weight 1\n init_file 5 overwrite\n}}\n\
         virtual_server {vip} 80 {{\n delay_loop 60\n lb_algo rr\n lb_kind DR\n protocol TCP\n \
         real_server {rs1} 80 {{\n  weight 10\n  FILE_CHECK {{\n   track_file sw\n  }}\n }}\n \
         real_server {rs2} 80 {{\n  weight 10\n  FILE_CHECK {{\n   track_file dyn\n   weight 2\n  }}\n }}\n}}\n",
        sw = sw.display(),
        dynf = dynf.display(),
        vip = lan.v4(80),
        rs1 = lan.v4(91),
        rs2 = lan.v4(92),
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let (n1, n2) = (format!("[{}]:tcp:80", lan.v4(91)), format!("[{}]:tcp:80", lan.v4(92)));

    // init_file: the switch did not exist (0 written), dyn is overwritten with 5.
    assert!(
        wait_until(secs(10), ms(50), || rs_weight(&d, &n1).is_some_and(|(s, _)| s == "UP")),
        "{}",
        d.log()
    );
    assert_eq!(std::fs::read_to_string(&sw).unwrap().trim(), "0");
    assert_eq!(std::fs::read_to_string(&dynf).unwrap().trim(), "5");
    // 10 + 5 x 2.
    let w = |want: u64| wait_until(secs(5), ms(50), || rs_weight(&d, &n2) == Some(("UP".into(), want)));
    assert!(w(20), "{:?}\n{}", rs_weight(&d, &n2), d.log());
    let (_, ty, _, last) = rs_state(&d, &n1).unwrap();
    assert_eq!((ty.as_str(), last.as_str()), ("FILE", "value 0"));

    // The switch flips: out, then back (by rename, as a script replacing the file).
    write_file(&sw, "1\n", false);
    let fault = format!("FILE_CHECK ({n1} track_file sw) now FAULT state (value 1).");
    assert!(d.wait_log(&fault, secs(5)), "{}", d.log());
    assert!(wait_state(&d, &n1, "DOWN", secs(5)), "{:?}", rs_state(&d, &n1));
    write_file(&sw, "0\n", true);
    assert!(wait_state(&d, &n1, "UP", secs(5)), "{:?}\n{}", rs_state(&d, &n1), d.log());
    let left = format!("FILE_CHECK ({n1} track_file sw) leaving FAULT state (value 0).");
    assert!(d.wait_log(&left, secs(5)), "{}", d.log());

    // The dynamic weight follows the value: 10 - 3 x 2 = 4; a deleted file is 0 (weight 10).
    write_file(&dynf, "-3\n", false);
    assert!(w(4), "{:?}\n{}", rs_weight(&d, &n2), d.log());
    std::fs::remove_file(&dynf).unwrap();
    assert!(w(10), "{:?}\n{}", rs_weight(&d, &n2), d.log());
    // A value whose weight is at or below -65536 is a FAULT: out.
    write_file(&dynf, "-40000\n", false);
    assert!(wait_state(&d, &n2, "DOWN", secs(5)), "{:?}", rs_state(&d, &n2));
    write_file(&dynf, "1\n", false);
    assert!(w(12), "{:?}\n{}", rs_weight(&d, &n2), d.log());
    assert_eq!(rs_weight(&d, &n1).map(|(s, _)| s), Some("UP".into()), "the switch is not disturbed");
}
