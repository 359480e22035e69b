//! A freshly forked child: shed the parent's descriptors, tie our life to
//! the parent's, lock our pid file, build the subsystem, run the loop.

use std::os::unix::io::{AsRawFd, OwnedFd};
use std::path::Path;

use super::control::ControlServer;
use super::event_loop::{self, LoopSetup};
use super::pidfile::PidFile;
use super::process::{self, Pid};
use super::{ChildKind, ChildStart, Engines, Lifetime, RunPaths, Settings};
use crate::config::{self, Config};

/// Exit codes keepalived's parent treats as "do not respawn, stop".
pub const EXIT_FATAL: i32 = 1;
pub const EXIT_CONFIG: i32 = 2;
pub const EXIT_PERMISSION: i32 = 4;
/// A bug (panic): respawned like a crash.
pub const EXIT_PROGRAM: i32 = 70;
/// Left on the parent's [`super::HANDOVER`]: not a death, the parent is
/// about to exec its new binary.
pub const EXIT_HANDOVER: i32 = 75;

pub struct ChildArgs<'a> {
    pub kind: ChildKind,
    pub settings: &'a Settings,
    pub engines: &'a Engines,
    pub paths: &'a RunPaths,
    pub pid_file: &'a Path,
    /// The child this one replaces, if it died under the parent's eyes.
    pub predecessor: Option<Lifetime>,
    pub channel: OwnedFd,
    pub parent: Pid,
}

/// Runs in the child right after fork, with all signals blocked; never returns.
pub fn main(args: ChildArgs) -> ! {
    super::log::after_fork(args.kind.ident(), args.kind.log_prog());
    process::close_fds_except(&[0, 1, 2, args.channel.as_raw_fd()]);
    // Children stay in the daemon's process group (as keepalived's do), so
    // `kill -- -PGID` from an init system or a test stops them all; scripts
    // get process groups of their own from the script runner.
    if !process::die_with_parent(args.parent) {
        // SAFETY: leaving without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    // A panic must not unwind into the parent's frames still on our stack.
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(args))).unwrap_or(EXIT_PROGRAM);
    // SAFETY: as above.
    unsafe { libc::_exit(code) }
}

fn run(args: ChildArgs) -> i32 {
    let kind = args.kind;
    let pid_file = match PidFile::create(args.pid_file) {
        Ok(p) => p,
        Err(e) => {
            log::error!("{e}");
            return EXIT_FATAL;
        }
    };
    let config = match load_snapshot(args.settings, args.paths) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}");
            return EXIT_CONFIG;
        }
    };
    let mut sched_plan = super::sched::plan(kind, &config);
    super::sched::apply(kind.label(), &sched_plan);
    let auto_priority = super::sched::AutoPriority::from_config(&config.global);
    let state_file = args.paths.state_file(kind);
    let config_digest = match std::fs::read(args.paths.snapshot()) {
        Ok(bytes) => digest_hex(&bytes),
        // Just loaded from it, so hardly ever; an empty digest matches no
        // other child's, so this child and its successor start afresh.
        Err(e) => {
            log::warn!("cannot read {} for its digest: {e}", args.paths.snapshot().display());
            String::new()
        }
    };
    let start = ChildStart {
        kind,
        settings: args.settings,
        config: &config,
        state_file: &state_file,
        config_digest,
        predecessor: args.predecessor,
    };
    let mut sub = match (args.engines.factory(kind))(&start) {
        Ok(s) => s,
        Err(e) => {
            log::error!("{} engine failed to start: {e}", kind.label());
            return EXIT_FATAL;
        }
    };
    drop(config);
    let ctl_path = args.paths.control_socket(kind);
    let control = ControlServer::bind(&ctl_path, super::event_loop::CONTROL_CLIENTS)
        .map_err(|e| log::warn!("control socket {}: {e} - vigil status will not see us", ctl_path.display()))
        .ok();
    let (settings, paths) = (args.settings.clone(), args.paths.clone());
    let setup = LoopSetup {
        name: kind.name(),
        parent: Some((args.channel, args.parent)),
        control,
        dump_files: args.paths.dump_files(kind),
        load_config: Box::new(move || {
            let config = load_snapshot(&settings, &paths)?;
            // A reload that brings sub-second adverts must not wait for a restart to get
            // realtime scheduling. Settings only tighten here: what a reload drops (realtime,
            // no_swap) stays until the child restarts.
            let plan = super::sched::plan(kind, &config);
            if plan != sched_plan {
                super::sched::apply(kind.label(), &plan);
                sched_plan = plan;
            }
            Ok(config)
        }),
        auto_priority,
    };
    let code = match event_loop::run(&mut *sub, setup) {
        Ok(code) => code,
        Err(e) => {
            log::error!("event loop: {e}");
            EXIT_FATAL
        }
    };
    crate::sys::file::remove_own(&ctl_path, "control socket");
    pid_file.remove();
    code
}

/// SHA-256 of `bytes` in hex.
fn digest_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Load the parent's validated snapshot, naming the real file in
/// diagnostics. Included files come from the snapshot too: what runs is
/// exactly what the parent validated.
pub fn load_snapshot(settings: &Settings, paths: &RunPaths) -> Result<Config, String> {
    let snap = paths.snapshot();
    let bytes = std::fs::read(&snap).map_err(|e| format!("cannot read {}: {e}", snap.display()))?;
    let snapshot =
        config::snapshot::Snapshot::decode(&bytes).map_err(|e| format!("{}: {e}", snap.display()))?;
    let loaded = load(settings, |name, base, lo| config::load_snapshot(name, &snapshot, base, lo));
    match loaded.diags.iter().find(|d| d.is_error()) {
        Some(d) => Err(format!("configuration has errors: {d}")),
        None => Ok(loaded.config),
    }
}

/// Parse configuration bytes as if read from `settings.config_file`, and record
/// every file its includes read: the snapshot to hand to the children.
pub fn validate(settings: &Settings, bytes: &[u8]) -> (config::Loaded, config::snapshot::Snapshot) {
    let mut snap = None;
    let loaded = load(settings, |name, base, lo| {
        let (loaded, s) = config::load_recording(name, bytes, base, lo);
        snap = Some(s);
        loaded
    });
    (loaded, snap.unwrap_or_else(|| config::snapshot::Snapshot::new(bytes.to_vec())))
}

/// Run `load` with the name, include base and options `settings` give.
fn load(
    settings: &Settings,
    load: impl FnOnce(&str, &Path, &config::LoadOptions) -> config::Loaded,
) -> config::Loaded {
    let mut lo = config::LoadOptions::default();
    if let Some(id) = &settings.config_id {
        lo.config_id = id.clone();
    }
    let name = settings.config_file.display().to_string();
    let base = settings.config_file.parent().unwrap_or(Path::new("/"));
    let mut loaded = load(&name, base, &lo);
    if settings.all_config {
        loaded.require_includes();
    }
    loaded
}
