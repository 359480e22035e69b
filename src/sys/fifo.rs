//! keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`,
//! `lvs_notify_fifo`): one line per event, written without ever blocking.
//!
//! The FIFO is created (mode 0644, owned by root, or by the user and group
//! the configuration names for it) when the path does not exist. A path that
//! exists must be a FIFO owned by root (or that user), not writable by
//! others: a local user who pre-creates `/tmp/keepalived.fifo` must neither
//! read the events through a file of their own nor inject lines that a root
//! reader script would trust. Symbolic links are not followed.
//!
//! Like keepalived the FIFO is opened O_RDWR | O_NONBLOCK: the open never
//! waits for a reader, and lines written while no reader is attached stay
//! in the pipe for the next one. A line that does not fit in the pipe
//! (EAGAIN: the reader is gone or too slow) is dropped and counted, never
//! waited for. Lines are shorter than PIPE_BUF, so each is written whole or
//! not at all, and lines from the VRRP and checker processes never mix.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Who may own the FIFO besides root: the `notify_fifo PATH user group` pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: Option<u32>,
}

/// An open notify FIFO.
#[derive(Debug)]
pub struct NotifyFifo {
    path: PathBuf,
    file: File,
    /// We made it, so we remove it when done (as keepalived does).
    created: bool,
    written: u64,
    dropped: u64,
}

impl NotifyFifo {
    /// Create `path` if missing, check it, open it for writing.
    pub fn open(path: &Path, owner: Option<Owner>) -> Result<NotifyFifo, String> {
        let shown = path.display();
        let mut created = false;
        match std::fs::symlink_metadata(path) {
            Ok(m) => check_existing(&m, owner).map_err(|why| format!("{shown} {why}: not used"))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                created = mkfifo(path).map_err(|e| format!("cannot create {shown}: {e}"))?;
                if !created {
                    // Someone made it between our look and mkfifo: check what they made.
                    let m = std::fs::symlink_metadata(path).map_err(|e| format!("{shown}: {e}"))?;
                    check_existing(&m, owner).map_err(|why| format!("{shown} {why}: not used"))?;
                }
            }
            Err(e) => return Err(format!("{shown}: {e}")),
        }
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(path)
            .and_then(|f| f.metadata().map(|m| (f, m)));
        let (file, meta) = match opened {
            Ok(x) => x,
            Err(e) => {
                if created {
                    // Undo our mkfifo; the open's error is the one to report.
                    let _ = std::fs::remove_file(path);
                }
                return Err(format!("cannot open {shown}: {e}"));
            }
        };
        let fifo = NotifyFifo { path: path.to_path_buf(), file, created, written: 0, dropped: 0 };
        if created {
            // mkfifo made it 0600 root: now the mode readers need, and the named owner.
            if let Some(o) = owner {
                std::os::unix::fs::fchown(&fifo.file, Some(o.uid), o.gid)
                    .map_err(|e| format!("cannot chown {shown}: {e}"))?;
            }
            fifo.file
                .set_permissions(Permissions::from_mode(0o644))
                .map_err(|e| format!("chmod {shown}: {e}"))?;
        } else {
            // What we opened, not what we looked at before: it may have been swapped.
            check_existing(&meta, owner).map_err(|why| format!("{shown} {why}: not used"))?;
        }
        Ok(fifo)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write one line (a newline is added). False when it was dropped
    /// because the pipe is full (or on any other error).
    pub fn write_line(&mut self, line: &str) -> bool {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        let ok = loop {
            match (&self.file).write(&buf) {
                Ok(n) => break n == buf.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break false,
            }
        };
        if ok {
            self.written += 1;
        } else {
            self.dropped += 1;
        }
        ok
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl Drop for NotifyFifo {
    /// Unlink first, so that a reader that reopens the path after our close
    /// cannot open this FIFO again (keepalived's order).
    fn drop(&mut self) {
        if self.created {
            // A FIFO left behind is opened as it is by the next start.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Why an existing path must not be used, if it must not.
fn check_existing(m: &std::fs::Metadata, owner: Option<Owner>) -> Result<(), &'static str> {
    let ft = m.file_type();
    if ft.is_symlink() {
        return Err("is a symbolic link");
    }
    if !ft.is_fifo() {
        return Err("exists and is not a FIFO");
    }
    if m.uid() != 0 && owner.is_none_or(|o| o.uid != m.uid()) {
        return Err("is not owned by root");
    }
    if m.mode() & 0o002 != 0 {
        return Err("is writable by every user");
    }
    Ok(())
}

/// mkfifo(path, 0600). Ok(false): something already exists there.
fn mkfifo(path: &Path) -> io::Result<bool> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: c is a valid NUL-terminated string for the duration of the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EEXIST) {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vigil-fifo-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        d
    }

    fn root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn creates_writes_without_a_reader_and_removes() {
        let d = dir("create");
        let p = d.join("f");
        let mut f = NotifyFifo::open(&p, None).unwrap();
        let m = std::fs::symlink_metadata(&p).unwrap();
        assert!(m.file_type().is_fifo());
        assert_eq!(m.mode() & 0o777, 0o644);
        assert!(f.write_line("INSTANCE \"VI_1\" BACKUP 100"));
        // A reader that attaches later still gets what was written.
        let mut r = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&p).unwrap();
        let mut got = String::new();
        let _ = r.read_to_string(&mut got);
        assert_eq!(got, "INSTANCE \"VI_1\" BACKUP 100\n");
        drop(f);
        assert!(!p.exists(), "a FIFO we created is removed");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_full_pipe_drops_lines_instead_of_blocking() {
        let d = dir("full");
        let p = d.join("f");
        let mut f = NotifyFifo::open(&p, None).unwrap();
        let line = "x".repeat(1000);
        let mut n = 0;
        while f.write_line(&line) {
            n += 1;
            assert!(n < 10_000, "the pipe never filled");
        }
        assert!(!f.write_line(&line));
        assert_eq!((f.written(), f.dropped()), (n, 2));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn hostile_paths_are_refused() {
        let d = dir("hostile");
        let file = d.join("file");
        std::fs::write(&file, "").unwrap();
        assert!(NotifyFifo::open(&file, None).unwrap_err().contains("not a FIFO"));
        let link = d.join("link");
        symlink(d.join("elsewhere"), &link).unwrap();
        assert!(NotifyFifo::open(&link, None).unwrap_err().contains("symbolic link"));
        assert!(!d.join("elsewhere").exists(), "the link was followed");
        let open = d.join("open");
        assert!(mkfifo(&open).unwrap());
        std::fs::set_permissions(&open, Permissions::from_mode(0o666)).unwrap();
        assert!(NotifyFifo::open(&open, None).unwrap_err().contains("writable by every user"));
        if root() {
            let theirs = d.join("theirs");
            assert!(mkfifo(&theirs).unwrap());
            std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
            assert!(NotifyFifo::open(&theirs, None).unwrap_err().contains("not owned by root"));
            // ... unless the configuration names that user for it.
            let f = NotifyFifo::open(&theirs, Some(Owner { uid: 65534, gid: None })).unwrap();
            drop(f);
            assert!(theirs.exists(), "a FIFO we did not create stays");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
