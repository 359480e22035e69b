//! Logging for the daemon: syslog over /dev/log and/or the console.
//!
//! Syslog messages are hand-formatted (RFC 3164 style,
//! `<PRI>Mon dd hh:mm:ss ident[pid]: msg`) and sent on a non-blocking
//! datagram socket. If /dev/log is missing (an initramfs without syslogd) or
//! the send would block, the line goes to stderr instead: logging never
//! blocks the event loop.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

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
    pub ident: &'static str,
    pub console: bool,
    pub syslog: bool,
    /// Already shifted: `LOG_DAEMON` is 3 << 3.
    pub facility: u8,
    pub detail: bool,
    /// The syslog socket; /dev/log except in tests.
    pub syslog_path: &'static str,
}

impl LogConfig {
    pub fn from_options(o: &crate::cli::Options) -> Result<LogConfig, String> {
        let facility = match &o.log_facility {
            None => LOG_DAEMON,
            Some(s) => parse_facility(s).ok_or_else(|| format!("invalid log facility '{s}'"))?,
        };
        Ok(LogConfig {
            ident: IDENT_PARENT,
            console: o.log_console,
            syslog: !o.no_syslog,
            facility,
            detail: o.log_detail,
            syslog_path: DEV_LOG,
        })
    }
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
        state: Mutex::new(State { cfg: cfg.clone(), socket: None, retry_at: None }),
    });
    if let Ok(mut st) = logger.state.lock() {
        st.cfg = cfg;
        st.socket = None;
        st.retry_at = None;
    }
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
        let _ = std::io::stderr().write_all(format!("{msg}\n").as_bytes());
    }
}

/// In a freshly forked child: switch ident and drop the inherited syslog
/// socket (the child closes inherited fds; it must not close a reused one).
pub fn after_fork(ident: &'static str) {
    if let Some(logger) = LOGGER.get() {
        if let Ok(mut st) = logger.state.lock() {
            st.cfg.ident = ident;
            if let Some(s) = st.socket.take() {
                drop(s);
            }
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
        let tm = local_time();
        let mut to_console = self.cfg.console;
        if self.cfg.syslog {
            let pri = self.cfg.facility | severity(level);
            let line = format_syslog(pri, &tm, self.cfg.ident, std::process::id(), msg);
            if !self.send(&line) && !to_console {
                to_console = true;
            }
        }
        if to_console {
            let line = format!("{}: {msg}\n", format_console_time(&tm));
            // Errors (a closed stderr) are ignored: there is nowhere left to report them.
            let _ = std::io::stderr().write_all(line.as_bytes());
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

/// Broken-down local time, the fields we print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tm {
    pub year: i32,
    /// 0..=11
    pub mon: usize,
    pub mday: u32,
    /// 0 = Sunday
    pub wday: usize,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
}

fn local_time() -> Tm {
    // SAFETY: time(NULL) and localtime_r into a zeroed tm are always valid.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        Tm {
            year: tm.tm_year + 1900,
            mon: tm.tm_mon.clamp(0, 11) as usize,
            mday: tm.tm_mday as u32,
            wday: tm.tm_wday.clamp(0, 6) as usize,
            hour: tm.tm_hour as u32,
            min: tm.tm_min as u32,
            sec: tm.tm_sec as u32,
        }
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

pub fn format_syslog(pri: u8, tm: &Tm, ident: &str, pid: u32, msg: &str) -> String {
    format!(
        "<{pri}>{} {:2} {:02}:{:02}:{:02} {ident}[{pid}]: {msg}",
        MONTHS[tm.mon], tm.mday, tm.hour, tm.min, tm.sec
    )
}

/// keepalived's console prefix: `Sun Nov 22 02:10:00 2026`.
pub fn format_console_time(tm: &Tm) -> String {
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} {}",
        DAYS[tm.wday], MONTHS[tm.mon], tm.mday, tm.hour, tm.min, tm.sec, tm.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TM: Tm = Tm { year: 2026, mon: 10, mday: 2, wday: 1, hour: 2, min: 10, sec: 5 };

    #[test]
    fn syslog_line_format() {
        let pri = LOG_DAEMON | severity(log::Level::Info);
        assert_eq!(
            format_syslog(pri, &TM, IDENT_VRRP, 42, "(VI_1) Entering MASTER STATE"),
            "<30>Nov  2 02:10:05 Keepalived_vrrp[42]: (VI_1) Entering MASTER STATE"
        );
        assert_eq!(format_console_time(&TM), "Mon Nov 02 02:10:05 2026");
    }

    #[test]
    fn syslog_send_never_blocks() {
        let path = std::env::temp_dir().join(format!("vigil-devlog-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let path: &'static str = Box::leak(path.to_string_lossy().into_owned().into_boxed_str());
        let cfg = LogConfig {
            ident: IDENT_PARENT,
            console: false,
            syslog: true,
            facility: LOG_DAEMON,
            detail: false,
            syslog_path: path,
        };
        let mut st = State { cfg, socket: None, retry_at: None };
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
        let args: Vec<String> = ["-D", "-S", "local2"].iter().map(|s| s.to_string()).collect();
        let crate::cli::Command::Run(o) = crate::cli::parse_args(&args).unwrap() else { panic!() };
        let cfg = LogConfig::from_options(&o).unwrap();
        assert_eq!(level(&cfg), log::LevelFilter::Debug);
        assert_eq!(cfg.facility, parse_facility("2").unwrap(), "-S");
        let cfg = LogConfig::from_options(&crate::cli::Options::default()).unwrap();
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
