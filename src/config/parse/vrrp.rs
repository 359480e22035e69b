//! The VRRP blocks: vrrp_script, vrrp_sync_group, vrrp_instance and the
//! address lines they share with static_ipaddress.

use std::net::IpAddr;

use super::super::keywords::Ctx;
use super::super::model::{
    Auth, AuthHmac, Broadcast, InitialState, Notify, TrackInterface, TrackScript, UnicastPeer, VipSpec,
    VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackPing,
};
use super::tree::Stmt;
use super::{set, Parser};
use crate::config::model as hmac;

impl Parser<'_> {
    pub(super) fn vrrp_script(&mut self, s: &Stmt) -> Option<VrrpScript> {
        let name = self.block_name(s).unwrap_or_default();
        let mut sc = VrrpScript::new(name, s.loc().clone());
        for s in self.known(Ctx::VrrpScript, s.stmts()) {
            match s.name() {
                "script" => sc.script = self.script_line(s),
                "interval" => set(&mut sc.interval, self.timer(s, 0.000_001, 86400.0)),
                "timeout" => sc.timeout = self.timer(s, 0.000_001, 86400.0),
                "weight" => {
                    if let Some(w) = self.int(s, -253, 253) {
                        sc.weight = w as i32;
                        sc.weight_reverse = self.reverse_word(s, 1);
                    }
                }
                "rise" => set(&mut sc.rise, self.u32(s, 1, 1_000_000)),
                "fall" => set(&mut sc.fall, self.u32(s, 1, 1_000_000)),
                "user" => sc.user = self.user_group(s),
                "init_fail" => sc.init_fail = true,
                _ => self.unhandled(s),
            }
        }
        if sc.script.is_none() {
            self.error(&sc.loc, format!("vrrp_script '{}' has no 'script' line", sc.name), None);
        }
        Some(sc)
    }

    /// `vrrp_track_ping NAME { ... }` (a vigil extension).
    pub(super) fn track_ping(&mut self, s: &Stmt) -> Option<VrrpTrackPing> {
        let name = self.block_name(s).unwrap_or_default();
        let mut tp = VrrpTrackPing::new(name, s.loc().clone());
        for s in self.known(Ctx::TrackPing, s.stmts()) {
            match s.name() {
                "address" => tp.address = self.ip(s),
                "interface" => tp.interface = self.interface_name(s),
                "interval" => set(&mut tp.interval, self.timer(s, 0.01, 86400.0)),
                "timeout" => tp.timeout = self.timer(s, 0.01, 86400.0),
                "weight" => {
                    if let Some(w) = self.int(s, -253, 253) {
                        tp.weight = w as i32;
                        tp.weight_reverse = self.reverse_word(s, 1);
                    }
                }
                "rise" => set(&mut tp.rise, self.u32(s, 1, 1_000_000)),
                "fall" => set(&mut tp.fall, self.u32(s, 1, 1_000_000)),
                _ => self.unhandled(s),
            }
        }
        if tp.address.is_none() {
            self.error(&tp.loc, format!("vrrp_track_ping '{}' has no 'address' line", tp.name), None);
        }
        Some(tp)
    }

    /// `reverse` after a weight, at argument `i`.
    pub(super) fn reverse_word(&mut self, s: &Stmt, i: usize) -> bool {
        match s.args.get(i) {
            None => false,
            Some(t) if t.word() == Some("reverse") => true,
            Some(t) => {
                let msg =
                    format!("unexpected '{}' after the weight of '{}'", t.word().unwrap_or(""), s.name());
                self.error(&t.loc, msg, Some("only 'reverse' may follow a weight".to_string()));
                false
            }
        }
    }

    pub(super) fn sync_group(&mut self, s: &Stmt) -> Option<VrrpSyncGroup> {
        let name = self.block_name(s).unwrap_or_default();
        let mut g = VrrpSyncGroup {
            name,
            members: Vec::new(),
            notify: Notify::default(),
            smtp_alert: None,
            track_scripts: Vec::new(),
            track_pings: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_interfaces: Vec::new(),
            sync_group_tracking_weight: false,
            notify_priority_changes: None,
            loc: s.loc().clone(),
        };
        for s in self.known(Ctx::SyncGroup, s.stmts()) {
            match s.name() {
                "group" => g.members.extend(self.list_words(s)),
                "smtp_alert" => g.smtp_alert = Some(self.flag(s)),
                "track_script" => g.track_scripts.extend(self.track_scripts(s)),
                "track_ping" => g.track_pings.extend(self.track_scripts(s)),
                "track_file" => g.track_files.extend(self.track_scripts(s)),
                "track_process" => g.track_processes.extend(self.track_scripts(s)),
                "track_interface" => g.track_interfaces.extend(self.track_interfaces(s)),
                "sync_group_tracking_weight" => g.sync_group_tracking_weight = self.flag(s),
                "notify_priority_changes" => g.notify_priority_changes = Some(self.flag(s)),
                _ if self.notify(&mut g.notify, s) => {}
                _ => self.unhandled(s),
            }
        }
        Some(g)
    }

    /// Reads a `notify*` keyword; false when `s` is not one.
    fn notify(&mut self, n: &mut Notify, s: &Stmt) -> bool {
        let slot = match s.name() {
            "notify_master" => &mut n.master,
            "notify_backup" => &mut n.backup,
            "notify_fault" => &mut n.fault,
            "notify_stop" => &mut n.stop,
            "notify" => &mut n.any,
            _ => return false,
        };
        *slot = self.command(s);
        true
    }

    fn track_scripts(&mut self, s: &Stmt) -> Vec<TrackScript> {
        let mut out = Vec::new();
        for item in s.stmts() {
            let mut t = TrackScript {
                name: item.name().to_string(),
                weight: None,
                reverse: false,
                loc: item.loc().clone(),
            };
            self.weight_opts(item, &mut t.weight, &mut t.reverse);
            out.push(t);
        }
        out
    }

    fn track_interfaces(&mut self, s: &Stmt) -> Vec<TrackInterface> {
        let mut out = Vec::new();
        for item in s.stmts() {
            let (mut weight, mut reverse) = (None, false);
            self.weight_opts(item, &mut weight, &mut reverse);
            out.push(TrackInterface {
                name: item.name().to_string(),
                weight: weight.unwrap_or(0),
                reverse,
                loc: item.loc().clone(),
            });
        }
        out
    }

    /// `NAME [weight N [reverse]]` in track_script / track_interface.
    fn weight_opts(&mut self, item: &Stmt, weight: &mut Option<i32>, reverse: &mut bool) {
        if let Some(b) = &item.body {
            self.error(&b.open.loc, format!("unexpected block after tracked name '{}'", item.name()), None);
        }
        match item.args.first() {
            None => {}
            Some(t) if t.word() == Some("weight") => match item.args.get(1) {
                Some(v) => {
                    *weight = self.int_tok("weight", v, -253, 253).map(|w| w as i32);
                    *reverse = self.reverse_word(item, 2);
                }
                None => self.error(&t.loc, "'weight' needs a value".to_string(), None),
            },
            Some(t) => {
                let w = t.word().unwrap_or("");
                let msg = format!("unknown option '{w}' for tracked name '{}'", item.name());
                self.error(&t.loc, msg, Some("expected 'weight N [reverse]'".to_string()));
            }
        }
    }

    pub(super) fn instance(&mut self, s: &Stmt) -> Option<VrrpInstance> {
        let name = self.block_name(s).unwrap_or_default();
        let mut vi = VrrpInstance::new(name, s.loc().clone());
        for s in self.known(Ctx::Instance, s.stmts()) {
            vi.locs.set(s.name(), s.loc().clone());
            match s.name() {
                "state" => vi.state = self.state(s),
                "interface" => vi.interface = self.interface_name(s),
                "virtual_router_id" => set(&mut vi.vrid, self.int(s, 1, 255).map(|v| v as u8)),
                "priority" => {
                    if let Some(p) = self.int(s, 1, 255) {
                        vi.priority = Some(p as u8);
                    }
                }
                "advert_int" => set(&mut vi.advert_int, self.timer(s, 0.01, 255.0)),
                "authentication" => self.authentication(&mut vi, s),
                "auth_hmac" => self.auth_hmac(&mut vi, s),
                "virtual_ipaddress" => vi.vips.extend(self.vips(s)),
                "virtual_ipaddress_excluded" => vi.vips_excluded.extend(self.vips(s)),
                "virtual_routes" => {
                    vi.virtual_routes.extend(self.ip_lines(s, crate::config::route::parse_route))
                }
                "virtual_rules" => vi.virtual_rules.extend(self.ip_lines(s, crate::config::rule::parse_rule)),
                "nopreempt" => vi.nopreempt = true,
                "preempt" => vi.nopreempt = false,
                "preempt_delay" => set(&mut vi.preempt_delay, self.timer(s, 0.0, 1000.0)),
                "track_script" => vi.track_scripts.extend(self.track_scripts(s)),
                "track_ping" => vi.track_pings.extend(self.track_scripts(s)),
                "track_file" => vi.track_files.extend(self.track_scripts(s)),
                "track_process" => vi.track_processes.extend(self.track_scripts(s)),
                "track_interface" => vi.track_interfaces.extend(self.track_interfaces(s)),
                "dont_track_primary" => vi.dont_track_primary = true,
                "mcast_src_ip" => vi.mcast_src_ip = self.ip(s),
                "unicast_src_ip" => vi.unicast_src_ip = self.ip(s),
                "unicast_peer" => vi.unicast_peers.extend(self.unicast_peers(s)),
                "unicast_ttl" => set(&mut vi.unicast_ttl, self.int(s, 1, 255).map(|v| v as u8)),
                "check_unicast_src" => vi.check_unicast_src = Some(self.flag(s)),
                "unicast_fault_no_peer" => vi.unicast_fault_no_peer = true,
                "version" => vi.version = self.int(s, 2, 3).map(|v| v as u8),
                "use_vmac" => vi.use_vmac = Some(s.arg(0).map(String::from)),
                "vmac_xmit_base" => vi.vmac_xmit_base = true,
                "accept" => vi.accept = Some(true),
                "no_accept" => vi.accept = Some(false),
                "strict_mode" => vi.strict_mode = Some(self.flag(s)),
                "skip_check_adv_addr" => vi.skip_check_adv_addr = Some(self.flag(s)),
                "garp_master_delay" => vi.garp_master_delay = self.timer(s, 0.0, 86400.0),
                "garp_master_repeat" => vi.garp_master_repeat = self.u32(s, 0, 1000),
                "garp_master_refresh" => vi.garp_master_refresh = self.timer(s, 0.0, 86400.0),
                "garp_master_refresh_repeat" => vi.garp_master_refresh_repeat = self.u32(s, 0, 1000),
                "garp_lower_prio_delay" => vi.garp_lower_prio_delay = self.timer(s, 0.0, 86400.0),
                "garp_lower_prio_repeat" => vi.garp_lower_prio_repeat = self.u32(s, 0, 1000),
                "lower_prio_no_advert" => vi.lower_prio_no_advert = Some(self.flag(s)),
                "higher_prio_send_advert" => vi.higher_prio_send_advert = Some(self.flag(s)),
                "owner_ignore_adverts" => vi.owner_ignore_adverts = Some(self.flag(s)),
                "v3_checksum_as_v2" => vi.v3_checksum_as_v2 = self.flag(s),
                "down_timer_adverts" => vi.down_timer_adverts = self.u32(s, 1, 100),
                "smtp_alert" => vi.smtp_alert = Some(self.flag(s)),
                "notify_priority_changes" => vi.notify_priority_changes = Some(self.flag(s)),
                "notify_deleted" => {
                    // keepalived: the command is optional; without one only
                    // the reported state changes (DELETED instead of FAULT).
                    vi.notify_deleted = true;
                    if !s.args.is_empty() {
                        vi.notify.deleted = self.command(s);
                    }
                }
                _ if self.notify(&mut vi.notify, s) => {}
                _ => self.unhandled(s),
            }
        }
        Some(vi)
    }

    /// Linux interface names are at most 15 bytes and have no '/' or spaces.
    fn interface_name(&mut self, s: &Stmt) -> Option<String> {
        let t = self.value(s)?;
        let w = t.word().unwrap_or("");
        if w.is_empty() || w.len() > 15 || w.contains(['/', ' ', '\t']) || w.contains("${") {
            self.error(
                &t.loc,
                format!("invalid interface name '{w}'"),
                Some("at most 15 characters, no '/' or spaces".into()),
            );
            return None;
        }
        Some(w.to_string())
    }

    fn state(&mut self, s: &Stmt) -> Option<InitialState> {
        let t = self.value(s)?;
        match t.word().unwrap_or("") {
            "MASTER" => Some(InitialState::Master),
            "BACKUP" => Some(InitialState::Backup),
            w => {
                let msg = format!("invalid state '{w}' (treated as BACKUP)");
                self.error(&t.loc, msg, Some("MASTER or BACKUP".to_string()));
                Some(InitialState::Backup)
            }
        }
    }

    fn authentication(&mut self, vi: &mut VrrpInstance, s: &Stmt) {
        let mut kind: Option<&str> = None;
        let mut pass: Option<Vec<u8>> = None;
        for a in self.known(Ctx::Authentication, s.stmts()) {
            vi.locs.set(a.name(), a.loc().clone());
            match a.name() {
                "auth_type" => {
                    let Some(t) = self.value(a) else { continue };
                    match t.word().unwrap_or("") {
                        "PASS" => kind = Some("PASS"),
                        "AH" => kind = Some("AH"),
                        w => {
                            let msg = format!("invalid auth_type '{w}' for instance '{}'", vi.name);
                            self.error(&t.loc, msg, Some("PASS or AH".to_string()));
                        }
                    }
                }
                "auth_pass" => {
                    let Some(t) = self.value(a) else { continue };
                    let mut p = t.word().unwrap_or("").as_bytes().to_vec();
                    if p.len() > 8 {
                        p.truncate(8);
                        let msg = format!(
                            "auth_pass is longer than 8 characters; only '{}' is used",
                            String::from_utf8_lossy(&p)
                        );
                        self.warn(&t.loc, msg, None);
                    }
                    pass = Some(p);
                }
                _ => self.unhandled(a),
            }
        }
        vi.auth = match (kind, pass) {
            (Some("AH"), Some(p)) => Some(Auth::Ah(p)),
            (Some(_), Some(p)) => Some(Auth::Pass(p)),
            (Some(k), None) => {
                let loc = vi.locs.of("auth_type").unwrap_or(s.loc()).clone();
                let msg = format!("instance '{}' has {k} authentication without an auth_pass", vi.name);
                self.error(&loc, msg, Some("add 'auth_pass SECRET' to the authentication block".to_string()));
                None
            }
            (None, Some(_)) => {
                let msg = format!("instance '{}': auth_pass without auth_type is ignored", vi.name);
                self.error(s.loc(), msg, Some("add 'auth_type PASS'".to_string()));
                None
            }
            (None, None) => None,
        };
    }

    /// `auth_hmac { key ID VALUE; active_key ID; anti_replay; time_window; mode }`.
    /// A second block in one instance modifies the first, as in keepalived.
    fn auth_hmac(&mut self, vi: &mut VrrpInstance, s: &Stmt) {
        let name = vi.name.clone();
        let h = vi.auth_hmac.get_or_insert_with(|| AuthHmac::new(s.loc().clone()));
        for a in self.known(Ctx::AuthHmac, s.stmts()) {
            match a.name() {
                "key" => {
                    let words: Vec<&str> = a.args.iter().filter_map(|t| t.word()).collect();
                    if words.len() < 2 {
                        self.error(a.loc(), format!("({name}) auth_hmac key needs an id and a value"), None);
                        continue;
                    }
                    let Some(id) = self.int_tok("key", a.args[0], 1, 255).map(|v| v as u8) else { continue };
                    let value = words[1..].join(" ");
                    let Some(key) = self.hmac_key_value(&name, a, id, &value) else { continue };
                    if h.keys.iter().any(|(k, _)| *k == id) {
                        let msg = format!("({name}) duplicate auth_hmac key id {id}; the first key is kept");
                        self.error(a.loc(), msg, None);
                        continue;
                    }
                    h.keys.push((id, key));
                }
                "active_key" => {
                    if let Some(id) = self.int(a, 1, 255) {
                        h.active_key = Some(id as u8);
                        h.active_key_loc = Some(a.loc().clone());
                    }
                }
                "anti_replay" => {
                    let Some(t) = self.value(a) else { continue };
                    match hmac::AntiReplay::parse(t.word().unwrap_or("")) {
                        Some(m) => h.anti_replay = m,
                        None => {
                            let msg = format!("({name}) invalid anti_replay '{}'", t.word().unwrap_or(""));
                            self.error(&t.loc, msg, Some("time or monotonic".into()));
                        }
                    }
                }
                "time_window" => {
                    if let Some(w) = self.u32(a, 1, hmac::WINDOW_MAX) {
                        h.time_window = Some(w);
                    }
                }
                "mode" => {
                    let Some(t) = self.value(a) else { continue };
                    match hmac::Mode::parse(t.word().unwrap_or("")) {
                        Some(m) => {
                            h.mode = m;
                            h.mode_loc = Some(a.loc().clone());
                        }
                        None => {
                            let msg = format!("({name}) invalid auth_hmac mode '{}'", t.word().unwrap_or(""));
                            self.error(&t.loc, msg, Some("enforce, permissive or receive-only".into()));
                        }
                    }
                }
                _ => self.unhandled(a),
            }
        }
    }

    /// A key value: `hex:...`, `file:PATH` or literal ASCII; 32..=64 bytes.
    fn hmac_key_value(&mut self, name: &str, a: &Stmt, id: u8, value: &str) -> Option<Vec<u8>> {
        let key = if let Some(path) = value.strip_prefix("file:") {
            match hmac_key_file(path) {
                Ok((content, loose)) => {
                    if loose {
                        // keepalived: CONFIG_SECURITY_ERROR, and the key is still loaded.
                        let msg =
                            format!("({name}) auth_hmac key file {path} is readable by group or others");
                        self.error(a.loc(), msg, Some(format!("chmod 600 {path}")));
                    }
                    decode_hmac_key(&content)
                }
                Err(e) => {
                    self.error(a.loc(), format!("({name}) auth_hmac key {id}: key file {path}: {e}"), None);
                    return None;
                }
            }
        } else {
            decode_hmac_key(value)
        };
        if !(hmac::KEY_MIN..=hmac::KEY_MAX).contains(&key.len()) {
            let msg = format!(
                "({name}) auth_hmac key {id} length {} not in range [{}, {}]",
                key.len(),
                hmac::KEY_MIN,
                hmac::KEY_MAX
            );
            self.error(
                a.loc(),
                msg,
                Some("hex:<64 to 128 hex digits>, file:PATH, or 32 to 64 characters".into()),
            );
            return None;
        }
        Some(key)
    }

    fn vips(&mut self, s: &Stmt) -> Vec<VipSpec> {
        s.stmts().iter().filter_map(|item| self.vip(item)).collect()
    }

    fn unicast_peers(&mut self, s: &Stmt) -> Vec<UnicastPeer> {
        let mut out = Vec::new();
        for item in s.stmts() {
            let Some(addr) = self.ip_tok("unicast_peer", item.key) else { continue };
            let mut p = UnicastPeer { addr, min_ttl: None, max_ttl: None, loc: item.loc().clone() };
            let mut i = 0;
            while let Some(opt) = item.args.get(i) {
                let w = opt.word().unwrap_or("");
                let slot = match w {
                    "min_ttl" => &mut p.min_ttl,
                    "max_ttl" => &mut p.max_ttl,
                    _ => {
                        let msg = format!("unknown unicast_peer option '{w}'");
                        self.error(&opt.loc, msg, Some("min_ttl N or max_ttl N".to_string()));
                        break;
                    }
                };
                match item.args.get(i + 1) {
                    Some(v) => *slot = self.int_tok(w, v, 0, 255).map(|n| n as u8),
                    None => self.error(&opt.loc, format!("'{w}' needs a value"), None),
                }
                self.warn(
                    &opt.loc,
                    format!("'{w}' accepted; vigil does not check the TTL of unicast adverts"),
                    None,
                );
                i += 2;
            }
            out.push(p);
        }
        out
    }

    /// `IP[/len] [brd IP|+|-] [dev IF] [scope S] [label L] ...`
    pub(super) fn vip(&mut self, item: &Stmt) -> Option<VipSpec> {
        if let Some(b) = &item.body {
            self.error(&b.open.loc, "unexpected block after an address".to_string(), None);
        }
        let w = item.name();
        let (addr_s, len_s) = match w.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (w, None),
        };
        let Ok(addr) = addr_s.parse::<IpAddr>() else {
            self.error(item.loc(), format!("invalid IP address '{w}'"), None);
            return None;
        };
        let mut v = VipSpec::new(addr, item.loc().clone());
        if let Some(l) = len_s {
            match l.parse::<u8>() {
                Ok(n) if n <= v.prefix_len => v.prefix_len = n,
                _ => {
                    let msg = format!("invalid prefix length '/{l}' in '{w}' (0 to {})", v.prefix_len);
                    self.error(item.loc(), msg, None);
                }
            }
        }
        let mut i = 0;
        while let Some(t) = item.args.get(i) {
            let opt = t.word().unwrap_or("");
            i += 1;
            match opt {
                "home" => v.home = true,
                "-nodad" | "nodad" => v.nodad = true,
                "mngtmpaddr" => v.mngtmpaddr = true,
                "noprefixroute" => v.noprefixroute = true,
                "autojoin" => v.autojoin = true,
                "no_track" => v.no_track = true,
                "use_vmac" => {
                    let msg =
                        "'use_vmac' on an address accepted; vigil does not give single addresses a VMAC";
                    self.warn(
                        &t.loc,
                        msg.to_string(),
                        Some("use_vmac in the vrrp_instance puts all its VIPs on one".into()),
                    );
                    v.use_vmac = true;
                }
                "brd" | "broadcast" | "dev" | "scope" | "label" | "peer" | "preferred_lft"
                | "track_group" => {
                    let Some(val) = item.args.get(i).and_then(|t| t.word()) else {
                        self.error(&t.loc, format!("'{opt}' needs a value"), None);
                        break;
                    };
                    i += 1;
                    match opt {
                        "brd" | "broadcast" => {
                            v.brd = match val {
                                "+" => Some(Broadcast::Plus),
                                "-" => Some(Broadcast::Minus),
                                _ => self.ip_tok(opt, item.args[i - 1]).map(Broadcast::Addr),
                            }
                        }
                        "dev" => v.dev = Some(val.to_string()),
                        "scope" => v.scope = Some(val.to_string()),
                        "label" => v.label = Some(val.to_string()),
                        "peer" => v.peer = self.ip_tok(opt, item.args[i - 1]),
                        "preferred_lft" => {
                            if val == "forever" || val.parse::<u32>().is_ok() {
                                v.preferred_lft = Some(val.to_string());
                            } else {
                                let msg = format!("invalid preferred_lft '{val}'");
                                self.error(&t.loc, msg, Some("'forever' or a number of seconds".into()));
                            }
                        }
                        _ => {
                            // The track_group block itself is not acted on either.
                            let msg = format!(
                                "'track_group {val}' is accepted; vigil does not track interface groups"
                            );
                            self.warn(&t.loc, msg, None);
                            v.track_group = Some(val.to_string());
                        }
                    }
                }
                _ => {
                    let msg = format!("unknown address option '{opt}' after {w}");
                    let hint =
                        "brd, dev, scope, label, peer, home, -nodad, noprefixroute, no_track, preferred_lft";
                    self.error(&t.loc, msg, Some(hint.to_string()));
                    break;
                }
            }
        }
        Some(v)
    }
}

/// keepalived's key decoding: `hex:` pairs of hex digits (either case;
/// spaces and tabs between pairs skipped; a lone digit before a space or
/// the end is one byte; anything else: invalid, length 0), else the bytes.
pub(crate) fn decode_hmac_key(value: &str) -> Vec<u8> {
    let Some(hex) = value.strip_prefix("hex:") else { return value.as_bytes().to_vec() };
    let digits = hex.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < digits.len() {
        let c = digits[i];
        if c == b' ' || c == b'\t' {
            i += 1;
            continue;
        }
        let Some(hi) = (c as char).to_digit(16) else { return Vec::new() };
        match digits.get(i + 1) {
            None | Some(b' ') | Some(b'\t') => {
                out.push(hi as u8);
                i += 1;
            }
            Some(&d) => {
                let Some(lo) = (d as char).to_digit(16) else { return Vec::new() };
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
        }
    }
    out
}

/// The content of a key file without trailing CR/LF, and whether group or
/// others may read it. 139 bytes or more is refused, as in keepalived.
fn hmac_key_file(path: &str) -> Result<(String, bool), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() >= 139 {
        return Err(format!("too large ({} bytes)", meta.len()));
    }
    let bytes = crate::config::file::read_regular(std::path::Path::new(path), 139, true)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&bytes).trim_end_matches(['\r', '\n']).to_string();
    Ok((text, meta.permissions().mode() & 0o077 != 0))
}
