//! keepalived's notify FIFOs at the level of the daemon's children: which
//! FIFOs a child writes, which reader scripts it starts, and the lines.
//!
//! keepalived's rules, which vigil follows:
//! - `notify_fifo` gets the lines of both children; each opens it.
//!   `vrrp_notify_fifo` gets only the VRRP child's, `lvs_notify_fifo` only
//!   the checker's. A specific FIFO with the global one's path is ignored
//!   (its lines would be written twice).
//! - A `*_notify_fifo_script` is started as the FIFO's reader, with the
//!   FIFO's path as its last argument and no timeout. `notify_fifo_script`
//!   is started by the checker when it runs, else by the VRRP child; when
//!   `vrrp_notify_fifo` and `lvs_notify_fifo` share a path and both have a
//!   script, the VRRP one is started.
//! - VRRP lines: `INSTANCE "VI_1" MASTER 100` (state, effective priority)
//!   and `GROUP "G1" BACKUP 0` (a group's priority is always 0). Checker
//!   lines: `VS [198.18.0.1]:tcp:80 UP` and
//!   `RS [198.18.1.2]:tcp:80 [198.18.0.1]:tcp:80 DOWN`.

use log::{debug, error, info, warn};

use super::{search_path, Command, Job, NotifyScope, Order, ScriptKind, ScriptPolicy, ScriptRunner};
use crate::config::model::{Command as ConfCommand, Fifo, GlobalDefs};
use crate::config::Config;
use crate::runtime::Json;
use crate::sys::fifo::{NotifyFifo, Owner};
use crate::sys::users::UserDb;

/// Which child writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    Vrrp,
    Checker,
}

/// Which children run (the configuration and `-P` / `-C` decide).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Children {
    pub vrrp: bool,
    pub checker: bool,
}

/// `-P` / `-C`: the children the command line restricts the daemon to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Only {
    pub vrrp: bool,
    pub checker: bool,
}

/// The children that run for `config` (the supervisor's rule: a child per
/// subsystem with configuration, restricted by `-P` / `-C`).
pub fn children(config: &Config, only: Only) -> Children {
    let (vrrp, checker) = (!config.instances.is_empty(), !config.virtual_servers.is_empty());
    if only.vrrp || only.checker {
        Children { vrrp: vrrp && only.vrrp, checker: checker && only.checker }
    } else {
        Children { vrrp, checker }
    }
}

/// A FIFO a child opens, and whether that child starts its reader script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub keyword: &'static str,
    pub fifo: Fifo,
    pub start_script: bool,
}

/// The FIFOs `writer` opens under `g`.
pub fn plan(g: &GlobalDefs, writer: Writer, children: Children) -> Vec<Planned> {
    let mut out = Vec::new();
    let global_path = g.notify_fifo.as_ref().map(|f| f.path.as_str());
    if let Some(f) = &g.notify_fifo {
        let start_script = match writer {
            Writer::Checker => true,
            Writer::Vrrp => !children.checker,
        };
        out.push(Planned { keyword: "notify_fifo", fifo: f.clone(), start_script });
    }
    let (keyword, own) = match writer {
        Writer::Vrrp => ("vrrp_notify_fifo", &g.vrrp_notify_fifo),
        Writer::Checker => ("lvs_notify_fifo", &g.lvs_notify_fifo),
    };
    if let Some(f) = own.as_ref().filter(|f| Some(f.path.as_str()) != global_path) {
        let shared_with_vrrp = g
            .vrrp_notify_fifo
            .as_ref()
            .is_some_and(|v| v.path == f.path && v.script.is_some() && Some(v.path.as_str()) != global_path);
        let start_script = writer == Writer::Vrrp || !(shared_with_vrrp && children.vrrp);
        out.push(Planned { keyword, fifo: f.clone(), start_script });
    }
    out
}

/// A reader script to start: `command... FIFO_PATH`, with no timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    /// The runner key, the FIFO's keyword.
    pub key: String,
    pub command: ConfCommand,
    pub fifo_path: String,
}

impl Reader {
    /// The runner job: `script... FIFO`, no timeout (it reads until the FIFO
    /// closes), as the user `policy` gives a notify script; `None` when the
    /// policy disables it (unknown user, refused by script security).
    pub fn job(&self, policy: &mut ScriptPolicy) -> Result<Option<Job>, String> {
        let shown = || format!("{} script {:?}", self.key, self.command.args.join(" "));
        let mut command = Command::from_words(&self.command.args).map_err(|e| format!("{}: {e}", shown()))?;
        command.resolve(&search_path()).map_err(|e| format!("{}: {e}", shown()))?;
        let own = self.command.user.as_deref().map(|u| (u, self.command.group.as_deref()));
        let Some(user) = policy.user_for(ScriptKind::Notify, &self.command.args, &command, own) else {
            return Ok(None);
        };
        Ok(Some(Job {
            key: self.key.clone(),
            command,
            args: vec![self.fifo_path.clone()],
            user,
            timeout: None,
            order: Order::Queue,
        }))
    }
}

/// The open FIFOs of one child.
#[derive(Debug, Default)]
pub struct FifoSet {
    plan: Vec<Planned>,
    open: Vec<NotifyFifo>,
}

impl FifoSet {
    /// Open what `plan` lists (a FIFO that cannot be used is logged and
    /// left out, as keepalived does) and say which readers to start.
    pub fn open(plan: Vec<Planned>, users: Option<&UserDb>) -> (FifoSet, Vec<Reader>) {
        let mut set = FifoSet::default();
        let (readers, _) = set.replan(plan, users);
        (set, readers)
    }

    /// Move to `plan` (a reload): a FIFO whose path stays is kept open, with
    /// what its pipe holds, so the other child's lines and ours keep going
    /// to one FIFO; the others are closed (and removed if we made them).
    /// Returns the readers to start and the runner keys of the readers this
    /// set had started, which the caller stops first.
    pub fn replan(&mut self, plan: Vec<Planned>, users: Option<&UserDb>) -> (Vec<Reader>, Vec<String>) {
        let old_readers = self
            .plan
            .iter()
            .filter(|p| p.start_script && p.fifo.script.is_some())
            .map(|p| p.keyword.to_string())
            .collect();
        let mut old = std::mem::take(&mut self.open);
        let mut open = Vec::new();
        let mut readers = Vec::new();
        for p in &plan {
            if let Some(pos) = old.iter().position(|f| f.path() == std::path::Path::new(&p.fifo.path)) {
                open.push(old.swap_remove(pos));
            } else if let Some(f) = open_one(p, users) {
                open.push(f);
            } else {
                continue;
            }
            if let (true, Some(cmd)) = (p.start_script, &p.fifo.script) {
                readers.push(Reader {
                    key: p.keyword.to_string(),
                    command: cmd.clone(),
                    fifo_path: p.fifo.path.clone(),
                });
            }
        }
        drop(old);
        self.plan = plan;
        self.open = open;
        (readers, old_readers)
    }

    /// Move to `plan` (at start and on reload): unchanged, nothing happens;
    /// otherwise the FIFOs are reopened, the readers of the old set stopped
    /// and the new ones started on `runner` as `policy` allows.
    pub fn apply(
        &mut self,
        plan: Vec<Planned>,
        policy: &mut ScriptPolicy,
        runner: Option<&mut ScriptRunner>,
        now: std::time::Instant,
    ) {
        if self.same_plan(&plan) {
            return;
        }
        let (readers, old_readers) = self.replan(plan, policy.users());
        let Some(runner) = runner else { return };
        for key in old_readers {
            runner.terminate(&key, now);
        }
        for r in readers {
            match r.job(policy) {
                Ok(Some(job)) => {
                    if let Err(e) = runner.spawn(job, now) {
                        warn!("{} script not started: {e}", r.key);
                    }
                }
                Ok(None) => debug!("{} script {:?} is disabled, not run", r.key, r.command.args.join(" ")),
                Err(e) => error!("{e}"),
            }
        }
    }

    /// Whether a reload to `plan` changes nothing.
    /// Where things are written in the file does not count.
    pub fn same_plan(&self, plan: &[Planned]) -> bool {
        fn key(p: &Planned) -> impl PartialEq + '_ {
            let f = &p.fifo;
            let script = f.script.as_ref().map(|c| (&c.args, &c.user, &c.group));
            (p.keyword, p.start_script, &f.path, &f.user, &f.group, script)
        }
        self.plan.len() == plan.len() && self.plan.iter().zip(plan).all(|(a, b)| key(a) == key(b))
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Write `line` to every open FIFO. A line the pipe has no room for is
    /// dropped; the first drop and every thousandth after it are logged.
    pub fn write(&mut self, line: &str) {
        for f in &mut self.open {
            if !f.write_line(line) && f.dropped() % 1000 == 1 {
                warn!(
                    "notify FIFO {}: no reader is keeping up, {} line(s) dropped so far",
                    f.path().display(),
                    f.dropped()
                );
            }
        }
    }

    /// Close every FIFO (and remove those this child created): a reader
    /// sees end of file once every writer has closed.
    pub fn close(&mut self) {
        self.open.clear();
        self.plan.clear();
    }

    pub fn status(&self) -> Json {
        Json::Arr(
            self.open
                .iter()
                .map(|f| {
                    Json::obj([
                        ("path", Json::from(f.path().display().to_string())),
                        ("written", Json::from(f.written())),
                        ("dropped", Json::from(f.dropped())),
                    ])
                })
                .collect(),
        )
    }
}

fn open_one(p: &Planned, users: Option<&UserDb>) -> Option<NotifyFifo> {
    let owner = owner(&p.fifo, users).map_err(|e| error!("{} {}: {e}", p.keyword, p.fifo.path)).ok()?;
    match NotifyFifo::open(std::path::Path::new(&p.fifo.path), owner) {
        Ok(f) => {
            info!("Opened {} {}", p.keyword, p.fifo.path);
            Some(f)
        }
        Err(e) => {
            error!("{}: {e}", p.keyword);
            None
        }
    }
}

/// `notify_fifo PATH [user [group]]`: the owner of a FIFO we create. None:
/// root, whatever `script_user` says (the reader only needs to read, which
/// mode 0644 allows).
fn owner(f: &Fifo, users: Option<&UserDb>) -> Result<Option<Owner>, String> {
    let Some(user) = f.user.as_deref() else { return Ok(None) };
    let users = users.ok_or("the user database cannot be read")?;
    let u = super::script_user(users, user, f.group.as_deref()).map_err(|e| e.to_string())?;
    Ok(Some(Owner { uid: u.uid, gid: Some(u.gid) }))
}

/// `INSTANCE "VI_1" MASTER 100` / `GROUP "G1" BACKUP 0`.
pub fn vrrp_line(scope: NotifyScope, name: &str, state: &str, priority: u8) -> String {
    format!("{} \"{name}\" {state} {priority}", scope.as_str())
}

/// `VS [198.18.0.1]:tcp:80 UP`.
pub fn vs_line(vs: &str, up: bool) -> String {
    format!("VS {vs} {}", up_down(up))
}

/// `RS [198.18.1.2]:tcp:80 [198.18.0.1]:tcp:80 DOWN`.
pub fn rs_line(rs: &str, vs: &str, up: bool) -> String {
    format!("RS {rs} {vs} {}", up_down(up))
}

fn up_down(up: bool) -> &'static str {
    if up {
        "UP"
    } else {
        "DOWN"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::Loc;
    use std::rc::Rc;

    fn cmd(s: &str) -> ConfCommand {
        ConfCommand {
            args: vec![s.to_string()],
            user: None,
            group: None,
            loc: Loc { file: Rc::from("t"), line: 1, col: 1 },
        }
    }

    fn fifo(path: &str, script: Option<&str>) -> Option<Fifo> {
        Some(Fifo { path: path.into(), user: None, group: None, script: script.map(cmd) })
    }

    fn summary(p: &[Planned]) -> Vec<(&str, &str, bool)> {
        p.iter().map(|p| (p.keyword, p.fifo.path.as_str(), p.start_script)).collect()
    }

    const BOTH: Children = Children { vrrp: true, checker: true };

    #[test]
    fn lines_are_keepaliveds() {
        assert_eq!(vrrp_line(NotifyScope::Instance, "VI_1", "MASTER", 100), "INSTANCE \"VI_1\" MASTER 100");
        assert_eq!(vrrp_line(NotifyScope::Group, "G1", "BACKUP", 0), "GROUP \"G1\" BACKUP 0");
        assert_eq!(vs_line("[198.18.0.1]:tcp:80", true), "VS [198.18.0.1]:tcp:80 UP");
        assert_eq!(
            rs_line("[198.18.1.2]:tcp:80", "[198.18.0.1]:tcp:80", false),
            "RS [198.18.1.2]:tcp:80 [198.18.0.1]:tcp:80 DOWN"
        );
    }

    #[test]
    fn who_opens_what_and_who_reads() {
        let mut g = GlobalDefs {
            notify_fifo: fifo("/run/all", Some("/bin/all")),
            vrrp_notify_fifo: fifo("/run/vrrp", Some("/bin/vrrp")),
            lvs_notify_fifo: fifo("/run/lvs", None),
            ..GlobalDefs::default()
        };
        assert_eq!(
            summary(&plan(&g, Writer::Vrrp, BOTH)),
            [("notify_fifo", "/run/all", false), ("vrrp_notify_fifo", "/run/vrrp", true)]
        );
        assert_eq!(
            summary(&plan(&g, Writer::Checker, BOTH)),
            [("notify_fifo", "/run/all", true), ("lvs_notify_fifo", "/run/lvs", true)]
        );
        // Without a checker the VRRP child reads the global FIFO.
        let vrrp_only = Children { vrrp: true, checker: false };
        assert!(plan(&g, Writer::Vrrp, vrrp_only)[0].start_script);
        // A specific FIFO on the global path is ignored.
        g.vrrp_notify_fifo = fifo("/run/all", Some("/bin/vrrp"));
        assert_eq!(summary(&plan(&g, Writer::Vrrp, BOTH)), [("notify_fifo", "/run/all", false)]);
        // vrrp and lvs on one path, both with a script: the VRRP one reads.
        g.notify_fifo = None;
        g.vrrp_notify_fifo = fifo("/run/x", Some("/bin/vrrp"));
        g.lvs_notify_fifo = fifo("/run/x", Some("/bin/lvs"));
        assert_eq!(summary(&plan(&g, Writer::Checker, BOTH)), [("lvs_notify_fifo", "/run/x", false)]);
        assert_eq!(
            summary(&plan(&g, Writer::Checker, Children { vrrp: false, checker: true })),
            [("lvs_notify_fifo", "/run/x", true)]
        );
    }
}
