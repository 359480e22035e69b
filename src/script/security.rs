//! `enable_script_security`: a script that runs as root must not be
//! replaceable by anyone but root. Every directory on the way to the file
//! and the file itself are checked, and a finding names the one component
//! at fault and why, with the command that fixes it (users found
//! keepalived's bare "Unsafe permissions found" hard to act on).

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::sys::users::UserDb;

const S_ISVTX: u32 = 0o1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Owned by someone other than root, who can change or replace it.
    Owner { uid: u32, user: Option<String> },
    /// Writable by a group other than root.
    GroupWritable { mode: u32, gid: u32, group: Option<String> },
    /// Writable by everyone.
    WorldWritable { mode: u32 },
    /// The component could not be examined.
    Unreadable(io::ErrorKind),
    /// Not a directory on the way, or not a file (or symlink) at the end.
    WrongType,
}

/// One path component that makes a root script unsafe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsafe {
    pub path: PathBuf,
    pub reason: Reason,
}

impl Unsafe {
    /// The shell command that removes this finding.
    pub fn fix(&self) -> String {
        let p = self.path.display();
        match &self.reason {
            Reason::Owner { .. } => format!("chown root {p}"),
            Reason::GroupWritable { .. } => format!("chmod g-w {p}"),
            Reason::WorldWritable { .. } => format!("chmod o-w {p}"),
            Reason::Unreadable(_) | Reason::WrongType => format!("ls -ld {p}"),
        }
    }
}

impl fmt::Display for Unsafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.reason {
            Reason::Owner { uid, user: Some(u) } => {
                write!(f, "{p} is owned by non-root user {u} (uid {uid})")
            }
            Reason::Owner { uid, user: None } => write!(f, "{p} is owned by non-root uid {uid}"),
            Reason::GroupWritable { mode, group: Some(g), .. } => {
                write!(f, "{p} is group-writable (mode {:04o}, group {g})", mode & 0o7777)
            }
            Reason::GroupWritable { mode, gid, group: None } => {
                write!(f, "{p} is group-writable (mode {:04o}, gid {gid})", mode & 0o7777)
            }
            Reason::WorldWritable { mode } => write!(f, "{p} is world-writable (mode {:04o})", mode & 0o7777),
            Reason::Unreadable(kind) => write!(f, "{p} cannot be checked ({kind})"),
            Reason::WrongType => write!(f, "{p} is neither a directory on the way nor a file at the end"),
        }
    }
}

/// Check that only root can change `path` or any directory above it. Both
/// the path as written and its symlink-free form are walked, since a
/// symlink is only as safe as the directories on either side of it.
pub fn check_path(path: &Path, users: &UserDb) -> Result<(), Unsafe> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(|e| unreadable(path, &e))?.join(path)
    };
    walk(&absolute, users)?;
    let real = fs::canonicalize(&absolute).map_err(|e| unreadable(&absolute, &e))?;
    if real != absolute {
        walk(&real, users)?;
    }
    Ok(())
}

fn walk(path: &Path, users: &UserDb) -> Result<(), Unsafe> {
    let mut prefix = PathBuf::new();
    let components: Vec<Component> = path.components().collect();
    for (i, component) in components.iter().enumerate() {
        prefix.push(component);
        let last = i + 1 == components.len();
        let meta = fs::symlink_metadata(&prefix).map_err(|e| unreadable(&prefix, &e))?;
        let ft = meta.file_type();
        // keepalived: every component before the last is a directory, the last
        // a file or a symlink. Symlinks on the way (as in /bin -> usr/bin) are
        // followed by the canonical walk.
        let right_type = if last { ft.is_file() || ft.is_symlink() } else { ft.is_dir() || ft.is_symlink() };
        if !right_type {
            return Err(Unsafe { path: prefix, reason: Reason::WrongType });
        }
        if ft.is_symlink() {
            // Nobody can retarget a symlink, but its owner may replace it (even
            // in a sticky directory): it must be root's. Replacing it otherwise
            // needs write access to its directory, checked one step earlier.
            if meta.uid() != 0 {
                let user = users.user_by_uid(meta.uid()).map(|u| u.name.clone());
                return Err(Unsafe { path: prefix, reason: Reason::Owner { uid: meta.uid(), user } });
            }
            continue;
        }
        let mode = meta.mode();
        if meta.uid() != 0 {
            let user = users.user_by_uid(meta.uid()).map(|u| u.name.clone());
            return Err(Unsafe { path: prefix, reason: Reason::Owner { uid: meta.uid(), user } });
        }
        // In a sticky directory only an entry's owner may rename or remove it,
        // and the next component must be root's, so /tmp-like places are fine.
        let sticky_dir = meta.is_dir() && mode & S_ISVTX != 0 && !last;
        if sticky_dir {
            continue;
        }
        if mode & 0o002 != 0 {
            return Err(Unsafe { path: prefix, reason: Reason::WorldWritable { mode } });
        }
        if mode & 0o020 != 0 && meta.gid() != 0 {
            let group = users.group_by_gid(meta.gid()).map(|g| g.name.clone());
            return Err(Unsafe {
                path: prefix,
                reason: Reason::GroupWritable { mode, gid: meta.gid(), group },
            });
        }
    }
    Ok(())
}

fn unreadable(path: &Path, err: &io::Error) -> Unsafe {
    Unsafe { path: path.to_path_buf(), reason: Reason::Unreadable(err.kind()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{chown, symlink, PermissionsExt};

    struct TempTree(PathBuf);

    impl TempTree {
        /// A root-owned 0755 directory under /tmp (sticky, so allowed).
        fn new(tag: &str) -> TempTree {
            let dir = std::env::temp_dir().join(format!("vigil-sec-{}-{tag}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("temp dir");
            chmod(&dir, 0o755);
            chown(&dir, Some(0), Some(0)).expect("chown");
            TempTree(dir)
        }
    }

    impl Drop for TempTree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn db() -> UserDb {
        UserDb::parse("root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n", "root:x:0:\nstaff:x:50:\n")
    }

    /// Root-owned trees need root; without it the test fails with the
    /// reason rather than passing by skipping.
    fn require_root() {
        // SAFETY: geteuid has no failure mode.
        let root = unsafe { libc::geteuid() == 0 };
        assert!(root, "this test builds root-owned files and needs root");
    }

    /// /tmp/vigil-sec-*/scripts/check.sh, all root-owned and safe.
    fn script_tree(tag: &str) -> (TempTree, PathBuf, PathBuf) {
        let tree = TempTree::new(tag);
        let dir = tree.0.join("scripts");
        fs::create_dir(&dir).expect("mkdir");
        chmod(&dir, 0o755);
        let file = dir.join("check.sh");
        fs::write(&file, "#!/bin/sh\nexit 0\n").expect("write");
        chmod(&file, 0o755);
        (tree, dir, file)
    }

    #[test]
    fn walker_names_the_unsafe_component() {
        require_root();
        let users = db();
        let (_tree, dir, file) = script_tree("walk");
        assert_eq!(check_path(&file, &users), Ok(()));

        chown(&dir, Some(0), Some(50)).expect("chown");
        chmod(&dir, 0o775);
        let err = check_path(&file, &users).expect_err("group-writable dir");
        assert_eq!(err.path, dir);
        assert_eq!(err.to_string(), format!("{} is group-writable (mode 0775, group staff)", dir.display()));
        assert_eq!(err.fix(), format!("chmod g-w {}", dir.display()));

        // Group-writable by root's group is allowed.
        chown(&dir, Some(0), Some(0)).expect("chown");
        assert_eq!(check_path(&file, &users), Ok(()));

        chmod(&dir, 0o755);
        chmod(&file, 0o757);
        let err = check_path(&file, &users).expect_err("world-writable file");
        assert_eq!(err.to_string(), format!("{} is world-writable (mode 0757)", file.display()));

        // World-writable directories are unsafe, unless sticky.
        chmod(&file, 0o755);
        chmod(&dir, 0o1777);
        assert_eq!(check_path(&file, &users), Ok(()));
        chmod(&dir, 0o777);
        assert_eq!(check_path(&file, &users).map_err(|e| e.path), Err(dir.clone()));
        chmod(&dir, 0o755);

        chown(&file, Some(65534), None).expect("chown");
        let err = check_path(&file, &users).expect_err("owned by nobody");
        assert_eq!(
            err.to_string(),
            format!("{} is owned by non-root user nobody (uid 65534)", file.display())
        );
        chown(&file, Some(4242), None).expect("chown");
        let err = check_path(&file, &users).expect_err("owned by uid");
        assert_eq!(err.reason, Reason::Owner { uid: 4242, user: None });
        assert_eq!(err.fix(), format!("chown root {}", file.display()));
    }

    #[test]
    fn walker_follows_symlinks() {
        require_root();
        let users = db();
        let (tree, dir, file) = script_tree("link");
        let unsafe_dir = tree.0.join("shared");
        fs::create_dir(&unsafe_dir).expect("mkdir");
        chmod(&unsafe_dir, 0o777);
        let target = unsafe_dir.join("real.sh");
        fs::write(&target, "#!/bin/sh\n").expect("write");
        chmod(&target, 0o755);
        let link = dir.join("via-link.sh");
        symlink(&target, &link).expect("symlink");
        let err = check_path(&link, &users).expect_err("target dir world-writable");
        assert_eq!(err.path, unsafe_dir);
        assert_eq!(check_path(&file, &users), Ok(()));
        let missing = dir.join("missing.sh");
        let err = check_path(&missing, &users).expect_err("missing");
        assert_eq!(err.reason, Reason::Unreadable(io::ErrorKind::NotFound));
    }
}
