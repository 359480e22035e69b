//! The event loop every child process runs around its [`Subsystem`].
//!
//! One mio `Poll` holds four kinds of source: the signal pipe, the socket to
//! the parent (watchdog hellos), the control socket, and whatever the
//! subsystem registers. The poll timeout is the subsystem's earliest
//! deadline; time is `std::time::Instant` (CLOCK_MONOTONIC), read once per
//! wakeup and passed down, so subsystems never read the clock themselves.
//!
//! How a subsystem plugs in:
//! - `register`: create sockets, register them with tokens from
//!   [`TokenAlloc`] (never pick numbers: the loop reserves a few).
//! - `handle_event`: called for readiness on its tokens. Drain until
//!   `WouldBlock` and tolerate spurious events (mio's rules).
//! - `poll_timeout` / `handle_timeout`: report the earliest deadline; the
//!   loop calls `handle_timeout` once `now >= deadline`.
//! - signals arrive as method calls: SIGHUP → `reload`, SIGTERM/SIGINT (or
//!   the parent vanishing) → `shutdown`, then the process exits 0;
//!   SIGUSR1/SIGUSR2/SIGRTMIN+2 write `dump_data`/`dump_stats`/`status` to
//!   the dump files. SIGCHLD is not taken: subsystems reap their own
//!   children by pid (the script runner), never with waitpid(-1).
//! - `status` answers `vigil status` through the control socket. Its
//!   clients are served without blocking, after the timers that were due.

use std::io;
use std::os::unix::io::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};

use super::control::ControlServer;
use super::process::{self, Pid};
use super::sched::AutoPriority;
use super::signals::{self, SignalPipe};
use super::timer::DeadlineTimer;
use crate::config::Config;
use crate::runtime::{Json, Subsystem, TokenAlloc};

const SIGNALS: Token = Token(0);
const PARENT: Token = Token(1);
const CONTROL: Token = Token(2);
const TIMER: Token = Token(3);
/// Control socket clients: `CONTROL_CLIENTS .. CONTROL_CLIENTS + control::MAX_CLIENTS`.
pub const CONTROL_CLIENTS: usize = 4;
/// The loop's own tokens and the control clients' must stay below what
/// [`TokenAlloc`] hands out.
const _CONTROL_FITS: () = assert!(CONTROL_CLIENTS + super::control::MAX_CLIENTS <= TokenAlloc::FIRST);
/// How long past a deadline poll waits anyway, should the timerfd not fire.
const BACKSTOP: std::time::Duration = std::time::Duration::from_millis(5);
/// How often the loop asks whether its parent is still there. The parent
/// socket's end of file and PR_SET_PDEATHSIG tell at once; this is the
/// backstop, and a getppid per loop pass cost a syscall per check.
const PARENT_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Everything a child loop needs besides its subsystem.
pub struct LoopSetup {
    /// `vrrp` or `checker`, shown in status.
    pub name: &'static str,
    /// The socketpair end to the parent, and the parent's pid.
    pub parent: Option<(OwnedFd, Pid)>,
    pub control: Option<ControlServer>,
    /// Where SIGUSR1/SIGUSR2/SIGRTMIN+2 write: data, stats, json.
    pub dump_files: [PathBuf; 3],
    /// Load the configuration to apply on SIGHUP.
    pub load_config: Box<dyn FnMut() -> Result<Config, String>>,
    /// `max_auto_priority`: raise our realtime priority when timers run late
    /// (re-read from the configuration on SIGHUP).
    pub auto_priority: Option<AutoPriority>,
}

/// Run until told to stop; returns the process exit code. Installs the
/// signal handlers, then unblocks all signals (a forked child starts with
/// them blocked so none is lost between fork and here).
pub fn run(sub: &mut dyn Subsystem, mut setup: LoopSetup) -> io::Result<i32> {
    let mut poll = Poll::new()?;
    // A child does not take SIGCHLD: the script runner reaps its own
    // children by pid, and a waitpid(-1) here would steal their status.
    let wanted: Vec<libc::c_int> = signals::handled().into_iter().filter(|&s| s != libc::SIGCHLD).collect();
    let signals = SignalPipe::install(&wanted)?;
    // SAFETY: restoring the default disposition (not SIG_IGN, which would
    // auto-reap and break waitpid) of the handler inherited from the parent.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    signals::restore_mask(&signals::empty_set());
    let registry = poll.registry().try_clone()?;
    registry.register(&mut SourceFd(&signals.fd()), SIGNALS, Interest::READABLE)?;
    if let Some((fd, _)) = &setup.parent {
        registry.register(&mut SourceFd(&fd.as_raw_fd()), PARENT, Interest::READABLE)?;
    }
    if let Some(c) = &mut setup.control {
        registry.register(c.source(), CONTROL, Interest::READABLE)?;
    }
    let mut timer = DeadlineTimer::new()?;
    registry.register(&mut SourceFd(&timer.fd()), TIMER, Interest::READABLE)?;
    let mut tokens = TokenAlloc::new();
    sub.register(&registry, &mut tokens)?;
    let started = Instant::now();
    let mut events = Events::with_capacity(64);
    let precise = sub.precise_timers();
    let mut parent_checked: Option<Instant> = None;
    loop {
        if let Some((_, ppid)) = &setup.parent {
            let now = Instant::now();
            if parent_checked.is_none_or(|t| now >= t + PARENT_CHECK) {
                if !process::parent_alive(*ppid) {
                    log::info!("Parent process gone - stopping");
                    sub.shutdown(&registry, now);
                    return Ok(0);
                }
                parent_checked = Some(now);
            }
        }
        let control_deadline = setup.control.as_ref().and_then(ControlServer::next_deadline);
        let due = sub.poll_timeout();
        let timeout = due.into_iter().chain(control_deadline).min().map(|deadline| {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() || !precise || timer.arm(deadline, now).is_err() {
                left
            } else {
                // The timerfd wakes the loop on time; the poll timeout is a backstop.
                left + BACKSTOP
            }
        });
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let now = Instant::now();
        if let (Some(auto), Some(due)) = (&setup.auto_priority, due) {
            auto.woke(setup.name, due, now);
        }
        for ev in events.iter() {
            match ev.token() {
                SIGNALS => {
                    for sig in signals.drain() {
                        if on_signal(sig, sub, &registry, &mut tokens, &mut setup, now) {
                            return Ok(0);
                        }
                    }
                }
                PARENT => match answer_parent(&setup) {
                    FromParent::Open => {}
                    FromParent::Closed => {
                        log::info!("Parent socket closed - stopping");
                        sub.shutdown(&registry, now);
                        return Ok(0);
                    }
                    FromParent::Handover => {
                        // Nothing is released: the successor resumes what runs now.
                        log::info!("Handing over to the upgraded daemon");
                        sub.before_handover();
                        if let Some(c) = &setup.control {
                            crate::sys::file::remove_own(c.path(), "control socket");
                        }
                        // SAFETY: leaving without destructors, which would
                        // release what the successor takes over.
                        unsafe { libc::_exit(super::child::EXIT_HANDOVER) };
                    }
                },
                CONTROL => {
                    if let Some(c) = &mut setup.control {
                        c.accept(&registry, now);
                    }
                }
                TIMER => timer.fired(),
                // Control clients are served after the timers, below: a status
                // request never delays an advert that is due.
                t if setup.control.as_ref().is_some_and(|c| c.owns(t)) => {}
                _ => sub.handle_event(&registry, ev, now),
            }
        }
        if sub.poll_timeout().is_some_and(|t| t <= now) {
            sub.handle_timeout(&registry, now);
        }
        if let Some(c) = &mut setup.control {
            let ready: Vec<Token> = events.iter().map(|ev| ev.token()).filter(|t| c.owns(*t)).collect();
            for t in ready {
                c.ready(&registry, t, |req| match req {
                    "status" => status(&*sub, setup.name, started).to_string(),
                    other => {
                        Json::obj([("error", Json::from(format!("unknown request '{other}'")))]).to_string()
                    }
                });
            }
            c.expire(&registry, now);
        }
    }
}

/// React to one signal; true means stop.
fn on_signal(
    sig: libc::c_int,
    sub: &mut dyn Subsystem,
    registry: &Registry,
    tokens: &mut TokenAlloc,
    setup: &mut LoopSetup,
    now: Instant,
) -> bool {
    let [data, stats, json] = &setup.dump_files;
    match sig {
        libc::SIGTERM | libc::SIGINT => {
            log::info!("Stopping");
            sub.shutdown(registry, now);
            return true;
        }
        libc::SIGHUP => {
            log::info!("Reloading ...");
            let loaded =
                (setup.load_config)().inspect(|c| setup.auto_priority = AutoPriority::from_config(&c.global));
            match loaded.and_then(|c| sub.reload(registry, tokens, &c, now)) {
                Ok(()) => log::info!("Reload complete"),
                Err(e) => log::error!("Reload failed - keeping the running configuration: {e}"),
            }
        }
        libc::SIGUSR1 => write_dump(data, &sub.dump_data()),
        libc::SIGUSR2 => write_dump(stats, &sub.dump_stats()),
        s if s == signals::sig_json() => write_dump(json, &format!("{}\n", sub.status())),
        s if s == signals::sig_stats_clear() => {
            write_dump(stats, &sub.dump_stats());
            sub.clear_stats();
        }
        _ => {}
    }
    false
}

enum FromParent {
    Open,
    Closed,
    Handover,
}

/// Answer every pending hello; `Closed` when the parent's end is closed.
fn answer_parent(setup: &LoopSetup) -> FromParent {
    let Some((fd, _)) = &setup.parent else { return FromParent::Open };
    let mut buf = [0u8; 16];
    loop {
        // SAFETY: buf is valid for its length; fd is our open socket.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        match n {
            0 => return FromParent::Closed,
            n if n < 0 => {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => FromParent::Open,
                    io::ErrorKind::Interrupted => continue,
                    _ => FromParent::Closed,
                };
            }
            n if buf[..n as usize].contains(&super::HANDOVER) => return FromParent::Handover,
            _ if buf[0] == super::HELLO => {
                let ack = [super::HELLO_ACK];
                // SAFETY: ack is valid for one byte. A full buffer means the
                // parent is not reading; it will notice the missing answer.
                unsafe { libc::send(fd.as_raw_fd(), ack.as_ptr().cast(), 1, libc::MSG_NOSIGNAL) };
            }
            _ => {}
        }
    }
}

fn status(sub: &dyn Subsystem, name: &str, started: Instant) -> Json {
    let mut pairs = vec![
        ("process".to_string(), Json::from(name)),
        ("pid".to_string(), Json::from(std::process::id())),
        ("version".to_string(), Json::from(crate::runtime::VERSION)),
        ("uptime_s".to_string(), Json::from(started.elapsed().as_secs())),
    ];
    match sub.status() {
        Json::Obj(more) => pairs.extend(more),
        other => pairs.push(("status".to_string(), other)),
    }
    Json::Obj(pairs)
}

/// Write a dump file with `sys::file::replace`: never following or blocking
/// on what a local user planted in /tmp.
fn write_dump(path: &Path, text: &str) {
    match crate::sys::file::replace(path, text.as_bytes(), 0o600) {
        Ok(()) => log::info!("Wrote {}", path.display()),
        Err(e) => log::error!("Cannot write {}: {e}", path.display()),
    }
}
