//! The parent process: supervise, relay, validate; never run an engine.
//!
//! Watchdog: every [`HELLO_INTERVAL`] the parent sends a hello on each
//! child's socketpair and the child's loop answers. A child that leaves
//! [`MISSED_HELLOS`] hellos unanswered (stopped, or stuck in a busy loop) is
//! SIGKILLed with its process group; SIGCHLD then reports it like any other
//! death. A new child is forked only after the old one is reaped, so a
//! stopped child that is continued later can never run next to its
//! successor. Deaths are restarted with keepalived's [`Backoff`].
//!
//! Reload (SIGHUP): the parent reads the file once, validates it, and only
//! if it has no errors writes the bytes to the snapshot the children load
//! (see [`RunPaths::snapshot`]) and signals them. The snapshot holds every
//! included file as read during validation (`config::snapshot`), so the
//! children never read an include the parent did not validate.
//!
//! `reload_time_file`: a [`ReloadMonitor`] follows the file and its time
//! is one more deadline of the loop; when it comes the parent reloads
//! exactly as on SIGHUP. Every reload stops the monitor and starts a new
//! one from the configuration then running, so a reload that changes or
//! drops `reload_time_file` re-arms or cancels it.
//!
//! Metrics (`metrics_listen`): the parent serves them, asking the children
//! over their control sockets; why here and not in a child is in
//! [`super::metrics_http`].

use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::io::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::backoff::Backoff;
use super::child::{self, ChildArgs, EXIT_CONFIG, EXIT_FATAL, EXIT_PERMISSION};
use super::control::ControlServer;
use super::lifecycle::{self, Phase};
use super::log::LogConfig;
use super::metrics::{self, ParentView};
use super::metrics_http::MetricsServer;
use super::pidfile::{self, PidFile};
use super::process::{self, Exit, Fork, Pid};
use super::reload_monitor::ReloadMonitor;
use super::signals::{self, SignalPipe};
use super::upgrade::{self, Handover};
use super::{ChildKind, Engines, Lifetime, Needs, RunPaths, Settings, HELLO, HELLO_ACK};
use crate::config::model::GlobalDefs;
use crate::config::{Config, Diagnostic};
use crate::runtime::{self, Json, VERSION};
use crate::script::Output;
use crate::sys::file::{self, write_private};

pub const HELLO_INTERVAL: Duration = Duration::from_secs(5);
pub const MISSED_HELLOS: u32 = 2;
/// keepalived's `child_wait_time`: how long stopping children may take.
pub const CHILD_WAIT: Duration = Duration::from_secs(5);
/// keepalived's exit code for a missing configuration.
pub const EXIT_NO_CONFIG: i32 = 6;

const SIGNALS: Token = Token(0);
/// The metrics listener and its clients: far above the children's tokens
/// (one per child kind, counting from 1).
const METRICS_LISTENER: Token = Token(1 << 20);
const METRICS_CLIENTS: usize = (1 << 20) + 1;
/// `daemon.ctl` and its clients (`vigil upgrade`).
const CONTROL_LISTENER: Token = Token(1 << 21);
const CONTROL_CLIENTS: usize = (1 << 21) + 1;
/// The `reload_time_file` watch.
const RELOAD_TIME: Token = Token(1 << 22);
/// How long a scrape waits for each read or write on a child's control
/// socket; a stopped child costs the parent this much per scrape, no more.
pub const SCRAPE_TIMEOUT: Duration = Duration::from_millis(500);
/// Scrapes closer together than this get the previous answer, so however
/// often scrapers ask, a child answers at most 4 status requests a second.
pub const SCRAPE_REUSE: Duration = Duration::from_millis(250);

struct Running {
    pid: Pid,
    channel: OwnedFd,
    started: Instant,
    next_hello: Instant,
    unanswered: u32,
    /// Killed by the watchdog; waiting for the reap.
    killed: bool,
}

struct Slot {
    kind: ChildKind,
    token: Token,
    pid_file: PathBuf,
    backoff: Backoff,
    run: Option<Running>,
    respawn_at: Option<Instant>,
    /// No longer in the configuration: stop it and do not respawn.
    retiring: bool,
    /// Deaths followed by a restart, for the metrics.
    restarts: u64,
    /// The last child that died (not stopped by us), for its successor.
    died: Option<Lifetime>,
}

struct Stopping {
    deadline: Instant,
    forced: bool,
}

struct Supervisor {
    settings: Settings,
    engines: Engines,
    paths: RunPaths,
    me: Pid,
    poll: Poll,
    signals: SignalPipe,
    slots: Vec<Slot>,
    next_token: usize,
    stopping: Option<Stopping>,
    exit_code: i32,
    metrics: Option<MetricsServer>,
    /// `daemon.ctl`: `vigil upgrade` asks here.
    control: Option<ControlServer>,
    /// The binary this daemon was started from, which `vigil upgrade` runs.
    exe: PathBuf,
    /// What the daemon this one replaced in place handed over, until the
    /// children it describes are started.
    handover: Option<Handover>,
    upgrades: u32,
    /// Children told to hand over; exec once they are all gone.
    upgrading: Option<Instant>,
    /// The running configuration's globals: its `shutdown_script`.
    global: GlobalDefs,
    /// `reload_time_file` of the running configuration.
    reload_monitor: Option<ReloadMonitor>,
    /// The last metrics text and when it was gathered (see [`SCRAPE_REUSE`]).
    /// A cell: the scrape runs while the listener borrows the loop's registry.
    last_scrape: std::cell::RefCell<Option<(Instant, String)>>,
}

/// The parent's whole life: returns the exit code.
pub fn run(settings: Settings, engines: Engines) -> i32 {
    // Before anything reads the environment or forks: `vigil upgrade`'s exec.
    let handover = Handover::take_from_env();
    let exe = std::env::current_exe()
        .unwrap_or_else(|_| PathBuf::from(std::env::args_os().next().unwrap_or_default()));
    // -u: before any file (the log file first) is created.
    if let Some(mask) = settings.umask {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(mask as libc::mode_t) };
    }
    // -s: before any socket is opened, and before the children are forked.
    let netns = settings.namespace.as_deref().map(|ns| (ns, process::enter_netns(ns)));
    match LogConfig::from_settings(&settings) {
        Ok(cfg) => super::log::init(cfg),
        Err(e) => {
            eprintln!("vigil: {e}");
            return EXIT_FATAL;
        }
    }
    log::info!("Starting Keepalived v{VERSION} (vigil)");
    log::info!("Command line: '{}'", std::env::args().collect::<Vec<_>>().join(" "));
    let fatal = |msg: String| {
        log::error!("{msg}");
        if !settings.log_console {
            eprintln!("vigil: {msg}");
        }
    };
    for w in &settings.warnings {
        log::warn!("{w}");
    }
    match netns {
        Some((ns, Ok(()))) => {
            log::info!("Running in network namespace {ns}");
            log::info!(
                "Changing syslog ident to {}",
                super::log::ident_for(super::log::IDENT_PARENT, Some(ns))
            );
        }
        Some((ns, Err(e))) => {
            fatal(format!("Unable to set network namespace {ns} - exiting: {e}"));
            return EXIT_FATAL;
        }
        None => {}
    }
    if settings.ignore_sigint {
        signals::ignore_sigint();
    }
    if settings.core_dump {
        if let Err(e) = process::unlimit_core() {
            log::warn!("Failed to set core file size: {e}");
        }
    }
    log::info!("Opening file '{}'.", settings.config_file.display());
    let bytes = match crate::config::file::read_config(&settings.config_file) {
        Ok(b) => b,
        Err(e) => {
            fatal(format!("cannot read configuration {}: {e}", settings.config_file.display()));
            return EXIT_NO_CONFIG;
        }
    };
    let (loaded, snapshot) = child::validate(&settings, &bytes);
    log_diags(&loaded.diags);
    if settings.dump_conf {
        // keepalived's -d: the configuration as it will run, at start.
        for line in crate::config::dump::dump(&loaded.config).lines() {
            log::info!("{line}");
        }
    }
    // keepalived starts despite configuration errors, and so does vigil,
    // except when a checker cannot run at all (SSL_GET without TLS): its
    // real server would be judged by nothing. `-P` runs no checkers.
    if let Some(d) = loaded.diags.iter().find(|d| d.is_unrunnable() && !settings.vrrp_only) {
        fatal(format!("configuration needs what this build lacks: {d}"));
        return EXIT_CONFIG;
    }
    let namespace = settings.namespace.clone();
    let ns = namespace.as_deref();
    let paths = RunPaths::for_daemon(&settings);
    if let Err(e) = private_dir(&paths.run_dir) {
        fatal(format!("runtime directory {}: {e}", paths.run_dir.display()));
        return EXIT_FATAL;
    }
    // Held for the parent's life (fork shares it; the children close it), so
    // the kernel, not a pid in a file, says whether this daemon runs.
    let run_lock = match PidFile::lock(&paths.lock_file()) {
        Ok(l) => l,
        Err(pidfile::PidFileError::AlreadyRunning(p)) => {
            fatal(format!(
                "another vigil daemon ({}) is already running with runtime directory {} (it holds {}) - not starting; \
                 give this one its own -s, -i or -p",
                paths.identity,
                paths.run_dir.display(),
                p.display()
            ));
            return EXIT_FATAL;
        }
        Err(e) => {
            fatal(e.to_string());
            return EXIT_FATAL;
        }
    };
    log::info!("Runtime directory {} (daemon: {})", paths.run_dir.display(), paths.identity);
    // The namespace's own pid directory, /run/keepalived/NAME, as keepalived makes it.
    let pid_dir = ns.map(|ns| Path::new(pidfile::NAMESPACE_DIR).join(ns));
    let defaults_used = settings.pid_file.is_none()
        || settings.vrrp_pid_file.is_none()
        || settings.checkers_pid_file.is_none();
    let own_pid_dir = pid_dir.as_ref().filter(|_| defaults_used);
    if let Some(dir) = own_pid_dir {
        if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o755).create(dir) {
            fatal(format!("cannot create {}: {e}", dir.display()));
            return EXIT_FATAL;
        }
    }
    let pid_path = settings.pid_file.clone().unwrap_or_else(|| pidfile::default_path(pidfile::PARENT, ns));
    // Lock before daemonising: "daemon is already running" reaches the
    // terminal, and the lock lives on in the daemon because fork shares the
    // open file.
    let mut pid_file = match PidFile::lock(&pid_path) {
        Ok(p) => p,
        Err(e) => {
            fatal(e.to_string());
            return EXIT_FATAL;
        }
    };
    let handover = match handover {
        Some(Ok(h)) => {
            log::info!(
                "Upgraded in place: vigil v{VERSION} continues daemon pid {} (was v{}), from {}",
                std::process::id(),
                h.from_version,
                exe.display()
            );
            Some(h)
        }
        Some(Err(e)) => {
            log::warn!("{e} - starting the children afresh");
            None
        }
        None => None,
    };
    // An upgraded daemon is already one, with the pid init knows.
    if !settings.dont_fork && handover.is_none() {
        if let Err(e) = process::daemonize(settings.log_console) {
            log::error!("cannot daemonise: {e}");
            return EXIT_FATAL;
        }
    }
    if let Err(e) = pid_file.write_pid(std::process::id()) {
        log::error!("pid file {}: {e}", pid_path.display());
        return EXIT_FATAL;
    }
    let mut run_lock = run_lock;
    if let Err(e) = run_lock.write_pid(std::process::id()) {
        log::warn!("{}: {e}", paths.lock_file().display());
    }
    // Only the configuration goes on (and `Supervisor::keep_of` keeps little of it):
    // the text, the findings and the snapshot are freed before any child is forked.
    let config = loaded.config;
    let encoded = snapshot.encode();
    drop((bytes, loaded.diags, snapshot));
    let code = match Supervisor::new(settings, engines, paths.clone(), exe, handover) {
        Ok(mut s) => match write_private(&paths.snapshot(), &encoded) {
            Ok(()) => {
                drop(encoded);
                s.run(config)
            }
            Err(e) => {
                log::error!("cannot write {}: {e}", paths.snapshot().display());
                EXIT_FATAL
            }
        },
        Err(e) => {
            log::error!("cannot start: {e}");
            EXIT_FATAL
        }
    };
    file::remove_own(&paths.snapshot(), "configuration snapshot");
    // A later start is a normal start: no child resumes what this daemon ran.
    for kind in [ChildKind::Vrrp, ChildKind::Checker] {
        file::remove_own(&paths.state_file(kind), "state file");
    }
    pid_file.remove();
    run_lock.remove();
    // A namespace's pid directory goes with its daemon; it fails, rightly,
    // while anything else is in it.
    if let Some(dir) = own_pid_dir {
        let _ = std::fs::remove_dir(dir);
    }
    if paths.is_own_subdir() {
        // Our directory, and the parents made for it, if nothing else is in them.
        let mut dir = Some(paths.run_dir.as_path());
        while let Some(d) = dir.filter(|d| *d != Path::new(super::RUN_BASE)) {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    log::info!("Stopped Keepalived v{VERSION} (vigil)");
    code
}

impl Supervisor {
    fn new(
        settings: Settings,
        engines: Engines,
        paths: RunPaths,
        exe: PathBuf,
        handover: Option<Handover>,
    ) -> io::Result<Supervisor> {
        let poll = Poll::new()?;
        let signals = SignalPipe::install(&signals::handled())?;
        poll.registry().register(&mut SourceFd(&signals.fd()), SIGNALS, Interest::READABLE)?;
        let control = match ControlServer::bind(&paths.daemon_socket(), CONTROL_CLIENTS) {
            Ok(mut c) => {
                poll.registry().register(c.source(), CONTROL_LISTENER, Interest::READABLE)?;
                Some(c)
            }
            Err(e) => {
                log::warn!(
                    "control socket {}: {e} - vigil upgrade will not reach us",
                    paths.daemon_socket().display()
                );
                None
            }
        };
        Ok(Supervisor {
            settings,
            engines,
            paths,
            me: process::getpid(),
            poll,
            signals,
            slots: Vec::new(),
            next_token: 1,
            stopping: None,
            exit_code: 0,
            metrics: None,
            control,
            exe,
            upgrades: handover.as_ref().map_or(0, |h| h.upgrades),
            handover,
            upgrading: None,
            global: GlobalDefs::default(),
            reload_monitor: None,
            last_scrape: Default::default(),
        })
    }

    fn run(&mut self, config: Config) -> i32 {
        // What the parent keeps of the configuration; the rest is freed
        // before any child is forked (see `keep_of`).
        let (needs, metrics_listen) = self.keep_of(config);
        // A daemon that took over from `vigil upgrade` is not starting.
        let mut reload_at_start = false;
        if self.handover.is_none() && Phase::Startup.script(&self.global).is_some() {
            lifecycle::run(Phase::Startup, &self.global, Output::Null);
            // What came while the script ran: a stop means no child starts
            // (none would only come up to go down); a reload is done once
            // they run. SIGCHLD was the script's, dumps have no child to go to.
            for sig in self.signals.drain() {
                match sig {
                    libc::SIGTERM | libc::SIGINT => self.begin_stop(Instant::now()),
                    libc::SIGHUP => reload_at_start = true,
                    _ => {}
                }
            }
        }
        let now = Instant::now();
        if self.stopping.is_none() {
            self.apply_needs(needs, now);
            if self.slots.is_empty() {
                log::warn!("No VRRP instances or virtual servers configured for this run - nothing to start");
            }
        }
        self.apply_metrics(metrics_listen);
        if reload_at_start {
            self.reload(now);
        } else if self.stopping.is_none() {
            self.restart_reload_monitor(now);
        }
        let mut events = Events::with_capacity(16);
        loop {
            if self.stopping.is_some() && self.slots.iter().all(|s| s.run.is_none()) {
                lifecycle::run(Phase::Shutdown, &self.global, Output::Null);
                break;
            }
            let timeout = self.next_deadline().map(|t| t.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("poll: {e}");
                    return EXIT_FATAL;
                }
            }
            let now = Instant::now();
            for ev in events.iter() {
                if ev.token() == SIGNALS {
                    for sig in self.signals.drain() {
                        self.on_signal(sig, now);
                    }
                } else if ev.token() == RELOAD_TIME {
                    if let Some(m) = &mut self.reload_monitor {
                        if !m.on_events(now) {
                            self.stop_reload_monitor(false);
                        }
                    }
                } else if let Some(slot) = self.slots.iter_mut().find(|s| s.token == ev.token()) {
                    read_acks(slot);
                } else if ev.token() == CONTROL_LISTENER
                    || self.control.as_ref().is_some_and(|c| c.owns(ev.token()))
                {
                    self.on_control_event(ev.token(), now);
                } else {
                    self.on_metrics_event(ev.token(), now);
                }
            }
            self.on_timers(Instant::now());
            if let Some(m) = &mut self.metrics {
                m.expire(self.poll.registry(), Instant::now());
            }
            if let Some(c) = &mut self.control {
                c.expire(self.poll.registry(), Instant::now());
            }
            if self.upgrading.is_some()
                && self.stopping.is_none()
                && self.slots.iter().all(|s| s.run.is_none())
            {
                self.exec_upgrade(Instant::now());
            }
        }
        self.stop_reload_monitor(false);
        if let Some(c) = self.control.take() {
            file::remove_own(c.path(), "control socket");
        }
        if let Some(m) = self.metrics.take() {
            m.close_all(self.poll.registry());
        }
        self.cleanup_child_pid_files();
        self.exit_code
    }

    fn next_deadline(&self) -> Option<Instant> {
        let hellos =
            self.slots.iter().filter_map(|s| s.run.as_ref().filter(|r| !r.killed).map(|r| r.next_hello));
        let respawns = self.slots.iter().filter_map(|s| s.respawn_at);
        let stop = self.stopping.as_ref().filter(|s| !s.forced).map(|s| s.deadline);
        let scrapers = self.metrics.as_ref().and_then(MetricsServer::next_deadline);
        let control = self.control.as_ref().and_then(ControlServer::next_deadline);
        let upgrade =
            self.upgrading.filter(|_| self.slots.iter().any(|s| s.run.as_ref().is_some_and(|r| !r.killed)));
        let reload = self.reload_monitor.as_ref().and_then(ReloadMonitor::deadline);
        hellos.chain(respawns).chain(stop).chain(scrapers).chain(control).chain(upgrade).chain(reload).min()
    }

    /// Listen on `metrics_listen`, or stop listening, or move, as the
    /// configuration says. A bind error is logged and the daemon runs on
    /// without metrics (the next reload tries again).
    fn apply_metrics(&mut self, wanted: Option<SocketAddr>) {
        if self.metrics.as_ref().map(MetricsServer::addr) == wanted {
            return;
        }
        if let Some(old) = self.metrics.take() {
            log::info!("Metrics: no longer listening on {}", old.addr());
            old.close_all(self.poll.registry());
        }
        let Some(addr) = wanted else { return };
        match MetricsServer::bind(addr, self.poll.registry(), METRICS_LISTENER, METRICS_CLIENTS) {
            Ok(m) => {
                log::info!("Metrics: serving http://{addr}/metrics");
                self.metrics = Some(m);
            }
            Err(e) => log::error!("metrics_listen {addr}: cannot listen: {e} - running without metrics"),
        }
    }

    /// A scraper connected or its socket is ready.
    fn on_metrics_event(&mut self, token: Token, now: Instant) {
        let Some(mut m) = self.metrics.take() else { return };
        if m.is_listener(token) {
            m.accept(self.poll.registry(), now);
        } else if m.owns(token) {
            m.ready(self.poll.registry(), token, || self.scrape(now));
        }
        self.metrics = Some(m);
    }

    /// The metrics text: the children's status over their control sockets
    /// (as `vigil status` gathers it), plus what only the parent knows.
    fn scrape(&self, now: Instant) -> String {
        if let Some((at, text)) = &*self.last_scrape.borrow() {
            if now.saturating_duration_since(*at) < SCRAPE_REUSE {
                return text.clone();
            }
        }
        let children: Vec<_> = super::control::gather(&self.paths, SCRAPE_TIMEOUT)
            .into_iter()
            .map(|(kind, status)| (kind.name().to_string(), status))
            .collect();
        let restarts = self.slots.iter().map(|s| (s.kind.name().to_string(), s.restarts)).collect();
        let text = metrics::render(&children, Some(&ParentView { restarts }));
        *self.last_scrape.borrow_mut() = Some((now, text.clone()));
        text
    }

    fn on_signal(&mut self, sig: libc::c_int, now: Instant) {
        match sig {
            libc::SIGTERM | libc::SIGINT => self.begin_stop(now),
            libc::SIGHUP => self.reload(now),
            libc::SIGCHLD => {
                for (pid, exit) in process::reap() {
                    self.on_exit(pid, exit, now);
                }
            }
            // Dump requests are the children's business.
            _ => {
                for r in self.slots.iter().filter_map(|s| s.run.as_ref()) {
                    process::kill(r.pid, sig);
                }
            }
        }
    }

    /// `vigil upgrade` (or its status query) on `daemon.ctl`.
    fn on_control_event(&mut self, token: Token, now: Instant) {
        let Some(mut c) = self.control.take() else { return };
        if token == CONTROL_LISTENER {
            c.accept(self.poll.registry(), now);
        } else {
            let mut upgrade = false;
            c.ready(self.poll.registry(), token, |request| match request {
                "status" => self.daemon_status().to_string(),
                "upgrade" => match self.check_upgrade() {
                    Ok(version) => {
                        upgrade = true;
                        Json::obj([
                            ("upgrading", Json::from(self.exe.display().to_string())),
                            ("to", Json::from(version)),
                        ])
                        .to_string()
                    }
                    Err(e) => Json::obj([("error", Json::from(e))]).to_string(),
                },
                other => Json::obj([("error", Json::from(format!("unknown request '{other}'")))]).to_string(),
            });
            if upgrade {
                self.begin_handover(now);
            }
        }
        self.control = Some(c);
    }

    fn daemon_status(&self) -> Json {
        Json::obj([
            ("pid", Json::from(std::process::id())),
            ("version", Json::from(VERSION)),
            ("exe", Json::from(self.exe.display().to_string())),
            ("upgrades", Json::from(self.upgrades)),
        ])
    }

    /// Whether the binary at our path may take over; logged either way.
    fn check_upgrade(&self) -> Result<String, String> {
        if self.stopping.is_some() || self.upgrading.is_some() {
            return Err("the daemon is stopping or already upgrading".into());
        }
        let mut extra = Vec::new();
        if let Some(id) = &self.settings.config_id {
            extra.push(format!("--config-id={id}"));
        }
        log::info!("Upgrade requested: checking {}", self.exe.display());
        match upgrade::check_binary(&self.exe, &self.settings.config_file, &extra) {
            Ok(v) => Ok(v),
            Err(e) => {
                log::error!("Upgrade refused - keeping the running binary: {e}");
                Err(e)
            }
        }
    }

    /// Tell every child to hand over; [`Self::exec_upgrade`] runs once they are gone.
    fn begin_handover(&mut self, now: Instant) {
        log::info!("Upgrade: handing over to {}", self.exe.display());
        self.upgrading = Some(now + CHILD_WAIT);
        for s in &mut self.slots {
            s.respawn_at = None;
            if let Some(r) = &s.run {
                let byte = [super::HANDOVER];
                // SAFETY: byte is valid for one byte.
                unsafe {
                    libc::send(
                        r.channel.as_raw_fd(),
                        byte.as_ptr().cast(),
                        1,
                        libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                    )
                };
            }
        }
    }

    /// Replace this process with the new binary; returns only if exec
    /// failed, after starting the children again.
    fn exec_upgrade(&mut self, now: Instant) {
        use std::os::unix::process::CommandExt;
        self.upgrading = None;
        let handover = Handover {
            upgrades: self.upgrades + 1,
            from_version: VERSION.to_string(),
            children: self.slots.iter().filter_map(|s| s.died.map(|l| (s.kind, l))).collect(),
        };
        // Closed by exec anyway; gone now so that a failed exec can bind again.
        drop(self.control.take());
        log::info!("Upgrade: exec {}", self.exe.display());
        // exec keeps the signal mask and resets the handlers.
        signals::restore_mask(&signals::empty_set());
        let err = std::process::Command::new(&self.exe)
            .args(std::env::args_os().skip(1))
            .env(upgrade::ENV, handover.encode())
            .exec();
        log::error!(
            "Upgrade: exec {} failed: {err} - the children start again on this binary",
            self.exe.display()
        );
        match ControlServer::bind(&self.paths.daemon_socket(), CONTROL_CLIENTS) {
            Ok(mut c) => {
                if self.poll.registry().register(c.source(), CONTROL_LISTENER, Interest::READABLE).is_ok() {
                    self.control = Some(c);
                }
            }
            Err(e) => log::warn!("control socket {}: {e}", self.paths.daemon_socket().display()),
        }
        for i in 0..self.slots.len() {
            self.spawn(i, now);
        }
    }

    fn on_timers(&mut self, now: Instant) {
        if self.upgrading.is_some_and(|d| now >= d) {
            for s in &mut self.slots {
                if let Some(r) = s.run.as_mut().filter(|r| !r.killed) {
                    log::warn!("{} child process({}) did not hand over - killing it", s.kind.label(), r.pid);
                    process::kill(r.pid, libc::SIGKILL);
                    r.killed = true;
                }
            }
        }
        if let Some(stop) = &mut self.stopping {
            if !stop.forced && now >= stop.deadline {
                stop.forced = true;
                for s in &self.slots {
                    if let Some(r) = &s.run {
                        log::warn!(
                            "{} child process({}) failed to die - forcing termination",
                            s.kind.label(),
                            r.pid
                        );
                        process::kill(r.pid, libc::SIGKILL);
                    }
                }
            }
            return;
        }
        if self.reload_monitor.as_mut().is_some_and(|m| m.take_due(now)) {
            self.reload(now);
        }
        for i in 0..self.slots.len() {
            let slot = &mut self.slots[i];
            if slot.respawn_at.is_some_and(|t| now >= t) {
                slot.respawn_at = None;
                self.spawn(i, now);
                continue;
            }
            let Some(r) = &mut slot.run else { continue };
            if r.killed || now < r.next_hello {
                continue;
            }
            if r.unanswered >= MISSED_HELLOS {
                log::warn!(
                    "{} child process({}) did not answer {} hellos - killing it",
                    slot.kind.label(),
                    r.pid,
                    r.unanswered
                );
                process::kill(r.pid, libc::SIGKILL);
                r.killed = true;
                continue;
            }
            let hello = [HELLO];
            // SAFETY: hello is valid for one byte. A full socket buffer
            // counts as a missed answer.
            unsafe {
                libc::send(
                    r.channel.as_raw_fd(),
                    hello.as_ptr().cast(),
                    1,
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            r.unanswered += 1;
            r.next_hello = now + HELLO_INTERVAL;
        }
    }

    fn on_exit(&mut self, pid: Pid, exit: Exit, now: Instant) {
        let Some(i) = self.slots.iter().position(|s| s.run.as_ref().is_some_and(|r| r.pid == pid)) else {
            return;
        };
        let slot = &mut self.slots[i];
        let Some(run) = slot.run.take() else { return };
        let label = slot.kind.label();
        runtime::deregister(self.poll.registry(), &mut SourceFd(&run.channel.as_raw_fd()));
        drop(run.channel);
        if self.upgrading.is_some() && self.stopping.is_none() {
            log::info!("{label} child process({pid}) handed over ({exit})");
            slot.died = Some(Lifetime { started: run.started, died: now });
            return;
        }
        if self.stopping.is_some() || slot.retiring {
            log::info!("{label} child process({pid}) exited ({exit})");
            if slot.retiring {
                self.slots.remove(i);
            }
            return;
        }
        if let Exit::Code(code @ (EXIT_FATAL | EXIT_CONFIG | EXIT_PERMISSION)) = exit {
            log::error!("{label} child process({pid}) exited with fatal error code {code} - stopping");
            self.exit_code = code;
            self.begin_stop(now);
            return;
        }
        if self.settings.dont_respawn {
            log::error!("{label} child process({pid}) died ({exit}): Exiting");
            self.exit_code = EXIT_FATAL;
            self.begin_stop(now);
            return;
        }
        log::warn!("{label} child process({pid}) died: Respawning");
        slot.restarts += 1;
        slot.died = Some(Lifetime { started: run.started, died: now });
        let delay = slot.backoff.on_death(now.saturating_duration_since(run.started));
        if delay.is_zero() {
            self.spawn(i, now);
        } else {
            log::warn!(
                "Restart of {label} process delayed {} seconds to limit respawn rate",
                delay.as_secs()
            );
            slot.respawn_at = Some(now + delay);
        }
    }

    fn begin_stop(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        log::info!("Stopping");
        self.stopping = Some(Stopping { deadline: now + CHILD_WAIT, forced: false });
        for s in &mut self.slots {
            s.respawn_at = None;
            if let Some(r) = &s.run {
                process::kill(r.pid, libc::SIGTERM);
            }
        }
    }

    /// SIGHUP, or the time `reload_time_file` gave: reload the
    /// configuration, then follow the `reload_time_file` it has.
    fn reload(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        self.reload_config(now);
        self.restart_reload_monitor(now);
    }

    /// A new [`ReloadMonitor`] for the running configuration's
    /// `reload_time_file`; the old one is stopped first, its pending reload
    /// dropped quietly if the new one follows the same file (which is read
    /// afresh), and said to be cancelled if not.
    fn restart_reload_monitor(&mut self, now: Instant) {
        let wanted = self.global.reload_time_file.clone();
        let same = self.reload_monitor.as_ref().map(|m| m.path().to_path_buf())
            == wanted.as_ref().map(PathBuf::from);
        self.stop_reload_monitor(!same);
        if let Some(path) = wanted {
            let repeat = self.global.reload_repeat;
            self.reload_monitor = ReloadMonitor::start(&path, repeat, self.poll.registry(), RELOAD_TIME, now);
        }
    }

    fn stop_reload_monitor(&mut self, log: bool) {
        if let Some(m) = self.reload_monitor.take() {
            m.stop(self.poll.registry(), log);
        }
    }

    fn reload_config(&mut self, now: Instant) {
        log::info!("Reloading ...");
        let path = self.settings.config_file.clone();
        // `reload_file`: others can see that a reload is reading the configuration.
        let reload_file = self.global.reload_file.clone();
        if let Some(f) = &reload_file {
            create_reload_file(f);
        }
        let loaded = match crate::config::file::read_config(&path) {
            Ok(bytes) => {
                let (loaded, snapshot) = child::validate(&self.settings, &bytes);
                log_diags(&loaded.diags);
                if let Some(log) = &self.global.reload_check_config {
                    write_check_report(log, &loaded.diags);
                }
                if loaded.has_errors() {
                    if let Some(log) = &self.global.reload_check_config {
                        log::info!("New config failed validation, see {log} for details");
                    }
                    None
                } else if let Err(e) = write_private(&self.paths.snapshot(), &snapshot.encode()) {
                    log::error!("cannot write {}: {e}", self.paths.snapshot().display());
                    None
                } else {
                    Some(loaded.config)
                }
            }
            Err(e) => {
                log::error!("cannot read configuration {}: {e}", path.display());
                None
            }
        };
        if let Some(f) = &reload_file {
            let _ = std::fs::remove_file(f);
        }
        let Some(config) = loaded else {
            log::error!("Reload of configuration failed - keeping the running one");
            return;
        };
        for r in self.slots.iter().filter(|s| !s.retiring).filter_map(|s| s.run.as_ref()) {
            process::kill(r.pid, libc::SIGHUP);
        }
        let (needs, metrics_listen) = self.keep_of(config);
        self.apply_needs(needs, now);
        self.apply_metrics(metrics_listen);
        log::info!("Configuration validated - children reloading");
    }

    /// Keep what the parent needs of a validated configuration (its globals,
    /// which children it needs, the metrics address) and free the rest, with
    /// its pages: a child forked later would otherwise carry the parent's
    /// whole parse in its RSS (children load their own from the snapshot).
    fn keep_of(&mut self, mut config: Config) -> (Needs, Option<SocketAddr>) {
        let needs = (self.engines.needs)(&config);
        let metrics_listen = config.global.metrics_listen;
        self.global = std::mem::take(&mut config.global);
        drop(config);
        crate::sys::heap::release_free();
        (needs, metrics_listen)
    }

    /// Start the children `needs` names and retire the others.
    fn apply_needs(&mut self, mut needs: Needs, now: Instant) {
        if self.settings.all_children {
            // keepalived's --all: every child runs, configured or not (-P/-C still choose).
            needs = Needs { vrrp: true, checker: true };
        }
        if self.settings.vrrp_only || self.settings.check_only {
            needs = Needs {
                vrrp: needs.vrrp && self.settings.vrrp_only,
                checker: needs.checker && self.settings.check_only,
            };
        }
        for (kind, wanted) in [(ChildKind::Vrrp, needs.vrrp), (ChildKind::Checker, needs.checker)] {
            let existing = self.slots.iter().position(|s| s.kind == kind);
            match (existing, wanted) {
                (None, true) => {
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    let pid_file = self.pid_file_for(kind);
                    self.slots.push(Slot {
                        kind,
                        token,
                        pid_file,
                        backoff: Backoff::from_env(),
                        run: None,
                        respawn_at: None,
                        retiring: false,
                        restarts: 0,
                        // The child the daemon this one replaced ran.
                        died: self.handover.as_ref().and_then(|h| h.lifetime(kind)),
                    });
                    self.spawn(self.slots.len() - 1, now);
                }
                (Some(i), true) => self.slots[i].retiring = false,
                (Some(i), false) => {
                    let slot = &mut self.slots[i];
                    log::info!("{} no longer configured - stopping its child", slot.kind.label());
                    match &slot.run {
                        Some(r) => {
                            slot.retiring = true;
                            slot.respawn_at = None;
                            process::kill(r.pid, libc::SIGTERM);
                        }
                        None => {
                            self.slots.remove(i);
                        }
                    }
                }
                (None, false) => {}
            }
        }
    }

    fn pid_file_for(&self, kind: ChildKind) -> PathBuf {
        let (opt, default) = match kind {
            ChildKind::Vrrp => (&self.settings.vrrp_pid_file, pidfile::VRRP),
            ChildKind::Checker => (&self.settings.checkers_pid_file, pidfile::CHECKERS),
        };
        opt.clone().unwrap_or_else(|| pidfile::default_path(default, self.settings.namespace.as_deref()))
    }

    fn spawn(&mut self, i: usize, now: Instant) {
        if let Err(e) = self.try_spawn(i, now) {
            let slot = &mut self.slots[i];
            let delay = slot.backoff.on_death(Duration::ZERO).max(Duration::from_secs(1));
            log::error!(
                "cannot start {} child process: {e} - retrying in {} s",
                slot.kind.label(),
                delay.as_secs()
            );
            slot.respawn_at = Some(now + delay);
        }
    }

    fn try_spawn(&mut self, i: usize, now: Instant) -> io::Result<()> {
        let (ours, theirs) = process::seqpacket_pair()?;
        let kind = self.slots[i].kind;
        let mask = signals::block_all();
        let forked = process::fork();
        match forked {
            Ok(Fork::Child) => child::main(ChildArgs {
                kind,
                settings: &self.settings,
                engines: &self.engines,
                paths: &self.paths,
                pid_file: &self.slots[i].pid_file,
                predecessor: self.slots[i].died,
                channel: theirs,
                parent: self.me,
            }),
            Ok(Fork::Parent(pid)) => {
                signals::restore_mask(&mask);
                drop(theirs);
                let slot = &mut self.slots[i];
                self.poll.registry().register(
                    &mut SourceFd(&ours.as_raw_fd()),
                    slot.token,
                    Interest::READABLE,
                )?;
                log::info!("Starting {} child process, pid={pid}", kind.label());
                slot.run = Some(Running {
                    pid,
                    channel: ours,
                    started: now,
                    next_hello: now + HELLO_INTERVAL,
                    unanswered: 0,
                    killed: false,
                });
                Ok(())
            }
            Err(e) => {
                signals::restore_mask(&mask);
                Err(e)
            }
        }
    }

    /// Children remove their own pid files; one that was killed cannot.
    fn cleanup_child_pid_files(&self) {
        for s in &self.slots {
            if s.pid_file.exists() {
                if let Ok(p) = PidFile::lock(&s.pid_file) {
                    p.remove();
                }
            }
        }
    }
}

/// Every hello answer clears the missed count.
fn read_acks(slot: &mut Slot) {
    let Some(r) = &mut slot.run else { return };
    let mut buf = [0u8; 16];
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe {
            libc::recv(r.channel.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
        };
        if n <= 0 {
            // WouldBlock, or EOF from a dying child (SIGCHLD follows).
            return;
        }
        if buf[0] == HELLO_ACK {
            r.unanswered = 0;
        }
    }
}

/// `reload_file`: an empty file, rw-r--r-- as keepalived makes it.
/// Made fresh (O_EXCL, never following a link a local user planted; in a
/// sticky directory another user's file stays and the create fails).
fn create_reload_file(path: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path); // a leftover of a reload cut short; if it stays, the create says why
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    if let Err(e) = made {
        log::info!("Failed to create reload file ({path}): {e}");
    }
}

/// `reload_check_config LOGFILE` of the running configuration: the check
/// of the new one (which vigil runs at every reload) reported there, one
/// finding a line as `-t` prints them; emptied first, as keepalived does.
fn write_check_report(path: &str, diags: &[Diagnostic]) {
    let report: String = diags.iter().map(|d| format!("{d}\n")).collect();
    if let Err(e) = crate::sys::file::replace(Path::new(path), report.as_bytes(), 0o644) {
        log::warn!("cannot write the config check log {path}: {e}");
    }
}

fn log_diags(diags: &[Diagnostic]) {
    for d in diags {
        if d.is_error() {
            log::error!("{d}");
        } else {
            log::warn!("{d}");
        }
    }
}

/// Create `dir` (mode 0700), or make sure the one that is there is ours: a
/// real directory (not a symlink) owned by this user, then mode 0700. The
/// control sockets and the validated configuration live there; a directory
/// another user owns or can write to could swap them.
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: geteuid has no failure mode.
    let me = unsafe { libc::geteuid() };
    if !meta.file_type().is_dir() {
        return Err(io::Error::other("not a directory (a symbolic link?) - refusing to use it"));
    }
    if meta.uid() != me {
        return Err(io::Error::other(format!("owned by uid {}, not {me} - refusing to use it", meta.uid())));
    }
    if meta.mode() & 0o777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
