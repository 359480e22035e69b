//! Per-interface IPv4 sysctls (`/proc/sys/net/ipv4/conf/<if>/<key>`) that
//! `use_vmac` needs, remembering the values they replaced so they can be
//! put back on exit.

use std::path::{Path, PathBuf};

use super::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    ArpIgnore,
    ArpFilter,
    AcceptLocal,
    RpFilter,
    ArpAnnounce,
}

impl Key {
    pub fn name(self) -> &'static str {
        match self {
            Key::ArpIgnore => "arp_ignore",
            Key::ArpFilter => "arp_filter",
            Key::AcceptLocal => "accept_local",
            Key::RpFilter => "rp_filter",
            Key::ArpAnnounce => "arp_announce",
        }
    }
}

/// The IPv4 `conf` directory: `/proc/sys/net/ipv4/conf` (the caller's
/// network namespace), or another root in tests.
#[derive(Clone, Debug)]
pub struct Ipv4Conf {
    root: PathBuf,
}

impl Default for Ipv4Conf {
    fn default() -> Self {
        Ipv4Conf::at("/proc/sys/net/ipv4/conf")
    }
}

impl Ipv4Conf {
    pub fn at(root: impl Into<PathBuf>) -> Ipv4Conf {
        Ipv4Conf { root: root.into() }
    }

    fn path(&self, ifname: &str, key: Key) -> Result<PathBuf> {
        // A name with a slash would leave the directory; "." and ".." are not interfaces.
        if ifname.is_empty() || ifname.contains('/') || ifname == "." || ifname == ".." {
            return Err(Error::invalid(format!("interface name {ifname:?}")));
        }
        Ok(self.root.join(ifname).join(key.name()))
    }

    pub fn read(&self, ifname: &str, key: Key) -> Result<i32> {
        let path = self.path(ifname, key)?;
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&e, &path, "read"))?;
        text.trim().parse().map_err(|_| Error::malformed(format!("{}: {:?}", path.display(), text.trim())))
    }

    pub fn write(&self, ifname: &str, key: Key, value: i32) -> Result<()> {
        let path = self.path(ifname, key)?;
        std::fs::write(&path, format!("{value}\n")).map_err(|e| io_error(&e, &path, "write"))
    }
}

/// Whether the namespace sends IGMP reports for 224.0.0.x groups: the
/// reports a VMAC sends carry its MAC and can move it on a switch.
pub const IGMP_LINK_LOCAL_REPORTS: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

/// Read a namespace-wide integer sysctl such as [`IGMP_LINK_LOCAL_REPORTS`].
pub fn read_global(path: &str) -> Result<i32> {
    let path = Path::new(path);
    let text = std::fs::read_to_string(path).map_err(|e| io_error(&e, path, "read"))?;
    text.trim().parse().map_err(|_| Error::malformed(format!("{}: {:?}", path.display(), text.trim())))
}

pub fn write_global(path: &str, value: i32) -> Result<()> {
    let path = Path::new(path);
    std::fs::write(path, format!("{value}\n")).map_err(|e| io_error(&e, path, "write"))
}

fn io_error(e: &std::io::Error, path: &Path, verb: &str) -> Error {
    Error::new(e.raw_os_error().unwrap_or(libc::EIO), format!("{verb} {}", path.display()))
}

/// Sysctls changed so far and the values they had before.
#[derive(Clone, Debug, Default)]
pub struct Saved {
    old: Vec<(String, Key, i32)>,
}

impl Saved {
    /// Set `key` on `ifname` to `value`, remembering the value it had the
    /// first time this one was set.
    pub fn set(&mut self, conf: &Ipv4Conf, ifname: &str, key: Key, value: i32) -> Result<()> {
        let old = conf.read(ifname, key)?;
        if old != value {
            conf.write(ifname, key, value)?;
        }
        if !self.old.iter().any(|(i, k, _)| i == ifname && *k == key) {
            self.old.push((ifname.to_string(), key, old));
        }
        Ok(())
    }

    /// Put every remembered value back, newest first; errors are collected.
    pub fn restore(&mut self, conf: &Ipv4Conf) -> Vec<Error> {
        let mut errors = Vec::new();
        while let Some((ifname, key, old)) = self.old.pop() {
            if let Err(e) = conf.write(&ifname, key, old) {
                errors.push(e);
            }
        }
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.old.is_empty()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn fake_root(tag: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("vigil-sysctl-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("eth0")).unwrap();
        for key in [Key::ArpIgnore, Key::ArpFilter, Key::AcceptLocal, Key::RpFilter, Key::ArpAnnounce] {
            std::fs::write(root.join("eth0").join(key.name()), "2\n").unwrap();
        }
        root
    }

    #[test]
    fn set_and_restore_round_trip() {
        let root = fake_root("rt");
        let conf = Ipv4Conf::at(&root);
        let mut saved = Saved::default();
        saved.set(&conf, "eth0", Key::ArpIgnore, 1).unwrap();
        saved.set(&conf, "eth0", Key::RpFilter, 0).unwrap();
        // A second set keeps the first original.
        saved.set(&conf, "eth0", Key::ArpIgnore, 8).unwrap();
        assert_eq!(conf.read("eth0", Key::ArpIgnore).unwrap(), 8);
        assert_eq!(conf.read("eth0", Key::RpFilter).unwrap(), 0);
        assert!(saved.restore(&conf).is_empty());
        assert!(saved.is_empty());
        assert_eq!(conf.read("eth0", Key::ArpIgnore).unwrap(), 2);
        assert_eq!(conf.read("eth0", Key::RpFilter).unwrap(), 2);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn missing_and_malformed_are_errors() {
        let root = fake_root("bad");
        let conf = Ipv4Conf::at(&root);
        assert_eq!(conf.read("nope", Key::ArpFilter).unwrap_err().errno(), libc::ENOENT);
        assert_eq!(conf.read("../eth0", Key::ArpFilter).unwrap_err().errno(), libc::EINVAL);
        std::fs::write(root.join("eth0/arp_filter"), "x\n").unwrap();
        assert_eq!(conf.read("eth0", Key::ArpFilter).unwrap_err().errno(), libc::EBADMSG);
        let mut saved = Saved::default();
        assert!(saved.set(&conf, "nope", Key::ArpFilter, 1).is_err());
        assert!(saved.is_empty(), "nothing to restore after a failed set");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
