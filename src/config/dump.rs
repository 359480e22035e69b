//! `vigil -t --dump`: the effective configuration, every default filled
//! in, in keepalived.conf-like nested text.

use crate::time::Secs;
use std::fmt::Write;

use super::model::{
    derived_window, interval_cs, AntiReplay, Auth, Broadcast, Checker, CheckerConn, CheckerKind, Command,
    Config, GlobalDefs, HttpProtocol, InitialState, IpLine, LvsFlushOnStop, Notify, RealServer, UrlRegex,
    VipSpec, VirtualServer, VrrpInstance, VsAddr, VsgEntry,
};

pub fn dump(cfg: &Config) -> String {
    let mut o = Out { s: String::new(), depth: 0 };
    global(&mut o, &cfg.global);
    if !cfg.static_ipaddress.is_empty() {
        o.open("static_ipaddress");
        for v in &cfg.static_ipaddress {
            o.line(&vip(v));
        }
        o.close();
    }
    for (kw, lines) in
        [("static_routes", words(&cfg.static_routes)), ("static_rules", words(&cfg.static_rules))]
    {
        if !lines.is_empty() {
            o.open(kw);
            for l in lines {
                o.line(&l.join(" "));
            }
            o.close();
        }
    }
    for s in &cfg.vrrp_scripts {
        o.open(&format!("vrrp_script {}", s.name));
        o.kv("script", s.script.as_ref().map(cmd).unwrap_or_default());
        o.kv("interval", Secs(s.interval));
        o.kv("timeout", Secs(s.effective_timeout()));
        o.kv("weight", format!("{}{}", s.weight, if s.weight_reverse { " reverse" } else { "" }));
        o.kv("rise", s.rise);
        o.kv("fall", s.fall);
        if let Some((u, g)) = &s.user {
            o.kv("user", format!("{u} {}", g.as_deref().unwrap_or("")).trim_end());
        }
        o.kv("init_fail", yes(s.init_fail));
        o.close();
    }
    for tf in &cfg.track_files {
        o.open(&format!("track_file {}", tf.name));
        o.kv("file", tf.path.display());
        o.kv("weight", format!("{}{}", tf.weight, if tf.reverse { " reverse" } else { "" }));
        if let Some(i) = tf.init {
            o.kv("init_file", format!("{}{}", i.value, if i.overwrite { " overwrite" } else { "" }));
        }
        o.close();
    }
    for tp in &cfg.track_processes {
        track_process(&mut o, tp);
    }
    for g in &cfg.sync_groups {
        o.open(&format!("vrrp_sync_group {}", g.name));
        o.open("group");
        for (m, _) in &g.members {
            o.line(m);
        }
        o.close();
        notify(&mut o, &g.notify);
        o.kv("smtp_alert", yes(g.smtp_alert.unwrap_or(false)));
        o.close();
    }
    for vi in &cfg.instances {
        instance(&mut o, vi, &cfg.global);
    }
    for g in &cfg.vs_groups {
        o.open(&format!("virtual_server_group {}", g.name));
        for e in &g.entries {
            match e {
                VsgEntry::Addr { first, last, port, .. } => {
                    let range = if first == last { first.to_string() } else { format!("{first}-{last}") };
                    o.line(format!("{range} {}", port.map(|p| p.to_string()).unwrap_or_default()).trim_end());
                }
                VsgEntry::Fwmark { mark, .. } => o.line(&format!("fwmark {mark}")),
            }
        }
        o.close();
    }
    for vs in &cfg.virtual_servers {
        virtual_server(&mut o, vs, &cfg.global);
    }
    if !cfg.ignored.is_empty() {
        o.line("# accepted, not acted on by vigil (vigil -t warns at each):");
        for i in &cfg.ignored {
            let why = super::keywords::ignored_reason(i.ctx, i.name).unwrap_or("act on it");
            o.line(&format!(
                "#   {}:{}: {} ({}): vigil does not {why}",
                i.loc.file,
                i.loc.line,
                i.name,
                i.ctx.name()
            ));
        }
    }
    o.s
}

struct Out {
    s: String,
    depth: usize,
}

impl Out {
    fn line(&mut self, text: &str) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.s, "{:w$}{text}", "", w = self.depth * 4);
    }

    // A thin generic shell over one non-generic body: kv is called with
    // ~160 value types' worth of sites, each copy of a formatting body costs.
    fn kv(&mut self, k: &str, v: impl std::fmt::Display) {
        self.kv_dyn(k, &v);
    }

    #[inline(never)]
    fn kv_dyn(&mut self, k: &str, v: &dyn std::fmt::Display) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.s, "{:w$}{k} {v}", "", w = self.depth * 4);
    }

    fn open(&mut self, head: &str) {
        self.line(&format!("{head} {{"));
        self.depth += 1;
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.line("}");
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn cmd(c: &Command) -> String {
    let mut s = format!("\"{}\"", c.args.join(" "));
    for x in c.user.iter().chain(&c.group) {
        s.push(' ');
        s.push_str(x);
    }
    s
}

/// A url's regex as vigil reads it: the pattern quoted so that the lexer
/// gives it back, the options it honours, offsets as written.
fn regex(o: &mut Out, r: &UrlRegex) {
    let quoted: String = r
        .pattern
        .chars()
        .flat_map(|c| if matches!(c, '"' | '\\') { vec!['\\', c] } else { vec![c] })
        .collect();
    o.kv("regex", format!("\"{quoted}\""));
    if r.no_match {
        o.line("regex_no_match");
    }
    if !r.options.is_empty() {
        o.kv("regex_options", r.options.join(" "));
    }
    if r.min_offset > 0 {
        o.kv("regex_min_offset", r.min_offset);
    }
    if let Some(max) = r.max_offset {
        o.kv("regex_max_offset", max);
    }
    if let Some((start, max)) = r.stack {
        o.kv("regex_stack", format!("{start} {max} (no effect: no PCRE2 JIT stack)"));
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_else(|| "(none)".to_string())
}

fn global(o: &mut Out, g: &GlobalDefs) {
    o.open("global_defs");
    o.kv("router_id", g.router_id.clone().unwrap_or_else(super::short_hostname));
    o.open("notification_email");
    for e in &g.notification_email {
        o.line(e);
    }
    o.close();
    o.kv("notification_email_from", opt(&g.notification_email_from));
    if let Some(s) = &g.smtp_server {
        o.kv("smtp_server", format!("{} {}", s.host, s.port));
    }
    o.kv("smtp_connect_timeout", Secs(g.smtp_connect_timeout));
    o.kv("smtp_helo_name", opt(&g.smtp_helo_name));
    o.kv(
        "script_user",
        g.script_user.as_ref().map(|(u, _)| u.as_str()).unwrap_or("(keepalived_script or root)"),
    );
    o.kv("enable_script_security", yes(g.enable_script_security));
    o.kv("disable_local_igmp", yes(g.disable_local_igmp));
    o.kv("nftables", g.nftables.table_name());
    o.kv("nftables_priority", g.nftables.priority);
    o.kv("nftables_counters", yes(g.nftables.counters));
    o.kv("nftables_ifindex", yes(g.nftables.ifindex));
    for (name, script, timeout) in [
        ("startup_script", &g.startup_script, g.startup_script_timeout),
        ("shutdown_script", &g.shutdown_script, g.shutdown_script_timeout),
    ] {
        if let Some(c) = script {
            o.kv(name, cmd(c));
            o.kv(&format!("{name}_timeout"), Secs(timeout));
        }
    }
    o.kv("max_auto_priority", g.max_auto_priority.map_or("(off)".to_string(), |p| p.to_string()));
    o.kv("min_auto_priority_delay", format!("{}us", g.min_auto_priority_delay.as_micros()));
    for (prefix, sched) in [("vrrp", &g.vrrp_sched), ("checker", &g.checker_sched)] {
        let show = |v: Option<String>| v.unwrap_or_else(|| "(default)".into());
        o.kv(&format!("{prefix}_rt_priority"), show(sched.rt_priority.map(|p| p.to_string())));
        o.kv(&format!("{prefix}_priority"), show(sched.nice.map(|n| n.to_string())));
        o.kv(&format!("{prefix}_no_swap"), yes(sched.no_swap));
        o.kv(&format!("{prefix}_rlimit_rttime"), show(sched.rlimit_rttime.map(|n| n.to_string())));
    }
    o.kv("vrrp_strict", yes(g.vrrp_strict));
    o.kv("vrrp_version", g.vrrp_version);
    o.kv("vrrp_mcast_group4", g.vrrp_mcast_group4);
    o.kv("vrrp_mcast_group6", g.vrrp_mcast_group6);
    o.kv("vrrp_garp_master_delay", Secs(g.vrrp_garp_master_delay));
    o.kv("vrrp_garp_master_repeat", g.vrrp_garp_master_repeat);
    o.kv("vrrp_garp_master_refresh", Secs(g.vrrp_garp_master_refresh));
    o.kv("vrrp_garp_master_refresh_repeat", g.vrrp_garp_master_refresh_repeat);
    o.kv("vrrp_garp_interval", Secs(g.vrrp_garp_interval));
    o.kv("vrrp_gna_interval", Secs(g.vrrp_gna_interval));
    o.kv("vrrp_min_garp", yes(g.vrrp_min_garp));
    o.kv("vrrp_lower_prio_no_advert", yes(g.vrrp_lower_prio_no_advert));
    o.kv("vrrp_higher_prio_send_advert", yes(g.vrrp_higher_prio_send_advert));
    o.kv("vrrp_skip_check_adv_addr", yes(g.vrrp_skip_check_adv_addr));
    o.kv("vrrp_check_unicast_src", yes(g.vrrp_check_unicast_src));
    o.kv("vrrp_notify_priority_changes", yes(g.vrrp_notify_priority_changes));
    o.kv("vrrp_startup_delay", Secs(g.vrrp_startup_delay));
    o.kv("vrrp_down_timer_adverts", g.vrrp_down_timer_adverts);
    o.kv("default_interface", &g.default_interface);
    if let Some(a) = g.metrics_listen {
        o.kv("metrics_listen", a);
    }
    if let Some(f) = &g.reload_time_file {
        o.kv("reload_time_file", format!("{f}{}", if g.reload_repeat { " (repeat)" } else { "" }));
    }
    if let Some(d) = &g.lvs_sync_daemon {
        let mut v = d.ifname.clone();
        if let Some(i) = &d.instance {
            v.push_str(&format!(" inst {i}"));
        }
        if let Some(id) = d.sync_id {
            v.push_str(&format!(" id {id}"));
        }
        for (k, n) in [("maxlen", d.maxlen.map(u32::from)), ("port", d.port.map(u32::from))] {
            if let Some(n) = n {
                v.push_str(&format!(" {k} {n}"));
            }
        }
        if let Some(ttl) = d.ttl {
            v.push_str(&format!(" ttl {ttl}"));
        }
        if let Some(g) = d.group {
            v.push_str(&format!(" group {g}"));
        }
        o.kv("lvs_sync_daemon", v);
    }
    if let Some(t) = g.lvs_timeouts {
        o.kv("lvs_timeouts", format!("tcp {} tcpfin {} udp {}", t.tcp, t.tcp_fin, t.udp));
    }
    o.kv("lvs_flush", yes(g.lvs_flush));
    let on_stop = match g.lvs_flush_on_stop {
        LvsFlushOnStop::No => "no",
        LvsFlushOnStop::Full => "full",
        LvsFlushOnStop::VirtualServers => "VS",
    };
    o.kv("lvs_flush_on_stop", on_stop);
    o.close();
}

fn vip(v: &VipSpec) -> String {
    let mut s = format!("{}/{}", v.addr, v.prefix_len);
    match &v.brd {
        Some(Broadcast::Addr(a)) => s.push_str(&format!(" brd {a}")),
        Some(Broadcast::Plus) => s.push_str(" brd +"),
        Some(Broadcast::Minus) => s.push_str(" brd -"),
        None => {}
    }
    for (k, val) in [("dev", &v.dev), ("label", &v.label), ("preferred_lft", &v.preferred_lft)] {
        if let Some(x) = val {
            s.push_str(&format!(" {k} {x}"));
        }
    }
    s.push_str(&format!(" scope {}", v.scope.as_deref().unwrap_or("global")));
    if let Some(p) = v.peer {
        s.push_str(&format!(" peer {p}"));
    }
    for (flag, on) in
        [("no_track", v.no_track), ("home", v.home), ("-nodad", v.nodad), ("noprefixroute", v.noprefixroute)]
    {
        if on {
            s.push(' ');
            s.push_str(flag);
        }
    }
    s
}

fn notify(o: &mut Out, n: &Notify) {
    for (k, c) in [
        ("notify_master", &n.master),
        ("notify_backup", &n.backup),
        ("notify_fault", &n.fault),
        ("notify_stop", &n.stop),
        ("notify", &n.any),
        ("notify_deleted", &n.deleted),
    ] {
        if let Some(c) = c {
            o.kv(k, cmd(c));
        }
    }
}

fn instance(o: &mut Out, vi: &VrrpInstance, g: &GlobalDefs) {
    o.open(&format!("vrrp_instance {}", vi.name));
    o.kv("state", if vi.initial_state() == InitialState::Master { "MASTER" } else { "BACKUP" });
    o.kv("interface", opt(&vi.interface));
    o.kv("virtual_router_id", vi.vrid);
    o.kv("priority", vi.effective_priority());
    o.kv("version", vi.effective_version(g));
    o.kv("advert_int", Secs(vi.advert_int));
    match &vi.auth {
        Some(Auth::Pass(p)) | Some(Auth::Ah(p)) => {
            let kind = if matches!(vi.auth, Some(Auth::Ah(_))) { "AH" } else { "PASS" };
            o.open("authentication");
            o.kv("auth_type", kind);
            o.kv("auth_pass", String::from_utf8_lossy(p));
            o.close();
        }
        None => o.kv("authentication", "none"),
    }
    if let Some(h) = &vi.auth_hmac {
        // Key ids and lengths only: a dump must not leak the keys.
        o.open("auth_hmac");
        o.kv("extension", "HMAC-SHA256-128");
        for (id, key) in &h.keys {
            o.kv("key", format!("{id} <{} bytes>", key.len()));
        }
        o.kv("active_key", h.active_key.map(|k| k.to_string()).unwrap_or_else(|| "none".into()));
        o.kv("mode", h.mode.as_str());
        o.kv("anti_replay", h.anti_replay.as_str());
        if h.anti_replay == AntiReplay::Time {
            let cs = interval_cs(vi.advert_int, vi.effective_version(g));
            let w = h.time_window.unwrap_or_else(|| derived_window(cs));
            o.kv("time_window", format!("{w}{}", if h.time_window.is_none() { " (derived)" } else { "" }));
        }
        o.close();
    }
    for (kw, list) in [("virtual_ipaddress", &vi.vips), ("virtual_ipaddress_excluded", &vi.vips_excluded)] {
        o.open(kw);
        for v in list {
            o.line(&vip(v));
        }
        o.close();
    }
    for (kw, lines) in
        [("virtual_routes", words(&vi.virtual_routes)), ("virtual_rules", words(&vi.virtual_rules))]
    {
        if !lines.is_empty() {
            o.open(kw);
            for l in lines {
                o.line(&l.join(" "));
            }
            o.close();
        }
    }
    o.kv("preempt", if vi.nopreempt { "off (nopreempt)" } else { "on" });
    o.kv("preempt_delay", Secs(vi.preempt_delay));
    if !vi.track_scripts.is_empty() {
        o.open("track_script");
        for t in &vi.track_scripts {
            let w = t.weight.map(|w| format!(" weight {w}{}", if t.reverse { " reverse" } else { "" }));
            o.line(&format!("{}{}", t.name, w.unwrap_or_default()));
        }
        o.close();
    }
    if !vi.track_processes.is_empty() {
        o.open("track_process");
        for t in &vi.track_processes {
            let w = t.weight.map(|w| format!(" weight {w}{}", if t.reverse { " reverse" } else { "" }));
            o.line(&format!("{}{}", t.name, w.unwrap_or_default()));
        }
        o.close();
    }
    if !vi.track_interfaces.is_empty() {
        o.open("track_interface");
        for t in &vi.track_interfaces {
            o.line(&format!("{} weight {}{}", t.name, t.weight, if t.reverse { " reverse" } else { "" }));
        }
        o.close();
    }
    o.kv("dont_track_primary", yes(vi.dont_track_primary));
    o.kv("mcast_src_ip", opt(&vi.mcast_src_ip));
    o.kv("unicast_src_ip", opt(&vi.unicast_src_ip));
    if vi.is_unicast() {
        o.open("unicast_peer");
        for p in &vi.unicast_peers {
            o.line(&p.addr.to_string());
        }
        o.close();
        o.kv("unicast_ttl", vi.unicast_ttl);
    }
    o.kv("check_unicast_src", yes(vi.effective_check_unicast_src(g)));
    o.kv("use_vmac", vi.vmac_name().unwrap_or_else(|| "off".to_string()));
    o.kv("vmac_xmit_base", yes(vi.vmac_xmit_base));
    o.kv("accept", yes(vi.effective_accept(g)));
    o.kv("strict_mode", yes(vi.effective_strict(g)));
    o.kv("skip_check_adv_addr", yes(vi.effective_skip_check_adv_addr(g)));
    o.kv("garp_master_delay", Secs(vi.effective_garp_master_delay(g)));
    o.kv("garp_master_repeat", vi.effective_garp_master_repeat(g));
    o.kv("garp_master_refresh", Secs(vi.effective_garp_master_refresh(g)));
    o.kv("garp_master_refresh_repeat", vi.effective_garp_master_refresh_repeat(g));
    o.kv("garp_lower_prio_delay", Secs(vi.effective_garp_lower_prio_delay(g)));
    o.kv("garp_lower_prio_repeat", vi.effective_garp_lower_prio_repeat(g));
    o.kv("lower_prio_no_advert", yes(vi.effective_lower_prio_no_advert(g)));
    o.kv("higher_prio_send_advert", yes(vi.effective_higher_prio_send_advert(g)));
    o.kv("down_timer_adverts", vi.effective_down_timer_adverts(g));
    o.kv("v3_checksum_as_v2", yes(vi.v3_checksum_as_v2));
    notify(o, &vi.notify);
    if vi.notify_deleted && vi.notify.deleted.is_none() {
        o.kv("notify_deleted", "(reports DELETED instead of FAULT)");
    }
    o.kv("smtp_alert", yes(vi.effective_smtp_alert(g)));
    o.close();
}

/// `vrrp_track_process`, with what the rules made of it (arguments imply
/// `full_command` and an exact `param_match`).
fn track_process(o: &mut Out, tp: &crate::config::model::VrrpTrackProcess) {
    use crate::config::model::ParamMatch;
    o.open(&format!("vrrp_track_process {}", tp.name));
    let args = tp.params.split(|&b| b == 0).filter(|a| !a.is_empty());
    let args: Vec<String> = args.map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    o.kv("process", format!("{} {}", tp.process, args.join(" ")).trim_end());
    match tp.param_match {
        ParamMatch::None => {}
        ParamMatch::Exact => o.line("param_match"),
        ParamMatch::Initial => o.kv("param_match", "initial"),
        ParamMatch::Partial => o.kv("param_match", "partial"),
    }
    if tp.full_command {
        o.line("full_command");
    }
    o.kv("quorum", tp.quorum);
    if tp.quorum_max != u32::MAX {
        o.kv("quorum_max", tp.quorum_max);
    }
    o.kv("weight", format!("{}{}", tp.weight, if tp.weight_reverse { " reverse" } else { "" }));
    o.kv("fork_delay", Secs(tp.fork_delay));
    o.kv("terminate_delay", Secs(tp.terminate_delay));
    o.close();
}

fn virtual_server(o: &mut Out, vs: &VirtualServer, g: &GlobalDefs) {
    let head = match &vs.addr {
        VsAddr::Addr(ip, port) => format!("virtual_server {ip} {port}"),
        VsAddr::Fwmark(m) => format!("virtual_server fwmark {m}"),
        VsAddr::Group(n) => format!("virtual_server group {n}"),
    };
    o.open(&head);
    o.kv("protocol", vs.effective_protocol().name());
    o.kv("lvs_sched", vs.effective_sched());
    o.kv("lvs_method", vs.effective_method().name());
    o.kv(
        "persistence_timeout",
        vs.persistence_timeout.map(|d| Secs(d).to_string()).unwrap_or_else(|| "off".into()),
    );
    if let Some(p) = vs.persistence_granularity {
        o.kv("persistence_granularity", p);
    }
    o.kv("delay_loop", Secs(vs.delay_loop));
    o.kv("inhibit_on_failure", yes(vs.inhibit_on_failure));
    o.kv("alpha", yes(vs.alpha));
    o.kv("omega", yes(vs.omega));
    if vs.ha_suspend {
        o.kv("ha_suspend", yes(true));
    }
    o.kv("quorum", vs.quorum);
    o.kv("hysteresis", vs.hysteresis);
    for (k, c) in [("quorum_up", &vs.quorum_up), ("quorum_down", &vs.quorum_down)] {
        if let Some(c) = c {
            o.kv(k, cmd(c));
        }
    }
    if let Some((ip, port)) = vs.sorry_server {
        o.kv("sorry_server", format!("{ip} {}", port.map(|p| p.to_string()).unwrap_or_default()).trim_end());
    }
    if let Some(v) = &vs.virtualhost {
        o.kv("virtualhost", v);
    }
    for rs in &vs.real_servers {
        real_server(o, rs, vs, g);
    }
    o.close();
}

fn real_server(o: &mut Out, rs: &RealServer, vs: &VirtualServer, g: &GlobalDefs) {
    o.open(&format!("real_server {} {}", rs.addr, rs.effective_port(vs)));
    o.kv("weight", rs.weight);
    o.kv("lvs_method", rs.effective_method(vs).name());
    o.kv("inhibit_on_failure", yes(rs.effective_inhibit_on_failure(vs)));
    for (k, c) in [("notify_up", &rs.notify_up), ("notify_down", &rs.notify_down)] {
        if let Some(c) = c {
            o.kv(k, cmd(c));
        }
    }
    if rs.uthreshold != 0 || rs.lthreshold != 0 {
        o.kv("uthreshold", rs.uthreshold);
        o.kv("lthreshold", rs.lthreshold);
    }
    o.kv("smtp_alert", yes(rs.effective_smtp_alert(vs, g)));
    for ck in &rs.checkers {
        checker(o, ck, rs, vs);
    }
    o.close();
}

fn conn(o: &mut Out, c: &CheckerConn) {
    if let Some(ip) = c.connect_ip {
        o.kv("connect_ip", ip);
    }
    if let Some(p) = c.connect_port {
        o.kv("connect_port", p);
    }
    if let Some(b) = c.bindto {
        o.kv("bindto", b);
    }
    if let Some(p) = c.bind_port {
        o.kv("bind_port", p);
    }
    if let Some(i) = &c.bind_if {
        o.kv("bind_if", i);
    }
    if let Some(m) = c.fwmark {
        o.kv("fwmark", m);
    }
}

fn checker(o: &mut Out, ck: &Checker, rs: &RealServer, vs: &VirtualServer) {
    o.open(ck.kind.keyword());
    if let CheckerKind::Unrunnable(_) = ck.kind {
        // Its options are not read: it starts down and fails every run.
        o.line("# not supported by vigil: fails at every run, the real server is down");
        o.close();
        return;
    }
    if let CheckerKind::File(f) = &ck.kind {
        // keepalived's FILE_CHECK has none of the common options.
        o.kv("track_file", &f.track);
        if let Some((w, reverse)) = f.weight {
            o.kv("weight", if reverse { format!("{w} reverse") } else { w.to_string() });
        }
        o.close();
        return;
    }
    if !matches!(ck.kind, CheckerKind::Misc(_)) {
        let (ip, port) = ck.effective_target(rs, vs);
        o.kv("connect_ip", ip);
        if !matches!(ck.kind, CheckerKind::Ping) {
            o.kv("connect_port", port);
        }
        o.kv("connect_timeout", Secs(ck.effective_connect_timeout(rs, vs)));
        let rest =
            CheckerConn { connect_ip: None, connect_port: None, connect_timeout: None, ..ck.conn.clone() };
        conn(o, &rest);
    }
    o.kv("retry", ck.effective_retry(rs, vs));
    o.kv("delay_before_retry", Secs(ck.effective_delay_before_retry(rs, vs)));
    o.kv("delay_loop", Secs(ck.effective_delay_loop(rs, vs)));
    o.kv("warmup", Secs(ck.effective_warmup(rs, vs)));
    o.kv("alpha", yes(ck.effective_alpha(rs, vs)));
    match &ck.kind {
        CheckerKind::Tcp => {}
        CheckerKind::Http(h) => {
            let proto = match h.http_protocol {
                HttpProtocol::V1_0 => "1.0",
                HttpProtocol::V1_0C => "1.0C",
                HttpProtocol::V1_1 => "1.1",
            };
            o.kv("http_protocol", proto);
            if let Some(v) = h.virtualhost.as_ref().or(rs.virtualhost.as_ref()).or(vs.virtualhost.as_ref()) {
                o.kv("virtualhost", v);
            }
            for u in &h.urls {
                o.open("url");
                o.kv("path", &u.path);
                if let Some(d) = &u.digest {
                    o.kv("digest", d);
                }
                let codes: Vec<String> = if u.status_codes.is_empty() {
                    vec!["200-299".to_string()]
                } else {
                    u.status_codes
                        .iter()
                        .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                        .collect()
                };
                o.kv("status_code", codes.join(" "));
                if let Some(r) = &u.regex {
                    regex(o, r);
                }
                o.close();
            }
        }
        CheckerKind::Smtp { helo_name } => {
            o.kv("helo_name", helo_name.as_deref().unwrap_or("smtpchecker.keepalived.org"));
        }
        CheckerKind::Misc(m) => {
            o.kv("misc_path", m.path.as_ref().map(cmd).unwrap_or_default());
            o.kv("misc_timeout", Secs(ck.effective_misc_timeout(rs, vs)));
            o.kv("misc_dynamic", yes(m.dynamic));
        }
        CheckerKind::Dns { qtype, name } => {
            o.kv("type", qtype);
            o.kv("name", name);
        }
        CheckerKind::Udp(u) => {
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            match &u.payload {
                Some(p) => o.kv("payload", hex(p)),
                None => o.line(&format!("# payload: {} bytes", super::probe::DEFAULT_PAYLOAD_LEN)),
            }
            if u.reply.required {
                match &u.reply.data {
                    Some(d) => {
                        let mut text = hex(&d.data).into_bytes();
                        // Wildcard nibbles back as x.
                        for (i, m) in d.mask.iter().flatten().enumerate() {
                            if m & 0xf0 != 0 {
                                text[2 * i] = b'x';
                            }
                            if m & 0x0f != 0 {
                                text[2 * i + 1] = b'x';
                            }
                        }
                        o.kv("require_reply", String::from_utf8_lossy(&text));
                        o.kv("min_reply_length", u.reply.min_len);
                        o.kv("max_reply_length", u.reply.max_len);
                    }
                    None => o.line("require_reply"),
                }
            }
        }
        CheckerKind::Ping => {}
        CheckerKind::File(_) => {}
        CheckerKind::Unrunnable(_) => {}
    }
    o.close();
}

/// The words of route or rule lines, as written.
fn words<T>(lines: &[IpLine<T>]) -> Vec<&Vec<String>> {
    lines.iter().map(|l| &l.words).collect()
}

#[cfg(test)]
mod tests {
    use crate::config::parse::{parse, tests::tokens};

    #[test]
    fn dump_fills_in_defaults() {
        let text = "vrrp_instance A {\n state MASTER\n interface eth0\n virtual_router_id 7\n \
                    virtual_ipaddress {\n 10.0.0.1/24 dev eth1\n }\n}\n\
                    virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n MISC_CHECK {\n misc_path /bin/true\n }\n }\n}\n";
        let mut diags = Vec::new();
        let out = super::dump(&parse(&tokens(text), &mut diags));
        for want in [
            "vrrp_instance A {\n    state MASTER\n    interface eth0\n    virtual_router_id 7\n    priority 255\n",
            "        10.0.0.1/24 dev eth1 scope global\n",
            "    advert_int 1\n",
            "    garp_master_repeat 5\n",
            "virtual_server 10.0.0.1 80 {\n    protocol UDP\n    lvs_sched wlc\n    lvs_method NAT\n",
            "    delay_loop 60\n",
            "        MISC_CHECK {\n            retry 0\n            delay_before_retry 1\n",
            "            misc_timeout 60\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
    }

    #[test]
    fn dump_shows_track_process_as_understood() {
        let text = "vrrp_track_process web {\n process nginx -g daemon\n delay 2\n weight -10 reverse\n}\n\
                    vrrp_instance A {\n interface eth0\n virtual_router_id 7\n track_process {\n web\n }\n \
                    virtual_ipaddress {\n 10.0.0.1\n }\n}\n";
        let mut diags = Vec::new();
        let out = super::dump(&parse(&tokens(text), &mut diags));
        let want =
            "vrrp_track_process web {\n    process nginx -g daemon\n    param_match\n    full_command\n    \
                    quorum 1\n    weight -10 reverse\n    fork_delay 2\n    terminate_delay 2\n}\n";
        assert!(out.contains(want), "{out}");
        assert!(out.contains("    track_process {\n        web\n    }\n"), "{out}");
    }

    #[test]
    fn dump_shows_a_url_regex_that_reads_back() {
        let text =
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n HTTP_GET {\n url {\n path /\n \
                    regex \"say \\\"ok\\\" \\\\d\"\n regex_no_match\n regex_options caseless\n \
                    regex_max_offset 9\n }\n }\n }\n}\n";
        let lexed = |t: &str| crate::config::lexer::lex("t.conf", t.as_bytes()).0;
        let mut diags = Vec::new();
        let out = super::dump(&parse(&lexed(text), &mut diags));
        let want = "                regex \"say \\\"ok\\\" \\\\d\"\n                regex_no_match\n                \
                    regex_options caseless\n                regex_max_offset 9\n";
        assert!(out.contains(want), "missing {want:?} in\n{out}");
        let again = super::dump(&parse(&lexed(&out), &mut diags));
        assert!(again.contains(want), "{again}");
    }

    #[test]
    fn dump_shows_auth_hmac_without_the_keys() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n advert_int 2\n \
                    auth_hmac {\n key 4 s3cret-s3cret-s3cret-s3cret-s3cret\n active_key 4\n mode permissive\n }\n \
                    virtual_ipaddress {\n 10.0.0.1/24\n }\n}\n";
        let mut diags = Vec::new();
        let out = super::dump(&parse(&tokens(text), &mut diags));
        let want = "    auth_hmac {\n        extension HMAC-SHA256-128\n        key 4 <34 bytes>\n        \
                    active_key 4\n        mode permissive\n        anti_replay time\n        time_window 6 (derived)\n    }\n";
        assert!(out.contains(want), "missing {want:?} in\n{out}");
        assert!(!out.contains("s3cret"), "a key leaked into the dump:\n{out}");
    }
}
