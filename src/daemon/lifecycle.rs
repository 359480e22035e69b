//! keepalived's `startup_script` and `shutdown_script`, run by the parent.
//!
//! The startup script runs before the children are forked, at start only
//! (not on a reload, nor after `vigil upgrade`, where the daemon goes on);
//! the shutdown script runs once every child has stopped. As keepalived
//! does, the parent waits for the script to end whatever it does: a failure
//! is logged, a script past its timeout gets SIGTERM and, 2 s later, SIGKILL
//! (the script runner's [`KILL_GRACE`]), and then the children start (or the
//! parent exits) all the same. The script's user comes from the script
//! policy like every other script's (its own `user [group]`, else
//! `script_user`, else keepalived_script or root; `enable_script_security`
//! may refuse it), and it runs without a shell unless it needs one.
//!
//! The wait blocks the parent: before the children start and after they
//! stopped it has nothing else to do. Signals that arrive meanwhile wait in
//! the signal pipe: after the startup script the supervisor reads them (a
//! SIGTERM then starts no child at all). The script is reaped by its pidfd,
//! never by the parent's waitpid(-1), which only runs in the supervisor's
//! loop.

use std::time::{Duration, Instant};

use mio::{Events, Poll};

use crate::config::model::{Command as ConfCommand, GlobalDefs};
use crate::script::{
    self, Command, Job, Order, Outcome, Output, ScriptKind, ScriptPolicy, ScriptRunner, KILL_GRACE,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Startup,
    Shutdown,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Startup => "startup",
            Phase::Shutdown => "shutdown",
        }
    }

    /// The script and its timeout for this phase, if one is configured.
    pub fn script(self, g: &GlobalDefs) -> Option<(&ConfCommand, Duration)> {
        match self {
            Phase::Startup => g.startup_script.as_ref().map(|c| (c, g.startup_script_timeout)),
            Phase::Shutdown => g.shutdown_script.as_ref().map(|c| (c, g.shutdown_script_timeout)),
        }
    }
}

/// keepalived's line for how the script ended; `None` for success.
pub fn outcome_line(phase: Phase, outcome: &Outcome) -> Option<String> {
    let name = phase.name();
    match outcome {
        Outcome::Exited(0) => None,
        Outcome::Exited(status) => Some(format!("{name} script failed, status {status}")),
        Outcome::Signaled(sig) => Some(format!("{name} script killed by signal {sig}")),
        Outcome::TimedOut => Some(format!("{name} script timed out")),
        Outcome::SpawnFailed(e) => Some(format!("Call of {name} script failed: {e}")),
    }
}

/// Run the phase's script, if `g` has one, and wait until it has ended.
pub fn run(phase: Phase, g: &GlobalDefs, output: Output) {
    let Some((cmd, timeout)) = phase.script(g) else { return };
    let name = phase.name();
    let shown = cmd.args.join(" ");
    let mut command = match Command::from_words(&cmd.args) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{name} script {shown:?}: {e}");
            return;
        }
    };
    if let Err(e) = command.resolve(&script::search_path()) {
        log::error!("{name} script {shown:?}: {e} - not run");
        return;
    }
    let mut policy = ScriptPolicy::for_globals(g);
    let own = cmd.user.as_deref().map(|u| (u, cmd.group.as_deref()));
    let Some(user) = policy.user_for(ScriptKind::Notify, &cmd.args, &command, own) else {
        log::warn!("{name} script {shown:?} is disabled, not run");
        return;
    };
    log::info!("Running {name} script {shown}");
    let job = Job {
        key: format!("{name} script"),
        command,
        args: Vec::new(),
        user,
        timeout: Some(timeout),
        order: Order::Queue,
    };
    let started = Instant::now();
    match wait_for(job, output) {
        Ok(outcome) => {
            let ms = started.elapsed().as_millis();
            let took = format!("{}.{:03}", ms / 1000, ms % 1000);
            match outcome_line(phase, &outcome) {
                Some(line) => log::warn!("{line} (after {took} s)"),
                None => log::info!("{name} script succeeded (after {took} s)"),
            }
        }
        Err(e) => log::error!("Call of {name} script failed: {e}"),
    }
}

/// Start `job` and run a loop of its own until it has ended.
fn wait_for(job: Job, output: Output) -> std::io::Result<Outcome> {
    let mut poll = Poll::new()?;
    let mut runner = ScriptRunner::new(Some(poll.registry()), 1)?;
    runner.set_output(output);
    let mut events = Events::with_capacity(4);
    // A job is never refused with Busy on an empty runner.
    let _ = runner.spawn(job, Instant::now());
    // The runner's own deadlines bound this loop: the timeout, then
    // KILL_GRACE to the SIGKILL; this backstop only guards a lost pidfd event.
    let backstop = KILL_GRACE;
    loop {
        if let Some(done) = runner.poll_completion() {
            return Ok(done.outcome);
        }
        let wait = runner.poll_timeout().map_or(backstop, |d| d.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, Some(wait.min(backstop))) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let now = Instant::now();
        for ev in events.iter() {
            runner.handle_event(ev.token(), now);
        }
        runner.handle_timeout(now);
        runner.reap_exited();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_bytes, LoadOptions};
    use std::path::Path;

    fn globals(text: &str) -> GlobalDefs {
        let opts = LoadOptions::with_id("n");
        let loaded = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
        assert!(!loaded.has_errors(), "{:?}", loaded.diags);
        loaded.config.global
    }

    #[test]
    fn lifecycle_keywords_reach_the_phases() {
        let g = globals(
            "global_defs {\n startup_script \"/bin/echo up\" nobody\n shutdown_script /bin/true\n \
             shutdown_script_timeout 3\n}\n",
        );
        let (up, t) = Phase::Startup.script(&g).unwrap();
        assert_eq!(
            (up.args.clone(), up.user.as_deref(), t),
            (vec!["/bin/echo".into(), "up".into()], Some("nobody"), Duration::from_secs(10))
        );
        let (down, t) = Phase::Shutdown.script(&g).unwrap();
        assert_eq!((down.program(), t), ("/bin/true", Duration::from_secs(3)));
        assert!(Phase::Startup.script(&GlobalDefs::default()).is_none());
    }

    #[test]
    fn outcomes_are_logged_as_keepalived_words_them() {
        assert_eq!(outcome_line(Phase::Startup, &Outcome::Exited(0)), None);
        assert_eq!(
            outcome_line(Phase::Startup, &Outcome::Exited(3)).as_deref(),
            Some("startup script failed, status 3")
        );
        assert_eq!(
            outcome_line(Phase::Shutdown, &Outcome::TimedOut).as_deref(),
            Some("shutdown script timed out")
        );
    }

    #[test]
    fn a_script_past_its_timeout_is_terminated_and_waited_for() {
        let g = globals("global_defs {\n startup_script \"/bin/sleep 30\"\n startup_script_timeout 1\n}\n");
        let (cmd, timeout) = Phase::Startup.script(&g).unwrap();
        let mut command = Command::from_words(&cmd.args).unwrap();
        command.resolve(&script::search_path()).unwrap();
        // SAFETY: no failure mode.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let user = crate::script::ScriptUser { name: "me".into(), uid, gid, groups: vec![gid] };
        let job = Job {
            key: "t".into(),
            command,
            args: Vec::new(),
            user,
            timeout: Some(timeout),
            order: Order::Queue,
        };
        let start = Instant::now();
        let outcome = wait_for(job, Output::Null).unwrap();
        let took = start.elapsed();
        assert!(matches!(outcome, Outcome::TimedOut), "{outcome:?}");
        assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(3), "{took:?}");
    }
}
