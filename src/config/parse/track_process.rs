//! `vrrp_track_process` blocks, with keepalived 2.2's rules: arguments
//! after the name imply `full_command` and an exact `param_match`;
//! `quorum_max 0` means the process must not run.

use super::super::keywords::Ctx;
use super::super::model::{ParamMatch, VrrpTrackProcess};
use super::tree::Stmt;
use super::Parser;

/// The kernel's limit on a process's `comm` (TASK_COMM_LEN less the NUL).
pub const COMM_MAX: usize = 15;

impl Parser<'_> {
    pub(super) fn track_process(&mut self, s: &Stmt) -> Option<VrrpTrackProcess> {
        let name = self.block_name(s).unwrap_or_default();
        let mut tp = VrrpTrackProcess {
            name,
            process: String::new(),
            params: Vec::new(),
            param_match: ParamMatch::None,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            weight: 0,
            weight_reverse: false,
            fork_delay: std::time::Duration::ZERO,
            terminate_delay: std::time::Duration::ZERO,
            loc: s.loc().clone(),
        };
        for s in self.known(Ctx::TrackProcess, s.stmts()) {
            match s.name() {
                "process" => self.process_line(&mut tp, s),
                "param_match" => {
                    tp.param_match = match s.arg(0) {
                        None => ParamMatch::Exact,
                        Some("initial") => ParamMatch::Initial,
                        Some("partial") => ParamMatch::Partial,
                        Some(w) => {
                            let msg = format!("invalid param_match type '{w}'");
                            self.error(s.loc(), msg, Some("'initial', 'partial' or nothing".into()));
                            continue;
                        }
                    };
                    tp.full_command = true;
                }
                "full_command" => tp.full_command = true,
                "weight" => {
                    if let Some(w) = self.int(s, -254, 254) {
                        tp.weight = w as i32;
                        tp.weight_reverse = self.reverse_word(s, 1);
                    }
                }
                "quorum" => {
                    let Some(q) = self.u32(s, 1, 65535) else { continue };
                    if q > tp.quorum_max {
                        self.error(s.loc(), "quorum is greater than quorum_max - ignored".into(), None);
                        continue;
                    }
                    tp.quorum = q;
                }
                "quorum_max" => {
                    let Some(q) = self.u32(s, 0, 65535) else { continue };
                    // 0 is allowed while quorum is left at its default: "must not run".
                    if (q > 0 || tp.quorum > 1) && q < tp.quorum {
                        self.error(s.loc(), "quorum_max is less than quorum - ignored".into(), None);
                        continue;
                    }
                    tp.quorum_max = q;
                    tp.quorum = if q == 0 { 0 } else { tp.quorum.max(1) };
                }
                "delay" | "fork_delay" | "terminate_delay" => {
                    let Some(d) = self.timer(s, 0.000_001, 3600.0) else { continue };
                    if s.name() != "fork_delay" {
                        tp.terminate_delay = d;
                    }
                    if s.name() != "terminate_delay" {
                        tp.fork_delay = d;
                    }
                }
                _ => self.unhandled(s),
            }
        }
        if tp.process.is_empty() {
            self.error(&tp.loc, format!("vrrp_track_process '{}' has no 'process' line", tp.name), None);
            return None;
        }
        if !tp.full_command && tp.process.len() > COMM_MAX {
            let msg = format!(
                "vrrp_track_process '{}': '{}' is longer than the {COMM_MAX} characters of a process name \
                 and never matches one",
                tp.name, tp.process
            );
            self.warn(&tp.loc, msg, Some("add 'full_command' to match the command line's first word".into()));
        }
        (!tp.name.is_empty()).then_some(tp)
    }

    /// `process NAME [ARGS...]`: arguments turn on `full_command` and,
    /// unless `param_match` says otherwise, an exact match of them.
    fn process_line(&mut self, tp: &mut VrrpTrackProcess, s: &Stmt) {
        if !tp.process.is_empty() {
            self.error(s.loc(), format!("'process' already set for '{}' - ignored", tp.name), None);
            return;
        }
        let words = s.words();
        let Some(name) = words.get(1) else {
            self.error(s.loc(), "'process' needs a process name".into(), None);
            return;
        };
        tp.process = name.clone();
        if words.len() > 2 {
            for w in &words[2..] {
                tp.params.extend_from_slice(w.as_bytes());
                tp.params.push(0);
            }
            if tp.param_match == ParamMatch::None {
                tp.param_match = ParamMatch::Exact;
            }
            tp.full_command = true;
        }
    }
}
