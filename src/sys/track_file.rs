//! A top-level `track_file` block at run time (keepalived's track_file.c):
//! the value read from its file, `init_file`, and a watcher that says which
//! tracked files changed (inotify on their directories, no polling).
//! [`TrackedFiles`] puts them together for an event loop; FILE_CHECK in the
//! checker child and VRRP's `track_file` in the VRRP child both use it.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::path::Path;

use log::{error, info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::inotify::{dir_and_name, Inotify};
use super::Result;
use crate::config::model::TrackFile;

/// keepalived's reading of a track file's first 127 bytes: `strtol(buf,
/// NULL, 0)` (leading blanks, a sign, `0x` hex, `0` octal, decimal; what
/// follows the digits is ignored; no digits is 0). `None` for a number
/// outside `i32::MIN..=i32::MAX + 1`, which keepalived ignores (the previous
/// value stays).
pub fn parse_value(bytes: &[u8]) -> Option<i64> {
    let bytes = &bytes[..bytes.len().min(127)];
    let mut i = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let negative = match bytes.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let rest = bytes.get(i..).unwrap_or(&[]);
    let (radix, digits) = match rest {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &rest[2..]),
        [b'0', ..] => (8, rest),
        _ => (10, rest),
    };
    let mut value: i64 = 0;
    for &b in digits {
        let Some(d) = char::from(b).to_digit(radix) else { break };
        value = value.checked_mul(i64::from(radix))?.checked_add(i64::from(d))?;
        if value > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    let value = if negative { -value } else { value };
    (value >= i64::from(i32::MIN)).then_some(value)
}

/// The file's value now: a missing or empty file is 0; `None` when what
/// it holds is out of range (keep the previous value).
pub fn read_value(path: &Path) -> Option<i64> {
    // Track files often live in /tmp: a FIFO planted there must not block
    // the VRRP child (read_regular refuses it; the value is then 0).
    let bytes = crate::config::file::read_regular(path, 127, true).unwrap_or_default();
    parse_value(&bytes)
}

/// `init_file [V] [overwrite]`: write V when the file does not exist, or
/// with `overwrite` at start; as keepalived, a reload never overwrites.
pub fn init_file(tf: &TrackFile, reload: bool) -> std::io::Result<()> {
    let Some(init) = tf.init else { return Ok(()) };
    if (!init.overwrite || reload) && tf.path.exists() {
        return Ok(());
    }
    // A fresh file renamed over the path: a link planted there is replaced,
    // never written through.
    crate::sys::file::replace(&tf.path, format!("{}\n", init.value).as_bytes(), 0o644)
}

/// Watches the directories of some track files; `changed` names the
/// files whose directory entry an event was about.
pub struct Watcher {
    inotify: Inotify,
    /// (watch descriptor, file name) -> track file names.
    files: HashMap<(i32, Vec<u8>), Vec<String>>,
}

impl Watcher {
    /// A watcher for `files`; a file whose directory cannot be watched is
    /// returned with the error (keepalived drops such a track file).
    pub fn new<'a>(
        files: impl IntoIterator<Item = &'a TrackFile>,
    ) -> Result<(Watcher, Vec<(String, String)>)> {
        let inotify = Inotify::new()?;
        let mut w = Watcher { inotify, files: HashMap::new() };
        let mut failed = Vec::new();
        for tf in files {
            let (dir, name) = dir_and_name(&tf.path);
            match w.inotify.watch_dir(&dir) {
                Ok(wd) => w.files.entry((wd, name)).or_default().push(tf.name.clone()),
                Err(e) => failed.push((tf.name.clone(), e.to_string())),
            }
        }
        Ok((w, failed))
    }

    /// The names of the track files an event touched since the last call.
    pub fn changed(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for ev in self.inotify.read_events()? {
            if ev.mask & libc::IN_ISDIR != 0 {
                continue;
            }
            for name in self.files.get(&(ev.wd, ev.name)).into_iter().flatten() {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
        }
        Ok(out)
    }

    pub fn inotify(&self) -> &Inotify {
        &self.inotify
    }
}

/// Some track files, their last values and the watcher on their
/// directories, registered with an event loop under one token.
pub struct TrackedFiles {
    files: Vec<TrackFile>,
    values: HashMap<String, i64>,
    watcher: Option<Watcher>,
    token: Token,
}

impl TrackedFiles {
    /// `files` to follow (nothing is opened yet).
    pub fn new(files: Vec<TrackFile>, token: Token) -> TrackedFiles {
        TrackedFiles { files, values: HashMap::new(), watcher: None, token }
    }

    pub fn token(&self) -> Token {
        self.token
    }

    /// `init_file` (`reload`: after a configuration reload), the watch on
    /// the files' directories, the first values.
    pub fn open(&mut self, registry: &Registry, reload: bool) {
        if self.files.is_empty() {
            return;
        }
        for tf in &self.files {
            if let Err(e) = init_file(tf, reload) {
                error!("track_file {}: cannot initialise {}: {e}", tf.name, tf.path.display());
            }
        }
        match Watcher::new(&self.files) {
            Ok((w, failed)) => {
                for (name, e) in failed {
                    warn!("track_file {name}: {e} - changes to it are not seen");
                }
                let fd = w.inotify().as_raw_fd();
                match registry.register(&mut SourceFd(&fd), self.token, Interest::READABLE) {
                    Ok(()) => self.watcher = Some(w),
                    Err(e) => error!("track_file: cannot register inotify: {e}"),
                }
            }
            Err(e) => error!("track_file: {e} - changes are not seen"),
        }
        let names = self.names();
        self.reread(&names);
    }

    /// The names of the track files followed.
    pub fn names(&self) -> Vec<String> {
        self.files.iter().map(|t| t.name.clone()).collect()
    }

    pub fn files(&self) -> &[TrackFile] {
        &self.files
    }

    pub fn get(&self, name: &str) -> Option<&TrackFile> {
        self.files.iter().find(|t| t.name == name)
    }

    /// Track file `name`'s last value (0 before any read, as keepalived).
    pub fn value(&self, name: &str) -> i64 {
        self.values.get(name).copied().unwrap_or(0)
    }

    /// The files an inotify event touched, with their new values read.
    pub fn changed(&mut self) -> Vec<String> {
        let changed = match self.watcher.as_ref().map(Watcher::changed) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                warn!("track_file: {e}");
                Vec::new()
            }
            None => Vec::new(),
        };
        self.reread(&changed);
        changed
    }

    fn reread(&mut self, names: &[String]) {
        for tf in self.files.iter().filter(|t| names.contains(&t.name)) {
            match read_value(&tf.path) {
                Some(v) => {
                    if self.values.insert(tf.name.clone(), v) != Some(v) {
                        info!("track_file {}: value {v} from {}", tf.name, tf.path.display());
                    }
                }
                None => warn!("Invalid number read from {} - ignoring", tf.path.display()),
            }
        }
    }

    pub fn close(&mut self, registry: &Registry) {
        if let Some(w) = self.watcher.take() {
            crate::runtime::deregister(registry, &mut SourceFd(&w.inotify().as_raw_fd()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_file_values_read_as_strtol() {
        assert_eq!(parse_value(b"5\n"), Some(5));
        assert_eq!(parse_value(b"  -12 apples"), Some(-12));
        assert_eq!(parse_value(b"0x1f"), Some(31));
        assert_eq!(parse_value(b"010"), Some(8));
        assert_eq!(parse_value(b""), Some(0));
        assert_eq!(parse_value(b"abc"), Some(0));
        assert_eq!(parse_value(b"2147483648"), Some(2_147_483_648));
        assert_eq!(parse_value(b"2147483649"), None);
        assert_eq!(parse_value(b"-2147483649"), None);
        assert_eq!(parse_value(b"99999999999999999999999"), None);
    }
}
