//! A checker child that replaces one which crashed (or was upgraded) goes on
//! where its predecessor was, so IPVS does not flap.
//!
//! A fresh checker child starts every real server from its configured state
//! (up, or down with `alpha`): a server that was down goes back into IPVS
//! until its checks fail again, and one that was up but `alpha` leaves it.
//! So the child keeps a state file in the daemon's runtime directory
//! (`sys::state_file`), rewritten when a checker's state or what IPVS holds
//! changes (coalesced: see below): per virtual server its quorum and sorry server, per real server
//! its checkers (up, retries, failures), `misc_dynamic` weights and the
//! weight IPVS holds. The successor resumes a virtual server only when the
//! parent saw the predecessor die, the file is from its life and it ran the
//! same configuration snapshot; it then programs only what differs from
//! what IPVS holds (nothing, usually) and checks on as before. A clean stop
//! removes the file.
//!
//! The engine does not rewrite the file on every change: at 1,000 real
//! servers that fail together that was 1,000 rewrites of the whole file
//! within a second. A change marks the state dirty, and the file is
//! written (atomically, by rename) once for all the changes of a loop pass:
//! at the end of that pass when what IPVS holds changed (a successor must
//! know what it finds in the table), otherwise (retry counters, a checker
//! that failed without moving its real server) no sooner than 100 ms after
//! the last write (`RESUME_WRITE_INTERVAL` in the engine); and before a
//! hand-over to an upgraded daemon. A crash loses at most the current loop
//! pass's IPVS changes (as before: they were written after being made) and
//! 100 ms of counter changes, which only shift its successor's retries by
//! the checks of that window.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use log::{info, warn};

use super::checker::SavedChecker;
use super::vs::{SavedRealServer, SavedVs};
use crate::sys::state_file::{self, ResumeFrom};

const MAGIC: &str = "vigil-checker-state 1";

#[derive(Default)]
pub struct Resume {
    path: Option<PathBuf>,
    digest: String,
    /// The predecessor's virtual servers by name, until the start is over.
    previous: HashMap<String, SavedVs>,
    /// The body last written, so an unchanged state is not written again.
    written: String,
}

impl Resume {
    pub fn new(from: Option<ResumeFrom>) -> Resume {
        let Some(from) = from else { return Resume::default() };
        let mut r = Resume { digest: from.config_digest.clone(), ..Resume::default() };
        if let Some(life) = from.predecessor {
            if let Some(text) = state_file::read_predecessors(&from.state_file, MAGIC, life, "checker") {
                match state_file::parse(&text, MAGIC).and_then(|f| Some((f.config_digest, parse(&f.body)?))) {
                    Some((Some(d), vss)) if !d.is_empty() && d == r.digest => r.previous = vss,
                    Some(_) => info!("the previous checker child ran another configuration - normal start"),
                    None => warn!("{}: unreadable - normal start", from.state_file.display()),
                }
            }
        }
        r.path = Some(from.state_file);
        r
    }

    /// Whether the predecessor left states to go on from.
    pub fn is_resuming(&self) -> bool {
        !self.previous.is_empty()
    }

    /// The predecessor's state of virtual server `name`.
    pub fn take(&mut self, name: &str) -> Option<SavedVs> {
        self.previous.remove(name)
    }

    /// The start is over: what was not taken is dropped.
    pub fn forget_previous(&mut self) {
        self.previous.clear();
    }

    /// Record the states of every virtual server, if they changed.
    pub fn save<'a>(&mut self, vss: impl Iterator<Item = (&'a str, SavedVs)>) {
        let Some(path) = &self.path else { return };
        let body = format_body(vss);
        if body == self.written {
            return;
        }
        match state_file::write(path, MAGIC, &self.digest, &body) {
            Ok(()) => self.written = body,
            Err(e) => {
                warn!("cannot write {}: {e} - a restarted checker child will start afresh", path.display())
            }
        }
    }

    /// The daemon stops cleanly: the next start is a normal one.
    pub fn remove(&mut self) {
        if let Some(path) = self.path.take() {
            crate::sys::file::remove_own(&path, "state file");
        }
    }
}

fn weight(w: Option<u32>) -> String {
    w.map_or_else(|| "-".to_string(), |w| w.to_string())
}

fn parse_weight(s: &str) -> Option<Option<u32>> {
    if s == "-" {
        Some(None)
    } else {
        s.parse().ok().map(Some)
    }
}

/// `vs QUORUM SORRY NAME`, then per real server
/// `rs PROGRAMMED DYNAMIC,.. CHECKER,..` with a checker as
/// `UP.HAS_RUN.RETRIES.FAILURES` and `.` for an empty list.
fn format_body<'a>(vss: impl Iterator<Item = (&'a str, SavedVs)>) -> String {
    // `write!` to a String cannot fail: the results are not looked at.
    let mut out = String::new();
    let list = |items: Vec<String>| if items.is_empty() { ".".to_string() } else { items.join(",") };
    for (name, vs) in vss {
        let _ = writeln!(out, "vs {} {} {name}", u8::from(vs.quorum_up), weight(vs.sorry_programmed));
        for rs in &vs.rs {
            let dynamic = list(rs.dynamic.iter().map(|w| weight(*w)).collect());
            let checkers = list(
                rs.checkers
                    .iter()
                    .map(|c| {
                        format!(
                            "{}.{}.{}.{}",
                            u8::from(c.up),
                            u8::from(c.has_run),
                            c.retry_it,
                            c.consecutive_failures
                        )
                    })
                    .collect(),
            );
            let _ = writeln!(out, "rs {} {dynamic} {checkers}", weight(rs.programmed));
        }
    }
    out
}

fn parse(body: &[&str]) -> Option<HashMap<String, SavedVs>> {
    let mut out: Vec<(String, SavedVs)> = Vec::new();
    let items = |s: &str| -> Vec<String> {
        if s == "." {
            Vec::new()
        } else {
            s.split(',').map(String::from).collect()
        }
    };
    let flag = |s: &str| match s {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    };
    for line in body {
        if let Some(rest) = line.strip_prefix("vs ") {
            let mut w = rest.splitn(3, ' ');
            let (quorum, sorry, name) = (w.next()?, w.next()?, w.next()?);
            let vs =
                SavedVs { quorum_up: flag(quorum)?, sorry_programmed: parse_weight(sorry)?, rs: Vec::new() };
            out.push((name.to_string(), vs));
        } else if let Some(rest) = line.strip_prefix("rs ") {
            let mut w = rest.split(' ');
            let (programmed, dynamic, checkers) = (w.next()?, w.next()?, w.next()?);
            let dynamic = items(dynamic).iter().map(|d| parse_weight(d)).collect::<Option<Vec<_>>>()?;
            let checkers = items(checkers)
                .iter()
                .map(|c| {
                    let f: Vec<&str> = c.split('.').collect();
                    let [up, has_run, retry_it, failures] = f.as_slice() else { return None };
                    Some(SavedChecker {
                        up: flag(up)?,
                        has_run: flag(has_run)?,
                        retry_it: retry_it.parse().ok()?,
                        consecutive_failures: failures.parse().ok()?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            let rs = SavedRealServer { checkers, dynamic, programmed: parse_weight(programmed)? };
            out.last_mut()?.1.rs.push(rs);
        } else {
            return None;
        }
    }
    Some(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SavedVs {
        let ck = |up, n| SavedChecker { up, has_run: true, retry_it: n, consecutive_failures: 3 - n };
        SavedVs {
            quorum_up: true,
            sorry_programmed: None,
            rs: vec![
                SavedRealServer {
                    checkers: vec![ck(true, 3), ck(false, 0)],
                    dynamic: vec![None, Some(7)],
                    programmed: Some(2),
                },
                SavedRealServer { checkers: vec![], dynamic: vec![], programmed: None },
            ],
        }
    }

    #[test]
    fn body_round_trip_and_garbage() {
        let other = SavedVs { quorum_up: false, sorry_programmed: Some(1), rs: vec![] };
        let body = format_body([("[198.18.0.1]:tcp:80", sample()), ("FWM 7", other.clone())].into_iter());
        let lines: Vec<&str> = body.lines().collect();
        let back = parse(&lines).unwrap();
        assert_eq!(back["[198.18.0.1]:tcp:80"], sample());
        assert_eq!(back["FWM 7"], other);
        for bad in [vec!["rs - . ."], vec!["vs 2 - X"], vec!["vs 1 - X", "rs - . 1.1.x.0"], vec!["junk"]] {
            assert!(parse(&bad).is_none(), "{bad:?}");
        }
    }
}
