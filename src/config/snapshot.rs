//! The configuration exactly as the parent validated it: the main file's
//! bytes, every file an `include` read, and what each `include` pattern
//! matched. The parent records these while it validates and writes them to
//! the run directory; the children load from them and never read an
//! included file again, so an include edited after validation cannot run
//! unvalidated (and a child restarted later still runs what was validated).
//!
//! Encoding: `VIGILCONF1\n`, then fields as netstrings (`LEN:BYTES,`): the
//! main file, a count of globs and for each its base directory, pattern and
//! matched paths, a count of files and for each its path, canonical path,
//! and `+` with the bytes or `-` with the read error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"VIGILCONF1\n";
/// Limits that keep a damaged snapshot from making us allocate without end.
const MAX_ENTRIES: usize = 100_000;

/// A file an include read: its canonical path (for cycle checks) and the
/// bytes, or why it could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadFile {
    pub canonical: PathBuf,
    pub bytes: Result<Vec<u8>, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub main: Vec<u8>,
    /// (base directory, pattern) -> the files it matched, in order.
    pub globs: HashMap<(PathBuf, String), Vec<PathBuf>>,
    pub files: HashMap<PathBuf, ReadFile>,
}

impl Snapshot {
    pub fn new(main: Vec<u8>) -> Snapshot {
        Snapshot { main, ..Snapshot::default() }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        put(&mut out, &self.main);
        let mut globs: Vec<_> = self.globs.iter().collect();
        globs.sort();
        put(&mut out, globs.len().to_string().as_bytes());
        for ((dir, pattern), paths) in globs {
            put(&mut out, path_bytes(dir));
            put(&mut out, pattern.as_bytes());
            put(&mut out, paths.len().to_string().as_bytes());
            for p in paths {
                put(&mut out, path_bytes(p));
            }
        }
        let mut files: Vec<_> = self.files.iter().collect();
        files.sort_by(|a, b| a.0.cmp(b.0));
        put(&mut out, files.len().to_string().as_bytes());
        for (path, f) in files {
            put(&mut out, path_bytes(path));
            put(&mut out, path_bytes(&f.canonical));
            match &f.bytes {
                Ok(b) => {
                    put(&mut out, b"+");
                    put(&mut out, b);
                }
                Err(e) => {
                    put(&mut out, b"-");
                    put(&mut out, e.as_bytes());
                }
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Snapshot, String> {
        let mut r = Reader { rest: bytes.strip_prefix(MAGIC).ok_or("not a vigil configuration snapshot")? };
        let mut snap = Snapshot::new(r.field()?.to_vec());
        for _ in 0..r.count()? {
            let dir = r.path()?;
            let pattern = String::from_utf8(r.field()?.to_vec()).map_err(|_| "pattern is not UTF-8")?;
            let paths = (0..r.count()?).map(|_| r.path()).collect::<Result<Vec<_>, _>>()?;
            snap.globs.insert((dir, pattern), paths);
        }
        for _ in 0..r.count()? {
            let path = r.path()?;
            let canonical = r.path()?;
            let bytes = match r.field()? {
                b"+" => Ok(r.field()?.to_vec()),
                b"-" => Err(String::from_utf8_lossy(r.field()?).into_owned()),
                _ => return Err("bad file entry".into()),
            };
            snap.files.insert(path, ReadFile { canonical, bytes });
        }
        if !r.rest.is_empty() {
            return Err("trailing bytes".into());
        }
        Ok(snap)
    }
}

fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(field.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(field);
    out.push(b',');
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn field(&mut self) -> Result<&'a [u8], String> {
        let colon = self.rest.iter().take(20).position(|&b| b == b':').ok_or("bad field length")?;
        let len: usize = std::str::from_utf8(&self.rest[..colon])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("bad field length")?;
        let body = &self.rest[colon + 1..];
        if body.len() <= len || body[len] != b',' {
            return Err("truncated field".into());
        }
        self.rest = &body[len + 1..];
        Ok(&body[..len])
    }

    fn count(&mut self) -> Result<usize, String> {
        let n: usize =
            std::str::from_utf8(self.field()?).ok().and_then(|s| s.parse().ok()).ok_or("bad count")?;
        if n > MAX_ENTRIES {
            return Err("too many entries".into());
        }
        Ok(n)
    }

    fn path(&mut self) -> Result<PathBuf, String> {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(self.field()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut s = Snapshot::new(b"include /etc/k/*.conf\n".to_vec());
        s.globs.insert(
            (PathBuf::from("/etc/k"), "/etc/k/*.conf".into()),
            vec![PathBuf::from("/etc/k/a.conf"), PathBuf::from("/etc/k/b,:1.conf")],
        );
        s.files.insert(
            PathBuf::from("/etc/k/a.conf"),
            ReadFile {
                canonical: PathBuf::from("/etc/k/a.conf"),
                bytes: Ok(b"vrrp_instance A {\n}\n".to_vec()),
            },
        );
        s.files.insert(
            PathBuf::from("/etc/k/b,:1.conf"),
            ReadFile { canonical: PathBuf::from("/etc/k/b,:1.conf"), bytes: Err("permission denied".into()) },
        );
        let bytes = s.encode();
        assert_eq!(Snapshot::decode(&bytes), Ok(s));
        for cut in 0..bytes.len() {
            assert!(Snapshot::decode(&bytes[..cut]).is_err(), "truncated at {cut} decodes");
        }
        assert!(Snapshot::decode(b"vrrp_instance A {\n}\n").is_err(), "a plain file is not a snapshot");
    }

    /// What validation read is what a child loads, whatever the disk says later.
    #[test]
    fn a_child_loads_the_validated_include_not_the_edited_one() {
        use crate::config::{load_recording, load_snapshot, LoadOptions};
        let dir = std::env::temp_dir().join(format!("vigil-snap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        let inst = |prio: u8| {
            format!(
                "vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n priority {prio}\n \
                 virtual_ipaddress {{\n 198.18.0.1\n }}\n}}\n"
            )
        };
        std::fs::write(dir.join("conf.d/v.conf"), inst(100)).unwrap();
        let main = b"include conf.d/*.conf\n";
        let opts = LoadOptions::with_id("n1");
        let (loaded, snap) = load_recording("k.conf", main, &dir, &opts);
        assert_eq!(loaded.config.instances[0].priority, Some(100));
        std::fs::write(dir.join("conf.d/v.conf"), inst(50)).unwrap();
        std::fs::write(dir.join("conf.d/w.conf"), "garbage {\n").unwrap();
        let snap = Snapshot::decode(&snap.encode()).unwrap();
        let replayed = load_snapshot("k.conf", &snap, &dir, &opts);
        assert!(replayed.diags.is_empty(), "{:?}", replayed.diags);
        assert_eq!(replayed.config.instances.len(), 1);
        assert_eq!(replayed.config.instances[0].priority, Some(100));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
