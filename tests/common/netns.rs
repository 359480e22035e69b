//! Network namespaces and process guards.

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

/// Every namespace the harness creates is called `vgt<pid>-<n><role>`, so a later process can
/// tell whether its creator is still alive.
const PREFIX: &str = "vgt";

/// A network namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Create `vgt<pid>-<n><role>` (`role` is only a readable suffix; names are always unique).
    pub fn new(role: &str) -> Netns {
        static SWEEP: Once = Once::new();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        assert!(!role.starts_with(|c: char| c.is_ascii_digit()), "role {role:?}: names would clash");
        SWEEP.call_once(sweep_stale);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{n}{role}", std::process::id());
        // Only an earlier process that had our pid can have left this name behind.
        if netns_exists(&name) {
            remove_netns(&name);
        }
        run_ok("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec <ns> args...`; never panics, the caller checks the `Output`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("spawn ip netns exec: {e}"))
    }

    /// `ip -n <ns> args...`, panicking on failure; returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run_ok("ip", &all)
    }

    /// `sysctl -qw key=value...` inside the namespace, panicking on failure.
    pub fn sysctl(&self, settings: &[&str]) {
        let mut args = vec!["sysctl", "-qw"];
        args.extend_from_slice(settings);
        check(&format!("{args:?} in {}", self.name), self.run(&args));
    }

    /// Start `args` inside the namespace in its own process group, stdio to /dev/null.
    pub fn spawn(&self, args: &[&str]) -> ProcGuard {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        ProcGuard::spawn(&mut cmd)
    }

    /// `ip netns exec <ns> args...` as a `Command` to adjust before `ProcGuard::spawn`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).args(args);
        cmd
    }

    /// Every address in the namespace, as (interface, address).
    pub fn addrs(&self) -> Vec<(String, IpAddr)> {
        // `ip -o addr`: "2: eth0    inet 198.18.0.1/24 brd ... scope global eth0\ ..."
        self.ip(&["-o", "addr", "show"])
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace().skip(1);
                let dev = words.next()?.split('@').next()?.to_string();
                let _family = words.next()?;
                let addr = words.next()?.split('/').next()?.parse().ok()?;
                Some((dev, addr))
            })
            .collect()
    }

    pub fn has_addr(&self, addr: &IpAddr) -> bool {
        self.addrs().iter().any(|(_, a)| a == addr)
    }

    pub fn link_set(&self, dev: &str, up: bool) {
        self.ip(&["link", "set", dev, if up { "up" } else { "down" }]);
    }

    /// Run `f` on a fresh thread that has joined this namespace, and return its result
    /// (a panic in `f` is re-raised here). Sockets it opens stay in the namespace.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            let handle = s.spawn(|| {
                setns(&self.name).unwrap_or_else(|e| panic!("setns {}: {e}", self.name));
                f()
            });
            handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        remove_netns(&self.name);
    }
}

/// Move the calling thread into namespace `name` (a file in /var/run/netns).
pub fn setns(name: &str) -> std::io::Result<()> {
    let file = File::open(format!("/var/run/netns/{name}"))?;
    // SAFETY: plain syscall on a valid fd; it only changes this thread's namespace.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// SIGKILL what still runs inside `name` (all of it was started by us), then delete it.
fn remove_netns(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: signalling a pid we just listed.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    let _ = Command::new("ip").args(["netns", "delete", name]).stderr(Stdio::null()).status();
}

pub fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/var/run/netns").join(name).exists()
}

fn all_namespaces() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().map(|o| o.stdout).unwrap_or_default();
    // Lines are "name" or "name (id: 3)".
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// Namespaces created by this process that still exist.
pub fn our_namespaces() -> Vec<String> {
    let mine = format!("{PREFIX}{}-", std::process::id());
    all_namespaces().into_iter().filter(|n| n.starts_with(&mine)).collect()
}

/// Is `pid` a live process (not a zombie)?
pub fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // "pid (comm) S ...": the state follows the last ')', as comm may contain anything.
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

/// Delete harness namespaces (and temp dirs) whose creating process is gone: a test process
/// killed before its drops ran. Runs once per process, before its first namespace is made.
pub fn sweep_stale() {
    for name in all_namespaces() {
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let Some((pid, _)) = rest.split_once('-') else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if pid != std::process::id() && !pid_alive(pid) {
            remove_netns(&name);
        }
    }
    super::sweep_stale_temp_dirs();
}

/// Run a command, panicking with its stderr if it fails; returns stdout.
pub(crate) fn run_ok(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
    check(&format!("{prog} {}", args.join(" ")), out)
}

fn check(what: &str, out: Output) -> String {
    if !out.status.success() {
        panic!("{what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A child process in its own process group. Dropping it terminates the whole group.
///
/// The leader is reaped only by this guard, and the group is signalled only while the leader
/// is unreaped (running or zombie), so a recycled pid is never hit.
#[derive(Debug)]
pub struct ProcGuard {
    child: Child,
    status: Option<ExitStatus>,
}

impl ProcGuard {
    /// Spawn `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> ProcGuard {
        let child = cmd.process_group(0).spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        ProcGuard { child, status: None }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `sig` to the leader only. No-op once it has been reaped.
    pub fn signal(&self, sig: i32) {
        if self.status.is_none() {
            // SAFETY: the leader is our unreaped child, so the pid is still ours.
            unsafe { libc::kill(self.child.id() as i32, sig) };
        }
    }

    /// Send `sig` to every process in the group. No-op once the leader has been reaped.
    pub fn signal_group(&self, sig: i32) {
        if self.status.is_none() {
            // SAFETY: an unreaped leader keeps its pid, and so the group id, reserved.
            unsafe { libc::killpg(self.child.id() as i32, sig) };
        }
    }

    /// Has the leader exited? Does not reap it.
    pub fn has_exited(&self) -> bool {
        if self.status.is_some() {
            return true;
        }
        // SAFETY: zeroed siginfo is a valid out-parameter for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        // SAFETY: waitid on our own child with WNOWAIT leaves it unreaped.
        let rc = unsafe { libc::waitid(libc::P_PID, self.child.id(), &mut info, flags) };
        // SAFETY: si_pid is valid to read for waitid results; it stays 0 if nothing exited.
        rc != 0 || unsafe { info.si_pid() } != 0
    }

    pub fn is_running(&self) -> bool {
        !self.has_exited()
    }

    /// Wait up to `timeout` for the leader to exit, without reaping it.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        super::wait_until(timeout, Duration::from_millis(10), || self.has_exited())
    }

    /// SIGTERM to the leader, wait up to `grace`, then SIGKILL the group; returns the exit status.
    pub fn stop(&mut self, grace: Duration) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(grace);
        self.finish()
    }

    /// Freeze, then SIGKILL every process of the group at once (a crash: no process gets to
    /// run a handler, e.g. for a parent-death signal), and reap the leader.
    pub fn kill9(&mut self) -> ExitStatus {
        self.signal_group(libc::SIGSTOP);
        self.finish()
    }

    /// SIGTERM the group, wait up to 2 s, SIGKILL the group, reap.
    pub fn terminate(&mut self) -> ExitStatus {
        if self.status.is_none() {
            self.signal_group(libc::SIGTERM);
            self.wait_exit(Duration::from_secs(2));
        }
        self.finish()
    }

    /// SIGKILL whatever is left of the group, then reap the leader.
    fn finish(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        self.signal_group(libc::SIGKILL);
        let status = self.child.wait().unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL));
        self.status = Some(status);
        status
    }
}

impl Drop for ProcGuard {
    fn drop(&mut self) {
        self.terminate();
    }
}
