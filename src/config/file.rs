//! Reading the files a configuration names (includes, key files, track
//! and reload-time files) where a local user may have put something else:
//! the config front end reads them, and so do the edge and the daemon.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The largest configuration file read (main file or include).
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Read a configuration file (the main one or an include): regular files
/// only, at most 16 MiB, so that a FIFO at the path or `include /dev/*`
/// cannot hang the loader. Non-blocking, because some "regular" files block
/// on read (/proc/kmsg, tracing's trace_pipe).
pub fn read_config(path: &Path) -> io::Result<Vec<u8>> {
    let bytes = read_regular(path, MAX_CONFIG_BYTES + 1, true)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "larger than 16 MiB"));
    }
    Ok(bytes)
}

/// At most `limit` bytes of the regular file at `path`, read without ever
/// blocking: opened non-blocking and refused unless it is a regular file,
/// so a FIFO, device or socket someone put at the path cannot hold the
/// caller in open() or read() (a FIFO with no writer, /proc/kmsg) or feed
/// it forever (/dev/zero). `follow` says whether a symbolic link at the
/// path is followed: not where what is read may end up in a log line.
pub fn read_regular(path: &Path, limit: u64, follow: bool) -> io::Result<Vec<u8>> {
    let flags = libc::O_NONBLOCK | libc::O_CLOEXEC | if follow { 0 } else { libc::O_NOFOLLOW };
    let file = std::fs::OpenOptions::new().read(true).custom_flags(flags).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(&file, limit), &mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read_and_never_block() {
        let dir = std::env::temp_dir().join(format!("vigil-read-regular-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("value");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(read_regular(&file, 3, true).unwrap(), b"123");
        // A FIFO with no writer: refused at once, where a blocking open waits forever.
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(read_regular(&fifo, 10, true).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        // A device that never ends.
        assert!(read_regular(Path::new("/dev/zero"), 10, true).is_err());
        // A link: followed only when asked.
        let link = dir.join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_regular(&link, 10, true).unwrap(), b"12345");
        assert!(read_regular(&link, 10, false).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
