//! The runner with real processes, driven by a real mio poll loop.

use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

const TOKENS: usize = 100;

struct Scratch(PathBuf);

impl Scratch {
    /// A temp directory anyone may write to (for the non-root test).
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("vigil-run-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
        Scratch(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.file(name)).unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn job(key: &str, text: &str, timeout: Option<Duration>, order: Order) -> Job {
    let mut command = Command::parse(text).expect("parses");
    command.resolve(&search_path()).expect("resolves");
    Job { key: key.into(), command, args: Vec::new(), user: ScriptUser::root(), timeout, order }
}

fn shell(text: &str) -> Job {
    job("test", text, None, Order::Queue)
}

/// A poll loop as the daemon runs it, until `count` jobs completed.
struct Loop {
    poll: Poll,
    events: Events,
    runner: ScriptRunner,
}

impl Loop {
    fn new() -> Loop {
        let poll = Poll::new().expect("poll");
        let runner = ScriptRunner::new(Some(poll.registry()), TOKENS).expect("runner");
        Loop { poll, events: Events::with_capacity(16), runner }
    }

    fn spawn(&mut self, job: Job) -> JobId {
        self.runner.spawn(job, Instant::now()).expect("accepted")
    }

    fn drive(&mut self, count: usize, limit: Duration) -> Vec<Completion> {
        let give_up = Instant::now() + limit;
        let mut done = Vec::new();
        while done.len() < count {
            while let Some(c) = self.runner.poll_completion() {
                done.push(c);
            }
            if done.len() >= count {
                break;
            }
            let now = Instant::now();
            assert!(now < give_up, "only {} of {count} jobs ended in time: {done:?}", done.len());
            let wake = self.runner.poll_timeout().map_or(give_up, |t| t.min(give_up));
            self.poll.poll(&mut self.events, Some(wake.saturating_duration_since(now))).expect("poll");
            let now = Instant::now();
            for ev in self.events.iter() {
                assert!(self.runner.handle_event(ev.token(), now), "unexpected token {:?}", ev.token());
            }
            self.runner.handle_timeout(now);
        }
        done
    }

    fn run(&mut self, job: Job) -> Outcome {
        let id = self.spawn(job);
        let mut done = self.drive(1, Duration::from_secs(10));
        let c = done.remove(0);
        assert_eq!(c.id, id);
        c.outcome
    }
}

#[test]
fn exit_codes_reach_the_loop_through_the_pidfd() {
    let mut l = Loop::new();
    for n in [0, 1, 2, 255] {
        let outcome = l.run(shell(&format!("exit {n}")));
        assert!(matches!(outcome, Outcome::Exited(c) if c == n), "exit {n}: {outcome:?}");
    }
    assert!(l.run(shell("true")).success());
    // Watched by its pidfd: no polling tick is needed.
    let id = l.spawn(shell("exit 5"));
    assert_eq!(l.runner.poll_timeout(), None);
    let done = l.drive(1, Duration::from_secs(5));
    assert!(done[0].id == id && matches!(done[0].outcome, Outcome::Exited(5)));
    assert!(matches!(l.run(shell("kill -KILL $$")), Outcome::Signaled(9)));
    assert!(!l.runner.handle_event(Token(TOKENS - 1), Instant::now()), "foreign token");
    assert_eq!(l.runner.running(), 0);
}

#[test]
fn without_pidfd_a_tick_reaps() {
    let mut l = Loop::new();
    l.runner.disable_pidfd();
    let started = Instant::now();
    l.spawn(shell("exit 3"));
    let deadline = l.runner.poll_timeout().expect("tick armed");
    assert!(deadline <= started + REAP_TICK + Duration::from_millis(50));
    let done = l.drive(1, Duration::from_secs(5));
    assert!(matches!(done[0].outcome, Outcome::Exited(3)));
    assert_eq!(l.runner.poll_timeout(), None, "no tick once nothing runs");

    let mut bare = ScriptRunner::new(None, 0).expect("runner");
    bare.spawn(shell("exit 4"), Instant::now()).expect("accepted");
    let give_up = Instant::now() + Duration::from_secs(5);
    let outcome = loop {
        if let Some(c) = bare.poll_completion() {
            break c.outcome;
        }
        assert!(Instant::now() < give_up);
        let wake = bare.poll_timeout().expect("tick");
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        bare.handle_timeout(Instant::now());
    };
    assert!(matches!(outcome, Outcome::Exited(4)));
}

#[test]
fn timeout_terminates_the_process_group() {
    let mut l = Loop::new();
    let started = Instant::now();
    let outcome = l.run(job("t", "sleep 30", Some(Duration::from_millis(200)), Order::Exclusive));
    assert!(matches!(outcome, Outcome::TimedOut), "{outcome:?}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn term_trapping_script_gets_killed_after_the_grace() {
    let s = Scratch::new("trap");
    let pidfile = s.file("pid");
    let mut l = Loop::new();
    let started = Instant::now();
    let text = format!("echo $$ > {}; trap '' TERM; sleep 30; sleep 30", pidfile.display());
    let outcome = l.run(job("t", &text, Some(Duration::from_millis(200)), Order::Exclusive));
    let took = started.elapsed();
    assert!(matches!(outcome, Outcome::TimedOut), "{outcome:?}");
    assert!(took >= KILL_GRACE && took < KILL_GRACE + Duration::from_secs(2), "{took:?}");
    // The whole group is gone, the ignoring `sleep` grandchild included.
    let pgid: i32 = s.read("pid").trim().parse().expect("pid written");
    // SIGKILL is sent; the kernel takes a moment to tear the processes down.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !live_members(pgid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(live_members(pgid), Vec::<i32>::new());
}

/// Processes of group `pgid` that are not zombies (an orphaned grandchild
/// stays a zombie until init gets round to reaping it).
fn live_members(pgid: i32) -> Vec<i32> {
    let mut live = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some(tail) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        let fields: Vec<&str> = tail.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" {
            live.push(pid);
        }
    }
    live
}

#[test]
fn notify_arguments_reach_the_script() {
    let s = Scratch::new("notify");
    let script = s.file("notify.sh");
    fs::write(&script, format!("#!/bin/sh\nprintf '%s|' \"$@\" > {}\n", s.file("direct").display()))
        .expect("write");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut l = Loop::new();

    let mut direct = shell(&format!("{} --flag", script.display()));
    assert!(!direct.command.shell);
    direct.args = notify_args(NotifyScope::Instance, "VI_1", "MASTER", 100);
    assert!(l.run(direct).success());
    assert_eq!(s.read("direct"), "--flag|INSTANCE|VI_1|MASTER|100|");

    let mut via_shell = shell(&format!("printf '%s|' > {}", s.file("shell").display()));
    assert!(via_shell.command.shell);
    via_shell.args = notify_args(NotifyScope::Group, "my group", "BACKUP", 0);
    assert!(l.run(via_shell).success());
    assert_eq!(s.read("shell"), "GROUP|my group|BACKUP|0|");
    assert_eq!(notify_key(NotifyScope::Group, "G1"), "GROUP G1");
}

#[test]
fn notifies_of_one_key_run_in_order_and_never_overlap() {
    let s = Scratch::new("order");
    let log = s.file("log");
    let mut l = Loop::new();
    let key = notify_key(NotifyScope::Instance, "VI_1");
    // The first sleeps longest: without the queue the others would overtake it.
    let mut ids = Vec::new();
    for (n, nap) in [(1, "0.4"), (2, "0.1"), (3, "0")] {
        let text = format!("echo begin {n} >> {0}; sleep {nap}; echo end {n} >> {0}", log.display());
        ids.push(l.spawn(job(&key, &text, Some(Duration::from_secs(5)), Order::Queue)));
    }
    // Another key is not held up by this queue.
    let other = l.spawn(job("INSTANCE VI_2", "exit 0", None, Order::Queue));
    assert_eq!(l.runner.running(), 2);
    assert!(l.runner.is_busy(&key));

    let done = l.drive(4, Duration::from_secs(10));
    assert_eq!(done[0].id, other, "the other key finished first");
    let order: Vec<JobId> = done[1..].iter().map(|c| c.id).collect();
    assert_eq!(order, ids);
    assert!(done.iter().all(|c| c.outcome.success()), "{done:?}");
    assert_eq!(s.read("log"), "begin 1\nend 1\nbegin 2\nend 2\nbegin 3\nend 3\n");
    assert!(!l.runner.is_busy(&key));
}

#[test]
fn exclusive_jobs_are_skipped_while_running() {
    let mut l = Loop::new();
    let first = l.spawn(job("chk_svc", "sleep 0.3", None, Order::Exclusive));
    let busy = l.runner.spawn(job("chk_svc", "exit 0", None, Order::Exclusive), Instant::now());
    assert_eq!(busy, Err(Busy { key: "chk_svc".into() }));
    assert!(busy.expect_err("busy").to_string().contains("still running"));
    let done = l.drive(1, Duration::from_secs(5));
    assert_eq!(done[0].id, first);
    assert!(l.runner.spawn(job("chk_svc", "exit 0", None, Order::Exclusive), Instant::now()).is_ok());
    l.drive(1, Duration::from_secs(5));
}

#[test]
fn spawn_failure_completes_and_the_queue_moves_on() {
    let mut l = Loop::new();
    let command = Command::parse("/nonexistent/vigil-script").expect("parses");
    let missing = Job { command, ..shell("true") };
    let blocker = l.spawn(shell("sleep 0.1"));
    let failed = l.spawn(missing);
    let after = l.spawn(shell("exit 7"));
    let done = l.drive(3, Duration::from_secs(5));
    let ids: Vec<JobId> = done.iter().map(|c| c.id).collect();
    assert_eq!(ids, [blocker, failed, after]);
    assert!(matches!(&done[1].outcome, Outcome::SpawnFailed(e) if e.kind() == std::io::ErrorKind::NotFound));
    assert!(matches!(done[2].outcome, Outcome::Exited(7)));
}

#[test]
fn child_environment_is_scrubbed_and_isolated() {
    let s = Scratch::new("env");
    std::env::set_var("LD_VIGIL_TEST", "1");
    let mut l = Loop::new();
    let text = format!(
        "env > {out}/env; read x; echo read=$? > {out}/stdin; \
         echo $$ $(cut -d' ' -f5 /proc/$$/stat) > {out}/pgrp",
        out = s.0.display()
    );
    assert!(l.run(shell(&text)).success());
    let env = s.read("env");
    assert!(env.contains("PATH="), "{env}");
    assert!(!env.contains("LD_VIGIL_TEST"), "{env}");
    assert!(!env.lines().any(|l| l.starts_with("IFS=")), "{env}");
    assert_eq!(s.read("stdin"), "read=1\n", "stdin is /dev/null");
    let pgrp = s.read("pgrp");
    let words: Vec<&str> = pgrp.split_whitespace().collect();
    assert_eq!(words.len(), 2, "{pgrp}");
    assert_eq!(words[0], words[1], "the script leads its own process group");
}

#[test]
fn runs_as_a_non_root_script_user() {
    let Ok(db) = crate::sys::users::UserDb::system() else { return };
    let Ok(nobody) = super::script_user(&db, "nobody", None) else { return };
    // SAFETY: geteuid has no failure mode.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let s = Scratch::new("user");
    let mut l = Loop::new();
    let mut j = shell(&format!("id -u > {0}/uid; id -g > {0}/gid; id -G > {0}/groups", s.0.display()));
    j.user = nobody.clone();
    assert!(l.run(j).success());
    assert_eq!(s.read("uid").trim(), nobody.uid.to_string());
    assert_eq!(s.read("gid").trim(), nobody.gid.to_string());
    let mut groups: Vec<u32> = s.read("groups").split_whitespace().filter_map(|g| g.parse().ok()).collect();
    let mut expected = nobody.groups.clone();
    groups.sort_unstable();
    expected.sort_unstable();
    assert_eq!(groups, expected, "root's supplementary groups are dropped");
}

#[test]
fn dropping_the_runner_kills_its_children() {
    let s = Scratch::new("drop");
    let mut l = Loop::new();
    l.spawn(shell(&format!("echo $$ > {}; exec sleep 30", s.file("pid").display())));
    let give_up = Instant::now() + Duration::from_secs(5);
    while s.read("pid").trim().is_empty() {
        assert!(Instant::now() < give_up);
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid: i32 = s.read("pid").trim().parse().expect("pid");
    drop(l);
    // SAFETY: signal 0 only checks for existence.
    assert_eq!(unsafe { libc::kill(pid, 0) }, -1, "reaped and gone");
}

#[test]
fn misc_check_results() {
    assert_eq!(misc_result(&Outcome::Exited(0), false), MiscResult::Up);
    assert_eq!(misc_result(&Outcome::Exited(2), false), MiscResult::Down);
    assert_eq!(misc_result(&Outcome::Exited(1), true), MiscResult::Down);
    assert_eq!(misc_result(&Outcome::Exited(2), true), MiscResult::UpWithWeight(0));
    assert_eq!(misc_result(&Outcome::Exited(255), true), MiscResult::UpWithWeight(253));
    assert_eq!(misc_result(&Outcome::TimedOut, true), MiscResult::Down);
    assert_eq!(misc_result(&Outcome::Signaled(9), true), MiscResult::Down);
}

#[test]
fn script_gets_sigterm_when_its_parent_thread_dies() {
    // PR_SET_PDEATHSIG follows the thread that forked: let a thread start a
    // script and vanish without dropping its runner.
    let pid = std::thread::spawn(|| {
        let mut runner = ScriptRunner::new(None, 0).expect("runner");
        let s = Scratch::new("pdeath");
        runner
            .spawn(shell(&format!("echo $$ > {}; exec sleep 5", s.file("pid").display())), Instant::now())
            .expect("accepted");
        let give_up = Instant::now() + Duration::from_secs(5);
        while s.read("pid").trim().is_empty() {
            assert!(Instant::now() < give_up);
            std::thread::sleep(Duration::from_millis(10));
        }
        std::mem::forget(runner);
        s.read("pid").trim().parse::<i32>().expect("pid")
    })
    .join()
    .expect("thread");
    let started = Instant::now();
    let mut status = 0;
    // SAFETY: waits for our own child only.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid);
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTERM, "status {status:#x}");
    assert!(started.elapsed() < Duration::from_secs(4));
}
