//! Running notify scripts, vrrp_scripts, MISC_CHECKs and the lifecycle
//! scripts (`startup_script`, `shutdown_script`).
//!
//! Each configured script goes through: `Command::from_words` (the
//! configuration's words, quoted where a word has shell syntax, then
//! `Command::parse`'s shell-like splitting: shell needed or not) →
//! `Command::resolve(&search_path())` (PATH lookup, "not found" / "not
//! executable") → the `ScriptPolicy` of `global_defs`
//! (`ScriptPolicy::for_globals`): `check` gives keepalived's diagnostics
//! (who runs it: its own user, `script_user`, `keepalived_script` or root,
//! and whether `enable_script_security` refuses it), `user_for_command` the
//! user a job runs as, or `None` for a disabled script (unknown user, or
//! refused by script security). Every place that starts a script gets its
//! user from `ScriptPolicy`; nothing else makes a `ScriptUser` for a
//! configured script.
//!
//! At run time each daemon child owns one `ScriptRunner`, driven by its
//! mio poll loop (the parent runs a lifecycle script in a runner and loop of
//! its own, `daemon/lifecycle.rs`). The runner registers a pidfd per child with the loop's
//! registry, using tokens `token_base..` (one per concurrent child), and
//! never blocks:
//!
//! ```text
//! let mut runner = ScriptRunner::new(Some(poll.registry()), SCRIPT_TOKENS)?;
//! runner.spawn(job, Instant::now())?;         // Err(Busy) only for Order::Exclusive
//! loop {
//!     let deadline = min(own_deadlines, runner.poll_timeout());
//!     poll.poll(&mut events, deadline.map(|d| d.saturating_duration_since(Instant::now())))?;
//!     let now = Instant::now();
//!     for ev in events.iter() {
//!         if !runner.handle_event(ev.token(), now) { /* another source's token */ }
//!     }
//!     runner.handle_timeout(now);               // timeouts and no-pidfd polling
//!     while let Some(done) = runner.poll_completion() { /* done.id, done.key, done.outcome */ }
//! }
//! ```
//!
//! Call `poll_completion` after every `spawn`, `handle_event` and
//! `handle_timeout`: a job that could not start completes at once with
//! `Outcome::SpawnFailed`, and ending one queued notification starts the
//! next. Every accepted job completes exactly once. Dropping the runner
//! kills and reaps the children still running.

mod command;
pub mod fifo;
mod policy;
mod runner;
mod security;
mod spawn;
mod users;

#[cfg(test)]
mod tests;

/// A notify (or quorum) script that runs longer than this is stopped.
pub const NOTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The core-size limit vigil started with, when `-m` lifted it (the daemon
/// sets it once, before any fork): scripts run with this one, as keepalived's do.
pub static SCRIPT_CORE_LIMIT: std::sync::OnceLock<libc::rlimit> = std::sync::OnceLock::new();

pub use command::{find_program, search_path, shell_quote, Command, CommandError, DEFAULT_PATH, SHELL};
pub use policy::{own_user, ScriptKind, ScriptPolicy, UserSpec, Verdict};
pub use runner::{Busy, Completion, Job, JobId, Order, Outcome, ScriptRunner, KILL_GRACE, REAP_TICK};
pub use security::{check_path, Reason, Unsafe};
pub use spawn::Output;
pub use users::{script_user, ScriptUser, UserError, DEFAULT_SCRIPT_USER};

/// Whose state a `notify` script is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyScope {
    Instance,
    Group,
}

impl NotifyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyScope::Instance => "INSTANCE",
            NotifyScope::Group => "GROUP",
        }
    }
}

/// The arguments keepalived appends to a `notify` script:
/// `INSTANCE|GROUP name MASTER|BACKUP|FAULT|STOP|DELETED priority`.
/// The per-state scripts (`notify_master`, ...) get none.
pub fn notify_args(scope: NotifyScope, name: &str, state: &str, priority: u8) -> Vec<String> {
    vec![scope.as_str().to_string(), name.to_string(), state.to_string(), priority.to_string()]
}

/// The serial-queue key for an instance's or group's notifications, so
/// `notify_master`, `notify_backup` and `notify` of one instance share it.
pub fn notify_key(scope: NotifyScope, name: &str) -> String {
    format!("{} {name}", scope.as_str())
}

/// A MISC_CHECK result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MiscResult {
    Down,
    Up,
    /// `misc_dynamic`: up, with the real server weight set to this.
    UpWithWeight(u32),
}

/// keepalived's MISC_CHECK rule: exit 0 is up, anything else (signals,
/// timeouts) down; with `misc_dynamic`, 1 is down and 2..=255 is up with
/// weight `exit - 2`.
pub fn misc_result(outcome: &Outcome, dynamic: bool) -> MiscResult {
    match outcome {
        Outcome::Exited(0) => MiscResult::Up,
        Outcome::Exited(code) if dynamic && (2..=255).contains(code) => {
            MiscResult::UpWithWeight(*code as u32 - 2)
        }
        _ => MiscResult::Down,
    }
}
