//! `make demo`: two vigil routers share a gateway address in network
//! namespaces while a client probes it every 10 ms, and both health-check
//! two web servers. One web server fails; then the master is stopped, comes
//! back and preempts, then crashes; each phase prints how long the address
//! did not answer next to the protocol's bound.
//!
//! Built as a cargo example (`cargo run --release --example demo`); it reuses
//! the test harness, so everything it creates is removed when it ends.

#[path = "../common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use common::*;

const ADVERT: f64 = 1.0;

fn config(router: &str, prio: u8, vip: IpAddr, webs: [Ipv4Addr; 2]) -> String {
    let mut c = format!(
        "global_defs {{\n    router_id {router}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int {ADVERT}\n    authentication {{\n        auth_type PASS\n        \
         auth_pass demo\n    }}\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n\
         virtual_server {vip} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n"
    );
    for web in webs {
        c += &format!(
            "    real_server {web} 80 {{\n        HTTP_GET {{\n            url {{\n                path /health\n            }}\n            \
             connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }}\n    }}\n"
        );
    }
    c + "}\n"
}

/// A tiny HTTP server on port 80 inside a namespace, until `stop` is set.
fn web_server(ns: &str, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    let name = ns.to_string();
    std::thread::spawn(move || {
        setns(&name).expect("setns");
        let listener = TcpListener::bind("0.0.0.0:80").expect("bind :80");
        listener.set_nonblocking(true).ok();
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).ok();
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf);
                    let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    })
}

/// keepalived's skew for VRRPv2: (256 - priority) / 256 seconds.
fn skew(prio: u8) -> f64 {
    f64::from(256 - u32::from(prio)) / 256.0
}

struct Clock(Instant);

impl Clock {
    fn at(&self, t: Instant) -> String {
        format!("t={:7.3}s", t.saturating_duration_since(self.0).as_secs_f64())
    }
    fn now(&self) -> String {
        self.at(Instant::now())
    }
}

fn main() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("make demo needs root (network namespaces, raw sockets)");
        std::process::exit(1);
    }
    let bin = vigil_bin();
    println!("vigil demo — binary {}", bin.display());
    let lan = Lan::new();
    let r1 = lan.add_host("r1");
    let r2 = lan.add_host("r2");
    let client = lan.add_host("cl");
    let (w1, w2) = (lan.add_host("w1"), lan.add_host("w2"));
    let vip: IpAddr = lan.v4(100).into();
    let (p1, p2) = (150u8, 100u8);
    println!(
        "lab: bridge br0 with r1 {} (priority {p1}), r2 {} (priority {p2}), client {}; VIP {vip}; \
         VRRPv2, advert_int {ADVERT} s, PASS auth;\n     web servers {} and {}, health-checked by both \
         routers with HTTP_GET /health every second\n",
        r1.ip4, r2.ip4, client.ip4, w1.ip4, w2.ip4
    );
    let (stop1, stop2) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let web1 = web_server(w1.name(), stop1.clone());
    let web2 = web_server(w2.name(), stop2.clone());
    let c1 = config("r1", p1, vip, [w1.ip4, w2.ip4]);
    let c2 = config("r2", p2, vip, [w1.ip4, w2.ip4]);
    let clock = Clock(Instant::now());

    // Start-up: both wait one master-down interval, then the higher priority wins.
    let mut d1 = Daemon::start(&r1, &bin, &c1, &[]);
    let d2 = Daemon::start(&r2, &bin, &c2, &[]);
    println!("{}  r1 and r2 started (both BACKUP, waiting 3 x advert_int + skew)", clock.now());
    if !d1.wait_log("(VI_1) Entering MASTER STATE", secs(10)) {
        fail("r1 did not become master", &d1);
    }
    let t = d1.log_time("(VI_1) Entering MASTER STATE").unwrap_or_else(Instant::now);
    println!(
        "{}  r1 MASTER, VIP on r1: {}, on r2: {}   (bound {:.3} s after start)",
        clock.at(t),
        r1.has_addr(&vip),
        r2.has_addr(&vip),
        3.0 * ADVERT + skew(p1)
    );
    let probe = Prober::start(&client, vip);
    if !probe.wait_answers(50, secs(5)) {
        fail("the client gets no answer from the VIP", &d1);
    }
    println!("{}  client probing {vip} every 10 ms: answered", clock.now());

    // Health checks: both routers see both web servers; then one fails.
    let ok =
        |d: &Daemon, web: Ipv4Addr| d.log_count(&format!("HTTP status code success to [{web}]:tcp:80")) > 0;
    wait_until(secs(5), ms(20), || ok(&d1, w1.ip4) && ok(&d1, w2.ip4) && ok(&d2, w2.ip4));
    println!("{}  both routers' checkers see both web servers answering /health", clock.now());
    if d1.log().contains("IPVS: not available") {
        println!("           (this kernel has no IPVS: vigil keeps checking and notifying; see the IPVS tests under QEMU)");
    }
    let t0 = Instant::now();
    stop2.store(true, Ordering::Relaxed);
    let _ = web2.join();
    let gone = format!("Removing service [{}]:tcp:80", w2.ip4);
    wait_until(secs(8), ms(20), || {
        d1.log_time_after(&gone, t0).is_some() && d2.log_time_after(&gone, t0).is_some()
    });
    match d1.log_time_after(&gone, t0) {
        Some(t) => println!(
            "{}  web2 stopped: r1 took it out of the virtual server after {:.3} s (retry 1: two failed checks, delay_before_retry 1 s)",
            clock.at(t),
            (t - t0).as_secs_f64()
        ),
        None => println!("{}  web2 stopped, but r1 did not take it out", clock.now()),
    }

    // Phase 1: graceful stop — r1 sends priority 0, r2 takes over after its skew time.
    println!("\n--- graceful stop of the master (SIGTERM to r1) ---");
    let t0 = Instant::now();
    d1.stop();
    wait_until(secs(5), ms(5), || r2.has_addr(&vip));
    let took = d2.log_time_after("(VI_1) Entering MASTER STATE", t0);
    report_takeover(&clock, "r2", t0, took, skew(p2), "skew time of r2");
    settle(&probe);
    let r = probe.stop();
    println!(
        "           client: longest gap without an answer {:.3} s, {} of {} probes lost",
        gap(&r),
        r.lost(),
        r.sent()
    );

    // Phase 2: r1 returns and preempts r2 once its master-down timer runs out.
    println!("\n--- r1 comes back and preempts (higher priority) ---");
    let probe = Prober::start(&client, vip);
    let t0 = Instant::now();
    let mut d1 = Daemon::start(&r1, &bin, &c1, &[]);
    println!(
        "{}  r1 restarted as BACKUP; it hears r2's lower-priority adverts and lets its timer run",
        clock.now()
    );
    d1.wait_log("(VI_1) Entering MASTER STATE", secs(10));
    let took = d1.log_time_after("(VI_1) Entering MASTER STATE", t0);
    report_takeover(&clock, "r1", t0, took, 3.0 * ADVERT + skew(p1), "master-down interval of r1");
    wait_until(secs(3), ms(10), || !r2.has_addr(&vip));
    println!("{}  r2 heard r1's higher priority and released the VIP: {}", clock.now(), !r2.has_addr(&vip));
    settle(&probe);
    let r = probe.stop();
    println!("           client: longest gap {:.3} s during preemption, {} probes lost", gap(&r), r.lost());

    // Phase 3: r1 crashes — no priority 0; r2 waits the full master-down interval.
    println!("\n--- the master crashes (kill -9 and its link goes down) ---");
    let probe = Prober::start(&client, vip);
    probe.wait_answers(20, secs(2));
    let t0 = Instant::now();
    d1.kill9();
    r1.link_set("eth0", false);
    wait_until(secs(8), ms(5), || r2.has_addr(&vip));
    let took = d2.log_time_after("(VI_1) Entering MASTER STATE", t0);
    report_takeover(&clock, "r2", t0, took, 3.0 * ADVERT + skew(p2), "master-down interval of r2 (at most)");
    settle(&probe);
    let r = probe.stop();
    println!("           client: longest gap {:.3} s, {} of {} probes lost", gap(&r), r.lost(), r.sent());

    println!("\nr2 log (last lines):");
    for line in d2.log().lines().filter(|l| l.contains("VI_1")).rev().take(6).collect::<Vec<_>>().iter().rev()
    {
        println!("    {line}");
    }
    stop1.store(true, Ordering::Relaxed);
    let _ = web1.join();
    println!("\ndone: namespaces and processes are removed now.");
}

fn report_takeover(clock: &Clock, who: &str, t0: Instant, took: Option<Instant>, bound: f64, what: &str) {
    match took {
        Some(t) => println!(
            "{}  {who} MASTER after {:.3} s   (protocol bound {:.3} s: {what})",
            clock.at(t),
            t.saturating_duration_since(t0).as_secs_f64(),
            bound
        ),
        None => println!("{}  {who} did NOT become master", clock.now()),
    }
}

/// Let the client see a few answers after a change before reading its timeline.
fn settle(probe: &Prober) {
    let n = probe.answered();
    probe.wait_answers(n + 20, secs(3));
}

fn gap(r: &ProbeReport) -> f64 {
    r.longest_gap().as_secs_f64()
}

fn fail(what: &str, d: &Daemon) -> ! {
    eprintln!("demo failed: {what}\n--- log ---\n{}", d.log());
    // Drop guards do not run on exit(); leave through a panic so they clean up.
    panic!("{what}");
}
