//! `ScriptRunner`: runs script jobs without ever blocking the poll loop,
//! enforces timeouts, serialises notifications per key, and reports each
//! job's end exactly once. See the module doc of `script` for how a poll
//! loop drives it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::command::Command;
use super::spawn::{self, Output};
use super::users::ScriptUser;

/// keepalived's grace between SIGTERM and SIGKILL after a timeout.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// How often children are polled with waitpid(WNOHANG) when no pidfd is
/// available (kernels before 5.3).
pub const REAP_TICK: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// How a job relates to other jobs with the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Notifications: wait until the previous job of this key has ended.
    Queue,
    /// vrrp_script / MISC_CHECK: refused with `Busy` while the previous
    /// run of this key is still going.
    Exclusive,
}

#[derive(Clone, Debug)]
pub struct Job {
    /// The queue or exclusivity key: "INSTANCE VI_1", "GROUP G",
    /// the vrrp_script name, a checker's identity.
    pub key: String,
    pub command: Command,
    /// Appended to the command line (the `notify` convention).
    pub args: Vec<String>,
    pub user: ScriptUser,
    /// SIGTERM to the process group after this, SIGKILL `KILL_GRACE` later.
    pub timeout: Option<Duration>,
    pub order: Order,
}

#[derive(Debug)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
    /// Ran past its timeout and was terminated.
    TimedOut,
    /// fork, credential change or exec failed.
    SpawnFailed(io::Error),
}

impl Outcome {
    /// keepalived's meaning for vrrp_script and MISC_CHECK: exit 0 only.
    pub fn success(&self) -> bool {
        matches!(self, Outcome::Exited(0))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited(code) => write!(f, "exited with status {code}"),
            Outcome::Signaled(sig) => write!(f, "killed by signal {sig}"),
            Outcome::TimedOut => f.write_str("timed out"),
            Outcome::SpawnFailed(e) => write!(f, "could not be started: {e}"),
        }
    }
}

#[derive(Debug)]
pub struct Completion {
    pub id: JobId,
    pub key: String,
    pub outcome: Outcome,
}

/// An `Order::Exclusive` job whose previous run has not ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    pub key: String,
}

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "script '{}' is still running from its previous start; this run is skipped", self.key)
    }
}

impl std::error::Error for Busy {}

#[derive(Debug)]
enum Phase {
    Running { deadline: Option<Instant> },
    Terminating { kill_at: Instant },
    Killed,
}

#[derive(Debug)]
struct Running {
    id: JobId,
    key: String,
    child: Child,
    /// Readable once the child has exited; registered as `token`.
    pidfd: Option<(OwnedFd, Token)>,
    phase: Phase,
}

impl Running {
    fn timed_out(&self) -> bool {
        !matches!(self.phase, Phase::Running { .. })
    }
}

pub struct ScriptRunner {
    registry: Option<Registry>,
    token_base: usize,
    /// Which tokens `token_base + i` are in use; bounded by the number of
    /// concurrent children, so tokens stay small on 32-bit targets.
    slots: Vec<bool>,
    use_pidfd: bool,
    output: Output,
    next_id: u64,
    running: Vec<Running>,
    queued: HashMap<String, VecDeque<(JobId, Job)>>,
    completions: VecDeque<Completion>,
    next_tick: Option<Instant>,
}

impl ScriptRunner {
    /// A runner whose children's pidfds are registered with `registry` as
    /// tokens `token_base`, `token_base + 1`, ... (as many as children run
    /// at once). With `None`, children are polled every `REAP_TICK`.
    pub fn new(registry: Option<&Registry>, token_base: usize) -> io::Result<ScriptRunner> {
        let registry = registry.map(Registry::try_clone).transpose()?;
        Ok(ScriptRunner {
            use_pidfd: registry.is_some(),
            registry,
            token_base,
            slots: Vec::new(),
            output: Output::Null,
            next_id: 1,
            running: Vec::new(),
            queued: HashMap::new(),
            completions: VecDeque::new(),
            next_tick: None,
        })
    }

    /// Send scripts' stdout/stderr to the daemon's stderr (debug) or nowhere.
    pub fn set_output(&mut self, output: Output) {
        self.output = output;
    }

    /// Start `job` now, or queue it behind its key (`Order::Queue`). A
    /// failure to start is reported as a `Completion` like any other end.
    pub fn spawn(&mut self, job: Job, now: Instant) -> Result<JobId, Busy> {
        let busy = self.running.iter().any(|r| r.key == job.key)
            || self.queued.get(&job.key).is_some_and(|q| !q.is_empty());
        if busy && job.order == Order::Exclusive {
            return Err(Busy { key: job.key });
        }
        let id = JobId(self.next_id);
        self.next_id += 1;
        if busy {
            self.queued.entry(job.key.clone()).or_default().push_back((id, job));
        } else {
            self.start(id, job, now);
        }
        Ok(id)
    }

    /// Stop the running jobs of `key` (SIGTERM to their process groups,
    /// SIGKILL `KILL_GRACE` later), as their timeout would.
    pub fn terminate(&mut self, key: &str, now: Instant) {
        for r in self.running.iter_mut().filter(|r| r.key == key) {
            if let Phase::Running { .. } = r.phase {
                // SAFETY: kill has no memory effects; the leader is not yet
                // reaped, so the group id cannot have been reused.
                unsafe { libc::kill(-(r.child.id() as libc::pid_t), libc::SIGTERM) };
                r.phase = Phase::Terminating { kill_at: now + KILL_GRACE };
            }
        }
    }

    /// True while a job with this key runs or waits.
    pub fn is_busy(&self, key: &str) -> bool {
        self.running.iter().any(|r| r.key == key) || self.queued.get(key).is_some_and(|q| !q.is_empty())
    }

    /// The number of children alive now.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// The earliest moment `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadlines = self.running.iter().filter_map(|r| match r.phase {
            Phase::Running { deadline } => deadline,
            Phase::Terminating { kill_at } => Some(kill_at),
            Phase::Killed => None,
        });
        deadlines.chain(self.next_tick).min()
    }

    /// Fire due timeouts (SIGTERM, then SIGKILL after `KILL_GRACE`) and poll
    /// children that have no pidfd. Harmless to call at any time.
    pub fn handle_timeout(&mut self, now: Instant) {
        for r in &mut self.running {
            let pgid = -(r.child.id() as libc::pid_t);
            match r.phase {
                Phase::Running { deadline: Some(d) } if d <= now => {
                    // SAFETY: kill has no memory effects; the leader is not yet
                    // reaped, so the group id cannot have been reused.
                    unsafe { libc::kill(pgid, libc::SIGTERM) };
                    r.phase = Phase::Terminating { kill_at: now + KILL_GRACE };
                }
                Phase::Terminating { kill_at } if kill_at <= now => {
                    // SAFETY: as above.
                    unsafe { libc::kill(pgid, libc::SIGKILL) };
                    r.phase = Phase::Killed;
                }
                _ => {}
            }
        }
        if self.next_tick.is_some_and(|t| t <= now) {
            self.next_tick = None;
            let unwatched: Vec<JobId> =
                self.running.iter().filter(|r| r.pidfd.is_none()).map(|r| r.id).collect();
            for id in unwatched {
                self.try_reap(id, now);
            }
            if self.running.iter().any(|r| r.pidfd.is_none()) {
                self.next_tick = Some(now + REAP_TICK);
            }
        }
    }

    /// Feed a readiness event. Returns false when `token` is not one of
    /// the runner's (then the loop should route it elsewhere).
    pub fn handle_event(&mut self, token: Token, now: Instant) -> bool {
        let Some(slot) = token.0.checked_sub(self.token_base) else { return false };
        if slot >= self.slots.len() {
            return false;
        }
        let id =
            self.running.iter().find(|r| r.pidfd.as_ref().is_some_and(|(_, t)| *t == token)).map(|r| r.id);
        if let Some(id) = id {
            self.try_reap(id, now);
        }
        true
    }

    /// Reap every child that has already exited, without waiting for its
    /// pidfd event: for a caller that is about to leave the event loop.
    pub fn reap_exited(&mut self) {
        let now = Instant::now();
        let ids: Vec<JobId> = self.running.iter().map(|r| r.id).collect();
        for id in ids {
            self.try_reap(id, now);
        }
    }

    /// The next finished job, in the order they ended.
    pub fn poll_completion(&mut self) -> Option<Completion> {
        self.completions.pop_front()
    }

    fn start(&mut self, id: JobId, job: Job, now: Instant) {
        let child = match spawn::spawn(&job.command, &job.args, &job.user, self.output) {
            Ok(child) => child,
            Err(e) => {
                self.completions.push_back(Completion {
                    id,
                    key: job.key.clone(),
                    outcome: Outcome::SpawnFailed(e),
                });
                self.start_next(&job.key, now);
                return;
            }
        };
        let pidfd = self.watch(&child);
        if pidfd.is_none() && self.next_tick.is_none() {
            self.next_tick = Some(now + REAP_TICK);
        }
        let deadline = job.timeout.map(|t| now + t);
        self.running.push(Running { id, key: job.key, child, pidfd, phase: Phase::Running { deadline } });
    }

    /// Open and register a pidfd for `child`; None means "poll on ticks".
    fn watch(&mut self, child: &Child) -> Option<(OwnedFd, Token)> {
        if !self.use_pidfd {
            return None;
        }
        let registry = self.registry.as_ref()?;
        let fd = match pidfd_open(child.id()) {
            Ok(fd) => fd,
            Err(e) => {
                if e.raw_os_error() == Some(libc::ENOSYS) {
                    self.use_pidfd = false;
                }
                return None;
            }
        };
        let slot = match self.slots.iter().position(|used| !used) {
            Some(i) => i,
            None => {
                self.slots.push(false);
                self.slots.len() - 1
            }
        };
        let token = Token(self.token_base + slot);
        registry.register(&mut SourceFd(&fd.as_raw_fd()), token, Interest::READABLE).ok()?;
        self.slots[slot] = true;
        Some((fd, token))
    }

    /// waitpid(pid, WNOHANG) on this job's child only: other parts of the
    /// daemon may have children of their own.
    fn try_reap(&mut self, id: JobId, now: Instant) {
        let Some(pos) = self.running.iter().position(|r| r.id == id) else { return };
        let status = match self.running[pos].child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return,
            // ECHILD: someone reaped it behind our back; report what we know.
            Err(_) => std::process::ExitStatus::from_raw(0xff00),
        };
        let r = self.running.swap_remove(pos);
        if let Some((fd, token)) = &r.pidfd {
            if let Some(registry) = &self.registry {
                crate::runtime::deregister(registry, &mut SourceFd(&fd.as_raw_fd()));
            }
            if let Some(used) = self.slots.get_mut(token.0 - self.token_base) {
                *used = false;
            }
        }
        let outcome = if r.timed_out() {
            Outcome::TimedOut
        } else if let Some(code) = status.code() {
            Outcome::Exited(code)
        } else {
            Outcome::Signaled(status.signal().unwrap_or(0))
        };
        self.completions.push_back(Completion { id: r.id, key: r.key.clone(), outcome });
        self.start_next(&r.key, now);
    }

    fn start_next(&mut self, key: &str, now: Instant) {
        let next = self.queued.get_mut(key).and_then(VecDeque::pop_front);
        if self.queued.get(key).is_some_and(VecDeque::is_empty) {
            self.queued.remove(key);
        }
        if let Some((id, job)) = next {
            self.start(id, job, now);
        }
    }

    #[cfg(test)]
    pub(crate) fn disable_pidfd(&mut self) {
        self.use_pidfd = false;
    }
}

impl Drop for ScriptRunner {
    /// Leave no children behind: kill each group and reap its leader.
    fn drop(&mut self) {
        for r in &mut self.running {
            // SAFETY: the leader is unreaped, so the group id is still ours.
            unsafe { libc::kill(-(r.child.id() as libc::pid_t), libc::SIGKILL) };
            // Reaps it; an error (ECHILD) means it was reaped already.
            let _ = r.child.wait();
        }
    }
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just handed us this descriptor (CLOEXEC by design).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}
