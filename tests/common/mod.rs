//! Shared harness for the real-binary network tests. Needs root, `ip`, and for captures
//! `tcpdump` + `tshark` (`sh tests/deps.sh` installs them).
//!
//! ```ignore
//! mod common;
//! use common::*;
//!
//! let lan = Lan::new();                        // switch netns, bridge br0, 198.18.<i>.0/24 + 2001:db8:<i>::/64
//! let a = lan.add_host("a");                   // netns, eth0 = 198.18.<i>.1/24, 2001:db8:<i>::1/64
//! let b = lan.add_host("b");                   // .2, ::2
//! let client = lan.add_host("c");              // .3, ::3
//! let vip: IpAddr = lan.v4(100).into();        // lan.v6(0x100) for 2001:db8:<i>::100
//! let mut cap = lan.capture("vrrp or arp");    // tcpdump on br0; Capture::start(&ns, iface, filter) anywhere
//! let mut da = Daemon::start(&a, &daemon_bin(), &conf_a, &["-P"]);  // keepalived flags, see Daemon
//! let db = Daemon::start(&b, &daemon_bin(), &conf_b, &["-P"]);
//! assert!(da.wait_log("(VI_1) Entering MASTER STATE", secs(6)));
//! let probe = Prober::start(&client, vip);     // ICMP(v6) echo every 10 ms from inside `client`
//! assert!(probe.wait_answers(20, secs(2)));
//! da.kill9();                                  // SIGSTOP + SIGKILL its whole process group
//! a.link_set("eth0", false);                   // a dead node stops answering for the VIP too
//! assert!(wait_until(secs(6), ms(20), || b.has_addr(&vip)));
//! let report = probe.stop();                   // report.longest_gap(), .lost(), .sent()
//! assert!(cap.expert_problems().is_empty());   // no malformed packets, no bad checksums
//! let rows = cap.fields("vrrp", &["ip.src", "vrrp.prio"]);
//! ```
//!
//! * [`Netns`]: a namespace named `vgt<pid>-<n><role>`, deleted on drop after SIGKILLing what
//!   still runs in it. `name`, `run` (ip netns exec), `ip` (ip -n), `sysctl`, `spawn`,
//!   `command`, `addrs`, `has_addr`, `link_set`, `enter` (closure on a thread that `setns()`ed
//!   into it; [`setns`] moves the calling thread instead).
//! * [`ProcGuard`]: a child leading its own process group. `pid`, `signal`, `signal_group`,
//!   `is_running`, `wait_exit`, `stop`, `kill9`; on drop: SIGTERM to the group, 2 s, SIGKILL.
//! * [`Lan`] (`new`, `add_host`, `add_host_with_dad`, `v4`, `v6`, `switch`, `capture`) and
//!   [`Host`] (`ns`, `n`, `ip4`, `ip6`, `mac`, `link_local`, `link_local_lines`; derefs to its
//!   `Netns`).
//! * [`Daemon`]: keepalived or vigil in the foreground, config / pid files / log in a private
//!   temp dir. `log`, `wait_log`, `log_time`, `log_count`, `pid`, `pid_from_file`, `signal`,
//!   `stop`, `kill9`, `is_running`.
//! * [`Prober`] (`start`, `answered`, `wait_answers`, `report`, `stop`) and [`ProbeReport`]
//!   (`sent`, `answered`, `lost`, `lost_between`, `longest_gap`, `max_rtt`).
//! * [`AdvertSniffer`]: IPv4 VRRP adverts seen on a host's interface, timestamped as they
//!   arrive (`start`, `seen`, `adverts_after`, `wait_from`, `datagrams_after`: the bytes).
//! * [`Capture`]: `start`, `stop`, `fields`, `expert_problems`, `tshark`, `path`.
//! * [`sockets_of`]: every socket of a running process ([`SockInfo`]: domain, protocol,
//!   netlink groups, SO_RCVBUF), duplicated with pidfd_getfd; [`getsockopt_int`].
//! * [`wait_until`], [`secs`], [`ms`], [`daemon_bin`] (vigil, or `VIGIL_TEST_DAEMON`),
//!   [`keepalived_bin`], [`vigil_bin`], [`netns_exists`], [`our_namespaces`], [`pid_alive`].
//!
//! Everything is cleaned up on drop, also when a test panics (a `Daemon` dropped during a
//! panic prints its log). Namespaces, processes and temp dirs left by a test process that was
//! killed are swept ([`sweep_stale`]) when the next process creates its first namespace.
//! Setup failures panic with the failing command and its stderr.
#![allow(dead_code, unused_imports)]

mod capture;
mod daemon;
mod drive;
mod lan;
mod netns;
mod prober;
mod sniffer;
mod sockets;
pub mod vm;

pub use capture::Capture;
pub use daemon::Daemon;
pub use drive::drive;
pub use lan::{Host, Lan};
pub use netns::{netns_exists, our_namespaces, pid_alive, setns, sweep_stale, Netns, ProcGuard};
pub use prober::{ProbeReport, Prober};
pub use sniffer::{AdvertSniffer, SeenAdvert};
pub use sockets::{getsockopt_int, netlink_groups, sockets_of, SockInfo};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// Poll `cond` every `poll` until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, poll: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(poll);
    }
}

pub fn keepalived_bin() -> PathBuf {
    PathBuf::from("/usr/sbin/keepalived")
}

pub fn vigil_bin() -> PathBuf {
    // `make test` sets VIGIL_BIN to the static release build, the binary
    // users deploy. Otherwise integration tests get the path from cargo; the
    // demo and bench (examples) find it next to their own directory.
    if let Some(p) = std::env::var_os("VIGIL_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    match option_env!("CARGO_BIN_EXE_vigil") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("vigil")))
            .unwrap_or_else(|| PathBuf::from("vigil")),
    }
}

/// The daemon under test: vigil, unless `VIGIL_TEST_DAEMON` names another binary
/// (`VIGIL_TEST_DAEMON=keepalived` runs the same tests against stock keepalived).
pub fn daemon_bin() -> PathBuf {
    match std::env::var("VIGIL_TEST_DAEMON") {
        Ok(v) if v == "keepalived" => keepalived_bin(),
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        _ => vigil_bin(),
    }
}

/// A private directory under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("vigil-test-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Remove `vigil-test-<pid>-*` temp dirs of processes that no longer exist.
fn sweep_stale_temp_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("vigil-test-") else { continue };
        let Some(Ok(pid)) = rest.split('-').next().map(str::parse::<u32>) else { continue };
        if pid != std::process::id() && !pid_alive(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
