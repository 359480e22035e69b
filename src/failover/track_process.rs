//! `vrrp_track_process`, pure: which processes match a tracker, how many
//! there are against its quorum, and the fork/terminate delays as
//! deadlines (keepalived 2.2's track_process.c). The edge (`processes.rs`)
//! feeds in what a /proc scan or the kernel's process connector saw and
//! hands the flips to [`super::track::Tracking::set_process`]; nothing here
//! reads /proc or a socket.
//!
//! When a delay applies, as keepalived does it: a quorum gained by a fork
//! of a tracked process or found by a scan waits `fork_delay`; one lost by
//! an exit or found by a scan waits `terminate_delay`; an exec (a process
//! becoming, or ceasing to be, the tracked program) or a name change
//! counts at once. A flip that the count undoes before its delay ends is
//! cancelled.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::config::model::{ParamMatch, VrrpTrackProcess};

/// Does a process with this `comm` (/proc/PID/comm, without the newline)
/// and command line (/proc/PID/cmdline: NUL-terminated words) match?
/// Without `full_command` the tracker's name is compared with `comm`,
/// which the kernel cuts to 15 bytes; with it, with the first word of the
/// command line, and the arguments after it as `param_match` says.
pub fn matches(spec: &VrrpTrackProcess, comm: Option<&[u8]>, cmdline: Option<&[u8]>) -> bool {
    if !spec.full_command {
        return comm == Some(spec.process.as_bytes());
    }
    let Some(cmdline) = cmdline else { return false };
    let end = cmdline.iter().position(|&b| b == 0).unwrap_or(cmdline.len());
    if &cmdline[..end] != spec.process.as_bytes() {
        return false;
    }
    let args = cmdline.get(end + 1..).unwrap_or(&[]);
    params_match(spec.param_match, &spec.params, args)
}

/// `want` and `args` are NUL-terminated words, as in /proc/PID/cmdline.
fn params_match(how: ParamMatch, want: &[u8], args: &[u8]) -> bool {
    match how {
        ParamMatch::None => true,
        ParamMatch::Exact => args == want,
        _ if want.is_empty() => true,
        ParamMatch::Partial => args.starts_with(want),
        // The last word written may be the start of the process's word:
        // compare without its terminating NUL.
        ParamMatch::Initial => args.starts_with(&want[..want.len() - 1]),
    }
}

/// `quorum <= count <= quorum_max`.
pub fn in_quorum(spec: &VrrpTrackProcess, count: usize) -> bool {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    (spec.quorum..=spec.quorum_max).contains(&count)
}

/// Whether a count change waits for the tracker's delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Exec and name changes.
    Now,
    /// Forks, exits and scans: `fork_delay` for a gain, `terminate_delay`
    /// for a loss.
    Delayed,
}

/// One tracker: the processes matching it and its reported state.
#[derive(Clone, Debug)]
struct Tracker {
    spec: VrrpTrackProcess,
    pids: HashSet<u32>,
    /// `None` until the first scan.
    up: Option<bool>,
    /// When `up` flips to what the count says, if a delay runs.
    flip_at: Option<Instant>,
}

impl Tracker {
    fn in_quorum(&self) -> bool {
        in_quorum(&self.spec, self.pids.len())
    }

    /// `pids` changed from a set that was (`was`) in quorum; true when the
    /// reported state flipped.
    fn recount(&mut self, was: bool, pace: Pace, now: Instant) -> bool {
        let is = self.in_quorum();
        let Some(up) = self.up else {
            self.up = Some(is);
            return true;
        };
        if was == is {
            return false;
        }
        if self.flip_at.take().is_some() {
            // The count went back before the delay ended: nothing happened.
            return false;
        }
        let delay = match (pace, is) {
            (Pace::Now, _) => Duration::ZERO,
            (Pace::Delayed, true) => self.spec.fork_delay,
            (Pace::Delayed, false) => self.spec.terminate_delay,
        };
        if delay.is_zero() {
            self.up = Some(is);
            return up != is;
        }
        self.flip_at = Some(now + delay);
        false
    }

    fn change(&mut self, pace: Pace, now: Instant, edit: impl FnOnce(&mut HashSet<u32>)) -> bool {
        let was = self.in_quorum();
        edit(&mut self.pids);
        self.recount(was, pace, now)
    }
}

/// A tracker's state changed: its name, and whether it is now up.
pub type Flip = (String, bool);

/// One process as a scan saw it: pid, `comm`, start of the command line.
pub type Seen<'a> = (u32, Option<&'a [u8]>, Option<&'a [u8]>);

/// Every `vrrp_track_process` in use and the processes matching each.
#[derive(Clone, Debug, Default)]
pub struct ProcessTable {
    trackers: Vec<Tracker>,
}

impl ProcessTable {
    /// Track `specs` from now on. A tracker whose definition is unchanged
    /// keeps its processes, state and running delay; a new one has no
    /// state until the next scan.
    pub fn configure(&mut self, specs: &[VrrpTrackProcess]) {
        let mut old = std::mem::take(&mut self.trackers);
        for spec in specs {
            // Where it is written does not matter.
            let same = |t: &Tracker| t.spec == VrrpTrackProcess { loc: t.spec.loc.clone(), ..spec.clone() };
            let kept = old.iter().position(same);
            let t = match kept {
                Some(i) => old.swap_remove(i),
                None => Tracker { spec: spec.clone(), pids: HashSet::new(), up: None, flip_at: None },
            };
            self.trackers.push(t);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.trackers.is_empty()
    }

    /// Some tracker compares `comm`.
    pub fn needs_comm(&self) -> bool {
        self.trackers.iter().any(|t| !t.spec.full_command)
    }

    /// How much of a command line the trackers look at (0: none does):
    /// the longest name and arguments, plus one byte to see that there is
    /// more.
    pub fn cmdline_len(&self) -> usize {
        let full = self.trackers.iter().filter(|t| t.spec.full_command);
        full.map(|t| t.spec.process.len() + 1 + t.spec.params.len() + 1).max().unwrap_or(0)
    }

    /// A scan of every process (pid, comm, command line); each tracker's
    /// set is replaced, and a change of quorum waits for its delay (the
    /// first scan of a tracker sets its state at once).
    pub fn scan<'a>(&mut self, procs: impl IntoIterator<Item = Seen<'a>>, now: Instant) -> Vec<Flip> {
        let mut found: Vec<HashSet<u32>> = vec![HashSet::new(); self.trackers.len()];
        for (pid, comm, cmdline) in procs {
            for (t, set) in self.trackers.iter().zip(&mut found) {
                if matches(&t.spec, comm, cmdline) {
                    set.insert(pid);
                }
            }
        }
        let mut flips = Vec::new();
        for (t, set) in self.trackers.iter_mut().zip(found) {
            if t.change(Pace::Delayed, now, |pids| *pids = set) {
                flips.push((t.spec.name.clone(), t.up == Some(true)));
            }
        }
        flips
    }

    /// Process `pid` ran a new program: it counts for the trackers it
    /// matches now, and no longer for the others.
    pub fn exec(&mut self, pid: u32, comm: Option<&[u8]>, cmdline: Option<&[u8]>, now: Instant) -> Vec<Flip> {
        self.each(|t| {
            let m = matches(&t.spec, comm, cmdline);
            t.change(Pace::Now, now, |pids| {
                if m {
                    pids.insert(pid);
                } else {
                    pids.remove(&pid);
                }
            })
        })
    }

    /// Process `pid` renamed itself (prctl PR_SET_NAME): only trackers
    /// that compare `comm` look.
    pub fn comm(&mut self, pid: u32, comm: &[u8], now: Instant) -> Vec<Flip> {
        self.each(|t| {
            if t.spec.full_command {
                return false;
            }
            let m = matches(&t.spec, Some(comm), None);
            t.change(Pace::Now, now, |pids| {
                if m {
                    pids.insert(pid);
                } else {
                    pids.remove(&pid);
                }
            })
        })
    }

    /// A tracked process forked: the child runs the same program.
    pub fn fork(&mut self, parent: u32, child: u32, now: Instant) -> Vec<Flip> {
        self.each(|t| {
            if !t.pids.contains(&parent) {
                return false;
            }
            t.change(Pace::Delayed, now, |pids| {
                pids.insert(child);
            })
        })
    }

    pub fn exit(&mut self, pid: u32, now: Instant) -> Vec<Flip> {
        self.each(|t| {
            if !t.pids.contains(&pid) {
                return false;
            }
            t.change(Pace::Delayed, now, |pids| {
                pids.remove(&pid);
            })
        })
    }

    /// Delays that have run out.
    pub fn expire(&mut self, now: Instant) -> Vec<Flip> {
        self.each(|t| {
            if t.flip_at.is_none_or(|at| at > now) {
                return false;
            }
            t.flip_at = None;
            let is = t.in_quorum();
            t.up.replace(is) != Some(is)
        })
    }

    /// When the next delay runs out.
    pub fn next_due(&self) -> Option<Instant> {
        self.trackers.iter().filter_map(|t| t.flip_at).min()
    }

    /// Tracker `name`'s state (`None`: unknown, or not scanned yet).
    pub fn up(&self, name: &str) -> Option<bool> {
        self.trackers.iter().find(|t| t.spec.name == name).and_then(|t| t.up)
    }

    /// Every tracker: name, processes matching now, state.
    pub fn counts(&self) -> impl Iterator<Item = (&str, usize, Option<bool>)> {
        self.trackers.iter().map(|t| (t.spec.name.as_str(), t.pids.len(), t.up))
    }

    fn each(&mut self, mut f: impl FnMut(&mut Tracker) -> bool) -> Vec<Flip> {
        let mut flips = Vec::new();
        for t in &mut self.trackers {
            if f(t) {
                flips.push((t.spec.name.clone(), t.up == Some(true)));
            }
        }
        flips
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_bytes, LoadOptions};
    use std::path::Path;

    fn spec(body: &str) -> VrrpTrackProcess {
        let text = format!("vrrp_track_process p {{\n{body}\n}}\n");
        let opts = LoadOptions::with_id("n");
        let loaded = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
        loaded.config.track_processes.into_iter().next().expect("a tracker")
    }

    #[test]
    fn comm_is_compared_whole_and_is_at_most_15_bytes() {
        let s = spec("process nginx");
        assert!(matches(&s, Some(b"nginx"), None));
        assert!(!matches(&s, Some(b"nginx-worker"), Some(b"nginx\0")), "comm, not the command line");
        let long = spec("process very-long-daemon-name");
        assert!(!matches(&long, Some(b"very-long-daemo"), None), "the kernel's 15 bytes never equal 20");
        let full = spec("process very-long-daemon-name\nfull_command");
        assert!(matches(&full, Some(b"very-long-daemo"), Some(b"very-long-daemon-name\0-d\0")));
        assert!(!matches(&full, Some(b"very-long-daemo"), Some(b"/usr/sbin/very-long-daemon-name\0")));
        assert!(!matches(&full, Some(b"very-long-daemo"), None), "a zombie has no command line");
    }

    #[test]
    fn param_match_exact_initial_and_partial() {
        let exact = spec("process sleep 300 x");
        assert_eq!(
            (exact.param_match, exact.full_command),
            (ParamMatch::Exact, true),
            "arguments imply both"
        );
        assert!(matches(&exact, None, Some(b"sleep\x00300\0x\0")));
        assert!(!matches(&exact, None, Some(b"sleep\x00300\0x\0y\0")), "no more arguments");
        assert!(!matches(&exact, None, Some(b"sleep\x00300\0xy\0")));
        let bare = spec("process sleep\nparam_match");
        assert!(matches(&bare, None, Some(b"sleep\0")) && !matches(&bare, None, Some(b"sleep\x001\0")));
        let partial = spec("process sleep 300\nparam_match partial");
        assert!(matches(&partial, None, Some(b"sleep\x00300\0x\0")));
        assert!(!matches(&partial, None, Some(b"sleep\x003000\0")), "whole words");
        let initial = spec("process sleep 30\nparam_match initial");
        assert!(matches(&initial, None, Some(b"sleep\x003000\0")), "the last word may be a prefix");
        assert!(matches(&initial, None, Some(b"sleep\x0030\0x\0")));
        assert!(!matches(&initial, None, Some(b"sleep\x004\0")));
        let any = spec("process sleep\nparam_match initial");
        assert!(matches(&any, None, Some(b"sleep\0")) && matches(&any, None, Some(b"sleep\x001\0")));
    }

    #[test]
    fn quorum_and_quorum_max_bound_the_count() {
        let s = spec("process sleep\nquorum 2\nquorum_max 3");
        assert_eq!([1, 2, 3, 4].map(|n| in_quorum(&s, n)), [false, true, true, false]);
        let none = spec("process sleep\nquorum_max 0");
        assert_eq!((none.quorum, none.quorum_max), (0, 0));
        assert!(in_quorum(&none, 0) && !in_quorum(&none, 1), "quorum_max 0: must not run");
        let d = spec("process sleep\nquorum 1");
        assert!(in_quorum(&d, 1) && in_quorum(&d, 60000));
    }

    fn table(body: &str) -> ProcessTable {
        let mut t = ProcessTable::default();
        t.configure(&[spec(body)]);
        t
    }

    fn sleeps(pids: &[u32]) -> Vec<Seen<'static>> {
        pids.iter().map(|&p| (p, Some(&b"sleep"[..]), Some(&b"sleep\x00300\0"[..]))).collect()
    }

    #[test]
    fn the_first_scan_counts_at_once_and_later_ones_wait_for_the_delays() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let mut t = table("process sleep 300\nquorum 2\nfork_delay 3\nterminate_delay 2");
        assert_eq!(t.up("p"), None);
        assert_eq!(t.scan(sleeps(&[10, 11]), t0), vec![("p".to_string(), true)], "no delay at start");
        assert!(t.scan(sleeps(&[10]), s(1)).is_empty(), "terminate_delay runs");
        assert_eq!(t.next_due(), Some(s(3)));
        assert!(t.expire(s(2)).is_empty());
        assert_eq!(t.expire(s(3)), vec![("p".to_string(), false)]);
        assert!(t.scan(sleeps(&[10, 12]), s(4)).is_empty(), "fork_delay runs");
        assert_eq!(t.up("p"), Some(false));
        assert_eq!(t.expire(s(7)), vec![("p".to_string(), true)]);
        assert!(t.scan(sleeps(&[10]), s(8)).is_empty());
        assert!(t.scan(sleeps(&[10, 13]), s(9)).is_empty(), "back before the delay: cancelled");
        assert_eq!((t.next_due(), t.up("p")), (None, Some(true)));
    }

    #[test]
    fn connector_events_fork_exec_exit_and_comm() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let mut t = table("process sleep\nquorum 2\ndelay 5");
        t.scan(sleeps(&[10]), t0);
        assert_eq!(t.up("p"), Some(false));
        assert_eq!(
            t.exec(11, Some(b"sleep"), None, s(1)),
            vec![("p".into(), true)],
            "an exec counts at once"
        );
        assert!(t.exit(11, s(2)).is_empty(), "an exit waits for terminate_delay");
        assert!(t.fork(10, 12, s(3)).is_empty(), "a fork undoes it: cancelled");
        assert_eq!((t.next_due(), t.up("p")), (None, Some(true)));
        assert!(t.fork(99, 13, s(3)).is_empty(), "untracked parents do not count");
        assert_eq!(t.exec(12, Some(b"bash"), None, s(4)), vec![("p".into(), false)], "exec'd away: at once");
        assert!(t.fork(10, 14, s(5)).is_empty(), "fork_delay runs");
        assert_eq!(t.expire(s(10)), vec![("p".into(), true)]);
        assert_eq!(t.comm(14, b"other", s(11)), vec![("p".into(), false)], "renamed: no longer sleep");
        assert_eq!(t.comm(14, b"sleep", s(12)), vec![("p".into(), true)]);
    }

    #[test]
    fn a_reload_keeps_unchanged_trackers() {
        let mut t = table("process sleep");
        t.scan(sleeps(&[10]), Instant::now());
        t.configure(&[spec("process sleep")]);
        assert_eq!(t.up("p"), Some(true));
        t.configure(&[spec("process sleep\nquorum 2")]);
        assert_eq!(t.up("p"), None, "changed: fresh until the next scan");
        assert_eq!((t.needs_comm(), t.cmdline_len()), (true, 0));
        t.configure(&[spec("process sleep 300\nparam_match partial")]);
        assert_eq!((t.needs_comm(), t.cmdline_len()), (false, 11));
    }
}
