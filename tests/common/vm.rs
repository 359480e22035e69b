//! What the QEMU tests share: the tools they need and the static vigil they
//! put in the guest.

use std::path::{Path, PathBuf};
use std::process::Command;

const MUSL: &str = "x86_64-unknown-linux-musl";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().is_ok_and(|o| o.status.success())
}

fn vm_tools_ready() -> bool {
    have("qemu-system-x86_64") && Path::new("/bin/busybox").exists()
}

/// qemu and busybox-static, installed on demand through tests/deps.sh.
/// `Err` says why they are not there.
pub fn ensure_vm_tools() -> Result<(), String> {
    if vm_tools_ready() {
        return Ok(());
    }
    let out = Command::new("sh")
        .arg(repo_root().join("tests/deps.sh"))
        .arg("qemu")
        .output()
        .map_err(|e| format!("cannot run tests/deps.sh: {e}"))?;
    if vm_tools_ready() {
        Ok(())
    } else {
        Err(format!("tests/deps.sh qemu failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The static vigil for the guest: `VIGIL_STATIC_BIN` (`make test` points it
/// at `make static`'s binary, the one users deploy), or else a quick static
/// build (no LTO) into target/vm-musl that all VM tests share.
pub fn static_vigil() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIL_STATIC_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let target_dir = repo_root().join("target/vm-musl");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(repo_root())
        .args(["build", "--release", "--bin", "vigil", "--target", MUSL, "--target-dir"])
        .arg(&target_dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build --target {MUSL} failed");
    target_dir.join(MUSL).join("release/vigil")
}

/// A VM test can run here: root, and qemu plus busybox-static (installed
/// on demand). CI has them all, so when one is missing the test fails with
/// the reason instead of passing by skipping.
pub fn require_vm() {
    // SAFETY: no arguments, no side effects.
    assert_eq!(unsafe { libc::geteuid() }, 0, "building the VM image needs root");
    if let Err(why) = ensure_vm_tools() {
        panic!("the VM tests cannot run: {why}");
    }
}

/// The Debian kernel and base initramfs, built once into target/vm.
pub fn base_image() -> PathBuf {
    let build = repo_root().join("target/vm");
    let status = Command::new("bash")
        .arg(repo_root().join("tests/vm/build-initramfs.sh"))
        .arg(&build)
        .status()
        .expect("run build-initramfs.sh");
    assert!(status.success(), "build-initramfs.sh failed");
    build
}

/// What a guest run printed and how its payload ended.
pub struct Boot {
    /// The payload's exit code (its number of failed checks).
    pub code: Option<i32>,
    pub console: String,
}

impl Boot {
    /// Console lines without the serial line's carriage returns.
    pub fn lines(&self) -> Vec<&str> {
        self.console.lines().map(|l| l.trim_end_matches('\r')).collect()
    }
}

/// Boot `image` with `vigil` in /usr/local/bin and tests/vm/`payload` as
/// /test, within `timeout_s` seconds.
pub fn boot(image: &Path, vigil: &Path, payload: &str, timeout_s: u32) -> Boot {
    let log = image.join(format!("{payload}-{}.log", std::process::id()));
    let status = Command::new("bash")
        .arg(repo_root().join("tests/vm/run-vm.sh"))
        .args(["--quiet", "--timeout", &timeout_s.to_string(), "--log"])
        .arg(&log)
        .arg("--bin")
        .arg(vigil)
        .arg("--add")
        .arg(repo_root().join("tests/vm").join(payload))
        .arg(image)
        .status()
        .expect("run run-vm.sh");
    let console = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    Boot { code: status.code(), console }
}
