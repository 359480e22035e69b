//! IPVS for real: this machine's kernel may lack IPVS, so boot a stock
//! Debian kernel under QEMU (tests/vm/) and run `vigil ipvs-selftest` plus
//! an ipvsadm cross-check inside it (tests/vm/payload-ipvs/run).
//!
//! Needs root (apt-get, the image build) and qemu-system-x86_64; it installs
//! qemu through tests/deps.sh and skips, saying why, only if that fails.
//! The first run downloads the kernel .deb (~70 MB) into target/vm; later
//! runs reuse it and take about 20 s.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MUSL: &str = "x86_64-unknown-linux-musl";
/// Checks in payload-ipvs/run; each selftest run is one of them.
const PAYLOAD_CHECKS: u32 = 13;
/// Checks `vigil ipvs-selftest` makes (src/ipvs/selftest.rs).
const SELFTEST_CHECKS: u32 = 38;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().is_ok_and(|o| o.status.success())
}

fn tools_ready() -> bool {
    have("qemu-system-x86_64") && Path::new("/bin/busybox").exists()
}

/// qemu and busybox-static, installed on demand. `Err` says why not.
fn ensure_tools() -> Result<(), String> {
    if tools_ready() {
        return Ok(());
    }
    let out = Command::new("sh")
        .arg(root().join("tests/deps.sh"))
        .arg("qemu")
        .output()
        .map_err(|e| format!("cannot run tests/deps.sh: {e}"))?;
    if tools_ready() {
        Ok(())
    } else {
        Err(format!(
            "tests/deps.sh qemu did not install qemu-system-x86_64 and busybox-static: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A static vigil in its own target dir, with a quicker release profile
/// than the shipped one (no LTO): only the test uses this binary.
fn build_static_vigil() -> PathBuf {
    let target_dir = root().join("target/vm-musl");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root())
        .args(["build", "--release", "--bin", "vigil", "--target", MUSL, "--target-dir"])
        .arg(&target_dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build for {MUSL} failed");
    target_dir.join(MUSL).join("release/vigil")
}

#[test]
fn ipvs_client_against_a_real_kernel() {
    // SAFETY: no arguments, no side effects.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: building the VM image needs root");
        return;
    }
    if let Err(why) = ensure_tools() {
        eprintln!("skipping: {why}");
        return;
    }
    let start = Instant::now();
    let vigil = build_static_vigil();
    let vm = root().join("tests/vm");
    let build = root().join("target/vm");
    let status = Command::new("bash")
        .arg(vm.join("build-initramfs.sh"))
        .arg(&build)
        .status()
        .expect("run build-initramfs.sh");
    assert!(status.success(), "build-initramfs.sh failed");
    let built = start.elapsed();

    let log = build.join(format!("ipvs-vm-{}.log", std::process::id()));
    let status = Command::new("bash")
        .arg(vm.join("run-vm.sh"))
        .args(["--quiet", "--timeout", "240", "--log"])
        .arg(&log)
        .arg("--bin")
        .arg(&vigil)
        .arg("--add")
        .arg(vm.join("payload-ipvs"))
        .arg(&build)
        .status()
        .expect("run run-vm.sh");
    let console = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    eprintln!("{console}");
    eprintln!("build {:.1?}, total {:.1?}", built, start.elapsed());

    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r')).collect();
    let has = |want: &str| lines.contains(&want);
    assert_eq!(status.code(), Some(0), "the VM payload failed (exit code = failed checks)");
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
