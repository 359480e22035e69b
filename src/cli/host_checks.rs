//! `vigil -t`: facts of this host (interfaces, users, script files and
//! keepalived's script security). Always warnings: the config may be meant
//! for another machine. The configuration front end stays free of them.

use std::path::Path;

use crate::config::model::{Command, Config};
use crate::config::{Diagnostic, Loc};
use crate::script::{self, ScriptKind, ScriptPolicy};

/// Warn about what this host lacks for `cfg`.
pub fn check(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    let mut warn = |loc: &Loc, msg: String| diags.push(Diagnostic::warning(Some(loc.clone()), msg));
    // Every instance names its interface: one look per name, not per instance.
    let mut known: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut interface_exists = |name: &str| match known.get(name) {
        Some(&there) => there,
        None => {
            let there = interface_exists(name);
            known.insert(name.to_string(), there);
            there
        }
    };
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
    // enable_script_security refuses it, as the engines apply them.
    let mut policy = ScriptPolicy::for_globals(&cfg.global);
    if let Some(loc) = cfg.global.locs.of("script_user") {
        for line in policy.global_lines() {
            warn(loc, line);
        }
    }
    type UserPair = (String, Option<String>);
    let mut scripts: Vec<(ScriptKind, &Command, Option<&UserPair>)> = Vec::new();
    for s in &cfg.vrrp_scripts {
        if let Some(c) = &s.script {
            cmds.push(c);
            scripts.push((ScriptKind::Track(&s.name), c, s.user.as_ref()));
        }
    }
    let notifies = cfg.instances.iter().map(|vi| &vi.notify).chain(cfg.sync_groups.iter().map(|g| &g.notify));
    for n in notifies {
        for c in n.commands() {
            cmds.push(c);
            scripts.push((ScriptKind::Notify, c, None));
        }
    }
    let g = &cfg.global;
    for c in g.startup_script.iter().chain(&g.shutdown_script) {
        cmds.push(c);
        scripts.push((ScriptKind::Notify, c, None));
    }
    for f in [&g.notify_fifo, &g.vrrp_notify_fifo, &g.lvs_notify_fifo].into_iter().flatten() {
        cmds.extend(&f.script);
    }
    for vs in &cfg.virtual_servers {
        for c in vs.quorum_up.iter().chain(&vs.quorum_down) {
            cmds.push(c);
            scripts.push((ScriptKind::Notify, c, None));
        }
        for rs in &vs.real_servers {
            for c in rs.notify_up.as_deref().into_iter().chain(rs.notify_down.as_deref()) {
                cmds.push(c);
                scripts.push((ScriptKind::Notify, c, None));
            }
            for ck in &rs.checkers {
                if let crate::config::model::CheckerKind::Misc(m) = &ck.kind {
                    if let Some(c) = &m.path {
                        cmds.push(c);
                        scripts.push((ScriptKind::Misc, c, m.user.as_ref()));
                    }
                }
            }
        }
    }
    for (kind, c, outer) in scripts {
        let Ok(mut command) = script::Command::from_words(&c.args) else { continue };
        if command.resolve(&script::search_path()).is_err() {
            continue; // "not found" below
        }
        for line in policy.check(kind, &c.args, &command, script::own_user(c, outer)).lines {
            warn(&c.loc, line);
        }
    }
    for c in cmds {
        // Looked up as the script runner will (its PATH, execvp's rules).
        match script::find_program(c.program(), &script::search_path()) {
            Err(script::CommandError::NotExecutable { .. }) => {
                warn(&c.loc, format!("script '{}' is not executable", c.program()))
            }
            Err(_) => warn(&c.loc, format!("script '{}' not found on this host", c.program())),
            Ok(_) => {}
        }
    }
}

fn interface_exists(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
}
