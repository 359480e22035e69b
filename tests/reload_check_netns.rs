//! `reload_check_config LOGFILE` against the real binary: at a reload
//! (SIGHUP) the check of the new configuration, which vigil runs every
//! time, is reported in LOGFILE; a configuration that fails it is not
//! loaded, the daemon says where the report is, and keeps running the old.

mod common;

use common::*;

fn config(log: &str, priority: &str, vip: &str) -> String {
    format!(
        "global_defs {{\n reload_check_config {log}\n}}\n\
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
    let d = Daemon::start(&a, &vigil_bin(), &config(&log, "150", &vip), &["-P"]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(8)), "{}", d.log());
    let conf = d.dir().join("keepalived.conf");

    // Priority 300 is out of range: an error at line 8 of the new file.
    std::fs::write(&conf, config(&log, "300", &vip)).unwrap();
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
    std::fs::write(&conf, config(&log, "140", &vip)).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log("Configuration validated - children reloading", secs(5)), "{}", d.log());
    let report = std::fs::read_to_string(&log).expect("the check log");
    assert!(!report.contains("error:"), "{log} still reports an error:\n{report}");
    assert_eq!(d.log_count("New config failed validation"), 1);
}
