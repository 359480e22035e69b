//! The packaging files (packaging/): what can be checked without an OpenWrt
//! SDK, a router or a systemd host. The OpenWrt package's structure and
//! procd script, every shell script through `sh -n` and shellcheck, the
//! systemd unit through `systemd-analyze verify`, the shipped configs
//! through `vigil -t`, and that the musl build is statically linked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const MUSL: &str = "x86_64-unknown-linux-musl";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().is_ok_and(|o| o.status.success())
}

/// The `NAME:=value` assignments of a make file.
fn make_var<'a>(makefile: &'a str, name: &str) -> Option<&'a str> {
    makefile.lines().find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(":=").map(str::trim))
}

/// The lines between `define NAME` and `endef`.
fn make_define<'a>(makefile: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = makefile.lines().skip_while(|l| l.trim() != format!("define {name}"));
    assert!(lines.next().is_some(), "no `define {name}`");
    lines.take_while(|l| l.trim() != "endef").map(str::trim).collect()
}

fn cargo_version() -> String {
    let toml = read("Cargo.toml");
    let line = toml.lines().find(|l| l.starts_with("version")).expect("version in Cargo.toml");
    line.split('"').nth(1).expect("quoted version").to_string()
}

#[test]
fn openwrt_package_makefile_follows_the_feed_conventions() {
    let mk = read("packaging/openwrt/vigil/Makefile");
    assert_eq!(make_var(&mk, "PKG_NAME"), Some("vigil"));
    assert_eq!(make_var(&mk, "PKG_VERSION"), Some(cargo_version().as_str()), "PKG_VERSION != Cargo.toml's");
    for var in ["PKG_RELEASE", "PKG_LICENSE", "PKG_MAINTAINER"] {
        assert!(make_var(&mk, var).is_some_and(|v| !v.is_empty()), "{var} missing");
    }
    assert_eq!(make_var(&mk, "PKG_BUILD_DEPENDS"), Some("rust/host"));
    assert_eq!(make_var(&mk, "PKG_BUILD_PARALLEL"), Some("1"));
    assert_eq!(make_var(&mk, "RUST_PKG_LOCKED"), Some("1"), "cargo install --locked");
    for include in ["include $(TOPDIR)/rules.mk", "include $(INCLUDE_DIR)/package.mk"] {
        assert!(mk.lines().any(|l| l == include), "{include}");
    }
    assert!(mk.lines().any(|l| l == "include ../../lang/rust/rust-package.mk"));

    let package = make_define(&mk, "Package/vigil");
    let depends = package.iter().find_map(|l| l.strip_prefix("DEPENDS:=")).expect("DEPENDS");
    assert!(depends.split_whitespace().any(|d| d == "$(RUST_ARCH_DEPENDS)"), "{depends}");
    for field in ["SECTION:=net", "CATEGORY:=Network", "TITLE:="] {
        assert!(package.iter().any(|l| l.starts_with(field)), "Package/vigil lacks {field}");
    }
    assert_eq!(make_define(&mk, "Package/vigil/conffiles"), ["/etc/keepalived/keepalived.conf"]);

    // Every installed ./files/X exists, and the conffile is among them.
    let install = make_define(&mk, "Package/vigil/install");
    let mut installed = Vec::new();
    for line in &install {
        if let Some(file) = line.split_whitespace().find_map(|w| w.strip_prefix("./files/")) {
            let path = root().join("packaging/openwrt/vigil/files").join(file);
            assert!(path.is_file(), "{} missing", path.display());
            installed.push(line.split_whitespace().last().unwrap_or_default());
        }
    }
    for dest in [
        "$(1)/etc/init.d/vigil",
        "$(1)/etc/keepalived/keepalived.conf",
        "$(1)/etc/hotplug.d/keepalived/01-status",
    ] {
        assert!(installed.contains(&dest), "{dest} not installed: {installed:?}");
    }
    assert!(install
        .iter()
        .any(|l| l.contains("$(PKG_INSTALL_DIR)/bin/vigil") && l.ends_with("/usr/sbin/vigil")));
    assert!(mk.contains("$(eval $(call RustBinPackage,vigil))"));
    assert!(mk.contains("$(eval $(call BuildPackage,vigil))"));
}

#[test]
fn procd_init_script_runs_vigil_in_the_foreground_respawned_and_reloads_with_sighup() {
    let init = read("packaging/openwrt/vigil/files/vigil.init");
    let lines: Vec<&str> = init.lines().map(str::trim).collect();
    assert_eq!(lines[0], "#!/bin/sh /etc/rc.common");
    assert!(lines.contains(&"USE_PROCD=1"));
    let start = lines.iter().find_map(|l| l.strip_prefix("START=")).expect("START=");
    assert!(start.parse::<u8>().is_ok_and(|n| n <= 99), "START={start}");

    let body: Vec<&str> = lines.iter().copied().skip_while(|l| *l != "start_service() {").collect();
    assert!(!body.is_empty(), "no start_service");
    let body = &body[..body.iter().position(|l| *l == "}").expect("end of start_service")];
    let command = body.iter().find_map(|l| l.strip_prefix("procd_set_param command ")).expect("command");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "\"$PROG\"");
    assert!(lines.contains(&"PROG=/usr/sbin/vigil"));
    assert!(words.contains(&"-n"), "vigil must stay in the foreground under procd: {command}");
    assert!(lines.contains(&"CONF=/etc/keepalived/keepalived.conf"));
    assert!(command.contains("-f \"$CONF\""), "{command}");
    assert!(body.iter().any(|l| l.starts_with("procd_set_param respawn")));
    assert!(body.contains(&"procd_set_param file \"$CONF\""), "no reload on config change");
    assert!(body.contains(&"procd_set_param reload_signal HUP"));
    assert!(body.contains(&"procd_open_instance") && body.contains(&"procd_close_instance"));
    assert!(init.contains("reload_service() {") && init.contains("procd_send_signal vigil '*' HUP"));
}

/// Every shell script under packaging/ and the test scripts of this task.
fn shell_scripts() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let first = text.lines().next().unwrap_or_default();
            if first.starts_with("#!/bin/sh") || text.lines().any(|l| l.starts_with("# shellcheck shell=")) {
                out.push(path);
            }
        }
    }
    let mut scripts = Vec::new();
    walk(&root().join("packaging"), &mut scripts);
    walk(&root().join("tests/initramfs_vm"), &mut scripts);
    scripts.push(root().join("tests/cross.sh"));
    scripts.sort();
    scripts
}

#[test]
fn every_shell_script_parses_and_passes_shellcheck() {
    let scripts = shell_scripts();
    let names: Vec<String> =
        scripts.iter().map(|p| p.strip_prefix(root()).unwrap_or(p).display().to_string()).collect();
    for must in [
        "packaging/openwrt/vigil/files/vigil.init",
        "packaging/openwrt/vigil/files/hotplug-status.sh",
        "packaging/busybox/S50vigil",
        "packaging/initramfs/build.sh",
        "packaging/cross/build.sh",
        "packaging/cross/zigcc",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} not found among {names:?}");
    }
    assert!(have("shellcheck"), "shellcheck missing: run tests/deps.sh");
    for (script, name) in scripts.iter().zip(&names) {
        let out = Command::new("sh").arg("-n").arg(script).output().expect("run sh -n");
        assert!(out.status.success(), "sh -n {name}: {}", String::from_utf8_lossy(&out.stderr));
        let out = Command::new("shellcheck").arg("--shell=sh").arg(script).output().expect("run shellcheck");
        assert!(out.status.success(), "shellcheck {name}:\n{}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn busybox_files_supervise_vigil() {
    let inittab = read("packaging/busybox/inittab");
    assert!(inittab
        .lines()
        .any(|l| l == "::respawn:/usr/sbin/vigil -n -l -f /etc/keepalived/keepalived.conf"));
    let rc = read("packaging/busybox/S50vigil");
    for action in ["start) start ;;", "stop) stop ;;", "restart)", "reload) reload ;;"] {
        assert!(rc.lines().any(|l| l.trim() == action), "S50vigil lacks {action}");
    }
    assert!(rc.contains("kill -HUP \"$pid\"") && rc.contains("kill -TERM \"$pid\""));
    // The initramfs recipe runs vigil the same way.
    let recipe = read("packaging/initramfs/build.sh");
    assert!(recipe
        .lines()
        .any(|l| l == "::respawn:/usr/sbin/vigil -n -l -f /etc/keepalived/keepalived.conf"));
}

#[test]
fn systemd_unit_is_simple_foreground_with_hup_reload_and_capabilities() {
    let unit = read("packaging/systemd/vigil.service");
    let set = |key: &str| -> Vec<&str> {
        unit.lines().filter_map(|l| l.strip_prefix(key)?.strip_prefix('=')).collect()
    };
    assert_eq!(set("Type"), ["simple"]);
    let exec = set("ExecStart");
    assert!(exec.len() == 1 && exec[0].split_whitespace().any(|w| w == "-n"), "{exec:?}");
    assert_eq!(set("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    assert_eq!(set("Restart"), ["on-failure"]);
    assert_eq!(set("NoNewPrivileges"), ["no"]);
    assert_eq!(set("PrivateTmp"), ["no"]);
    assert_eq!(set("ProtectSystem"), ["strict"]);
    assert_eq!(set("ReadWritePaths"), ["/run /tmp"]);
    let caps = "CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE CAP_KILL CAP_SETUID CAP_SETGID";
    assert_eq!(set("CapabilityBoundingSet"), [caps]);
    assert_eq!(set("AmbientCapabilities"), [caps]);
    assert_eq!(set("RestrictAddressFamilies"), ["AF_INET AF_INET6 AF_NETLINK AF_UNIX AF_PACKET"]);

    assert!(have("systemd-analyze"), "systemd-analyze is missing: `sh tests/deps.sh` installs systemd");
    // verify wants the ExecStart binary to exist: point it at vigil's.
    let dir = std::env::temp_dir().join(format!("vg-{}-unit", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vigil.service");
    std::fs::write(&path, unit.replace("/usr/sbin/vigil", env!("CARGO_BIN_EXE_vigil"))).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().expect("systemd-analyze");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "systemd-analyze verify:\n{stderr}");
}

#[test]
fn shipped_configs_pass_vigil_t() {
    for conf in [
        "packaging/openwrt/vigil/files/keepalived.conf",
        "packaging/initramfs/keepalived.conf",
        "tests/initramfs_vm/keepalived.conf",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["-t", "-f"])
            .arg(root().join(conf))
            .output()
            .expect("run vigil -t");
        assert!(out.status.success(), "vigil -t -f {conf}:\n{}", String::from_utf8_lossy(&out.stderr));
    }
}

fn assert_static(bin: &Path) {
    let out = Command::new("file").arg("-L").arg(bin).output().expect("run file");
    let what = String::from_utf8_lossy(&out.stdout);
    assert!(
        what.contains("statically linked") || what.contains("static-pie linked"),
        "{} is not static: {what}",
        bin.display()
    );
    let ldd = Command::new("ldd").arg(bin).output().expect("run ldd");
    let said = String::from_utf8_lossy(&ldd.stdout) + String::from_utf8_lossy(&ldd.stderr);
    assert!(!said.contains("=>"), "ldd finds shared libraries: {said}");
}

#[test]
fn musl_build_is_statically_linked() {
    assert!(have("file"), "`file` missing: run tests/deps.sh");
    // `make static`'s binary, if it was built: static and stripped.
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root().join("target"), PathBuf::from);
    let made = target.join(MUSL).join("release/vigil");
    if made.exists() {
        assert_static(&made);
        let out = Command::new("file").arg(&made).output().expect("run file");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(", stripped"),
            "make static's binary is not stripped"
        );
    }
    // The static build the VM tests run (make static's, under make test).
    let bin = common::vm::static_vigil();
    assert_static(&bin);
    let out = Command::new(&bin).arg("-v").output().expect("run the static vigil");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("vigil v"));
}

/// packaging/busybox/S50vigil for real, in a fresh network namespace with
/// a veth pair: start, status, reload, restart (new pid), stop.
#[test]
fn busybox_rc_script_starts_reloads_restarts_and_stops_vigil() {
    // SAFETY: no arguments, no side effects.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root for a network namespace");
    let dir = std::env::temp_dir().join(format!("vg-{}-s50", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "vrrp_instance T {\n state BACKUP\n interface vgs0\n virtual_router_id 7\n priority 100\n\
         advert_int 1\n virtual_ipaddress {\n  198.18.7.100/24\n }\n}\n",
    )
    .unwrap();
    let d = dir.display();
    let script = format!(
        "ip link set lo up && ip link add vgs0 type veth peer name vgs1 && \
         ip addr add 198.18.7.1/24 dev vgs0 && ip link set vgs1 up && ip link set vgs0 up || exit 99
         rc() {{ sh {s} \"$1\" >/dev/null 2>&1; echo \"$1 rc=$?\"; }}
         pid() {{ echo \"$1 pid=$(cat {d}/k.pid 2>/dev/null)\"; }}
         rc start; pid started; rc status; rc start; rc reload; sleep 0.5; rc status
         rc restart; pid restarted; rc stop; rc status
         # Whatever happened above, leave nothing running.
         p=$(cat {d}/k.pid 2>/dev/null) && kill -9 \"$p\" 2>/dev/null
         exit 0",
        s = root().join("packaging/busybox/S50vigil").display(),
    );
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .env("DAEMON", env!("CARGO_BIN_EXE_vigil"))
        .env("CONF", &conf)
        .env("PIDFILE", dir.join("k.pid"))
        .env("VIGIL_ARGS", format!("-r {d}/v.pid -c {d}/c.pid"))
        .env("VIGIL_RUN_DIR", dir.join("run"))
        .output()
        .expect("run unshare");
    let _ = std::fs::remove_dir_all(&dir);
    let said = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(out.status.code(), Some(0), "setup failed: {}", String::from_utf8_lossy(&out.stderr));
    let pid = |tag: &str| -> u32 {
        let p = lines.iter().find_map(|l| l.strip_prefix(tag)).unwrap_or_else(|| panic!("{tag}: {said}"));
        p.parse().unwrap_or_else(|_| panic!("no pid file after {tag}: {said}"))
    };
    let (started, restarted) = (pid("started pid="), pid("restarted pid="));
    assert_ne!(started, restarted, "restart kept the same process");
    let rcs: Vec<&str> = lines.iter().filter(|l| l.contains(" rc=")).copied().collect();
    assert_eq!(
        rcs,
        [
            "start rc=0",
            "status rc=0",
            "start rc=0", // already running: not an error
            "reload rc=0",
            "status rc=0", // still running after SIGHUP
            "restart rc=0",
            "stop rc=0",
            "status rc=3", // stopped
        ],
        "{said}"
    );
}
