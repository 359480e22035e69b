//! PID files held under an exclusive flock(2) for the life of the process,
//! so "is it running?" is answered by the kernel, not by a stale number.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

pub const PARENT: &str = "keepalived";
pub const VRRP: &str = "vrrp";
pub const CHECKERS: &str = "checkers";
/// Under `-s NAME` keepalived keeps its pid files in `/run/keepalived/NAME/`.
pub const NAMESPACE_DIR: &str = "/run/keepalived";

/// Where pid file `name` ([`PARENT`], [`VRRP`], [`CHECKERS`]) goes when no
/// flag names it: `/run/NAME.pid`, or `/run/keepalived/NS/NAME.pid` for the
/// daemon of network namespace NS, so daemons of different namespaces never
/// share one.
pub fn default_path(name: &str, namespace: Option<&str>) -> PathBuf {
    match namespace {
        Some(ns) => Path::new(NAMESPACE_DIR).join(ns).join(format!("{name}.pid")),
        None => PathBuf::from(format!("/run/{name}.pid")),
    }
}

#[derive(Debug)]
pub enum PidFileError {
    /// Another process holds the lock.
    AlreadyRunning(PathBuf),
    Io(PathBuf, io::Error),
}

impl fmt::Display for PidFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PidFileError::AlreadyRunning(p) => {
                write!(f, "daemon is already running (lock held on {})", p.display())
            }
            PidFileError::Io(p, e) => write!(f, "pid file {}: {e}", p.display()),
        }
    }
}

/// A locked PID file. The lock lives as long as the open file description,
/// which `fork` shares: call [`PidFile::write_pid`] after daemonising.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    file: File,
}

impl PidFile {
    /// Open (creating with mode 0644) and lock `path` without writing to it.
    /// A file nobody holds a lock on is stale and is taken over.
    pub fn lock(path: &Path) -> Result<PidFile, PidFileError> {
        // An owner that stops unlinks the file before it closes it: what we
        // locked may be that unlinked file, while a third process creates and
        // locks a new one. Lock only the file the path still names.
        loop {
            let p = PidFile::lock_once(path)?;
            let held = p.file.metadata().map_err(|e| PidFileError::Io(path.to_path_buf(), e))?;
            match std::fs::symlink_metadata(path) {
                Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => return Ok(p),
                _ => continue,
            }
        }
    }

    fn lock_once(path: &Path) -> Result<PidFile, PidFileError> {
        let io_err = |e| PidFileError::Io(path.to_path_buf(), e);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .mode(0o644)
            // Refuse a symlink planted where the pid file goes.
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(io_err)?;
        if !file.metadata().map_err(io_err)?.is_file() {
            return Err(io_err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")));
        }
        // SAFETY: the fd is valid and owned by `file`.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = io::Error::last_os_error();
            return Err(if e.kind() == io::ErrorKind::WouldBlock {
                PidFileError::AlreadyRunning(path.to_path_buf())
            } else {
                io_err(e)
            });
        }
        Ok(PidFile { path: path.to_path_buf(), file })
    }

    /// Lock `path` and write this process's pid.
    pub fn create(path: &Path) -> Result<PidFile, PidFileError> {
        let mut p = PidFile::lock(path)?;
        p.write_pid(std::process::id()).map_err(|e| PidFileError::Io(path.to_path_buf(), e))?;
        Ok(p)
    }

    /// Replace the contents with `pid` and a newline.
    pub fn write_pid(&mut self, pid: u32) -> io::Result<()> {
        self.file.set_len(0)?;
        let mut f = &self.file;
        std::io::Seek::rewind(&mut f)?;
        f.write_all(format!("{pid}\n").as_bytes())?;
        f.flush()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Unlink the file, then release the lock by closing it.
    pub fn remove(self) {
        crate::sys::file::remove_own(&self.path, "pid file");
    }
}

/// The pid written in a pid file, if it holds one.
pub fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vigil-pidfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    #[test]
    fn create_writes_pid_and_holds_the_lock() {
        let path = temp("lock");
        let p = PidFile::create(&path).unwrap();
        assert_eq!(read_pid(&path), Some(std::process::id() as i32));
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o644);
        // flock conflicts between open file descriptions even in one process.
        assert!(matches!(PidFile::lock(&path), Err(PidFileError::AlreadyRunning(_))));
        assert!(PidFile::lock(&path).unwrap_err().to_string().contains("already running"));
        p.remove();
        assert!(!path.exists());
    }

    #[test]
    fn stale_file_is_taken_over_and_truncated() {
        let path = temp("stale");
        std::fs::write(&path, "999999999 and some junk\n").unwrap();
        let mut p = PidFile::lock(&path).unwrap();
        p.write_pid(42).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "42\n");
        drop(p);
        // Dropping closes (unlocks) without removing: the next owner takes over.
        let p = PidFile::create(&path).unwrap();
        p.remove();
    }

    #[test]
    fn default_paths_per_namespace() {
        assert_eq!(default_path(PARENT, None), Path::new("/run/keepalived.pid"));
        assert_eq!(default_path(VRRP, None), Path::new("/run/vrrp.pid"));
        assert_eq!(default_path(CHECKERS, Some("blue")), Path::new("/run/keepalived/blue/checkers.pid"));
        assert_eq!(default_path(PARENT, Some("blue")), Path::new("/run/keepalived/blue/keepalived.pid"));
    }

    #[test]
    fn refuses_symlinks_and_directories() {
        let path = temp("link");
        std::os::unix::fs::symlink("/etc/passwd", &path).unwrap();
        assert!(matches!(PidFile::lock(&path), Err(PidFileError::Io(..))));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(PidFile::lock(Path::new("/")), Err(PidFileError::Io(..))));
    }
}
