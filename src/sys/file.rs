//! Files the daemon writes for itself.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Replace the file at `path` atomically (a temporary file renamed over it),
/// readable by its owner (root) only: the snapshot, a child's state file.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
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
