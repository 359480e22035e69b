//! Issue 6's proof: the vigil daemon (`vigil -n -l -C`) health-checks real
//! servers that live in network namespaces and programs a real kernel's
//! IPVS, watched by Debian's `ipvsadm -Ln` while real servers stop and come
//! back (tests/vm/payload-daemon/run, inside the QEMU guest of tests/vm/);
//! and issue 15's: a checker child killed with SIGKILL is replaced by one
//! that goes on from its state, so the table does not change; and that
//! `lvs_netlink_cmd_rcv_bufs 300000` with `_force` sizes the checker's IPVS
//! netlink socket (600000 as the kernel's sock_diag reports it to `ss`, past
//! net.core.rmem_max), in the first checker child and its successor.
//!
//! Needs root and qemu-system-x86_64 (installed through tests/deps.sh; a
//! test fails, saying why, if they cannot be had). Shares the image cache
//! (target/vm) and the static build (target/vm-musl) with ipvs_vm.rs. About
//! 25 s when both are cached.

mod common;

use common::vm::{base_image, boot, require_vm, static_vigil};
use std::time::Instant;

/// Checks in payload-daemon/run.
const PAYLOAD_CHECKS: u32 = 14;

#[test]
fn daemon_programs_ipvs_from_health_checks() {
    require_vm();
    let start = Instant::now();
    let vigil = static_vigil();
    let image = base_image();
    let built = start.elapsed();
    let run = boot(&image, &vigil, "payload-daemon", 300);
    let console = &run.console;
    let lines = run.lines();
    let vm_time = start.elapsed() - built;
    let verdict = check_console(run.code, &lines);
    if let Err(why) = verdict {
        panic!("{why}\n---- console ----\n{console}");
    }
    eprintln!("build {built:.1?}, VM {vm_time:.1?}");
}

/// The payload's exit code and the lines that prove each step.
fn check_console(code: Option<i32>, lines: &[&str]) -> Result<(), String> {
    let has = |want: &str| lines.contains(&want);
    // A daemon log line ends with `want` (its prefix is a timestamp).
    let logged = |want: &str| lines.iter().any(|l| l.ends_with(want));
    if code != Some(0) {
        return Err(format!("the VM payload failed with {code:?} (exit code = failed checks)"));
    }
    let summary = format!("{PAYLOAD_CHECKS} passed, 0 failed");
    for want in [
        "VMTEST-RESULT rc=0",
        summary.as_str(),
        "ok   - table: NAT service, both real servers",
        "ok   - table: alpha DR service holds only the answering real server",
        "ok   - the checker's IPVS netlink socket has rb600000",
        "ok   - the new checker's IPVS netlink socket has rb600000 too",
        "ok   - rs1 removed",
        "ok   - rs2 at weight 0, sorry server in",
        "ok   - the table stays as it was for 5 s after the kill",
        "ok   - a new checker child runs",
        "ok   - rs2 back at weight 2, sorry server out",
        "ok   - rs1 back at weight 3",
        "ok   - the table is empty",
        // ipvsadm -Ln as printed after start and with the sorry server in.
        "TCP  198.18.0.10:80 wrr",
        "TCP  198.18.0.20:8080 rr",
        "  -> 198.18.3.1:8080              Route   4      0          0",
        "  -> 198.18.2.1:80                Masq    0      0          0",
        "  -> 198.18.9.9:80                Masq    1      0          0",
    ] {
        if !has(want) && !lines.iter().any(|l| l.trim_end() == want) {
            return Err(format!("console lacks {want:?}"));
        }
    }
    for want in [
        "HTTP status code success to [198.18.1.1]:tcp:80 url(/index.html).",
        "Removing service [198.18.1.1]:tcp:80 from VS [198.18.0.10]:tcp:80",
        "Disabling service [198.18.2.1]:tcp:80 from VS [198.18.0.10]:tcp:80",
        "Adding sorry server [198.18.9.9]:tcp:80 to VS [198.18.0.10]:tcp:80",
        "Removing sorry server [198.18.9.9]:tcp:80 from VS [198.18.0.10]:tcp:80",
        "TCP_CHECK on service [198.18.4.1]:tcp:8080 failed.",
        "Resumed 2 of 2 virtual servers where the previous checker child left them",
        concat!("Stopped Keepalived v", env!("CARGO_PKG_VERSION"), " (vigil)"),
    ] {
        if !logged(want) {
            return Err(format!("the daemon did not log {want:?}"));
        }
    }
    if lines.iter().any(|l| l.contains("IPVS: cannot")) {
        return Err("an IPVS call failed".into());
    }
    Ok(())
}

/// Checks in payload-lvssync/run.
const SYNC_CHECKS: u32 = 23;

/// Issue 17's proof for `lvs_sync_daemon`, `lvs_timeouts`, `lvs_flush` and
/// `lvs_flush_on_stop` (tests/vm/payload-lvssync/run): two directors in
/// network namespaces of the guest, each a vigil with one VRRP instance and
/// the same DR virtual server; the kernel's sync daemon follows the
/// instances, a client's connection through the master shows in the
/// backup's `ipvsadm -Lnc`, and the roles swap when the master stops and
/// come back when it returns.
#[test]
fn lvs_sync_daemon_follows_vrrp_between_two_directors() {
    require_vm();
    let vigil = static_vigil();
    let image = base_image();
    let run = boot(&image, &vigil, "payload-lvssync", 300);
    let lines = run.lines();
    let fail = |why: String| -> ! { panic!("{why}\n---- console ----\n{}", run.console) };
    if run.code != Some(0) {
        fail(format!("the VM payload failed with {:?} (exit code = failed checks)", run.code));
    }
    let summary = format!("{SYNC_CHECKS} passed, 0 failed");
    for want in [
        summary.as_str(),
        "ok   - d1 runs the master sync daemon",
        "ok   - d2 runs the backup sync daemon",
        "ok   - lvs_timeouts set",
        "ok   - lvs_flush removed the foreign service",
        "ok   - d2's connection table holds the client's connection",
        "ok   - d2 runs the master sync daemon",
        "ok   - lvs_flush_on_stop emptied d1's table",
        "ok   - d1 runs the master sync daemon again",
        "ok   - d2 is back to the backup sync daemon",
        "ok   - no sync daemon is left",
        // ipvsadm's own words for what vigil started.
        "master sync daemon (mcast=eth0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)",
        "backup sync daemon (mcast=eth0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)",
        "Timeout (tcp tcpfin udp): 900 30 60",
    ] {
        if !lines.iter().any(|l| l.trim_end() == want) {
            fail(format!("console lacks {want:?}"));
        }
    }
    let logged = |want: &str| lines.iter().any(|l| l.contains(want));
    for want in [
        "Starting IPVS sync daemon (master) on eth0 for (VI_1), sync id 51",
        "Starting IPVS sync daemon (backup) on eth0 for (VI_1), sync id 51",
        "Stopping IPVS sync daemon (master)",
        "IPVS: flushing the table (lvs_flush)",
        "IPVS: flushing the table (lvs_flush_on_stop)",
    ] {
        if !logged(want) {
            fail(format!("the daemons did not log {want:?}"));
        }
    }
    if logged("IPVS: cannot") {
        fail("an IPVS call failed".into());
    }
}
