//! `make soak`: a VRRPv3 pair running SOAK_INSTANCES instances (default 1,
//! each its own VRID and VIP) at advert_int 0.01, i.e. 100 adverts/s per
//! instance, for SOAK_SECONDS (default 600), a SIGHUP to both daemons every
//! 10 s and a client probing every VIP every 10 ms. Every 10 s it samples RSS
//! and open fds of each vigil process; at the end it prints the table and
//! fails if memory or fds grew, if a probe was lost or if mastership moved.
//!
//! A million adverts: `SOAK_SECONDS=10000` with one instance (2.8 h), or
//! `SOAK_INSTANCES=4 SOAK_SECONDS=2600` (43 min).
//! Built as a cargo example; reuses the test harness, which removes every
//! namespace and process it created.

#[path = "../common/mod.rs"]
mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use vigil::runtime::Json;

const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// RSS may settle a little after the first minutes (allocator arenas).
const RSS_SLACK_KB: u64 = 256;

fn config(prio: u8, vips: &[IpAddr]) -> String {
    let mut conf = String::new();
    for (i, vip) in vips.iter().enumerate() {
        conf += &format!(
            "vrrp_instance VI_{n} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
             version 3\n    priority {prio}\n    advert_int 0.01\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n",
            n = i + 1,
            vrid = 51 + i,
        );
    }
    conf
}

/// (VmRSS in KiB, open fds) of one process; None once it is gone.
type Sample = Option<(u64, usize)>;

fn sample(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some((rss, fds))
}

fn status_json(host: &Netns, d: &Daemon) -> Json {
    let out = host
        .command(&[vigil_bin().to_str().unwrap(), "status", "--json"])
        .env("VIGIL_RUN_DIR", d.run_dir())
        .output()
        .expect("run vigil status");
    Json::parse(String::from_utf8_lossy(&out.stdout).trim()).unwrap_or(Json::Null)
}

/// rx and tx summed over every instance in a status document.
fn rx_tx(v: &Json) -> (i64, i64) {
    fn collect<'a>(v: &'a Json, out: &mut Vec<&'a Json>) {
        if v.get("tx").is_some() {
            out.push(v);
            return;
        }
        match v {
            Json::Arr(items) => items.iter().for_each(|i| collect(i, out)),
            Json::Obj(pairs) => pairs.iter().for_each(|(_, i)| collect(i, out)),
            _ => {}
        }
    }
    let mut instances = Vec::new();
    collect(v, &mut instances);
    let sum = |k| instances.iter().filter_map(|i| i.get(k)).filter_map(Json::as_i64).sum::<i64>();
    (sum("rx"), sum("tx"))
}

fn main() {
    let env = |k: &str, default: u64| std::env::var(k).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    let seconds = env("SOAK_SECONDS", 600);
    let instances = env("SOAK_INSTANCES", 1).clamp(1, 100) as u8;
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vips: Vec<IpAddr> = (0..instances).map(|i| lan.v4(100 + i).into()).collect();
    let da = Daemon::start(&a, &vigil_bin(), &config(150, &vips), &["-P"]);
    for n in 1..=instances {
        let master = format!("(VI_{n}) Entering MASTER STATE");
        assert!(da.wait_log(&master, secs(5)), "a never became master:\n{}", da.log());
    }
    let db = Daemon::start(&b, &vigil_bin(), &config(100, &vips), &["-P"]);
    for n in 1..=instances {
        assert!(db.wait_log(&format!("(VI_{n}) Entering BACKUP STATE"), secs(5)), "{}", db.log());
    }
    let probes: Vec<Prober> = vips.iter().map(|vip| Prober::start(&c, *vip)).collect();
    for p in &probes {
        assert!(p.wait_answers(20, secs(3)), "a VIP does not answer");
    }
    let masters = (da.log_count("Entering MASTER STATE"), db.log_count("Entering MASTER STATE"));

    // Every vigil process: parent and VRRP child of each router.
    let procs: Vec<(String, u32)> = vec![
        ("a parent".into(), da.pid()),
        ("a vrrp".into(), da.pid_from_file("v.pid").expect("a VRRP child")),
        ("b parent".into(), db.pid()),
        ("b vrrp".into(), db.pid_from_file("v.pid").expect("b VRRP child")),
    ];
    let mut table: Vec<(u64, Vec<Sample>)> = Vec::new();
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut reloads = 0;
    let mut next = start;
    println!(
        "soak: {seconds} s, {instances} VRRPv3 instance(s) at advert_int 0.01, SIGHUP every 10 s, sampling every 10 s"
    );
    while next < end {
        // Sample halfway between reloads, so no reload is in flight.
        std::thread::sleep(next.saturating_duration_since(Instant::now()) + SAMPLE_EVERY / 2);
        table.push((start.elapsed().as_secs(), procs.iter().map(|(_, p)| sample(*p)).collect()));
        std::thread::sleep(SAMPLE_EVERY / 2);
        da.signal(libc::SIGHUP);
        db.signal(libc::SIGHUP);
        reloads += 1;
        next += SAMPLE_EVERY;
    }
    std::thread::sleep(secs(1));
    let reports: Vec<_> = probes.into_iter().map(Prober::stop).collect();
    let (a_rx, a_tx) = rx_tx(&status_json(&a, &da));
    let (b_rx, b_tx) = rx_tx(&status_json(&b, &db));

    print!("{:>6}", "t/s");
    for (name, pid) in &procs {
        print!(" | {:>22}", format!("{name} ({pid})"));
    }
    print!("\n{:>6}", "");
    for _ in &procs {
        print!(" | {:>16} {:>5}", "rss KiB", "fds");
    }
    println!();
    for (t, row) in &table {
        print!("{t:>6}");
        for s in row {
            match s {
                Some((rss, fds)) => print!(" | {rss:>16} {fds:>5}"),
                None => print!(" | {:>22}", "gone"),
            }
        }
        println!();
    }
    println!(
        "adverts: a sent {a_tx} (received {a_rx}), b received {b_rx} (sent {b_tx}); {reloads} reloads each"
    );
    for (vip, r) in vips.iter().zip(&reports) {
        println!("prober {vip}: {} sent, {} lost, longest gap {:?}", r.sent(), r.lost(), r.longest_gap());
    }

    let mut failures = Vec::new();
    let (first, last) = (&table[0].1, &table[table.len() - 1].1);
    for (i, (name, _)) in procs.iter().enumerate() {
        match (first[i], last[i]) {
            (Some((rss0, fd0)), Some((rss1, fd1))) => {
                if rss1 > rss0 + rss0 / 20 + RSS_SLACK_KB {
                    failures.push(format!("{name}: RSS grew from {rss0} KiB to {rss1} KiB"));
                }
                if fd1 > fd0 {
                    failures.push(format!("{name}: fds grew from {fd0} to {fd1}"));
                }
            }
            _ => failures.push(format!("{name}: process went away")),
        }
    }
    for (vip, r) in vips.iter().zip(&reports) {
        if r.lost() > 0 {
            failures.push(format!("{vip}: {} probes lost (longest gap {:?})", r.lost(), r.longest_gap()));
        }
    }
    if (da.log_count("Entering MASTER STATE"), db.log_count("Entering MASTER STATE")) != masters {
        failures.push("mastership moved during the soak".into());
    }
    if da.log_count("Reload failed") + db.log_count("Reload failed") > 0 {
        failures.push("a reload failed".into());
    }
    if !failures.is_empty() {
        eprintln!("soak FAILED:\n  {}", failures.join("\n  "));
        eprintln!("--- a ---\n{}\n--- b ---\n{}", da.log(), db.log());
        std::process::exit(1);
    }
    println!("soak passed: RSS and fds flat, no VIP gap, no state change");
}
