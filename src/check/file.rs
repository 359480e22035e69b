//! FILE_CHECK, pure: what a tracked file's value does to a real server
//! (keepalived's process_update_checker_track_file_status).
//!
//! With a weight of 0 the file is a switch: a non-zero value is a FAULT
//! (with `reverse`, a zero value is). Otherwise value × weight (negated
//! with `reverse`) is added to the real server's weight, and a result at
//! or below -65536 (IPVS_WEIGHT_FAULT) is a FAULT. A FAULT takes the
//! checker DOWN; leaving it brings the checker back UP.
//!
//! [`FileTracker`] is the I/O edge: the track files FILE_CHECKs name, their
//! values (read at start and whenever inotify says a file changed) and
//! `init_file`, over `crate::sys::track_file::TrackedFiles`.

use mio::{Registry, Token};

use super::checker::CheckResult;
use crate::config::model::{CheckerKind, Config, FileCheck, TrackFile};
use crate::sys::track_file::TrackedFiles;

/// keepalived's IPVS_WEIGHT_FAULT: -(IPVS_WEIGHT_MAX) - 1.
pub const WEIGHT_FAULT: i64 = -65536;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    Fault,
    /// Up, with this added to the real server's weight.
    Weight(i64),
}

pub fn state(value: i64, weight: i32, reverse: bool) -> FileState {
    if weight == 0 {
        return if (value != 0) != reverse { FileState::Fault } else { FileState::Weight(0) };
    }
    let sign = if reverse { -1 } else { 1 };
    let s = value.saturating_mul(i64::from(weight)).saturating_mul(sign);
    if s <= WEIGHT_FAULT {
        FileState::Fault
    } else {
        FileState::Weight(s)
    }
}

/// The track files FILE_CHECKs use, with their last values.
pub struct FileTracker {
    files: TrackedFiles,
}

impl FileTracker {
    /// The track files `config`'s FILE_CHECKs name (nothing is opened yet).
    pub fn new(config: &Config, token: Token) -> FileTracker {
        let used = |tf: &&TrackFile| {
            config
                .virtual_servers
                .iter()
                .flat_map(|v| &v.real_servers)
                .flat_map(|r| &r.checkers)
                .any(|c| matches!(&c.kind, CheckerKind::File(f) if f.track == tf.name))
        };
        let files = config.track_files.iter().filter(used).cloned().collect();
        FileTracker { files: TrackedFiles::new(files, token) }
    }

    /// `init_file` (`reload`: not at start), the watch on the files'
    /// directories, the first values.
    pub fn open(&mut self, registry: &Registry, reload: bool) {
        self.files.open(registry, reload);
    }

    /// The names of the track files in use.
    pub fn names(&self) -> Vec<String> {
        self.files.names()
    }

    /// The files an inotify event touched, with their new values read.
    pub fn changed(&mut self) -> Vec<String> {
        self.files.changed()
    }

    /// What FILE_CHECK `f` of a real server of configured weight `base` finds now.
    pub fn result(&self, f: &FileCheck, base: i32) -> CheckResult {
        let Some(tf) = self.files.get(&f.track) else {
            return CheckResult::failure(format!("track_file {} is not defined", f.track));
        };
        let value = self.files.value(&tf.name);
        let (weight, reverse) = f.weight.unwrap_or((tf.weight, tf.reverse));
        match state(value, weight, reverse) {
            FileState::Fault => CheckResult::failure(format!("value {value}")),
            FileState::Weight(add) => {
                let w = (i64::from(base) + add).clamp(0, i64::from(u32::MAX)) as u32;
                // The added weight moves the real server's (misc_dynamic's mechanism).
                let weight = (add != 0).then_some(w);
                CheckResult { ok: true, weight, detail: format!("value {value}").into() }
            }
        }
    }

    pub fn close(&mut self, registry: &Registry) {
        self.files.close(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_move_weight_or_fault_as_keepalived() {
        assert_eq!(state(0, 0, false), FileState::Weight(0));
        assert_eq!(state(3, 0, false), FileState::Fault);
        assert_eq!(state(0, 0, true), FileState::Fault);
        assert_eq!(state(3, 0, true), FileState::Weight(0));
        assert_eq!(state(5, 2, false), FileState::Weight(10));
        assert_eq!(state(5, 2, true), FileState::Weight(-10));
        assert_eq!(state(-65536, 1, false), FileState::Fault);
        assert_eq!(state(-65535, 1, false), FileState::Weight(-65535));
        assert_eq!(state(i64::MAX, 254, true), FileState::Fault);
    }
}
