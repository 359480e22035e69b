//! `vigil -t`: facts of this host (interfaces, users, script files and
//! keepalived's script security). Always warnings: the config may be meant
//! for another machine. The configuration front end stays free of them.

use std::path::Path;

use crate::config::model::{Command, Config};
use crate::config::{Diagnostic, Loc};

/// Warn about what this host lacks for `cfg`.
pub fn check(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    let mut warn = |loc: &Loc, msg: String| diags.push(Diagnostic::warning(Some(loc.clone()), msg));
    for vi in &cfg.instances {
        if let Some(i) = &vi.interface {
            if !interface_exists(i) {
                warn(
                    vi.locs.of("interface").unwrap_or(&vi.loc),
                    format!("interface {i} does not exist on this host"),
                );
            }
        }
        for t in &vi.track_interfaces {
            if !interface_exists(&t.name) {
                warn(&t.loc, format!("tracked interface {} does not exist on this host", t.name));
            }
        }
        for v in vi.vips.iter().chain(&vi.vips_excluded) {
            if let Some(d) = v.dev.as_deref().filter(|d| !interface_exists(d)) {
                warn(&v.loc, format!("interface {d} for address {} does not exist on this host", v.addr));
            }
        }
    }
    let mut cmds: Vec<&Command> = Vec::new();
    // keepalived's rules for who runs each script and whether
    // enable_script_security refuses it (src/script/policy.rs).
    use crate::script::{ScriptKind, ScriptPolicy};
    let pair = |(u, g): &(String, Option<String>)| (u.clone(), g.clone());
    let global = cfg.global.script_user.as_ref().map(pair);
    let mut policy = ScriptPolicy::system(
        global.as_ref().map(|(u, g)| (u.as_str(), g.as_deref())),
        cfg.global.enable_script_security,
    );
    if let Some(loc) = cfg.global.locs.of("script_user") {
        for line in policy.global_lines() {
            warn(loc, line);
        }
    }
    type UserPair = (String, Option<String>);
    let mut scripts: Vec<(ScriptKind, &Command, Option<UserPair>)> = Vec::new();
    for s in &cfg.vrrp_scripts {
        if let Some(c) = &s.script {
            cmds.push(c);
            let own = s.user.as_ref().map(pair);
            scripts.push((ScriptKind::Track(&s.name), c, own));
        }
    }
    let notifies = cfg.instances.iter().map(|vi| &vi.notify).chain(cfg.sync_groups.iter().map(|g| &g.notify));
    for n in notifies {
        for c in [&n.master, &n.backup, &n.fault, &n.stop, &n.any].into_iter().flatten() {
            cmds.push(c);
            scripts.push((ScriptKind::Notify, c, None));
        }
    }
    let g = &cfg.global;
    for f in [&g.notify_fifo, &g.vrrp_notify_fifo, &g.lvs_notify_fifo].into_iter().flatten() {
        cmds.extend(&f.script);
    }
    for vs in &cfg.virtual_servers {
        for c in vs.quorum_up.iter().chain(&vs.quorum_down) {
            cmds.push(c);
            scripts.push((ScriptKind::Notify, c, None));
        }
        for rs in &vs.real_servers {
            for c in rs.notify_up.iter().chain(&rs.notify_down) {
                cmds.push(c);
                scripts.push((ScriptKind::Notify, c, None));
            }
            for ck in &rs.checkers {
                if let crate::config::model::CheckerKind::Misc(m) = &ck.kind {
                    if let Some(c) = &m.path {
                        cmds.push(c);
                        scripts.push((ScriptKind::Misc, c, m.user.as_ref().map(pair)));
                    }
                }
            }
        }
    }
    for (kind, c, outer) in scripts {
        let Ok(mut command) = crate::script::Command::from_words(&c.args) else { continue };
        if command.resolve(&crate::script::search_path()).is_err() {
            continue; // "not found" below
        }
        let own = c.user.clone().map(|u| (u, c.group.clone())).or(outer);
        let own = own.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
        for line in policy.check(kind, &c.args, &command, own).lines {
            warn(&c.loc, line);
        }
    }
    for c in cmds {
        match find_program(c.program()) {
            None => warn(&c.loc, format!("script '{}' not found on this host", c.program())),
            Some(false) => warn(&c.loc, format!("script '{}' is not executable", c.program())),
            Some(true) => {}
        }
    }
}

fn interface_exists(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
}

/// `Some(executable)` if found; bare names are searched in PATH.
fn find_program(prog: &str) -> Option<bool> {
    use std::os::unix::fs::PermissionsExt;
    let exec =
        |p: &Path| std::fs::metadata(p).ok().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if prog.contains('/') {
        return exec(Path::new(prog));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':').filter_map(|d| exec(&Path::new(d).join(prog))).find(|x| *x).or(None)
}
