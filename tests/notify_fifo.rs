//! keepalived's notify FIFOs: `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` and their
//! `_script` readers. The same scenario runs against Debian's keepalived 2.2.7 and vigil, and
//! both must write the same lines in the same order; a FIFO nobody reads must never hold up
//! the daemon. Needs root, `ip` and /usr/sbin/keepalived.

mod common;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use common::*;
use vigil::runtime::Json;

/// Lines read from a FIFO by a thread of the test, as the daemon wrote them.
struct FifoReader {
    lines: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl FifoReader {
    /// Wait for the daemon to create `path`, then read it until every writer has closed it.
    fn attach(path: &Path) -> FifoReader {
        let is_fifo = || std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo());
        assert!(wait_until(secs(10), ms(10), is_fifo), "{} never became a FIFO", path.display());
        // Non-blocking open (no wait for a writer), then blocking reads until end of file.
        let f = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).unwrap();
        set_blocking(&f);
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = lines.clone();
        let thread = std::thread::spawn(move || {
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { return };
                sink.lock().unwrap().push(line);
            }
        });
        FifoReader { lines, thread: Some(thread) }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn wait_for(&self, line: &str, n: usize) -> bool {
        wait_until(secs(10), ms(5), || self.lines().iter().filter(|l| *l == line).count() >= n)
    }

    /// Wait for end of file: every writer closed the FIFO.
    fn finish(mut self) -> Vec<String> {
        let t = self.thread.take().unwrap();
        assert!(wait_until(secs(10), ms(10), || t.is_finished()), "the FIFO was never closed");
        t.join().unwrap();
        self.lines()
    }
}

fn set_blocking(f: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
    }
}

/// A reader script in `dir` that appends what it reads from the FIFO (its last argument) to `out`.
fn reader_script(dir: &Path, out: &Path) -> PathBuf {
    let script = dir.join("reader.sh");
    let body = format!(
        "#!/bin/sh\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> {}; done < \"$1\"\n",
        out.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn instance(name: &str, vrid: u8, prio: u8, vip: IpAddr) -> String {
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority {prio}\n    advert_int 0.1\n    virtual_ipaddress {{\n        {vip}/24 dev eth0\n    }}\n}}\n"
    )
}

/// Two instances in sync group G1, VRRPv3 at 0.1 s; `globals` goes into global_defs.
fn vrrp_config(router: &str, prio: u8, vrid: u8, vips: [IpAddr; 2], globals: &str) -> String {
    format!(
        "global_defs {{\n    router_id {router}\n    vrrp_version 3\n{globals}}}\n\n\
         vrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n\n{}{}",
        instance("VI_1", vrid, prio, vips[0]),
        instance("VI_2", vrid + 1, prio, vips[1]),
    )
}

/// What one implementation wrote as b through: b alone (BACKUP, then MASTER), a (priority 150)
/// arrives (b BACKUP), a stops (b MASTER), b stops. (test reader's lines, script's lines)
fn vrrp_failover_lines(b_bin: &Path, vrid: u8) -> (Vec<String>, Vec<String>) {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vips = [lan.v4(100).into(), lan.v4(101).into()];
    let dir = TempDir::new("fifo");
    let (all, vrrp, out) =
        (dir.path().join("all.fifo"), dir.path().join("vrrp.fifo"), dir.path().join("out"));
    let script = reader_script(dir.path(), &out);
    let globals = format!(
        "    notify_fifo {}\n    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script {}\n",
        all.display(),
        vrrp.display(),
        script.display()
    );
    let tag = b_bin.display().to_string();

    let mut db = Daemon::start(&b, b_bin, &vrrp_config("b", 100, vrid, vips, &globals), &["-P"]);
    let reader = FifoReader::attach(&all);
    assert!(reader.wait_for("GROUP \"G1\" MASTER 0", 1), "{tag}: b never MASTER: {:?}", reader.lines());

    let mut da = Daemon::start(&a, &vigil_bin(), &vrrp_config("a", 150, vrid, vips, ""), &["-P"]);
    assert!(
        reader.wait_for("GROUP \"G1\" BACKUP 0", 2),
        "{tag}: b never back to BACKUP: {:?}",
        reader.lines()
    );

    da.signal(libc::SIGTERM);
    assert!(reader.wait_for("GROUP \"G1\" MASTER 0", 2), "{tag}: b never MASTER again: {:?}", reader.lines());
    da.stop();

    db.signal(libc::SIGTERM);
    let lines = reader.finish();
    db.stop();
    assert!(!all.exists() && !vrrp.exists(), "{tag}: the FIFOs it created were left behind");
    let script_lines = std::fs::read_to_string(&out).unwrap_or_default().lines().map(String::from).collect();
    (lines, script_lines)
}

/// keepalived and vigil write the same lines, in the same order, to the FIFO a test thread
/// reads and to the one their `vrrp_notify_fifo_script` reads.
#[test]
fn vrrp_lines_through_a_failover_are_keepaliveds() {
    let keepalived = keepalived_bin();
    assert!(keepalived.exists(), "{} missing: run `sh tests/deps.sh`", keepalived.display());
    let (k_lines, k_script) = vrrp_failover_lines(&keepalived, 21);
    let (v_lines, v_script) = vrrp_failover_lines(&vigil_bin(), 23);
    eprintln!("keepalived:\n  {}\nvigil:\n  {}", k_lines.join("\n  "), v_lines.join("\n  "));
    assert_eq!(v_lines, k_lines, "vigil's FIFO lines differ from keepalived's");
    assert_eq!(v_lines.len(), 15, "{v_lines:?}");
    assert_eq!(v_lines.last().map(String::as_str), Some("GROUP \"G1\" STOP 0"));
    assert_eq!(v_script, v_lines, "the reader script saw other lines than the FIFO carried");
    // keepalived stops its reader before it has read the STOP lines; vigil's reads them all.
    assert!(
        k_lines.starts_with(&k_script) && k_script.len() >= 12,
        "keepalived's reader script: {k_script:?}"
    );
}

fn vrrp_number(st: &Json, key: &str) -> i64 {
    let insts = st.get("vrrp").and_then(|v| v.get("instances"));
    let Some(Json::Arr(insts)) = insts else { return -1 };
    insts.first().and_then(|i| i.get(key)).and_then(Json::as_i64).unwrap_or(-1)
}

fn fifo_dropped(st: &Json) -> i64 {
    let Some(Json::Arr(f)) = st.get("vrrp").and_then(|v| v.get("notify_fifos")) else { return -1 };
    f.first().and_then(|f| f.get("dropped")).and_then(Json::as_i64).unwrap_or(-1)
}

/// A FIFO whose pipe is full (a reader that attached and never reads) must not hold up the
/// daemon: states still change, adverts still go out, lines are dropped and counted, and once
/// the reader catches up it gets the lines written after.
#[test]
fn a_fifo_nobody_reads_never_blocks_the_daemon() {
    let lan = Lan::new();
    let (a, b) = (lan.add_host("a"), lan.add_host("b"));
    let vip: IpAddr = lan.v4(100).into();
    let dir = TempDir::new("fifo");
    let path = dir.path().join("full.fifo");
    let c = std::ffi::CString::new(path.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a valid C string; the test runs as root, so the FIFO is root's, as required.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
    let mut filler =
        OpenOptions::new().read(true).write(true).custom_flags(libc::O_NONBLOCK).open(&path).unwrap();
    let chunk = [b'#'; 4096];
    let mut stuffed = 0;
    while filler.write(&chunk).is_ok_and(|n| n > 0) {
        stuffed += 1;
        assert!(stuffed < 10_000, "the pipe never filled");
    }

    let config = |router: &str, prio: u8, globals: &str| {
        format!(
            "global_defs {{\n    router_id {router}\n    vrrp_version 3\n{globals}}}\n\n{}",
            instance("VI_1", 31, prio, vip)
        )
    };
    let globals = format!("    notify_fifo {}\n", path.display());
    let mut db = Daemon::start(&b, &vigil_bin(), &config("b", 100, &globals), &["-P"]);
    assert!(db.wait_log("(VI_1) Entering MASTER STATE", secs(5)), "b never MASTER");
    let mut da = Daemon::start(&a, &vigil_bin(), &config("a", 150, ""), &["-P"]);
    assert!(
        wait_until(secs(5), ms(10), || db.log_count("(VI_1) Entering BACKUP STATE") >= 2),
        "b did not step back for a"
    );
    da.stop();
    assert!(
        wait_until(secs(5), ms(10), || db.log_count("(VI_1) Entering MASTER STATE") >= 2),
        "b did not take over when a left"
    );
    assert!(b.has_addr(&vip), "b MASTER without the VIP");
    // BACKUP, MASTER, BACKUP, MASTER: four lines with no room in the pipe.
    let st = db.status();
    assert!(fifo_dropped(&st) >= 4, "dropped lines not counted: {st:?}");
    assert!(db.log().contains("no reader is keeping up"), "drops not logged:\n{}", db.log());
    // Adverts go on at 10 a second.
    let tx = vrrp_number(&st, "tx");
    assert!(
        wait_until(secs(3), ms(20), || vrrp_number(&db.status(), "tx") >= tx + 5),
        "adverts stopped (tx {tx})"
    );

    // The reader catches up: what is written from now on arrives.
    let mut reader = BufReader::new(filler.try_clone().unwrap());
    let mut skipped = 0usize;
    let mut buf = Vec::new();
    while skipped < stuffed * chunk.len() {
        buf.clear();
        let n = reader.read_until(b'#', &mut buf).unwrap();
        skipped += n;
    }
    db.signal(libc::SIGTERM);
    let mut got = String::new();
    let found = wait_until(secs(5), ms(10), || {
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            got.push_str(&line);
            line.clear();
        }
        got.contains("INSTANCE \"VI_1\" STOP 100\n")
    });
    db.stop();
    assert!(found, "the STOP line never came through: {got:?}");
    assert!(path.exists(), "a FIFO vigil did not create must stay");
}

/// A TCP listener inside a namespace, accepting and dropping connections until dropped.
struct Listener {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start(host: &Host, addr: std::net::SocketAddr) -> Listener {
        use std::sync::atomic::{AtomicBool, Ordering};
        let l =
            host.enter(|| std::net::TcpListener::bind(addr)).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if l.accept().is_err() {
                    std::thread::sleep(ms(10));
                }
            }
        });
        Listener { stop, thread: Some(thread) }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// keepalived's checker exits on a kernel without IPVS: tests/bench/ipvs_shim.c, preloaded,
/// answers its IPVS calls. Built into a directory removed on drop.
fn ipvs_shim() -> TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bench/ipvs_shim.c");
    let dir = TempDir::new("ipvs-shim");
    let out = dir.path().join("ipvs_shim.so");
    let st =
        std::process::Command::new("cc").args(["-shared", "-fPIC", "-O2", "-o"]).arg(&out).arg(&src).status();
    assert!(st.as_ref().is_ok_and(|s| s.success()), "cc {}: {st:?}", src.display());
    dir
}

/// The checker's lines as one implementation writes them: a real server fails, comes back,
/// the daemon stops. (test reader's lines from notify_fifo, lvs_notify_fifo_script's lines)
fn checker_lines(bin: &Path, env: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let lan = Lan::new();
    let (d, s) = (lan.add_host("d"), lan.add_host("s"));
    let vip = lan.v4(100);
    let rs = std::net::SocketAddr::from((s.ip4, 8080));
    let dir = TempDir::new("fifo");
    let (all, lvs, out) = (dir.path().join("all.fifo"), dir.path().join("lvs.fifo"), dir.path().join("out"));
    let script = reader_script(dir.path(), &out);
    let config = format!(
        "global_defs {{\n    router_id d\n    notify_fifo {}\n    lvs_notify_fifo {}\n    \
         lvs_notify_fifo_script {}\n}}\n\nvirtual_server {vip} 80 {{\n    delay_loop 1\n    lb_algo rr\n    \
         lb_kind NAT\n    protocol TCP\n    real_server {} 8080 {{\n        weight 1\n        TCP_CHECK {{\n            \
         connect_timeout 1\n            retry 0\n        }}\n    }}\n}}\n",
        all.display(),
        lvs.display(),
        script.display(),
        s.ip4
    );
    let tag = bin.display().to_string();
    let rs_line = |state: &str| format!("RS [{}]:tcp:8080 [{vip}]:tcp:80 {state}", s.ip4);
    let vs_line = |state: &str| format!("VS [{vip}]:tcp:80 {state}");

    let server = Listener::start(&s, rs);
    let mut daemon = Daemon::start_env(&d, bin, &config, &["-C"], env);
    let reader = FifoReader::attach(&all);
    assert!(daemon.wait_log("TCP connection to", secs(10)), "{tag}: no check ran:\n{}", daemon.log());
    drop(server);
    assert!(reader.wait_for(&vs_line("DOWN"), 1), "{tag}: no VS DOWN: {:?}", reader.lines());
    let _server = Listener::start(&s, rs);
    assert!(reader.wait_for(&vs_line("UP"), 2), "{tag}: no VS UP: {:?}", reader.lines());
    daemon.signal(libc::SIGTERM);
    let lines = reader.finish();
    daemon.stop();
    eprintln!("{tag}:\n  {}", lines.join("\n  "));
    // keepalived starts a virtual server with quorum down and gains it at once: VS UP first.
    assert_eq!(
        lines,
        [vs_line("UP"), rs_line("DOWN"), vs_line("DOWN"), rs_line("UP"), vs_line("UP")],
        "{tag}"
    );
    let script_lines = std::fs::read_to_string(&out).unwrap_or_default().lines().map(String::from).collect();
    (lines, script_lines)
}

/// The checker's RS and VS lines, as keepalived writes them, to notify_fifo and to the
/// lvs_notify_fifo its reader script reads.
#[test]
fn checker_lines_are_keepaliveds() {
    let keepalived = keepalived_bin();
    assert!(keepalived.exists(), "{} missing: run `sh tests/deps.sh`", keepalived.display());
    let shim = ipvs_shim();
    let so = shim.path().join("ipvs_shim.so");
    let (k_lines, k_script) = checker_lines(&keepalived, &[("LD_PRELOAD", &so.to_string_lossy())]);
    let (v_lines, v_script) = checker_lines(&vigil_bin(), &[]);
    // Each run checked its lines against the same template with its own Lan's addresses.
    assert_eq!(v_lines.len(), k_lines.len());
    assert_eq!(v_script, v_lines, "vigil's reader script saw other lines than the FIFO carried");
    assert!(k_lines.starts_with(&k_script), "keepalived's reader script: {k_script:?}");
}

/// What one implementation writes with `vrrp_notify_priority_changes` while a weighted
/// vrrp_script fails and recovers on a lone MASTER.
fn priority_change_lines(bin: &Path, vrid: u8) -> Vec<String> {
    let lan = Lan::new();
    let b = lan.add_host("b");
    let vip: IpAddr = lan.v4(100).into();
    let dir = TempDir::new("fifo");
    let fifo = dir.path().join("all.fifo");
    let (check, status) = (dir.path().join("chk.sh"), dir.path().join("status"));
    std::fs::write(&check, format!("#!/bin/sh\nexit $(cat {})\n", status.display())).unwrap();
    std::fs::set_permissions(&check, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&status, "0").unwrap();
    let config = format!(
        "global_defs {{\n    router_id b\n    vrrp_version 3\n    notify_fifo {}\n    \
         vrrp_notify_priority_changes\n}}\n\nvrrp_script chk {{\n    script \"{}\"\n    interval 1\n    \
         weight -20\n}}\n\n{}",
        fifo.display(),
        check.display(),
        instance("VI_1", vrid, 100, vip).replace(
            "    virtual_ipaddress",
            "    track_script {\n        chk\n    }\n    virtual_ipaddress"
        )
    );
    let tag = bin.display().to_string();
    let mut d = Daemon::start(&b, bin, &config, &["-P"]);
    let reader = FifoReader::attach(&fifo);
    assert!(reader.wait_for("INSTANCE \"VI_1\" MASTER 100", 1), "{tag}: never MASTER: {:?}", reader.lines());
    std::fs::write(&status, "1").unwrap();
    let lowered = "INSTANCE \"VI_1\" MASTER_PRIORITY 80";
    assert!(reader.wait_for(lowered, 1), "{tag}: no priority line: {:?}", reader.lines());
    std::fs::write(&status, "0").unwrap();
    let restored = "INSTANCE \"VI_1\" MASTER_PRIORITY 100";
    assert!(reader.wait_for(restored, 1), "{tag}: no priority line: {:?}", reader.lines());
    d.signal(libc::SIGTERM);
    let lines = reader.finish();
    d.stop();
    lines
}

#[test]
fn priority_change_lines_are_keepaliveds() {
    let keepalived = keepalived_bin();
    assert!(keepalived.exists(), "{} missing: run `sh tests/deps.sh`", keepalived.display());
    let k = priority_change_lines(&keepalived, 41);
    let v = priority_change_lines(&vigil_bin(), 43);
    eprintln!("keepalived:\n  {}\nvigil:\n  {}", k.join("\n  "), v.join("\n  "));
    assert_eq!(v, k);
}

/// Paths a local user could have planted are not used (and not touched): a regular file, a
/// symbolic link, a FIFO of their own. The daemon runs on without them.
#[test]
fn planted_paths_are_refused() {
    let lan = Lan::new();
    let b = lan.add_host("b");
    let vip: IpAddr = lan.v4(100).into();
    let dir = TempDir::new("fifo");
    let file = dir.path().join("file");
    std::fs::write(&file, "mine\n").unwrap();
    let target = dir.path().join("target");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let theirs = dir.path().join("theirs.fifo");
    let c = std::ffi::CString::new(theirs.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let globals = format!(
        "    notify_fifo {}\n    vrrp_notify_fifo {}\n    lvs_notify_fifo {}\n",
        theirs.display(),
        link.display(),
        file.display()
    );
    // A virtual server, so that the checker child runs and opens notify_fifo and lvs_notify_fifo.
    let vs = format!(
        "virtual_server {vip} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server {} 8080 {{\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n}}\n",
        lan.v4(50)
    );
    let config = format!(
        "global_defs {{\n    router_id b\n    vrrp_version 3\n{globals}}}\n\n{}{vs}",
        instance("VI_1", 51, 100, vip)
    );
    let mut d = Daemon::start(&b, &vigil_bin(), &config, &[]);
    assert!(d.wait_log("(VI_1) Entering MASTER STATE", secs(5)), "{}", d.log());
    assert!(d.wait_log("Activating healthchecker", secs(5)), "{}", d.log());
    let log = d.log();
    let refused =
        |path: &Path, why: &str| log.matches(&format!("{} {why}: not used", path.display())).count();
    assert_eq!(refused(&theirs, "is not owned by root"), 2, "VRRP and checker children: {log}");
    assert_eq!(refused(&link, "is a symbolic link"), 1, "{log}");
    assert_eq!(refused(&file, "exists and is not a FIFO"), 1, "{log}");
    d.stop();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine\n", "the planted file was written to");
    assert!(theirs.exists(), "their FIFO was removed");
    assert!(!target.exists(), "the link was followed");
}

/// A reload keeps a FIFO whose path stays (same pipe, same reader) and starts the reader of
/// one the new configuration adds; the lines of a restarted instance (a new VRID: a priority
/// change alone is applied in place, with no state change) go to both.
#[test]
fn a_reload_keeps_the_fifo_and_adds_new_ones() {
    use std::os::unix::fs::MetadataExt;
    let lan = Lan::new();
    let b = lan.add_host("b");
    let vip: IpAddr = lan.v4(100).into();
    let dir = TempDir::new("fifo");
    let (all, vrrp, out) =
        (dir.path().join("all.fifo"), dir.path().join("vrrp.fifo"), dir.path().join("out"));
    let script = reader_script(dir.path(), &out);
    let config = |vrid: u8, prio: u8, extra: &str| {
        format!(
            "global_defs {{\n    router_id b\n    vrrp_version 3\n    notify_fifo {}\n{extra}}}\n\n{}",
            all.display(),
            instance("VI_1", vrid, prio, vip)
        )
    };
    let mut d = Daemon::start(&b, &vigil_bin(), &config(61, 100, ""), &["-P"]);
    let reader = FifoReader::attach(&all);
    assert!(reader.wait_for("INSTANCE \"VI_1\" MASTER 100", 1), "{:?}", reader.lines());
    let inode = std::fs::metadata(&all).unwrap().ino();

    let extra = format!(
        "    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script {}\n",
        vrrp.display(),
        script.display()
    );
    std::fs::write(d.dir().join("keepalived.conf"), config(62, 101, &extra)).unwrap();
    d.signal(libc::SIGHUP);
    assert!(reader.wait_for("INSTANCE \"VI_1\" MASTER 101", 1), "{:?}\n{}", reader.lines(), d.log());
    assert_eq!(std::fs::metadata(&all).unwrap().ino(), inode, "notify_fifo was made anew");
    let script_saw = || std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        wait_until(secs(5), ms(10), || script_saw().contains("INSTANCE \"VI_1\" MASTER 101\n")),
        "the new FIFO's reader saw {:?}",
        script_saw()
    );
    d.signal(libc::SIGTERM);
    let lines = reader.finish();
    d.stop();
    assert_eq!(
        lines,
        [
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_1\" MASTER 100",
            // A new VRID is another instance to keepalived: the old one is
            // removed, and reports FAULT (DELETED with notify_deleted).
            "INSTANCE \"VI_1\" FAULT 100",
            "INSTANCE \"VI_1\" BACKUP 101",
            "INSTANCE \"VI_1\" MASTER 101",
            "INSTANCE \"VI_1\" STOP 101",
        ]
    );
    assert_eq!(
        script_saw(),
        "INSTANCE \"VI_1\" BACKUP 101\nINSTANCE \"VI_1\" MASTER 101\nINSTANCE \"VI_1\" STOP 101\n"
    );
    assert!(!all.exists() && !vrrp.exists(), "FIFOs left behind");
}
