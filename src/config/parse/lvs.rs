//! The LVS blocks: virtual_server_group, virtual_server, real_server and
//! the health checkers.

use std::net::IpAddr;

use super::super::keywords::Ctx;
use super::super::model::{
    Checker, CheckerConn, CheckerKind, HttpCheck, HttpProtocol, LvsMethod, MiscCheck, Protocol, RealServer,
    UdpCheck, Url, VirtualServer, VirtualServerGroup, VsAddr, VsgEntry,
};
use super::super::token::Token;
use super::tree::Stmt;
use super::url_regex::RegexWords;
use super::{set, Parser};
use crate::config::probe as dns;
use crate::config::probe::{self as udp, HexBytes, ReplyRule};

impl Parser<'_> {
    pub(super) fn vs_group(&mut self, s: &Stmt) -> Option<VirtualServerGroup> {
        let name = self.block_name(s).unwrap_or_default();
        let mut g = VirtualServerGroup { name, entries: Vec::new(), loc: s.loc().clone() };
        for item in s.stmts() {
            if let Some(e) = self.vsg_entry(item) {
                g.entries.push(e);
            }
        }
        Some(g)
    }

    fn vsg_entry(&mut self, item: &Stmt) -> Option<VsgEntry> {
        let w = item.name();
        let loc = item.loc().clone();
        if item.body.is_some() || item.args.len() > 2 {
            let msg = format!("invalid virtual_server_group entry '{w}'");
            self.error(
                &loc,
                msg,
                Some("entries are 'IP [PORT]', 'IP-LAST [PORT]' or 'fwmark N'".to_string()),
            );
            return None;
        }
        if w == "fwmark" {
            let t = item.args.first()?;
            let mark = self.int_tok("fwmark", t, 1, u32::MAX.into())? as u32;
            return Some(VsgEntry::Fwmark { mark, loc });
        }
        let Some((first, last)) = addr_range(w) else {
            let msg = format!("invalid virtual_server_group entry '{w}'");
            self.error(
                &loc,
                msg,
                Some("entries are 'IP [PORT]', 'IP-LAST [PORT]' or 'fwmark N'".to_string()),
            );
            return None;
        };
        let port = match item.args.first() {
            Some(t) => Some(self.port_tok("virtual_server_group", t)?),
            None => None,
        };
        Some(VsgEntry::Addr { first, last, port, loc })
    }

    pub(super) fn virtual_server(&mut self, s: &Stmt) -> Option<VirtualServer> {
        // A bad header still has its body read, so its errors are all reported.
        let addr = self.vs_addr(s);
        let mut vs = VirtualServer::new(addr.clone().unwrap_or(VsAddr::Fwmark(0)), s.loc().clone());
        for s in self.known(Ctx::VirtualServer, s.stmts()) {
            vs.locs.set(s.name(), s.loc().clone());
            match s.name() {
                "lb_algo" | "lvs_sched" => vs.lvs_sched = self.scheduler(s),
                "lb_kind" | "lvs_method" => vs.lvs_method = self.method(s),
                "protocol" => vs.protocol = self.protocol(s),
                "persistence_timeout" => {
                    // Without a value keepalived uses 360 s.
                    vs.persistence_timeout = match s.args.first() {
                        None => Some(std::time::Duration::from_secs(360)),
                        Some(_) => self.timer(s, 1.0, 2_678_400.0),
                    }
                }
                "persistence_granularity" => vs.persistence_granularity = self.ip(s),
                "delay_loop" => set(&mut vs.delay_loop, self.timer(s, 0.000_001, 86400.0)),
                "connect_timeout" => vs.connect_timeout = self.timer(s, 0.000_001, 86400.0),
                "retry" => vs.retry = self.u32(s, 0, 1_000_000),
                "delay_before_retry" => vs.delay_before_retry = self.timer(s, 0.0, 86400.0),
                "warmup" => vs.warmup = self.timer(s, 0.0, 86400.0),
                "inhibit_on_failure" => vs.inhibit_on_failure = self.flag(s),
                "alpha" => vs.alpha = self.flag(s),
                "omega" => vs.omega = self.flag(s),
                "quorum" => set(&mut vs.quorum, self.u32(s, 1, u32::MAX)),
                "hysteresis" => set(&mut vs.hysteresis, self.u32(s, 0, u32::MAX)),
                "quorum_up" => vs.quorum_up = self.command(s),
                "quorum_down" => vs.quorum_down = self.command(s),
                "sorry_server" => {
                    if let Some(ip) = self.ip(s) {
                        let port = match s.args.get(1) {
                            Some(t) => self.port_tok("sorry_server", t),
                            None => None,
                        };
                        vs.sorry_server = Some((ip, port));
                    }
                }
                "sorry_server_inhibit" => vs.sorry_server_inhibit = self.flag(s),
                "sorry_server_lvs_method" => vs.sorry_server_lvs_method = self.method(s),
                "virtualhost" => vs.virtualhost = self.string(s),
                "smtp_alert" => vs.smtp_alert = Some(self.flag(s)),
                "ha_suspend" => vs.ha_suspend = self.flag(s),
                "ip_family" => self.ip_family(s, &mut vs),
                "real_server" => {
                    if let Some(rs) = self.real_server(s) {
                        self.add_real_server(&mut vs, rs);
                    }
                }
                _ => self.unhandled(s),
            }
        }
        self.check_sorry_family(&mut vs);
        self.check_ha_suspend(&mut vs);
        addr.map(|_| vs)
    }

    /// `ha_suspend` follows one address: a fwmark service has none (an
    /// error, as keepalived reports it), and a group's members are never
    /// matched by keepalived, whose checkers then stay off for good; vigil
    /// clears it there too, with a warning, rather than run a dead service.
    fn check_ha_suspend(&mut self, vs: &mut VirtualServer) {
        if !vs.ha_suspend {
            return;
        }
        let loc = vs.locs.of("ha_suspend").cloned().unwrap_or_else(|| vs.loc.clone());
        match &vs.addr {
            VsAddr::Addr(..) => return,
            VsAddr::Fwmark(mark) => {
                let msg = format!(
                    "Virtual server FWM {mark}: cannot use ha_suspend with fwmarks - clearing ha_suspend"
                );
                self.error(&loc, msg, None);
            }
            VsAddr::Group(name) => {
                let msg = format!(
                    "Virtual server [GROUP {name}]: cannot use ha_suspend with a virtual_server_group - clearing ha_suspend"
                );
                let hint = "keepalived never matches a group's addresses, so its checkers would never run";
                self.warn(&loc, msg, Some(hint.to_string()));
            }
        }
        vs.ha_suspend = false;
    }

    /// `ip_family inet|inet6`: the family of a fwmark service; one that
    /// contradicts the family already settled is an error, and ignored.
    fn ip_family(&mut self, s: &Stmt, vs: &mut VirtualServer) {
        let Some(t) = self.value(s) else { return };
        let v6 = match t.word().unwrap_or("") {
            "inet" => false,
            "inet6" => true,
            w => {
                self.error(&t.loc, format!("unknown address family '{w}'"), Some("inet or inet6".into()));
                return;
            }
        };
        match vs.family_v6 {
            Some(f) if f != v6 => {
                let msg = format!(
                    "virtual server specified family {} conflicts with server family; ignored",
                    t.word().unwrap_or("")
                );
                self.error(&t.loc, msg, None);
            }
            _ => vs.family_v6 = Some(v6),
        }
    }

    /// A real server joins unless its family differs from the one settled
    /// (tunnelled ones may differ); the first one settles it.
    fn add_real_server(&mut self, vs: &mut VirtualServer, rs: RealServer) {
        if rs.lvs_method.or(vs.lvs_method) != Some(LvsMethod::Tun) {
            let v6 = rs.addr.is_ipv6();
            match vs.family_v6 {
                Some(f) if f != v6 => {
                    let msg = format!(
                        "address family of virtual server and real server {} don't match - skipping real server",
                        rs.addr
                    );
                    self.error(&rs.loc, msg, None);
                    return;
                }
                _ => vs.family_v6 = Some(v6),
            }
        }
        vs.real_servers.push(rs);
    }

    /// A sorry server of the other family (not tunnelled) is dropped.
    fn check_sorry_family(&mut self, vs: &mut VirtualServer) {
        let Some((ip, _)) = vs.sorry_server else { return };
        if vs.sorry_server_lvs_method == Some(LvsMethod::Tun) {
            return;
        }
        match vs.family_v6 {
            Some(f) if f != ip.is_ipv6() => {
                let loc = vs.locs.of("sorry_server").cloned().unwrap_or_else(|| vs.loc.clone());
                let msg = format!(
                    "address family of virtual server and sorry server {ip} don't match - skipping sorry server"
                );
                self.error(&loc, msg, None);
                vs.sorry_server = None;
            }
            _ => vs.family_v6 = Some(ip.is_ipv6()),
        }
    }

    /// `virtual_server IP PORT` | `fwmark N` | `group NAME`.
    fn vs_addr(&mut self, s: &Stmt) -> Option<VsAddr> {
        let first = self.value(s)?;
        let w = first.word().unwrap_or("");
        let second = s.args.get(1);
        match w {
            "fwmark" => {
                let Some(t) = second else {
                    self.error(&first.loc, "'virtual_server fwmark' needs a mark number".to_string(), None);
                    return None;
                };
                Some(VsAddr::Fwmark(self.int_tok("fwmark", t, 1, u32::MAX.into())? as u32))
            }
            "group" => match second.and_then(|t| t.word()) {
                Some(name) => Some(VsAddr::Group(name.to_string())),
                None => {
                    self.error(&first.loc, "'virtual_server group' needs a group name".to_string(), None);
                    None
                }
            },
            _ => {
                let ip = self.ip_tok("virtual_server", first)?;
                let Some(t) = second else {
                    let msg = format!("virtual_server {w} has an address but no port");
                    self.error(&first.loc, msg, Some(format!("write 'virtual_server {w} PORT {{'")));
                    return None;
                };
                Some(VsAddr::Addr(ip, self.port_tok("virtual_server", t)?))
            }
        }
    }

    fn scheduler(&mut self, s: &Stmt) -> Option<String> {
        const SCHEDULERS: [&str; 14] =
            ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "mh", "dh", "sed", "nq", "fo", "ovf", "twos"];
        let t = self.value(s)?;
        let w = t.word().unwrap_or("");
        if SCHEDULERS.contains(&w) {
            return Some(w.to_string());
        }
        self.error(&t.loc, format!("unknown scheduler '{w}' for '{}'", s.name()), Some(SCHEDULERS.join("|")));
        None
    }

    fn method(&mut self, s: &Stmt) -> Option<LvsMethod> {
        let t = self.value(s)?;
        match t.word().unwrap_or("") {
            "NAT" => Some(LvsMethod::Nat),
            "DR" => Some(LvsMethod::Dr),
            "TUN" => Some(LvsMethod::Tun),
            w => {
                let msg = format!("unknown forwarding method '{w}' for '{}'", s.name());
                self.error(&t.loc, msg, Some("NAT, DR or TUN".to_string()));
                None
            }
        }
    }

    fn protocol(&mut self, s: &Stmt) -> Option<Protocol> {
        let t = self.value(s)?;
        match t.word().unwrap_or("") {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            w => {
                self.error(&t.loc, format!("unknown protocol '{w}'"), Some("TCP, UDP or SCTP".to_string()));
                None
            }
        }
    }

    fn real_server(&mut self, s: &Stmt) -> Option<RealServer> {
        let addr = self.value(s).and_then(|t| self.ip_tok("real_server", t));
        let port = s.args.get(1).and_then(|t| self.port_tok("real_server", t));
        let mut rs = RealServer::new(addr.unwrap_or(IpAddr::from([0, 0, 0, 0])), port, s.loc().clone());
        for s in self.known(Ctx::RealServer, s.stmts()) {
            match s.name() {
                "weight" => set(&mut rs.weight, self.int(s, 0, 65535).map(|w| w as i32)),
                "notify_up" => rs.notify_up = self.command(s).map(Box::new),
                "notify_down" => rs.notify_down = self.command(s).map(Box::new),
                "inhibit_on_failure" => rs.inhibit_on_failure = Some(self.flag(s)),
                "uthreshold" => set(&mut rs.uthreshold, self.u32(s, 0, u32::MAX)),
                "lthreshold" => set(&mut rs.lthreshold, self.u32(s, 0, u32::MAX)),
                "lvs_method" => rs.lvs_method = self.method(s),
                "alpha" => rs.alpha = Some(self.flag(s)),
                "connect_timeout" => rs.connect_timeout = self.timer(s, 0.000_001, 86400.0),
                "retry" => rs.retry = self.u32(s, 0, 1_000_000),
                "delay_before_retry" => rs.delay_before_retry = self.timer(s, 0.0, 86400.0),
                "warmup" => rs.warmup = self.timer(s, 0.0, 86400.0),
                "delay_loop" => rs.delay_loop = self.timer(s, 0.000_001, 86400.0),
                "smtp_alert" => rs.smtp_alert = Some(self.flag(s)),
                "virtualhost" => rs.virtualhost = self.string(s),
                "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "MISC_CHECK" | "DNS_CHECK"
                | "UDP_CHECK" | "PING_CHECK" => rs.checkers.push(self.checker(s)),
                "FILE_CHECK" => rs.checkers.push(self.file_check(s)),
                // Reported by `known`; its options are not read.
                "BFD_CHECK" => {
                    rs.checkers.push(Checker::new(CheckerKind::Unrunnable("BFD_CHECK"), s.loc().clone()))
                }
                _ => self.unhandled(s),
            }
        }
        addr.map(|_| rs)
    }

    fn checker(&mut self, s: &Stmt) -> Checker {
        let (ctx, kind) = match s.name() {
            "HTTP_GET" | "SSL_GET" => (
                Ctx::HttpCheck,
                CheckerKind::Http(HttpCheck {
                    tls: s.name() == "SSL_GET",
                    urls: Vec::new(),
                    http_protocol: HttpProtocol::V1_0,
                    virtualhost: None,
                    enable_sni: false,
                    sni_name: None,
                }),
            ),
            "SMTP_CHECK" => (Ctx::SmtpCheck, CheckerKind::Smtp { helo_name: None }),
            "MISC_CHECK" => (
                Ctx::MiscCheck,
                CheckerKind::Misc(Box::new(MiscCheck {
                    path: None,
                    timeout: None,
                    dynamic: false,
                    user: None,
                })),
            ),
            "DNS_CHECK" => {
                (Ctx::DnsCheck, CheckerKind::Dns { qtype: "SOA".to_string(), name: ".".to_string() })
            }
            "UDP_CHECK" => {
                (Ctx::UdpCheck, CheckerKind::Udp(UdpCheck { payload: None, reply: ReplyRule::default() }))
            }
            "PING_CHECK" => (Ctx::PingCheck, CheckerKind::Ping),
            _ => (Ctx::TcpCheck, CheckerKind::Tcp),
        };
        let mut ck = Checker::new(kind, s.loc().clone());
        for s in self.known(ctx, s.stmts()) {
            if self.checker_common(&mut ck, s) || self.conn_option(&mut ck.conn, s) {
                continue;
            }
            match (&mut ck.kind, s.name()) {
                (CheckerKind::Http(h), "url") => {
                    if let Some(u) = self.url(s) {
                        h.urls.push(std::rc::Rc::new(u));
                    }
                }
                (CheckerKind::Http(h), "http_protocol") => {
                    if let Some(t) = self.value(s) {
                        match t.word().unwrap_or("") {
                            "1.0" => h.http_protocol = HttpProtocol::V1_0,
                            "1.0C" | "1.0c" => h.http_protocol = HttpProtocol::V1_0C,
                            "1.1" => h.http_protocol = HttpProtocol::V1_1,
                            w => self.error(
                                &t.loc,
                                format!("invalid http_protocol '{w}'"),
                                Some("1.0, 1.0C or 1.1".into()),
                            ),
                        }
                    }
                }
                (CheckerKind::Http(h), "virtualhost") => h.virtualhost = self.string(s),
                (CheckerKind::Http(h), "enable_sni") => h.enable_sni = self.flag(s),
                (CheckerKind::Http(h), "sni_name") => h.sni_name = self.string(s),
                (CheckerKind::Http(_), "nb_get_retry") => {
                    self.warn(
                        s.loc(),
                        "'nb_get_retry' is deprecated".to_string(),
                        Some("use 'retry'".into()),
                    );
                    ck.retry = self.u32(s, 0, 1_000_000).or(ck.retry);
                }
                (CheckerKind::Smtp { helo_name, .. }, "helo_name") => *helo_name = self.string(s),
                (CheckerKind::Misc(m), "misc_path") => m.path = self.script_line(s),
                (CheckerKind::Misc(m), "misc_timeout") => m.timeout = self.timer(s, 0.000_001, 86400.0),
                (CheckerKind::Misc(m), "misc_dynamic") => m.dynamic = self.flag(s),
                (CheckerKind::Misc(m), "user") => m.user = self.user_group(s),
                (CheckerKind::Dns { qtype, .. }, "type") => {
                    if let Some(t) = self.value(s) {
                        let w = t.word().unwrap_or("");
                        // Case-insensitive, as in keepalived; kept in its canonical spelling.
                        match dns::type_code(w) {
                            Some(code) => *qtype = dns::type_name(code),
                            None => {
                                let names: Vec<&str> = dns::TYPES.iter().map(|(n, _)| *n).collect();
                                self.error(
                                    &t.loc,
                                    format!("invalid DNS_CHECK type '{w}'"),
                                    Some(names.join("|")),
                                );
                            }
                        }
                    }
                }
                (CheckerKind::Udp(u), "payload") => {
                    u.payload = self.hex(s, false).map(|h| h.data);
                }
                (CheckerKind::Udp(u), "require_reply") => {
                    u.reply.required = true;
                    if !s.args.is_empty() {
                        u.reply.data = self.hex(s, true);
                    }
                }
                (CheckerKind::Udp(u), "min_reply_length") => {
                    set(&mut u.reply.min_len, self.u32(s, 0, u16::MAX.into()).map(|n| n as u16))
                }
                (CheckerKind::Udp(u), "max_reply_length") => {
                    set(&mut u.reply.max_len, self.u32(s, 0, u16::MAX.into()).map(|n| n as u16))
                }
                (CheckerKind::Dns { name, .. }, "name") => {
                    if let Some(n) = self.string(s) {
                        match dns::check_name(&n) {
                            Ok(()) => *name = n,
                            Err(e) => self.error(
                                s.loc(),
                                format!("DNS_CHECK {e}; the root '.' is queried"),
                                Some("labels of 1-63 bytes separated by single dots".into()),
                            ),
                        }
                    }
                }
                _ => self.unhandled(s),
            }
        }
        if let CheckerKind::Udp(u) = &ck.kind {
            if u.reply.data.is_some() && u.reply.min_len > u.reply.max_len {
                let msg = format!(
                    "UDP_CHECK min_reply_length {} > max_reply_length {}: the check would always fail",
                    u.reply.min_len, u.reply.max_len
                );
                self.error(&ck.loc, msg, None);
            }
        }
        if let CheckerKind::Misc(m) = &ck.kind {
            if m.path.is_none() {
                self.error(&ck.loc, "MISC_CHECK has no 'misc_path'".to_string(), None);
            }
        }
        if let CheckerKind::Http(h) = &ck.kind {
            if h.urls.is_empty() {
                self.error(&ck.loc, format!("{} has no 'url' block", ck.kind.keyword()), None);
            }
            // A checker that cannot run must not leave its real server up:
            // the daemon refuses the configuration instead.
            if h.tls && !cfg!(feature = "ssl") {
                self.error(
                    &ck.loc,
                    "SSL_GET cannot run in this build".to_string(),
                    Some(crate::config::diag::NO_TLS.into()),
                );
            }
        }
        ck
    }

    /// `payload HEX...` / `require_reply HEX...`: the words joined by spaces
    /// (keepalived's reading), `x` nibbles allowed in a reply.
    fn hex(&mut self, s: &Stmt, wildcards: bool) -> Option<HexBytes> {
        let t = self.value(s)?;
        let words: Vec<&str> = s.args.iter().filter_map(|t| t.word()).collect();
        match udp::parse_hex(&words.join(" "), wildcards) {
            Ok(h) => Some(h),
            Err(e) => {
                let hint =
                    if wildcards { "hex digits, x for a nibble that matches anything" } else { "hex digits" };
                self.error(&t.loc, format!("invalid hex string for '{}': {e}", s.name()), Some(hint.into()));
                None
            }
        }
    }

    /// Options every checker takes; false when `s` is not one.
    fn checker_common(&mut self, ck: &mut Checker, s: &Stmt) -> bool {
        match s.name() {
            "retry" => ck.retry = self.u32(s, 0, 1_000_000),
            "delay_before_retry" => ck.delay_before_retry = self.timer(s, 0.0, 86400.0),
            "warmup" => ck.warmup = self.timer(s, 0.0, 86400.0),
            "delay_loop" => ck.delay_loop = self.timer(s, 0.000_001, 86400.0),
            "alpha" => ck.alpha = Some(self.flag(s)),
            "log_all_failures" => ck.log_all_failures = Some(self.flag(s)),
            _ => return false,
        }
        true
    }

    /// Connection options; false when `s` is not one.
    fn conn_option(&mut self, c: &mut CheckerConn, s: &Stmt) -> bool {
        match s.name() {
            "connect_ip" => c.connect_ip = self.ip(s),
            "connect_port" => c.connect_port = self.value(s).and_then(|t| self.port_tok("connect_port", t)),
            "bindto" => c.bindto = self.ip(s),
            "bind_port" => c.bind_port = self.value(s).and_then(|t| self.port_tok("bind_port", t)),
            "bind_if" => c.bind_if = self.string(s),
            "fwmark" => c.fwmark = self.u32(s, 0, u32::MAX),
            "connect_timeout" => c.connect_timeout = self.timer(s, 0.000_001, 86400.0),
            _ => return false,
        }
        true
    }

    fn url(&mut self, s: &Stmt) -> Option<Url> {
        let mut u = Url {
            path: String::new(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
            regex: None,
            loc: s.loc().clone(),
        };
        let mut regex = RegexWords::default();
        for s in self.known(Ctx::Url, s.stmts()) {
            if self.url_regex_word(&mut regex, s) {
                continue;
            }
            match s.name() {
                "path" => set(&mut u.path, self.string(s)),
                "digest" => {
                    let Some(t) = self.value(s) else { continue };
                    let w = t.word().unwrap_or("");
                    if w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
                        u.digest = Some(w.to_ascii_lowercase());
                    } else {
                        self.error(
                            &t.loc,
                            format!("invalid digest '{w}'"),
                            Some("32 hex characters (an MD5 sum, see genhash)".into()),
                        );
                    }
                }
                "status_code" => {
                    self.value(s);
                    for t in &s.args {
                        if let Some(r) = self.status_range(t) {
                            u.status_codes.push(r);
                        }
                    }
                }
                "virtualhost" => u.virtualhost = self.string(s),
                _ => self.unhandled(s),
            }
        }
        u.regex = self.url_regex(regex).map(Box::new);
        if u.path.is_empty() {
            self.error(&u.loc, "url block has no 'path'".to_string(), None);
            return None;
        }
        Some(u)
    }

    /// `200` or `200-299`, within 100..=599.
    fn status_range(&mut self, t: &Token) -> Option<(u16, u16)> {
        let w = t.word().unwrap_or("");
        let (a, b) = w.split_once('-').unwrap_or((w, w));
        match (a.parse::<u16>(), b.parse::<u16>()) {
            (Ok(a), Ok(b)) if (100..=599).contains(&a) && (a..=599).contains(&b) => Some((a, b)),
            _ => {
                self.error(
                    &t.loc,
                    format!("invalid status_code '{w}'"),
                    Some("codes or ranges within 100-599, e.g. 200-299".into()),
                );
                None
            }
        }
    }
}

/// `10.0.0.1`, `10.0.0.1-20` (last octet), `fd00::1-ff` (last group), or an IPv4 CIDR.
fn addr_range(w: &str) -> Option<(IpAddr, IpAddr)> {
    if let Some((a, len)) = w.split_once('/') {
        let ip: std::net::Ipv4Addr = a.parse().ok()?;
        let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let net = u32::from(ip) & mask;
        return Some((IpAddr::V4(net.into()), IpAddr::V4((net | !mask).into())));
    }
    let Some((a, end)) = w.rsplit_once('-') else {
        let ip: IpAddr = w.parse().ok()?;
        return Some((ip, ip));
    };
    match a.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let mut o = v4.octets();
            let last: u8 = end.parse().ok().filter(|e| *e >= o[3])?;
            o[3] = last;
            Some((IpAddr::V4(v4), IpAddr::V4(o.into())))
        }
        IpAddr::V6(v6) => {
            let mut seg = v6.segments();
            let last = u16::from_str_radix(end, 16).ok().filter(|e| *e >= seg[7])?;
            seg[7] = last;
            Some((IpAddr::V6(v6), IpAddr::V6(seg.into())))
        }
    }
}
