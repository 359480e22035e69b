//! Users and groups, read from /etc/passwd and /etc/group directly: a
//! static musl binary has no NSS, so getpwnam is no help. `script_user`
//! resolves through it (`script::users`), and the mailer names the user.

use std::fs;
use std::io;
use std::path::Path;

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
pub(crate) mod tests {
    use super::*;

    pub(crate) const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
keepalived_script:x:995:993::/nonexistent:/usr/sbin/nologin
broken:x:notanumber:1::/:/bin/sh
short:x:5
+nisuser::::::

bob:x:1000:1000:Bob,,,:/home/bob:/bin/bash
";
    pub(crate) const GROUP: &str = "\
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
    fn reads_this_hosts_files() {
        let db = UserDb::system().expect("/etc/passwd readable");
        assert_eq!(db.user("root").map(|u| u.uid), Some(0));
    }
}
