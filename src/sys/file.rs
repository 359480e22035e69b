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
