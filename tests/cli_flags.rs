//! keepalived's command-line flags on the real binary: `-s` (network
//! namespace, per-namespace pid files, run dir and log names), `-g` (log
//! files), `-u` (umask), `-V` (leave the VIPs), `--ignore-sigint`.

mod common;

use std::fs::File;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

fn config(prio: u8, vip: IpAddr) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Addresses of the namespace this test process runs in (the host's): read only.
fn host_has_addr(addr: &IpAddr) -> bool {
    let out = Command::new("ip").args(["-o", "addr", "show"]).output().expect("ip addr");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|w| w.split('/').next() == Some(&addr.to_string()))
}

/// `vigil -s NS` started from the host namespace, as users run it: no
/// VIGIL_RUN_DIR, no pid-file flags. The VRRP instance runs inside NS (the VIP
/// appears there, not here), the pid files and run dir are NS's own, the log
/// files and syslog ident carry NS's name, `vigil status --namespace NS`
/// reaches it, and SIGTERM takes everything away again.
#[test]
fn namespace_flag_runs_the_daemon_inside_and_status_finds_it() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let ns = a.name().to_string();
    let vip: IpAddr = lan.v4(100).into();
    let dir = TempDir::new("ns");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, config(150, vip)).unwrap();
    let out = dir.path().join("out.log");
    let logbase = dir.path().join("ka.log");
    let bin = vigil_bin();
    let mut cmd = Command::new(&bin);
    cmd.args(["-n", "-l", "-D", "-G", "-P", "-s", &ns, "-f"]).arg(&conf);
    cmd.arg(format!("--log-file={}", logbase.display()));
    cmd.env_remove("VIGIL_RUN_DIR").env("VIGIL_DUMP_DIR", dir.path());
    let f = File::create(&out).unwrap();
    cmd.stdin(Stdio::null()).stdout(f.try_clone().unwrap()).stderr(f);
    let mut daemon = ProcGuard::spawn(&mut cmd);

    let pid_dir = PathBuf::from("/run/keepalived").join(&ns);
    let run_dir = PathBuf::from("/run/vigil").join(&ns);
    let vrrp_log = dir.path().join(format!("ka_vrrp_{ns}.log"));
    let parent_log = dir.path().join(format!("ka_{ns}.log"));
    assert!(
        wait_until(secs(8), ms(20), || read(&vrrp_log).contains("(VI_1) Entering MASTER STATE")),
        "no MASTER in {}:\n{}\n{}",
        vrrp_log.display(),
        read(&vrrp_log),
        read(&out)
    );
    assert!(wait_until(secs(2), ms(20), || a.has_addr(&vip)), "VIP not in {ns}:\n{}", read(&out));
    assert!(!host_has_addr(&vip), "VIP in the host namespace");

    // keepalived's names: /run/keepalived/NS/{keepalived,vrrp}.pid.
    let parent_pid: u32 = read(&pid_dir.join("keepalived.pid")).trim().parse().expect("parent pid file");
    assert_eq!(parent_pid, daemon.pid());
    let vrrp_pid: u32 = read(&pid_dir.join("vrrp.pid")).trim().parse().expect("vrrp pid file");
    assert!(pid_alive(vrrp_pid));
    assert!(run_dir.join("vrrp.ctl").exists(), "no control socket in {}", run_dir.display());

    // Log files: the parent's and the child's, keepalived's line format.
    let parent_text = read(&parent_log);
    assert!(parent_text.contains("Starting Keepalived"), "{}: {parent_text}", parent_log.display());
    assert!(parent_text.contains(&format!("Changing syslog ident to Keepalived_{ns}")), "{parent_text}");
    assert!(parent_text.contains(&format!("Running in network namespace {ns}")), "{parent_text}");
    let first = parent_text.lines().next().unwrap();
    // "Sun Dec 06 01:57:27.385965553 2026: Starting Keepalived ..."
    assert_eq!(first.find(": Starting"), Some(34), "{first}");
    assert!(!read(&vrrp_log).contains("Starting Keepalived"), "parent line in the child's file");
    assert_eq!(mode(&vrrp_log) & 0o137, 0, "log file mode {:o}", mode(&vrrp_log));

    // vigil status --namespace NS, from the host, without VIGIL_RUN_DIR.
    let status = Command::new(&bin)
        .args(["status", "--namespace", &ns, "--json"])
        .env_remove("VIGIL_RUN_DIR")
        .output()
        .expect("vigil status");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "vigil status: {}", String::from_utf8_lossy(&status.stderr));
    assert!(text.contains("\"name\":\"VI_1\"") && text.contains("\"state\":\"MASTER\""), "{text}");
    // Without the flag it looks in /run/vigil, not in NS's directory.
    let plain =
        Command::new(&bin).args(["status", "--json"]).env("VIGIL_RUN_DIR", dir.path()).output().unwrap();
    assert!(!plain.status.success());

    daemon.signal(libc::SIGTERM);
    assert!(daemon.wait_exit(secs(5)), "no exit after SIGTERM:\n{}", read(&out));
    assert!(daemon.stop(secs(1)).success(), "{}", read(&out));
    assert!(!a.has_addr(&vip), "VIP left behind without -V");
    assert!(!pid_dir.exists(), "{} left behind", pid_dir.display());
    assert!(!run_dir.exists(), "{} left behind", run_dir.display());
    assert!(read(&vrrp_log).contains("Stopping"), "{}", read(&vrrp_log));
}

/// A namespace that does not exist: a clear error and a non-zero exit, nothing started.
#[test]
fn missing_namespace_is_an_error() {
    let dir = TempDir::new("nons");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, config(150, "198.18.0.100".parse().unwrap())).unwrap();
    let name = format!("vgt{}-absent", std::process::id());
    let out = Command::new(vigil_bin())
        .args(["-n", "-l", "-G", "-s", &name, "-f"])
        .arg(&conf)
        .env("VIGIL_RUN_DIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run vigil");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("Unable to set network namespace {name}")), "{text}");
    assert!(text.contains(&format!("/var/run/netns/{name}")), "{text}");
    assert!(!Path::new("/run/keepalived").join(&name).exists());
}

/// `-V`: SIGTERM stops the daemon but the VIP stays where it was, and no
/// priority-0 advert goes out (keepalived skips the whole release).
#[test]
fn dont_release_vrrp_leaves_the_vip() {
    let lan = Lan::new();
    let (a, watcher) = (lan.add_host("a"), lan.add_host("w"));
    let vip: IpAddr = lan.v4(100).into();
    let sniffer = AdvertSniffer::start(&watcher, "eth0");
    let mut d = Daemon::start(&a, &vigil_bin(), &config(150, vip), &["-P", "-V"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    assert!(wait_until(secs(2), ms(20), || a.has_addr(&vip)));
    let t0 = std::time::Instant::now();
    assert!(sniffer.wait_from(a.ip4, t0, secs(2)).is_some_and(|ad| ad.priority == 150), "no advert seen");
    assert!(d.stop().success(), "{}", d.log());
    let prio0 = || sniffer.adverts_after(a.ip4, t0).iter().any(|ad| ad.priority == 0);
    assert!(!wait_until(ms(300), ms(10), prio0), "-V: a priority-0 advert was sent");
    assert!(d.log().contains("(VI_1) --dont-release-vrrp: leaving VIPs"), "{}", d.log());
    assert!(!d.log().contains("Entering STOP"), "{}", d.log());
    assert!(a.has_addr(&vip), "-V: the VIP was removed:\n{}", d.log());
}

/// `-u 077` applies to what the daemon creates: the SIGUSR1 dump and the
/// `-g` log files are 0600. A bare `-g` logs to $TMPDIR/keepalived.log and
/// the child to keepalived_vrrp.log, and does not swallow the next flag.
/// `--ignore-sigint`: SIGINT stops nothing. `-a`: address changes are logged.
#[test]
fn umask_bare_log_file_ignore_sigint_and_address_monitoring() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let tmp = TempDir::new("tmpdir");
    let tmp_s = tmp.path().to_string_lossy().into_owned();
    let extra = ["-u", "077", "-g", "-P", "--ignore-sigint", "-X", "-a"];
    let d = Daemon::start_env(&a, &vigil_bin(), &config(150, vip), &extra, &[("TMPDIR", &tmp_s)]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    assert!(d.log().contains("-X/--release-vips accepted for compatibility"), "{}", d.log());
    assert!(d.wait_log(&format!("Netlink reflector reports IP {vip} added to eth0"), secs(2)), "{}", d.log());
    let extra_addr = lan.v4(77);
    a.ip(&["addr", "add", &format!("{extra_addr}/24"), "dev", "eth0"]);
    assert!(d.wait_log(&format!("Netlink reflector reports IP {extra_addr} added to eth0"), secs(2)));
    a.ip(&["addr", "del", &format!("{extra_addr}/24"), "dev", "eth0"]);
    assert!(d.wait_log(&format!("Netlink reflector reports IP {extra_addr} removed from eth0"), secs(2)));

    let data = d.dir().join("keepalived.data");
    d.signal(libc::SIGUSR1);
    assert!(wait_until(secs(3), ms(20), || read(&data).contains("VI_1")), "no dump:\n{}", d.log());
    assert_eq!(mode(&data), 0o600);

    let (parent_log, vrrp_log) = (tmp.path().join("keepalived.log"), tmp.path().join("keepalived_vrrp.log"));
    assert!(read(&parent_log).contains("Starting Keepalived"), "{}", d.log());
    assert!(read(&vrrp_log).contains("(VI_1) Entering MASTER STATE"), "{}", d.log());
    assert_eq!(mode(&parent_log), 0o600);
    assert_eq!(mode(&vrrp_log), 0o600);

    // SIGINT to the whole group, as a ^C would: nobody stops.
    let vrrp_pid = d.pid_from_file("v.pid").expect("vrrp pid");
    // SAFETY: plain signals to processes of our unreaped daemon.
    unsafe {
        libc::kill(d.pid() as i32, libc::SIGINT);
        libc::kill(vrrp_pid as i32, libc::SIGINT);
        libc::kill(d.pid() as i32, libc::SIGUSR2);
    }
    let stats = d.dir().join("keepalived.stats");
    assert!(wait_until(secs(3), ms(20), || stats.exists()), "no stats dump:\n{}", d.log());
    assert!(d.is_running() && pid_alive(vrrp_pid), "SIGINT stopped it:\n{}", d.log());
    assert_eq!(d.log_count("Stopping"), 0, "{}", d.log());
}

/// `-e`: an include that matches nothing is an error, not a warning; and
/// `-tFILE` appends the findings to FILE (stderr stays quiet).
#[test]
fn all_config_and_config_test_log_file() {
    let dir = TempDir::new("cfgtest");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        format!("include missing-*.conf\n{}", config(150, "198.18.0.100".parse().unwrap())),
    )
    .unwrap();
    let run = |flags: &[&str]| Command::new(vigil_bin()).args(flags).arg("-f").arg(&conf).output().unwrap();
    let plain = run(&["-t"]);
    assert_eq!(plain.status.code(), Some(0), "{}", String::from_utf8_lossy(&plain.stderr));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("warning: include missing-*.conf"));
    let strict = run(&["-t", "-e"]);
    let text = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(5), "{text}");
    assert!(text.contains("error: include missing-*.conf: no file matches"), "{text}");

    let log = dir.path().join("test.log");
    let to_file = run(&[&format!("-t{}", log.display()), "-e"]);
    assert_eq!(to_file.status.code(), Some(5));
    assert!(to_file.stderr.is_empty(), "{}", String::from_utf8_lossy(&to_file.stderr));
    let logged = read(&log);
    assert!(logged.contains("error: include missing-*.conf") && logged.contains("1 error(s)"), "{logged}");
}

/// `--all`: a VRRP-only configuration still gets a checker child, which
/// stays up. `-m`: the children may dump core of any size; scripts keep the
/// limit vigil started with.
#[test]
fn all_runs_every_child_and_core_dump_lifts_the_limit() {
    let lan = Lan::new();
    let a = lan.add_host("a");
    let vip: IpAddr = lan.v4(100).into();
    let out = TempDir::new("core");
    let limit_file = out.path().join("script-limit");
    let conf = config(150, vip).replace(
        "    advert_int 1\n",
        &format!(
            "    advert_int 1\n    notify_master \"/bin/sh -c 'ulimit -c > {}'\"\n",
            limit_file.display()
        ),
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["--all", "-m"]);
    assert!(d.wait_log("Starting Healthcheck child process", secs(5)), "{}", d.log());
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    let checker = d.pid_from_file("c.pid").expect("checker pid file");
    assert!(pid_alive(checker));
    assert_eq!(d.log_count("died"), 0, "{}", d.log());
    assert_eq!(d.log_count("accepted for compatibility"), 0, "{}", d.log());

    let vrrp = d.pid_from_file("v.pid").expect("vrrp pid file");
    let limits = read(Path::new(&format!("/proc/{vrrp}/limits")));
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap_or_default().to_string();
    assert!(core.split_whitespace().filter(|w| *w == "unlimited").count() == 2, "{core}");
    let mut ours = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid out-parameter.
    unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut ours) };
    let expected = if ours.rlim_cur == libc::RLIM_INFINITY {
        "unlimited".to_string()
    } else {
        (ours.rlim_cur / 512).to_string()
    };
    assert!(
        wait_until(secs(5), ms(20), || !read(&limit_file).is_empty()),
        "notify_master did not run:\n{}",
        d.log()
    );
    assert_eq!(read(&limit_file).trim(), expected, "script's core limit");
}

/// `-f FIFO` (a pipe with no writer, as `-f <(...)` or a FIFO someone put at
/// the path would be): `-t` and the daemon refuse it at once, never block in
/// `open()` waiting for a writer.
#[test]
fn a_fifo_as_the_configuration_is_refused_without_blocking() {
    let dir = TempDir::new("cfgfifo");
    let fifo = dir.path().join("keepalived.conf");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", fifo.display());
    for flags in [&["-t"][..], &["-n", "-l", "-D"][..]] {
        let mut child = Command::new(vigil_bin())
            .args(flags)
            .arg("-f")
            .arg(&fifo)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let done = wait_until(secs(10), ms(10), || child.try_wait().unwrap().is_some());
        if !done {
            child.kill().unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(done, "vigil {flags:?} -f FIFO still running after 10 s: {text}");
        assert!(!out.status.success(), "{flags:?}: {text}");
        assert!(text.contains("not a regular file"), "{flags:?}: {text}");
    }
}
