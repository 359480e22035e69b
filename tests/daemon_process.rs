//! The daemon's process model, driven through the real binary: pid files
//! and their locks, respawn after kill -9, the watchdog against a stopped
//! child, validated reload, fast shutdown, and `vigil status`.
//!
//! Each test gets its own directory for pid files, the run directory
//! (VIGIL_RUN_DIR) and the dump files (VIGIL_DUMP_DIR), so tests run in
//! parallel. Each daemon runs in its own network namespace with only `lo`
//! up (root needed), so the VRRP engine runs for real on `lo` and cannot
//! touch the host.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vigil::daemon::pidfile::{self, PidFile, PidFileError};
use vigil::runtime::Json;

const GOOD_CONF: &str = "\
vrrp_instance VI_1 {
    state BACKUP
    interface lo
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.18.0.10/24
    }
}
";

struct Daemon {
    dir: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    fn dir_for(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vigil-dp-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("k.conf"), GOOD_CONF).unwrap();
        dir
    }

    fn start(name: &str) -> Daemon {
        Self::start_with(name, &[])
    }

    fn start_with(name: &str, extra: &[&str]) -> Daemon {
        Self::start_conf(name, GOOD_CONF, extra)
    }

    fn start_conf(name: &str, conf: &str, extra: &[&str]) -> Daemon {
        let dir = Self::dir_for(name);
        fs::write(dir.join("k.conf"), conf).unwrap();
        let child = Self::command(&dir)
            .args(extra)
            .stderr(fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .unwrap();
        let d = Daemon { dir, child: Some(child) };
        d.wait_for("the VRRP child's pid file", Duration::from_secs(5), || d.vrrp_pid().is_some());
        d
    }

    fn command(dir: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
        c.args(["-n", "-l", "-G", "-f"])
            .arg(dir.join("k.conf"))
            .arg("-p")
            .arg(dir.join("keepalived.pid"))
            .arg("-r")
            .arg(dir.join("vrrp.pid"))
            .arg("-c")
            .arg(dir.join("checkers.pid"))
            .env("VIGIL_RUN_DIR", dir.join("run"))
            .env("VIGIL_DUMP_DIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        // SAFETY: private_lo makes only async-signal-safe syscalls.
        unsafe { std::os::unix::process::CommandExt::pre_exec(&mut c, private_lo) };
        c
    }

    fn parent_pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    fn vrrp_pid(&self) -> Option<i32> {
        pidfile::read_pid(&self.dir.join("vrrp.pid")).filter(|&p| alive(p))
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn wait_for(&self, what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}\nlog:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        start.elapsed()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) of our own child.
        unsafe { libc::kill(self.parent_pid(), sig) };
    }

    /// SIGTERM the parent; returns how long it took to exit and its code.
    fn stop(&mut self) -> (Duration, Option<i32>) {
        self.signal(libc::SIGTERM);
        let start = Instant::now();
        let mut child = self.child.take().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (start.elapsed(), status.code());
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("daemon did not stop\nlog:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            let pid = self.vrrp_pid();
            self.stop();
            // A child the test stopped would never see its SIGTERM.
            if let Some(p) = pid {
                // SAFETY: kill(2); the pid came from our daemon's pid file.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Move into a new network namespace, bring its `lo` up and address it
/// 198.18.0.1/24: the VRRP engine gets an interface with a usable IPv4
/// address, and whatever it does stays out of the host's network.
fn private_lo() -> std::io::Result<()> {
    let err = std::io::Error::last_os_error;
    // SAFETY: unshare, socket, ioctl and close on a zeroed ifreq we own.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNET) != 0 {
            return Err(err());
        }
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(err());
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        ifr.ifr_name[0] = b'l' as libc::c_char;
        ifr.ifr_name[1] = b'o' as libc::c_char;
        let ok = libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut ifr) == 0
            && {
                ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
                libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &ifr) == 0
            }
            && set_addr(fd, &mut ifr, libc::SIOCSIFADDR, [198, 18, 0, 1])
            && set_addr(fd, &mut ifr, libc::SIOCSIFNETMASK, [255, 255, 255, 0]);
        let e = err();
        libc::close(fd);
        if ok {
            Ok(())
        } else {
            Err(e)
        }
    }
}

/// SAFETY: fd is an AF_INET socket and ifr names an interface.
unsafe fn set_addr(fd: libc::c_int, ifr: &mut libc::ifreq, req: libc::c_ulong, a: [u8; 4]) -> bool {
    let mut sin: libc::sockaddr_in = std::mem::zeroed();
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_addr.s_addr = u32::from_ne_bytes(a);
    std::ptr::copy_nonoverlapping(
        (&sin as *const libc::sockaddr_in).cast::<u8>(),
        &mut ifr.ifr_ifru as *mut _ as *mut u8,
        std::mem::size_of::<libc::sockaddr_in>(),
    );
    libc::ioctl(fd, req as _, &*ifr) == 0
}

fn alive(pid: i32) -> bool {
    // A zombie still has /proc/PID; check it is not one.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Live (non-zombie) processes whose parent is `ppid`.
fn children_of(ppid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        if fields.get(1) == Some(&ppid.to_string().as_str()) && fields.first() != Some(&"Z") {
            out.push(pid);
        }
    }
    out
}

#[test]
fn pid_files_are_locked_a_second_start_refuses_and_sigterm_is_fast() {
    let mut d = Daemon::start("pidfiles");
    let parent = pidfile::read_pid(&d.dir.join("keepalived.pid"));
    assert_eq!(parent, Some(d.parent_pid()));
    let vrrp = d.vrrp_pid().unwrap();
    assert_eq!(children_of(d.parent_pid()), vec![vrrp]);
    for f in ["keepalived.pid", "vrrp.pid"] {
        let path = d.dir.join(f);
        assert_eq!(fs::read_to_string(&path).unwrap().chars().last(), Some('\n'));
        assert!(matches!(PidFile::lock(&path), Err(PidFileError::AlreadyRunning(_))), "{f} not locked");
    }
    // No virtual servers: no checker child.
    assert!(!d.dir.join("checkers.pid").exists());

    let out = Daemon::command(&d.dir).stderr(Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));
    // The refused start must not have disturbed the running one.
    assert_eq!(pidfile::read_pid(&d.dir.join("keepalived.pid")), Some(d.parent_pid()));

    // The VRRP child keeps its state for a successor (see failover::resume); a clean stop
    // removes it, so the next start is a normal one.
    d.wait_for("vrrp.state", Duration::from_secs(5), || d.dir.join("run/vrrp.state").exists());
    let (took, code) = d.stop();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "shutdown took {took:?}");
    assert!(!alive(vrrp));
    for f in [
        "keepalived.pid",
        "vrrp.pid",
        "run/vrrp.ctl",
        "run/config.snapshot",
        "run/vrrp.state",
        "run/daemon.lock",
    ] {
        assert!(!d.dir.join(f).exists(), "{f} left behind");
    }
    assert!(d.log().contains("Stopped Keepalived"));
}

#[test]
fn a_killed_child_is_restarted_at_once() {
    let d = Daemon::start("kill9");
    let old = d.vrrp_pid().unwrap();
    // SAFETY: kill(2) of the daemon's child.
    unsafe { libc::kill(old, libc::SIGKILL) };
    let took =
        d.wait_for("a new VRRP child", Duration::from_secs(6), || d.vrrp_pid().is_some_and(|p| p != old));
    assert!(took < Duration::from_secs(6));
    let log = d.log();
    assert!(log.contains(&format!("VRRP child process({old}) died: Respawning")), "{log}");
    let new = d.vrrp_pid().unwrap();
    assert!(log.contains(&format!("Starting VRRP child process, pid={new}")), "{log}");
    assert_eq!(children_of(d.parent_pid()), vec![new]);
}

/// Issue 13: a keyword vigil accepts without acting on it is logged once at
/// start with its file:line, as `vigil -t` prints it.
#[test]
fn not_acted_on_keywords_are_logged_at_start() {
    let conf = format!("global_defs {{\n    lvs_id LVS1\n}}\n{GOOD_CONF}");
    let d = Daemon::start_conf("ignoredlog", &conf, &[]);
    let log = d.log();
    let line = "k.conf:2:5: warning: 'lvs_id' accepted; vigil does not use lvs_id";
    assert_eq!(log.matches(line).count(), 1, "{log}");
}

/// `-R`: a child that dies is not restarted; the daemon stops, as keepalived's does.
#[test]
fn dont_respawn_leaves_a_dead_child_dead() {
    let mut d = Daemon::start_with("norespawn", &["-R"]);
    let old = d.vrrp_pid().unwrap();
    // SAFETY: kill(2) of the daemon's child.
    unsafe { libc::kill(old, libc::SIGKILL) };
    let start = Instant::now();
    let mut child = d.child.take().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the daemon kept running\n{}", d.log());
        std::thread::sleep(Duration::from_millis(10));
    };
    let log = d.log();
    assert!(log.contains(&format!("VRRP child process({old}) died")) && log.contains("Exiting"), "{log}");
    assert!(!log.contains("Respawning"), "{log}");
    assert_ne!(status.code(), Some(0));
}

#[test]
fn a_stopped_child_is_replaced_and_never_runs_twice() {
    let d = Daemon::start("sigstop");
    let old = d.vrrp_pid().unwrap();
    // SAFETY: kill(2) of the daemon's child.
    unsafe { libc::kill(old, libc::SIGSTOP) };
    d.wait_for("the watchdog to replace the stopped child", Duration::from_secs(17), || {
        d.vrrp_pid().is_some_and(|p| p != old)
    });
    let log = d.log();
    assert!(log.contains(&format!("VRRP child process({old}) did not answer")), "{log}");
    // SAFETY: as above; the old child should be gone, so this is a no-op.
    unsafe { libc::kill(old, libc::SIGCONT) };
    std::thread::sleep(Duration::from_millis(300));
    assert!(!alive(old), "the stopped child survived");
    let new = d.vrrp_pid().unwrap();
    assert_eq!(children_of(d.parent_pid()), vec![new]);
}

#[test]
fn children_die_with_the_parent_and_stale_pid_files_are_taken_over() {
    let mut d = Daemon::start("orphan");
    let child = d.vrrp_pid().unwrap();
    d.signal(libc::SIGKILL);
    let _ = d.child.take().unwrap().wait();
    d.wait_for("the orphaned child to exit", Duration::from_secs(3), || !alive(child));
    // The parent could not clean up; its pid file is stale but unlocked.
    assert!(d.dir.join("keepalived.pid").exists());
    let again = Daemon::command(&d.dir).stderr(fs::File::create(d.dir.join("log")).unwrap()).spawn().unwrap();
    d.child = Some(again);
    d.wait_for("the restarted daemon", Duration::from_secs(5), || {
        pidfile::read_pid(&d.dir.join("keepalived.pid")) == Some(d.parent_pid()) && d.vrrp_pid().is_some()
    });
}

#[test]
fn reload_with_a_broken_config_keeps_the_running_one() {
    let d = Daemon::start("reload");
    let child = d.vrrp_pid().unwrap();
    let conf = d.dir.join("k.conf");
    fs::write(
        &conf,
        GOOD_CONF.replace("virtual_router_id 51", "virtual_router_id 300") + "vrrp_instance VI_2 {\n",
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for("the reload to be refused", Duration::from_secs(5), || {
        d.log().contains("Reload of configuration failed - keeping the running one")
    });
    let log = d.log();
    let cited = format!("{}:", conf.display());
    assert!(
        log.lines().any(|l| l.contains(&cited) && l.contains("error")),
        "no diagnostic with file:line in\n{log}"
    );
    // The snapshot the children load still holds the good bytes.
    let snap = fs::read(d.dir.join("run/config.snapshot")).unwrap();
    let snap = vigil::config::snapshot::Snapshot::decode(&snap).expect("a snapshot");
    assert_eq!(snap.main, GOOD_CONF.as_bytes());
    assert_eq!(d.vrrp_pid(), Some(child));
    assert!(alive(d.parent_pid()));

    fs::write(&conf, GOOD_CONF.replace("priority 100", "priority 90")).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for("the good reload", Duration::from_secs(5), || {
        d.log().contains("Configuration validated - children reloading")
    });
    // The child acts on SIGHUP; whether its engine applies changes live
    // is the engine's business.
    d.wait_for("the child's reload", Duration::from_secs(5), || {
        let log = d.log();
        log.contains("Reload complete") || log.contains("Reload failed - keeping the running configuration")
    });
    assert!(fs::read_to_string(d.dir.join("run/config.snapshot")).unwrap().contains("priority 90"));
    assert_eq!(d.vrrp_pid(), Some(child));
}

#[test]
fn status_json_and_signal_dumps() {
    let d = Daemon::start("status");
    let child = d.vrrp_pid().unwrap();
    let run_dir = d.dir.join("run");
    let mode = fs::metadata(run_dir.join("vrrp.ctl")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["status", "--json"])
        .env("VIGIL_RUN_DIR", &run_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = Json::parse(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let vrrp = v.get("vrrp").expect("vrrp status");
    assert_eq!(vrrp.get("pid").and_then(Json::as_i64), Some(i64::from(child)));
    assert_eq!(vrrp.get("process").and_then(Json::as_str), Some("vrrp"));

    let table = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("status")
        .env("VIGIL_RUN_DIR", &run_dir)
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    // First which daemon answered (VIGIL_RUN_DIR names none of -s, -i, -p: the default one).
    let header = format!("vigil daemon: default ({})\n[vrrp]\n", run_dir.display());
    assert!(table.starts_with(&header) && table.contains(&format!("pid: {child}")), "{table}");

    // SIGUSR1 to the parent is relayed; the child writes keepalived.data.
    d.signal(libc::SIGUSR1);
    d.wait_for("keepalived.data", Duration::from_secs(5), || d.dir.join("keepalived.data").exists());
    // SIGRTMIN+2: the JSON dump.
    d.signal(libc::SIGRTMIN() + 2);
    d.wait_for("keepalived.json", Duration::from_secs(5), || {
        fs::read_to_string(d.dir.join("keepalived.json")).is_ok_and(|t| Json::parse(t.trim()).is_ok())
    });

    let empty = d.dir.join("nothing-here");
    let none = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("status")
        .env("VIGIL_RUN_DIR", &empty)
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(1));
}

#[test]
fn signum_prints_keepalived_signal_numbers() {
    let run = |name: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil")).arg(format!("--signum={name}")).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(run("RELOAD"), "1");
    assert_eq!(run("STOP"), "15");
    assert_eq!(run("JSON"), (libc::SIGRTMIN() + 2).to_string());
}

/// The run directory holds the control sockets and the validated configuration: one that
/// another user owns, or a symlink, is refused before anything starts; one of ours with a
/// loose mode is tightened to 0700.
#[test]
fn run_directory_must_be_ours_and_private() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let run = |dir: &Path| -> (Option<i32>, String) {
        let out = Daemon::command(dir).stderr(Stdio::piped()).output().expect("run vigil");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };

    let dir = Daemon::dir_for("rundir-foreign");
    fs::create_dir(dir.join("run")).unwrap();
    std::os::unix::fs::chown(dir.join("run"), Some(65534), Some(65534)).unwrap();
    let (code, err) = run(&dir);
    assert_ne!(code, Some(0), "started in a directory nobody owns:\n{err}");
    assert!(err.contains("owned by uid 65534") && err.contains("refusing"), "{err}");
    assert!(!dir.join("run/vrrp.ctl").exists() && !dir.join("vrrp.pid").exists());
    let _ = fs::remove_dir_all(&dir);

    let dir = Daemon::dir_for("rundir-symlink");
    let elsewhere = dir.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("run")).unwrap();
    let (code, err) = run(&dir);
    assert_ne!(code, Some(0), "followed a symlink:\n{err}");
    assert!(err.contains("not a directory"), "{err}");
    assert!(fs::read_dir(&elsewhere).unwrap().next().is_none(), "wrote through the symlink");
    let _ = fs::remove_dir_all(&dir);

    let dir = Daemon::dir_for("rundir-loose");
    fs::create_dir(dir.join("run")).unwrap();
    fs::set_permissions(dir.join("run"), fs::Permissions::from_mode(0o777)).unwrap();
    let mut d = Daemon { dir: dir.clone(), child: Some(Daemon::command(&dir).spawn().unwrap()) };
    d.wait_for("the VRRP child's pid file", Duration::from_secs(5), || d.vrrp_pid().is_some());
    assert_eq!(fs::metadata(dir.join("run")).unwrap().mode() & 0o777, 0o700);
    d.stop();
    let _ = fs::remove_dir_all(&dir);
}

/// The children load what the parent validated, includes too: an included file edited
/// after validation (no SIGHUP) is not what a restarted VRRP child runs.
#[test]
fn a_restarted_child_runs_the_validated_include() {
    let dir = Daemon::dir_for("snapshot-include");
    fs::create_dir(dir.join("conf.d")).unwrap();
    fs::write(dir.join("conf.d/vi.conf"), GOOD_CONF).unwrap();
    fs::write(dir.join("k.conf"), "include conf.d/*.conf\n").unwrap();
    let d = Daemon {
        dir: dir.clone(),
        child: Some(
            Daemon::command(&dir).stderr(fs::File::create(dir.join("log")).unwrap()).spawn().unwrap(),
        ),
    };
    d.wait_for("the VRRP child's pid file", Duration::from_secs(5), || d.vrrp_pid().is_some());
    let priority = || -> Option<i64> {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["status", "--json"])
            .env("VIGIL_RUN_DIR", dir.join("run"))
            .output()
            .ok()?;
        let v = Json::parse(String::from_utf8_lossy(&out.stdout).trim()).ok()?;
        let Some(Json::Arr(insts)) = v.get("vrrp")?.get("instances").cloned() else { return None };
        insts.first()?.get("priority").and_then(Json::as_i64)
    };
    d.wait_for("status with VI_1", Duration::from_secs(5), || priority().is_some());
    assert_eq!(priority(), Some(100));

    // Edited on disk, not reloaded: then the child dies and is restarted.
    fs::write(dir.join("conf.d/vi.conf"), GOOD_CONF.replace("priority 100", "priority 50")).unwrap();
    let old = d.vrrp_pid().unwrap();
    // SAFETY: kill(2) of the daemon's child.
    unsafe { libc::kill(old, libc::SIGKILL) };
    d.wait_for("a new VRRP child", Duration::from_secs(6), || d.vrrp_pid().is_some_and(|p| p != old));
    d.wait_for("the new child's status", Duration::from_secs(5), || priority().is_some());
    assert_eq!(priority(), Some(100), "the restarted child read the edited include:\n{}", d.log());
}
