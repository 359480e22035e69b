//! vigil's processes: a parent that only supervises, and one child per
//! subsystem (VRRP, checker), each running [`event_loop::run`] around a
//! [`Subsystem`].
//!
//! - `supervisor`: the parent. Forks the children the configuration needs,
//!   watches them (SIGCHLD plus a hello every 5 s over a socketpair), restarts
//!   them with keepalived's back-off, validates reloads, relays signals.
//! - `child`: what a forked child does before and after its loop.
//! - `event_loop`: the mio loop around the [`Subsystem`] an engine implements
//!   (the trait lives in `runtime`, below the engines).
//! - `engines`: the one place that says which engine runs in which child.
//! - `settings`: what the daemon is told at start (built by `cli`).
//! - `lifecycle`: `startup_script` and `shutdown_script`, run by the parent.
//! - `upgrade`: `vigil upgrade`, the parent re-executing its binary while
//!   the children hand over.
//! - `reload_schedule` (pure: the file's text and the clock in, the next
//!   reload out) and `reload_monitor` (the file followed in the parent's
//!   loop): `reload_time_file` and `reload_repeat`.
//! - `sched`: a child's scheduling (realtime priority, `max_auto_priority`).
//! - `pidfile`, `signals`, `process`, `log`, `control`, `clients` (the
//!   control and metrics servers' connections), `timer` (a timerfd for
//!   microsecond deadlines), `backoff`: one job each.
//! - `metrics`: the children's status objects in the Prometheus text format
//!   (pure); `metrics_http`: the `metrics_listen` listener in the parent's
//!   loop, and why the parent serves it.
//!
//! Runtime directory: each daemon has its own (see [`RunPaths::for_daemon`]),
//! named after what identifies it on the host (`-s NAME`, `-i ID`, `-p FILE`),
//! as keepalived names its pid files after its namespace and instance. It
//! holds the control sockets `vrrp.ctl`/`checker.ctl`, the validated
//! configuration snapshot, the children's state files and the `daemon.lock`
//! the parent holds for its life. `VIGIL_RUN_DIR` overrides it (tests);
//! `VIGIL_DUMP_DIR` (default `/tmp`) receives the signal dumps;
//! `VIGIL_STABLE_RUN_MS` (tests) shortens the respawn rate limit's minute.

pub mod backoff;
pub mod child;
pub mod clients;
pub mod control;
pub mod engines;
pub mod event_loop;
pub mod lifecycle;
pub mod log;
pub mod metrics;
pub mod metrics_http;
pub mod pidfile;
pub mod process;
pub mod reload_monitor;
pub mod reload_schedule;
pub mod sched;
pub mod settings;
pub mod signals;
pub mod supervisor;
pub mod timer;
pub mod upgrade;

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::runtime::{Lifetime, Subsystem};
pub use settings::Settings;

/// Parent → child on the socketpair; the child answers [`HELLO_ACK`].
pub const HELLO: u8 = b'H';
pub const HELLO_ACK: u8 = b'A';
/// Parent → child: `vigil upgrade` is handing the daemon to a new binary.
/// The child leaves at once as it is (VIPs, IPVS table and state file
/// untouched, no priority-0 advert) for its successor to resume.
pub const HANDOVER: u8 = b'U';

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    Vrrp,
    Checker,
}

impl ChildKind {
    /// Short name: control socket, status output.
    pub fn name(self) -> &'static str {
        match self {
            ChildKind::Vrrp => "vrrp",
            ChildKind::Checker => "checker",
        }
    }

    /// As in keepalived's "VRRP child process(PID) died" log lines.
    pub fn label(self) -> &'static str {
        match self {
            ChildKind::Vrrp => "VRRP",
            ChildKind::Checker => "Healthcheck",
        }
    }

    pub fn ident(self) -> &'static str {
        match self {
            ChildKind::Vrrp => log::IDENT_VRRP,
            ChildKind::Checker => log::IDENT_CHECKER,
        }
    }

    /// keepalived's part of the child's `-g` log file name.
    pub fn log_prog(self) -> &'static str {
        match self {
            ChildKind::Vrrp => "vrrp",
            ChildKind::Checker => "check",
        }
    }

    /// keepalived's file names for the data, stats and JSON dumps.
    pub fn dump_names(self) -> [&'static str; 3] {
        match self {
            ChildKind::Vrrp => ["keepalived.data", "keepalived.stats", "keepalived.json"],
            ChildKind::Checker => {
                ["keepalived_check.data", "keepalived_check.stats", "keepalived_check.json"]
            }
        }
    }
}

/// Which children a configuration needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub vrrp: bool,
    pub checker: bool,
}

/// What a factory gets to build a subsystem in a fresh child.
pub struct ChildStart<'a> {
    pub kind: ChildKind,
    pub settings: &'a Settings,
    pub config: &'a Config,
    /// Where this child may keep state for its successor ([`RunPaths::state_file`]).
    pub state_file: &'a Path,
    /// SHA-256 (hex) of the snapshot this child loaded (see
    /// `failover::ResumeFrom::config_digest`).
    pub config_digest: String,
    /// The child this one replaces, when the parent saw it die: when it
    /// started and when it was reaped. None at the daemon's start.
    pub predecessor: Option<Lifetime>,
}

pub type SubsystemFactory = Box<dyn Fn(&ChildStart) -> Result<Box<dyn Subsystem>, String>>;

/// The engines the daemon runs; see [`engines::engines`] for vigil's own.
pub struct Engines {
    pub needs: Box<dyn Fn(&Config) -> Needs>,
    pub vrrp: SubsystemFactory,
    pub checker: SubsystemFactory,
}

impl Engines {
    pub fn factory(&self, kind: ChildKind) -> &SubsystemFactory {
        match kind {
            ChildKind::Vrrp => &self.vrrp,
            ChildKind::Checker => &self.checker,
        }
    }
}

/// Where the default daemon (no `-s`, `-i` or `-p`) keeps its runtime files.
pub const RUN_BASE: &str = "/run/vigil";

/// A daemon's directories (see the module docs).
#[derive(Clone, Debug)]
pub struct RunPaths {
    pub run_dir: PathBuf,
    pub dump_dir: PathBuf,
    /// Which daemon this is, for messages: "default", or its flags.
    pub identity: String,
}

impl RunPaths {
    /// The paths of the daemon `settings` describe: `/run/vigil` for the default
    /// daemon, else a directory below it named by the namespace (`-s NS`:
    /// `NS`, as before), the config id (`-i ID`: `@ID`) and the main pid file
    /// when it is not the default one (`-p /run/x.pid`: `pid=run%2fx.pid`).
    /// `vigil status` computes the same from the same flags. `VIGIL_RUN_DIR`
    /// wins over all of them.
    pub fn for_daemon(settings: &Settings) -> RunPaths {
        let var = |k: &str| std::env::var_os(k).map(PathBuf::from);
        RunPaths::derive(settings, var("VIGIL_RUN_DIR"), var("VIGIL_DUMP_DIR"))
    }

    /// [`RunPaths::for_daemon`] with the environment's overrides given.
    fn derive(settings: &Settings, run_dir_override: Option<PathBuf>, dump_dir: Option<PathBuf>) -> RunPaths {
        let ns = settings.namespace.as_deref();
        let pid_file = settings
            .pid_file
            .as_deref()
            .map(absolute)
            .filter(|p| *p != pidfile::default_path(pidfile::PARENT, ns));
        let mut run_dir = PathBuf::from(RUN_BASE);
        let mut identity = Vec::new();
        if let Some(ns) = ns {
            run_dir.push(ns);
            identity.push(format!("namespace {ns}"));
        }
        if let Some(id) = &settings.config_id {
            run_dir.push(format!("@{}", escape_name(id)));
            identity.push(format!("config-id {id}"));
        }
        if let Some(p) = &pid_file {
            let s = p.to_string_lossy();
            run_dir.push(format!("pid={}", escape_name(s.trim_start_matches('/'))));
            identity.push(format!("pid file {s}"));
        }
        let identity = if identity.is_empty() { "default".to_string() } else { identity.join(", ") };
        RunPaths {
            run_dir: run_dir_override.unwrap_or(run_dir),
            dump_dir: dump_dir.unwrap_or_else(|| PathBuf::from("/tmp")),
            identity,
        }
    }

    /// The lock the parent holds for its life: a second daemon with the same
    /// identity finds it taken and refuses to start.
    pub fn lock_file(&self) -> PathBuf {
        self.run_dir.join("daemon.lock")
    }

    /// Whether this is a directory of its own below [`RUN_BASE`], which the
    /// daemon removes when it stops (the default one and `VIGIL_RUN_DIR` stay).
    pub fn is_own_subdir(&self) -> bool {
        std::env::var_os("VIGIL_RUN_DIR").is_none() && self.run_dir != Path::new(RUN_BASE)
    }

    pub fn control_socket(&self, kind: ChildKind) -> PathBuf {
        self.run_dir.join(format!("{}.ctl", kind.name()))
    }

    /// The parent's own control socket (`vigil upgrade`).
    pub fn daemon_socket(&self) -> PathBuf {
        self.run_dir.join("daemon.ctl")
    }

    /// The last configuration the parent validated; children load this, so
    /// every child (and every respawn) runs the same bytes.
    pub fn snapshot(&self) -> PathBuf {
        self.run_dir.join("config.snapshot")
    }

    /// What the child of `kind` keeps for a successor (see
    /// `failover::resume`); the daemon's clean stop removes it.
    pub fn state_file(&self, kind: ChildKind) -> PathBuf {
        self.run_dir.join(format!("{}.state", kind.name()))
    }

    pub fn dump_files(&self, kind: ChildKind) -> [PathBuf; 3] {
        kind.dump_names().map(|n| self.dump_dir.join(n))
    }
}

/// `p` made absolute against the working directory, so `-p k.pid` names the
/// same daemon from wherever `vigil status` is run.
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
}

/// One path component that names `s` unambiguously: `%`, `/` and control
/// characters become `%XX`.
fn escape_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '%' || c == '/' || c.is_control() {
            for b in c.to_string().bytes() {
                out.push_str(&format!("%{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Run the daemon with vigil's engines; returns the exit code.
pub fn run(settings: Settings) -> i32 {
    run_with(settings, engines::engines())
}

/// Run the daemon with the given engines (tests and embedders).
pub fn run_with(settings: Settings, engines: Engines) -> i32 {
    supervisor::run(settings, engines)
}

/// `vigil --signum=NAME`: print the signal number for a keepalived name.
pub fn signum_main(name: &str) -> i32 {
    match signals::signum(name) {
        Some(n) => {
            println!("{n}");
            0
        }
        // keepalived's thread dump: vigil has no threads, and no signal for it.
        None if name.eq_ignore_ascii_case("TDATA") => {
            eprintln!("vigil: TDATA (keepalived's thread dump) is not offered: vigil has no threads to dump");
            1
        }
        None => {
            eprintln!("vigil: unknown signal name '{name}' (RELOAD STOP DATA STATS STATS_CLEAR JSON)");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paths of a daemon started with `-s`, `-i`, `-p` as in `args`.
    fn paths(args: &[&str]) -> RunPaths {
        let mut s = Settings::default();
        for pair in args.chunks(2) {
            let value = Some(pair[1].to_string());
            match pair[0] {
                "-s" => s.namespace = value,
                "-i" => s.config_id = value,
                "-p" => s.pid_file = value.map(PathBuf::from),
                other => panic!("{other}"),
            }
        }
        RunPaths::derive(&s, None, None)
    }

    #[test]
    fn each_identity_has_its_own_run_dir() {
        let d = paths(&[]);
        assert_eq!((d.run_dir.as_path(), d.identity.as_str()), (Path::new("/run/vigil"), "default"));
        // The default pid file is the default daemon.
        assert_eq!(paths(&["-p", "/run/keepalived.pid"]).run_dir, Path::new("/run/vigil"));
        assert_eq!(paths(&["-s", "blue"]).run_dir, Path::new("/run/vigil/blue"));
        assert_eq!(
            paths(&["-s", "blue", "-p", "/run/keepalived/blue/keepalived.pid"]).run_dir,
            Path::new("/run/vigil/blue")
        );
        let n1 = paths(&["-i", "node1", "-p", "/run/n1/k.pid"]);
        assert_eq!(n1.run_dir, Path::new("/run/vigil/@node1/pid=run%2fn1%2fk.pid"));
        assert_eq!(n1.identity, "config-id node1, pid file /run/n1/k.pid");
        assert_eq!(paths(&["-i", "a/b%"]).run_dir, Path::new("/run/vigil/@a%2fb%25"));
        let rel = paths(&["-p", "k.pid"]);
        let cwd = std::env::current_dir().unwrap().join("k.pid");
        assert!(rel.identity.ends_with(&*cwd.to_string_lossy()), "{}", rel.identity);
    }
}
