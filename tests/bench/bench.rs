//! `make bench`: vigil and Debian's keepalived measured in the same run on
//! the same namespace lab, side by side with the protocol's bound.
//!
//! * failover latency: from the signal (SIGTERM, or SIGKILL of every process
//!   plus link down) to the VIP appearing on the backup, read from an
//!   rtnetlink address monitor inside the backup's namespace (no polling);
//! * CPU time and RSS of every process with 1, 64 and 255 instances;
//! * CPU and RSS of the checker with 1,000 real servers (keepalived with an
//!   IPVS shim, tests/bench/ipvs_shim.c, as this kernel has no IPVS);
//! * start to MASTER for an address owner;
//! * VRRP at scale: 255 VRRPv3 instances at 0.1 s adverts (2,550 adverts/s),
//!   CPU of the master and of the backup, read from schedstat (nanoseconds);
//! * `-t` of the same 255-instance configuration, process start included;
//! * a VRRP child killed on the master (priorities 100/90, advert 1 s):
//!   probes of the VIP lost, and whether the backup took over;
//! * binary size with its shared libraries.
//!
//! Writes the table as Markdown to `bench-results.md` (or `$BENCH_OUT`) and
//! prints it. `BENCH_RUNS` sets the runs per failover row (default 5).

#[path = "../common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use vigil::sys::link::{Event, Monitor};

#[derive(Clone, Copy, PartialEq)]
enum Stop {
    Graceful,
    Crash,
}

struct Scenario {
    name: &'static str,
    version: u8,
    advert: f64,
    stop: Stop,
}

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "v2 advert 1 s, SIGTERM", version: 2, advert: 1.0, stop: Stop::Graceful },
    Scenario { name: "v2 advert 1 s, crash", version: 2, advert: 1.0, stop: Stop::Crash },
    Scenario { name: "v3 advert 0.1 s, SIGTERM", version: 3, advert: 0.1, stop: Stop::Graceful },
    Scenario { name: "v3 advert 0.1 s, crash", version: 3, advert: 0.1, stop: Stop::Crash },
    Scenario { name: "v3 advert 0.05 s, SIGTERM", version: 3, advert: 0.05, stop: Stop::Graceful },
    Scenario { name: "v3 advert 0.05 s, crash", version: 3, advert: 0.05, stop: Stop::Crash },
    Scenario { name: "v3 advert 0.01 s, SIGTERM", version: 3, advert: 0.01, stop: Stop::Graceful },
    Scenario { name: "v3 advert 0.01 s, crash", version: 3, advert: 0.01, stop: Stop::Crash },
];

const BACKUP_PRIO: u32 = 100;

fn main() {
    // The yardstick prober runs as a child of the bench, inside the lab's namespace.
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, kind, targets @ ..] = args.as_slice() {
        if flag == MINIMAL_PROBER_FLAG {
            let kind = if kind == "http" { CheckKind::Http } else { CheckKind::Tcp };
            minimal_prober(kind, &targets.iter().filter_map(|t| t.parse().ok()).collect::<Vec<_>>());
        }
    }
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("make bench needs root (network namespaces, raw sockets)");
        std::process::exit(1);
    }
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let daemons = [("vigil", vigil_bin()), ("keepalived", keepalived_bin())];
    let mut md = String::new();
    let _ = writeln!(md, "# vigil vs keepalived {}\n", keepalived_version());
    let _ = writeln!(md, "{}\n", machine());

    if only.is_empty() || only.contains("failover") {
        let _ = writeln!(
            md,
            "## Failover: signal to VIP on the backup (ms; min / median / max over {runs} runs)\n"
        );
        let _ =
            writeln!(md, "| scenario | protocol bound | vigil | keepalived | vigil / keepalived (median) |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for s in SCENARIOS {
            let mut cols = Vec::new();
            for (name, bin) in &daemons {
                eprintln!("failover: {} with {name}", s.name);
                cols.push(failover(bin, s, runs));
            }
            let ratio = match (median(&cols[0]), median(&cols[1])) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {ratio} |",
                s.name,
                bound(s),
                stats(&cols[0]),
                stats(&cols[1])
            );
        }
        let _ = writeln!(
            md,
            "\nSIGTERM: the master sends priority 0, the backup waits its skew time \
             ((256 - {BACKUP_PRIO}) / 256 x interval). Crash: every process is killed and the master's \
             link goes down; the backup waits the master-down interval (3 x interval + skew) counted from \
             the last advert it heard, so the figure spreads over one interval.\n"
        );
    }

    if only.is_empty() || only.contains("resources") {
        let _ = writeln!(md, "## Resources, steady state (VRRPv3 advert 1 s, one VIP per instance)\n");
        let _ = writeln!(md, "| instances | daemon | processes | RSS total (kB) | CPU over 10 s (ms) | start to all MASTER (s) |");
        let _ = writeln!(md, "|---|---|---|---|---|---|");
        for n in [1usize, 64, 255] {
            for (name, bin) in &daemons {
                eprintln!("resources: {n} instances with {name}");
                let r = resources(bin, n);
                let _ = writeln!(
                    md,
                    "| {n} | {name} | {} | {} | {} | {} |",
                    r.procs,
                    r.rss_kb,
                    r.cpu_ms,
                    r.to_master.map_or("-".into(), |d| format!("{:.3}", d.as_secs_f64()))
                );
            }
        }
        let _ = writeln!(
            md,
            "\nAll instances are address owners (priority 255), so start to MASTER is pure start-up cost.\n"
        );
    }

    if only.is_empty() || only.contains("scale") {
        let _ = writeln!(
            md,
            "## VRRP at scale: {SCALE_INSTANCES} VRRPv3 instances, advert 0.1 s ({} adverts/s), \
             CPU over {SCALE_WINDOW_S} s (median of {SCALE_RUNS} runs)\n",
            SCALE_INSTANCES * 10
        );
        let _ =
            writeln!(md, "| daemon | master CPU (%) | backup CPU (%) | master RSS (kB) | backup RSS (kB) |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for (name, bin) in &daemons {
            let runs: Vec<Scale> = (0..SCALE_RUNS)
                .filter_map(|run| {
                    eprintln!("scale: {SCALE_INSTANCES} instances at 0.1 s with {name}, run {}", run + 1);
                    vrrp_scale(bin)
                })
                .collect();
            let pick = |f: fn(&Scale) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
            let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
            let kb = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} |",
                pct(pick(|s| s.master_pct)),
                pct(pick(|s| s.backup_pct)),
                kb(pick(|s| s.master_rss_kb as f64)),
                kb(pick(|s| s.backup_rss_kb as f64)),
            );
        }
        let _ = writeln!(
            md,
            "\nEvery process of each daemon (parent and VRRP child, `-P`), on-CPU time from \
             /proc/PID/task/*/schedstat. The master (priority 200) sends every advert, the backup \
             (priority 100) receives them all.\n"
        );
    }

    if only.is_empty() || only.contains("tcheck") {
        let _ = writeln!(
            md,
            "## Config check: `-t` of the {SCALE_INSTANCES}-instance configuration \
             (process start included, {CHECK_RUNS} runs)\n"
        );
        let _ = writeln!(md, "| daemon | wall (ms; min / median / max) | CPU (ms; median) |");
        let _ = writeln!(md, "|---|---|---|");
        for (name, bin) in &daemons {
            eprintln!("config check: -t of {SCALE_INSTANCES} instances with {name}");
            let (wall, cpu) = config_check(bin);
            let cpu = median(&cpu).map_or("-".into(), |v| format!("{v:.2}"));
            let _ = writeln!(md, "| {name} | {} | {cpu} |", stats2(&wall));
        }
        let _ = writeln!(
            md,
            "\nRun in the lab host's namespace (its `eth0` exists); CPU is user + system time of the \
             process from wait4(2).\n"
        );
    }

    if only.is_empty() || only.contains("checker") {
        let _ = writeln!(
            md,
            "## Checker: 1 virtual server, 1,000 real servers checked every second (steady state)\n"
        );
        let mut syscalls = String::new();
        let _ = writeln!(md, "| checker | daemon | checks/s seen by the servers | checker RSS (kB) | checker CPU over 10 s (ms) | all processes RSS (kB) | CPU vs floor | CPU vs keepalived |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
        let shim = ipvs_shim();
        for kind in [CheckKind::Tcp, CheckKind::Http] {
            eprintln!("checker: 1000 x {} with vigil", kind.name());
            let vigil = checker_scale(&Subject::Daemon(&vigil_bin(), &[]), kind);
            eprintln!("checker: 1000 x {} with keepalived", kind.name());
            let keepalived = match &shim {
                Ok(dir) => {
                    let so = dir.path().join("ipvs_shim.so");
                    let env = [("LD_PRELOAD", so.to_str().unwrap())];
                    Ok(checker_scale(&Subject::Daemon(&keepalived_bin(), &env), kind))
                }
                Err(why) => Err(why.clone()),
            };
            eprintln!("checker: 1000 x {} with the minimal prober", kind.name());
            let floor = checker_scale(&Subject::MinimalProber, kind);
            let ratio = |of: &CheckerScale, to: Option<&CheckerScale>| match to {
                Some(to) if kept_up(of) && kept_up(to) && to.checker_cpu_ms > 0 => {
                    format!("{:.2}", of.checker_cpu_ms as f64 / to.checker_cpu_ms as f64)
                }
                _ => "-".to_string(),
            };
            let (vs_floor, vs_keepalived) =
                (ratio(&vigil, Some(&floor)), ratio(&vigil, keepalived.as_ref().ok()));
            let _ = writeln!(md, "{} {vs_floor} | {vs_keepalived} |", checker_row(kind, "vigil", &vigil));
            let row = match &keepalived {
                Ok(r) => {
                    format!("{} {} | 1.00 |", checker_row(kind, "keepalived", r), ratio(r, Some(&floor)))
                }
                Err(why) => format!("| {} | keepalived | not taken: {why} | | | | | |", kind.name()),
            };
            let _ = writeln!(md, "{row}");
            let _ = writeln!(md, "{} 1.00 | - |", checker_row(kind, "minimal prober (floor)", &floor));
            for (name, r) in
                [("vigil", Some(&vigil)), ("keepalived", keepalived.as_ref().ok()), ("floor", Some(&floor))]
            {
                if let Some(calls) = r.and_then(|r| r.syscalls_per_check) {
                    let _ = writeln!(syscalls, "| {} | {name} | {calls:.1} |", kind.name());
                }
            }
        }
        let _ = writeln!(
            md,
            "\nThe floor is a minimal prober in the bench itself (`minimal_prober` in tests/bench/bench.rs): \
             one epoll loop, non-blocking connects, the checks due within the next 10 ms started in one pass, \
             close without epoll_ctl(DEL), HTTP read only when readable. CPU vs floor and vs keepalived are \
             ratios of the checker CPU column."
        );
        if !syscalls.is_empty() {
            let _ = writeln!(md, "\nSyscalls per check (`strace -c -f` on the checker for 5 s after the CPU window, `BENCH_STRACE=1`):\n");
            let _ = writeln!(md, "| checker | daemon | syscalls per check |\n|---|---|---|\n{syscalls}");
        }
        let _ = writeln!(
            md,
            "\nThis kernel has no IPVS, and keepalived's checker exits without it (\"IPVS: Can't initialize ipvs\"). \
             keepalived runs unmodified with `LD_PRELOAD` of tests/bench/ipvs_shim.c, which answers its IPVS \
             socket options with success and an empty table; vigil runs without IPVS (checking and notifying \
             only). Neither makes IPVS calls in steady state: they only happen when a real server changes state.\n"
        );
    }

    if only.is_empty() || only.contains("child") {
        let _ = writeln!(
            md,
            "## VRRP child killed on the master (priority 100 vs 90, advert 1 s, VIP probed every 10 ms, {runs} runs)\n"
        );
        let _ =
            writeln!(md, "| daemon | probes lost (min / median / max) | runs where the backup took over |");
        let _ = writeln!(md, "|---|---|---|");
        for (name, bin) in &daemons {
            eprintln!("child kill: {name}");
            let (lost, takeovers) = child_kill(bin, runs);
            let _ = writeln!(md, "| {name} | {} | {takeovers} of {} |", stats(&lost), lost.len());
        }
        let _ = writeln!(
            md,
            "\nThe parent restarts its VRRP child at once. keepalived's new child starts in BACKUP and \
             removes the VIP until it wins again; vigil's resumes MASTER from its predecessor's state file.\n"
        );
    }

    if only.is_empty() || only.contains("size") {
        let _ = writeln!(md, "## Binary\n");
        let _ = writeln!(md, "| daemon | file | bytes | shared libraries | bytes with libraries |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        let mut bins = vec![("vigil (this build)", vigil_bin())];
        let musl = PathBuf::from("target/x86_64-unknown-linux-musl/release/vigil");
        if musl.exists() {
            bins.insert(0, ("vigil (make static)", musl));
        }
        bins.push(("keepalived", keepalived_bin()));
        for (name, path) in bins {
            let (libs, lib_bytes) = shared_libs(&path);
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let _ = writeln!(md, "| {name} | {} | {size} | {libs} | {} |", path.display(), size + lib_bytes);
        }
    }

    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| "bench-results.md".into());
    std::fs::write(&out, &md).expect("write bench results");
    println!("{md}");
    eprintln!("written to {out}");
}

fn config(s: &Scenario, prio: u32, vip: IpAddr) -> String {
    format!(
        "global_defs {{\n    vrrp_version {}\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 51\n    priority {prio}\n    advert_int {}\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n",
        s.version, s.advert
    )
}

/// One failover figure per run, in milliseconds.
fn failover(bin: &Path, s: &Scenario, runs: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for run in 0..runs {
        let lan = Lan::new();
        let (a, b) = (lan.add_host("a"), lan.add_host("b"));
        let vip: IpAddr = lan.v4(100).into();
        let mut da = Daemon::start(&a, bin, &config(s, 150, vip), &["-P"]);
        if !da.wait_log("Entering MASTER STATE", secs(10)) {
            eprintln!("  run {run}: master never elected");
            continue;
        }
        let db = Daemon::start(&b, bin, &config(s, BACKUP_PRIO, vip), &["-P"]);
        if !db.wait_log("Entering BACKUP STATE", secs(5)) {
            eprintln!("  run {run}: backup never started");
            continue;
        }
        let watch = AddrWatch::start(&b, vip);
        // Let the backup settle, then land the event at a random phase of the advert cycle.
        let phase = (run as f64 + 0.5) / runs as f64;
        std::thread::sleep(Duration::from_secs_f64(s.advert * (2.0 + phase)).max(ms(300)));
        let t0 = Instant::now();
        match s.stop {
            Stop::Graceful => da.signal(libc::SIGTERM),
            Stop::Crash => {
                da.kill9();
                a.link_set("eth0", false);
            }
        }
        let limit = Duration::from_secs_f64(4.0 * s.advert + 2.0);
        match watch.wait(limit) {
            Some(t) => out.push(t.saturating_duration_since(t0).as_secs_f64() * 1000.0),
            None => eprintln!("  run {run}: VIP never appeared on the backup"),
        }
        da.stop();
    }
    out
}

/// Per run: probes of the VIP lost in the 6 s after `kill -9` of the
/// master's VRRP child, and the number of runs where the backup logged MASTER.
fn child_kill(bin: &Path, runs: usize) -> (Vec<f64>, usize) {
    let s = Scenario { name: "child kill", version: 2, advert: 1.0, stop: Stop::Crash };
    let (mut lost, mut takeovers) = (Vec::new(), 0);
    for run in 0..runs {
        let lan = Lan::new();
        let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
        let vip: IpAddr = lan.v4(100).into();
        let da = Daemon::start(&a, bin, &config(&s, 100, vip), &["-P"]);
        let db = Daemon::start(&b, bin, &config(&s, 90, vip), &["-P"]);
        if !da.wait_log("Entering MASTER STATE", secs(10)) || !db.wait_log("Entering BACKUP STATE", secs(5)) {
            eprintln!("  run {run}: no master and backup");
            continue;
        }
        let probe = Prober::start(&c, vip);
        if !probe.wait_answers(20, secs(5)) {
            eprintln!("  run {run}: the VIP does not answer");
            continue;
        }
        // A different point of the advert cycle each run.
        std::thread::sleep(Duration::from_secs_f64(1.0 + (run as f64 + 0.5) / runs as f64));
        let Some(child) = da.pid_from_file("v.pid") else {
            eprintln!("  run {run}: no VRRP child pid file");
            continue;
        };
        let t0 = Instant::now();
        // SAFETY: kill(2) of the daemon's VRRP child, pid from its pid file.
        unsafe { libc::kill(child as i32, libc::SIGKILL) };
        std::thread::sleep(secs(6));
        let report = probe.stop();
        lost.push(report.lost_between(t0, Instant::now()) as f64);
        takeovers += usize::from(db.log_count("Entering MASTER STATE") > 0);
    }
    (lost, takeovers)
}

/// Watches for an address to appear, from an rtnetlink monitor inside a namespace.
struct AddrWatch {
    seen: Arc<Mutex<Option<Instant>>>,
}

impl AddrWatch {
    fn start(ns: &Netns, addr: IpAddr) -> AddrWatch {
        let seen = Arc::new(Mutex::new(None));
        let seen2 = seen.clone();
        let name = ns.name().to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            setns(&name).expect("setns");
            let mut mon = Monitor::open().expect("monitor");
            tx.send(()).ok();
            let deadline = Instant::now() + secs(30);
            let mut events = Vec::new();
            while Instant::now() < deadline {
                let mut pfd = libc::pollfd { fd: mon.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                unsafe { libc::poll(&mut pfd, 1, 100) };
                events.clear();
                let _ = mon.read_events(&mut events);
                let now = Instant::now();
                if events.iter().any(|e| matches!(e, Event::Addr(a) if a.addr == addr)) {
                    *seen2.lock().unwrap() = Some(now);
                    return;
                }
            }
        });
        rx.recv_timeout(secs(5)).expect("monitor started");
        AddrWatch { seen }
    }

    fn wait(&self, limit: Duration) -> Option<Instant> {
        wait_until(limit, ms(2), || self.seen.lock().unwrap().is_some());
        *self.seen.lock().unwrap()
    }
}

struct Resources {
    procs: usize,
    rss_kb: u64,
    cpu_ms: u64,
    to_master: Option<Duration>,
}

fn resources(bin: &Path, n: usize) -> Resources {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let mut conf = String::from("global_defs {\n    vrrp_version 3\n}\n");
    for v in 1..=n {
        let vip = format!("198.18.{}.{}", 200 + (v - 1) / 128, (v - 1) % 128 + 1);
        let _ = write!(
            conf,
            "vrrp_instance VI_{v} {{\n    state MASTER\n    interface eth0\n    virtual_router_id {v}\n    \
             priority 255\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/32\n    }}\n}}\n"
        );
    }
    let t0 = Instant::now();
    let d = Daemon::start(&a, bin, &conf, &["-P"]);
    let all = wait_until(secs(20), ms(10), || d.log_count("Entering MASTER STATE") >= n);
    let to_master = if all { d.log_times("Entering MASTER STATE").get(n - 1).map(|t| *t - t0) } else { None };
    std::thread::sleep(secs(3));
    let pids = process_tree(d.pid());
    let cpu0: u64 = pids.iter().map(|&p| cpu_ticks(p)).sum();
    std::thread::sleep(secs(10));
    let cpu1: u64 = pids.iter().map(|&p| cpu_ticks(p)).sum();
    let rss_kb = pids.iter().map(|&p| rss_kb(p)).sum();
    let tick_ms = 1000 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Resources { procs: pids.len(), rss_kb, cpu_ms: (cpu1 - cpu0) * tick_ms, to_master }
}

/// `pid` and its descendants.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
                if stat_field(p, 1) == Some(u64::from(parent)) && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        i += 1;
    }
    out
}

/// Field `k` (0-based) after the command name of /proc/pid/stat.
fn stat_field(pid: u32, k: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(k)?.parse().ok()
}

fn cpu_ticks(pid: u32) -> u64 {
    stat_field(pid, 11).unwrap_or(0) + stat_field(pid, 12).unwrap_or(0)
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn shared_libs(bin: &Path) -> (usize, u64) {
    let Ok(out) = std::process::Command::new("ldd").arg(bin).output() else { return (0, 0) };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut libs: Vec<&str> = text.lines().filter_map(|l| l.split("=> ").nth(1)?.split(' ').next()).collect();
    libs.sort();
    libs.dedup();
    let bytes = libs.iter().filter_map(|l| std::fs::metadata(l).ok()).map(|m| m.len()).sum();
    (libs.len(), bytes)
}

fn bound(s: &Scenario) -> String {
    let skew = f64::from(256 - BACKUP_PRIO) / 256.0 * s.advert;
    match s.stop {
        Stop::Graceful => format!("{:.1} (skew)", skew * 1000.0),
        Stop::Crash => {
            format!("{:.1} - {:.1}", (2.0 * s.advert + skew) * 1000.0, (3.0 * s.advert + skew) * 1000.0)
        }
    }
}

fn stats(v: &[f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    format!("{:.1} / {:.1} / {:.1}", s[0], median(&s).unwrap_or(0.0), s[s.len() - 1])
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Some(s[s.len() / 2])
}

fn keepalived_version() -> String {
    let out = std::process::Command::new(keepalived_bin()).arg("-v").output();
    out.ok()
        .map(|o| String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{date}, commit {commit}, {cpus} CPUs, Linux {}", kernel.trim())
}

#[derive(Clone, Copy, PartialEq)]
enum CheckKind {
    Tcp,
    Http,
}

impl CheckKind {
    fn name(self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http => "HTTP_GET",
        }
    }
}

struct CheckerScale {
    checks_per_s: f64,
    checker_rss_kb: u64,
    checker_cpu_ms: u64,
    total_rss_kb: u64,
    /// With `BENCH_STRACE=1`.
    syscalls_per_check: Option<f64>,
}

/// Fewer checks than this per second: the checker did not keep up.
fn kept_up(r: &CheckerScale) -> bool {
    r.checks_per_s >= 900.0
}

/// The row without its two ratio columns.
fn checker_row(kind: CheckKind, daemon: &str, r: &CheckerScale) -> String {
    if !kept_up(r) {
        return format!(
            "| {} | {daemon} | {:.0}: not taken, the checker did not keep up or did not run | | | |",
            kind.name(),
            r.checks_per_s
        );
    }
    format!(
        "| {} | {daemon} | {:.0} | {} | {} | {} |",
        kind.name(),
        r.checks_per_s,
        r.checker_rss_kb,
        r.checker_cpu_ms,
        r.total_rss_kb
    )
}

/// Builds tests/bench/ipvs_shim.c with the system C compiler (keepalived's checker only), as
/// DIR/ipvs_shim.so in a directory removed on drop.
fn ipvs_shim() -> Result<TempDir, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bench/ipvs_shim.c");
    let dir = TempDir::new("ipvs-shim");
    let out = dir.path().join("ipvs_shim.so");
    let status = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .map_err(|e| format!("no C compiler to build its IPVS shim ({e})"))?;
    if !status.success() {
        return Err(format!("its IPVS shim did not build (cc {status})"));
    }
    Ok(dir)
}

/// What checks the 1,000 real servers.
enum Subject<'a> {
    /// vigil or keepalived with `-C`, with extra environment.
    Daemon(&'a Path, &'a [(&'a str, &'a str)]),
    /// `minimal_prober`, this binary run again.
    MinimalProber,
}

/// 1,000 real servers on /32s of a server host, answered by one responder.
fn checker_scale(subject: &Subject, kind: CheckKind) -> CheckerScale {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let lan = Lan::new();
    let (a, srv) = (lan.add_host("a"), lan.add_host("s"));
    let addrs: Vec<String> = (0..1000).map(|i| format!("198.19.{}.{}", i / 250, i % 250 + 1)).collect();
    let batch: String = addrs.iter().map(|ip| format!("addr add {ip}/32 dev eth0\n")).collect();
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["-n", srv.name(), "-batch", "-"]).stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("ip -batch");
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(batch.as_bytes()).unwrap();
    }
    child.wait().unwrap();
    a.ip(&["route", "add", "198.19.0.0/16", "via", &srv.ip4.to_string()]);

    // One responder for every address: accept, answer (HTTP) or see EOF (TCP), close.
    let seen = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (seen2, stop2, name) = (seen.clone(), stop.clone(), srv.name().to_string());
    let responder = std::thread::spawn(move || {
        use std::io::{Read, Write};
        setns(&name).expect("setns");
        let l = std::net::TcpListener::bind("0.0.0.0:8080").expect("bind 8080");
        l.set_nonblocking(true).ok();
        let mut buf = [0u8; 2048];
        while !stop2.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((mut s, _)) => {
                    seen2.fetch_add(1, Ordering::Relaxed);
                    s.set_nonblocking(false).ok();
                    s.set_read_timeout(Some(ms(200))).ok();
                    if let Ok(n) = s.read(&mut buf) {
                        if n > 0 {
                            let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
                        }
                    }
                }
                Err(_) => std::thread::sleep(ms(1)),
            }
        }
    });

    let check = match kind {
        CheckKind::Tcp => "TCP_CHECK {\n connect_timeout 1\n retry 1\n delay_before_retry 1\n }".to_string(),
        CheckKind::Http => {
            "HTTP_GET {\n url {\n path /\n status_code 200\n }\n connect_timeout 1\n retry 1\n \
                            delay_before_retry 1\n }"
                .to_string()
        }
    };
    let mut conf = format!(
        "virtual_server {} 8080 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n",
        lan.v4(100)
    );
    for ip in &addrs {
        let _ = writeln!(conf, " real_server {ip} 8080 {{\n weight 1\n {check}\n }}");
    }
    conf.push_str("}\n");
    let (mut d, mut prober) = (None, None);
    let (checker, tree) = match subject {
        Subject::Daemon(bin, env) => {
            let daemon = d.insert(Daemon::start_env(&a, bin, &conf, &["-C"], env));
            std::thread::sleep(secs(6));
            (daemon.pid_from_file("c.pid").unwrap_or(0), process_tree(daemon.pid()))
        }
        Subject::MinimalProber => {
            let exe = std::env::current_exe().expect("own path");
            let mut args = vec![exe.to_str().unwrap(), MINIMAL_PROBER_FLAG];
            args.push(match kind {
                CheckKind::Tcp => "tcp",
                CheckKind::Http => "http",
            });
            args.extend(addrs.iter().map(String::as_str));
            let pid = prober.insert(ProcGuard::spawn(&mut a.command(&args))).pid();
            std::thread::sleep(secs(6));
            (pid, vec![pid])
        }
    };
    let n0 = seen.load(Ordering::Relaxed);
    let c0 = cpu_ticks(checker);
    let t0 = Instant::now();
    std::thread::sleep(secs(10));
    let c1 = cpu_ticks(checker);
    let n1 = seen.load(Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let tick_ms = 1000 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let total_rss_kb = tree.iter().map(|&p| rss_kb(p)).sum();
    let checker_rss_kb = rss_kb(checker);
    let syscalls_per_check =
        std::env::var_os("BENCH_STRACE").and_then(|_| strace_per_check(checker, secs(5)));
    let r = CheckerScale {
        checks_per_s: (n1 - n0) as f64 / elapsed,
        checker_rss_kb,
        checker_cpu_ms: (c1 - c0) * tick_ms,
        total_rss_kb,
        syscalls_per_check,
    };
    drop((d, prober));
    stop.store(true, Ordering::Relaxed);
    let _ = responder.join();
    r
}

const SCALE_INSTANCES: usize = 255;
const SCALE_RUNS: usize = 3;
const SCALE_WINDOW_S: u64 = 10;
const CHECK_RUNS: usize = 30;

/// `n` VRRPv3 instances at 0.1 s adverts on eth0, one /32 VIP each.
fn scale_config(n: usize, prio: u32) -> String {
    let mut conf = String::from("global_defs {\n    vrrp_version 3\n}\n");
    for v in 1..=n {
        let vip = format!("198.18.{}.{}", 200 + (v - 1) / 128, (v - 1) % 128 + 1);
        let _ = write!(
            conf,
            "vrrp_instance VI_{v} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {v}\n    \
             priority {prio}\n    advert_int 0.1\n    virtual_ipaddress {{\n        {vip}/32\n    }}\n}}\n"
        );
    }
    conf
}

struct Scale {
    master_pct: f64,
    backup_pct: f64,
    master_rss_kb: u64,
    backup_rss_kb: u64,
}

/// A master (priority 200) and a backup (100) with [`SCALE_INSTANCES`]
/// instances each; CPU of each side over the same window once all are settled.
fn vrrp_scale(bin: &Path) -> Option<Scale> {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let n = SCALE_INSTANCES;
    let master = Daemon::start(&a, bin, &scale_config(n, 200), &["-P"]);
    if !wait_until(secs(20), ms(20), || master.log_count("Entering MASTER STATE") >= n) {
        eprintln!("  the master did not take all {n} instances");
        return None;
    }
    let backup = Daemon::start(&b, bin, &scale_config(n, 100), &["-P"]);
    if !wait_until(secs(20), ms(20), || backup.log_count("Entering BACKUP STATE") >= n) {
        eprintln!("  the backup did not enter BACKUP on all {n} instances");
        return None;
    }
    std::thread::sleep(secs(3));
    let changes = || master.log_count("Entering") + backup.log_count("Entering");
    let changes0 = changes();
    let (mp, bp) = (process_tree(master.pid()), process_tree(backup.pid()));
    let on_cpu = |pids: &[u32]| pids.iter().map(|&p| on_cpu_ns(p)).sum::<u64>();
    let (m0, b0, t0) = (on_cpu(&mp), on_cpu(&bp), Instant::now());
    std::thread::sleep(secs(SCALE_WINDOW_S));
    let (m1, b1, elapsed) = (on_cpu(&mp), on_cpu(&bp), t0.elapsed().as_nanos() as f64);
    if changes() != changes0 {
        eprintln!("  an instance changed state during the window");
        return None;
    }
    Some(Scale {
        master_pct: (m1 - m0) as f64 / elapsed * 100.0,
        backup_pct: (b1 - b0) as f64 / elapsed * 100.0,
        master_rss_kb: mp.iter().map(|&p| rss_kb(p)).sum(),
        backup_rss_kb: bp.iter().map(|&p| rss_kb(p)).sum(),
    })
}

/// Nanoseconds every thread of `pid` has run (field 1 of schedstat).
fn on_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// `BIN -t -f CONF` of the scale configuration, [`CHECK_RUNS`] times inside
/// a lab host's namespace: wall and CPU milliseconds of each run.
fn config_check(bin: &Path) -> (Vec<f64>, Vec<f64>) {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let dir = TempDir::new("config-check");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, scale_config(SCALE_INSTANCES, 200)).expect("write config");
    a.enter(|| {
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..CHECK_RUNS {
            let t0 = Instant::now();
            // Waited for below with wait4(2), which also gives its CPU time.
            #[allow(clippy::zombie_processes)]
            let child = std::process::Command::new(bin)
                .arg("-t")
                .arg("-f")
                .arg(&conf)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn -t");
            let mut status = 0;
            // SAFETY: an all-zero rusage is valid; wait4 fills it in for our child.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: waiting for our own child by pid (std's Child is not waited on).
            let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
            let elapsed = t0.elapsed();
            if rc < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
                eprintln!("  -t failed (status {status})");
                continue;
            }
            let tv = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
            wall.push(elapsed.as_secs_f64() * 1000.0);
            cpu.push(tv(ru.ru_utime) + tv(ru.ru_stime));
        }
        (wall, cpu)
    })
}

/// min / median / max with two decimals.
fn stats2(v: &[f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    format!("{:.2} / {:.2} / {:.2}", s[0], median(&s).unwrap_or(0.0), s[s.len() - 1])
}

/// Syscalls per check of `pid` and its threads over `window`, from `strace -c -f`'s summary:
/// every call over the `connect` calls (one per check, whoever checks; the servers' count
/// would lag when strace slows the checker). The summary is kept as DIR/strace-PID.txt when
/// `BENCH_STRACE` is a directory.
fn strace_per_check(pid: u32, window: Duration) -> Option<f64> {
    let child = std::process::Command::new("strace")
        .args(["-c", "-f", "-p", &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    std::thread::sleep(window);
    // SAFETY: SIGINT to our own strace child, which then prints its summary.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    if let Some(dir) = std::env::var_os("BENCH_STRACE").filter(|d| Path::new(d).is_dir()) {
        let _ = std::fs::write(Path::new(&dir).join(format!("strace-{pid}.txt")), text.as_bytes());
    }
    // Summary lines: "% time  seconds  usecs/call  calls  [errors]  syscall"; calls is the 4th word.
    let calls = |name: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.split_whitespace().last() == Some(name))?;
        line.split_whitespace().nth(3)?.parse().ok()
    };
    Some(calls("total")? / calls("connect")?.max(1.0))
}

const MINIMAL_PROBER_FLAG: &str = "--minimal-prober";

/// The yardstick for the checker rows: what checking 1,000 servers every
/// second costs at the least. One epoll loop, non-blocking connects, the
/// checks due within the next 10 ms started in one pass, every check
/// `delay_loop` 1 s after the end of the previous one, `close` without
/// `epoll_ctl(DEL)`. TCP: the connect is the check (SO_ERROR); HTTP: send
/// the request when writable, read when readable until the server closes,
/// the status line decides. Timeouts and results are counted, not acted on.
fn minimal_prober(kind: CheckKind, targets: &[std::net::Ipv4Addr]) -> ! {
    use std::cmp::Reverse;
    const WINDOW: Duration = Duration::from_millis(10);
    const REQUEST: &[u8] = b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: x\r\n\r\n";
    // SAFETY (whole fn): plain syscalls on fds this function owns, buffers valid for their lengths.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    let first = Instant::now() + secs(1);
    let n = targets.len().max(1) as u32;
    let mut due: std::collections::BinaryHeap<Reverse<(Instant, usize)>> =
        (0..targets.len()).map(|i| Reverse((first + secs(1) * i as u32 / n, i))).collect();
    // Per target: its socket while a check runs, and whether the request went out.
    let mut fds = vec![(-1, false); targets.len()];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut buf = [0u8; 4096];
    let mut failed = 0u64;
    loop {
        let now = Instant::now();
        while let Some(&Reverse((at, i))) = due.peek() {
            if at > now + WINDOW {
                break;
            }
            due.pop();
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0) };
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 8080u16.to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(targets[i].octets()) },
                sin_zero: [0; 8],
            };
            let len = std::mem::size_of_val(&sin) as libc::socklen_t;
            unsafe { libc::connect(fd, (&sin as *const libc::sockaddr_in).cast(), len) };
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32,
                u64: i as u64,
            };
            unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) };
            fds[i] = (fd, false);
        }
        let timeout = due.peek().map_or(-1, |Reverse((at, _))| {
            at.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000) as i32
        });
        let got = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, timeout) };
        let now = Instant::now();
        for ev in events.iter().take(got.max(0) as usize) {
            let (i, flags) = (ev.u64 as usize, ev.events as i32);
            let (fd, sent) = fds[i];
            let done = match kind {
                CheckKind::Tcp => true,
                CheckKind::Http if !sent && flags & libc::EPOLLOUT != 0 => {
                    let w =
                        unsafe { libc::send(fd, REQUEST.as_ptr().cast(), REQUEST.len(), libc::MSG_NOSIGNAL) };
                    fds[i].1 = true;
                    w < 0
                }
                CheckKind::Http if flags & (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) != 0 => loop {
                    let r = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                    if r > 0 && !buf.starts_with(b"HTTP/1.0 200") {
                        failed += 1;
                    }
                    if r <= 0 {
                        break r == 0
                            || std::io::Error::last_os_error().kind() != std::io::ErrorKind::WouldBlock;
                    }
                },
                CheckKind::Http => false,
            };
            if done {
                if kind == CheckKind::Tcp {
                    let mut err: libc::c_int = 0;
                    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                    unsafe {
                        libc::getsockopt(
                            fd,
                            libc::SOL_SOCKET,
                            libc::SO_ERROR,
                            (&mut err as *mut libc::c_int).cast(),
                            &mut len,
                        )
                    };
                    failed += u64::from(err != 0);
                }
                unsafe { libc::close(fd) };
                fds[i] = (-1, false);
                due.push(Reverse((now + secs(1), i)));
            }
        }
        let _ = failed;
    }
}
