//! inotify over libc (no crate): watch directories for files written,
//! moved in or out, or deleted, as keepalived watches a `track_file`'s
//! directory (IN_CLOSE_WRITE | IN_DELETE | IN_MOVE; a file replaced by
//! rename is seen too). The event codec is pure and panic-free.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{Error, Result};

/// The events a directory watch asks for.
pub const DIR_EVENTS: u32 = libc::IN_CLOSE_WRITE | libc::IN_DELETE | libc::IN_MOVED_FROM | libc::IN_MOVED_TO;

/// One event: the watch it belongs to, its mask and the file's name in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub wd: i32,
    pub mask: u32,
    pub name: Vec<u8>,
}

impl Event {
    /// The file is gone (deleted or moved away).
    pub fn is_removal(&self) -> bool {
        self.mask & (libc::IN_DELETE | libc::IN_MOVED_FROM) != 0
    }
}

/// `struct inotify_event`: wd (i32), mask, cookie, len (u32), then `len`
/// bytes of NUL-padded name. A record cut short ends the parse.
pub fn parse_events(buf: &[u8]) -> Vec<Event> {
    const HEAD: usize = 16;
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= HEAD {
        let word = |i: usize| [rest[i], rest[i + 1], rest[i + 2], rest[i + 3]];
        let wd = i32::from_ne_bytes(word(0));
        let mask = u32::from_ne_bytes(word(4));
        let len = u32::from_ne_bytes(word(12)) as usize;
        let Some(name) = rest.get(HEAD..HEAD.saturating_add(len)) else { break };
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        out.push(Event { wd, mask, name: name[..end].to_vec() });
        rest = &rest[HEAD + len..];
    }
    out
}

/// (directory, file name) of a watched file's path: the directory is what
/// is watched, the name picks its events; a bare name is in ".".
pub fn dir_and_name(path: &Path) -> (PathBuf, Vec<u8>) {
    let name = path.file_name().unwrap_or(OsStr::new("")).as_bytes().to_vec();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    (dir, name)
}

/// A non-blocking inotify instance.
pub struct Inotify {
    fd: OwnedFd,
}

impl Inotify {
    pub fn new() -> Result<Inotify> {
        // SAFETY: plain inotify_init1(2) call.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(Error::last("inotify_init1"));
        }
        // SAFETY: fd was just returned to us and is owned by nothing else.
        Ok(Inotify { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Watch `dir` for `DIR_EVENTS`; the watch descriptor (the same one for
    /// a directory watched twice).
    pub fn watch_dir(&self, dir: &Path) -> Result<i32> {
        let what = || format!("inotify watch {}", dir.display());
        let c = CString::new(dir.as_os_str().as_bytes()).map_err(|_| Error::invalid(what()))?;
        // SAFETY: c is a valid NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), DIR_EVENTS) };
        if wd < 0 {
            return Err(Error::last(what()));
        }
        Ok(wd)
    }

    /// Every event waiting, read until the descriptor would block.
    pub fn read_events(&self) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        // Room for many events with names of up to NAME_MAX bytes.
        let mut buf = vec![0u8; 16 * (16 + 256)];
        loop {
            // SAFETY: buf is valid for buf.len() writable bytes.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = Error::last("inotify read");
                if e.is_would_block() {
                    return Ok(out);
                }
                if e.errno() == libc::EINTR {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Ok(out);
            }
            out.extend(parse_events(&buf[..n as usize]));
        }
    }
}

impl AsRawFd for Inotify {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Inotify {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(wd: i32, mask: u32, name: &[u8], len: u32) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&wd.to_ne_bytes());
        r.extend_from_slice(&mask.to_ne_bytes());
        r.extend_from_slice(&0u32.to_ne_bytes());
        r.extend_from_slice(&len.to_ne_bytes());
        let mut n = name.to_vec();
        n.resize(len as usize, 0);
        r.extend_from_slice(&n);
        r
    }

    #[test]
    fn inotify_events_are_parsed_and_cut_records_dropped() {
        let mut buf = record(1, libc::IN_CLOSE_WRITE, b"weight", 16);
        buf.extend(record(2, libc::IN_DELETE, b"", 0));
        let ev = parse_events(&buf);
        assert_eq!(ev.len(), 2);
        assert_eq!((ev[0].wd, ev[0].name.as_slice(), ev[0].is_removal()), (1, &b"weight"[..], false));
        assert!(ev[1].is_removal());
        // A name longer than the buffer: the record is dropped, nothing panics.
        let cut = record(3, libc::IN_MOVED_TO, b"x", 64);
        assert!(parse_events(&cut[..40]).is_empty());
        assert!(parse_events(&[1, 2, 3]).is_empty());
    }

    /// A real instance sees a file written in the watched directory, and its removal.
    #[test]
    fn inotify_sees_a_file_written_and_removed() {
        let dir = std::env::temp_dir().join(format!("vigil-inotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ino = Inotify::new().unwrap();
        let wd = ino.watch_dir(&dir).unwrap();
        assert!(ino.read_events().unwrap().is_empty());
        std::fs::write(dir.join("v"), b"5\n").unwrap();
        let ev = ino.read_events().unwrap();
        assert!(
            ev.iter().any(|e| e.wd == wd && e.name == b"v" && e.mask & libc::IN_CLOSE_WRITE != 0),
            "{ev:?}"
        );
        std::fs::remove_file(dir.join("v")).unwrap();
        assert!(ino.read_events().unwrap().iter().any(|e| e.name == b"v" && e.is_removal()));
        std::fs::remove_dir(&dir).unwrap();
    }
}
