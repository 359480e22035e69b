//! HTTP_GET `regex` in the real binary: vigil's checker child (`-C`) in one
//! namespace fetches pages from a small HTTP server in another, and
//! `vigil status --json` shows a real server go DOWN when its page stops
//! containing the pattern (or starts containing a `regex_no_match` one) and
//! come back UP when the page is restored. Needs root and `ip`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use common::*;
use vigil::runtime::Json;

const HEAD: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n";

/// An HTTP/1.0 server that answers every request with `HEAD` and the current
/// page, written in 1000-byte pieces so the checker reads the body in
/// several reads. Stopped and joined on drop.
struct Web {
    listener: TcpListener,
    page: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Web {
    fn start(host: &Host, addr: SocketAddr, page: Vec<u8>) -> Web {
        let listener = host.enter(|| TcpListener::bind(addr)).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let page = Arc::new(Mutex::new(page));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (page.clone(), stop.clone());
        let accepting = listener.try_clone().expect("clone listener");
        let thread = std::thread::spawn(move || {
            for conn in accepting.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                match conn {
                    Ok(conn) => {
                        let body = p.lock().unwrap().clone();
                        serve(conn, &body);
                    }
                    Err(_) if s.load(Ordering::Relaxed) => break,
                    Err(_) => {}
                }
            }
        });
        Web { listener, page, stop, thread: Some(thread) }
    }

    fn set_page(&self, page: Vec<u8>) {
        *self.page.lock().unwrap() = page;
    }
}

fn serve(mut conn: TcpStream, body: &[u8]) {
    let _ = conn.set_read_timeout(Some(secs(2)));
    let _ = conn.set_nodelay(true);
    let mut req = Vec::new();
    let mut buf = [0u8; 512];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let mut response = HEAD.to_vec();
    response.extend_from_slice(body);
    for piece in response.chunks(1000) {
        if conn.write_all(piece).is_err() {
            return;
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Shutting the listening socket down wakes the blocking accept (EINVAL).
        // SAFETY: shutdown on a socket this struct owns.
        unsafe { libc::shutdown(std::os::fd::AsRawFd::as_raw_fd(&self.listener), libc::SHUT_RDWR) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// (real server state, its checker's last_result) of the real server `name`.
fn rs_state(d: &Daemon, name: &str) -> Option<(String, String)> {
    let st = d.status_if_running()?;
    let Some(Json::Arr(vss)) = st.get("checker")?.get("virtual_servers") else { return None };
    let Some(Json::Arr(rss)) = vss.first()?.get("real_servers") else { return None };
    let s = |j: &Json, k: &str| j.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    let rs = rss.iter().find(|rs| s(rs, "name") == name)?;
    let Some(Json::Arr(cks)) = rs.get("checkers") else { return None };
    Some((s(rs, "state"), s(cks.first()?, "last_result")))
}

fn wait_state(d: &Daemon, name: &str, want: &str) -> bool {
    wait_until(secs(10), ms(100), || rs_state(d, name).is_some_and(|(rs, _)| rs == want))
}

/// `fill` bytes of filler, `text`, then 500 more: with `fill` chosen so
/// that `text` straddles the checker's 4096-byte reads.
fn page(fill: usize, text: &str) -> Vec<u8> {
    let mut p = vec![b'.'; fill];
    p.extend_from_slice(text.as_bytes());
    p.extend(std::iter::repeat_n(b'.', 500));
    p
}

/// Port 80's url wants "status: up|ok" (caseless) starting between body
/// offsets 100 and 8000; port 81's url fails when "maintenance" appears.
/// Both start DOWN (alpha), come UP on their pages, go DOWN when the
/// pattern moves before regex_min_offset or the no-match word appears, and
/// come back when the pages are restored.
#[test]
fn http_regex_takes_the_server_out_and_back() {
    let lan = Lan::new();
    let (a, srv) = (lan.add_host("a"), lan.add_host("srv"));
    // Straddle response offset 4096, where the first 4096-byte read ends.
    let straddle = 4096 - HEAD.len() - 4;
    let healthy = page(straddle, "<p>Status: OK</p>");
    let web80 = Web::start(&srv, SocketAddr::new(srv.ip4.into(), 80), healthy.clone());
    let web81 = Web::start(&srv, SocketAddr::new(srv.ip4.into(), 81), page(straddle, "all good"));
    let check = |url: &str| {
        format!(
            "  HTTP_GET {{\n   url {{\n    path /health\n{url}   }}\n   alpha\n   connect_timeout 2\n   \
             retry 0\n   delay_before_retry 1\n  }}\n"
        )
    };
    let conf = format!(
        "virtual_server {vip} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
         real_server {rs} 80 {{\n{c80} }}\n real_server {rs} 81 {{\n{c81} }}\n}}\n",
        vip = lan.v4(80),
        rs = srv.ip4,
        c80 = check(
            "    regex \"status: (up|ok)\"\n    regex_options caseless\n    regex_min_offset 100\n    \
             regex_max_offset 8000\n    regex_stack 32768 65536\n"
        ),
        c81 = check("    regex maintenance\n    regex_no_match\n"),
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let (n80, n81) = (format!("[{}]:tcp:80", srv.ip4), format!("[{}]:tcp:81", srv.ip4));

    assert!(wait_state(&d, &n80, "UP"), "{:?}\n{}", rs_state(&d, &n80), d.log());
    assert!(wait_state(&d, &n81, "UP"), "{:?}\n{}", rs_state(&d, &n81), d.log());

    // The pattern only before regex_min_offset; the no-match word present.
    web80.set_page(page(0, "<p>status: ok</p>"));
    web81.set_page(page(straddle, "down for maintenance"));
    for name in [&n80, &n81] {
        assert!(wait_state(&d, name, "DOWN"), "{:?}\n{}", rs_state(&d, name), d.log());
        let (_, last) = rs_state(&d, name).unwrap();
        assert!(last.starts_with("Regex match failed url(/health)"), "{last}");
    }
    assert!(d.log().contains(&format!("HTTP_CHECK on service {n80} failed.")), "{}", d.log());

    // Restored: back UP.
    web80.set_page(healthy);
    web81.set_page(page(straddle, "all good"));
    assert!(wait_state(&d, &n80, "UP"), "{:?}\n{}", rs_state(&d, &n80), d.log());
    assert!(wait_state(&d, &n81, "UP"), "{:?}\n{}", rs_state(&d, &n81), d.log());
}
