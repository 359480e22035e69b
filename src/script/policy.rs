//! Who runs a script, and whether it may run at all: keepalived 2.2.7's
//! rules (lib/notify.c), applied to every script vigil starts.
//!
//! * A script's own user (`notify "cmd" USER [GROUP]`, `user` in a
//!   vrrp_script or MISC_CHECK) that does not exist disables the script.
//! * Without one, `script_user` is used; if that does not exist, every
//!   script relying on it is disabled.
//! * Without `script_user`, `keepalived_script` is used if it exists, else
//!   root; under `enable_script_security` a missing `keepalived_script`
//!   disables those scripts instead.
//! * An unreadable /etc/passwd or /etc/group disables every script that
//!   needs a lookup (keepalived would fall back to root for the default
//!   user; vigil never runs a script as root by accident).
//! * A script that runs as root (uid or gid 0, or a setuid/setgid-root
//!   file) whose path any non-root user could change is "Unsafe": disabled
//!   under `enable_script_security`, else run with a warning, and the
//!   "SECURITY VIOLATION" summary is logged once per process whenever
//!   scripts are configured without `enable_script_security`.
//!
//! Verdicts are computed once per script (stat calls only) and cached, so
//! the poll loop only looks them up.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;

use super::command::Command;
use super::security::{check_path, Reason};
use super::users::{ScriptUser, DEFAULT_SCRIPT_USER};
use crate::config::model::{Command as ConfCommand, GlobalDefs};
use crate::sys::users::UserDb;

/// The user database in `cell`, read from this host on first use (a
/// function of the field, so that a borrow of it leaves the rest free).
fn system_db(cell: &OnceCell<Result<UserDb, String>>) -> &Result<UserDb, String> {
    cell.get_or_init(|| UserDb::system().map_err(|e| e.to_string()))
}

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;

/// What kind of script is checked; only changes keepalived's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptKind<'a> {
    /// notify scripts of instances, groups, real and virtual servers, FIFO scripts.
    Notify,
    /// A `vrrp_script`, by name.
    Track(&'a str),
    /// A MISC_CHECK's `misc_path`.
    Misc,
}

/// The outcome for one script: the user to run it as (`None`: disabled) and
/// keepalived's log lines, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub user: Option<ScriptUser>,
    pub lines: Vec<String>,
}

/// `user [group]` as configured.
pub type UserSpec<'a> = Option<(&'a str, Option<&'a str>)>;

/// A script's own `user [group]`, else `fallback` (a MISC_CHECK's `user`).
pub fn own_user<'a>(cmd: &'a ConfCommand, fallback: Option<&'a (String, Option<String>)>) -> UserSpec<'a> {
    let fallback = fallback.map(|(u, g)| (u.as_str(), g.as_deref()));
    cmd.user.as_deref().map(|u| (u, cmd.group.as_deref())).or(fallback)
}

#[derive(Debug)]
pub struct ScriptPolicy {
    /// Read on first use: a configuration without scripts, script users or
    /// FIFOs never needs /etc/passwd and /etc/group (`-t` of a plain
    /// VRRP file spent 3 % of its time reading them).
    db: OnceCell<Result<UserDb, String>>,
    security: bool,
    /// `script_user`, resolved once: the user or keepalived's lines.
    global: Option<Result<ScriptUser, Vec<String>>>,
    /// The default user when `script_user` is not set, resolved on first use.
    default: Option<Result<ScriptUser, ()>>,
    /// Lines to log once, before the first script's own lines.
    pending: Vec<String>,
    /// Some script was configured and examined (keepalived's SC_ISSCRIPT).
    any_script: bool,
    /// Some root script was found unsafe (SC_INSECURE).
    any_insecure: bool,
    cache: HashMap<String, Option<ScriptUser>>,
}

impl ScriptPolicy {
    /// `db`: this host's user database (`UserDb::system()`); `script_user`
    /// and `enable_script_security` from global_defs.
    pub fn new(db: io::Result<UserDb>, script_user: UserSpec, security: bool) -> ScriptPolicy {
        ScriptPolicy::with_db(OnceCell::from(db.map_err(|e| e.to_string())), script_user, security)
    }

    fn with_db(db: OnceCell<Result<UserDb, String>>, script_user: UserSpec, security: bool) -> ScriptPolicy {
        let mut policy = ScriptPolicy {
            db,
            security,
            global: None,
            default: None,
            pending: Vec::new(),
            any_script: false,
            any_insecure: false,
            cache: HashMap::new(),
        };
        policy.global = script_user.map(|(u, g)| {
            policy.lookup(u, g).map_err(|line| vec![line, "Error setting global script uid/gid".to_string()])
        });
        policy
    }

    /// The system's user database, global_defs' `script_user` and
    /// `enable_script_security`: what both engines and `-t` judge with.
    pub fn for_globals(g: &GlobalDefs) -> ScriptPolicy {
        let script_user = g.script_user.as_ref().map(|(u, grp)| (u.as_str(), grp.as_deref()));
        ScriptPolicy::with_db(OnceCell::new(), script_user, g.enable_script_security)
    }

    /// This host's user database, read the first time it is needed.
    fn db(&self) -> &Result<UserDb, String> {
        system_db(&self.db)
    }

    pub fn security(&self) -> bool {
        self.security
    }

    /// The user database, if it could be read (notify FIFO owners).
    pub fn users(&self) -> Option<&UserDb> {
        self.db().as_ref().ok()
    }

    /// Lines about `script_user` itself (keepalived logs them while reading
    /// global_defs): empty when it is unset or exists.
    pub fn global_lines(&self) -> Vec<String> {
        match &self.global {
            Some(Err(lines)) => lines.clone(),
            _ => Vec::new(),
        }
    }

    fn lookup(&self, user: &str, group: Option<&str>) -> Result<ScriptUser, String> {
        let db = match self.db() {
            Ok(db) => db,
            Err(_) => return Err(format!("Unable to resolve script username '{user}' - ignoring")),
        };
        super::users::script_user(db, user, group).map_err(|e| match e {
            super::UserError::UnknownUser(u) => format!("Script user '{u}' does not exist"),
            super::UserError::UnknownGroup(g) => format!("Script group '{g}' does not exist"),
        })
    }

    /// The user of a script without a user of its own, or `Err` (the
    /// reasons were queued in `pending`, once).
    fn default_user(&mut self) -> Result<ScriptUser, ()> {
        if let Some(g) = &self.global {
            return g.clone().map_err(|_| ());
        }
        if let Some(d) = &self.default {
            return d.clone();
        }
        let d = match self.lookup(DEFAULT_SCRIPT_USER, None) {
            Ok(user) => Ok(user),
            Err(line) => {
                self.pending.push(line);
                if self.security {
                    self.pending.push(format!("Unable to set default user {DEFAULT_SCRIPT_USER} for script"));
                    Err(())
                } else if self.db().is_err() {
                    // keepalived would use root here; vigil does not guess.
                    Err(())
                } else {
                    Ok(ScriptUser::root())
                }
            }
        };
        self.default = Some(d.clone());
        d
    }

    /// Decide who runs `cmd` (resolved with `Command::resolve`), configured
    /// as `words` with its own `user`, and whether it may run. The verdict
    /// is cached under the configured words and user.
    pub fn check(&mut self, kind: ScriptKind, words: &[String], cmd: &Command, own: UserSpec) -> Verdict {
        let mut lines = Vec::new();
        let user = self.check_inner(kind, cmd, own, &mut lines);
        self.cache.insert(cache_key(words, own), user.clone());
        Verdict { user, lines }
    }

    /// The cached verdict of `check`, or a new one (whose lines are logged).
    pub fn user_for(
        &mut self,
        kind: ScriptKind,
        words: &[String],
        cmd: &Command,
        own: UserSpec,
    ) -> Option<ScriptUser> {
        if let Some(v) = self.cache.get(&cache_key(words, own)) {
            return v.clone();
        }
        let verdict = self.check(kind, words, cmd, own);
        for line in &verdict.lines {
            log::warn!("{line}");
        }
        verdict.user
    }

    /// The user `cmd` runs as: its own, else `fallback`, else `script_user`,
    /// else keepalived_script or root; `None`: the script is disabled
    /// (unknown user, or refused by script security).
    pub fn user_for_command(
        &mut self,
        kind: ScriptKind,
        cmd: &ConfCommand,
        fallback: Option<&(String, Option<String>)>,
        command: &Command,
    ) -> Option<ScriptUser> {
        self.user_for(kind, &cmd.args, command, own_user(cmd, fallback))
    }

    fn check_inner(
        &mut self,
        kind: ScriptKind,
        cmd: &Command,
        own: UserSpec,
        lines: &mut Vec<String>,
    ) -> Option<ScriptUser> {
        let name = match kind {
            ScriptKind::Notify => cmd.argv.first().cloned().unwrap_or_default(),
            ScriptKind::Track(_) | ScriptKind::Misc => cmd.text.clone(),
        };
        let user = match own {
            Some((u, g)) => match self.lookup(u, g) {
                Ok(user) => user,
                Err(line) => {
                    lines.push(line);
                    lines.push(match kind {
                        ScriptKind::Notify => {
                            format!("Invalid user/group for notify script {name} - ignoring")
                        }
                        ScriptKind::Track(_) => format!("Unable to set uid/gid for script '{name}'"),
                        ScriptKind::Misc => {
                            format!("Failed to set uid/gid for misc checker script {name} - removing")
                        }
                    });
                    return None;
                }
            },
            None => {
                let user = self.default_user();
                lines.append(&mut self.pending);
                match user {
                    Ok(user) => user,
                    Err(()) => {
                        lines.push(match kind {
                            ScriptKind::Notify => {
                                format!("Failed to set default user for notify script {name} - ignoring")
                            }
                            ScriptKind::Track(s) => {
                                format!("Unable to set default user for vrrp script {s} - removing")
                            }
                            ScriptKind::Misc => {
                                format!("Unable to set default user for misc script {name} - removing")
                            }
                        });
                        return None;
                    }
                }
            }
        };
        self.any_script = true;
        for file in cmd.files() {
            let Ok(m) = fs::metadata(file) else { continue };
            if !is_executable(&m, &user) {
                lines.push(format!(
                    "WARNING - script '{}' is not executable for uid:gid {}:{} - disabling.",
                    file.display(),
                    user.uid,
                    user.gid
                ));
                return None;
            }
        }
        let empty = UserDb::default();
        let db = system_db(&self.db).as_ref().unwrap_or(&empty);
        for file in cmd.files() {
            if !needs_protection(file, &user) {
                continue;
            }
            let Err(cause) = check_path(file, db) else { continue };
            let path = file.display();
            let disabled = match cause.reason {
                Reason::Unreadable(_) => {
                    lines.push(format!("check_script_secure could not find script '{path}' - disabling"));
                    true
                }
                Reason::WrongType => {
                    lines.push(format!("Wrong file type found in script path '{path}'."));
                    true
                }
                _ => {
                    self.any_insecure = true;
                    let disabling = if self.security { " - disabling" } else { "" };
                    lines.push(format!("Unsafe permissions found for script '{path}'{disabling}."));
                    lines.push(format!("  {cause} (fix: {})", cause.fix()));
                    self.security
                }
            };
            if disabled {
                let notfound = matches!(cause.reason, Reason::Unreadable(_));
                let why = if notfound { "since not found/accessible" } else { "due to insecure" };
                match kind {
                    ScriptKind::Notify => {}
                    ScriptKind::Track(s) => lines.push(format!("Disabling track script {s} {why}")),
                    ScriptKind::Misc => lines.push(format!("Disabling misc script {name} {why}")),
                }
                return None;
            }
        }
        Some(user)
    }

    /// keepalived's summary after checking all scripts of a process (VRRP:
    /// `checker` false; checkers: true): scripts configured without
    /// `enable_script_security`.
    pub fn summary(&self, checker: bool) -> Option<String> {
        if self.security || !self.any_script {
            return None;
        }
        let what = if checker { "check scripts" } else { "scripts" };
        let insecure = if self.any_insecure { " There are insecure scripts." } else { "" };
        Some(format!(
            "SECURITY VIOLATION - {what} are being executed but script_security not enabled.{insecure}"
        ))
    }
}

fn cache_key(words: &[String], own: UserSpec) -> String {
    format!("{words:?}{own:?}")
}

/// keepalived's test (lib/notify.c `is_executable`): may `user` execute the file?
fn is_executable(m: &fs::Metadata, user: &ScriptUser) -> bool {
    let mode = m.mode();
    (user.uid == 0 && mode & 0o111 != 0)
        || (user.uid == m.uid() && mode & 0o100 != 0)
        || (user.uid != m.uid()
            && ((user.gid == m.gid() && mode & 0o010 != 0) || (user.gid != m.gid() && mode & 0o001 != 0)))
}

/// keepalived protects a script run with uid 0 or gid 0, or a file that is
/// setuid or setgid root.
fn needs_protection(file: &std::path::Path, user: &ScriptUser) -> bool {
    if user.uid == 0 || user.gid == 0 {
        return true;
    }
    match fs::metadata(file) {
        Ok(m) => {
            let mode = m.mode();
            (m.uid() == 0 && mode & 0o100 != 0 && mode & S_ISUID != 0)
                || (m.gid() == 0 && mode & 0o010 != 0 && mode & S_ISGID != 0)
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{chown, PermissionsExt};
    use std::path::{Path, PathBuf};

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
keepalived_script:x:995:993::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";
    const GROUP: &str = "root:x:0:\ndaemon:x:1:\nkeepalived_script:x:993:\nnogroup:x:65534:\n";
    const NO_DEFAULT: &str = "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n";

    fn db(passwd: &str) -> io::Result<UserDb> {
        Ok(UserDb::parse(passwd, GROUP))
    }

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    fn cmd(text: &str) -> Command {
        let mut c = Command::parse(text).expect("parses");
        c.resolve(&crate::script::search_path()).expect("resolves");
        c
    }

    fn check(p: &mut ScriptPolicy, kind: ScriptKind, text: &str, own: UserSpec) -> Verdict {
        p.check(kind, &words(text), &cmd(text), own)
    }

    fn strs(v: &Verdict) -> Vec<&str> {
        v.lines.iter().map(String::as_str).collect()
    }

    #[test]
    fn an_unknown_own_user_or_group_disables_the_script() {
        let mut p = ScriptPolicy::new(db(PASSWD), None, false);
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", Some(("nobdy", None)));
        assert_eq!(v.user, None);
        assert_eq!(
            strs(&v),
            [
                "Script user 'nobdy' does not exist",
                "Invalid user/group for notify script /bin/true - ignoring"
            ]
        );
        let v = check(&mut p, ScriptKind::Track("chk"), "/bin/true x", Some(("nobody", Some("nogrp"))));
        assert_eq!(v.user, None);
        assert_eq!(
            strs(&v),
            ["Script group 'nogrp' does not exist", "Unable to set uid/gid for script '/bin/true x'"]
        );
        let v = check(&mut p, ScriptKind::Misc, "/bin/true", Some(("nobdy", None)));
        assert_eq!(v.lines[1], "Failed to set uid/gid for misc checker script /bin/true - removing");
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", Some(("nobody", Some("daemon"))));
        let user = v.user.expect("runs");
        assert_eq!((user.name.as_str(), user.uid, user.gid), ("nobody", 65534, 1));
        // Checked without enable_script_security, scripts ran: keepalived's summary.
        assert_eq!(
            p.summary(false).as_deref(),
            Some("SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
        );
    }

    #[test]
    fn an_unknown_script_user_disables_every_script_relying_on_it() {
        let mut p = ScriptPolicy::new(db(PASSWD), Some(("nobdy", None)), false);
        assert_eq!(
            p.global_lines(),
            ["Script user 'nobdy' does not exist", "Error setting global script uid/gid"]
        );
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", None);
        assert_eq!(v.user, None);
        assert_eq!(strs(&v), ["Failed to set default user for notify script /bin/true - ignoring"]);
        let v = check(&mut p, ScriptKind::Track("chk"), "/bin/true", None);
        assert_eq!(strs(&v), ["Unable to set default user for vrrp script chk - removing"]);
        let v = check(&mut p, ScriptKind::Misc, "/bin/true", None);
        assert_eq!(strs(&v), ["Unable to set default user for misc script /bin/true - removing"]);
        // A script's own user still works.
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", Some(("daemon", None)));
        assert_eq!(v.user.map(|u| u.uid), Some(1));

        let mut p = ScriptPolicy::new(db(PASSWD), Some(("nobody", None)), true);
        assert!(p.global_lines().is_empty());
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", None);
        assert_eq!(v.user.map(|u| u.uid), Some(65534));
        assert_eq!(p.summary(false), None, "no summary with enable_script_security");
    }

    #[test]
    fn the_default_user_is_keepalived_script_else_root_with_one_warning() {
        let mut p = ScriptPolicy::new(db(PASSWD), None, true);
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", None);
        assert_eq!(v.user.map(|u| (u.uid, u.gid)), Some((995, 993)));
        assert!(v.lines.is_empty());

        let mut p = ScriptPolicy::new(db(NO_DEFAULT), None, false);
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", None);
        assert_eq!(v.user, Some(ScriptUser::root()));
        assert_eq!(strs(&v), ["Script user 'keepalived_script' does not exist"]);
        let v = check(&mut p, ScriptKind::Track("chk"), "/bin/true", None);
        assert_eq!(v.user, Some(ScriptUser::root()));
        assert!(v.lines.is_empty(), "the warning is given once: {:?}", v.lines);

        // Under enable_script_security a missing keepalived_script disables them.
        let mut p = ScriptPolicy::new(db(NO_DEFAULT), None, true);
        let v = check(&mut p, ScriptKind::Track("chk"), "/bin/true", None);
        assert_eq!(v.user, None);
        assert_eq!(
            strs(&v),
            [
                "Script user 'keepalived_script' does not exist",
                "Unable to set default user keepalived_script for script",
                "Unable to set default user for vrrp script chk - removing"
            ]
        );
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", None);
        assert_eq!(strs(&v), ["Failed to set default user for notify script /bin/true - ignoring"]);
        // ... but root may be named.
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", Some(("root", None)));
        assert_eq!(v.user, Some(ScriptUser::root()));
    }

    #[test]
    fn an_unreadable_user_database_never_means_root() {
        let unreadable = || Err(io::Error::from(io::ErrorKind::PermissionDenied));
        let mut p = ScriptPolicy::new(unreadable(), None, false);
        let v = check(&mut p, ScriptKind::Notify, "/bin/true", Some(("root", None)));
        assert_eq!(v.user, None);
        assert_eq!(v.lines[0], "Unable to resolve script username 'root' - ignoring");
        let v = check(&mut p, ScriptKind::Track("chk"), "/bin/true", None);
        assert_eq!(v.user, None);
        assert_eq!(
            strs(&v),
            [
                "Unable to resolve script username 'keepalived_script' - ignoring",
                "Unable to set default user for vrrp script chk - removing"
            ]
        );
        let mut p = ScriptPolicy::new(unreadable(), Some(("nobody", None)), false);
        assert_eq!(p.global_lines()[0], "Unable to resolve script username 'nobody' - ignoring");
        assert_eq!(check(&mut p, ScriptKind::Misc, "/bin/true", None).user, None);
    }

    fn is_root() -> bool {
        // SAFETY: geteuid has no failure mode.
        unsafe { libc::geteuid() == 0 }
    }

    struct Dir(PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// A root-owned 0755 dir holding `sub` (mode `mode`) with an executable script.
    fn tree(tag: &str, mode: u32) -> (Dir, PathBuf) {
        let top = std::env::temp_dir().join(format!("vigil-policy-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&top);
        fs::create_dir_all(top.join("sub")).expect("mkdir");
        chmod(&top, 0o755);
        chown(&top, Some(0), Some(0)).expect("chown");
        chmod(&top.join("sub"), mode);
        let file = top.join("sub/n.sh");
        fs::write(&file, "#!/bin/sh\nexit 0\n").expect("write");
        chmod(&file, 0o755);
        (Dir(top), file)
    }

    #[test]
    fn script_security_refuses_root_scripts_others_could_replace() {
        assert!(is_root(), "the script-security tests need root (files owned by root and by others)");
        let (_d, file) = tree("ww", 0o777);
        let text = file.display().to_string();
        let dir = file.parent().expect("dir").display().to_string();

        let mut p = ScriptPolicy::new(db(PASSWD), None, true);
        let v = check(&mut p, ScriptKind::Track("chk"), &text, Some(("root", None)));
        assert_eq!(v.user, None);
        assert_eq!(v.lines[0], format!("Unsafe permissions found for script '{text}' - disabling."));
        assert_eq!(v.lines[1], format!("  {dir} is world-writable (mode 0777) (fix: chmod o-w {dir})"));
        assert_eq!(v.lines[2], "Disabling track script chk due to insecure");
        let v = check(&mut p, ScriptKind::Misc, &text, Some(("daemon", Some("root"))));
        assert_eq!(v.user, None, "gid 0 needs protection too");
        assert_eq!(v.lines[2], format!("Disabling misc script {text} due to insecure"));
        // keepalived_script (non-root) may run it.
        let v = check(&mut p, ScriptKind::Notify, &text, None);
        assert_eq!((v.user.map(|u| u.uid), v.lines.len()), (Some(995), 0));
        assert_eq!(p.summary(false), None);

        // Without enable_script_security: run, with keepalived's warnings.
        let mut p = ScriptPolicy::new(db(NO_DEFAULT), None, false);
        let v = check(&mut p, ScriptKind::Notify, &text, None);
        assert_eq!(v.user, Some(ScriptUser::root()));
        assert_eq!(v.lines[1], format!("Unsafe permissions found for script '{text}'."));
        assert_eq!(
            p.summary(true).as_deref(),
            Some(
                "SECURITY VIOLATION - check scripts are being executed but script_security not enabled. \
                 There are insecure scripts."
            )
        );

        // Sticky world-writable directories are fine, as long as root owns the file.
        chmod(file.parent().expect("dir"), 0o1777);
        let mut p = ScriptPolicy::new(db(PASSWD), None, true);
        let v = check(&mut p, ScriptKind::Notify, &text, Some(("root", None)));
        assert_eq!((v.user, v.lines.len()), (Some(ScriptUser::root()), 0));
        chown(&file, Some(65534), None).expect("chown");
        let v = check(&mut p, ScriptKind::Notify, &format!("{text} x"), Some(("root", None)));
        assert_eq!(v.user, None, "{:?}", v.lines);
        assert!(v.lines[1].contains("is owned by non-root user nobody"), "{:?}", v.lines);
    }

    #[test]
    fn safe_root_scripts_run_and_setuid_files_need_protection() {
        assert!(is_root(), "the script-security tests need root");
        let (_d, file) = tree("safe", 0o755);
        let text = file.display().to_string();
        let mut p = ScriptPolicy::new(db(PASSWD), None, true);
        let v = check(&mut p, ScriptKind::Notify, &text, Some(("root", None)));
        assert_eq!((v.user, v.lines.len()), (Some(ScriptUser::root()), 0));

        // A setuid-root file in a group-writable (non-root group) dir, run as nobody.
        let dir = file.parent().expect("dir");
        chown(dir, Some(0), Some(1)).expect("chown");
        chmod(dir, 0o775);
        let v = check(&mut p, ScriptKind::Notify, &text, Some(("nobody", None)));
        assert!(v.user.is_some(), "not setuid yet: {:?}", v.lines);
        chmod(&file, 0o4755);
        let v = check(&mut p, ScriptKind::Notify, &format!("{text} y"), Some(("nobody", None)));
        assert_eq!(v.user, None, "setuid root: {:?}", v.lines);

        // A script nobody may not execute is disabled.
        chmod(&file, 0o744);
        let v = check(&mut p, ScriptKind::Track("chk"), &format!("{text} z"), Some(("nobody", None)));
        assert_eq!(v.user, None);
        assert_eq!(
            strs(&v),
            [format!("WARNING - script '{text}' is not executable for uid:gid 65534:65534 - disabling.")
                .as_str()]
        );
        chmod(&file, 0o755);

        // The verdict is cached for the run-time lookups.
        assert_eq!(
            p.user_for(ScriptKind::Notify, &words(&text), &cmd(&text), Some(("root", None))),
            Some(ScriptUser::root())
        );
    }

    #[test]
    fn symlinks_are_resolved_and_must_be_roots() {
        assert!(is_root(), "the script-security tests need root");
        let (d, file) = tree("link", 0o777);
        let safe = d.0.join("safe");
        fs::create_dir(&safe).expect("mkdir");
        chmod(&safe, 0o755);
        let link = safe.join("via.sh");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        let text = link.display().to_string();
        let mut p = ScriptPolicy::new(db(PASSWD), None, true);
        let v = check(&mut p, ScriptKind::Notify, &text, Some(("root", None)));
        assert_eq!(v.user, None, "the target's directory is world-writable");
        assert!(v.lines[1].contains("/sub is world-writable"), "{:?}", v.lines);

        chmod(file.parent().expect("dir"), 0o755);
        let v = check(&mut p, ScriptKind::Notify, &format!("{text} a"), Some(("root", None)));
        assert_eq!(v.user, Some(ScriptUser::root()), "{:?}", v.lines);
        std::os::unix::fs::lchown(&link, Some(65534), None).expect("lchown");
        let v = check(&mut p, ScriptKind::Notify, &format!("{text} b"), Some(("root", None)));
        assert_eq!(v.user, None, "a symlink owned by nobody: {:?}", v.lines);
    }
}
