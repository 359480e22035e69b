//! The Prometheus text exposition format (version 0.0.4) of the children's
//! status objects: what `vigil status --prometheus` prints and what the
//! `metrics_listen` listener serves (see [`super::metrics_http`]).
//!
//! Pure: the status objects the control sockets answer (the same
//! [`Json`] `vigil status --json` prints) go in, text comes out. There is
//! no second way to collect state.
//!
//! Names: where the widely used keepalived exporter (mehdy/keepalived-exporter,
//! formerly cafebazaar) has a metric, vigil uses its name, labels and value
//! encoding, so dashboards and alerts written for keepalived keep working:
//! `keepalived_up`, `keepalived_vrrp_state{iname,intf,vrid,ip_address}`
//! (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT), the per-instance counters
//! `keepalived_*_total{iname,intf,vrid}` and `keepalived_script_status{name}`
//! (0 BAD, 1 GOOD). What only vigil knows has a `vigil_` prefix: priorities,
//! per-reason reject counters, advert lateness, trackers, virtual and real
//! servers and their checkers, child uptime and restarts.

use std::fmt::Write as _;

use crate::runtime::Json;

/// What the parent adds about its children (the listener only: `vigil
/// status` has no parent to ask).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParentView {
    /// `(child name, restarts since the daemon started)`.
    pub restarts: Vec<(String, u64)>,
}

/// The answer of one child's control socket, or why there is none.
pub type ChildStatus = (String, Result<Json, String>);

/// The whole exposition for `children` (as named by `ChildKind::name`).
pub fn render(children: &[ChildStatus], parent: Option<&ParentView>) -> String {
    let mut m = Families::default();
    let all_up = !children.is_empty() && children.iter().all(|(_, s)| s.is_ok());
    m.gauge("keepalived_up", "Whether every child of the daemon answered (1) or not (0)")
        .sample(&[], b2f(all_up));
    m.gauge("vigil_build_info", "vigil's version, as a label")
        .sample(&[("version", crate::runtime::VERSION)], 1.0);
    for (child, status) in children {
        m.gauge("vigil_child_up", "Whether the child answered on its control socket")
            .sample(&[("child", child)], b2f(status.is_ok()));
        let Ok(status) = status else { continue };
        if let Some(up) = num(status, "uptime_s") {
            m.gauge("vigil_child_uptime_seconds", "Seconds since the child started")
                .sample(&[("child", child)], up);
        }
        if status.get("instances").is_some() {
            vrrp(&mut m, status);
        }
        if status.get("virtual_servers").is_some() {
            checker(&mut m, status);
        }
    }
    if let Some(p) = parent {
        for (child, n) in &p.restarts {
            m.counter("vigil_child_restarts_total", "Times the parent restarted the child after it died")
                .sample(&[("child", child)], *n as f64);
        }
    }
    m.text()
}

/// A VIP as keepalived's data dump writes it, which is where the exporter
/// takes `ip_address` from: `ADDR/LEN`, but a host address without `/32`
/// or `/128`.
fn exporter_address(vip: &str) -> &str {
    match vip.rsplit_once('/') {
        Some((addr, "32")) if !addr.contains(':') => addr,
        Some((addr, "128")) if addr.contains(':') => addr,
        _ => vip,
    }
}

/// keepalived's numbering of states, as the exporter exports it.
fn state_number(state: &str) -> f64 {
    match state {
        "BACKUP" => 1.0,
        "MASTER" => 2.0,
        "FAULT" => 3.0,
        // INIT, and STOP (an instance on its way out).
        _ => 0.0,
    }
}

/// The exporter's per-instance counters, from vigil's counter or the sum
/// of its reject reasons.
const INSTANCE_COUNTERS: &[(&str, &str, &[&str])] = &[
    ("keepalived_advertisements_received_total", "Advertisements received", &["rx"]),
    ("keepalived_advertisements_sent_total", "Advertisements sent", &["tx"]),
    ("keepalived_become_master_total", "Times the instance became master", &["became_master"]),
    ("keepalived_release_master_total", "Times the instance left master", &["released_master"]),
    ("keepalived_priority_zero_received_total", "Priority 0 advertisements received", &["prio0_rx"]),
    ("keepalived_priority_zero_sent_total", "Priority 0 advertisements sent", &["prio0_tx"]),
];

const REJECT_COUNTERS: &[(&str, &str, &[&str])] = &[
    ("keepalived_packet_length_errors_total", "Adverts of a wrong length", &["BadLength"]),
    (
        "keepalived_advertisements_interval_errors_total",
        "Adverts with another interval",
        &["IntervalMismatch"],
    ),
    ("keepalived_ip_ttl_errors_total", "Adverts with a TTL or hop limit not 255", &["BadTtl"]),
    ("keepalived_invalid_type_received_total", "Adverts of a type other than 1", &["BadType"]),
    (
        "keepalived_authentication_mismatch_total",
        "Adverts with another or an unknown authentication type (vigil does not tell them apart)",
        &["BadAuthType"],
    ),
    (
        "keepalived_authentication_failure_total",
        "Adverts failing authentication (PASS, AH ICV or auth_hmac digest)",
        &["AuthMismatch", "AhAuthFailure", "HmacBadDigest"],
    ),
];

fn vrrp(m: &mut Families, status: &Json) {
    let Some(Json::Arr(instances)) = status.get("instances") else { return };
    for inst in instances {
        let name = text(inst, "name");
        let intf = text(inst, "interface");
        let vrid = num(inst, "vrid").map(number).unwrap_or_default();
        let labels: [(&str, &str); 3] = [("iname", &name), ("intf", &intf), ("vrid", &vrid)];
        let state = state_number(&text(inst, "state"));
        let vips: Vec<&str> = match inst.get("vips") {
            Some(Json::Arr(v)) => v.iter().filter_map(Json::as_str).map(exporter_address).collect(),
            _ => Vec::new(),
        };
        let help = "Instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (one sample per VIP)";
        let f = m.gauge("keepalived_vrrp_state", help);
        if vips.is_empty() {
            // As the exporter does for an instance without VIPs.
            f.sample(&[labels[0], labels[1], labels[2], ("ip_address", "")], state);
        }
        for vip in &vips {
            f.sample(&[labels[0], labels[1], labels[2], ("ip_address", vip)], state);
        }
        for (metric, help, keys) in INSTANCE_COUNTERS {
            if let Some(v) = sum(inst, keys) {
                m.counter(metric, help).sample(&labels, v);
            }
        }
        if let Some(rejected) = inst.get("rejected") {
            for (metric, help, keys) in REJECT_COUNTERS {
                if let Some(v) = sum(rejected, keys) {
                    m.counter(metric, help).sample(&labels, v);
                }
            }
            if let Json::Obj(reasons) = rejected {
                for (reason, v) in reasons {
                    if let Some(v) = as_f64(v) {
                        let help = "Received adverts dropped, by vigil's reason";
                        m.counter("vigil_vrrp_rejected_total", help)
                            .sample(&[labels[0], labels[1], labels[2], ("reason", reason)], v);
                    }
                }
            }
        }
        // The last field divides the value into the metric's unit.
        let gauges: [(&str, &str, &str, f64); 5] = [
            ("vigil_vrrp_priority", "Configured priority", "priority", 1.0),
            ("vigil_vrrp_effective_priority", "Priority after tracking weights", "effective_priority", 1.0),
            (
                "vigil_vrrp_last_transition_timestamp_seconds",
                "Unix time of the last state change",
                "last_transition",
                1.0,
            ),
            (
                "vigil_vrrp_advert_late_max_seconds",
                "Worst delay of a periodic advert past its scheduled instant",
                "advert_late_max_us",
                1e6,
            ),
            (
                "vigil_vrrp_advert_late_mean_seconds",
                "Mean delay of periodic adverts past their scheduled instant",
                "advert_late_mean_us",
                1e6,
            ),
        ];
        for (metric, help, key, divisor) in gauges {
            if let Some(v) = num(inst, key) {
                m.gauge(metric, help).sample(&labels, v / divisor);
            }
        }
        if let Some(v) = num(inst, "adverts_late") {
            let help = "Periodic adverts sent later than a quarter of the interval";
            m.counter("vigil_vrrp_adverts_late_total", help).sample(&labels, v);
        }
    }
    for (key, metric, help) in [
        ("unknown_vrid", "vigil_vrrp_unknown_vrid_total", "Adverts for no configured instance"),
        ("malformed", "vigil_vrrp_malformed_total", "Packets that are not VRRP adverts"),
    ] {
        if let Some(v) = num(status, key) {
            m.counter(metric, help).sample(&[], v);
        }
    }
    trackers(m, status);
}

/// `trackers`: `[{kind, name, state}]`, state GOOD or BAD.
fn trackers(m: &mut Families, status: &Json) {
    let Some(Json::Arr(items)) = status.get("trackers") else { return };
    for t in items {
        let (kind, name) = (text(t, "kind"), text(t, "name"));
        let good = b2f(text(t, "state") == "GOOD");
        if kind == "script" {
            m.gauge("keepalived_script_status", "vrrp_script result: 0 BAD, 1 GOOD")
                .sample(&[("name", &name)], good);
        }
        m.gauge("vigil_tracker_up", "Tracked script, ping or interface: 0 BAD/down, 1 GOOD/up")
            .sample(&[("kind", &kind), ("name", &name)], good);
    }
}

fn checker(m: &mut Families, status: &Json) {
    for (key, metric, help) in [
        ("checks_run", "vigil_checks_total", "Health checks completed"),
        ("checks_failed", "vigil_checks_failed_total", "Health checks that failed"),
    ] {
        if let Some(v) = num(status, key) {
            m.counter(metric, help).sample(&[], v);
        }
    }
    let Some(Json::Arr(vss)) = status.get("virtual_servers") else { return };
    for vs in vss {
        let vs_name = text(vs, "name");
        let l = [("vs", vs_name.as_str())];
        m.gauge("vigil_virtual_server_quorum_up", "Whether the virtual server has its quorum")
            .sample(&l, b2f(text(vs, "quorum") == "UP"));
        if let Some(v) = num(vs, "alive_weight") {
            m.gauge("vigil_virtual_server_alive_weight", "Sum of the weights of the live real servers")
                .sample(&l, v);
        }
        if let Some(Json::Bool(b)) = vs.get("sorry_server_active") {
            m.gauge("vigil_virtual_server_sorry_server_active", "Whether the sorry server is in use")
                .sample(&l, b2f(*b));
        }
        let Some(Json::Arr(rss)) = vs.get("real_servers") else { continue };
        for rs in rss {
            let rs_name = text(rs, "name");
            let l = [("vs", vs_name.as_str()), ("rs", rs_name.as_str())];
            m.gauge("vigil_real_server_up", "Whether the real server passes its checkers")
                .sample(&l, b2f(text(rs, "state") == "UP"));
            if let Some(v) = num(rs, "weight") {
                m.gauge("vigil_real_server_weight", "The real server's weight after checker adjustments")
                    .sample(&l, v);
            }
            if let Some(v) = num(rs, "ipvs_weight") {
                m.gauge(
                    "vigil_real_server_ipvs_weight",
                    "The weight programmed in IPVS (absent: not in IPVS)",
                )
                .sample(&l, v);
            }
            let Some(Json::Arr(cks)) = rs.get("checkers") else { continue };
            for ck in cks {
                let (kind, target) = (text(ck, "type"), text(ck, "target"));
                let l = [
                    ("vs", vs_name.as_str()),
                    ("rs", rs_name.as_str()),
                    ("type", &kind),
                    ("target", &target),
                ];
                m.gauge("vigil_checker_up", "Whether the checker judges its real server up")
                    .sample(&l, b2f(text(ck, "state") == "UP"));
                if let Some(Json::Bool(ok)) = ck.get("last_ok") {
                    m.gauge("vigil_checker_last_ok", "Whether the checker's last check passed")
                        .sample(&l, b2f(*ok));
                }
                if let Some(v) = num(ck, "failures") {
                    m.gauge("vigil_checker_consecutive_failures", "Checks failed in a row").sample(&l, v);
                }
                if let Some(v) = num(ck, "last_latency_us") {
                    m.gauge("vigil_checker_latency_seconds", "Duration of the checker's last check")
                        .sample(&l, v / 1e6);
                }
            }
        }
    }
}

fn b2f(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn as_f64(v: &Json) -> Option<f64> {
    match v {
        Json::Int(i) => Some(*i as f64),
        Json::Float(x) => Some(*x),
        _ => None,
    }
}

fn num(v: &Json, key: &str) -> Option<f64> {
    v.get(key).and_then(as_f64)
}

/// The sum of the numbers under `keys`; `None` when none is there.
fn sum(v: &Json, keys: &[&str]) -> Option<f64> {
    keys.iter().filter_map(|k| num(v, k)).fold(None, |acc, x| Some(acc.unwrap_or(0.0) + x))
}

fn text(v: &Json, key: &str) -> String {
    match v.get(key) {
        Some(Json::Str(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Gauge,
    Counter,
}

/// Metric families in first-use order, each with all its samples, so each
/// name has one HELP, one TYPE and one contiguous group as the format needs.
#[derive(Default)]
struct Families {
    list: Vec<Family>,
}

struct Family {
    name: &'static str,
    help: &'static str,
    kind: Type,
    samples: Vec<String>,
}

impl Families {
    fn gauge(&mut self, name: &'static str, help: &'static str) -> &mut Family {
        self.family(name, help, Type::Gauge)
    }

    fn counter(&mut self, name: &'static str, help: &'static str) -> &mut Family {
        self.family(name, help, Type::Counter)
    }

    fn family(&mut self, name: &'static str, help: &'static str, kind: Type) -> &mut Family {
        let i = match self.list.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.list.push(Family { name, help, kind, samples: Vec::new() });
                self.list.len() - 1
            }
        };
        &mut self.list[i]
    }

    fn text(&self) -> String {
        // `write!` to a String cannot fail: the results are not looked at.
        let mut out = String::new();
        for f in &self.list {
            let kind = match f.kind {
                Type::Gauge => "gauge",
                Type::Counter => "counter",
            };
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
            let _ = writeln!(out, "# TYPE {} {kind}", f.name);
            for s in &f.samples {
                out.push_str(s);
            }
        }
        out
    }
}

impl Family {
    fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        // `write!` to a String cannot fail: the results are not looked at.
        let mut line = String::from(self.name);
        if !labels.is_empty() {
            line.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                let _ = write!(line, "{k}=\"{}\"", escape_label(v));
            }
            line.push('}');
        }
        let _ = writeln!(line, " {}", number(value));
        self.samples.push(line);
    }
}

/// A label value: backslash, double quote and line feed are escaped.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text: backslash and line feed are escaped (quotes are not).
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Integers without a fraction; the format's spellings of the rest.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        crate::runtime::json::decimal(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vrrp_status() -> Json {
        Json::parse(
            r#"{"process":"vrrp","pid":7,"uptime_s":12,"instances":[
            {"name":"VI_1","state":"MASTER","interface":"eth0","vrid":51,"priority":150,
             "effective_priority":140,"vips":["198.18.0.100/24","198.18.0.101/24"],"last_transition":1700000000,
             "rx":3,"tx":40,"became_master":1,"released_master":0,"prio0_rx":0,"prio0_tx":2,
             "advert_late_max_us":1500,"advert_late_mean_us":250,"adverts_late":0,
             "rejected":{"BadLength":1,"BadTtl":2,"AuthMismatch":3,"AhAuthFailure":4}},
            {"name":"we\"ird\\name\nx","state":"INIT","interface":"eth1","vrid":7,"priority":100,"waiting_for":"eth1"}],
            "unknown_vrid":5,"malformed":0,
            "trackers":[{"kind":"script","name":"chk","state":"BAD"},{"kind":"interface","name":"eth0","state":"GOOD"}]}"#,
        )
        .unwrap()
    }

    fn checker_status() -> Json {
        Json::parse(
            r#"{"process":"checker","uptime_s":3,"checks_run":10,"checks_failed":2,"virtual_servers":[
            {"name":"198.18.0.10:80","quorum":"UP","alive_weight":2,"sorry_server_active":false,"real_servers":[
             {"name":"198.18.0.20:80","state":"UP","weight":2,"ipvs_weight":2,"checkers":[
              {"type":"TCP_CHECK","target":"198.18.0.20:80","state":"UP","last_ok":true,"failures":0,"last_latency_us":1200}]},
             {"name":"198.18.0.21:80","state":"DOWN","weight":1,"ipvs_weight":null,"checkers":[]}]}]}"#,
        )
        .unwrap()
    }

    fn lines_of<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
            .collect()
    }

    #[test]
    fn exporter_names_labels_and_state_numbers() {
        let out = render(&[("vrrp".into(), Ok(vrrp_status()))], None);
        assert_eq!(
            lines_of(&out, "keepalived_vrrp_state"),
            [
                r#"keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address="198.18.0.100/24"} 2"#,
                r#"keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address="198.18.0.101/24"} 2"#,
                r#"keepalived_vrrp_state{iname="we\"ird\\name\nx",intf="eth1",vrid="7",ip_address=""} 0"#,
            ]
        );
        assert!(out.contains("keepalived_up 1\n"));
        assert!(
            out.contains(r#"keepalived_advertisements_sent_total{iname="VI_1",intf="eth0",vrid="51"} 40"#)
        );
        assert!(out.contains(r#"keepalived_priority_zero_sent_total{iname="VI_1",intf="eth0",vrid="51"} 2"#));
        assert!(
            out.contains(r#"keepalived_authentication_failure_total{iname="VI_1",intf="eth0",vrid="51"} 7"#)
        );
        assert!(out
            .contains(r#"vigil_vrrp_rejected_total{iname="VI_1",intf="eth0",vrid="51",reason="BadTtl"} 2"#));
        assert!(
            out.contains(r#"vigil_vrrp_advert_late_max_seconds{iname="VI_1",intf="eth0",vrid="51"} 0.0015"#)
        );
        assert!(out.contains(r#"vigil_vrrp_effective_priority{iname="VI_1",intf="eth0",vrid="51"} 140"#));
        assert!(out.contains("keepalived_script_status{name=\"chk\"} 0\n"));
        assert!(out.contains("vigil_tracker_up{kind=\"interface\",name=\"eth0\"} 1\n"));
        assert!(out.contains("vigil_vrrp_unknown_vrid_total 5\n"));
        // The pending instance has no counters: no sample rather than a made-up zero.
        assert_eq!(lines_of(&out, "keepalived_advertisements_received_total").len(), 1);
    }

    #[test]
    fn one_help_and_type_per_family_with_its_samples_together() {
        let children =
            [("vrrp".to_string(), Ok(vrrp_status())), ("checker".to_string(), Ok(checker_status()))];
        let parent = ParentView { restarts: vec![("vrrp".into(), 2), ("checker".into(), 0)] };
        let out = render(&children, Some(&parent));
        let mut seen: Vec<String> = Vec::new();
        let mut current = String::new();
        for line in out.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap().to_string();
                assert!(!seen.contains(&name), "family {name} twice");
                seen.push(name.clone());
                current = name;
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut it = rest.split(' ');
                assert_eq!(it.next(), Some(current.as_str()));
                assert!(matches!(it.next(), Some("gauge" | "counter")));
            } else {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(name, current, "sample out of its family: {line}");
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<f64>().is_ok(), "value of {line}");
            }
        }
        assert!(out.contains("vigil_child_restarts_total{child=\"vrrp\"} 2\n"));
        assert!(out.contains("vigil_child_up{child=\"checker\"} 1\n"));
        assert!(out.contains(r#"vigil_real_server_up{vs="198.18.0.10:80",rs="198.18.0.21:80"} 0"#));
        assert_eq!(lines_of(&out, "vigil_real_server_ipvs_weight").len(), 1, "null weight: no sample");
        assert!(out.contains(
            r#"vigil_checker_up{vs="198.18.0.10:80",rs="198.18.0.20:80",type="TCP_CHECK",target="198.18.0.20:80"} 1"#
        ));
        assert!(out.contains("vigil_checks_failed_total 2\n"));
        assert!(out.contains(
            r#"vigil_checker_latency_seconds{vs="198.18.0.10:80",rs="198.18.0.20:80",type="TCP_CHECK",target="198.18.0.20:80"} 0.0012"#
        ));
        assert!(out.ends_with('\n'));
    }

    #[test]
    fn a_silent_child_is_down_not_missing() {
        let children =
            [("vrrp".to_string(), Ok(vrrp_status())), ("checker".to_string(), Err("refused".into()))];
        let out = render(&children, None);
        assert!(out.contains("keepalived_up 0\n"));
        assert!(out.contains("vigil_child_up{child=\"checker\"} 0\n"));
        assert!(out.contains("vigil_child_up{child=\"vrrp\"} 1\n"));
        assert!(render(&[], None).contains("keepalived_up 0\n"));
    }

    #[test]
    fn escaping_and_numbers() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(exporter_address("198.18.0.1/32"), "198.18.0.1");
        assert_eq!(exporter_address("198.18.0.1/24"), "198.18.0.1/24");
        assert_eq!(exporter_address("2001:db8::1/128"), "2001:db8::1");
        assert_eq!(exporter_address("2001:db8::1/64"), "2001:db8::1/64");
        assert_eq!(escape_help("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(-2.0), "-2");
    }
}
