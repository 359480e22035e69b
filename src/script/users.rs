//! Users and groups for `script_user`, read from /etc/passwd and /etc/group
//! directly: a static musl binary has no NSS, so getpwnam is no help.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

/// keepalived's default script user, used when it exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The identity a script runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the primary group plus every group that lists
    /// the user as a member (what initgroups(3) would set).
    pub groups: Vec<u32>,
}

impl ScriptUser {
    pub fn root() -> ScriptUser {
        ScriptUser { name: "root".into(), uid: 0, gid: 0, groups: vec![0] }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    UnknownUser(String),
    UnknownGroup(String),
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserError::UnknownUser(u) => write!(f, "script user '{u}' does not exist (not in /etc/passwd)"),
            UserError::UnknownGroup(g) => write!(f, "script group '{g}' does not exist (not in /etc/group)"),
        }
    }
}

impl std::error::Error for UserError {}

/// The contents of /etc/passwd and /etc/group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserDb {
    pub users: Vec<PasswdEntry>,
    pub groups: Vec<GroupEntry>,
}

impl UserDb {
    /// Parse passwd and group text. Lines that do not fit the format
    /// (comments, NIS `+` entries, bad numbers) are skipped.
    pub fn parse(passwd: &str, group: &str) -> UserDb {
        UserDb {
            users: passwd.lines().filter_map(parse_passwd_line).collect(),
            groups: group.lines().filter_map(parse_group_line).collect(),
        }
    }

    pub fn load(passwd: &Path, group: &Path) -> io::Result<UserDb> {
        Ok(UserDb::parse(&fs::read_to_string(passwd)?, &fs::read_to_string(group)?))
    }

    /// /etc/passwd and /etc/group of this host.
    pub fn system() -> io::Result<UserDb> {
        UserDb::load(Path::new("/etc/passwd"), Path::new("/etc/group"))
    }

    pub fn user(&self, name: &str) -> Option<&PasswdEntry> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&PasswdEntry> {
        self.users.iter().find(|u| u.uid == uid)
    }

    pub fn group(&self, name: &str) -> Option<&GroupEntry> {
        self.groups.iter().find(|g| g.name == name)
    }

    pub fn group_by_gid(&self, gid: u32) -> Option<&GroupEntry> {
        self.groups.iter().find(|g| g.gid == gid)
    }

    /// `script_user USER [GROUP]`. Names come first; a number that names
    /// no entry is taken as a uid or gid that must exist.
    pub fn script_user(&self, user: &str, group: Option<&str>) -> Result<ScriptUser, UserError> {
        let entry = self
            .user(user)
            .or_else(|| user.parse().ok().and_then(|uid| self.user_by_uid(uid)))
            .ok_or_else(|| UserError::UnknownUser(user.to_string()))?;
        let gid = match group {
            None => entry.gid,
            Some(g) => self
                .group(g)
                .or_else(|| g.parse().ok().and_then(|gid| self.group_by_gid(gid)))
                .map(|g| g.gid)
                .ok_or_else(|| UserError::UnknownGroup(g.to_string()))?,
        };
        let mut groups = vec![gid];
        for g in &self.groups {
            if g.members.contains(&entry.name) && !groups.contains(&g.gid) {
                groups.push(g.gid);
            }
        }
        Ok(ScriptUser { name: entry.name.clone(), uid: entry.uid, gid, groups })
    }
}

fn parse_passwd_line(line: &str) -> Option<PasswdEntry> {
    let mut fields = line.split(':');
    let name = fields.next()?.trim();
    let _password = fields.next()?;
    let uid = fields.next()?.trim().parse().ok()?;
    let gid = fields.next()?.trim().parse().ok()?;
    if name.is_empty() || name.starts_with('#') || name.starts_with('+') || name.starts_with('-') {
        return None;
    }
    Some(PasswdEntry { name: name.to_string(), uid, gid })
}

fn parse_group_line(line: &str) -> Option<GroupEntry> {
    let mut fields = line.split(':');
    let name = fields.next()?.trim();
    let _password = fields.next()?;
    let gid = fields.next()?.trim().parse().ok()?;
    let members = fields.next().unwrap_or("");
    if name.is_empty() || name.starts_with('#') || name.starts_with('+') || name.starts_with('-') {
        return None;
    }
    let members = members.split(',').map(str::trim).filter(|m| !m.is_empty()).map(String::from).collect();
    Some(GroupEntry { name: name.to_string(), gid, members })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
keepalived_script:x:995:993::/nonexistent:/usr/sbin/nologin
broken:x:notanumber:1::/:/bin/sh
short:x:5
+nisuser::::::

bob:x:1000:1000:Bob,,,:/home/bob:/bin/bash
";
    const GROUP: &str = "\
root:x:0:
staff:x:50:bob,alice
keepalived_script:x:993:
bob:x:1000:
wheel:x:10: bob , carol
bad:x:zz:bob
";

    #[test]
    fn parses_fixture_files() {
        let db = UserDb::parse(PASSWD, GROUP);
        let names: Vec<&str> = db.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["root", "daemon", "keepalived_script", "bob"]);
        assert_eq!(db.user("bob"), Some(&PasswdEntry { name: "bob".into(), uid: 1000, gid: 1000 }));
        assert_eq!(db.group("wheel").map(|g| g.members.clone()), Some(vec!["bob".into(), "carol".into()]));
        assert_eq!(db.group_by_gid(50).map(|g| g.name.as_str()), Some("staff"));
        assert!(db.group("bad").is_none());
    }

    #[test]
    fn resolves_script_user() {
        let db = UserDb::parse(PASSWD, GROUP);
        let bob = db.script_user("bob", None).expect("bob");
        assert_eq!(bob, ScriptUser { name: "bob".into(), uid: 1000, gid: 1000, groups: vec![1000, 50, 10] });
        let bob = db.script_user("bob", Some("staff")).expect("bob:staff");
        assert_eq!((bob.gid, bob.groups), (50, vec![50, 10]));
        let by_number = db.script_user("1000", Some("10")).expect("numeric");
        assert_eq!((by_number.name.as_str(), by_number.gid), ("bob", 10));
        assert_eq!(db.script_user("eve", None), Err(UserError::UnknownUser("eve".into())));
        assert_eq!(db.script_user("bob", Some("nogroup")), Err(UserError::UnknownGroup("nogroup".into())));
        assert_eq!(db.script_user("4242", None), Err(UserError::UnknownUser("4242".into())));
    }

    #[test]
    fn reads_this_hosts_files() {
        let db = UserDb::system().expect("/etc/passwd readable");
        assert_eq!(db.user("root").map(|u| u.uid), Some(0));
    }
}
