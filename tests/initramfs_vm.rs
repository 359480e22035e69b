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

mod common;

use common::vm::{base_image, repo_root, require_vm, static_vigil};
use std::process::Command;
use std::time::Instant;

/// `check` lines in tests/initramfs_vm/run.
const CHECKS: u32 = 10;

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

#[test]
fn busybox_init_respawns_vigil_after_kill_9() {
    require_vm();
    let start = Instant::now();
    let vigil = static_vigil();
    let base = base_image();

    // Our image: the packaging recipe with the test's rc.local, payload and
    // config, on top of tests/vm's image; its kernel beside it.
    let pid = std::process::id();
    let build = repo_root().join(format!("target/vm-busybox-init-{pid}"));
    let overlay = build.join("overlay");
    let payload = repo_root().join("tests/initramfs_vm");
    std::fs::create_dir_all(overlay.join("etc")).unwrap();
    std::fs::create_dir_all(overlay.join("test")).unwrap();
    std::fs::copy(payload.join("rc.local"), overlay.join("etc/rc.local")).unwrap();
    std::fs::copy(payload.join("run"), overlay.join("test/run")).unwrap();
    std::os::unix::fs::symlink(base.join("vmlinux"), build.join("vmlinux")).unwrap();
    run(
        Command::new("sh")
            .arg(repo_root().join("packaging/initramfs/build.sh"))
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
        .arg(repo_root().join("tests/vm/run-vm.sh"))
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
