//! `vigil upgrade`: the running daemon re-executes its binary in place, as
//! routers are upgraded, while a client probes the VIP every 10 ms.

mod common;

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use common::*;

fn instance(prio: u8, vip: IpAddr) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

/// Put a copy of `from` at `to` as a new file (a rebuilt binary: another inode), atomically.
fn install(from: &Path, to: &Path) {
    let tmp = to.with_extension("new");
    std::fs::copy(from, &tmp).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

/// `vigil upgrade` for daemon `d` (its private run directory): exit code, stdout, stderr.
fn upgrade(host: &Netns, d: &Daemon) -> (Option<i32>, String, String) {
    let bin = vigil_bin();
    let out = host
        .command(&[bin.to_str().unwrap(), "upgrade"])
        .env("VIGIL_RUN_DIR", d.run_dir())
        .output()
        .expect("run vigil upgrade");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// A master (priority 100, advert 1 s) upgraded in place twice to a new
/// copy of the binary, then asked to upgrade to a broken one:
/// - each upgrade: same daemon pid, a new VRRP child that resumed MASTER,
///   0 probes lost, no priority-0 advert, the backup (90) never master and
///   silent on the wire, `vigil upgrade` reports the daemon back;
/// - the broken binary: refused with its own words, nothing restarted, the
///   old binary keeps running.
#[test]
fn upgrade_in_place_keeps_the_vip_and_refuses_a_broken_binary() {
    let lan = Lan::new();
    let (a, b, c) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"));
    let vip: IpAddr = lan.v4(100).into();
    let bin_dir = TempDir::new("upgrade-bin");
    let installed = bin_dir.path().join("vigil");
    install(&vigil_bin(), &installed);
    let da = Daemon::start(&a, &installed, &instance(100, vip), &["-P"]);
    assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", da.log());
    let db = Daemon::start(&b, &vigil_bin(), &instance(90, vip), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering BACKUP STATE", secs(3)), "{}", db.log());
    let sniffer = AdvertSniffer::start(&c, "eth0");
    let probe = Prober::start(&c, vip);
    assert!(probe.wait_answers(20, secs(3)));
    let t0 = Instant::now();
    let parent = da.pid();

    for round in 1..=2 {
        install(&vigil_bin(), &installed);
        let child = da.pid_from_file("v.pid").expect("VRRP child pid");
        let (code, out, err) = upgrade(&a, &da);
        assert_eq!(code, Some(0), "vigil upgrade failed: {out}{err}\n{}", da.log());
        assert!(out.contains(&format!("daemon {parent}")), "{out}");
        assert_eq!(da.log_count("Upgraded in place"), round, "{}", da.log());
        assert!(da.is_running(), "the daemon's process is gone:\n{}", da.log());
        let new_child = da.pid_from_file("v.pid").expect("VRRP child pid");
        assert_ne!(new_child, child, "the VRRP child was not replaced");
        assert_eq!(
            da.log_count("resuming MASTER state of the previous VRRP child"),
            round,
            "the new child did not resume MASTER:\n{}",
            da.log()
        );
    }
    // One advert interval more on the wire after the last upgrade.
    let settled = Instant::now();
    assert!(sniffer.wait_from(a.ip4, settled, secs(2)).is_some(), "no advert from the master");

    // A broken binary at the daemon's path: refused, nothing moves.
    let broken = bin_dir.path().join("broken");
    std::fs::write(&broken, "#!/bin/sh\necho 'Illegal instruction' >&2\nexit 132\n").unwrap();
    install(&broken, &installed);
    let child = da.pid_from_file("v.pid").expect("VRRP child pid");
    let (code, out, err) = upgrade(&a, &da);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("refused") && err.contains("Illegal instruction"), "{err}");
    assert!(da.log_count("Upgrade refused - keeping the running binary") == 1, "{}", da.log());
    assert_eq!(da.pid_from_file("v.pid"), Some(child), "the VRRP child was restarted");
    assert_eq!(da.log_count("Upgraded in place"), 2);
    assert!(sniffer.wait_from(a.ip4, Instant::now(), secs(2)).is_some(), "the master went quiet");

    let report = probe.stop();
    eprintln!(
        "2 upgrades and a refused one: {} probes, {} lost, longest gap {:?}",
        report.sent(),
        report.lost(),
        report.longest_gap()
    );
    assert_eq!(report.lost_between(t0, Instant::now()), 0, "probes lost");
    assert_eq!(da.log_count("sent 0 priority"), 0, "the master resigned:\n{}", da.log());
    assert_eq!(da.log_count("Entering BACKUP STATE"), 1, "a new child started in BACKUP:\n{}", da.log());
    assert_eq!(db.log_count("Entering MASTER STATE"), 0, "the backup took over:\n{}", db.log());
    assert!(sniffer.adverts_after(b.ip4, t0).is_empty(), "the backup sent adverts");
    assert!(
        sniffer.adverts_after(a.ip4, t0).iter().all(|ad| ad.priority == 100),
        "an advert not at priority 100"
    );
}
