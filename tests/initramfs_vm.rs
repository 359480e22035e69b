//! vigil as a service under busybox init, in a real initramfs: the image
//! from packaging/initramfs/build.sh, layered on tests/vm's (for its Debian
//! kernel and modules), boots under QEMU. The payload (tests/initramfs_vm/run)
//! checks that init started vigil, that it took the VIP, and that after a
//! kill -9 init starts it again: new pid, `vigil status` answers, VIP back.
//!
//! Needs root and qemu-system-x86_64 (installed through tests/deps.sh qemu;
//! skipped, saying why, if that fails). Reuses tests/vm's kernel download
//! in target/vm and ipvs_vm.rs's static build in target/vm-musl. About 30 s
//! once those exist.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MUSL: &str = "x86_64-unknown-linux-musl";
/// `check` lines in tests/initramfs_vm/run.
const CHECKS: u32 = 10;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().is_ok_and(|o| o.status.success())
}

fn tools_ready() -> bool {
    have("qemu-system-x86_64") && Path::new("/bin/busybox").exists()
}

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
        Err(format!("tests/deps.sh qemu failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The same build, directory and flags as tests/ipvs_vm.rs, so the two
/// tests share one static binary (a quick profile: only tests use it).
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

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

#[test]
fn busybox_init_respawns_vigil_after_kill_9() {
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
    let base = root().join("target/vm");
    run(
        Command::new("bash").arg(root().join("tests/vm/build-initramfs.sh")).arg(&base),
        "build-initramfs.sh",
    );

    // Our image: the packaging recipe with the test's rc.local, payload and
    // config, on top of tests/vm's image; its kernel beside it.
    let pid = std::process::id();
    let build = root().join(format!("target/vm-busybox-init-{pid}"));
    let overlay = build.join("overlay");
    let payload = root().join("tests/initramfs_vm");
    std::fs::create_dir_all(overlay.join("etc")).unwrap();
    std::fs::create_dir_all(overlay.join("test")).unwrap();
    std::fs::copy(payload.join("rc.local"), overlay.join("etc/rc.local")).unwrap();
    std::fs::copy(payload.join("run"), overlay.join("test/run")).unwrap();
    std::os::unix::fs::symlink(base.join("vmlinux"), build.join("vmlinux")).unwrap();
    run(
        Command::new("sh")
            .arg(root().join("packaging/initramfs/build.sh"))
            .arg(build.join("initrd.gz"))
            .arg(&vigil)
            .arg(payload.join("keepalived.conf"))
            .env("BASE", base.join("initrd.gz"))
            .env("OVERLAY", &overlay)
            .env("INITTAB_EXTRA", "::once:/test/run"),
        "packaging/initramfs/build.sh",
    );
    let built = start.elapsed();

    let log = build.join("console.log");
    let status = Command::new("bash")
        .arg(root().join("tests/vm/run-vm.sh"))
        .args(["--quiet", "--timeout", "240", "--log"])
        .arg(&log)
        .arg(&build)
        .status()
        .expect("run run-vm.sh");
    let console = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&build);
    eprintln!("{console}");
    eprintln!("build {:.1?}, total {:.1?}", built, start.elapsed());

    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r')).collect();
    let failed: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failed.is_empty(), "checks failed in the VM: {failed:?}");
    assert_eq!(status.code(), Some(0), "the VM payload failed (exit code = failed checks)");
    assert!(lines.contains(&format!("{CHECKS} passed, 0 failed").as_str()), "not every check ran");
    // Two generations of vigil: the pid changed across the kill -9.
    let respawn = lines.iter().find_map(|l| l.strip_prefix("vigil pid ")).expect("no respawn line");
    let (before, after) = respawn.split_once(" -> ").expect("malformed respawn line");
    assert_ne!(before, after, "init did not start a new vigil");
}
