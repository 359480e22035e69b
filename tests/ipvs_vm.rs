//! IPVS for real: this machine's kernel may lack IPVS, so boot a stock
//! Debian kernel under QEMU (tests/vm/) and run `vigil ipvs-selftest` plus
//! an ipvsadm cross-check inside it (tests/vm/payload-ipvs/run).
//!
//! Needs root (apt-get, the image build) and qemu-system-x86_64; it installs
//! qemu through tests/deps.sh and skips, saying why, only if that fails.
//! The first run downloads the kernel .deb (~70 MB) into target/vm; later
//! runs reuse it and take about 20 s.

mod common;

use common::vm::{base_image, boot, require_vm, static_vigil};
use std::time::Instant;

/// Checks in payload-ipvs/run; each selftest run is one of them.
const PAYLOAD_CHECKS: u32 = 13;
/// Checks `vigil ipvs-selftest` makes (src/ipvs/selftest.rs).
const SELFTEST_CHECKS: u32 = 38;

#[test]
fn ipvs_client_against_a_real_kernel() {
    require_vm();
    let start = Instant::now();
    let vigil = static_vigil();
    let image = base_image();
    let built = start.elapsed();
    let run = boot(&image, &vigil, "payload-ipvs", 240);
    eprintln!("{}", run.console);
    eprintln!("build {:.1?}, total {:.1?}", built, start.elapsed());
    let lines = run.lines();
    let status_code = run.code;
    let has = |want: &str| lines.contains(&want);
    assert_eq!(status_code, Some(0), "the VM payload failed (exit code = failed checks)");
    assert!(has("VMTEST-RESULT rc=0"));
    assert!(!lines.iter().any(|l| l.starts_with("FAIL")), "a check failed");
    // The selftest ran twice (a fresh netns, then the root namespace), fully.
    let selftests: Vec<&&str> = lines.iter().filter(|l| l.ends_with(" passed, 0 failed")).collect();
    assert_eq!(selftests.len(), 3, "two selftest summaries and the payload's");
    let summary = format!("{SELFTEST_CHECKS} passed, 0 failed");
    assert!(*selftests[0] == summary && *selftests[1] == summary, "{selftests:?}");
    assert_eq!(*selftests[2], &format!("{PAYLOAD_CHECKS} passed, 0 failed"));
    // What ipvsadm printed of vigil's table, as the payload echoed it.
    for want in [
        "TCP  198.18.0.10:80 wrr",
        "  -> 198.18.1.1:8080              Masq    3      0          0",
        "  -> 198.18.1.2:80                Route   1      0          0",
        "ok   - add IPv6 dest",
        "ok   - add dest to the fwmark service",
        "ok   - deleting it again is ESRCH",
        "service TCP [2001:db8::10]:443 scheduler sh persistence 120 netmask default flags 0x18",
        "  dest 198.18.2.1:5353 Nat weight 2 thresholds 100/10",
    ] {
        assert!(has(want), "console lacks {want:?}");
    }
}
