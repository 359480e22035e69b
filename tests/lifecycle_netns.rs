//! keepalived's process-level keywords against the real binary in a network
//! namespace: `startup_script` runs before the children start and
//! `shutdown_script` after they have stopped (VIP gone), each with its
//! timeout; `notify_deleted` on a reload that removes an instance;
//! `max_auto_priority` raising a VRRP child that woke up late. Needs root
//! and `ip`.

mod common;

use std::net::IpAddr;
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;

const NOBODY: u32 = 65534;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A work area any user can reach: root-owned 0755, with `out/` open to all.
struct Area {
    tmp: TempDir,
}

impl Area {
    fn new(tag: &str) -> Area {
        assert_eq!(unsafe { libc::geteuid() }, 0, "these tests need root");
        let tmp = TempDir::new(tag);
        chown(tmp.path(), Some(0), Some(0)).unwrap();
        chmod(tmp.path(), 0o755);
        let out = tmp.path().join("out");
        std::fs::create_dir(&out).unwrap();
        chmod(&out, 0o777);
        Area { tmp }
    }

    /// A root-owned 0755 shell script `name` with `body`.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        chmod(&p, 0o755);
        p
    }

    fn out(&self, name: &str) -> PathBuf {
        self.tmp.path().join("out").join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.out(name)).unwrap_or_default()
    }
}

fn instance(name: &str, vrid: u8, vip: IpAddr, extra: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority 100\n    advert_int 1\n{extra}    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

fn sched_of(pid: u32) -> (u32, u32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest: Vec<&str> = stat.rsplit_once(')').expect("comm").1.split_whitespace().collect();
    // (policy, rt_priority): fields 41 and 40.
    (rest[41 - 3].parse().unwrap(), rest[40 - 3].parse().unwrap())
}

fn after(d: &Daemon, first: &str, second: &str) -> bool {
    match (d.log_time(first), d.log_time(second)) {
        (Some(a), Some(b)) => a <= b,
        _ => false,
    }
}

/// The startup script runs as its configured user (nobody) before the VRRP
/// child is forked, and the child waits for it; the shutdown script runs once
/// the child has stopped, when the VIP is gone.
#[test]
fn startup_script_runs_before_the_children_and_shutdown_script_after_them() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let area = Area::new("lifecycle");
    let up = area.out("up");
    // Holds the children back for 0.3 s, so an ordering mistake would show.
    let startup = area.script("startup.sh", &format!("sleep 0.3\necho \"up $(id -u)\" > {}", up.display()));
    let down = area.out("down");
    let shutdown = area.script(
        "shutdown.sh",
        &format!(
            "if ip -4 addr show dev eth0 | grep -q ' {vip}/'; then v=present; else v=gone; fi\n\
             echo \"down $(id -u) vip=$v\" > {}",
            down.display()
        ),
    );
    let conf = format!(
        "global_defs {{\n    startup_script \"{}\" nobody\n    shutdown_script {}\n}}\n{}",
        startup.display(),
        shutdown.display(),
        instance("VI_1", 51, vip, "")
    );
    let mut d = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    assert_eq!(std::fs::read_to_string(&up).unwrap().trim(), format!("up {NOBODY}"), "as nobody, never root");
    assert!(after(&d, "Running startup script", "startup script succeeded"), "{}", d.log());
    assert!(after(&d, "startup script succeeded", "Starting VRRP child process"), "{}", d.log());
    let ran = d.log_time("Running startup script").unwrap();
    let child = d.log_time("Starting VRRP child process").unwrap();
    assert!(child.duration_since(ran) >= ms(300), "the child did not wait for the script");
    assert!(a.has_addr(&vip));
    assert!(area.read("down").is_empty(), "no shutdown script while running");

    let status = d.stop();
    assert!(status.success(), "{status:?}\n{}", d.log());
    assert_eq!(area.read("down").trim(), "down 0 vip=gone", "{}", d.log());
    assert!(after(&d, "VRRP child process(", "Running shutdown script"), "{}", d.log());
    assert!(after(&d, "shutdown script succeeded", "Stopped Keepalived"), "{}", d.log());
    eprintln!(
        "startup script to VRRP child start: {:.3} s (script sleeps 0.3 s)",
        child.duration_since(ran).as_secs_f64()
    );
}

/// A startup script past `startup_script_timeout` is terminated and the
/// children start all the same (keepalived's behaviour); a shutdown script
/// past `shutdown_script_timeout` is terminated and the daemon exits.
#[test]
fn lifecycle_scripts_past_their_timeout_are_killed_and_the_daemon_goes_on() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let area = Area::new("lifecycle-timeout");
    let hang = |name: &str| {
        let pid = area.out(&format!("{name}.pid"));
        (area.script(&format!("{name}.sh"), &format!("echo $$ > {}\nexec sleep 30", pid.display())), pid)
    };
    let (startup, startup_pid) = hang("startup");
    let (shutdown, shutdown_pid) = hang("shutdown");
    let conf = format!(
        "global_defs {{\n    startup_script {}\n    startup_script_timeout 1\n    shutdown_script {}\n    \
         shutdown_script_timeout 1\n}}\n{}",
        startup.display(),
        shutdown.display(),
        instance("VI_1", 52, vip, "")
    );
    let mut d = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(d.wait_log("startup script timed out", secs(5)), "{}", d.log());
    let ran = d.log_time("Running startup script").unwrap();
    let timed_out = d.log_time("startup script timed out").unwrap();
    let waited = timed_out.duration_since(ran);
    assert!(waited >= ms(950) && waited < secs(3), "timeout 1 s, waited {waited:?}");
    let pid: u32 = std::fs::read_to_string(&startup_pid).unwrap().trim().parse().unwrap();
    assert!(!pid_alive(pid), "the startup script still runs");
    assert!(
        d.wait_log("(VI_1) Entering MASTER STATE", secs(8)),
        "the children must start anyway:\n{}",
        d.log()
    );

    let asked = Instant::now();
    let status = d.stop();
    let took = asked.elapsed();
    assert!(status.success(), "the daemon exits by itself: {status:?}\n{}", d.log());
    assert!(d.log().contains("shutdown script timed out"), "{}", d.log());
    let pid: u32 = std::fs::read_to_string(&shutdown_pid).unwrap().trim().parse().unwrap();
    assert!(!pid_alive(pid), "the shutdown script still runs");
    assert!(took >= secs(1) && took < secs(4), "stop took {took:?}");
    eprintln!(
        "startup script timeout after {:.3} s; stop with a hung shutdown script {:.3} s",
        waited.as_secs_f64(),
        took.as_secs_f64()
    );
}

/// A reload that removes two instances: VI_1 has `notify_deleted CMD` and
/// reports DELETED (its notify_deleted script and `notify ... DELETED`);
/// VI_2 has none and reports FAULT as keepalived does (notify_fault and
/// `notify ... FAULT`). Neither reports STOP, and both VIPs go.
#[test]
fn notify_deleted_runs_when_a_reload_removes_the_instance() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let (vip1, vip2): (IpAddr, IpAddr) = (lan.v4(101).into(), lan.v4(102).into());
    let area = Area::new("notify-deleted");
    let ran = area.out("ran");
    let rec = area.script("rec.sh", &format!("echo \"$*\" >> {}", ran.display()));
    let notifies = |deleted: bool| {
        let mut s = format!(
            "    notify \"{r} any\"\n    notify_fault \"{r} fault\"\n    notify_stop \"{r} stop\"\n",
            r = rec.display()
        );
        if deleted {
            s.push_str(&format!("    notify_deleted \"{} deleted\"\n", rec.display()));
        }
        s
    };
    let keep = instance("VI_3", 63, lan.v4(103).into(), "");
    let conf = format!(
        "{}{}{keep}",
        instance("VI_1", 61, vip1, &notifies(true)),
        instance("VI_2", 62, vip2, &notifies(false))
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    for vi in ["VI_1", "VI_2", "VI_3"] {
        assert!(d.wait_log(&format!("({vi}) Entering MASTER STATE"), secs(8)), "{}", d.log());
    }
    let lines = || area.read("ran").lines().map(String::from).collect::<Vec<_>>();
    assert!(wait_until(secs(3), ms(20), || lines().len() >= 2), "{:?}", lines());
    assert!(a.has_addr(&vip1) && a.has_addr(&vip2));

    std::fs::write(d.dir().join("keepalived.conf"), &keep).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log("Reload complete", secs(5)), "{}", d.log());
    let want = ["deleted", "any INSTANCE VI_1 DELETED 100", "fault", "any INSTANCE VI_2 FAULT 100"];
    assert!(
        wait_until(secs(3), ms(20), || want.iter().all(|w| lines().iter().any(|l| l == w))),
        "{:?}\n{}",
        lines(),
        d.log()
    );
    assert!(!lines().iter().any(|l| l.contains("stop") || l.contains("STOP")), "{:?}", lines());
    assert!(!a.has_addr(&vip1) && !a.has_addr(&vip2), "the removed instances' VIPs stay");
    eprintln!("after the reload: {:?}", lines());
}

/// `max_auto_priority 2` with `min_auto_priority_delay 200000`: a VRRP
/// child (1 s adverts, so not realtime by default) stopped for 1.5 s wakes
/// up late, logs keepalived's line and raises itself to SCHED_RR 1, then 2,
/// and no further.
#[test]
fn a_vrrp_child_woken_late_raises_its_realtime_priority() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let conf = format!(
        "global_defs {{\n    max_auto_priority 2\n    min_auto_priority_delay 200000\n}}\n{}",
        instance("VI_1", 53, vip, "")
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    let vrrp = d.pid_from_file("v.pid").expect("VRRP child");
    assert_eq!(sched_of(vrrp), (0, 0), "not realtime before it is late");
    for (round, want) in [(1, 1), (2, 2), (3, 2)] {
        // The stimulus: a child that cannot run for 1.5 s (a loaded machine).
        unsafe { libc::kill(vrrp as i32, libc::SIGSTOP) };
        std::thread::sleep(ms(1500));
        unsafe { libc::kill(vrrp as i32, libc::SIGCONT) };
        assert!(
            wait_until(secs(3), ms(20), || d.log_count("A thread timer expired") >= round),
            "round {round}:\n{}",
            d.log()
        );
        assert!(
            wait_until(secs(1), ms(20), || sched_of(vrrp) == (2, want)),
            "round {round}: {:?}",
            sched_of(vrrp)
        );
    }
    assert_eq!(d.log_count("Set realtime priority"), 2, "{}", d.log());
    assert_eq!(sched_of(d.pid()), (0, 0), "the parent is not raised");
    assert!(a.has_addr(&vip));
}

/// SIGTERM while the startup script runs: the script is let finish (here:
/// until its timeout), then the daemon stops without starting any child,
/// so no VIP comes up only to go down.
#[test]
fn a_stop_during_the_startup_script_starts_no_child() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let area = Area::new("lifecycle-stop");
    let started = area.out("started");
    let startup = area.script("startup.sh", &format!("touch {}\nexec sleep 30", started.display()));
    let conf = format!(
        "global_defs {{\n    startup_script {}\n    startup_script_timeout 1\n}}\n{}",
        startup.display(),
        instance("VI_1", 54, vip, "")
    );
    let mut d = Daemon::start(&a, &vigil_bin(), &conf, &["-P"]);
    assert!(wait_until(secs(3), ms(10), || started.exists()), "{}", d.log());
    let status = d.stop();
    assert!(status.success(), "{status:?}\n{}", d.log());
    assert!(after(&d, "startup script timed out", "Stopped Keepalived"), "{}", d.log());
    assert_eq!(d.log_count("Starting VRRP child process"), 0, "{}", d.log());
    assert!(!a.has_addr(&vip));
}
