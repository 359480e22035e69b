//! Token stream -> `model::Config`.
//!
//! Two passes: `tree` groups tokens into statements and blocks (reporting
//! brace errors), then each block is read against the keyword table of its
//! context. Unknown keywords are reported with a did-you-mean hint and
//! skipped with their block; bad values are reported and leave the default.

mod bufs;
mod lvs;
mod lvs_globals;
mod track_file;
mod track_process;
mod tree;
mod url_regex;
mod values;
mod vrrp;

pub use values::{parse_timer, split_command};

use std::collections::HashMap;

use super::diag::Diagnostic;
use super::keywords::{self, Ctx, Kind};
use super::model::{Config, Fifo, GlobalDefs, Ignored, Nftables, SmtpServer};
use super::suggest;
use super::token::Token;
use tree::Stmt;

pub fn parse(tokens: &[Token], diags: &mut Vec<Diagnostic>) -> Config {
    let stmts = tree::build(tokens, diags);
    let mut p =
        Parser { diags, ignored: Vec::new(), unlisted: 0, unlisted_error: false, suggested: HashMap::new() };
    let mut cfg = Config::default();
    let top = p.known(Ctx::Top, &stmts);
    // Room for every instance and virtual server at once: they are large,
    // and growing by doubling copies them and touches fresh pages.
    let count = |name: &str| top.iter().filter(|s| s.name() == name).count();
    cfg.instances.reserve(count("vrrp_instance"));
    cfg.virtual_servers.reserve(count("virtual_server"));
    for s in top {
        match s.name() {
            "global_defs" => p.global_defs(&mut cfg.global, s),
            "static_ipaddress" => {
                for item in s.stmts() {
                    if let Some(v) = p.vip(item) {
                        cfg.static_ipaddress.push(v);
                    }
                }
            }
            "static_routes" => cfg.static_routes.extend(p.ip_lines(s, super::route::parse_route)),
            "static_rules" => cfg.static_rules.extend(p.ip_lines(s, super::rule::parse_rule)),
            "vrrp_script" => cfg.vrrp_scripts.extend(p.vrrp_script(s).filter(|x| !x.name.is_empty())),
            "vrrp_track_ping" => cfg.track_pings.extend(p.track_ping(s).filter(|x| !x.name.is_empty())),
            "track_file" | "vrrp_track_file" => cfg.track_files.extend(p.track_file(s)),
            "vrrp_track_process" => cfg.track_processes.extend(p.track_process(s)),
            "garp_group" => p.garp_group(&mut cfg.global, s),
            "vrrp_sync_group" => cfg.sync_groups.extend(p.sync_group(s).filter(|x| !x.name.is_empty())),
            "vrrp_instance" => cfg.instances.extend(p.instance(s).filter(|x| !x.name.is_empty())),
            "virtual_server_group" => cfg.vs_groups.extend(p.vs_group(s).filter(|x| !x.name.is_empty())),
            "virtual_server" => {
                if let Some(vs) = p.virtual_server(s) {
                    cfg.virtual_servers.push(vs);
                }
            }
            _ => p.unhandled(s),
        }
    }
    // FILE_CHECK may name a track_file defined further down.
    for ck in cfg.virtual_servers.iter().flat_map(|v| &v.real_servers).flat_map(|r| &r.checkers) {
        if let super::model::CheckerKind::File(f) = &ck.kind {
            if !f.track.is_empty() && !cfg.track_files.iter().any(|t| t.name == f.track) {
                let msg = format!("FILE_CHECK tracks '{}', which no track_file block defines", f.track);
                p.error(&ck.loc, msg, None);
            }
        }
    }
    if p.unlisted > 0 {
        let note = format!("{} further problems not listed; fix the ones above first", p.unlisted);
        p.diags.push(if p.unlisted_error {
            Diagnostic::error(None, note)
        } else {
            Diagnostic::warning(None, note)
        });
    }
    cfg.ignored = p.ignored;
    cfg
}

pub(crate) struct Parser<'d> {
    diags: &'d mut Vec<Diagnostic>,
    /// `Ignored` keywords met, in order, for `--dump`.
    ignored: Vec<Ignored>,
    /// Problems past `MAX_LISTED`, counted but not listed: a generated
    /// configuration can repeat one mistake a million times.
    unlisted: usize,
    unlisted_error: bool,
    /// Did-you-mean answers by block and word: a generated configuration
    /// repeats the same unknown word, and each search costs an edit
    /// distance per keyword of the block.
    suggested: HashMap<(Ctx, String), Option<&'static str>>,
}

const MAX_LISTED: usize = 10_000;

impl Parser<'_> {
    /// The statements of a block that are known in `ctx` and have the right
    /// shape; everything else is reported here.
    fn known<'s, 't>(&mut self, ctx: Ctx, stmts: &'s [Stmt<'t>]) -> Vec<&'s Stmt<'t>> {
        let mut out = Vec::new();
        for s in stmts {
            let name = s.name();
            let Some(k) = keywords::lookup(ctx, name) else {
                self.unknown(ctx, s);
                continue;
            };
            match k.kind {
                Kind::Ignored => {
                    let note = keywords::ignored_note(k.ctx, name).map(String::from);
                    let msg = keywords::ignored_message(k.ctx, name);
                    self.ignored.push(Ignored { ctx: k.ctx, name: k.name, loc: s.loc().clone() });
                    self.warn(s.loc(), msg, note);
                    continue;
                }
                Kind::Unrunnable => {
                    // Still parsed: the checker exists and fails, so its server is down.
                    let msg = keywords::ignored_message(k.ctx, name);
                    self.ignored.push(Ignored { ctx: k.ctx, name: k.name, loc: s.loc().clone() });
                    let note = keywords::ignored_note(k.ctx, name).map(String::from);
                    self.warn(s.loc(), msg, note);
                }
                Kind::Value => {
                    if let Some(b) = &s.body {
                        let msg = format!("'{name}' does not open a block; the block is skipped");
                        self.error(&b.open.loc, msg, None);
                    }
                    self.comment_like(s);
                }
                Kind::Block(_) | Kind::List => {
                    if s.body.is_none() {
                        let msg = format!("'{name}' needs a block: '{name} ... {{' is missing its '{{'");
                        self.error(s.loc(), msg, None);
                        continue;
                    }
                }
            }
            out.push(s);
        }
        out
    }

    fn unknown(&mut self, ctx: Ctx, s: &Stmt) {
        if self.full() {
            self.unlisted += 1;
            self.unlisted_error = true;
            return;
        }
        let name = s.name();
        let mut msg = format!("unknown keyword '{name}'");
        if ctx != Ctx::Top {
            msg.push_str(&format!(" in {}", ctx.name()));
        }
        if s.body.is_some() {
            msg.push_str(" (its block is skipped)");
        }
        let key = (ctx, name.to_string());
        let close = *self
            .suggested
            .entry(key)
            .or_insert_with(|| suggest::did_you_mean(name, keywords::names_in(ctx)));
        let hint = if let Some(c) = close {
            Some(format!("did you mean '{c}'?"))
        } else if name.starts_with("//") {
            Some("'//' does not start a comment; use '#' or '!'".to_string())
        } else {
            let homes = keywords::blocks_with(name, ctx);
            (!homes.is_empty()).then(|| {
                let names: Vec<&str> = homes.iter().map(|c| c.name()).collect();
                format!("'{name}' belongs in {}; is a brace missing or misplaced above?", names.join(" or "))
            })
        };
        self.error(s.loc(), msg, hint);
    }

    /// keepalived has no `//` comments: such words become arguments.
    fn comment_like(&mut self, s: &Stmt) {
        if let Some(t) = s.args.iter().find(|t| !t.quoted && t.word().is_some_and(|w| w.starts_with("//"))) {
            let msg = format!(
                "'//' does not start a comment: the rest of the '{}' line is read as values",
                s.name()
            );
            self.warn(&t.loc, msg, Some("use '#' or '!' for comments".to_string()));
        }
    }

    /// A keyword in the table that this parser does not read (a table/parser mismatch).
    fn unhandled(&mut self, s: &Stmt) {
        self.warn(s.loc(), format!("'{}' is accepted but has no effect in vigil", s.name()), None);
    }

    /// The name after a block keyword (`vrrp_instance NAME {`); an empty
    /// name (reported here) makes the caller drop the block after reading it.
    fn block_name(&mut self, s: &Stmt) -> Option<String> {
        let name = s.arg(0).map(String::from);
        if name.is_none() {
            self.error(s.loc(), format!("'{}' needs a name", s.name()), None);
        }
        name
    }

    /// A route or rule list, each line parsed with `parse` (`ip` syntax).
    fn ip_lines<T>(
        &mut self,
        s: &Stmt,
        parse: fn(&[String]) -> Result<T, String>,
    ) -> Vec<super::model::IpLine<T>> {
        let lines = self.list_lines(s);
        let parse = |(words, loc): (Vec<String>, super::diag::Loc)| {
            let parsed = std::rc::Rc::new(parse(&words));
            super::model::IpLine { words, loc, parsed }
        };
        lines.into_iter().map(parse).collect()
    }

    /// The lines of a route or rule list as words.
    fn list_lines(&mut self, s: &Stmt) -> Vec<(Vec<String>, super::diag::Loc)> {
        s.stmts()
            .iter()
            .map(|item| {
                if let Some(b) = &item.body {
                    self.error(&b.open.loc, "unexpected block inside a route or rule list".to_string(), None);
                }
                (item.words(), item.loc().clone())
            })
            .collect()
    }

    /// The words of a list block (`notification_email`, `group`), one or more per line.
    fn list_words(&mut self, s: &Stmt) -> Vec<(String, super::diag::Loc)> {
        let mut out = Vec::new();
        for item in s.stmts() {
            if let Some(b) = &item.body {
                self.error(&b.open.loc, format!("unexpected block inside '{}'", s.name()), None);
            }
            for t in std::iter::once(item.key).chain(item.args.iter().copied()) {
                if let Some(w) = t.word() {
                    out.push((w.to_string(), t.loc.clone()));
                }
            }
        }
        out
    }

    fn global_defs(&mut self, g: &mut GlobalDefs, s: &Stmt) {
        for s in self.known(Ctx::GlobalDefs, s.stmts()) {
            g.locs.set(s.name(), s.loc().clone());
            match s.name() {
                "router_id" => g.router_id = self.string(s).or(g.router_id.take()),
                "notification_email" => {
                    g.notification_email.extend(self.list_words(s).into_iter().map(|(w, _)| w))
                }
                "notification_email_from" => g.notification_email_from = self.string(s),
                "smtp_server" => {
                    if let Some(host) = self.string(s) {
                        let port = match s.args.get(1) {
                            Some(t) => self.port_tok("smtp_server", t).unwrap_or(25),
                            None => 25,
                        };
                        g.smtp_server = Some(SmtpServer { host, port });
                    }
                }
                "smtp_connect_timeout" => set(&mut g.smtp_connect_timeout, self.timer(s, 0.000_001, 86400.0)),
                "smtp_helo_name" => g.smtp_helo_name = self.string(s),
                "smtp_alert" => g.smtp_alert = Some(self.flag(s)),
                "smtp_alert_vrrp" => g.smtp_alert_vrrp = Some(self.flag(s)),
                "smtp_alert_checker" => g.smtp_alert_checker = Some(self.flag(s)),
                "no_email_faults" => g.no_email_faults = self.flag(s),
                "disable_local_igmp" => g.disable_local_igmp = self.flag(s),
                "vrrp_rt_priority" => g.vrrp_sched.rt_priority = self.u32(s, 0, 99),
                "checker_rt_priority" => g.checker_sched.rt_priority = self.u32(s, 0, 99),
                "vrrp_priority" => g.vrrp_sched.nice = self.int(s, -20, 19).map(|n| n as i32),
                "checker_priority" => g.checker_sched.nice = self.int(s, -20, 19).map(|n| n as i32),
                "vrrp_no_swap" => g.vrrp_sched.no_swap = self.flag(s),
                "checker_no_swap" => g.checker_sched.no_swap = self.flag(s),
                "vrrp_rlimit_rttime" => g.vrrp_sched.rlimit_rttime = self.u32(s, 1, u32::MAX),
                "checker_rlimit_rttime" => g.checker_sched.rlimit_rttime = self.u32(s, 1, u32::MAX),
                "no_checker_emails" => g.no_checker_emails = self.flag(s),
                "checker_log_all_failures" => g.checker_log_all_failures = self.flag(s),
                "script_user" => g.script_user = self.user_group(s),
                "enable_script_security" => g.enable_script_security = self.flag(s),
                "startup_script" => g.startup_script = self.command(s),
                "shutdown_script" => g.shutdown_script = self.command(s),
                "startup_script_timeout" => set(
                    &mut g.startup_script_timeout,
                    self.u32(s, 1, 1000).map(|n| std::time::Duration::from_secs(n.into())),
                ),
                "shutdown_script_timeout" => set(
                    &mut g.shutdown_script_timeout,
                    self.u32(s, 1, 1000).map(|n| std::time::Duration::from_secs(n.into())),
                ),
                // keepalived: no value means the highest SCHED_RR priority; 0 and -1 turn it off.
                "max_auto_priority" => match s.args.first() {
                    None => g.max_auto_priority = Some(99),
                    Some(_) => {
                        if let Some(n) = self.int(s, -1, 99) {
                            g.max_auto_priority = u32::try_from(n).ok().filter(|&n| n > 0);
                        }
                    }
                },
                "min_auto_priority_delay" => set(
                    &mut g.min_auto_priority_delay,
                    self.u32(s, 1, 10_000_000).map(|us| std::time::Duration::from_micros(us.into())),
                ),
                "vrrp_strict" => g.vrrp_strict = self.flag(s),
                "nftables" => g.nftables.table = self.nftables_table(s),
                "nftables_priority" => set(
                    &mut g.nftables.priority,
                    self.int(s, i32::MIN.into(), i32::MAX.into()).map(|n| n as i32),
                ),
                "nftables_counters" => g.nftables.counters = self.flag(s),
                "nftables_ifindex" => g.nftables.ifindex = self.flag(s),
                "vrrp_version" => set(&mut g.vrrp_version, self.int(s, 2, 3).map(|v| v as u8)),
                "vrrp_mcast_group4" => {
                    if let Some(ip) = self.mcast_group(s, false) {
                        g.vrrp_mcast_group4 = ip;
                    }
                }
                "vrrp_mcast_group6" => {
                    if let Some(ip) = self.mcast_group(s, true) {
                        g.vrrp_mcast_group6 = ip;
                    }
                }
                "vrrp_garp_master_delay" => set(&mut g.vrrp_garp_master_delay, self.timer(s, 0.0, 86400.0)),
                "vrrp_garp_master_repeat" => set(&mut g.vrrp_garp_master_repeat, self.u32(s, 0, 1000)),
                "vrrp_garp_master_refresh" => {
                    set(&mut g.vrrp_garp_master_refresh, self.timer(s, 0.0, 86400.0))
                }
                "vrrp_garp_master_refresh_repeat" => {
                    set(&mut g.vrrp_garp_master_refresh_repeat, self.u32(s, 0, 1000))
                }
                "vrrp_garp_lower_prio_delay" => g.vrrp_garp_lower_prio_delay = self.timer(s, 0.0, 86400.0),
                "vrrp_garp_lower_prio_repeat" => g.vrrp_garp_lower_prio_repeat = self.u32(s, 0, 1000),
                "vrrp_garp_interval" => set(&mut g.vrrp_garp_interval, self.timer(s, 0.0, 1.0)),
                "vrrp_gna_interval" => set(&mut g.vrrp_gna_interval, self.timer(s, 0.0, 1.0)),
                "vrrp_min_garp" => g.vrrp_min_garp = self.flag(s),
                "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = self.flag(s),
                "vrrp_higher_prio_send_advert" => g.vrrp_higher_prio_send_advert = self.flag(s),
                "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = self.flag(s),
                "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = self.flag(s),
                "vrrp_startup_delay" | "vrrp_delay_after_boot" => {
                    set(&mut g.vrrp_startup_delay, self.timer(s, 0.0, 3600.0))
                }
                "vrrp_down_timer_adverts" => set(&mut g.vrrp_down_timer_adverts, self.u32(s, 1, 100)),
                "vrrp_owner_ignore_adverts" => g.vrrp_owner_ignore_adverts = self.flag(s),
                "default_interface" => set(&mut g.default_interface, self.string(s)),
                "metrics_listen" => g.metrics_listen = self.socket_addr(s),
                "lvs_sync_daemon" => {
                    if let Some(old) = &g.lvs_sync_daemon {
                        let msg = format!(
                            "lvs_sync_daemon is already set (on {}); this one is ignored",
                            old.ifname
                        );
                        self.error(s.loc(), msg, None);
                    } else {
                        g.lvs_sync_daemon = self.lvs_sync_daemon(s);
                    }
                }
                "lvs_timeouts" => g.lvs_timeouts = self.lvs_timeouts(s).or(g.lvs_timeouts),
                "lvs_flush" => g.lvs_flush = self.flag(s),
                // vigil always waits for a missing interface, as keepalived
                // does with this keyword; its option is not acted on.
                "dynamic_interfaces" => match s.args.first() {
                    None => {}
                    Some(t) if t.word() == Some("allow_if_changes") => {
                        let msg = "'allow_if_changes': vigil does not follow an interface that is deleted and made again";
                        self.warn(&t.loc, msg.to_string(), None);
                    }
                    Some(t) => {
                        let msg = format!("unknown dynamic_interfaces option '{}'", t.word().unwrap_or(""));
                        self.error(&t.loc, msg, Some("the only one is allow_if_changes".to_string()));
                    }
                },
                "lvs_flush_on_stop" => g.lvs_flush_on_stop = self.lvs_flush_on_stop(s),
                "notify_fifo" => self.fifo(s, &mut g.notify_fifo),
                "vrrp_notify_priority_changes" => g.vrrp_notify_priority_changes = self.flag(s),
                "vrrp_notify_fifo" => self.fifo(s, &mut g.vrrp_notify_fifo),
                "lvs_notify_fifo" => self.fifo(s, &mut g.lvs_notify_fifo),
                "notify_fifo_script" => self.fifo_script(s, &mut g.notify_fifo),
                "vrrp_notify_fifo_script" => self.fifo_script(s, &mut g.vrrp_notify_fifo),
                "lvs_notify_fifo_script" => self.fifo_script(s, &mut g.lvs_notify_fifo),
                "reload_check_config" => {
                    g.reload_check_config = Some(s.arg(0).unwrap_or("/dev/null").to_string())
                }
                "reload_file" => {
                    g.reload_file = Some(s.arg(0).unwrap_or("/run/keepalived.reload").to_string())
                }
                "reload_time_file" => g.reload_time_file = self.string(s).or(g.reload_time_file.take()),
                "reload_repeat" => g.reload_repeat = self.flag(s),
                _ if self.buffer_keyword(g, s) => {}
                _ => self.unhandled(s),
            }
        }
    }

    /// `nftables [TABLE]`: a name nf_tables takes (below 32 bytes, letters,
    /// digits, `_`, `-`, `.`), or keepalived's default without one.
    fn nftables_table(&mut self, s: &Stmt) -> Option<String> {
        let Some(t) = s.args.first() else { return Some(Nftables::DEFAULT_TABLE.to_string()) };
        let name = t.word().unwrap_or("");
        let valid = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
        if name.is_empty() || name.len() >= 32 || !name.chars().all(valid) {
            let msg = format!("invalid nftables table name '{name}'");
            self.error(&t.loc, msg, Some("up to 31 letters, digits, '_', '-' or '.'".into()));
            return Some(Nftables::DEFAULT_TABLE.to_string());
        }
        Some(name.to_string())
    }

    /// `notify_fifo PATH [user [group]]`. As in keepalived, the first one
    /// counts, and its `_script` may come before or after it (`config::validate` reports
    /// a script whose FIFO never comes).
    fn fifo(&mut self, s: &Stmt, slot: &mut Option<Fifo>) {
        let Some(path) = self.string(s) else { return };
        if let Some(f) = slot.as_ref().filter(|f| !f.path.is_empty()) {
            let msg = format!("'{}' already specified ({}): {path} ignored", s.name(), f.path);
            self.error(s.loc(), msg, None);
            return;
        }
        let script = slot.take().and_then(|f| f.script);
        let (user, group) = (s.arg(1).map(String::from), s.arg(2).map(String::from));
        *slot = Some(Fifo { path, user, group, script });
    }

    fn fifo_script(&mut self, s: &Stmt, fifo: &mut Option<Fifo>) {
        let Some(cmd) = self.command(s) else { return };
        let f =
            fifo.get_or_insert_with(|| Fifo { path: String::new(), user: None, group: None, script: None });
        if f.script.is_some() {
            self.error(s.loc(), format!("'{}' already specified: ignored", s.name()), None);
            return;
        }
        f.script = Some(cmd);
    }
}

/// Keeps `slot` unchanged when the value was invalid.
fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

#[cfg(test)]
pub(crate) mod tests;
