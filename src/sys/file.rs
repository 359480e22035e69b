//! Files the daemon writes for itself.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Replace the file at `path` atomically (a temporary file renamed over it),
/// readable by its owner (root) only: the snapshot, a child's state file.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    // A leftover of a write cut short; if it cannot go, `create_new` below
    // fails and says why.
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    io::Write::write_all(&mut f, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Replace the file at `path` as keepalived's safe open does: a fresh
/// root-owned file beside the target (O_EXCL, never following or blocking on
/// what a local user put there), renamed over it. In a sticky directory such
/// as /tmp the rename fails for another user's file, which is then left
/// alone; a hard link at the path loses its name, never its contents.
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    // A leftover of ours from a crash; anyone else's makes the open fail.
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&tmp)?;
    let written = io::Write::write_all(&mut file, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // The write's error is the one to report; a leftover is removed
        // by the next write (above).
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Remove a file or socket the daemon made itself (`what` names it in the
/// warning: "pid file", "control socket"). Already gone is fine, the point
/// is that it is not there; any other failure is logged, because what is
/// left behind changes what the next start does (a state file is resumed,
/// a socket path is taken), and the caller is on its way out with nobody
/// else to tell.
pub fn remove_own(path: &Path, what: &str) {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            log::warn!("cannot remove {what} {}: {e}", path.display())
        }
        _ => {}
    }
}
