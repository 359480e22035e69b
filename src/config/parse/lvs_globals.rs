//! The LVS keywords of global_defs: the connection sync daemon, IPVS
//! timeouts and flushing, with keepalived 2.2's syntax and ranges.

use super::super::model::{LvsFlushOnStop, LvsSyncDaemon, LvsTimeouts};
use super::tree::Stmt;
use super::Parser;

/// The kernel's limit on the sync daemon's interface name (IP_VS_IFNAME_MAXLEN - 1).
const IFNAME_MAX: usize = 15;
/// keepalived's ceiling for an IPVS timeout: 31 days.
const MAX_TIMEOUT: i64 = 31 * 86400;

impl Parser<'_> {
    /// `lvs_sync_daemon IF [inst VI] [id N] [maxlen N] [port N] [ttl N]
    /// [group ADDR]`, and the older positional `IF VI [ID]`.
    pub(super) fn lvs_sync_daemon(&mut self, s: &Stmt) -> Option<LvsSyncDaemon> {
        let t = self.value(s)?;
        let ifname = t.word().unwrap_or("").to_string();
        if ifname.len() > IFNAME_MAX {
            let msg =
                format!("lvs_sync_daemon interface name '{ifname}' is longer than {IFNAME_MAX} characters");
            self.error(&t.loc, msg, None);
            return None;
        }
        let mut d = LvsSyncDaemon {
            ifname,
            instance: None,
            sync_id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        let mut i = 1;
        while let Some(opt) = s.args.get(i) {
            let word = opt.word().unwrap_or("");
            let named = matches!(word, "inst" | "id" | "maxlen" | "port" | "ttl" | "group");
            if !named {
                match i {
                    // keepalived before 1.3: `lvs_sync_daemon IF VI [ID]`.
                    1 if d.instance.is_none() => d.instance = Some(word.to_string()),
                    2 if d.sync_id.is_none() => {
                        let key = "lvs_sync_daemon id";
                        d.sync_id = self.int_tok(key, opt, 0, 255).map(|n| n as u8);
                        if d.sync_id.is_some() {
                            let hint = Some(format!("write 'id {word}'"));
                            self.warn(&opt.loc, "a sync id without 'id' before it".to_string(), hint);
                        }
                    }
                    _ => {
                        let msg = format!("unknown option '{word}' for 'lvs_sync_daemon'");
                        let hint = "options: inst, id, maxlen, port, ttl, group".to_string();
                        self.error(&opt.loc, msg, Some(hint));
                    }
                }
                i += 1;
                continue;
            }
            let Some(v) = s.args.get(i + 1) else {
                self.error(&opt.loc, format!("no value for 'lvs_sync_daemon {word}'"), None);
                break;
            };
            let key = format!("lvs_sync_daemon {word}");
            match word {
                "inst" => d.instance = v.word().map(String::from),
                "id" => d.sync_id = self.int_tok(&key, v, 0, 255).map(|n| n as u8),
                // A UDP payload within one IPv4 datagram.
                "maxlen" => d.maxlen = self.int_tok(&key, v, 1, 65535 - 20 - 8).map(|n| n as u16),
                "port" => d.port = self.int_tok(&key, v, 1, 65535).map(|n| n as u16),
                "ttl" => d.ttl = self.int_tok(&key, v, 1, 255).map(|n| n as u8),
                _ => {
                    let group = self.ip_tok(&key, v);
                    if group.is_some_and(|g| !g.is_multicast()) {
                        let msg =
                            format!("lvs_sync_daemon group {} is not multicast", v.word().unwrap_or(""));
                        self.error(&v.loc, msg, Some("e.g. 224.0.0.81, the kernel's default".to_string()));
                    } else {
                        d.group = group;
                    }
                }
            }
            i += 2;
        }
        Some(d)
    }

    /// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`.
    pub(super) fn lvs_timeouts(&mut self, s: &Stmt) -> Option<LvsTimeouts> {
        if s.args.len() < 2 {
            let hint = Some("e.g. lvs_timeouts tcp 900 tcpfin 120 udp 300".to_string());
            self.error(s.loc(), "lvs_timeouts needs at least one option and its value".to_string(), hint);
            return None;
        }
        let mut t = LvsTimeouts::default();
        let mut args = s.args.iter();
        while let Some(opt) = args.next() {
            let word = opt.word().unwrap_or("");
            let slot = match word {
                "tcp" => &mut t.tcp,
                "tcpfin" => &mut t.tcp_fin,
                "udp" => &mut t.udp,
                _ => {
                    let hint = Some("options: tcp, tcpfin, udp".to_string());
                    self.error(&opt.loc, format!("unknown option '{word}' for 'lvs_timeouts'"), hint);
                    continue;
                }
            };
            let Some(v) = args.next() else {
                self.error(&opt.loc, format!("no value for 'lvs_timeouts {word}'"), None);
                break;
            };
            let key = format!("lvs_timeouts {word}");
            if let Some(n) = self.int_tok(&key, v, 0, MAX_TIMEOUT) {
                *slot = n as u32;
            }
        }
        Some(t)
    }

    /// `lvs_flush_on_stop [VS]`.
    pub(super) fn lvs_flush_on_stop(&mut self, s: &Stmt) -> LvsFlushOnStop {
        match s.args.first() {
            None => LvsFlushOnStop::Full,
            Some(t) if t.word() == Some("VS") => LvsFlushOnStop::VirtualServers,
            Some(t) => {
                let msg = format!("unknown lvs_flush_on_stop type '{}'", t.word().unwrap_or(""));
                self.error(
                    &t.loc,
                    msg,
                    Some("write 'lvs_flush_on_stop' or 'lvs_flush_on_stop VS'".to_string()),
                );
                LvsFlushOnStop::No
            }
        }
    }
}
