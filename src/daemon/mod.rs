//! vigil's processes: a parent that only supervises, and one child per
//! subsystem (VRRP, checker), each running [`event_loop::run`] around a
//! [`Subsystem`].
//!
//! - `supervisor`: the parent. Forks the children the configuration needs,
//!   watches them (SIGCHLD plus a hello every 5 s over a socketpair), restarts
//!   them with keepalived's back-off, validates reloads, relays signals.
//! - `child`: what a forked child does before and after its loop.
//! - `event_loop`: the mio loop and the [`Subsystem`] trait engines implement.
//! - `engines`: the one place that says which engine runs in which child.
//! - `pidfile`, `signals`, `process`, `log`, `control`, `json`, `backoff`:
//!   one job each.
//! - `metrics`: the children's status objects in the Prometheus text format
//!   (pure); `metrics_http`: the `metrics_listen` listener in the parent's
//!   loop, and why the parent serves it.
//!
//! Environment: `VIGIL_RUN_DIR` (default `/run/vigil`, or `/run/vigil/NAME`
//! under `-s NAME`) holds the control sockets `vrrp.ctl`/`checker.ctl` and
//! the validated configuration snapshot; `VIGIL_DUMP_DIR` (default `/tmp`)
//! receives the signal dumps. Tests set both so parallel daemons do not
//! collide.

pub mod backoff;
pub mod child;
pub mod control;
pub mod engines;
pub mod event_loop;
pub mod json;
pub mod log;
pub mod metrics;
pub mod metrics_http;
pub mod pidfile;
pub mod process;
pub mod sched;
pub mod signals;
pub mod supervisor;
pub mod timer;

use std::path::PathBuf;

use crate::cli::Options;
use crate::config::Config;

pub use event_loop::{Subsystem, TokenAlloc};
pub use json::Json;

/// Parent → child on the socketpair; the child answers [`HELLO_ACK`].
pub const HELLO: u8 = b'H';
pub const HELLO_ACK: u8 = b'A';

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
    pub opts: &'a Options,
    pub config: &'a Config,
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

/// Directories from the environment (see the module docs).
#[derive(Clone, Debug)]
pub struct RunPaths {
    pub run_dir: PathBuf,
    pub dump_dir: PathBuf,
}

impl RunPaths {
    /// The paths of the daemon for network namespace `namespace` (`-s`), or
    /// of the host's. `VIGIL_RUN_DIR` wins over both.
    pub fn from_env(namespace: Option<&str>) -> RunPaths {
        let var = |k: &str| std::env::var_os(k).map(PathBuf::from);
        let run_dir = var("VIGIL_RUN_DIR").unwrap_or_else(|| {
            let base = PathBuf::from("/run/vigil");
            match namespace {
                Some(ns) => base.join(ns),
                None => base,
            }
        });
        RunPaths { run_dir, dump_dir: var("VIGIL_DUMP_DIR").unwrap_or_else(|| PathBuf::from("/tmp")) }
    }

    pub fn control_socket(&self, kind: ChildKind) -> PathBuf {
        self.run_dir.join(format!("{}.ctl", kind.name()))
    }

    /// The last configuration the parent validated; children load this, so
    /// every child (and every respawn) runs the same bytes.
    pub fn snapshot(&self) -> PathBuf {
        self.run_dir.join("config.snapshot")
    }

    pub fn dump_files(&self, kind: ChildKind) -> [PathBuf; 3] {
        kind.dump_names().map(|n| self.dump_dir.join(n))
    }
}

/// Run the daemon with vigil's engines; returns the exit code.
pub fn run(opts: Options) -> i32 {
    run_with(opts, engines::engines())
}

/// Run the daemon with the given engines (tests and embedders).
pub fn run_with(opts: Options, engines: Engines) -> i32 {
    supervisor::run(opts, engines)
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
