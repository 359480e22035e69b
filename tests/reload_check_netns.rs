//! `reload_check_config LOGFILE` against the real binary: at a reload
//! (SIGHUP) the check of the new configuration, which vigil runs every
//! time, is reported in LOGFILE; a configuration that fails it is not
//! loaded, the daemon says where the report is, and keeps running the old.

mod common;

use common::*;
use vigil::runtime::Json;

/// `globals`: the one line of global_defs.
fn config(globals: &str, priority: &str, vip: &str) -> String {
    format!(
        "global_defs {{\n {globals}\n}}\n\
         vrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority {priority}\n \
         advert_int 1\n virtual_ipaddress {{\n  {vip}/24\n }}\n}}\n"
    )
}

#[test]
fn reload_check_config_writes_the_check_and_keeps_a_bad_config_out() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).to_string();
    let tmp = TempDir::new("reload-check");
    let log = tmp.path().join("conf_check.log").to_string_lossy().into_owned();
    let check = format!("reload_check_config {log}");
    let d = Daemon::start(&a, &vigil_bin(), &config(&check, "150", &vip), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    let conf = d.dir().join("keepalived.conf");

    // Priority 300 is out of range: an error at line 8 of the new file.
    std::fs::write(&conf, config(&check, "300", &vip)).unwrap();
    d.signal(libc::SIGHUP);
    let failed = format!("New config failed validation, see {log} for details");
    assert!(d.wait_log(&failed, secs(5)), "{}", d.log());
    let report = std::fs::read_to_string(&log).expect("the check log");
    assert!(
        report.lines().any(|l| l.contains("keepalived.conf:8:") && l.contains("error:")),
        "no error for line 8 in {log}:\n{report}"
    );
    assert!(d.log().contains("Reload of configuration failed - keeping the running one"));
    assert!(a.has_addr(&vip.parse().unwrap()), "the running configuration stays master");

    // A good one: reloaded, and the log emptied of the old report.
    std::fs::write(&conf, config(&check, "140", &vip)).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log("Configuration validated - children reloading", secs(5)), "{}", d.log());
    let report = std::fs::read_to_string(&log).expect("the check log");
    assert!(!report.contains("error:"), "{log} still reports an error:\n{report}");
    assert_eq!(d.log_count("New config failed validation"), 1);
}

/// The names of files made and removed in `dir` since the watch began, in
/// order ("+name", "-name"), from inotify.
struct DirWatch {
    fd: std::os::fd::OwnedFd,
}

impl DirWatch {
    fn new(dir: &std::path::Path) -> DirWatch {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: plain syscalls; the descriptor is owned by the returned value.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0, "inotify_init1: {}", std::io::Error::last_os_error());
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        use std::os::fd::AsRawFd;
        let wd = unsafe {
            libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), libc::IN_CREATE | libc::IN_DELETE)
        };
        assert!(wd >= 0, "inotify_add_watch: {}", std::io::Error::last_os_error());
        DirWatch { fd }
    }

    fn events(&self) -> Vec<String> {
        use std::os::fd::AsRawFd;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return out;
            }
            let mut at = 0;
            while at + 16 <= n as usize {
                let mask = u32::from_ne_bytes(buf[at + 4..at + 8].try_into().unwrap());
                let len = u32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap()) as usize;
                let name = &buf[at + 16..at + 16 + len];
                let name = String::from_utf8_lossy(&name[..name.iter().position(|&b| b == 0).unwrap_or(len)]);
                let sign = if mask & libc::IN_CREATE != 0 { '+' } else { '-' };
                out.push(format!("{sign}{name}"));
                at += 16 + len;
            }
        }
    }
}

/// `reload_file FILE`: made while a reload reads the new configuration,
/// removed once it is read (seen through inotify, as it lasts a moment).
#[test]
fn reload_file_marks_a_reload_in_progress() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).to_string();
    let tmp = TempDir::new("reload-file");
    let marker = tmp.path().join("keep.rld");
    let conf = |prio: &str| config(&format!("reload_file {}", marker.display()), prio, &vip);
    let d = Daemon::start(&a, &vigil_bin(), &conf("150"), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    let watch = DirWatch::new(tmp.path());
    assert!(!marker.exists(), "no reload file outside a reload");
    std::fs::write(d.dir().join("keepalived.conf"), conf("140")).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log("Configuration validated - children reloading", secs(5)), "{}", d.log());
    assert_eq!(watch.events(), ["+keep.rld", "-keep.rld"]);
    assert!(!marker.exists());
}

/// Wall-clock seconds since the epoch.
fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// `unix` broken down in UTC or local time, as "YYYY-mm-dd HH:MM:SS".
fn date_time(unix: i64, utc: bool) -> String {
    let t = unix as libc::time_t;
    // SAFETY: tm is plain data the calls fill; both pointers are valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe {
        if utc {
            !libc::gmtime_r(&t, &mut tm).is_null()
        } else {
            !libc::localtime_r(&t, &mut tm).is_null()
        }
    };
    assert!(ok, "cannot break down {unix}");
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// How the daemon logs a reload time: local time.
fn local(unix: i64) -> String {
    date_time(unix, false)
}

/// `reload_time_file`'s dated form, in UTC (the trailing Z).
fn dated_z(unix: i64) -> String {
    format!("{}Z\n", date_time(unix, true))
}

/// `reload_time_file`'s time-only form, in UTC.
fn time_z(unix: i64) -> String {
    format!("{}Z\n", &date_time(unix, true)[11..])
}

/// The priority `vigil status` shows for VI_1.
fn priority(d: &Daemon) -> Option<i64> {
    let st = d.status_if_running()?;
    let Some(Json::Arr(insts)) = st.get("vrrp").and_then(|v| v.get("instances")).cloned() else {
        return None;
    };
    insts.first()?.get("priority")?.as_i64()
}

/// `reload_time_file FILE` (keepalived 2.2): a time written to the file
/// schedules a reload; when it comes the daemon reloads as on SIGHUP (the
/// new priority shows in `vigil status`), not before, and deletes the file.
#[test]
fn reload_time_file_reloads_then_and_deletes_the_file() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).to_string();
    let tmp = TempDir::new("reload-time");
    let at_file = tmp.path().join("reload_at");
    let conf = |prio: &str| config(&format!("reload_time_file {}", at_file.display()), prio, &vip);
    let d = Daemon::start(&a, &vigil_bin(), &conf("150"), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    assert_eq!(priority(&d), Some(150));

    std::fs::write(d.dir().join("keepalived.conf"), conf("140")).unwrap();
    let target = unix_now() + 2;
    std::fs::write(&at_file, time_z(target)).unwrap();
    assert!(d.wait_log(&format!("Scheduling reload for {}", local(target)), secs(3)), "{}", d.log());
    assert!(d.wait_log("Configuration validated - children reloading", secs(6)), "{}", d.log());
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(wall >= target as f64, "reloaded before {}", local(target));
    eprintln!("reload seen {:.3} s after its time", wall - target as f64);
    assert!(!at_file.exists(), "the file is deleted when its reload comes");
    assert!(wait_until(secs(5), ms(50), || priority(&d) == Some(140)), "{}", d.log());
    assert_eq!(d.log_count("Configuration validated"), 1, "one reload: {}", d.log());
    assert_eq!(d.log_count("Scheduling reload for"), 1, "nothing left to schedule: {}", d.log());
}

/// `reload_repeat`: a time-only file stays after its reload, and the same
/// time tomorrow is scheduled (and logged); a dated file is one-shot even so.
#[test]
fn reload_repeat_keeps_a_time_only_file_for_tomorrow() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).to_string();
    let tmp = TempDir::new("reload-repeat");
    let at_file = tmp.path().join("reload_at");
    let conf =
        |prio: &str| config(&format!("reload_time_file {}\n reload_repeat", at_file.display()), prio, &vip);
    let d = Daemon::start(&a, &vigil_bin(), &conf("150"), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());

    std::fs::write(d.dir().join("keepalived.conf"), conf("140")).unwrap();
    let target = unix_now() + 2;
    std::fs::write(&at_file, time_z(target)).unwrap();
    assert!(d.wait_log("Configuration validated - children reloading", secs(6)), "{}", d.log());
    assert!(unix_now() >= target, "reloaded before {}", local(target));
    let tomorrow = local(target + 86_400);
    assert!(d.wait_log(&format!("Scheduling reload for {tomorrow}"), secs(3)), "{}", d.log());
    assert!(at_file.exists(), "a time-only file stays with reload_repeat");
    assert!(wait_until(secs(5), ms(50), || priority(&d) == Some(140)), "{}", d.log());

    // A date: reloaded once, and the file goes despite reload_repeat.
    std::fs::write(d.dir().join("keepalived.conf"), conf("130")).unwrap();
    let dated = unix_now() + 2;
    std::fs::write(&at_file, dated_z(dated)).unwrap();
    let updated = format!("Reload time updated from {tomorrow} to {}", local(dated));
    assert!(d.wait_log(&updated, secs(3)), "{}", d.log());
    let validated = || d.log_count("Configuration validated - children reloading");
    assert!(wait_until(secs(6), ms(20), || validated() == 2), "{}", d.log());
    assert!(wait_until(secs(5), ms(50), || priority(&d) == Some(130)), "{}", d.log());
    assert!(!at_file.exists(), "a dated file is deleted even with reload_repeat");
    assert_eq!(d.log_count("Scheduling reload for"), 2, "{}", d.log());
}

/// A bad, missing or emptied `reload_time_file` cancels the pending
/// reload with keepalived's message; a new time moves it; a reload to a
/// configuration without `reload_time_file` cancels it too.
#[test]
fn a_bad_reload_time_file_cancels_the_pending_reload() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).to_string();
    let tmp = TempDir::new("reload-cancel");
    let at_file = tmp.path().join("reload_at");
    let with = config(&format!("reload_time_file {}", at_file.display()), "150", &vip);
    let d = Daemon::start(&a, &vigil_bin(), &with, &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());

    let (t1, t2) = (unix_now() + 3600, unix_now() + 7200);
    std::fs::write(&at_file, dated_z(t1)).unwrap();
    assert!(d.wait_log(&format!("Scheduling reload for {}", local(t1)), secs(3)), "{}", d.log());
    std::fs::write(&at_file, dated_z(t2)).unwrap();
    let updated = format!("Reload time updated from {} to {}", local(t1), local(t2));
    assert!(d.wait_log(&updated, secs(3)), "{}", d.log());

    std::fs::write(&at_file, "25:00:00\n").unwrap();
    assert!(d.wait_log("Reload date/time 25:00:00 invalid - ignoring", secs(3)), "{}", d.log());
    assert!(d.wait_log(&format!("Cancelling reload scheduled for {}", local(t2)), secs(3)), "{}", d.log());

    // Scheduled again, then the file removed.
    let cancel_t1 = format!("Cancelling reload scheduled for {}", local(t1));
    std::fs::write(&at_file, dated_z(t1)).unwrap();
    assert!(wait_until(secs(3), ms(20), || d.log_count("Scheduling reload for") == 2), "{}", d.log());
    std::fs::remove_file(&at_file).unwrap();
    assert!(d.wait_log(&cancel_t1, secs(3)), "{}", d.log());

    // Scheduled again, then a reload to a configuration without the keyword.
    std::fs::write(&at_file, dated_z(t1)).unwrap();
    assert!(wait_until(secs(3), ms(20), || d.log_count("Scheduling reload for") == 3), "{}", d.log());
    std::fs::write(d.dir().join("keepalived.conf"), config("", "140", &vip)).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log("Configuration validated - children reloading", secs(5)), "{}", d.log());
    assert!(wait_until(secs(3), ms(20), || d.log_count(&cancel_t1) == 2), "{}", d.log());
    assert_eq!(d.log_count("Configuration validated"), 1, "only the SIGHUP reloaded: {}", d.log());
}
