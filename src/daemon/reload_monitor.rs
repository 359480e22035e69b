//! `reload_time_file` in the parent's loop: the file followed with inotify
//! (its directory watched, so a file written, moved in or out, or deleted
//! is seen, as keepalived's reload monitor sees it), the reload time it
//! holds kept as a deadline the loop waits for. When and whether to reload
//! is [`super::reload_schedule`]'s call; this module reads the file and the
//! clocks, logs, and deletes the file once its reload comes.
//!
//! The supervisor starts one at start and replaces it after each reload
//! (the file is read afresh, as keepalived restarts its monitor when it
//! reloads); a reload that drops `reload_time_file` so cancels it.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::reload_schedule::{next_reload, ReloadAt};
use crate::sys::inotify::{dir_and_name, Inotify};

/// keepalived reads at most this much of the file's first line.
const MAX_LINE: usize = 20;

struct Pending {
    at: ReloadAt,
    /// `at` on the monotonic clock the loop waits on.
    deadline: Instant,
}

pub struct ReloadMonitor {
    path: PathBuf,
    repeat: bool,
    inotify: Inotify,
    dir_wd: i32,
    name: Vec<u8>,
    pending: Option<Pending>,
}

impl ReloadMonitor {
    /// Watch `path`'s directory and read the file now. `None` (logged) when
    /// the directory cannot be watched: no reload is ever scheduled then.
    pub fn start(path: &str, repeat: bool, registry: &Registry, token: Token, now: Instant) -> Option<Self> {
        let path = PathBuf::from(path);
        let (dir, name) = dir_and_name(&path);
        let watched = Inotify::new().and_then(|ino| ino.watch_dir(&dir).map(|wd| (ino, wd)));
        let (inotify, dir_wd) = match watched {
            Ok(w) => w,
            Err(e) => {
                log::info!("Unable to monitor reload timer file directory {} - ignoring: {e}", dir.display());
                return None;
            }
        };
        if let Err(e) = registry.register(&mut SourceFd(&inotify.as_raw_fd()), token, Interest::READABLE) {
            log::error!("reload_time_file {}: cannot watch: {e}", path.display());
            return None;
        }
        let mut m = ReloadMonitor { path, repeat, inotify, dir_wd, name, pending: None };
        m.read_file(now);
        Some(m)
    }

    /// Stop watching; a pending reload is dropped, and said so when `log`.
    pub fn stop(mut self, registry: &Registry, log: bool) {
        crate::runtime::deregister(registry, &mut SourceFd(&self.inotify.as_raw_fd()));
        self.cancel(log);
    }

    /// The file this monitor follows.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// When the pending reload is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|p| p.deadline)
    }

    /// The inotify descriptor is readable: act on what happened to the
    /// file. `false` when the directory is gone and monitoring has stopped.
    pub fn on_events(&mut self, now: Instant) -> bool {
        let events = match self.inotify.read_events() {
            Ok(ev) => ev,
            Err(e) => {
                log::warn!("reload_time_file {}: {e}", self.path.display());
                return true;
            }
        };
        let mut reread = false;
        for ev in events {
            if ev.mask & libc::IN_Q_OVERFLOW != 0 {
                reread = true;
            } else if ev.wd == self.dir_wd && ev.mask & libc::IN_IGNORED != 0 {
                self.cancel(true);
                log::info!("Directory of reload timer file has disappeared. Monitoring stopped.");
                return false;
            } else if ev.wd == self.dir_wd && ev.name == self.name {
                // The last event decides: a file deleted then written again is read.
                reread = !ev.is_removal();
                if ev.is_removal() {
                    self.cancel(true);
                }
            }
        }
        if reread {
            self.read_file(now);
        }
        true
    }

    /// The pending reload is due at `now`: the caller reloads as on SIGHUP.
    /// The file is deleted unless `reload_repeat` keeps a time-only one for
    /// the same time tomorrow (the reload's fresh monitor schedules it).
    pub fn take_due(&mut self, now: Instant) -> bool {
        let Some(p) = self.pending.take_if(|p| now >= p.deadline) else { return false };
        // Due by the monotonic clock but a moment early by the wall clock:
        // wait for it, or the fresh read would find the same time still
        // ahead today and reload twice.
        let (wall, _) = wall_now();
        let early = Duration::from_secs(u64::try_from(p.at.unix).unwrap_or(0)).saturating_sub(wall);
        if !early.is_zero() {
            self.pending = Some(Pending { deadline: now + early, ..p });
            return false;
        }
        if !self.repeat || p.at.date_given {
            if let Err(e) = std::fs::remove_file(&self.path) {
                log::warn!("cannot remove reload_time_file {}: {e}", self.path.display());
            }
        }
        true
    }

    /// keepalived's reading: a missing or empty file, or one it cannot
    /// read as a time, cancels what is pending; a new time schedules or
    /// moves the reload.
    fn read_file(&mut self, now: Instant) {
        // Not followed through a link: what is read may be logged as an
        // invalid time, and a local user must not choose what that shows.
        let text = match crate::config::file::read_regular(&self.path, 256, false) {
            Ok(bytes) => {
                let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
                String::from_utf8_lossy(&line[..line.len().min(MAX_LINE)]).into_owned()
            }
            Err(_) => String::new(),
        };
        if text.is_empty() {
            self.cancel(true);
            return;
        }
        let (wall, wall_secs) = wall_now();
        let offset = crate::time::local_time(wall_secs).map_or(0, |t| i64::from(t.utc_offset));
        let at = match next_reload(&text, wall_secs, offset) {
            Ok(at) => at,
            Err(why) => {
                log::info!("{why}");
                self.cancel(true);
                return;
            }
        };
        if let Some(p) = self.pending.as_mut().filter(|p| p.at.unix == at.unix) {
            p.at = at;
            return;
        }
        let until = Duration::from_secs(u64::try_from(at.unix).unwrap_or(0)).saturating_sub(wall);
        match &self.pending {
            Some(old) => log::info!(
                "Reload time updated from {} to {}",
                format_local(old.at.unix),
                format_local(at.unix)
            ),
            None => log::info!("Scheduling reload for {}", format_local(at.unix)),
        }
        self.pending = Some(Pending { at, deadline: now + until });
    }

    fn cancel(&mut self, log: bool) {
        if let Some(p) = self.pending.take() {
            if log {
                log::info!("Cancelling reload scheduled for {}", format_local(p.at.unix));
            }
        }
    }
}

/// The wall clock, and its whole seconds since the epoch.
fn wall_now() -> (Duration, i64) {
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (wall, i64::try_from(wall.as_secs()).unwrap_or(i64::MAX))
}

/// `unix` in local time as keepalived prints a reload time.
fn format_local(unix: i64) -> String {
    let t = crate::time::local_time(unix).unwrap_or_default();
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year, t.mon + 1, t.mday, t.hour, t.min, t.sec)
}
