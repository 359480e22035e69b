//! The one place that binds engines to children. The VRRP and checker
//! owners replace `needs` and the two factories here; until an engine
//! exists, its child runs [`NotAvailable`], which only says so.

use std::io;
use std::time::Instant;

use mio::Registry;

use super::event_loop::{Subsystem, TokenAlloc};
use super::json::Json;
use super::{ChildKind, ChildStart, Engines, Needs};
use crate::config::Config;

pub fn engines() -> Engines {
    Engines {
        needs: Box::new(needs),
        vrrp: Box::new(|s: &ChildStart| crate::engine::vrrp::subsystem(s.config)),
        checker: Box::new(|s: &ChildStart| Ok(Box::new(NotAvailable::new(s.kind)) as Box<dyn Subsystem>)),
    }
}

/// keepalived's rule: a child per subsystem that has configuration.
fn needs(config: &Config) -> Needs {
    Needs { vrrp: !config.instances.is_empty(), checker: !config.virtual_servers.is_empty() }
}

/// Stand-in subsystem for an engine that is not built in.
pub struct NotAvailable {
    kind: ChildKind,
}

impl NotAvailable {
    pub fn new(kind: ChildKind) -> NotAvailable {
        log::warn!("{} engine is not available in this build - running idle", kind.label());
        NotAvailable { kind }
    }
}

impl Subsystem for NotAvailable {
    fn register(&mut self, _: &Registry, _: &mut TokenAlloc) -> io::Result<()> {
        Ok(())
    }
    fn handle_event(&mut self, _: &Registry, _: &mio::event::Event, _: Instant) {}
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _: &Registry, _: Instant) {}
    fn reload(&mut self, _: &Registry, _: &mut TokenAlloc, _: &Config, _: Instant) -> Result<(), String> {
        Ok(())
    }
    fn shutdown(&mut self, _: &Registry, _: Instant) {}
    fn dump_data(&self) -> String {
        format!("{} engine not available\n", self.kind.label())
    }
    fn dump_stats(&self) -> String {
        String::new()
    }
    fn status(&self) -> Json {
        Json::obj([("engine", Json::from("not available"))])
    }
}
