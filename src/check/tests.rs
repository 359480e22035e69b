//! The checker cores on a virtual clock: exact transition times for each
//! keepalived semantic the checkers keep (retries, delays, quorum, alpha).

use std::time::Duration;

use log::Level;

use super::action::{Action, DestRef, ScriptRef};
use super::checker::{CheckResult, CheckerCore, CheckerParams, Wording};
use super::vs::{CheckId, RealServerCore, RealServerParams, VirtualServerCore, VsParams};
use crate::time::Instant;

const VS: &str = "[198.18.0.1]:tcp:80";

fn ck(wording: Wording, delay_loop: u64, retry: u32, dbr: u64, alpha: bool) -> CheckerCore {
    CheckerCore::new(CheckerParams {
        wording,
        target: "[198.18.1.2]:tcp:80".into(),
        delay_loop: Duration::from_secs(delay_loop),
        retry,
        delay_before_retry: Duration::from_secs(dbr),
        warmup: Duration::ZERO,
        alpha,
        log_all_failures: false,
    })
}

fn tcp(retry: u32, alpha: bool) -> CheckerCore {
    ck(Wording::Tcp, 10, retry, 1, alpha)
}

fn rs(n: u8, weight: u32, inhibit: bool, checkers: Vec<CheckerCore>) -> RealServerCore {
    let params = RealServerParams {
        name: format!("[198.18.1.{n}]:tcp:80"),
        weight,
        inhibit,
        notify_up: true,
        notify_down: true,
    };
    RealServerCore::new(params, checkers)
}

fn vs_params(quorum: u32, hysteresis: u32, sorry: bool) -> VsParams {
    VsParams {
        name: VS.into(),
        quorum,
        hysteresis,
        quorum_up: true,
        quorum_down: true,
        sorry: sorry.then(|| "[198.18.9.9]:tcp:80".to_string()),
        sorry_inhibit: false,
        omega: false,
    }
}

fn secs(s: f64) -> Instant {
    Instant::from_micros((s * 1e6) as u64)
}

/// Runs a core against scripted probe results; probes take `probe_time`.
struct Sim {
    core: VirtualServerCore,
    /// (time, action) in order.
    log: Vec<(Instant, Action)>,
    /// Start times of each check.
    starts: Vec<(Instant, CheckId)>,
}

impl Sim {
    fn new(core: VirtualServerCore) -> Sim {
        let mut sim = Sim { core, log: Vec::new(), starts: Vec::new() };
        sim.core.start(Instant::ZERO, &mut |_| Duration::ZERO);
        sim.drain(Instant::ZERO);
        sim
    }

    fn drain(&mut self, t: Instant) {
        while let Some(a) = self.core.poll_action() {
            self.log.push((t, a));
        }
    }

    /// Run until `until`; `result(id, start_time)` decides each probe.
    fn run(&mut self, until: f64, probe_time: f64, result: impl Fn(CheckId, f64) -> CheckResult) {
        let until = secs(until);
        let mut pending: Vec<(Instant, CheckId, CheckResult)> = Vec::new();
        loop {
            let next_due = self.core.poll_timeout();
            let next_end = pending.iter().map(|p| p.0).min();
            let t = match (next_due, next_end) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if t > until {
                break;
            }
            if next_end == Some(t) {
                let i = pending.iter().position(|p| p.0 == t).unwrap();
                let (_, id, r) = pending.remove(i);
                self.core.finish(t, id, r);
                self.drain(t);
                continue;
            }
            for id in self.core.due(t) {
                self.starts.push((t, id));
                let r = result(id, t.as_micros() as f64 / 1e6);
                pending.push((t + Duration::from_micros((probe_time * 1e6) as u64), id, r));
            }
            self.drain(t);
        }
    }

    fn ipvs(&self) -> Vec<(f64, String)> {
        self.log
            .iter()
            .filter_map(|(t, a)| {
                let s = match a {
                    Action::AddDest { dest, weight } => format!("add {dest:?} {weight}"),
                    Action::SetWeight { dest, weight } => format!("set {dest:?} {weight}"),
                    Action::DelDest { dest } => format!("del {dest:?}"),
                    Action::RunScript(s) => format!("run {s:?}"),
                    _ => return None,
                };
                Some((t.as_micros() as f64 / 1e6, s))
            })
            .collect()
    }

    fn lines(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Log { line, .. } => Some(line.clone()),
                _ => None,
            })
            .collect()
    }
}

fn ok() -> CheckResult {
    CheckResult::success("")
}

fn fail() -> CheckResult {
    CheckResult::failure("connection refused")
}

fn ev(t: f64, s: &str) -> (f64, String) {
    (t, s.to_string())
}

/// One wakeup starts the checks due within the batch window, each at most
/// its own tolerance early (1 % of its shortest period, at most 10 ms);
/// `due` alone starts only what is due.
#[test]
fn due_batch_starts_checks_due_within_the_window_and_their_tolerance() {
    let mut fast = ck(Wording::Tcp, 1, 1, 1, false);
    fast.start(Instant::ZERO, Duration::ZERO);
    let short =
        CheckerCore::new(CheckerParams { delay_loop: Duration::from_millis(100), ..fast.params().clone() });
    let rss = vec![
        rs(2, 1, false, vec![fast.clone()]),
        rs(3, 1, false, vec![fast]),
        rs(4, 1, false, vec![short.clone()]),
    ];
    let mut core = VirtualServerCore::new(vs_params(0, 0, false), rss);
    // Every checker's first run: 1 s; then set them apart by finishing at different times.
    core.start(Instant::ZERO, &mut |_| Duration::ZERO);
    let at = |s: f64| secs(s);
    assert_eq!(core.due(at(1.0)).len(), 3);
    core.finish(at(1.0), CheckId { rs: 0, ck: 0 }, CheckResult::success("")); // due 2.0
    core.finish(at(1.008), CheckId { rs: 1, ck: 0 }, CheckResult::success("")); // due 2.008
    core.finish(at(1.905), CheckId { rs: 2, ck: 0 }, CheckResult::success("")); // due 2.005, 1 ms allowed
    assert_eq!(core.poll_timeout(), Some(at(2.0)));
    let mut out = Vec::new();
    core.due_batch(at(2.0), Duration::from_millis(10), &mut out);
    assert_eq!(out, [CheckId { rs: 0, ck: 0 }, CheckId { rs: 1, ck: 0 }], "8 ms early, not the 100 ms one");
    assert_eq!(core.poll_timeout(), Some(at(2.005)), "the short-period check waits for its time");
    out.clear();
    core.due_batch(at(2.004), Duration::from_millis(10), &mut out);
    assert_eq!(out, [CheckId { rs: 2, ck: 0 }], "1 ms early is within its tolerance");
    let mut exact = ck(Wording::Tcp, 1, 1, 1, false);
    exact.start(Instant::ZERO, Duration::ZERO);
    let mut core = VirtualServerCore::new(vs_params(0, 0, false), vec![rs(2, 1, false, vec![exact])]);
    core.start(Instant::ZERO, &mut |_| Duration::ZERO);
    assert!(core.due(at(0.999)).is_empty(), "due: nothing early");
}

#[test]
fn first_run_after_one_second_plus_warmup_jitter() {
    let mut c = ck(Wording::Tcp, 10, 1, 1, false);
    c.start(Instant::ZERO, Duration::from_millis(2500));
    // warmup 0 caps the jitter.
    assert_eq!(c.poll_timeout(), Some(secs(1.0)));
    let mut p = c.params().clone();
    p.warmup = Duration::from_secs(5);
    let mut c = CheckerCore::new(p);
    c.start(Instant::ZERO, Duration::from_millis(2500));
    assert_eq!(c.poll_timeout(), Some(secs(3.5)));
    for r in [0u64, 1, 5_000_000, u64::MAX] {
        assert!(super::checker::warmup_jitter(Duration::from_secs(5), r) <= Duration::from_secs(5));
    }
}

#[test]
fn without_alpha_up_at_start_and_first_failure_marks_down_at_once() {
    let mut sim =
        Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 1, false, vec![tcp(1, false)])]));
    assert_eq!(sim.ipvs(), vec![ev(0.0, "add Real(0) 1"), ev(0.0, "run QuorumUp")]);
    sim.run(1.5, 0.0, |_, _| fail());
    assert_eq!(
        sim.ipvs(),
        vec![
            ev(0.0, "add Real(0) 1"),
            ev(0.0, "run QuorumUp"),
            ev(1.0, "del Real(0)"),
            ev(1.0, "run NotifyDown(0)"),
            ev(1.0, "run QuorumDown")
        ]
    );
    let lines = sim.lines();
    assert!(lines.contains(&"TCP_CHECK on service [198.18.1.2]:tcp:80 failed after 1 retries.".to_string()));
    assert!(lines.contains(&format!("Removing service [198.18.1.2]:tcp:80 from VS {VS}")));
    assert!(lines.contains(&format!("Lost quorum 1-0=1 > 0 for VS {VS}")));
}

#[test]
fn up_to_down_after_retry_plus_one_failures_and_one_success_back() {
    // delay_loop 10, retry 2, delay_before_retry 1; fails from t=5 to t=20.
    let c = ck(Wording::Tcp, 10, 2, 1, false);
    let mut sim = Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 1, false, vec![c])]));
    sim.run(40.0, 0.0, |_, t| if (5.0..20.0).contains(&t) { fail() } else { ok() });
    let starts: Vec<f64> = sim.starts.iter().map(|(t, _)| t.as_micros() as f64 / 1e6).collect();
    // 1 ok; 11, 12, 13 fail (DOWN at 13); 23 ok (UP); 33 ok.
    assert_eq!(starts, vec![1.0, 11.0, 12.0, 13.0, 23.0, 33.0]);
    let ipvs = sim.ipvs();
    assert!(ipvs.contains(&ev(13.0, "del Real(0)")), "{ipvs:?}");
    assert!(ipvs.contains(&ev(23.0, "add Real(0) 1")), "{ipvs:?}");
    let lines = sim.lines();
    assert!(lines.contains(&"TCP_CHECK on service [198.18.1.2]:tcp:80 failed after 2 retries.".to_string()));
    assert!(lines.contains(&"TCP connection to [198.18.1.2]:tcp:80 success.".to_string()));
    assert!(lines.contains(&format!("Gained quorum 1+0=1 <= 1 for VS {VS}")));
}

#[test]
fn a_down_checker_rechecks_every_delay_loop_without_retries() {
    let c = ck(Wording::Tcp, 10, 3, 1, false);
    let mut sim = Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 1, false, vec![c])]));
    sim.run(35.0, 0.0, |_, _| fail());
    let starts: Vec<f64> = sim.starts.iter().map(|(t, _)| t.as_micros() as f64 / 1e6).collect();
    assert_eq!(starts, vec![1.0, 11.0, 21.0, 31.0]);
}

/// `ha_suspend`'s suspended checks (`check::ha_suspend`): a due check that
/// is skipped keeps its `delay_loop` cadence and changes nothing else (a
/// DOWN checker stays DOWN, IPVS is not touched); a skip of a check that is
/// not running is ignored.
#[test]
fn a_skipped_check_keeps_its_period_and_its_state() {
    let mut sim =
        Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 1, false, vec![tcp(0, false)])]));
    sim.run(1.5, 0.0, |_, _| fail());
    let before = sim.ipvs();
    assert!(before.contains(&ev(1.0, "del Real(0)")), "{before:?}");
    let id = CheckId { rs: 0, ck: 0 };
    let mut starts = Vec::new();
    for _ in 0..3 {
        let t = sim.core.poll_timeout().expect("scheduled");
        starts.push(t.as_micros() as f64 / 1e6);
        assert_eq!(sim.core.due(t), vec![id]);
        sim.core.skip(t, id);
        sim.drain(t);
    }
    assert_eq!(starts, vec![11.0, 21.0, 31.0], "every delay_loop, as if probed");
    sim.core.skip(secs(32.0), id);
    assert_eq!(sim.core.poll_timeout(), Some(secs(41.0)), "not running: left alone");
    assert_eq!(sim.ipvs(), before, "nothing changed while skipped");
    let c = &sim.core.real_servers()[0].checkers()[0];
    assert!(!c.is_up() && c.last_result().is_some_and(|r| !r.ok));
}

#[test]
fn alpha_starts_down_and_needs_one_success() {
    let mut sim =
        Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 3, false, vec![tcp(1, true)])]));
    assert_eq!(sim.ipvs(), vec![ev(0.0, "run QuorumDown")]);
    sim.run(1.0, 0.0, |_, _| ok());
    assert!(sim.ipvs().contains(&ev(1.0, "add Real(0) 3")));
    assert!(sim.lines().contains(&"TCP connection to [198.18.1.2]:tcp:80 success.".to_string()));
}

#[test]
fn period_runs_from_the_end_of_a_check_but_from_the_start_for_misc() {
    let mut sim =
        Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 1, false, vec![tcp(1, false)])]));
    sim.run(30.0, 3.0, |_, _| ok());
    let starts: Vec<f64> = sim.starts.iter().map(|(t, _)| t.as_micros() as f64 / 1e6).collect();
    assert_eq!(starts, vec![1.0, 14.0, 27.0]);

    let misc = ck(Wording::Misc, 10, 0, 1, false);
    let mut sim = Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 1, false, vec![misc])]));
    sim.run(30.0, 3.0, |_, _| ok());
    let starts: Vec<f64> = sim.starts.iter().map(|(t, _)| t.as_micros() as f64 / 1e6).collect();
    assert_eq!(starts, vec![1.0, 11.0, 21.0]);
}

#[test]
fn misc_retry_zero_and_its_wording() {
    let mut misc = ck(Wording::Misc, 10, 0, 1, false);
    misc.start(Instant::ZERO, Duration::ZERO);
    misc.begin(secs(1.0));
    misc.finish(secs(1.0), ok());
    misc.begin(secs(11.0));
    assert_eq!(misc.finish(secs(11.0), CheckResult::failure("exited with status 1")), super::Step::WentDown);
    assert_eq!(misc.failure_line(), "Misc check for [198.18.1.2]:tcp:80 failed (exited with status 1).");
}

#[test]
fn inhibit_on_failure_sets_weight_zero_instead_of_removing() {
    let mut sim =
        Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 5, true, vec![tcp(0, false)])]));
    sim.run(25.0, 0.0, |_, t| if (5.0..=15.0).contains(&t) { fail() } else { ok() });
    let ipvs = sim.ipvs();
    assert_eq!(
        ipvs,
        vec![
            ev(0.0, "add Real(0) 5"),
            ev(0.0, "run QuorumUp"),
            ev(11.0, "set Real(0) 0"),
            ev(11.0, "run NotifyDown(0)"),
            ev(11.0, "run QuorumDown"),
            ev(21.0, "set Real(0) 5"),
            ev(21.0, "run NotifyUp(0)"),
            ev(21.0, "run QuorumUp"),
        ]
    );
    assert!(sim.lines().contains(&format!("Disabling service [198.18.1.2]:tcp:80 from VS {VS}")));
    assert!(sim.lines().contains(&format!("Enabling service [198.18.1.2]:tcp:80 to VS {VS}")));
}

#[test]
fn inhibit_with_alpha_adds_weight_zero_at_start() {
    let sim =
        Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 5, true, vec![tcp(1, true)])]));
    assert_eq!(sim.ipvs(), vec![ev(0.0, "run QuorumDown"), ev(0.0, "add Real(0) 0")]);
}

#[test]
fn real_server_is_the_and_of_its_checkers_and_without_checkers_always_up() {
    let two = vec![tcp(0, false), ck(Wording::Http, 10, 0, 3, false)];
    let mut sim = Sim::new(VirtualServerCore::new(
        vs_params(1, 0, false),
        vec![rs(2, 1, false, two), rs(3, 1, false, vec![])],
    ));
    assert_eq!(sim.ipvs(), vec![ev(0.0, "add Real(0) 1"), ev(0.0, "add Real(1) 1"), ev(0.0, "run QuorumUp")]);
    // Only the HTTP checker fails: the real server goes down; server 3 stays.
    sim.run(5.0, 0.0, |id, _| if id.ck == 1 { fail() } else { ok() });
    assert!(sim.ipvs().contains(&ev(1.0, "del Real(0)")));
    assert!(!sim.ipvs().iter().any(|(_, s)| s.contains("Real(1)") && s.starts_with("del")));
    assert!(sim.lines().contains(&"HTTP_CHECK on service [198.18.1.2]:tcp:80 failed.".to_string()));
}

#[test]
fn quorum_hysteresis_and_sorry_server() {
    // Weights 2 + 2, quorum 3, hysteresis 1: lost below 2, regained at 4.
    let a = rs(2, 2, false, vec![tcp(0, false)]);
    let b = rs(3, 2, false, vec![tcp(0, false)]);
    let mut sim = Sim::new(VirtualServerCore::new(vs_params(3, 1, true), vec![a, b]));
    // Server 2 fails from t=5; server 3 fails from t=15; both back from t=25 / t=35.
    sim.run(45.0, 0.0, |id, t| {
        let down = if id.rs == 0 { (5.0..25.0).contains(&t) } else { (15.0..35.0).contains(&t) };
        if down {
            fail()
        } else {
            ok()
        }
    });
    let ipvs = sim.ipvs();
    assert_eq!(
        ipvs,
        vec![
            ev(0.0, "add Real(0) 2"),
            ev(0.0, "add Real(1) 2"),
            ev(0.0, "run QuorumUp"),
            // sum 2 is not below 3-1=2: quorum holds.
            ev(11.0, "del Real(0)"),
            ev(11.0, "run NotifyDown(0)"),
            // sum 0: lost; the sorry server replaces the alive ones.
            ev(21.0, "del Real(1)"),
            ev(21.0, "run NotifyDown(1)"),
            ev(21.0, "run QuorumDown"),
            ev(21.0, "add Sorry 1"),
            // server 2 back: sum 2 < 3+1, no quorum, stays out of IPVS.
            ev(31.0, "run NotifyUp(0)"),
            // both back: sum 4 regains quorum.
            ev(41.0, "run NotifyUp(1)"),
            ev(41.0, "run QuorumUp"),
            ev(41.0, "del Sorry"),
            ev(41.0, "add Real(0) 2"),
            ev(41.0, "add Real(1) 2"),
        ]
    );
    let lines = sim.lines();
    assert!(lines.contains(&format!("Lost quorum 3-1=2 > 0 for VS {VS}")), "{lines:?}");
    assert!(lines.contains(&format!("Gained quorum 3+1=4 <= 4 for VS {VS}")), "{lines:?}");
}

#[test]
fn misc_dynamic_weight_changes_the_destination_weight() {
    let misc = ck(Wording::Misc, 10, 0, 1, false);
    let mut sim = Sim::new(VirtualServerCore::new(vs_params(1, 0, false), vec![rs(2, 1, false, vec![misc])]));
    sim.run(12.0, 0.0, |_, t| {
        let w = if t < 5.0 { 5 } else { 0 };
        CheckResult { ok: true, weight: Some(w), detail: "".into() }
    });
    let ipvs = sim.ipvs();
    assert_eq!(
        ipvs,
        vec![
            ev(0.0, "add Real(0) 1"),
            ev(0.0, "run QuorumUp"),
            ev(1.0, "set Real(0) 5"),
            ev(11.0, "set Real(0) 0"),
            ev(11.0, "run QuorumDown")
        ]
    );
}

#[test]
fn omega_runs_down_scripts_at_shutdown() {
    let mut p = vs_params(1, 0, false);
    p.omega = true;
    let mut core = VirtualServerCore::new(p, vec![rs(2, 1, false, vec![tcp(1, false)])]);
    core.start(Instant::ZERO, &mut |_| Duration::ZERO);
    while core.poll_action().is_some() {}
    core.shutdown();
    let acts: Vec<Action> = std::iter::from_fn(|| core.poll_action()).collect();
    assert_eq!(
        acts,
        vec![
            Action::RunScript(ScriptRef::NotifyDown(0)),
            Action::RunScript(ScriptRef::QuorumDown),
            Action::DelService
        ]
    );
    assert_eq!(core.poll_timeout(), None);
}

#[test]
fn reload_keeps_a_failed_real_server_out() {
    let mut old = Sim::new(VirtualServerCore::new(
        vs_params(1, 0, false),
        vec![rs(2, 1, false, vec![tcp(0, false)]), rs(3, 1, false, vec![tcp(0, false)])],
    ));
    old.run(2.0, 0.0, |id, _| if id.rs == 0 { fail() } else { ok() });
    // The new configuration drops server 3 and adds server 4.
    let mut new = VirtualServerCore::new(
        vs_params(1, 0, false),
        vec![rs(2, 1, false, vec![tcp(0, false)]), rs(4, 1, false, vec![tcp(0, false)])],
    );
    new.adopt(&old.core, &[Some(0), None], true);
    new.resume(secs(3.0), &mut |_| Duration::ZERO);
    let acts: Vec<Action> =
        std::iter::from_fn(|| new.poll_action()).filter(|a| !matches!(a, Action::Log { .. })).collect();
    assert_eq!(acts, vec![Action::AddDest { dest: DestRef::Real(1), weight: 1 }]);
    assert!(!new.real_servers()[0].is_alive());
    assert_eq!(new.poll_timeout(), Some(secs(4.0)));
}

#[test]
fn quorum_is_capped_at_the_total_weight() {
    let mut core = VirtualServerCore::new(vs_params(10, 0, false), vec![rs(2, 3, false, vec![])]);
    assert_eq!(core.params().quorum, 3);
    let first = core.poll_action();
    assert!(matches!(first, Some(Action::Log { level: Level::Warn, .. })), "{first:?}");
}

mod engine {
    use std::net::IpAddr;
    use std::path::Path;

    use crate::check::lvs::ProtocolKey;
    use crate::check::{CheckerEngine, MemoryLvs, SvcAddr};
    use crate::config::{load_bytes, Config, LoadOptions};
    use crate::runtime::{Subsystem, TokenAlloc};

    fn config(text: &str) -> Config {
        let opts = LoadOptions::with_id("t");
        let l = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
        assert!(!l.has_errors(), "{:?}", l.diags);
        l.config
    }

    fn svc(last: u8) -> SvcAddr {
        SvcAddr::Addr { protocol: ProtocolKey::Tcp, addr: IpAddr::from([198, 18, 0, last]), port: 80 }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([198, 18, 1, last])
    }

    /// A service in the table that vigil's configuration does not have.
    fn foreign_service() -> crate::check::lvs::ServiceSpec {
        crate::check::lvs::ServiceSpec {
            addr: svc(9),
            scheduler: "rr".into(),
            persistence: None,
            netmask: None,
        }
    }

    /// An engine for `conf` started on a table that already holds `foreign_service()`.
    fn started_beside_a_foreign_service(conf: &Config) -> (MemoryLvs, CheckerEngine, mio::Poll) {
        let mut lvs = MemoryLvs::new();
        crate::check::lvs::Lvs::add_service(&mut lvs, &foreign_service()).unwrap();
        let mut e = CheckerEngine::with_lvs(conf, Some(Box::new(lvs.clone()))).unwrap();
        let poll = mio::Poll::new().unwrap();
        e.register(poll.registry(), &mut TokenAlloc::new()).unwrap();
        (lvs, e, poll)
    }

    const HEAD: &str = "virtual_server 198.18.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n";

    #[test]
    fn reload_diffs_ipvs_and_keeps_running() {
        let one = config(&format!(
            "{HEAD} real_server 198.18.1.2 80 {{ weight 1 }}\n real_server 198.18.1.3 80 {{ weight 1 }}\n}}\n"
        ));
        let two = config(&format!(
            "{HEAD} real_server 198.18.1.2 80 {{ weight 4 }}\n real_server 198.18.1.4 80 {{ weight 1 }}\n}}\n\
             virtual_server 198.18.0.2 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
             real_server 198.18.1.5 80 {{ weight 2 }}\n}}\n"
        ));
        let lvs = MemoryLvs::new();
        let mut e = CheckerEngine::with_lvs(&one, Some(Box::new(lvs.clone()))).unwrap();
        let poll = mio::Poll::new().unwrap();
        let mut tokens = TokenAlloc::new();
        e.register(poll.registry(), &mut tokens).unwrap();
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), Some(1));
        assert_eq!(lvs.weight(&svc(1), ip(3), 80), Some(1));
        assert_eq!(e.poll_timeout(), None, "no checkers, nothing to schedule");

        e.reload(poll.registry(), &mut tokens, &two, std::time::Instant::now()).unwrap();
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), Some(4));
        assert_eq!(lvs.weight(&svc(1), ip(3), 80), None);
        assert_eq!(lvs.weight(&svc(1), ip(4), 80), Some(1));
        assert_eq!(lvs.weight(&svc(2), ip(5), 80), Some(2));

        // Dropping the second VS removes its service.
        e.reload(poll.registry(), &mut tokens, &one, std::time::Instant::now()).unwrap();
        assert!(lvs.dests(&svc(2)).is_none());
        assert_eq!(lvs.weight(&svc(1), ip(3), 80), Some(1));

        let status = e.status();
        let text = status.to_string();
        assert!(text.contains(r#""name":"[198.18.0.1]:tcp:80""#), "{text}");
        assert!(text.contains(r#""state":"UP""#), "{text}");
        assert_eq!(status.get("ipvs").and_then(|j| j.as_str()), Some("memory"));

        e.shutdown(poll.registry(), std::time::Instant::now());
        assert!(lvs.services().is_empty());
    }

    /// FILE_CHECK programs IPVS: the weight at start is the configured one
    /// moved by value x weight, a change of the file (seen through inotify on
    /// the engine's poll) edits the destination's weight at once, and a
    /// FAULT value removes it; a reload keeps following the file.
    #[test]
    fn file_check_weights_reach_ipvs() {
        let dir = std::env::temp_dir().join(format!("vigil-filecheck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w");
        std::fs::write(&path, "4\n").unwrap();
        let text = format!(
            "track_file w {{\n file {}\n weight 3\n}}\n{HEAD} delay_loop 60\n \
             real_server 198.18.1.2 80 {{\n weight 10\n FILE_CHECK {{\n track_file w\n }}\n }}\n}}\n",
            path.display()
        );
        let conf = config(&text);
        let lvs = MemoryLvs::new();
        let mut e = CheckerEngine::with_lvs(&conf, Some(Box::new(lvs.clone()))).unwrap();
        let mut poll = mio::Poll::new().unwrap();
        let mut tokens = TokenAlloc::new();
        e.register(poll.registry(), &mut tokens).unwrap();
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), Some(22), "10 + 4 x 3 at once");
        // Turn the loop until the destination's weight is `want` (or 5 s pass).
        fn turn(
            e: &mut CheckerEngine,
            poll: &mut mio::Poll,
            lvs: &MemoryLvs,
            want: Option<u32>,
        ) -> Option<u32> {
            let mut events = mio::event::Events::with_capacity(8);
            let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while lvs.weight(&svc(1), ip(2), 80) != want && std::time::Instant::now() < end {
                poll.poll(&mut events, Some(std::time::Duration::from_millis(100))).unwrap();
                for ev in events.iter() {
                    e.handle_event(poll.registry(), ev, std::time::Instant::now());
                }
            }
            lvs.weight(&svc(1), ip(2), 80)
        }
        let until = |e: &mut CheckerEngine, poll: &mut mio::Poll, want| turn(e, poll, &lvs, want);
        std::fs::write(&path, "-2\n").unwrap();
        assert_eq!(until(&mut e, &mut poll, Some(4)), Some(4), "10 - 2 x 3");
        std::fs::write(&path, "-30000\n").unwrap();
        assert_eq!(until(&mut e, &mut poll, None), None, "a FAULT takes the server out");
        // A reload with another weight: the file is followed still.
        let conf = config(&text.replace("weight 3", "weight 1"));
        e.reload(poll.registry(), &mut tokens, &conf, std::time::Instant::now()).unwrap();
        std::fs::write(&path, "5\n").unwrap();
        assert_eq!(until(&mut e, &mut poll, Some(15)), Some(15), "10 + 5 x 1 after the reload");
        e.shutdown(poll.registry(), std::time::Instant::now());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A checker vigil cannot run never leaves its real server up: it
    /// starts DOWN (not added to IPVS), fails at its first run without
    /// retries, and says so in the status. (No probe touches the network.)
    #[test]
    fn unrunnable_checkers_keep_the_real_server_down() {
        let opts = LoadOptions::with_id("t");
        let text = format!(
            "{HEAD} real_server 198.18.1.2 80 {{\n BFD_CHECK {{\n connect_timeout 2\n }}\n }}\n \
             real_server 198.18.1.3 80 {{\n weight 1\n }}\n \
             real_server 198.18.1.4 80 {{\n BFD_CHECK {{\n }}\n BFD_CHECK {{\n name b\n }}\n }}\n}}\n"
        );
        let l = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
        assert!(!l.has_errors(), "{:?}", l.diags);
        let warned: Vec<u32> = l
            .diags
            .iter()
            .filter(|d| d.message.contains("counts as down"))
            .filter_map(|d| d.loc.as_ref().map(|l| l.line))
            .collect();
        assert_eq!(warned, vec![6, 14, 16], "{:?}", l.diags);
        let lvs = MemoryLvs::new();
        let mut e = CheckerEngine::with_lvs(&l.config, Some(Box::new(lvs.clone()))).unwrap();
        let poll = mio::Poll::new().unwrap();
        let mut tokens = TokenAlloc::new();
        e.register(poll.registry(), &mut tokens).unwrap();
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), None, "BFD_CHECK's server is not in the pool");
        assert_eq!(lvs.weight(&svc(1), ip(3), 80), Some(1), "no checker: up, as in keepalived");
        assert_eq!(lvs.weight(&svc(1), ip(4), 80), None, "BFD_CHECKs' server is not in the pool");
        // Run the first checks (1 s + warmup jitter; warmup is the delay_loop, 60 s).
        let mut now = std::time::Instant::now();
        let until = now + std::time::Duration::from_secs(70);
        let st = loop {
            now = e.poll_timeout().unwrap_or(until).max(now).min(until);
            e.handle_timeout(poll.registry(), now);
            let st = e.status().to_string();
            if st.matches("is not supported by vigil").count() == 3 || now >= until {
                break st;
            }
        };
        assert!(st.contains(r#""type":"BFD_CHECK""#), "{st}");
        assert_eq!(st.matches("is not supported by vigil").count(), 3, "{st}");
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), None);
        assert_eq!(lvs.weight(&svc(1), ip(4), 80), None);
        e.shutdown(poll.registry(), std::time::Instant::now());
    }

    /// `lvs_flush` empties the table before the first service, `lvs_timeouts`
    /// are set, a sync daemon without `inst` runs as master and backup, and
    /// `lvs_flush_on_stop` flushes at the end (a foreign service too).
    #[test]
    fn lvs_flush_timeouts_and_the_checkers_sync_daemons() {
        let globals = "global_defs {\n lvs_flush\n lvs_flush_on_stop\n lvs_timeouts tcp 900 udp 30\n \
                       lvs_sync_daemon eth1 id 9 port 9000\n}\n";
        let conf = config(&format!("{globals}{HEAD} real_server 198.18.1.2 80 {{ weight 3 }}\n}}\n"));
        let (mut lvs, mut e, poll) = started_beside_a_foreign_service(&conf);
        assert!(lvs.dests(&svc(9)).is_none(), "flushed at start");
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), Some(3));
        let t = lvs.timeouts();
        assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 0, 30));
        let daemons = lvs.sync_daemons();
        let roles: Vec<&str> = daemons.iter().map(|d| d.role.as_str()).collect();
        assert_eq!(roles, ["master", "backup"]);
        assert!(daemons.iter().all(|d| d.ifname == "eth1" && d.sync_id == 9 && d.port == Some(9000)));

        crate::check::lvs::Lvs::add_service(&mut lvs, &foreign_service()).unwrap();
        e.shutdown(poll.registry(), std::time::Instant::now());
        assert!(lvs.services().is_empty(), "flushed at stop, the foreign service too");
        assert!(lvs.sync_daemons().is_empty());
    }

    /// Without `lvs_flush_on_stop` only vigil's own services go; `VS` removes
    /// them whole. A sync daemon that follows a VRRP instance is not the checker's.
    #[test]
    fn flush_on_stop_vs_removes_only_own_services() {
        for on_stop in ["", " lvs_flush_on_stop VS\n"] {
            let globals = format!("global_defs {{\n{on_stop} lvs_sync_daemon eth1 inst VI_1\n}}\n");
            let vi = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n priority 100\n \
                      virtual_ipaddress {\n 198.18.0.1\n }\n}\n";
            let conf = config(&format!("{globals}{vi}{HEAD} real_server 198.18.1.2 80 {{ weight 3 }}\n}}\n"));
            assert_eq!(conf.global.lvs_sync_daemon.as_ref().and_then(|d| d.sync_id), Some(7), "the VRID");
            let (lvs, mut e, poll) = started_beside_a_foreign_service(&conf);
            assert!(lvs.sync_daemons().is_empty(), "the VRRP child runs it");
            assert_eq!(lvs.weight(&svc(1), ip(2), 80), Some(3));
            e.shutdown(poll.registry(), std::time::Instant::now());
            let left: Vec<SvcAddr> = lvs.services().into_iter().map(|s| s.addr).collect();
            assert_eq!(left, [svc(9)], "{on_stop:?}");
        }
    }

    /// A checker child that replaces one that died goes on from its state
    /// file: a real server that was down stays out of IPVS (a fresh start
    /// would add it back until its checks fail again), one that was up stays.
    #[test]
    fn a_successor_resumes_the_dead_childs_real_servers() {
        let conf = config(&format!(
            "{HEAD} real_server 198.18.1.2 80 {{ weight 3\n TCP_CHECK {{\n }}\n }}\n \
             real_server 198.18.1.3 80 {{ weight 2\n TCP_CHECK {{\n }}\n }}\n}}\n"
        ));
        let dir = std::env::temp_dir().join(format!("vigil-ckresume-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let state = dir.join("checker.state");
        let from = |predecessor| {
            Some(crate::sys::state_file::ResumeFrom {
                state_file: state.clone(),
                config_digest: "d1".into(),
                predecessor,
            })
        };
        // The predecessor: both up at start, then .3 fails.
        let lvs = MemoryLvs::new();
        let started = std::time::Instant::now();
        let mut e = CheckerEngine::with_lvs(&conf, Some(Box::new(lvs.clone()))).unwrap();
        e.resume_from(from(None));
        let poll = mio::Poll::new().unwrap();
        e.register(poll.registry(), &mut TokenAlloc::new()).unwrap();
        assert_eq!(lvs.weight(&svc(1), ip(3), 80), Some(2));
        e.fail_for_test(0, 1);
        assert_eq!(lvs.weight(&svc(1), ip(3), 80), None, "taken out");
        // Written at the end of the loop pass, not by the change itself.
        let text = std::fs::read_to_string(&state).unwrap();
        assert!(!text.contains("rs - - 0.1.0.1"), "{text}");
        let now = std::time::Instant::now();
        assert!(e.poll_timeout().is_some_and(|t| t <= now), "the write is due in this pass");
        e.end_pass_for_test(now);
        let text = std::fs::read_to_string(&state).unwrap();
        assert!(text.contains("rs - - 0.1.0.1"), "{text}");
        drop(e); // dies: no shutdown, the table stays
        let life = crate::runtime::Lifetime { started, died: std::time::Instant::now() };

        // Its successor, on the same table: nothing is re-added.
        let mut e = CheckerEngine::with_lvs(&conf, Some(Box::new(lvs.clone()))).unwrap();
        e.resume_from(from(Some(life)));
        e.register(poll.registry(), &mut TokenAlloc::new()).unwrap();
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), Some(3));
        assert_eq!(lvs.weight(&svc(1), ip(3), 80), None, "a down server stays out");
        let status = e.status().to_string();
        assert!(status.contains(r#""state":"DOWN""#), "{status}");

        // A normal start (no predecessor seen dying) starts afresh.
        let mut e = CheckerEngine::with_lvs(&conf, Some(Box::new(lvs.clone()))).unwrap();
        e.resume_from(from(None));
        e.register(poll.registry(), &mut TokenAlloc::new()).unwrap();
        assert_eq!(lvs.weight(&svc(1), ip(3), 80), Some(2));
        e.shutdown(poll.registry(), std::time::Instant::now());
        assert!(!state.exists(), "a clean stop removes the state");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `-I/--dont-release-ipvs`: a stop leaves the services and real servers in the table.
    #[test]
    fn dont_release_ipvs_leaves_the_table() {
        let one = config(&format!("{HEAD} real_server 198.18.1.2 80 {{ weight 3 }}\n}}\n"));
        let lvs = MemoryLvs::new();
        let mut e = CheckerEngine::with_lvs(&one, Some(Box::new(lvs.clone()))).unwrap();
        e.release_on_exit = false;
        let poll = mio::Poll::new().unwrap();
        let mut tokens = TokenAlloc::new();
        e.register(poll.registry(), &mut tokens).unwrap();
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), Some(3));
        e.shutdown(poll.registry(), std::time::Instant::now());
        assert_eq!(lvs.services().len(), 1);
        assert_eq!(lvs.weight(&svc(1), ip(2), 80), Some(3));
    }

    #[test]
    fn http_urls_are_walked_one_per_check_and_a_failing_one_is_retried() {
        let c = config(&format!(
            "{HEAD} real_server 198.18.1.2 80 {{\n HTTP_GET {{\n url {{\n path /a\n }}\n url {{\n path /b\n }}\n }}\n }}\n}}\n"
        ));
        let mut vss = crate::check::build::virtual_servers(&c).unwrap();
        let v = &mut vss[0];
        let id = crate::check::CheckId { rs: 0, ck: 0 };
        let path = |v: &crate::check::build::VsRun| v.next_http(id).unwrap().url.path.clone();
        assert_eq!(path(v), "/a");
        v.checked(id, true);
        assert_eq!(path(v), "/b");
        v.checked(id, false);
        assert_eq!(path(v), "/b");
        v.checked(id, true);
        assert_eq!(path(v), "/a");
    }
}

/// The schedule heap finds the same due checks a scan would: 200 checkers
/// with delay loops of 1..=7 s and probes of varied length, each started
/// exactly at its due time and never twice at once.
#[test]
fn many_checkers_run_exactly_on_schedule() {
    let servers: Vec<RealServerCore> = (0..200u32)
        .map(|i| rs((i % 250) as u8, 1, false, vec![ck(Wording::Tcp, 1 + u64::from(i % 7), 1, 1, false)]))
        .collect();
    let mut sim = Sim::new(VirtualServerCore::new(vs_params(0, 0, false), servers));
    sim.run(60.0, 0.25, |id, _| {
        if id.rs % 5 == 0 {
            CheckResult::failure("refused")
        } else {
            CheckResult::success("ok")
        }
    });
    for r in 0..200usize {
        let times: Vec<f64> =
            sim.starts.iter().filter(|(_, id)| id.rs == r).map(|(t, _)| t.as_micros() as f64 / 1e6).collect();
        let delay = 1.0 + (r % 7) as f64;
        // Success: the next run is delay_loop after the end; a failure with
        // retry 1 retries after delay_before_retry (1 s), then delay_loop.
        assert!(times.len() >= (60.0 / (delay + 1.25)) as usize, "rs {r}: {times:?}");
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            let ok = (gap - (delay + 0.25)).abs() < 1e-6 || (gap - 1.25).abs() < 1e-6;
            assert!(ok, "rs {r}: gap {gap} in {times:?}");
        }
    }
    assert!(sim.core.poll_timeout().is_some());
}

#[test]
fn the_last_check_duration_is_kept_for_the_metrics() {
    let mut misc = ck(Wording::Misc, 10, 0, 1, false);
    misc.start(Instant::ZERO, Duration::ZERO);
    assert_eq!(misc.last_duration(), None);
    misc.begin(secs(1.0));
    misc.finish(secs(1.25), ok());
    assert_eq!(misc.last_duration(), Some(Duration::from_millis(250)));
    let mut reloaded = ck(Wording::Misc, 5, 0, 1, false);
    reloaded.adopt(&misc);
    assert_eq!(reloaded.last_duration(), Some(Duration::from_millis(250)));
}
