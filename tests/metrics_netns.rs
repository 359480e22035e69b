//! Prometheus metrics from the real daemon: `vigil status --prometheus` and
//! the `metrics_listen` listener, checked by Prometheus's own parser
//! (`promtool check metrics`, Debian package `prometheus`, installed by
//! tests/deps.sh), and scraped through a failover.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::*;

const PORT: u16 = 9650;

fn config(prio: u8, vip: IpAddr, listen: &str) -> String {
    format!(
        "global_defs {{\n    metrics_listen {listen}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

/// GET /metrics from inside `from`: the body of a 200 answer, or why not.
fn scrape(from: &Netns, at: SocketAddr) -> Result<String, String> {
    from.enter(|| {
        let mut s = TcpStream::connect_timeout(&at, secs(2)).map_err(|e| format!("connect {at}: {e}"))?;
        s.set_read_timeout(Some(secs(3))).map_err(|e| e.to_string())?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: vigil\r\n\r\n").map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(|e| format!("read: {e}"))?;
        let (head, body) = out.split_once("\r\n\r\n").ok_or_else(|| format!("no header end: {out:?}"))?;
        if !head.starts_with("HTTP/1.1 200 OK\r\n") || !head.contains("text/plain; version=0.0.4") {
            return Err(format!("unexpected answer: {head}"));
        }
        Ok(body.to_string())
    })
}

/// The value of the one sample of `name` whose labels include `labels`.
fn value(text: &str, name: &str, labels: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| l.contains(labels))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// `promtool check metrics` must accept `text` without a finding.
fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("promtool (Debian package prometheus; tests/deps.sh installs it): {e}"));
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let findings =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && findings.trim().is_empty(), "promtool: {findings}\n---\n{text}");
}

/// `vigil status --prometheus` for `d`: its output, or its error.
fn status_prometheus(host: &Netns, d: &Daemon) -> Result<String, String> {
    let bin = vigil_bin();
    let out = host
        .command(&[bin.to_str().unwrap(), "status", "--prometheus"])
        .env("VIGIL_RUN_DIR", d.dir().join("run"))
        .output()
        .expect("run vigil status --prometheus");
    if !out.status.success() {
        return Err(format!("vigil status --prometheus: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Two routers, 150 and 100; the backup serves metrics on its LAN address
/// and a third host scrapes it every 50 ms while two idle connections sit on
/// the listener. The master is stopped: the backup's `keepalived_vrrp_state`
/// goes from 1 (BACKUP) to 2 (MASTER) with no failed scrape, the takeover
/// takes the usual skew time, and no advert of the new master leaves late
/// while it is scraped (`vigil_vrrp_adverts_late_total` 0). A listener that cannot bind is
/// logged and the daemon runs on; a killed VRRP child shows in
/// `vigil_child_restarts_total`.
#[test]
fn metrics_follow_a_failover() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let vip_label = format!("ip_address=\"{vip}/24\"");
    // a's listen address is not on a: the bind fails, a runs on as master.
    let nowhere = format!("{}:{PORT}", lan.v4(200));
    let mut da = Daemon::start(&a, &vigil_bin(), &config(150, vip, &nowhere), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    assert!(da.wait_log(&format!("metrics_listen {nowhere}: cannot listen"), secs(1)), "{}", da.log());
    let at = SocketAddr::new(b.ip4.into(), PORT);
    let db = Daemon::start(&b, &vigil_bin(), &config(100, vip, &at.to_string()), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());
    assert!(db.log().contains(&format!("Metrics: serving http://{at}/metrics")), "{}", db.log());

    // Once the backup has heard the master, so the counters have moved.
    let mut first = String::new();
    let heard = wait_until(secs(3), ms(50), || {
        first = scrape(&c, at).expect("scrape the backup");
        value(&first, "keepalived_advertisements_received_total", "iname=\"VI_1\"").is_some_and(|n| n >= 1.0)
    });
    assert!(heard, "no advert counted:\n{first}");
    promtool_accepts(&first);
    assert_eq!(value(&first, "keepalived_vrrp_state", &vip_label), Some(1.0), "{first}");
    assert_eq!(value(&first, "keepalived_up", ""), Some(1.0));
    assert_eq!(value(&first, "vigil_child_restarts_total", "child=\"vrrp\""), Some(0.0));
    let cli = status_prometheus(&b, &db).unwrap();
    promtool_accepts(&cli);
    assert_eq!(value(&cli, "keepalived_vrrp_state", &vip_label), Some(1.0), "{cli}");
    let families =
        |t: &str| t.lines().filter(|l| l.starts_with("# TYPE ")).map(String::from).collect::<Vec<_>>();
    let mut only_parent = families(&first);
    only_parent.retain(|f| !families(&cli).contains(f));
    assert_eq!(
        only_parent,
        ["# TYPE vigil_child_restarts_total counter"],
        "the CLI has all but the parent's"
    );

    // Slow clients hold two of the four slots for the whole failover.
    let idle: Vec<TcpStream> = c.enter(|| (0..2).map(|_| TcpStream::connect(at).unwrap()).collect());
    let t0 = Instant::now();
    da.stop();
    let mut seen = Vec::new();
    let mut took_over = None;
    let mut scrapes = 0;
    let scraped = wait_until(secs(8), ms(50), || {
        scrapes += 1;
        let body = scrape(&c, at).unwrap_or_else(|e| panic!("scrape during the failover: {e}\n{}", db.log()));
        let state = value(&body, "keepalived_vrrp_state", &vip_label).expect("state sample");
        if seen.last() != Some(&state) {
            seen.push(state);
        }
        if state == 2.0 && took_over.is_none() {
            took_over = Some(t0.elapsed());
            promtool_accepts(&body);
            assert_eq!(value(&body, "keepalived_become_master_total", "iname=\"VI_1\""), Some(1.0));
        }
        // Scrape 3 s longer as master (3 periodic adverts): the listener
        // keeps serving, and the adverts leave on time.
        took_over.is_some_and(|t| t0.elapsed() > t + secs(3))
    });
    assert!(scraped, "backup did not become master; states scraped {seen:?}\n{}", db.log());
    assert_eq!(seen, [1.0, 2.0], "state metric from BACKUP to MASTER");
    // The stopped master sent priority 0: the backup takes over at once
    // (skew time), scrapers or not.
    let took_over = took_over.unwrap();
    assert!(took_over < secs(2), "takeover took {took_over:?}");
    let body = scrape(&c, at).expect("scrape the new master");
    let late = value(&body, "vigil_vrrp_advert_late_max_seconds", "iname=\"VI_1\"").expect("lateness");
    assert_eq!(value(&body, "vigil_vrrp_adverts_late_total", "iname=\"VI_1\""), Some(0.0), "{body}");
    eprintln!(
        "metrics: MASTER scraped {took_over:?} after the stop; {scrapes} scrapes, none failed; \
         worst advert lateness while scraped {:.0} µs",
        late * 1e6
    );
    assert!(b.has_addr(&vip));
    drop(idle);

    // A killed VRRP child: restarted by the parent, counted, and up again.
    let child = db.pid_from_file("v.pid").expect("VRRP child pid file");
    unsafe { libc::kill(child as i32, libc::SIGKILL) };
    let counted = wait_until(secs(6), ms(50), || {
        scrape(&c, at).is_ok_and(|body| {
            value(&body, "vigil_child_restarts_total", "child=\"vrrp\"") == Some(1.0)
                && value(&body, "keepalived_up", "") == Some(1.0)
                && value(&body, "keepalived_vrrp_state", &vip_label).is_some()
        })
    });
    assert!(counted, "restart not in the metrics:\n{}", db.log());
}

/// Both children: a vrrp_script that fails, a virtual server with a real
/// server that listens and one that does not. `vigil status --prometheus`
/// shows the script BAD under the exporter's name, the real servers and
/// their checkers' states and latency, and promtool accepts all of it.
#[test]
fn checker_and_tracker_metrics() {
    let lan = Lan::new();
    let (a, srv) = (lan.add_host("a"), lan.add_host("srv"));
    let up = SocketAddr::new(srv.ip4.into(), 8080);
    let down = SocketAddr::new(srv.ip4.into(), 8081);
    // The kernel completes the handshakes from the backlog; nothing is read.
    let _listener = srv.enter(|| std::net::TcpListener::bind(up)).expect("bind the real server");
    let conf = format!(
        "vrrp_script chk_false {{\n    script /bin/false\n    interval 1\n    weight -10\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n    \
         track_script {{\n        chk_false\n    }}\n}}\n\
         virtual_server {vip} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server {ip} 8080 {{\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n    \
         real_server {ip} 8081 {{\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n}}\n",
        vip = lan.v4(100),
        ip = srv.ip4,
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &[]);
    // keepalived's names for services: [ADDR]:PROTO:PORT.
    let rs = |addr: SocketAddr| {
        format!("vs=\"[{}]:tcp:80\",rs=\"[{}]:tcp:{}\"", lan.v4(100), addr.ip(), addr.port())
    };
    let mut text = String::new();
    let settled = wait_until(secs(10), ms(100), || {
        // Until both children have bound their control sockets, status fails.
        text = status_prometheus(&a, &d).unwrap_or_else(|e| e);
        value(&text, "vigil_real_server_up", &rs(up)) == Some(1.0)
            && value(&text, "vigil_real_server_up", &rs(down)) == Some(0.0)
            && value(&text, "keepalived_script_status", "name=\"chk_false\"") == Some(0.0)
            && value(&text, "vigil_checker_latency_seconds", &rs(up)).is_some()
    });
    assert!(settled, "metrics never settled:\n{text}\n{}", d.log());
    promtool_accepts(&text);
    assert_eq!(value(&text, "keepalived_up", ""), Some(1.0));
    assert_eq!(value(&text, "vigil_child_up", "child=\"checker\""), Some(1.0));
    assert_eq!(value(&text, "vigil_vrrp_effective_priority", "iname=\"VI_1\""), Some(90.0), "{text}");
    assert_eq!(value(&text, "vigil_tracker_up", "kind=\"script\",name=\"chk_false\""), Some(0.0));
    let latency = value(&text, "vigil_checker_latency_seconds", &rs(up)).unwrap();
    assert!((0.0..1.0).contains(&latency), "a local connect took {latency} s");
    assert!(value(&text, "vigil_checks_failed_total", "").is_some_and(|n| n >= 1.0), "{text}");
}

/// A reload that changes `metrics_listen` moves the listener; one that
/// removes it closes it.
#[test]
fn reload_moves_and_closes_the_listener() {
    let lan = Lan::new();
    let (a, c) = (lan.add_host("a"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let (first, second) = (SocketAddr::new(a.ip4.into(), PORT), SocketAddr::new(a.ip4.into(), PORT + 1));
    let d = Daemon::start(&a, &vigil_bin(), &config(100, vip, &first.to_string()), &["-P"]);
    assert!(d.wait_log(&format!("Metrics: serving http://{first}/metrics"), secs(3)), "{}", d.log());
    assert!(wait_until(secs(3), ms(50), || scrape(&c, first).is_ok()), "{}", d.log());

    let conf = d.dir().join("keepalived.conf");
    std::fs::write(&conf, config(100, vip, &second.to_string())).expect("rewrite the config");
    d.signal(libc::SIGHUP);
    assert!(d.wait_log(&format!("Metrics: serving http://{second}/metrics"), secs(3)), "{}", d.log());
    let body = scrape(&c, second).expect("scrape the new address");
    promtool_accepts(&body);
    assert!(scrape(&c, first).is_err(), "the old address still answers");

    std::fs::write(&conf, config(100, vip, &second.to_string()).replace("metrics_listen", "#")).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log(&format!("Metrics: no longer listening on {second}"), secs(3)), "{}", d.log());
    assert!(scrape(&c, second).is_err(), "the listener is still open");
    assert!(d.is_running());
}
