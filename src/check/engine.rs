//! The checker child's engine: one [`VirtualServerCore`] per virtual
//! server, probes on non-blocking sockets and MISC_CHECK scripts in the
//! child's single mio loop, and the cores' actions applied to IPVS (when
//! the kernel has it) and to notify/quorum scripts.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use log::{debug, error, info, log, warn};
use mio::{Registry, Token};

use super::action::{Action, AlertRef, DestRef, ScriptRef};
use super::build::{self, VsRun};
use super::checker::{warmup_jitter, CheckResult, BATCH_WINDOW};
use super::conn::ConnSpec;
use super::dns;
use super::file::FileTracker;
use super::http::{self, HttpExchange};
use super::lvs::Lvs;
use super::ping::Pinger;
use super::probe::Readiness;
use super::probe::{Dialogue, Probe, Tls};
use super::smtp::{SmtpExchange, DEFAULT_HELO};
use super::vs::CheckId;
use crate::config::model::{
    CheckerKind, Command as ConfCommand, Config, GlobalDefs, HttpCheck, LvsFlushOnStop,
};
use crate::ipvs::{self, SyncDaemon, SyncRole};
use crate::runtime::{tokens, Json, Subsystem, TokenAlloc};
use crate::script::fifo::{self, Children, FifoSet, Only, Writer};
use crate::script::{self, Command, Job, JobId, Order, ScriptKind, ScriptPolicy, ScriptRunner};
use crate::smtp::{check_body, quorum_body, Alert, Mailer};
use crate::sys::icmp;
use crate::sys::state_file::ResumeFrom;
use crate::time::{Epoch, Monotonic};

/// How long `shutdown` waits for `omega` scripts before leaving.
const OMEGA_WAIT: Duration = Duration::from_secs(3);
/// How long a notify FIFO's reader has to read the last lines and leave.
const READER_GRACE: Duration = Duration::from_millis(500);
/// The resume state file is written at most this often (`check::resume`).
const RESUME_WRITE_INTERVAL: Duration = Duration::from_millis(100);

/// A MISC_CHECK script or a PING_CHECK echo in flight (socket probes are
/// in `CheckerEngine::probes`).
enum Work {
    Misc(JobId),
    /// A PING_CHECK echo request out on the shared socket.
    Ping {
        probe: icmp::Probe,
        deadline: Monotonic,
    },
}

impl Work {
    fn deadline(&self) -> Option<Monotonic> {
        match self {
            Work::Ping { deadline, .. } => Some(*deadline),
            Work::Misc(_) => None,
        }
    }
}

struct Running {
    vs: usize,
    id: CheckId,
    work: Work,
}

/// A socket probe in flight.
struct InFlight {
    vs: usize,
    id: CheckId,
    probe: Probe,
}

pub struct CheckerEngine {
    epoch: Epoch,
    global: GlobalDefs,
    vss: Vec<VsRun>,
    /// Socket probes by token slot (token `tokens::PROBES + slot`), so an
    /// event finds its probe without a search; freed slots are reused.
    probes: Vec<Option<InFlight>>,
    free_slots: Vec<usize>,
    running: Vec<Running>,
    /// `start_due`'s list, kept to spare an allocation per pass.
    due: Vec<CheckId>,
    /// The resume state changed and is not written yet.
    resume_dirty: bool,
    /// ... and the change is one of what IPVS holds: written in this loop pass.
    resume_urgent: bool,
    /// When the resume state file was last written.
    resume_written: Option<Monotonic>,
    lvs: Option<Box<dyn Lvs>>,
    /// Open the kernel table at `register` unless one was given.
    want_kernel: bool,
    scripts: Option<ScriptRunner>,
    /// PING_CHECK's echo sockets.
    pinger: Pinger,
    /// FILE_CHECK: the track files, their last values and the watcher.
    files: FileTracker,
    /// SMTP alerts; `None` without `smtp_server` and `notification_email`.
    mailer: Option<Mailer>,
    /// Who runs each script and whether it may run (checked at start and on reload).
    policy: ScriptPolicy,
    rng: u64,
    /// Bumped on reload, so MISC jobs of the old configuration never
    /// collide with new ones.
    generation: u64,
    checks_run: u64,
    checks_failed: u64,
    /// False under `-I/--dont-release-ipvs`: a stop leaves the IPVS table
    /// as it is (and, as keepalived, runs no omega notify scripts).
    pub release_on_exit: bool,
    /// `notify_fifo` / `lvs_notify_fifo`, opened at `register`.
    fifos: FifoSet,
    only: Only,
    children: Children,
    /// Set by `shutdown`: `lvs_flush_on_stop` decides what is removed.
    stopping: bool,
    /// The state a crashed predecessor left, and this child's own for a successor.
    resume: super::resume::Resume,
    /// `ha_suspend`: the host's addresses and which virtual servers are suspended.
    addr_watch: super::addr_watch::AddrWatch,
}

impl CheckerEngine {
    /// An engine for `config` that programs the kernel's IPVS when it has one.
    pub fn new(config: &Config, only: Only, resume: Option<ResumeFrom>) -> Result<CheckerEngine, String> {
        let mut e = CheckerEngine::with_lvs(config, None)?;
        e.resume_from(resume);
        e.want_kernel = true;
        e.only = only;
        e.children = fifo::children(config, only);
        Ok(e)
    }

    /// An engine that programs `lvs` (`None`: checking and notifying only).
    pub fn with_lvs(config: &Config, lvs: Option<Box<dyn Lvs>>) -> Result<CheckerEngine, String> {
        let vss = build::virtual_servers(config)?;
        Ok(CheckerEngine {
            epoch: Epoch::now(),
            global: config.global.clone(),
            vss,
            probes: Vec::new(),
            free_slots: Vec::new(),
            running: Vec::new(),
            due: Vec::new(),
            resume_dirty: false,
            resume_urgent: false,
            resume_written: None,
            lvs,
            want_kernel: false,
            scripts: None,
            pinger: Pinger::new(tokens::PING),
            files: FileTracker::new(config, Token(tokens::FILE_WATCH)),
            mailer: None,
            policy: ScriptPolicy::for_globals(&config.global),
            rng: seed(),
            generation: 0,
            checks_run: 0,
            checks_failed: 0,
            release_on_exit: true,
            fifos: FifoSet::default(),
            only: Only::default(),
            children: fifo::children(config, Only::default()),
            stopping: false,
            resume: super::resume::Resume::default(),
            addr_watch: Default::default(),
        })
    }

    fn jitter(rng: &mut u64) -> impl FnMut(Duration) -> Duration + '_ {
        move |warmup| warmup_jitter(warmup, next_random(rng))
    }

    /// Start every virtual server, or go on where a crashed predecessor
    /// left it (`check::resume`): its services are made sure of, and only
    /// what differs from what IPVS holds is programmed.
    fn start_all(&mut self, now: Monotonic) {
        let vnow = self.epoch.instant(now);
        let mut resumed = 0;
        for v in 0..self.vss.len() {
            let saved = self.resume.take(&self.vss[v].name);
            if saved.is_some_and(|s| self.vss[v].core.restore(&s)) {
                resumed += 1;
                for svc in self.vss[v].services.clone() {
                    self.lvs_call(|l| l.add_service(&svc), || format!("update service {}", svc.addr));
                }
                self.vss[v].core.resume(vnow, &mut Self::jitter(&mut self.rng));
            } else {
                let active = !self.addr_watch.starts_suspended(&self.vss[v]);
                self.vss[v].core.start_with(vnow, &mut Self::jitter(&mut self.rng), active);
            }
            self.apply(v, now);
        }
        if resumed > 0 {
            info!(
                "Resumed {resumed} of {} virtual servers where the previous checker child left them",
                self.vss.len()
            );
        }
        self.resume.forget_previous();
        self.save_state();
    }

    /// Where this child keeps its state, and what a crashed predecessor left.
    pub fn resume_from(&mut self, from: Option<ResumeFrom>) {
        self.resume = super::resume::Resume::new(from);
    }

    /// Write every virtual server's state for a successor (when it changed).
    fn save_state(&mut self) {
        self.resume.save(self.vss.iter().map(|v| (v.name.as_str(), v.core.saved())));
        self.resume_dirty = false;
        self.resume_urgent = false;
    }

    /// When a changed resume state is to be written (`check::resume`): a
    /// change of what IPVS holds at the end of the loop pass that made it
    /// (a successor must know what it finds in the table), any other
    /// (retry counters, checker states that moved nothing) no sooner than
    /// `RESUME_WRITE_INTERVAL` after the last write.
    fn resume_due(&self) -> Option<Monotonic> {
        if !self.resume_dirty {
            return None;
        }
        match self.resume_written {
            Some(t) if !self.resume_urgent => Some(t + RESUME_WRITE_INTERVAL),
            _ => Some(self.epoch_start()),
        }
    }

    /// An instant that is always past: "now" for `resume_due`.
    fn epoch_start(&self) -> Monotonic {
        self.epoch.monotonic(crate::time::Instant::ZERO)
    }

    fn flush_state(&mut self, now: Monotonic) {
        if self.resume_due().is_some_and(|t| t <= now) {
            self.save_state();
            self.resume_written = Some(now);
        }
    }

    /// Apply the actions a core produced, in order.
    fn apply(&mut self, v: usize, now: Monotonic) {
        let mut actions = Vec::new();
        while let Some(a) = self.vss[v].core.poll_action() {
            actions.push(a);
        }
        // Every change of a checker or of IPVS comes with an action.
        let changed = !actions.is_empty();
        let ipvs_changed = actions
            .iter()
            .any(|a| !matches!(a, Action::Log { .. } | Action::RunScript(_) | Action::Alert(_)));
        for a in actions {
            match a {
                Action::Log { level, line } => log!(level, "{line}"),
                Action::AddService => {
                    for svc in self.vss[v].services.clone() {
                        self.lvs_call(|l| l.add_service(&svc), || format!("add service {}", svc.addr));
                    }
                }
                // `lvs_flush_on_stop`: one flush at the end instead.
                Action::DelService
                    if self.stopping && self.global.lvs_flush_on_stop == LvsFlushOnStop::Full => {}
                Action::DelDest { .. }
                    if self.stopping && self.global.lvs_flush_on_stop != LvsFlushOnStop::No => {}
                Action::DelService => {
                    for svc in self.vss[v].services.clone() {
                        self.lvs_call(
                            |l| l.del_service(&svc.addr),
                            || format!("remove service {}", svc.addr),
                        );
                    }
                }
                Action::AddDest { dest, weight } => {
                    if let Some(d) = self.vss[v].dest_spec(dest, weight) {
                        for svc in self.vss[v].service_addrs() {
                            self.lvs_call(
                                |l| l.add_dest(&svc, &d),
                                || format!("add [{}]:{} to {svc}", d.addr, d.port),
                            );
                        }
                    }
                }
                Action::SetWeight { dest, weight } => {
                    if let Some(d) = self.vss[v].dest_spec(dest, weight) {
                        for svc in self.vss[v].service_addrs() {
                            let what = || format!("set weight of [{}]:{} in {svc}", d.addr, d.port);
                            self.lvs_call(|l| l.edit_dest(&svc, &d), what);
                        }
                    }
                }
                Action::DelDest { dest } => {
                    if let Some(d) = self.vss[v].dest_spec(dest, 0) {
                        for svc in self.vss[v].service_addrs() {
                            let what = || format!("remove [{}]:{} from {svc}", d.addr, d.port);
                            self.lvs_call(|l| l.del_dest(&svc, d.addr, d.port), what);
                        }
                    }
                }
                Action::RunScript(s) => self.run_notify(v, s, now),
                Action::Alert(a) => self.alert(v, a, now),
            }
        }
        if changed && !self.stopping {
            self.resume_dirty = true;
            self.resume_urgent |= ipvs_changed;
        }
    }

    /// Mail an alert if the objects involved have `smtp_alert` on: real
    /// servers by default (each checker change, or with `no_checker_emails`
    /// only real server changes), virtual servers (quorum) only when set.
    fn alert(&mut self, v: usize, a: AlertRef, now: Monotonic) {
        let Some(mailer) = self.mailer.as_mut() else { return };
        let (vs, g) = (&self.vss[v], &self.global);
        let alert = match a {
            AlertRef::Checker { rs, ck, up, rs_changed } => {
                let (Some(rs_cfg), Some(core)) =
                    (vs.cfg.real_servers.get(rs), vs.core.real_servers().get(rs))
                else {
                    return;
                };
                if !rs_cfg.effective_smtp_alert(&vs.cfg, g) || (g.no_checker_emails && !rs_changed) {
                    return;
                }
                let checker = match rs_cfg.checkers.get(ck).map(|c| &c.kind) {
                    Some(CheckerKind::Http(h)) if h.tls => "SSL",
                    Some(CheckerKind::Http(_)) => "HTTP",
                    Some(CheckerKind::Smtp { .. }) => "SMTP",
                    Some(CheckerKind::Misc(_)) => "MISC",
                    Some(CheckerKind::Dns { .. }) => "DNS",
                    Some(CheckerKind::Udp(_)) => "UDP",
                    Some(CheckerKind::Ping) => "ICMP",
                    Some(CheckerKind::File(_)) => "FILE",
                    Some(CheckerKind::Unrunnable(k)) => k.trim_end_matches("_CHECK"),
                    Some(CheckerKind::Tcp) | None => "TCP",
                };
                Alert::real_server(&core.params().name, &vs.name, up, &check_body(checker, up))
            }
            AlertRef::Quorum { up, weight } => {
                if !vs.cfg.smtp_alert.or(g.smtp_alert_checker).or(g.smtp_alert).unwrap_or(false) {
                    return;
                }
                let p = vs.core.params();
                let body = quorum_body(up, weight.into(), p.quorum.into(), p.hysteresis.into());
                Alert::virtual_server(&vs.name, up, &body)
            }
        };
        mailer.send(&alert, now);
    }

    fn drain_mail_results(&mut self) {
        if let Some(m) = self.mailer.as_mut() {
            while let Some(r) = m.poll_result() {
                r.log();
            }
        }
    }

    fn lvs_call(
        &mut self,
        f: impl FnOnce(&mut dyn Lvs) -> Result<(), ipvs::Error>,
        what: impl FnOnce() -> String,
    ) {
        if let Some(lvs) = self.lvs.as_deref_mut() {
            if let Err(e) = f(lvs) {
                error!("IPVS: cannot {}: {e}", what());
            }
        }
    }

    /// Before the first service: `lvs_flush`, `lvs_timeouts`, and a sync
    /// daemon that follows no VRRP instance (the checker runs a master and
    /// a backup daemon, as keepalived does; leftovers of a run that ended
    /// abnormally are stopped first).
    fn lvs_prepare(&mut self) {
        if self.resume.is_resuming() {
            // What IPVS holds is what the predecessor left: keep it.
            self.lvs_set_timeouts();
            self.lvs_start_sync_daemons(&checker_sync_daemons(&self.global));
            return;
        }
        if self.global.lvs_flush {
            info!("IPVS: flushing the table (lvs_flush)");
            self.lvs_call(|l| l.flush(), || "flush the table".to_string());
        }
        self.lvs_set_timeouts();
        let daemons = checker_sync_daemons(&self.global);
        for d in &daemons {
            self.lvs_call(
                |l| l.stop_sync_daemon(d.role),
                || format!("stop the {} sync daemon", d.role.as_str()),
            );
        }
        self.lvs_start_sync_daemons(&daemons);
    }

    fn lvs_set_timeouts(&mut self) {
        if let Some(t) = self.global.lvs_timeouts {
            info!("IPVS: setting timeouts tcp {} tcpfin {} udp {} (0: unchanged)", t.tcp, t.tcp_fin, t.udp);
            self.lvs_call(|l| l.set_timeouts(&t), || "set the timeouts".to_string());
        }
    }

    fn lvs_start_sync_daemons(&mut self, daemons: &[SyncDaemon]) {
        for d in daemons {
            info!("Starting IPVS sync daemon ({}) on {}, sync id {}", d.role.as_str(), d.ifname, d.sync_id);
            self.lvs_call(
                |l| l.start_sync_daemon(d),
                || format!("start the {} sync daemon", d.role.as_str()),
            );
        }
    }

    fn lvs_stop_sync_daemons(&mut self, daemons: &[SyncDaemon]) {
        for d in daemons {
            info!("Stopping IPVS sync daemon ({})", d.role.as_str());
            self.lvs_call(
                |l| l.stop_sync_daemon(d.role),
                || format!("stop the {} sync daemon", d.role.as_str()),
            );
        }
    }

    /// Open the notify FIFOs this child writes and start their readers; an
    /// unchanged set (on reload) is kept as it is.
    fn open_fifos(&mut self, now: Monotonic) {
        let plan = fifo::plan(&self.global, Writer::Checker, self.children);
        self.fifos.apply(plan, &mut self.policy, self.scripts.as_mut(), now);
        self.reap_scripts(now);
    }

    /// keepalived's notify points: the FIFO line, then the script if one is set.
    fn run_notify(&mut self, v: usize, s: ScriptRef, now: Monotonic) {
        let vs = &self.vss[v];
        let line = match s {
            ScriptRef::NotifyUp(r) | ScriptRef::NotifyDown(r) => {
                let up = matches!(s, ScriptRef::NotifyUp(_));
                vs.core.real_servers().get(r).map(|rs| fifo::rs_line(&rs.params().name, &vs.name, up))
            }
            ScriptRef::QuorumUp => Some(fifo::vs_line(&vs.name, true)),
            ScriptRef::QuorumDown => Some(fifo::vs_line(&vs.name, false)),
        };
        if let Some(line) = line {
            self.fifos.write(&line);
        }
        let vs = &self.vss[v];
        let (cmd, key) = match s {
            ScriptRef::NotifyUp(r) | ScriptRef::NotifyDown(r) => {
                let Some(rs) = vs.cfg.real_servers.get(r) else { return };
                let cmd = if matches!(s, ScriptRef::NotifyUp(_)) { &rs.notify_up } else { &rs.notify_down };
                (cmd.as_deref().cloned(), format!("RS {} {}", vs.name, rs.addr))
            }
            ScriptRef::QuorumUp => (vs.cfg.quorum_up.clone(), format!("VS {}", vs.name)),
            ScriptRef::QuorumDown => (vs.cfg.quorum_down.clone(), format!("VS {}", vs.name)),
        };
        let Some(cmd) = cmd else { return };
        let Some(command) = resolve(&cmd) else { return };
        let Some(user) = self.policy.user_for_command(ScriptKind::Notify, &cmd, None, &command) else {
            debug!("script {:?} is disabled, not run", cmd.args.join(" "));
            return;
        };
        let job = Job {
            key,
            command,
            args: Vec::new(),
            user,
            timeout: Some(script::NOTIFY_TIMEOUT),
            order: Order::Queue,
        };
        if let Some(runner) = self.scripts.as_mut() {
            if let Err(e) = runner.spawn(job, now) {
                warn!("script {:?} not started: {e}", cmd.args.join(" "));
            }
        }
        self.reap_scripts(now);
    }

    /// A free probe slot.
    fn alloc_slot(&mut self) -> usize {
        self.free_slots.pop().unwrap_or_else(|| {
            self.probes.push(None);
            self.probes.len() - 1
        })
    }

    /// The probe in slot `slot` ended (or never started): close it and free the slot.
    fn take_probe(&mut self, slot: usize) -> Option<InFlight> {
        let done = self.probes.get_mut(slot)?.take()?;
        self.free_slots.push(slot);
        Some(done)
    }

    /// Start every check that is due, and those due within `BATCH_WINDOW`
    /// that may start that early: one wakeup for the lot.
    fn start_due(&mut self, registry: &Registry, now: Monotonic) {
        let vnow = self.epoch.instant(now);
        let mut due = std::mem::take(&mut self.due);
        for v in 0..self.vss.len() {
            due.clear();
            self.vss[v].core.due_batch(vnow, BATCH_WINDOW, &mut due);
            for &id in &due {
                self.start_check(registry, v, id, now);
            }
            self.apply(v, now);
        }
        due.clear();
        self.due = due;
    }

    fn start_check(&mut self, registry: &Registry, v: usize, id: CheckId, now: Monotonic) {
        if self.addr_watch.is_suspended(v) {
            // ha_suspend: the period goes on, nothing is sent.
            return self.vss[v].core.skip(self.epoch.instant(now), id);
        }
        self.checks_run += 1;
        let vs = &self.vss[v];
        let Some((rs, ck)) = vs.checker_cfg(id) else { return };
        let timeout = ck.effective_connect_timeout(rs, &vs.cfg);
        let (ip, port) = ck.effective_target(rs, &vs.cfg);
        let dialogue = match &ck.kind {
            CheckerKind::Tcp => Dialogue::Connect,
            CheckerKind::Http(h) => {
                let Some(plan) = vs.next_http(id) else {
                    return self.finish(
                        v,
                        id,
                        CheckResult::failure("internal: HTTP checker without urls"),
                        now,
                    );
                };
                let tls = match h.tls.then(|| tls_session(ip, h, plan.vhost.as_deref())).transpose() {
                    Ok(tls) => tls,
                    Err(e) => return self.finish(v, id, CheckResult::failure(e), now),
                };
                let exchange =
                    HttpExchange::new(plan.request.clone(), http::ResponseParser::for_url(&plan.url));
                Dialogue::Http { url: plan.url.clone(), exchange, tls }
            }
            CheckerKind::Smtp { helo_name, .. } => {
                let helo =
                    helo_name.as_deref().or(self.global.smtp_helo_name.as_deref()).unwrap_or(DEFAULT_HELO);
                Dialogue::Smtp(SmtpExchange::new(helo))
            }
            CheckerKind::Misc(m) => {
                let timeout = ck.effective_misc_timeout(rs, &vs.cfg);
                let command = m.path.as_ref().and_then(|p| resolve(p).map(|c| (p, c)));
                let policy = &mut self.policy;
                let user = command
                    .as_ref()
                    .map(|(p, c)| (c, policy.user_for_command(ScriptKind::Misc, p, m.user.as_ref(), c)));
                let job = match user {
                    Some((command, Some(user))) => Ok(Job {
                        key: format!("MISC_CHECK {}:{v}:{}:{}", self.generation, id.rs, id.ck),
                        command: command.clone(),
                        args: Vec::new(),
                        user,
                        timeout: Some(timeout),
                        order: Order::Exclusive,
                    }),
                    Some((_, None)) => {
                        Err("misc_path is disabled (script user or script security)".to_string())
                    }
                    None => Err("misc_path cannot be run".to_string()),
                };
                let started = match (job, self.scripts.as_mut()) {
                    (Ok(job), Some(runner)) => runner.spawn(job, now).map_err(|e| e.to_string()),
                    (Err(e), _) => Err(e),
                    (_, None) => Err("script runner not started".to_string()),
                };
                match started {
                    Ok(job) => self.running.push(Running { vs: v, id, work: Work::Misc(job) }),
                    Err(e) => self.finish(v, id, CheckResult::failure(e), now),
                }
                self.reap_scripts(now);
                return;
            }
            CheckerKind::Unrunnable(keyword) => {
                let why = format!("{keyword} is not supported by vigil");
                return self.finish(v, id, CheckResult::failure(why), now);
            }
            CheckerKind::Dns { qtype, name } => {
                // A fresh random id per query (as keepalived's random()).
                let qid = (next_random(&mut self.rng) >> 32) as u16;
                let qtype = dns::type_code(qtype).unwrap_or(dns::SOA);
                match dns::query(qid, qtype, name) {
                    Ok(query) => Dialogue::Dns { query, id: qid },
                    Err(e) => return self.finish(v, id, CheckResult::failure(e), now),
                }
            }
            CheckerKind::File(f) => {
                let result = self.files.result(f, rs.weight);
                return self.finish(v, id, result, now);
            }
            CheckerKind::Ping => {
                let result = match self.pinger.send(registry, ip) {
                    Ok(probe) => {
                        let deadline = now + timeout;
                        self.running.push(Running { vs: v, id, work: Work::Ping { probe, deadline } });
                        return;
                    }
                    Err(e) => CheckResult::failure(e),
                };
                return self.finish(v, id, result, now);
            }
            CheckerKind::Udp(u) => {
                let payload = u.payload.clone().unwrap_or_else(|| default_udp_payload().to_vec());
                Dialogue::Udp { payload, rule: u.reply.clone() }
            }
        };
        let spec = ConnSpec {
            target: SocketAddr::new(ip, port),
            bind_ip: ck.conn.bindto,
            bind_port: ck.conn.bind_port,
            bind_if: ck.conn.bind_if.clone(),
            fwmark: ck.conn.fwmark,
        };
        let slot = self.alloc_slot();
        match Probe::start(&spec, dialogue, registry, Token(tokens::PROBES + slot), now + timeout) {
            Ok(probe) => self.probes[slot] = Some(InFlight { vs: v, id, probe }),
            Err(result) => {
                self.free_slots.push(slot);
                self.finish(v, id, result, now);
            }
        }
    }

    /// Track files changed: every FILE_CHECK on them takes the new value
    /// at once (keepalived does not wait for a check period).
    fn file_changed(&mut self, changed: &[String], now: Monotonic) {
        for v in 0..self.vss.len() {
            let mut due = Vec::new();
            for (r, rs) in self.vss[v].cfg.real_servers.iter().enumerate() {
                for (c, ck) in rs.checkers.iter().enumerate() {
                    if let CheckerKind::File(f) = &ck.kind {
                        if changed.contains(&f.track) {
                            due.push((r, c, self.files.result(f, rs.weight)));
                        }
                    }
                }
            }
            for (r, c, result) in due {
                if let Some(id) = self.vss[v].check_id(r, c) {
                    self.finish(v, id, result, now);
                }
            }
        }
    }

    /// Fail real server `rs`'s first checker of virtual server `v` now.
    #[cfg(test)]
    pub(crate) fn fail_for_test(&mut self, v: usize, rs: usize) {
        let now = Monotonic::now() + Duration::from_secs(3600);
        // Only to start the check as the loop would; the list is not needed.
        let _ = self.vss[v].core.due(self.epoch.instant(now));
        self.finish(v, CheckId { rs, ck: 0 }, CheckResult::failure("test"), now);
    }

    /// What the loop pass's `handle_timeout` does for the resume file.
    #[cfg(test)]
    pub(crate) fn end_pass_for_test(&mut self, now: Monotonic) {
        self.flush_state(now);
    }

    /// A check ended: feed the core and apply what it decided.
    fn finish(&mut self, v: usize, id: CheckId, result: CheckResult, now: Monotonic) {
        if self.addr_watch.is_suspended(v) {
            // ha_suspend: a probe still out when the address went counts for nothing.
            return self.vss[v].core.skip(self.epoch.instant(now), id);
        }
        if !result.ok {
            self.checks_failed += 1;
            debug!(
                "check of {} failed: {}",
                self.vss[v].core.real_servers()[id.rs].params().name,
                result.detail
            );
        }
        self.vss[v].checked(id, result.ok);
        let vnow = self.epoch.instant(now);
        self.vss[v].core.finish(vnow, id, result);
        self.apply(v, now);
    }

    fn reap_scripts(&mut self, now: Monotonic) {
        loop {
            let Some(done) = self.scripts.as_mut().and_then(ScriptRunner::poll_completion) else { return };
            let pos = self.running.iter().position(|r| matches!(r.work, Work::Misc(j) if j == done.id));
            let Some(pos) = pos else {
                if !done.outcome.success() {
                    warn!("script for {} ended: {}", done.key, done.outcome);
                }
                continue;
            };
            let r = self.running.swap_remove(pos);
            let Some((_, ck)) = self.vss[r.vs].checker_cfg(r.id) else { continue };
            let dynamic = matches!(&ck.kind, CheckerKind::Misc(m) if m.dynamic);
            let result = match script::misc_result(&done.outcome, dynamic) {
                script::MiscResult::Up => CheckResult::success(done.outcome.to_string()),
                script::MiscResult::UpWithWeight(w) => {
                    CheckResult { ok: true, weight: Some(w), detail: done.outcome.to_string().into() }
                }
                script::MiscResult::Down => CheckResult::failure(done.outcome.to_string()),
            };
            self.finish(r.vs, r.id, result, now);
        }
    }

    fn close_all(&mut self) {
        self.running.clear();
        self.probes.clear();
        self.free_slots.clear();
    }

    fn status_json(&self) -> Json {
        let vss = self.vss.iter().map(VsRun::status).collect();
        // ha_suspend: the virtual servers whose checks are suspended now.
        let suspended = (0..self.vss.len())
            .filter(|&v| self.addr_watch.is_suspended(v))
            .map(|v| Json::from(self.vss[v].name.as_str()))
            .collect();
        let ipvs = self.lvs.as_ref().map_or("not available", |l| l.kind());
        Json::obj([
            ("ipvs", Json::from(ipvs)),
            ("checks_run", Json::from(self.checks_run)),
            ("checks_failed", Json::from(self.checks_failed)),
            ("virtual_servers", Json::Arr(vss)),
            ("ha_suspended", Json::Arr(suspended)),
            ("notify_fifos", self.fifos.status()),
        ])
    }
}

impl Subsystem for CheckerEngine {
    fn register(&mut self, registry: &Registry, _tokens: &mut TokenAlloc) -> io::Result<()> {
        self.scripts = Some(ScriptRunner::new(Some(registry), tokens::SCRIPTS)?);
        self.check_scripts();
        self.mailer = Mailer::from_config(&self.global, tokens::MAILER);
        if self.want_kernel && self.lvs.is_none() {
            self.lvs = super::lvs_kernel::open(self.global.netlink_bufs.lvs_cmd);
        }
        // As keepalived: the host's addresses are known before any service is set up.
        self.addr_watch.start(registry, self.global.netlink_bufs.lvs_monitor, &self.vss);
        self.lvs_prepare();
        self.files.open(registry, false);
        self.open_fifos(Monotonic::now());
        self.start_all(Monotonic::now());
        // keepalived knows a FILE_CHECK's state at once: no first-run delay.
        self.file_changed(&self.files.names(), Monotonic::now());
        // The configuration this child loaded and dropped, and the parse. (The engine copies
        // what it keeps of it, into pages of its own: moving it out instead left it spread
        // over the parse's freed pages: about 1 MB more at 1,000 real servers.)
        crate::sys::heap::release_free();
        Ok(())
    }

    fn handle_event(&mut self, registry: &Registry, event: &mio::event::Event, now: Monotonic) {
        let token = event.token();
        if let Some(m) = self.mailer.as_mut() {
            if m.handle_event(registry, token, now) {
                self.drain_mail_results();
                return;
            }
        }
        if token == Token(tokens::ADDR_MONITOR) {
            self.addr_watch.handle_event(&self.vss);
            return;
        }
        if token == Token(tokens::FILE_WATCH) {
            let changed = self.files.changed();
            if !changed.is_empty() {
                self.file_changed(&changed, now);
            }
            return;
        }
        if self.pinger.owns(token) {
            for (src, msg) in self.pinger.drain(token) {
                let pos = self.running.iter().position(
                    |r| matches!(&r.work, Work::Ping { probe, .. } if icmp::reply_matches(probe, src, &msg)),
                );
                if let Some(pos) = pos {
                    let r = self.running.swap_remove(pos);
                    self.finish(r.vs, r.id, CheckResult::success("echo reply"), now);
                }
            }
            return;
        }
        let slot = token.0.wrapping_sub(tokens::PROBES);
        if let Some(Some(f)) = self.probes.get_mut(slot) {
            if let Some(result) = f.probe.advance(Readiness::of(event)) {
                if let Some(done) = self.take_probe(slot) {
                    done.probe.close();
                    self.finish(done.vs, done.id, result, now);
                }
            }
        } else if let Some(runner) = self.scripts.as_mut() {
            if runner.handle_event(token, now) {
                self.reap_scripts(now);
            }
        }
    }

    /// Checks are started up to `BATCH_WINDOW` early anyway: the poll
    /// timeout's millisecond is precise enough.
    fn precise_timers(&self) -> bool {
        false
    }

    fn before_handover(&mut self) {
        if self.resume_dirty {
            self.save_state();
        }
    }

    fn poll_timeout(&self) -> Option<Monotonic> {
        let cores = self.vss.iter().filter_map(|v| v.core.poll_timeout()).map(|t| self.epoch.monotonic(t));
        let probes = self.probes.iter().flatten().map(|f| f.probe.deadline());
        let others = self.running.iter().filter_map(|r| r.work.deadline());
        let scripts = self.scripts.as_ref().and_then(ScriptRunner::poll_timeout);
        let mail = self.mailer.as_ref().and_then(Mailer::poll_timeout);
        cores.chain(probes).chain(others).chain(scripts).chain(mail).chain(self.resume_due()).min()
    }

    fn handle_timeout(&mut self, registry: &Registry, now: Monotonic) {
        for slot in 0..self.probes.len() {
            let expired = self.probes[slot].as_ref().is_some_and(|f| f.probe.deadline() <= now);
            if let Some(done) = expired.then(|| self.take_probe(slot)).flatten() {
                let result = done.probe.timeout_result();
                done.probe.close();
                self.finish(done.vs, done.id, result, now);
            }
        }
        let mut i = 0;
        while i < self.running.len() {
            let expired = self.running[i].work.deadline().is_some_and(|d| d <= now);
            if !expired {
                i += 1;
                continue;
            }
            let r = self.running.swap_remove(i);
            match r.work {
                Work::Ping { .. } => self.finish(r.vs, r.id, CheckResult::failure("timeout"), now),
                Work::Misc(_) => {}
            }
        }
        if let Some(runner) = self.scripts.as_mut() {
            runner.handle_timeout(now);
        }
        self.reap_scripts(now);
        self.start_due(registry, now);
        if let Some(m) = self.mailer.as_mut() {
            if m.poll_timeout().is_some_and(|t| t <= now) {
                m.handle_timeout(registry, now);
            }
        }
        self.drain_mail_results();
        self.flush_state(now);
    }

    fn reload(
        &mut self,
        registry: &Registry,
        _tokens: &mut TokenAlloc,
        new_config: &Config,
        now: Monotonic,
    ) -> Result<(), String> {
        let mut new_vss = build::virtual_servers(new_config)?;
        let (old_daemons, new_daemons) =
            (checker_sync_daemons(&self.global), checker_sync_daemons(&new_config.global));
        self.close_all();
        self.files.close(registry);
        self.files = FileTracker::new(new_config, Token(tokens::FILE_WATCH));
        self.files.open(registry, true);
        self.generation += 1;
        self.global = new_config.global.clone();
        self.lvs_set_timeouts();
        if old_daemons != new_daemons {
            self.lvs_stop_sync_daemons(&old_daemons);
            self.lvs_start_sync_daemons(&new_daemons);
        }
        self.children = fifo::children(new_config, self.only);
        self.open_fifos(now);
        // A changed mail setup replaces the mailer (what it had in flight is
        // abandoned); an unchanged one keeps its queue.
        let mailer_config = crate::smtp::MailerConfig::from_globals(&self.global);
        if self.mailer.as_ref().map(Mailer::config) != mailer_config.as_ref() {
            self.mailer = mailer_config.map(|c| Mailer::new(c, tokens::MAILER));
        }
        let vnow = self.epoch.instant(now);
        let old_vss = std::mem::take(&mut self.vss);
        self.addr_watch.prepare_reload(registry, self.global.netlink_bufs.lvs_monitor, &new_vss);
        let mut kept = vec![false; old_vss.len()];
        // The old index of each new virtual server that was kept.
        let mut was = vec![None; new_vss.len()];
        for (nv, was) in new_vss.iter_mut().zip(&mut was) {
            let found = old_vss.iter().enumerate().find(|(i, ov)| !kept[*i] && ov.cfg.addr == nv.cfg.addr);
            let Some((o, old)) = found else {
                let active = !self.addr_watch.starts_suspended(nv);
                nv.core.start_with(vnow, &mut Self::jitter(&mut self.rng), active);
                continue;
            };
            kept[o] = true;
            *was = Some(o);
            let map = nv.match_real_servers(old);
            let same_sorry = old.dest_spec(DestRef::Sorry, 1) == nv.dest_spec(DestRef::Sorry, 1);
            nv.core.adopt(&old.core, &map, same_sorry);
            nv.adopt_cursors(old, &map);
            nv.core.resume(vnow, &mut Self::jitter(&mut self.rng));
            let (removed, stale_svcs) = nv.leftovers(old, &map, same_sorry);
            for svc in &nv.services {
                let svc = svc.clone();
                self.lvs_call(|l| l.add_service(&svc), || format!("update service {}", svc.addr));
            }
            for (name, d) in removed {
                info!("Removing service {name} from VS {}", nv.name);
                for svc in old.service_addrs() {
                    self.lvs_call(
                        |l| l.del_dest(&svc, d.addr, d.port),
                        || format!("remove {name} from {svc}"),
                    );
                }
            }
            for svc in stale_svcs {
                self.lvs_call(|l| l.del_service(&svc), || format!("remove service {svc}"));
            }
        }
        for (old, _) in old_vss.iter().zip(&kept).filter(|(_, kept)| !**kept) {
            info!("Removing Virtual Server {}", old.name);
            for svc in old.service_addrs() {
                self.lvs_call(|l| l.del_service(&svc), || format!("remove service {svc}"));
            }
        }
        self.vss = new_vss;
        self.addr_watch.reload(registry, &self.vss, &was);
        self.check_scripts();
        for v in 0..self.vss.len() {
            self.apply(v, now);
        }
        self.file_changed(&self.files.names(), now);
        Ok(())
    }

    fn shutdown(&mut self, registry: &Registry, now: Monotonic) {
        self.resume.remove();
        self.close_all();
        self.pinger.close(registry);
        self.files.close(registry);
        self.addr_watch.close(registry);
        if !self.release_on_exit {
            info!("--dont-release-ipvs: leaving the IPVS table as it is");
            return;
        }
        self.stopping = true;
        for v in 0..self.vss.len() {
            self.vss[v].core.shutdown();
            self.apply(v, now);
        }
        if self.global.lvs_flush_on_stop == LvsFlushOnStop::Full {
            info!("IPVS: flushing the table (lvs_flush_on_stop)");
            self.lvs_call(|l| l.flush(), || "flush the table".to_string());
        }
        self.lvs_stop_sync_daemons(&checker_sync_daemons(&self.global));
        // Readers see end of file once they have read the last lines.
        self.fifos.close();
        // omega scripts were just started: give them a moment, since
        // dropping the runner kills what still runs.
        let Some(runner) = self.scripts.as_mut() else { return };
        let start = Monotonic::now();
        let mut readers_told = false;
        while runner.running() > 0 && start.elapsed() < OMEGA_WAIT {
            // A FIFO reader that does not leave at end of file is not waited for.
            if !readers_told && start.elapsed() >= READER_GRACE {
                readers_told = true;
                for key in ["notify_fifo", "lvs_notify_fifo"] {
                    runner.terminate(key, Monotonic::now());
                }
            }
            runner.handle_timeout(Monotonic::now());
            runner.reap_exited();
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn dump_data(&self) -> String {
        let mut out = String::new();
        for vs in &self.vss {
            out.push_str(&vs.dump());
        }
        out
    }

    fn dump_stats(&self) -> String {
        format!("checks run: {}\nchecks failed: {}\n", self.checks_run, self.checks_failed)
    }

    fn clear_stats(&mut self) {
        self.checks_run = 0;
        self.checks_failed = 0;
    }

    fn status(&self) -> Json {
        self.status_json()
    }
}

/// `lvs_sync_daemon` without `inst`: the checker runs a master and a backup
/// daemon (with `inst` the VRRP child runs the one its instance calls for).
fn checker_sync_daemons(g: &GlobalDefs) -> Vec<SyncDaemon> {
    let Some(c) = g.lvs_sync_daemon.as_ref().filter(|c| c.instance.is_none()) else { return Vec::new() };
    [SyncRole::Master, SyncRole::Backup].into_iter().map(|role| SyncDaemon::configured(c, role)).collect()
}

/// SSL_GET's session. SNI only with `enable_sni` or `sni_name`: the
/// `sni_name`, else the virtualhost.
#[cfg(feature = "ssl")]
fn tls_session(ip: IpAddr, h: &HttpCheck, vhost: Option<&str>) -> Result<Box<Tls>, String> {
    super::tls::TlsSession::new(ip, sni(h, vhost)).map(Box::new)
}

/// The SNI SSL_GET sends: only with `enable_sni` or `sni_name`; the
/// `sni_name`, else the virtualhost.
#[cfg_attr(not(any(feature = "ssl", test)), allow(dead_code))]
fn sni<'a>(h: &'a HttpCheck, vhost: Option<&'a str>) -> Option<&'a str> {
    if h.enable_sni || h.sni_name.is_some() {
        h.sni_name.as_deref().or(vhost)
    } else {
        None
    }
}

/// A build without `ssl` refuses SSL_GET configurations; should one get
/// here anyway, the check fails.
#[cfg(not(feature = "ssl"))]
fn tls_session(_ip: IpAddr, _h: &HttpCheck, _vhost: Option<&str>) -> Result<Box<Tls>, String> {
    Err("SSL_GET: this build has no TLS support (cargo feature `ssl`)".to_string())
}

/// UDP_CHECK's datagram without a `payload`: as long as keepalived's, a
/// recognisable pattern rather than its stack bytes.
fn default_udp_payload() -> [u8; super::udp::DEFAULT_PAYLOAD_LEN] {
    let mut p = [0u8; super::udp::DEFAULT_PAYLOAD_LEN];
    for (i, b) in p.iter_mut().enumerate() {
        *b = b'A' + (i % 26) as u8;
    }
    p
}

fn resolve(cmd: &ConfCommand) -> Option<Command> {
    let mut command = match Command::from_words(&cmd.args) {
        Ok(c) => c,
        Err(e) => {
            error!("script {:?}: {e}", cmd.args.join(" "));
            return None;
        }
    };
    if let Err(e) = command.resolve(&script::search_path()) {
        error!("script {:?}: {e}", cmd.args.join(" "));
        return None;
    }
    Some(command)
}

impl CheckerEngine {
    /// keepalived's check of every script at start (and reload), with its
    /// log lines; what may not run is cached as disabled. Stat calls only.
    fn check_scripts(&mut self) {
        let mut policy = ScriptPolicy::for_globals(&self.global);
        let mut lines = policy.global_lines();
        let mut check = |kind: ScriptKind,
                         cmd: &ConfCommand,
                         checker_user: Option<&(String, Option<String>)>| {
            let Ok(mut command) = Command::from_words(&cmd.args) else { return };
            if command.resolve(&script::search_path()).is_err() {
                return; // reported when it is due to run
            }
            lines.extend(policy.check(kind, &cmd.args, &command, script::own_user(cmd, checker_user)).lines);
        };
        for vs in &self.vss {
            for rs in &vs.cfg.real_servers {
                for ck in &rs.checkers {
                    if let CheckerKind::Misc(m) = &ck.kind {
                        if let Some(p) = &m.path {
                            check(ScriptKind::Misc, p, m.user.as_ref());
                        }
                    }
                }
            }
        }
        for vs in &self.vss {
            let quorum = vs.cfg.quorum_up.iter().chain(&vs.cfg.quorum_down);
            let rs = vs
                .cfg
                .real_servers
                .iter()
                .flat_map(|rs| rs.notify_up.as_deref().into_iter().chain(rs.notify_down.as_deref()));
            for cmd in quorum.chain(rs) {
                check(ScriptKind::Notify, cmd, None);
            }
        }
        for line in lines.iter().chain(policy.summary(true).as_ref()) {
            warn!("{line}");
        }
        self.policy = policy;
    }
}

/// A non-zero seed from std's randomly keyed hasher. (Not libc's
/// getrandom(): in a static musl build linked by rust-lld that weak symbol
/// resolved to address 0 and the checker child died at start.)
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() | 1
}

/// xorshift64: warmup spreading needs no better randomness.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

#[cfg(test)]
mod sni_tests {
    use super::super::build::virtualhost;
    use super::*;
    use crate::config::model::HttpProtocol;

    #[test]
    fn virtualhost_from_url_checker_real_server_or_virtual_server() {
        let opts = crate::config::LoadOptions::with_id("n1");
        let conf = "virtual_server 10.0.0.1 80 {\n protocol TCP\n virtualhost vs.example\n \
                    real_server 10.0.0.2 80 {\n virtualhost rs.example\n HTTP_GET {\n virtualhost ck.example\n \
                    url {\n path /a\n virtualhost url.example\n }\n url {\n path /b\n }\n }\n }\n \
                    real_server 10.0.0.3 80 {\n HTTP_GET {\n url {\n path /\n }\n }\n }\n}\n";
        let c = crate::config::load_bytes("t.conf", conf.as_bytes(), std::path::Path::new("/"), &opts).config;
        let vs = &c.virtual_servers[0];
        let host = |r: usize, u: usize| {
            let rs = &vs.real_servers[r];
            let CheckerKind::Http(h) = &rs.checkers[0].kind else { panic!() };
            virtualhost(&h.urls[u], h, rs, vs)
        };
        assert_eq!(host(0, 0).as_deref(), Some("url.example"));
        assert_eq!(host(0, 1).as_deref(), Some("ck.example"));
        let mut no_ck = vs.clone();
        let CheckerKind::Http(h) = &mut no_ck.real_servers[0].checkers[0].kind else { panic!() };
        h.virtualhost = None;
        let rs = &no_ck.real_servers[0];
        let CheckerKind::Http(h) = &rs.checkers[0].kind else { panic!() };
        assert_eq!(virtualhost(&h.urls[1], h, rs, &no_ck).as_deref(), Some("rs.example"));
        assert_eq!(host(1, 0).as_deref(), Some("vs.example"));
    }

    #[test]
    fn sni_only_with_enable_sni_or_sni_name() {
        let mut h = HttpCheck {
            tls: true,
            urls: Vec::new(),
            http_protocol: HttpProtocol::V1_0,
            virtualhost: None,
            enable_sni: false,
            sni_name: None,
        };
        assert_eq!(sni(&h, Some("www.example")), None);
        h.enable_sni = true;
        assert_eq!(sni(&h, Some("www.example")), Some("www.example"), "enable_sni: the virtualhost");
        h.enable_sni = false;
        h.sni_name = Some("sni.example".into());
        assert_eq!(sni(&h, Some("www.example")), Some("sni.example"), "sni_name");
    }
}
