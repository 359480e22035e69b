//! `vigil upgrade`: the running daemon re-executes its binary in place.
//!
//! The parent, asked on its control socket (`RunPaths::daemon_socket`):
//! 1. checks the binary at the path it was started from: `-v` must name
//!    vigil and `-t -f CONFIG` must pass. Otherwise it answers why and
//!    nothing changes: the old binary keeps running;
//! 2. sends each child [`super::HANDOVER`]: the child leaves at once and as
//!    it is (VIPs on their interfaces, the IPVS table, the VRRP state file;
//!    no priority-0 advert, no notify);
//! 3. once both are reaped, execs the new binary with the same arguments
//!    and the same pid (so init systems and pid files follow), passing in
//!    [`ENV`] when each child lived. The new parent does not daemonise
//!    again; its VRRP child resumes the masters exactly as after a crash
//!    (`failover::resume`), with an advert at once, well within the
//!    peers' Master_Down interval.
//!
//! Should the exec itself fail, the parent starts its children again, and
//! they resume the same way.
//!
//! The parent blocks while the new binary checks the configuration (at most
//! [`CHECK_TIMEOUT`]): it only supervises, and the children run on.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{ChildKind, Lifetime, RunPaths};
use crate::time::{monotonic_at, monotonic_us};

/// What the old parent passes to the new one across exec.
pub const ENV: &str = "VIGIL_HANDOVER";
/// How long each check of the new binary may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// What the new parent learns from [`ENV`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Handover {
    /// Upgrades of this daemon so far, this one included.
    pub upgrades: u32,
    /// The version that handed over.
    pub from_version: String,
    /// When each child that handed over started and left.
    pub children: Vec<(ChildKind, Lifetime)>,
}

impl Handover {
    /// The [`ENV`] value: `upgrades=N from=VERSION vrrp=START,END ...`, with
    /// CLOCK_MONOTONIC microseconds (the clock of `Instant`, the same
    /// before and after exec).
    pub fn encode(&self) -> String {
        let mut s = format!("upgrades={} from={}", self.upgrades, self.from_version);
        for (kind, life) in &self.children {
            s.push_str(&format!(
                " {}={},{}",
                kind.name(),
                monotonic_us(life.started),
                monotonic_us(life.died)
            ));
        }
        s
    }

    pub fn decode(text: &str) -> Option<Handover> {
        let mut h = Handover::default();
        for word in text.split_whitespace() {
            let (key, value) = word.split_once('=')?;
            match key {
                "upgrades" => h.upgrades = value.parse().ok()?,
                "from" => h.from_version = value.to_string(),
                _ => {
                    let kind = [ChildKind::Vrrp, ChildKind::Checker].into_iter().find(|k| k.name() == key)?;
                    let (a, b) = value.split_once(',')?;
                    let life = Lifetime {
                        started: monotonic_at(a.parse().ok()?),
                        died: monotonic_at(b.parse().ok()?),
                    };
                    h.children.push((kind, life));
                }
            }
        }
        Some(h)
    }

    /// The handover this process was started with, if any; the variable
    /// is removed so that children and scripts never see it.
    pub fn take_from_env() -> Option<Result<Handover, String>> {
        let value = std::env::var(ENV).ok()?;
        std::env::remove_var(ENV);
        Some(Handover::decode(&value).ok_or_else(|| format!("{ENV}: cannot read '{value}'")))
    }

    pub fn lifetime(&self, kind: ChildKind) -> Option<Lifetime> {
        self.children.iter().find(|(k, _)| *k == kind).map(|(_, l)| *l)
    }
}

/// Check the binary at `exe` before handing the daemon to it: its version
/// line, and its verdict on the configuration (`extra` are the flags that
/// change how the configuration reads, e.g. `-i ID`). The version on success.
pub fn check_binary(exe: &Path, config: &Path, extra: &[String]) -> Result<String, String> {
    let version = run_checked(Command::new(exe).arg("-v"), exe)?;
    let line = version.lines().next().unwrap_or("").trim().to_string();
    if !line.starts_with("vigil v") {
        return Err(format!("{} -v says '{line}', not a vigil version", exe.display()));
    }
    run_checked(Command::new(exe).args(extra).arg("-t").arg("-f").arg(config), exe)
        .map_err(|e| format!("{} -t -f {}: {e}", exe.display(), config.display()))?;
    Ok(line)
}

/// Run `cmd` with output captured and [`CHECK_TIMEOUT`]: its stdout if it
/// exits 0, else what it said.
fn run_checked(cmd: &mut Command, exe: &Path) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let deadline = Instant::now() + CHECK_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                // It may have exited since try_wait (kill then fails, wait
                // reaps it); the answer is "no answer" either way.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer in {} s", CHECK_TIMEOUT.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let said = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let tail: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" / ");
    Err(format!("{}{}", out.status, if tail.is_empty() { String::new() } else { format!(": {tail}") }))
}

/// `vigil upgrade`: ask the daemon at `paths` (`cli` finds it from the
/// flags it was started with) to re-execute its binary, and wait until it
/// runs again.
pub fn upgrade(paths: &RunPaths) -> i32 {
    use crate::runtime::Json;
    let socket = paths.daemon_socket();
    let ask = |request: &str, timeout: Duration| -> Result<Json, String> {
        super::control::query_within(&socket, request, timeout)
            .map_err(|e| format!("{}: {e}", socket.display()))
            .and_then(|r| Json::parse(r.trim()).map_err(|e| format!("{}: {e}", socket.display())))
    };
    let before = match ask("status", Duration::from_secs(2)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigil upgrade: no running vigil daemon answers ({e})");
            return 1;
        }
    };
    let count = |s: &Json| s.get("upgrades").and_then(Json::as_i64).unwrap_or(0);
    // The checks of the new binary run before the answer.
    let reply = match ask("upgrade", CHECK_TIMEOUT * 2 + Duration::from_secs(2)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigil upgrade: {e}");
            return 1;
        }
    };
    if let Some(e) = reply.get("error").and_then(Json::as_str) {
        eprintln!("vigil upgrade: refused, the daemon keeps running its binary: {e}");
        return 1;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(now) = ask("status", Duration::from_secs(1)) {
            let children = super::control::gather(paths, Duration::from_secs(1));
            let children_up = !children.is_empty() && children.iter().all(|(_, s)| s.is_ok());
            if count(&now) > count(&before) && children_up {
                println!(
                    "vigil upgrade: daemon {} ({}) now runs {} from {}",
                    now.get("pid").and_then(Json::as_i64).unwrap_or(0),
                    paths.identity,
                    now.get("version").and_then(Json::as_str).unwrap_or("?"),
                    now.get("exe").and_then(Json::as_str).unwrap_or("?"),
                );
                return 0;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("vigil upgrade: the daemon did not come back within 30 s; see its log");
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handover_round_trips_through_the_environment_text() {
        let started = Instant::now() - Duration::from_secs(5);
        let died = Instant::now() - Duration::from_millis(3);
        let h = Handover {
            upgrades: 2,
            from_version: "0.1.0".into(),
            children: vec![(ChildKind::Vrrp, Lifetime { started, died })],
        };
        let back = Handover::decode(&h.encode()).unwrap();
        assert_eq!((back.upgrades, back.from_version.as_str()), (2, "0.1.0"));
        let life = back.lifetime(ChildKind::Vrrp).unwrap();
        // Microsecond precision, and the two clocks read a few µs apart.
        let close = |a: Instant, b: Instant| a.max(b).duration_since(a.min(b)) < Duration::from_millis(1);
        assert!(close(life.started, started) && close(life.died, died), "{life:?}");
        assert_eq!(back.lifetime(ChildKind::Checker), None);
        for bad in ["upgrades=x", "vrrp=1", "bogus=1,2", "word"] {
            assert_eq!(Handover::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_binary_that_is_not_vigil_is_refused_with_what_it_said() {
        let dir = std::env::temp_dir().join(format!("vigil-upgrade-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("fake");
        std::fs::write(&exe, "#!/bin/sh\necho 'segfault in your future' >&2\nexit 3\n").unwrap();
        std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let err = check_binary(&exe, Path::new("/nonexistent.conf"), &[]).unwrap_err();
        assert!(err.contains("segfault in your future") && err.contains('3'), "{err}");
        std::fs::write(&exe, "#!/bin/sh\necho 'Keepalived v2.2.7'\n").unwrap();
        let err = check_binary(&exe, Path::new("/nonexistent.conf"), &[]).unwrap_err();
        assert!(err.contains("not a vigil version"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
