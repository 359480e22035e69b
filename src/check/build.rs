//! From the configuration model to running virtual servers: the cores'
//! parameters (inherited values resolved), the IPVS services and
//! destinations, and the per-checker edge state (HTTP URL rotation).

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use log::error;

use super::action::DestRef;
use super::checker::{CheckerCore, CheckerParams, Wording};
use super::http;
use super::lvs::{DestSpec, ServiceSpec, SvcAddr};
use super::names;
use super::vs::{CheckId, RealServerCore, RealServerParams, VirtualServerCore, VsParams};
use crate::config::diag::Loc;
use crate::config::model::{
    Checker, CheckerKind, Config, GlobalDefs, HttpCheck, Protocol, RealServer, Url, VirtualServer, VsAddr,
    VsgEntry,
};
use crate::runtime::Json;

/// A group range longer than this is cut (a typo should not make 16M services).
const MAX_GROUP_RANGE: u32 = 256;

/// One virtual server as the engine runs it.
pub struct VsRun {
    pub cfg: VirtualServer,
    pub name: String,
    pub services: Vec<ServiceSpec>,
    pub core: VirtualServerCore,
    /// Per real server: the configuration index of each core checker
    /// (every checker has a core: this is the identity).
    ck_map: Vec<Vec<usize>>,
    /// Per real server, per core checker: the next `url` block to fetch.
    url_next: Vec<Vec<usize>>,
    /// Per real server, per core checker: an HTTP checker's `url` blocks
    /// with their requests, built once (no URL copy or Host header
    /// formatting per check).
    http: Vec<Vec<Rc<[HttpPlan]>>>,
}

/// One `url` block of an HTTP_GET/SSL_GET as every check of it sends it.
#[derive(Debug)]
pub struct HttpPlan {
    pub url: Rc<Url>,
    pub request: Rc<[u8]>,
    /// The virtualhost (SSL_GET's SNI may use it).
    pub vhost: Option<String>,
}

impl HttpPlan {
    /// The plans of `h`'s url blocks (a default `/` without any).
    fn for_checker(h: &HttpCheck, ck: &Checker, rs: &RealServer, vs: &VirtualServer) -> Rc<[HttpPlan]> {
        let (ip, port) = ck.effective_target(rs, vs);
        let default = [Rc::new(default_url())];
        let urls = if h.urls.is_empty() { &default[..] } else { &h.urls[..] };
        urls.iter()
            .map(|url| {
                let vhost = virtualhost(url, h, rs, vs);
                let host = vhost.clone().unwrap_or_else(|| SocketAddr::new(ip, port).to_string());
                let request = http::request(&url.path, &host, h.http_protocol).into();
                HttpPlan { url: url.clone(), request, vhost }
            })
            .collect()
    }
}

/// The `virtualhost` of an HTTP check: the url's, else the checker's, the
/// real server's, the virtual server's.
pub(super) fn virtualhost(url: &Url, h: &HttpCheck, rs: &RealServer, vs: &VirtualServer) -> Option<String> {
    url.virtualhost
        .clone()
        .or_else(|| h.virtualhost.clone())
        .or_else(|| rs.virtualhost.clone())
        .or_else(|| vs.virtualhost.clone())
}

/// `HTTP_GET` without a `url` block (the configuration check reports it).
fn default_url() -> Url {
    let loc = Loc { file: Rc::from(""), line: 0, col: 0 };
    Url { path: "/".to_string(), digest: None, status_codes: Vec::new(), virtualhost: None, regex: None, loc }
}

pub fn virtual_servers(config: &Config) -> Result<Vec<VsRun>, String> {
    let mut out = Vec::new();
    for vs in &config.virtual_servers {
        let name = names::virtual_server(vs);
        let services = match services(config, vs) {
            Ok(s) => s,
            Err(e) => {
                error!("VS {name}: {e} - not checked");
                continue;
            }
        };
        out.push(VsRun::new(vs, name, services, &config.global));
    }
    Ok(out)
}

fn services(config: &Config, vs: &VirtualServer) -> Result<Vec<ServiceSpec>, String> {
    let protocol = vs.effective_protocol().into();
    let v6 = vs.is_ipv6();
    let addrs = match &vs.addr {
        VsAddr::Addr(addr, port) => vec![SvcAddr::Addr { protocol, addr: *addr, port: *port }],
        VsAddr::Fwmark(mark) => vec![SvcAddr::Fwmark { v6, mark: *mark }],
        VsAddr::Group(g) => {
            let group =
                config.vs_group(g).ok_or_else(|| format!("virtual_server_group {g} does not exist"))?;
            let mut out = Vec::new();
            for e in &group.entries {
                match e {
                    VsgEntry::Addr { first, last, port, .. } => {
                        for addr in range(*first, *last) {
                            out.push(SvcAddr::Addr { protocol, addr, port: port.unwrap_or(0) });
                        }
                    }
                    VsgEntry::Fwmark { mark, .. } => out.push(SvcAddr::Fwmark { v6, mark: *mark }),
                }
            }
            out
        }
    };
    let persistence = vs.persistence_timeout.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let netmask = vs.persistence_granularity.map(|m| match m {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => u128::from(a).count_ones(),
    });
    let sched = vs.effective_sched().to_string();
    Ok(addrs
        .into_iter()
        .map(|addr| ServiceSpec { addr, scheduler: sched.clone(), persistence, netmask })
        .collect())
}

/// The addresses of `first-last` (same family; only the last part varies).
fn range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            (a..=b.max(a)).take(MAX_GROUP_RANGE as usize).map(|n| IpAddr::from(n.to_be_bytes())).collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            let n = b.saturating_sub(a).min(u128::from(MAX_GROUP_RANGE - 1));
            (0..=n).map(|i| IpAddr::from((a + i).to_be_bytes())).collect()
        }
        _ => vec![first],
    }
}

/// Every configured checker gets a core: one that vigil cannot run
/// (FILE_CHECK, BFD_CHECK, SSL_GET without the `ssl`
/// feature) never passes, so its real server counts as down. Dropping it
/// would leave a real server without checkers, which counts as up.
fn checker_params(ck: &Checker, rs: &RealServer, vs: &VirtualServer, g: &GlobalDefs) -> CheckerParams {
    let protocol = vs.effective_protocol();
    let (ip, port) = ck.effective_target(rs, vs);
    let target = names::service(ip, Protocol::Tcp, port);
    let (wording, target) = match &ck.kind {
        CheckerKind::Tcp => (Wording::Tcp, target),
        CheckerKind::Http(h) if h.tls && !cfg!(feature = "ssl") => {
            error!("SSL_GET for {target} cannot run: this vigil was built without TLS (the ssl feature) - the checker fails");
            (Wording::Unrunnable("SSL_GET"), target)
        }
        CheckerKind::Http(_) => (Wording::Http, target),
        CheckerKind::Smtp { .. } => (Wording::Smtp, target),
        CheckerKind::Misc(m) => {
            let rs_name = names::service(rs.addr, protocol, rs.effective_port(vs));
            let path = m.path.as_ref().map(|c| c.args.join(" ")).unwrap_or_default();
            (Wording::Misc, format!("[{rs_name} VS {}] by [{path}]", names::virtual_server(vs)))
        }
        // keepalived names the query's target, always UDP.
        CheckerKind::Dns { .. } => (Wording::Dns, names::service(ip, Protocol::Udp, port)),
        CheckerKind::Udp(_) => (Wording::Udp, names::service(ip, Protocol::Udp, port)),
        // keepalived names the address alone: an echo has no port.
        CheckerKind::Ping => (Wording::Ping, format!("[{ip}]")),
        CheckerKind::File(f) => {
            let rs_name = names::service(rs.addr, protocol, rs.effective_port(vs));
            (Wording::File, format!("{rs_name} track_file {}", f.track))
        }
        CheckerKind::Unrunnable(keyword) => {
            let rs_name = names::service(rs.addr, protocol, rs.effective_port(vs));
            error!("{keyword} for {rs_name} is not supported by vigil - the checker fails, the real server is down");
            (Wording::Unrunnable(keyword), rs_name)
        }
    };
    // A checker that cannot run starts DOWN (as with `alpha`) and fails at
    // once, without retries: its real server is never in the pool.
    let unrunnable = matches!(wording, Wording::Unrunnable(_));
    CheckerParams {
        wording,
        target,
        delay_loop: ck.effective_delay_loop(rs, vs),
        retry: if unrunnable { 0 } else { ck.effective_retry(rs, vs) },
        delay_before_retry: ck.effective_delay_before_retry(rs, vs),
        warmup: ck.effective_warmup(rs, vs),
        alpha: unrunnable || ck.effective_alpha(rs, vs),
        log_all_failures: ck.log_all_failures.unwrap_or(g.checker_log_all_failures),
    }
}

impl VsRun {
    fn new(vs: &VirtualServer, name: String, services: Vec<ServiceSpec>, g: &GlobalDefs) -> VsRun {
        let protocol = vs.effective_protocol();
        // Every vector sized exactly: they live as long as the child, once
        // per real server (a first push reserves room for four).
        let n = vs.real_servers.len();
        let (mut ck_map, mut rss, mut http) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for rs in &vs.real_servers {
            let n = rs.checkers.len();
            let (mut map, mut cores, mut plans) =
                (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
            for (i, ck) in rs.checkers.iter().enumerate() {
                map.push(i);
                cores.push(CheckerCore::new(checker_params(ck, rs, vs, g)));
                plans.push(match &ck.kind {
                    CheckerKind::Http(h) => HttpPlan::for_checker(h, ck, rs, vs),
                    _ => Rc::from([]),
                });
            }
            http.push(plans);
            let params = RealServerParams {
                name: names::service(rs.addr, protocol, rs.effective_port(vs)),
                weight: u32::try_from(rs.weight).unwrap_or(0),
                inhibit: rs.effective_inhibit_on_failure(vs),
                // Always: a notify point also writes the notify FIFOs' line.
                notify_up: true,
                notify_down: true,
            };
            ck_map.push(map);
            rss.push(RealServerCore::new(params, cores));
        }
        let sorry =
            vs.sorry_server.map(|(ip, port)| names::service(ip, protocol, port.or(vs.port()).unwrap_or(0)));
        let params = VsParams {
            name: name.clone(),
            quorum: vs.quorum,
            hysteresis: vs.hysteresis,
            quorum_up: true,
            quorum_down: true,
            sorry,
            sorry_inhibit: vs.sorry_server_inhibit,
            omega: vs.omega,
        };
        let url_next = ck_map.iter().map(|m| vec![0; m.len()]).collect();
        let core = VirtualServerCore::new(params, rss);
        VsRun { cfg: vs.clone(), name, services, core, ck_map, url_next, http }
    }

    pub fn service_addrs(&self) -> Vec<SvcAddr> {
        self.services.iter().map(|s| s.addr.clone()).collect()
    }

    /// The IPVS destination for a real server or the sorry server.
    pub fn dest_spec(&self, dest: DestRef, weight: u32) -> Option<DestSpec> {
        match dest {
            DestRef::Real(i) => {
                let rs = self.cfg.real_servers.get(i)?;
                Some(DestSpec {
                    addr: rs.addr,
                    port: rs.effective_port(&self.cfg),
                    weight,
                    method: rs.effective_method(&self.cfg),
                    u_threshold: rs.uthreshold,
                    l_threshold: rs.lthreshold,
                })
            }
            DestRef::Sorry => {
                let (addr, port) = self.cfg.sorry_server?;
                Some(DestSpec {
                    addr,
                    port: port.or(self.cfg.port()).unwrap_or(0),
                    weight,
                    method: self.cfg.sorry_server_lvs_method.unwrap_or_else(|| self.cfg.effective_method()),
                    u_threshold: 0,
                    l_threshold: 0,
                })
            }
        }
    }

    pub fn checker_cfg(&self, id: CheckId) -> Option<(&RealServer, &Checker)> {
        let rs = self.cfg.real_servers.get(id.rs)?;
        let ci = *self.ck_map.get(id.rs)?.get(id.ck)?;
        Some((rs, rs.checkers.get(ci)?))
    }

    /// The core's id of checker `c` of real server `r` in the configuration.
    pub fn check_id(&self, r: usize, c: usize) -> Option<CheckId> {
        let ck = self.ck_map.get(r)?.iter().position(|&i| i == c)?;
        Some(CheckId { rs: r, ck })
    }

    /// The `url` block an HTTP checker fetches next, if it is one.
    pub fn next_http(&self, id: CheckId) -> Option<&HttpPlan> {
        let plans = self.http.get(id.rs)?.get(id.ck)?;
        let next = self.url_next.get(id.rs).and_then(|v| v.get(id.ck)).copied().unwrap_or(0);
        plans.get(next % plans.len().max(1))
    }

    /// keepalived walks the `url` blocks one per check, and stays on a
    /// failing one until it passes.
    pub fn checked(&mut self, id: CheckId, ok: bool) {
        if ok {
            if let Some(n) = self.url_next.get_mut(id.rs).and_then(|v| v.get_mut(id.ck)) {
                *n = n.wrapping_add(1);
            }
        }
    }

    /// For each of our real servers, the index of the same one (address
    /// and port) in `old`.
    pub fn match_real_servers(&self, old: &VsRun) -> Vec<Option<usize>> {
        let key = |rs: &RealServer, vs: &VirtualServer| (rs.addr, rs.effective_port(vs));
        self.cfg
            .real_servers
            .iter()
            .map(|rs| old.cfg.real_servers.iter().position(|o| key(o, &old.cfg) == key(rs, &self.cfg)))
            .collect()
    }

    pub fn adopt_cursors(&mut self, old: &VsRun, map: &[Option<usize>]) {
        for (new, o) in map.iter().enumerate() {
            if let (Some(o), Some(cur)) = (o, self.url_next.get_mut(new)) {
                if let Some(old_cur) = old.url_next.get(*o) {
                    for (c, v) in cur.iter_mut().enumerate() {
                        *v = old_cur.get(c).copied().unwrap_or(0);
                    }
                }
            }
        }
    }

    /// What the old configuration had in IPVS that this one drops: real
    /// servers (name and destination) and services.
    pub fn leftovers(
        &self,
        old: &VsRun,
        map: &[Option<usize>],
        same_sorry: bool,
    ) -> (Vec<(String, DestSpec)>, Vec<SvcAddr>) {
        let mut dests = Vec::new();
        for (i, ors) in old.core.real_servers().iter().enumerate() {
            if !map.contains(&Some(i)) && ors.programmed_weight().is_some() {
                if let Some(d) = old.dest_spec(DestRef::Real(i), 0) {
                    dests.push((ors.params().name.clone(), d));
                }
            }
        }
        if !same_sorry && old.core.sorry_weight().is_some() {
            if let Some(d) = old.dest_spec(DestRef::Sorry, 0) {
                dests.push((format!("sorry server [{}]:{}", d.addr, d.port), d));
            }
        }
        let ours = self.service_addrs();
        let stale = old.service_addrs().into_iter().filter(|s| !ours.contains(s)).collect();
        (dests, stale)
    }

    pub fn status(&self) -> Json {
        let rss = self.core.real_servers().iter().map(|rs| {
            let checkers = rs.checkers().iter().map(|ck| {
                let last = ck.last_result();
                Json::obj([
                    ("type", Json::from(ck.params().wording.name())),
                    ("target", Json::from(ck.params().target.as_str())),
                    ("state", Json::from(if ck.is_up() { "UP" } else { "DOWN" })),
                    ("last_ok", last.map_or(Json::Null, |r| Json::from(r.ok))),
                    ("last_result", last.map_or(Json::Null, |r| Json::from(r.detail.as_ref()))),
                    ("failures", Json::from(ck.consecutive_failures())),
                    (
                        "last_latency_us",
                        ck.last_duration().map_or(Json::Null, |d| Json::from(d.as_micros() as u64)),
                    ),
                ])
            });
            Json::obj([
                ("name", Json::from(rs.params().name.as_str())),
                ("state", Json::from(if rs.is_alive() { "UP" } else { "DOWN" })),
                ("weight", Json::from(rs.effective_weight())),
                ("ipvs_weight", rs.programmed_weight().map_or(Json::Null, Json::from)),
                ("checkers", Json::Arr(checkers.collect())),
            ])
        });
        Json::obj([
            ("name", Json::from(self.name.as_str())),
            ("quorum", Json::from(if self.core.has_quorum() { "UP" } else { "DOWN" })),
            ("alive_weight", Json::from(self.core.alive_weight())),
            ("sorry_server_active", Json::from(!self.core.has_quorum() && self.cfg.sorry_server.is_some())),
            ("real_servers", Json::Arr(rss.collect())),
        ])
    }

    pub fn dump(&self) -> String {
        let mut out = format!(
            "VS {} quorum {} alive weight {}\n",
            self.name,
            if self.core.has_quorum() { "UP" } else { "DOWN" },
            self.core.alive_weight()
        );
        for rs in self.core.real_servers() {
            out.push_str(&format!(
                "  RS {} {} weight {} in IPVS {}\n",
                rs.params().name,
                if rs.is_alive() { "UP" } else { "DOWN" },
                rs.effective_weight(),
                rs.programmed_weight().map_or("no".to_string(), |w| format!("weight {w}"))
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::lvs::ProtocolKey;
    use crate::config::diag::Severity;
    use crate::config::model::LvsMethod;
    use crate::config::{load_bytes, LoadOptions};
    use std::path::Path;
    use std::time::Duration;

    fn runs(conf: &str) -> Vec<VsRun> {
        let opts = LoadOptions::with_id("n1");
        let l = load_bytes("t.conf", conf.as_bytes(), Path::new("/"), &opts);
        assert!(!l.has_errors(), "{:?}", l.diags);
        virtual_servers(&l.config).unwrap()
    }

    /// The virtual_server, real_server and checker keywords reach the IPVS
    /// service and destinations vigil programs and the checker cores; the
    /// cores' own tests (src/check/tests.rs) exercise what each one does.
    #[test]
    fn keywords_reach_ipvs_and_the_checkers() {
        let v = runs(
            "global_defs {\n checker_log_all_failures\n}\n\
             virtual_server_group G {\n 198.18.0.10-11 80\n fwmark 7\n}\n\
             virtual_server group G {\n lb_algo rr\n lb_kind DR\n protocol TCP\n persistence_timeout 300\n \
             persistence_granularity 255.255.255.0\n delay_loop 9\n retry 4\n delay_before_retry 2\n warmup 3\n \
             connect_timeout 6\n quorum 2\n hysteresis 1\n omega\n alpha\n inhibit_on_failure\n \
             sorry_server 198.18.2.1 8080\n sorry_server_inhibit\n sorry_server_lvs_method TUN\n \
             real_server 198.18.1.2 80 {\n weight 5\n uthreshold 100\n lthreshold 10\n lvs_method NAT\n \
             retry 6\n TCP_CHECK {\n connect_ip 198.18.3.3\n connect_port 8443\n log_all_failures off\n }\n \
             HTTP_GET {\n url {\n path /\n }\n nb_get_retry 2\n }\n }\n \
             real_server 198.18.1.3 80 {\n delay_loop 5\n inhibit_on_failure off\n \
             TCP_CHECK {\n retry 1\n delay_loop 2\n alpha off\n }\n }\n}\n\
             virtual_server 198.18.0.20 53 {\n lvs_sched wlc\n lvs_method DR\n protocol UDP\n \
             real_server 198.18.1.4 53 {\n MISC_CHECK {\n misc_path /bin/true\n }\n }\n}\n",
        );
        let (g, u) = (&v[0], &v[1]);
        // virtual_server_group: a range and a fwmark.
        let addrs = g.service_addrs();
        let tcp = |a: &str| SvcAddr::Addr { protocol: ProtocolKey::Tcp, addr: a.parse().unwrap(), port: 80 };
        assert_eq!(
            addrs,
            vec![tcp("198.18.0.10"), tcp("198.18.0.11"), SvcAddr::Fwmark { v6: false, mark: 7 }]
        );
        // lb_algo, persistence_timeout, persistence_granularity.
        let s = &g.services[0];
        assert_eq!((s.scheduler.as_str(), s.persistence, s.netmask), ("rr", Some(300), Some(0xffff_ff00)));
        assert_eq!(u.services[0].scheduler, "wlc", "lvs_sched");
        let SvcAddr::Addr { protocol, .. } = &u.services[0].addr else { panic!() };
        assert_eq!(*protocol, ProtocolKey::Udp, "protocol");
        // weight, uthreshold, lthreshold, lvs_method (real server over lb_kind).
        let d = g.dest_spec(DestRef::Real(0), 5).unwrap();
        assert_eq!((d.method, d.u_threshold, d.l_threshold), (LvsMethod::Nat, 100, 10));
        assert_eq!(g.dest_spec(DestRef::Real(1), 1).unwrap().method, LvsMethod::Dr, "lb_kind");
        assert_eq!(u.dest_spec(DestRef::Real(0), 1).unwrap().method, LvsMethod::Dr, "lvs_method");
        // sorry_server, sorry_server_lvs_method, sorry_server_inhibit, quorum, hysteresis, omega.
        let sorry = g.dest_spec(DestRef::Sorry, 0).unwrap();
        assert_eq!(
            (sorry.addr, sorry.port, sorry.method),
            ("198.18.2.1".parse().unwrap(), 8080, LvsMethod::Tun)
        );
        let p = g.core.params();
        assert!(p.sorry.is_some() && p.sorry_inhibit && p.omega);
        assert_eq!((p.quorum, p.hysteresis), (2, 1));
        let rs = g.core.real_servers();
        assert_eq!(rs[0].params().weight, 5);
        assert!(
            rs[0].params().inhibit && !rs[1].params().inhibit,
            "inhibit_on_failure, inherited and overridden"
        );
        // Checker timing: checker over real server over virtual server.
        let c0 = &g.cfg.real_servers[0];
        let tcp0 = checker_params(&c0.checkers[0], c0, &g.cfg, &GlobalDefs::default());
        assert_eq!(tcp0.target, "[198.18.3.3]:tcp:8443", "connect_ip, connect_port");
        assert_eq!((tcp0.retry, tcp0.delay_loop), (6, Duration::from_secs(9)));
        assert_eq!((tcp0.delay_before_retry, tcp0.warmup), (Duration::from_secs(2), Duration::from_secs(3)));
        assert!(tcp0.alpha && !tcp0.log_all_failures);
        let globals = GlobalDefs { checker_log_all_failures: true, ..Default::default() };
        let http = checker_params(&c0.checkers[1], c0, &g.cfg, &globals);
        assert!(http.log_all_failures, "checker_log_all_failures");
        assert_eq!(http.retry, 2, "nb_get_retry");
        let c1 = &g.cfg.real_servers[1];
        let tcp1 = checker_params(&c1.checkers[0], c1, &g.cfg, &globals);
        assert_eq!((tcp1.retry, tcp1.delay_loop, tcp1.alpha), (1, Duration::from_secs(2), false));
        assert_eq!(c1.checkers[0].effective_connect_timeout(c1, &g.cfg), Duration::from_secs(6));
    }

    /// `ip_family`: the family of a fwmark service, and keepalived's errors
    /// when servers or the keyword contradict the family settled.
    #[test]
    fn ip_family_sets_the_fwmark_service_family() {
        let fwm = |body: &str| {
            let conf = format!("virtual_server fwmark 5 {{\n lvs_method NAT\n protocol TCP\n{body}}}\n");
            let opts = LoadOptions::with_id("n1");
            load_bytes("t.conf", conf.as_bytes(), Path::new("/"), &opts)
        };
        let rs = |a: &str| format!(" real_server {a} 80 {{\n TCP_CHECK {{\n }}\n }}\n");
        let v6 = SvcAddr::Fwmark { v6: true, mark: 5 };
        let v4 = SvcAddr::Fwmark { v6: false, mark: 5 };
        // ip_family inet6 makes the service IPv6 and skips an IPv4 real server.
        let l = fwm(&format!(" ip_family inet6\n{}{}", rs("198.18.1.2"), rs("2001:db8::2")));
        let errs: Vec<_> = l.diags.iter().filter(|d| d.severity == Severity::Error).collect();
        assert_eq!(errs.len(), 1, "{:?}", l.diags);
        assert!(errs[0].message.contains("real server 198.18.1.2 don't match - skipping real server"));
        assert_eq!(errs[0].loc.as_ref().unwrap().line, 5);
        let v = virtual_servers(&l.config).unwrap();
        assert_eq!(v[0].service_addrs(), vec![v6.clone()]);
        assert_eq!(l.config.virtual_servers[0].real_servers.len(), 1);
        // Without it the first real server decides; ip_family after it must agree.
        let l = fwm(&format!("{} ip_family inet6\n", rs("198.18.1.2")));
        assert!(l.diags.iter().any(|d| d.severity == Severity::Error
            && d.message.contains("family inet6 conflicts with server family")));
        assert_eq!(virtual_servers(&l.config).unwrap()[0].service_addrs(), vec![v4.clone()]);
        // On an address it must match the address.
        let conf = "virtual_server 198.18.0.1 80 {\n ip_family inet6\n}\n";
        let l = load_bytes("t.conf", conf.as_bytes(), Path::new("/"), &LoadOptions::with_id("n1"));
        assert!(l.diags.iter().any(|d| d.message.contains("conflicts with server family")));
        // Tunnelled servers of both families: IPv4, as keepalived.
        let l = fwm(&format!(" lvs_method TUN\n{}{}", rs("2001:db8::2"), rs("198.18.1.2")));
        assert_eq!(virtual_servers(&l.config).unwrap()[0].service_addrs(), vec![v4]);
        let l = fwm(&format!(" ip_family inet6\n lvs_method TUN\n{}", rs("198.18.1.2")));
        assert_eq!(virtual_servers(&l.config).unwrap()[0].service_addrs(), vec![v6]);
    }
}
