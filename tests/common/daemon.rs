//! keepalived or vigil running in a namespace, with its output captured.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigil::runtime::Json;

use super::{Netns, ProcGuard, TempDir};

/// Output lines with the time each was read, so tests can time events from the log.
type Lines = Arc<Mutex<Vec<(Instant, String)>>>;

/// A daemon started in the foreground as
/// `BIN -n -l -D -G -f DIR/keepalived.conf -p DIR/k.pid -r DIR/v.pid -c DIR/c.pid -b DIR/b.pid EXTRA...`
/// inside a namespace, with `VIGIL_RUN_DIR=DIR/run` and `VIGIL_DUMP_DIR=DIR`. DIR is private to
/// this daemon and removed on drop. stdout and stderr are read continuously by a thread into
/// memory and DIR/daemon.log. Drop terminates the whole
/// process group; when the test is panicking, the log is printed first.
pub struct Daemon {
    proc: ProcGuard,
    lines: Lines,
    netns: String,
    dir: TempDir,
}

impl Daemon {
    /// Start `bin` with `config` inside `ns`. `extra` is appended to the flags, e.g. `&["-P"]`
    /// for VRRP only.
    pub fn start(ns: &Netns, bin: &Path, config: &str, extra: &[&str]) -> Daemon {
        Daemon::start_env(ns, bin, config, extra, &[])
    }

    /// [`Daemon::start`] with extra environment variables (the bench's `LD_PRELOAD` for keepalived).
    pub fn start_env(ns: &Netns, bin: &Path, config: &str, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(ns, bin, config, extra, env, true)
    }

    /// [`Daemon::start`] without `VIGIL_RUN_DIR`: vigil picks its runtime directory under
    /// /run/vigil from its flags, as in production (the `-p DIR/k.pid` this harness passes makes
    /// it one of its own; vigil removes it when it stops).
    pub fn start_own_run_dir(ns: &Netns, bin: &Path, config: &str, extra: &[&str]) -> Daemon {
        Daemon::spawn(ns, bin, config, extra, &[], false)
    }

    fn spawn(
        ns: &Netns,
        bin: &Path,
        config: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        private_run_dir: bool,
    ) -> Daemon {
        let dir = TempDir::new("daemon");
        let conf = dir.path().join("keepalived.conf");
        std::fs::write(&conf, config).unwrap_or_else(|e| panic!("write {}: {e}", conf.display()));
        let p = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
        let (conf, pid, vrrp, chk, bfd) =
            (p("keepalived.conf"), p("k.pid"), p("v.pid"), p("c.pid"), p("b.pid"));
        let bin_s = bin.to_string_lossy();
        let mut args = vec![&*bin_s, "-n", "-l", "-D", "-G", "-f", &conf, "-p", &pid, "-r", &vrrp];
        args.extend_from_slice(&["-c", &chk, "-b", &bfd]);
        args.extend_from_slice(extra);

        let (read_end, write_end) = pipe();
        let mut cmd = ns.command(&args);
        // vigil's control sockets, config snapshot and signal dumps: private to this daemon, so
        // parallel daemons never share /run/vigil or /tmp/keepalived.* (keepalived ignores these).
        cmd.env("VIGIL_DUMP_DIR", dir.path());
        if private_run_dir {
            cmd.env("VIGIL_RUN_DIR", dir.path().join("run"));
        } else {
            cmd.env_remove("VIGIL_RUN_DIR");
        }
        cmd.envs(env.iter().copied());
        let stderr = write_end.try_clone().unwrap_or_else(|e| panic!("dup pipe: {e}"));
        cmd.stdin(Stdio::null()).stdout(Stdio::from(write_end)).stderr(Stdio::from(stderr));
        let proc = ProcGuard::spawn(&mut cmd);
        drop(cmd); // close our copies of the write end, so the reader sees EOF when the daemon is gone

        let lines: Lines = Arc::default();
        let log = File::create(dir.path().join("daemon.log")).unwrap_or_else(|e| panic!("log file: {e}"));
        let sink = lines.clone();
        std::thread::spawn(move || read_lines(File::from(read_end), log, sink));
        Daemon { proc, lines, netns: ns.name().to_string(), dir }
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// The daemon's private directory (config, pid files, daemon.log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// vigil's `VIGIL_RUN_DIR` (control sockets); `VIGIL_DUMP_DIR` is [`Daemon::dir`].
    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// `vigil status --json` against this daemon (in its namespace, with its runtime directory):
    /// the document, or the command's stderr when no daemon answered.
    pub fn status_json(&self) -> Result<Json, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .arg(super::vigil_bin())
            .args(["status", "--json"])
            .env("VIGIL_RUN_DIR", self.run_dir())
            .output()
            .unwrap_or_else(|e| panic!("vigil status: {e}"));
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(Json::parse(text.trim()).unwrap_or_else(|e| panic!("vigil status --json: {e}: {text}")))
    }

    /// [`Daemon::status_json`] that must answer.
    pub fn status(&self) -> Json {
        self.status_json().unwrap_or_else(|e| panic!("vigil status: {e}"))
    }

    /// [`Daemon::status_json`], or None while no daemon answers yet (starting, or between
    /// children); any other failure panics.
    pub fn status_if_running(&self) -> Option<Json> {
        match self.status_json() {
            Ok(st) => Some(st),
            Err(e) if e.contains("no running vigil") => None,
            Err(e) => panic!("vigil status: {e}"),
        }
    }

    /// Path of a pid file the daemon was told to write: "k.pid", "v.pid", "c.pid" or "b.pid".
    pub fn pid_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The pid written to pid file `name` ("v.pid": the VRRP child), if it is there yet.
    pub fn pid_from_file(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.pid_file(name)).ok()?.trim().parse().ok()
    }

    /// Send `sig` (e.g. `libc::SIGHUP` for a reload) to the main process.
    pub fn signal(&self, sig: i32) {
        self.proc.signal(sig);
    }

    /// Everything the daemon printed so far.
    pub fn log(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// When the first line containing `needle` was read, if any.
    pub fn log_time(&self, needle: &str) -> Option<Instant> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().find(|(_, l)| l.contains(needle)).map(|(t, _)| *t)
    }

    /// When the first line containing `needle` read after `after` was read, if any.
    pub fn log_time_after(&self, needle: &str, after: Instant) -> Option<Instant> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().find(|(t, l)| *t >= after && l.contains(needle)).map(|(t, _)| *t)
    }

    /// When each line containing `needle` was read.
    pub fn log_times(&self, needle: &str) -> Vec<Instant> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().filter(|(_, l)| l.contains(needle)).map(|(t, _)| *t).collect()
    }

    /// Number of lines containing `needle` so far.
    pub fn log_count(&self, needle: &str) -> usize {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().filter(|(_, l)| l.contains(needle)).count()
    }

    /// Wait until a line containing `needle` has been printed.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        super::wait_until(timeout, Duration::from_millis(10), || self.log_time(needle).is_some())
    }

    pub fn is_running(&self) -> bool {
        self.proc.is_running()
    }

    /// Graceful stop: SIGTERM to the main process, up to 5 s to exit (keepalived lingers ~1 s),
    /// then SIGKILL for whatever is left of its process group.
    pub fn stop(&mut self) -> ExitStatus {
        let status = self.proc.stop(Duration::from_secs(5));
        self.settle_log();
        status
    }

    /// Crash: SIGSTOP then SIGKILL every process of the daemon at once, including vigil's
    /// children, which lead process groups of their own (so that their scripts die with them).
    /// Those die while the parent is frozen: once it is gone their groups are orphaned, and the
    /// kernel's SIGHUP + SIGCONT would let them resign gracefully instead.
    pub fn kill9(&mut self) -> ExitStatus {
        let children = self.child_groups();
        for sig in [libc::SIGSTOP, libc::SIGKILL] {
            for &pgid in &children {
                // SAFETY: plain signal; each is a group led by a child of our unreaped leader.
                unsafe { libc::killpg(pgid, sig) };
            }
            self.proc.signal_group(libc::SIGSTOP);
        }
        let status = self.proc.kill9();
        self.settle_log();
        status
    }

    /// The children named in our pid files that lead their own process group under our leader.
    fn child_groups(&self) -> Vec<i32> {
        let leader = self.proc.pid();
        let ids = ["v.pid", "c.pid", "b.pid"].iter().filter_map(|f| self.pid_from_file(f));
        ids.filter(|&pid| parent_and_group(pid) == Some((leader, pid))).map(|pid| pid as i32).collect()
    }

    /// Give the reader thread a moment to collect the last lines.
    fn settle_log(&self) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.proc.terminate();
        if std::thread::panicking() {
            eprintln!("----- daemon {} in {} -----\n{}\n-----", self.proc.pid(), self.netns, self.log());
        }
    }
}

/// (parent pid, process group) of `pid`, from /proc/<pid>/stat.
fn parent_and_group(pid: u32) -> Option<(u32, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp ...": comm may contain anything, so split after the last ')'.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace().skip(1);
    Some((rest.next()?.parse().ok()?, rest.next()?.parse().ok()?))
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds on success; O_CLOEXEC keeps them out of other children.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        panic!("pipe2: {}", std::io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn read_lines(pipe: File, mut log: File, sink: Lines) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let _ = log.write_all(&buf);
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                sink.lock().unwrap_or_else(|p| p.into_inner()).push((Instant::now(), line));
            }
        }
    }
}
