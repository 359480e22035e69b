//! Who a script runs as: `script_user`, resolved through the host's user
//! database (`sys::users`).

use std::fmt;

use crate::sys::users::UserDb;

/// keepalived's default script user, used when it exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

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

/// `script_user USER [GROUP]`. Names come first; a number that names
/// no entry is taken as a uid or gid that must exist.
pub fn script_user(db: &UserDb, user: &str, group: Option<&str>) -> Result<ScriptUser, UserError> {
    let entry = db
        .user(user)
        .or_else(|| user.parse().ok().and_then(|uid| db.user_by_uid(uid)))
        .ok_or_else(|| UserError::UnknownUser(user.to_string()))?;
    let gid = match group {
        None => entry.gid,
        Some(g) => db
            .group(g)
            .or_else(|| g.parse().ok().and_then(|gid| db.group_by_gid(gid)))
            .map(|g| g.gid)
            .ok_or_else(|| UserError::UnknownGroup(g.to_string()))?,
    };
    let mut groups = vec![gid];
    for g in &db.groups {
        if g.members.contains(&entry.name) && !groups.contains(&g.gid) {
            groups.push(g.gid);
        }
    }
    Ok(ScriptUser { name: entry.name.clone(), uid: entry.uid, gid, groups })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::users::tests as fixture;

    #[test]
    fn resolves_script_user() {
        let db = UserDb::parse(fixture::PASSWD, fixture::GROUP);
        let bob = script_user(&db, "bob", None).expect("bob");
        assert_eq!(bob, ScriptUser { name: "bob".into(), uid: 1000, gid: 1000, groups: vec![1000, 50, 10] });
        let bob = script_user(&db, "bob", Some("staff")).expect("bob:staff");
        assert_eq!((bob.gid, bob.groups), (50, vec![50, 10]));
        let by_number = script_user(&db, "1000", Some("10")).expect("numeric");
        assert_eq!((by_number.name.as_str(), by_number.gid), ("bob", 10));
        assert_eq!(script_user(&db, "eve", None), Err(UserError::UnknownUser("eve".into())));
        assert_eq!(script_user(&db, "bob", Some("nogroup")), Err(UserError::UnknownGroup("nogroup".into())));
        assert_eq!(script_user(&db, "4242", None), Err(UserError::UnknownUser("4242".into())));
    }
}
