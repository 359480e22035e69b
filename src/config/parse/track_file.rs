//! Top-level `track_file` / `vrrp_track_file` blocks and FILE_CHECK.

use super::super::keywords::Ctx;
use super::super::model::{Checker, CheckerKind, FileCheck, TrackFile, TrackFileInit};
use super::tree::Stmt;
use super::Parser;

impl Parser<'_> {
    /// `track_file NAME { file PATH; weight N [reverse]; init_file [V] [overwrite] }`.
    pub(super) fn track_file(&mut self, s: &Stmt) -> Option<TrackFile> {
        if s.name() == "vrrp_track_file" {
            self.warn(
                s.loc(),
                "'vrrp_track_file' is deprecated".to_string(),
                Some("use 'track_file'".into()),
            );
        }
        let name = self.block_name(s).unwrap_or_default();
        let mut tf = TrackFile {
            name,
            path: Default::default(),
            weight: 1,
            reverse: false,
            init: None,
            loc: s.loc().clone(),
        };
        for s in self.known(Ctx::TrackFile, s.stmts()) {
            match s.name() {
                "file" => {
                    if let Some(p) = self.string(s) {
                        tf.path = p.into();
                    }
                }
                "weight" => {
                    if let Some(w) = self.int(s, -254, 254) {
                        tf.weight = w as i32;
                        tf.reverse = self.reverse_word(s, 1);
                    }
                }
                "init_file" => tf.init = self.init_file(s),
                _ => self.unhandled(s),
            }
        }
        if tf.path.as_os_str().is_empty() {
            self.error(&tf.loc, format!("track_file '{}' has no 'file' line", tf.name), None);
            return None;
        }
        Some(tf)
    }

    /// `init_file [V] [overwrite]`, in either order.
    fn init_file(&mut self, s: &Stmt) -> Option<TrackFileInit> {
        let mut init = TrackFileInit { value: 0, overwrite: false };
        for t in &s.args {
            let w = t.word().unwrap_or("");
            if w == "overwrite" {
                init.overwrite = true;
                continue;
            }
            match w.parse::<i32>() {
                Ok(v) => {
                    if !(-254..=254).contains(&v) {
                        let msg = format!("init_file value {v} is outside the sensible range [-254, 254]");
                        self.warn(&t.loc, msg, None);
                    }
                    init.value = v.into();
                }
                Err(_) => {
                    let msg = format!("invalid init_file option '{w}'");
                    self.error(&t.loc, msg, Some("an integer and/or 'overwrite'".into()));
                    return None;
                }
            }
        }
        Some(init)
    }

    /// `FILE_CHECK { track_file NAME; weight N [reverse] }`; the name is
    /// checked against the track_file blocks once the whole file is read.
    pub(super) fn file_check(&mut self, s: &Stmt) -> Checker {
        let mut fc = FileCheck { track: String::new(), weight: None };
        for s in self.known(Ctx::FileCheck, s.stmts()) {
            match s.name() {
                "track_file" => {
                    if let Some(n) = self.string(s) {
                        fc.track = n;
                    }
                }
                "weight" => {
                    if let Some(w) = self.int(s, -65535, 65535) {
                        fc.weight = Some((w as i32, self.reverse_word(s, 1)));
                    }
                }
                _ => self.unhandled(s),
            }
        }
        if fc.track.is_empty() {
            self.error(s.loc(), "FILE_CHECK has no 'track_file'".to_string(), None);
        }
        Checker::new(CheckerKind::File(fc), s.loc().clone())
    }
}
