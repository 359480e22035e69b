//! `reload_check_config LOGFILE` against the real binary: at a reload
//! (SIGHUP) the check of the new configuration, which vigil runs every
//! time, is reported in LOGFILE; a configuration that fails it is not
//! loaded, the daemon says where the report is, and keeps running the old.

mod common;

use common::*;

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
