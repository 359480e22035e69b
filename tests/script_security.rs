//! Who runs scripts, against the real binary (issue 16): a misspelt script
//! user never means root, and `enable_script_security` refuses root
//! scripts that a non-root user could replace, with keepalived 2.2.7's
//! log lines. Each script appends "<tag> <uid>" to a file. Needs root
//! (files owned by root and by `nobody`) and `ip`.

mod common;

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};

use common::*;

const NOBODY: u32 = 65534;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A directory of mode `mode` owned by root, inside `parent`.
fn dir(parent: &Path, name: &str, mode: u32) -> PathBuf {
    let d = parent.join(name);
    std::fs::create_dir(&d).unwrap();
    chown(&d, Some(0), Some(0)).unwrap();
    chmod(&d, mode);
    d
}

/// `dir/rec.sh`, root-owned 0755, appending "$1 $(id -u)" to `out`.
fn recorder(dir: &Path, out: &Path) -> PathBuf {
    let script = dir.join("rec.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$1 $(id -u)\" >> {}\n", out.display())).unwrap();
    chown(&script, Some(0), Some(0)).unwrap();
    chmod(&script, 0o755);
    script
}

/// The work area: a root-owned 0755 directory, and `out/ran` in a 0777
/// directory so that scripts running as nobody can record themselves.
struct Area {
    tmp: TempDir,
    ran: PathBuf,
}

impl Area {
    fn new(tag: &str) -> Area {
        assert_eq!(unsafe { libc::geteuid() }, 0, "these tests need root");
        let tmp = TempDir::new(tag);
        chown(tmp.path(), Some(0), Some(0)).unwrap();
        chmod(tmp.path(), 0o755);
        let out = dir(tmp.path(), "out", 0o777);
        let ran = out.join("ran");
        std::fs::write(&ran, "").unwrap();
        chmod(&ran, 0o666);
        Area { ran, tmp }
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// (tag, uid) of every run so far.
    fn runs(&self) -> Vec<(String, u32)> {
        let text = std::fs::read_to_string(&self.ran).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let (tag, uid) = l.rsplit_once(' ')?;
                Some((tag.to_string(), uid.parse().ok()?))
            })
            .collect()
    }

    fn wait_run(&self, tag: &str, uid: u32) -> bool {
        wait_until(secs(10), ms(20), || self.runs().iter().any(|(t, u)| t == tag && *u == uid))
    }
}

fn instance(vip: std::net::IpAddr, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n{extra}}}\n"
    )
}

/// `vigil -t` on the daemon's configuration: its output lines.
fn config_test(d: &Daemon) -> Vec<String> {
    let out = std::process::Command::new(vigil_bin())
        .args(["-t", "-f"])
        .arg(d.dir().join("keepalived.conf"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines().map(String::from).collect()
}

fn has_line(lines: &[String], parts: &[&str]) -> bool {
    lines.iter().any(|l| parts.iter().all(|p| l.contains(p)))
}

/// A misspelt user, per script or as `script_user`, disables the script: it
/// never runs, as root or at all. vrrp_scripts and MISC_CHECKs alike; the
/// instance is not affected by a removed track script (keepalived drops it).
#[test]
fn a_misspelt_script_user_never_means_root() {
    let area = Area::new("users");
    let s = recorder(&dir(area.path(), "bin", 0o755), &area.ran).display().to_string();
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).into();
    let conf = format!(
        "global_defs {{\n    script_user nobdy\n}}\n\
         vrrp_script own {{\n    script \"{s} own\"\n    interval 1\n    user nobdy\n}}\n\
         vrrp_script dflt {{\n    script \"{s} dflt\"\n    interval 1\n}}\n\
         vrrp_script grp {{\n    script \"{s} grp\"\n    interval 1\n    user nobody nogrp\n}}\n{}\
         virtual_server {} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server {} 80 {{\n        MISC_CHECK {{\n            misc_path \"{s} misc-bad\"\n            \
         user nobdy\n        }}\n    }}\n    real_server {} 80 {{\n        MISC_CHECK {{\n            \
         misc_path \"{s} misc-ok\"\n            user nobody\n        }}\n    }}\n}}\n",
        instance(
            vip,
            &format!(
                "    track_script {{\n        own\n        dflt\n        grp\n    }}\n    \
                 notify_backup \"{s} backup\"\n    notify \"{s} any\" nobdy\n    \
                 notify_master \"{s} master\" nobody\n"
            )
        ),
        lan.v4(200),
        lan.v4(201),
        lan.v4(202),
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &[]);
    // The controls: scripts with an existing user run, as that user.
    assert!(area.wait_run("misc-ok", NOBODY), "{}", d.log());
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    assert!(area.wait_run("master", NOBODY), "{}", d.log());
    // Notifications run in order: "backup" and "any" would have run before "master".
    let runs = area.runs();
    assert!(runs.iter().all(|(_, uid)| *uid != 0), "a script ran as root: {runs:?}");
    let tags: Vec<&str> = runs.iter().map(|(t, _)| t.as_str()).collect();
    for tag in ["own", "dflt", "grp", "misc-bad", "backup", "any"] {
        assert!(!tags.contains(&tag), "{tag} ran: {runs:?}\n{}", d.log());
    }
    // keepalived 2.2.7's lines.
    let log = d.log();
    for line in [
        "Script user 'nobdy' does not exist".to_string(),
        "Error setting global script uid/gid".to_string(),
        format!("Unable to set uid/gid for script '{s} own'"),
        "Unable to set default user for vrrp script dflt - removing".to_string(),
        "Script group 'nogrp' does not exist".to_string(),
        format!("Unable to set uid/gid for script '{s} grp'"),
        format!("Failed to set default user for notify script {s} - ignoring"),
        format!("Invalid user/group for notify script {s} - ignoring"),
        format!("Failed to set uid/gid for misc checker script {s} misc-bad - removing"),
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.".to_string(),
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.".to_string(),
    ] {
        assert!(log.contains(&line), "no {line:?} in\n{log}");
    }
    // The removed track scripts do not hold the instance down.
    assert!(!log.contains("Entering FAULT STATE"), "{log}");
    // Still nothing else, and nothing as root, a few script intervals later.
    let before = area.runs().len();
    assert!(wait_until(secs(8), ms(50), || area.runs().len() >= before + 3), "misc-ok keeps running");
    assert!(
        area.runs().iter().all(|(t, u)| *u != 0 && (t == "misc-ok" || t == "master")),
        "{:?}",
        area.runs()
    );

    // `vigil -t` reports the same with file:line.
    let t = config_test(&d);
    assert!(has_line(&t, &["keepalived.conf:2:", "warning: Script user 'nobdy' does not exist"]), "{t:?}");
    assert!(has_line(&t, &["keepalived.conf:2:", "Error setting global script uid/gid"]), "{t:?}");
    assert!(
        has_line(&t, &["keepalived.conf:5:", &format!("Unable to set uid/gid for script '{s} own'")]),
        "{t:?}"
    );
}

/// Under enable_script_security, root scripts in a world-writable directory,
/// or owned by nobody in a sticky one, are refused with keepalived's line
/// and never run; a vrrp_script there is removed, not failed.
#[test]
fn enable_script_security_refuses_unsafe_root_scripts() {
    let area = Area::new("unsafe");
    let ww = recorder(&dir(area.path(), "ww", 0o777), &area.ran).display().to_string();
    let sticky_dir = dir(area.path(), "sticky", 0o1777);
    let sticky = recorder(&sticky_dir, &area.ran);
    chown(&sticky, Some(NOBODY), None).unwrap();
    let sticky = sticky.display().to_string();
    let safe = recorder(&dir(area.path(), "safe", 0o755), &area.ran).display().to_string();
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).into();
    let conf = format!(
        "global_defs {{\n    enable_script_security\n    script_user root\n}}\n\
         vrrp_script chk {{\n    script \"{ww} chk\"\n    interval 1\n}}\n{}",
        instance(
            vip,
            &format!(
                "    track_script {{\n        chk\n    }}\n    notify_backup \"{ww} backup\"\n    \
                 notify \"{sticky} any\"\n    notify_master \"{safe} master\"\n"
            )
        ),
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &[]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    assert!(area.wait_run("master", 0), "the safe control script runs as root\n{}", d.log());
    let runs = area.runs();
    assert_eq!(runs, [("master".to_string(), 0)], "only the safe script ran\n{}", d.log());
    let log = d.log();
    for line in [
        format!("Unsafe permissions found for script '{ww}' - disabling."),
        format!("Unsafe permissions found for script '{sticky}' - disabling."),
        "Disabling track script chk due to insecure".to_string(),
    ] {
        assert!(log.contains(&line), "no {line:?} in\n{log}");
    }
    // vigil names the component at fault.
    assert!(
        log.contains(&format!("{} is world-writable (mode 0777)", area.path().join("ww").display())),
        "{log}"
    );
    assert!(log.contains("is owned by non-root user nobody"), "{log}");
    // keepalived's SECURITY VIOLATION summary is for configurations without
    // enable_script_security; the refusals above are what it logs here.
    assert!(!log.contains("SECURITY VIOLATION"), "{log}");
    assert!(!log.contains("Entering FAULT STATE"), "{log}");

    let t = config_test(&d);
    assert!(
        has_line(
            &t,
            &["keepalived.conf:6:", &format!("Unsafe permissions found for script '{ww}' - disabling.")]
        ),
        "{t:?}"
    );
}

/// The same script in a root-owned 0755 directory runs as root under
/// enable_script_security; a script left to the default user is disabled
/// when `keepalived_script` does not exist (keepalived 2.2.7).
#[test]
fn safe_root_scripts_run_under_enable_script_security() {
    let area = Area::new("safe");
    let safe = recorder(&dir(area.path(), "safe", 0o755), &area.ran).display().to_string();
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).into();
    let no_default_user = !std::fs::read_to_string("/etc/passwd").unwrap().contains("\nkeepalived_script:");
    let conf = format!(
        "global_defs {{\n    enable_script_security\n}}\n\
         vrrp_script chk {{\n    script \"{safe} chk\"\n    interval 1\n    user root\n}}\n{}",
        instance(
            vip,
            &format!(
                "    track_script {{\n        chk\n    }}\n    notify_backup \"{safe} backup\" root\n    \
                 notify \"{safe} any\"\n    notify_master \"{safe} master\" root root\n"
            )
        ),
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &[]);
    assert!(area.wait_run("backup", 0), "{}", d.log());
    assert!(area.wait_run("chk", 0), "{}", d.log());
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    assert!(area.wait_run("master", 0), "{}", d.log());
    let log = d.log();
    assert!(!log.contains("Unsafe permissions"), "{log}");
    assert!(!log.contains("SECURITY VIOLATION"), "{log}");
    if no_default_user {
        assert!(log.contains("Script user 'keepalived_script' does not exist"), "{log}");
        assert!(log.contains("Unable to set default user keepalived_script for script"), "{log}");
        assert!(
            log.contains(&format!("Failed to set default user for notify script {safe} - ignoring")),
            "{log}"
        );
        assert!(!area.runs().iter().any(|(t, _)| t == "any"), "{:?}", area.runs());
    } else {
        let as_keepalived_script = || area.runs().iter().any(|(t, u)| t == "any" && *u != 0);
        assert!(wait_until(secs(5), ms(20), as_keepalived_script), "{:?}", area.runs());
    }
}

/// Without enable_script_security the unsafe root script still runs, with
/// keepalived's warnings.
#[test]
fn without_script_security_unsafe_scripts_run_with_a_warning() {
    let area = Area::new("lax");
    let ww = recorder(&dir(area.path(), "ww", 0o777), &area.ran).display().to_string();
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip = lan.v4(100).into();
    let conf = instance(vip, &format!("    notify_backup \"{ww} backup\" root\n"));
    let d = Daemon::start(&a, &vigil_bin(), &conf, &[]);
    assert!(area.wait_run("backup", 0), "{}", d.log());
    let log = d.log();
    assert!(log.contains(&format!("Unsafe permissions found for script '{ww}'.")), "{log}");
    assert!(
        log.contains(
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled. \
             There are insecure scripts."
        ),
        "{log}"
    );
}
