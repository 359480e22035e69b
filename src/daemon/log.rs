//! Logging for the daemon: syslog over /dev/log, the console and/or a log
//! file (`-g`).
//!
//! Syslog messages are hand-formatted (RFC 3164 style,
//! `<PRI>Mon dd hh:mm:ss ident[pid]: msg`) and sent on a non-blocking
//! datagram socket. If /dev/log is missing (an initramfs without syslogd) or
//! the send would block, the line goes to stderr instead: logging never
//! blocks the event loop.
//!
//! The log file (keepalived's `-g[FILE]`) is written one whole line per
//! write(2) on an O_APPEND descriptor, so it is never buffered (keepalived's
//! `--flush-log-file` behaviour always) and the processes' lines never
//! interleave within a line. Each process writes its own file, named as
//! keepalived names them: see [`log_file_name`].

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::time::LocalTime;

pub const IDENT_PARENT: &str = "Keepalived";
pub const IDENT_VRRP: &str = "Keepalived_vrrp";
pub const IDENT_CHECKER: &str = "Keepalived_healthcheckers";

const DEV_LOG: &str = "/dev/log";
const LOG_DAEMON: u8 = 3 << 3;
const LOG_LOCAL0: u8 = 16 << 3;
/// How long to wait before trying /dev/log again after it failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct LogConfig {
    /// With the `_NAME` suffix of `-s NAME`, as keepalived's idents have.
    pub ident: String,
    pub console: bool,
    pub syslog: bool,
    /// Already shifted: `LOG_DAEMON` is 3 << 3.
    pub facility: u8,
    pub detail: bool,
    /// The syslog socket; /dev/log except in tests.
    pub syslog_path: &'static str,
    /// `-g`: the name as given (`keepalived.log` for a bare `-g`).
    pub log_file: Option<String>,
    /// `-s NAME`: part of the syslog ident and of the log file names.
    pub namespace: Option<String>,
    /// The file this process writes; derived from `log_file`.
    pub file_path: Option<PathBuf>,
}

impl LogConfig {
    pub fn from_settings(o: &super::Settings) -> Result<LogConfig, String> {
        let facility = match &o.log_facility {
            None => LOG_DAEMON,
            Some(s) => parse_facility(s).ok_or_else(|| format!("invalid log facility '{s}'"))?,
        };
        let namespace = o.namespace.clone();
        Ok(LogConfig {
            ident: ident_for(IDENT_PARENT, namespace.as_deref()),
            console: o.log_console,
            syslog: !o.no_syslog,
            facility,
            detail: o.log_detail,
            syslog_path: DEV_LOG,
            file_path: o.log_file.as_deref().map(|f| log_file_name(f, None, namespace.as_deref())),
            log_file: o.log_file.clone(),
            namespace,
        })
    }
}

/// keepalived's syslog ident under `-s NAME`: `Keepalived_vrrp_NAME`.
pub fn ident_for(base: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{base}_{ns}"),
        None => base.to_string(),
    }
}

/// The file a process logs to under `-g NAME`, as keepalived's
/// `make_file_name` builds it: a relative NAME goes in `$TMPDIR` (if it is
/// absolute) or /tmp, and `_PROG` (`vrrp`, `check`; none for the parent)
/// then `_NAMESPACE` go before the extension:
/// `-g` with `-s blue` gives /tmp/keepalived_blue.log, /tmp/keepalived_vrrp_blue.log
/// and /tmp/keepalived_check_blue.log.
pub fn log_file_name(name: &str, prog: Option<&str>, namespace: Option<&str>) -> PathBuf {
    let tmp = std::env::var("TMPDIR").ok().filter(|t| t.starts_with('/')).unwrap_or_else(|| "/tmp".into());
    let full = if name.starts_with('/') { name.to_string() } else { format!("{tmp}/{name}") };
    let file_start = full.rfind('/').map_or(0, |i| i + 1);
    let (stem, ext) = match full[file_start..].rfind('.') {
        Some(dot) => full.split_at(file_start + dot),
        None => (full.as_str(), ""),
    };
    let mut out = stem.to_string();
    for part in [prog, namespace].into_iter().flatten() {
        out.push('_');
        out.push_str(part);
    }
    out.push_str(ext);
    PathBuf::from(out)
}

/// Open a log file: appending, created 0640 (less the umask), never a
/// symlink, never inherited by scripts, never blocking.
fn open_log_file(path: &Path) -> std::io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(f)
}

/// `-S`: 0-7 or local0-7 for local0..local7, or `user` / `daemon`.
pub fn parse_facility(s: &str) -> Option<u8> {
    let n = s.strip_prefix("local").unwrap_or(s);
    match n.parse::<u8>() {
        Ok(i) if i <= 7 => Some(LOG_LOCAL0 + (i << 3)),
        _ => match s {
            "user" => Some(1 << 3),
            "daemon" => Some(LOG_DAEMON),
            _ => None,
        },
    }
}

struct State {
    cfg: LogConfig,
    socket: Option<UnixDatagram>,
    retry_at: Option<Instant>,
    file: Option<File>,
    /// Opening `cfg.file_path` failed (and was reported): do not retry.
    file_failed: bool,
}

struct Logger {
    state: Mutex<State>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// `-D/--log-detail` adds the debug lines.
fn level(cfg: &LogConfig) -> log::LevelFilter {
    if cfg.detail {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    }
}

/// Install the process-wide logger. Calling it again only replaces the
/// settings (the `log` crate allows one logger per process).
pub fn init(cfg: LogConfig) {
    let level = level(&cfg);
    let logger = LOGGER.get_or_init(|| Logger {
        state: Mutex::new(State {
            cfg: cfg.clone(),
            socket: None,
            retry_at: None,
            file: None,
            file_failed: false,
        }),
    });
    if let Ok(mut st) = logger.state.lock() {
        st.cfg = cfg;
        st.socket = None;
        st.retry_at = None;
        st.file = None;
        st.file_failed = false;
    }
    // Refused only on a second call, when `logger` is already the one
    // installed (LOGGER is set once): the settings above are the change.
    let _ = log::set_logger(logger);
    log::set_max_level(level);
    std::panic::set_hook(Box::new(log_panic));
}

/// A panic is a bug, and the process ends (panic=abort) or is restarted by
/// the watchdog: its message and source line go to the log, not only to a
/// stderr that a daemon has closed.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let msg = format!("panic: {info}");
    // The panic may come from inside the logger, which then holds its lock.
    let logged =
        LOGGER.get().and_then(|l| l.state.try_lock().ok()).map(|mut st| st.emit(log::Level::Error, &msg));
    if logged.is_none() {
        // A closed stderr loses it: there is nowhere left to report to.
        let _ = std::io::stderr().write_all(format!("{msg}\n").as_bytes());
    }
}

/// In a freshly forked child: switch ident and log file (`prog`: `vrrp`,
/// `check`) and drop the inherited syslog socket and log file (the child
/// closes inherited fds next; it must not close a reused one). The child's
/// own file is opened with its first line.
pub fn after_fork(ident: &str, prog: &str) {
    if let Some(logger) = LOGGER.get() {
        if let Ok(mut st) = logger.state.lock() {
            let ns = st.cfg.namespace.clone();
            st.cfg.ident = ident_for(ident, ns.as_deref());
            st.cfg.file_path =
                st.cfg.log_file.as_deref().map(|f| log_file_name(f, Some(prog), ns.as_deref()));
            if let Some(s) = st.socket.take() {
                drop(s);
            }
            st.file = None;
            st.file_failed = false;
            st.retry_at = None;
        }
    }
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let Ok(mut st) = self.state.lock() else { return };
        st.emit(record.level(), &record.args().to_string());
    }

    fn flush(&self) {}
}

impl State {
    /// Send one message to syslog and/or the console.
    fn emit(&mut self, level: log::Level, msg: &str) {
        let (tm, nanos) = local_time();
        let mut to_console = self.cfg.console;
        if self.cfg.syslog {
            let pri = self.cfg.facility | severity(level);
            let line = format_syslog(pri, &tm, &self.cfg.ident, std::process::id(), msg);
            if !self.send(&line) && !to_console {
                to_console = true;
            }
        }
        if to_console {
            let line = format!("{}: {msg}\n", format_console_time(&tm));
            // Errors (a closed stderr) are ignored: there is nowhere left to report them.
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        self.write_file(&tm, nanos, msg);
    }

    /// Append one line to the log file, opening it first if need be.
    fn write_file(&mut self, tm: &LocalTime, nanos: u32, msg: &str) {
        if self.file.is_none() && !self.file_failed {
            let Some(path) = self.cfg.file_path.clone() else { return };
            match open_log_file(&path) {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    self.file_failed = true;
                    self.emit(log::Level::Error, &format!("cannot open log file {}: {e}", path.display()));
                    return;
                }
            }
        }
        if let Some(f) = &self.file {
            let line = format!("{}: {msg}\n", format_file_time(tm, nanos));
            // One write per line; a full disk loses the line rather than blocking.
            let _ = (&*f).write(line.as_bytes());
        }
    }

    /// True if the line went to syslog.
    fn send(&mut self, line: &str) -> bool {
        if self.socket.is_none() {
            let now = Instant::now();
            if self.retry_at.is_some_and(|t| now < t) {
                return false;
            }
            match UnixDatagram::unbound().and_then(|s| {
                s.set_nonblocking(true)?;
                s.connect(self.cfg.syslog_path)?;
                Ok(s)
            }) {
                Ok(s) => self.socket = Some(s),
                Err(_) => {
                    self.retry_at = Some(now + RECONNECT_AFTER);
                    return false;
                }
            }
        }
        let Some(s) = &self.socket else { return false };
        match s.send(line.as_bytes()) {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(_) => {
                // syslogd went away or restarted: reconnect next time.
                self.socket = None;
                false
            }
        }
    }
}

fn severity(l: log::Level) -> u8 {
    match l {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// Local time and the nanoseconds within the second.
fn local_time() -> (LocalTime, u32) {
    // SAFETY: clock_gettime into a zeroed timespec is always valid.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts);
        ts
    };
    // time_t is i32 on some 32-bit targets' libc bindings.
    #[allow(clippy::useless_conversion)]
    let tm = crate::time::local_time(ts.tv_sec.into()).unwrap_or_default();
    (tm, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

pub fn format_syslog(pri: u8, tm: &LocalTime, ident: &str, pid: u32, msg: &str) -> String {
    format!(
        "<{pri}>{} {:2} {:02}:{:02}:{:02} {ident}[{pid}]: {msg}",
        MONTHS[tm.mon], tm.mday, tm.hour, tm.min, tm.sec
    )
}

/// keepalived's console prefix: `Sun Nov 22 02:10:00 2026`.
pub fn format_console_time(tm: &LocalTime) -> String {
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} {}",
        DAYS[tm.wday], MONTHS[tm.mon], tm.mday, tm.hour, tm.min, tm.sec, tm.year
    )
}

/// keepalived's log file prefix: `Sun Nov 22 02:10:00.123456789 2026`.
pub fn format_file_time(tm: &LocalTime, nanos: u32) -> String {
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{nanos:09} {}",
        DAYS[tm.wday], MONTHS[tm.mon], tm.mday, tm.hour, tm.min, tm.sec, tm.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TM: LocalTime =
        LocalTime { year: 2026, mon: 10, mday: 2, wday: 1, hour: 2, min: 10, sec: 5, utc_offset: 0 };

    #[test]
    fn syslog_line_format() {
        let pri = LOG_DAEMON | severity(log::Level::Info);
        assert_eq!(
            format_syslog(pri, &TM, IDENT_VRRP, 42, "(VI_1) Entering MASTER STATE"),
            "<30>Nov  2 02:10:05 Keepalived_vrrp[42]: (VI_1) Entering MASTER STATE"
        );
        assert_eq!(format_console_time(&TM), "Mon Nov 02 02:10:05 2026");
        assert_eq!(format_file_time(&TM, 1234), "Mon Nov 02 02:10:05.000001234 2026");
    }

    #[test]
    fn log_file_names_as_keepalived_makes_them() {
        let abs = |n, p, ns| log_file_name(n, p, ns).to_string_lossy().into_owned();
        assert_eq!(abs("/var/log/ka.log", None, None), "/var/log/ka.log");
        assert_eq!(abs("/var/log/ka.log", Some("vrrp"), None), "/var/log/ka_vrrp.log");
        assert_eq!(abs("/var/log/ka.log", Some("check"), Some("blue")), "/var/log/ka_check_blue.log");
        assert_eq!(abs("/var/log/ka", Some("vrrp"), None), "/var/log/ka_vrrp");
        assert_eq!(abs("/var/l.d/ka", None, Some("blue")), "/var/l.d/ka_blue");
        assert_eq!(abs("/x/a.b.log", Some("vrrp"), None), "/x/a.b_vrrp.log");
        // Relative names go to $TMPDIR or /tmp.
        let rel = log_file_name("keepalived.log", Some("vrrp"), None);
        assert!(rel.is_absolute() && rel.ends_with("keepalived_vrrp.log"), "{}", rel.display());
        assert_eq!(ident_for(IDENT_VRRP, Some("blue")), "Keepalived_vrrp_blue");
        assert_eq!(ident_for(IDENT_VRRP, None), "Keepalived_vrrp");
    }

    #[test]
    fn namespace_names_the_ident_and_the_log_file() {
        let o = super::super::Settings {
            namespace: Some("blue".into()),
            log_file: Some("/var/log/ka.log".into()),
            ..Default::default()
        };
        let cfg = LogConfig::from_settings(&o).unwrap();
        assert_eq!(cfg.ident, "Keepalived_blue");
        assert_eq!(cfg.file_path.as_deref(), Some(Path::new("/var/log/ka_blue.log")));
        let cfg = LogConfig::from_settings(&super::super::Settings::default()).unwrap();
        assert_eq!((cfg.ident.as_str(), cfg.file_path), (IDENT_PARENT, None));
    }

    #[test]
    fn log_file_gets_whole_lines_and_refuses_symlinks() {
        let dir = std::env::temp_dir().join(format!("vigil-logfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.log");
        let cfg = LogConfig {
            ident: IDENT_PARENT.into(),
            console: false,
            syslog: false,
            facility: LOG_DAEMON,
            detail: false,
            syslog_path: DEV_LOG,
            log_file: None,
            namespace: None,
            file_path: Some(path.clone()),
        };
        let mut st = State { cfg, socket: None, retry_at: None, file: None, file_failed: false };
        st.emit(log::Level::Info, "first");
        st.emit(log::Level::Warn, "second");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].ends_with(": first") && lines[1].ends_with(": second"), "{text}");
        // "Sun Nov 22 02:10:00.123456789 2026: first"
        assert_eq!(lines[0].find(": first"), Some(34), "{text}");
        let link = dir.join("link.log");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(open_log_file(&link).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn syslog_send_never_blocks() {
        let path = std::env::temp_dir().join(format!("vigil-devlog-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let path: &'static str = Box::leak(path.to_string_lossy().into_owned().into_boxed_str());
        let cfg = LogConfig {
            ident: IDENT_PARENT.into(),
            console: false,
            syslog: true,
            facility: LOG_DAEMON,
            detail: false,
            syslog_path: path,
            log_file: None,
            namespace: None,
            file_path: None,
        };
        let mut st = State { cfg, socket: None, retry_at: None, file: None, file_failed: false };
        // No listener: fall back at once, and do not retry on every line.
        assert!(!st.send("x"));
        assert!(st.retry_at.is_some());
        let server = UnixDatagram::bind(path).unwrap();
        st.retry_at = None;
        assert!(st.send("<30>hello"));
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"<30>hello");
        // A syslogd that stops reading must not stall us: the sends fail fast.
        let start = Instant::now();
        let sent = (0..100_000).take_while(|_| st.send("filler line")).count();
        assert!(sent < 100_000 && start.elapsed() < Duration::from_secs(5));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn log_detail_logs_debug_lines() {
        // -D -S local2
        let o = super::super::Settings {
            log_detail: true,
            log_facility: Some("local2".into()),
            ..Default::default()
        };
        let cfg = LogConfig::from_settings(&o).unwrap();
        assert_eq!(level(&cfg), log::LevelFilter::Debug);
        assert_eq!(cfg.facility, parse_facility("2").unwrap(), "-S");
        let cfg = LogConfig::from_settings(&super::super::Settings::default()).unwrap();
        assert_eq!(level(&cfg), log::LevelFilter::Info);
    }

    #[test]
    fn facilities() {
        assert_eq!(parse_facility("0"), Some(128));
        assert_eq!(parse_facility("7"), Some(184));
        assert_eq!(parse_facility("local3"), Some(152));
        assert_eq!(parse_facility("daemon"), Some(24));
        assert_eq!(parse_facility("8"), None);
        assert_eq!(parse_facility("kern"), None);
    }
}
