//! The checker engine against real servers in a network namespace: an HTTP
//! server, a TCP listener, an SMTP dialogue, MISC scripts, notify and
//! quorum scripts, driven through a real mio loop. Needs root.
//!
//! Addresses: 198.18.1.x on the namespace's loopback. The IPVS table is the
//! in-memory one (this kernel has none), so what vigil would program is
//! checked there.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use mio::{Events, Poll};
use vigil::check::{CheckerEngine, MemoryLvs, SvcAddr};
use vigil::config::{load_bytes, LoadOptions};
use vigil::runtime::Json;
use vigil::runtime::{Subsystem, TokenAlloc};

const BODY: &[u8] = b"healthy\n";

/// A namespace that is deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("vg-{}-{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        sh(&["ip", "-n", &ns.name, "link", "set", "lo", "up"]);
        for n in 2..=9 {
            sh(&["ip", "-n", &ns.name, "addr", "add", &format!("198.18.1.{n}/32"), "dev", "lo"]);
        }
        ns
    }

    /// Move the calling thread (and threads it spawns later) into the namespace.
    fn enter(&self) {
        let f = fs::File::open(format!("/var/run/netns/{}", self.name)).expect("open netns");
        // SAFETY: a valid namespace descriptor; affects only this thread.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status().expect("run");
    assert!(st.success(), "{args:?} failed");
}

/// A server thread that stops (closing its listener) when told or dropped.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn spawn(addr: &str, serve: fn(TcpStream)) -> Server {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                        serve(s);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Server { stop, thread: Some(thread) }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve_http(s: TcpStream) {
    let mut r = BufReader::new(s);
    let mut first = String::new();
    let _ = r.read_line(&mut first);
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
            break;
        }
    }
    let mut s = r.into_inner();
    let resp: Vec<u8> = if first.starts_with("GET /health HTTP/1.0") {
        [format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", BODY.len()).as_bytes(), BODY].concat()
    } else {
        b"HTTP/1.0 500 Internal Server Error\r\n\r\nbroken\n".to_vec()
    };
    let _ = s.write_all(&resp);
}

fn serve_nothing(_: TcpStream) {}

fn serve_smtp(mut s: TcpStream) {
    let _ = s.write_all(b"220 test ESMTP\r\n");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let mut l = String::new();
    let _ = r.read_line(&mut l);
    let reply: &[u8] =
        if l.starts_with("HELO test.example") { b"250-test\r\n250 hello\r\n" } else { b"500 what\r\n" };
    let _ = s.write_all(reply);
    l.clear();
    let _ = r.read_line(&mut l);
    let _ = s.write_all(b"221 bye\r\n");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write script");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

fn config(dir: &Path) -> String {
    let d = dir.display();
    let digest: String = Md5::digest(BODY).iter().map(|b| format!("{b:02x}")).collect();
    format!(
        r#"
virtual_server 198.18.0.1 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.1.2 80 {{
        weight 2
        notify_up "{d}/note.sh http-up"
        notify_down "{d}/note.sh http-down"
        HTTP_GET {{
            url {{
                path /health
                digest {digest}
            }}
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
    real_server 198.18.1.3 81 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 198.18.1.4 25 {{
        SMTP_CHECK {{
            helo_name test.example
            connect_timeout 1
        }}
    }}
    real_server 198.18.1.5 80 {{
        MISC_CHECK {{
            misc_path "{d}/ok.sh"
        }}
    }}
    real_server 198.18.1.6 80 {{
        MISC_CHECK {{
            misc_path "{d}/dyn.sh"
            misc_dynamic
        }}
    }}
}}
virtual_server 198.18.0.2 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.1.2 80 {{
        HTTP_GET {{
            url {{
                path /bad
            }}
            connect_timeout 1
        }}
    }}
    real_server 198.18.1.7 80 {{
        MISC_CHECK {{
            misc_path "{d}/fail.sh"
        }}
    }}
    real_server 198.18.1.8 80 {{
        MISC_CHECK {{
            misc_path "{d}/hang.sh"
            misc_timeout 1
        }}
    }}
    real_server 198.18.1.3 82 {{
        weight 3
        inhibit_on_failure
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
virtual_server 198.18.0.3 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    alpha
    quorum_up "{d}/note.sh quorum-up"
    quorum_down "{d}/note.sh quorum-down"
    real_server 198.18.1.9 83 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"#
    )
}

/// The engine in a real mio loop.
struct Loop {
    engine: CheckerEngine,
    poll: Poll,
    events: Events,
}

impl Loop {
    fn new(engine: CheckerEngine) -> Loop {
        let poll = Poll::new().expect("poll");
        let mut l = Loop { engine, poll, events: Events::with_capacity(64) };
        l.engine.register(l.poll.registry(), &mut TokenAlloc::new()).expect("register");
        l
    }

    fn turn(&mut self) {
        let wait = self
            .engine
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(100))
            .min(Duration::from_millis(100));
        self.poll.poll(&mut self.events, Some(wait)).expect("poll");
        let now = Instant::now();
        let registry = self.poll.registry();
        for ev in self.events.iter() {
            self.engine.handle_event(registry, ev, now);
        }
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(registry, now);
        }
    }

    /// Run until `cond` holds; the time it took, or None after `limit`.
    fn until(&mut self, limit: Duration, mut cond: impl FnMut(&Json) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            self.turn();
            if cond(&self.engine.status()) {
                return Some(start.elapsed());
            }
        }
        None
    }
}

fn rs<'a>(status: &'a Json, vs: &str, rs: &str) -> Option<&'a Json> {
    let Json::Arr(vss) = status.get("virtual_servers")? else { return None };
    let v = vss.iter().find(|v| v.get("name").and_then(Json::as_str) == Some(vs))?;
    let Json::Arr(rss) = v.get("real_servers")? else { return None };
    rss.iter().find(|r| r.get("name").and_then(Json::as_str) == Some(rs))
}

fn state(status: &Json, vs: &str, r: &str) -> String {
    rs(status, vs, r).and_then(|j| j.get("state")).and_then(Json::as_str).unwrap_or("?").to_string()
}

fn svc(vip: [u8; 4]) -> SvcAddr {
    SvcAddr::Addr { protocol: vigil::check::lvs::ProtocolKey::Tcp, addr: vip.into(), port: 80 }
}

fn wait_file(path: &Path, needle: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if fs::read_to_string(path).is_ok_and(|s| s.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn checkers_against_real_servers() {
    // SAFETY: geteuid has no arguments.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root (network namespaces)");
    let ns = Netns::new("chk");
    let dir = std::env::temp_dir().join(format!("vg-{}-chk", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("mkdir");
    let notes = dir.join("notes");
    script(&dir, "note.sh", &format!("echo \"$1\" >> {}", notes.display()));
    script(&dir, "ok.sh", "exit 0");
    script(&dir, "fail.sh", "exit 1");
    script(&dir, "dyn.sh", "exit 7");
    script(&dir, "hang.sh", "exec sleep 30");

    ns.enter();
    let mut http = Server::spawn("198.18.1.2:80", serve_http);
    let _tcp = Server::spawn("198.18.1.3:81", serve_nothing);
    let _smtp = Server::spawn("198.18.1.4:25", serve_smtp);

    let loaded = load_bytes("checkers.conf", config(&dir).as_bytes(), &dir, &LoadOptions::with_id("test"));
    assert!(!loaded.has_errors(), "{:?}", loaded.diags);
    let lvs = MemoryLvs::new();
    let engine = CheckerEngine::with_lvs(&loaded.config, Some(Box::new(lvs.clone()))).expect("engine");
    let mut lp = Loop::new(engine);

    let a = "[198.18.0.1]:tcp:80";
    let b = "[198.18.0.2]:tcp:80";
    let c = "[198.18.0.3]:tcp:80";
    // Without alpha every real server starts UP and in IPVS.
    assert_eq!(lvs.weight(&svc([198, 18, 0, 1]), "198.18.1.2".parse().unwrap(), 80), Some(2));
    assert_eq!(lvs.weight(&svc([198, 18, 0, 2]), "198.18.1.3".parse().unwrap(), 82), Some(3));

    // The failing ones go DOWN on their first failure (first run within
    // 1 s + warmup 1 s; the hanging script after its 1 s timeout).
    let failing = |s: &Json| {
        ["[198.18.1.2]:tcp:80", "[198.18.1.7]:tcp:80", "[198.18.1.8]:tcp:80", "[198.18.1.3]:tcp:82"]
            .iter()
            .all(|r| state(s, b, r) == "DOWN")
    };
    let took = lp.until(Duration::from_secs(10), failing);
    assert!(took.is_some(), "{}", lp.engine.status());
    // inhibit_on_failure: weight 0, still present; the others are removed.
    assert_eq!(lvs.weight(&svc([198, 18, 0, 2]), "198.18.1.3".parse().unwrap(), 82), Some(0));
    assert_eq!(lvs.weight(&svc([198, 18, 0, 2]), "198.18.1.7".parse().unwrap(), 80), None);

    // The healthy ones have been checked and stayed UP; misc_dynamic exit 7 -> weight 5.
    let checked = |s: &Json| {
        let r = rs(s, a, "[198.18.1.6]:tcp:80");
        r.and_then(|j| j.get("weight")).and_then(Json::as_i64) == Some(5)
            && ["[198.18.1.2]:tcp:80", "[198.18.1.3]:tcp:81", "[198.18.1.4]:tcp:25", "[198.18.1.5]:tcp:80"]
                .iter()
                .all(|n| {
                    let r = rs(s, a, n);
                    let ck = r.and_then(|j| j.get("checkers")).and_then(|c| match c {
                        Json::Arr(v) => v.first(),
                        _ => None,
                    });
                    state(s, a, n) == "UP" && ck.and_then(|c| c.get("last_ok")) == Some(&Json::Bool(true))
                })
    };
    assert!(lp.until(Duration::from_secs(10), checked).is_some(), "{}", lp.engine.status());
    assert_eq!(lvs.weight(&svc([198, 18, 0, 1]), "198.18.1.6".parse().unwrap(), 80), Some(5));

    // Quorum: the alpha VS starts DOWN with quorum lost; a listener brings it up.
    assert!(wait_file(&notes, "quorum-down", Duration::from_secs(5)), "quorum_down did not run");
    assert_eq!(state(&lp.engine.status(), c, "[198.18.1.9]:tcp:83"), "DOWN");
    let _late = Server::spawn("198.18.1.9:83", serve_nothing);
    let up = lp.until(Duration::from_secs(6), |s| state(s, c, "[198.18.1.9]:tcp:83") == "UP");
    assert!(up.is_some(), "{}", lp.engine.status());
    assert!(wait_file(&notes, "quorum-up", Duration::from_secs(5)), "quorum_up did not run");

    // Stop the HTTP server: DOWN after retry + 1 = 2 failures, 1 s apart,
    // so between 1 s (the failure after the next delay_loop tick) and 1 + 1 +
    // 2 x connect_timeout + slack.
    http.stop();
    let stopped = Instant::now();
    let down = lp.until(Duration::from_secs(10), |s| state(s, a, "[198.18.1.2]:tcp:80") == "DOWN");
    let down = down.expect("HTTP real server never went DOWN");
    assert!(down >= Duration::from_millis(900), "DOWN too early ({down:?}): retry not honoured");
    assert!(down <= Duration::from_secs(6), "DOWN too late: {down:?}");
    let st = lp.engine.status();
    let ck = rs(&st, a, "[198.18.1.2]:tcp:80").and_then(|r| r.get("checkers")).cloned();
    let failures = match ck {
        Some(Json::Arr(v)) => v[0].get("failures").and_then(Json::as_i64),
        _ => None,
    };
    assert_eq!(failures, Some(2), "{st}");
    assert_eq!(lvs.weight(&svc([198, 18, 0, 1]), "198.18.1.2".parse().unwrap(), 80), None);
    assert!(wait_file(&notes, "http-down", Duration::from_secs(5)), "notify_down did not run");
    eprintln!("HTTP real server DOWN {:?} after the server stopped", stopped.elapsed());

    // Bring it back: one success is enough.
    let _http2 = Server::spawn("198.18.1.2:80", serve_http);
    let up = lp.until(Duration::from_secs(6), |s| state(s, a, "[198.18.1.2]:tcp:80") == "UP");
    assert!(up.is_some(), "{}", lp.engine.status());
    assert_eq!(lvs.weight(&svc([198, 18, 0, 1]), "198.18.1.2".parse().unwrap(), 80), Some(2));
    assert!(wait_file(&notes, "http-up", Duration::from_secs(5)), "notify_up did not run");

    lp.engine.shutdown(lp.poll.registry(), Instant::now());
    assert!(lvs.services().is_empty(), "services left after shutdown");
    drop(lp);
    let _ = fs::remove_dir_all(&dir);
}
