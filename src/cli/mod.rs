//! Command line: keepalived's flags with keepalived's meanings, plus the
//! multi-call names (`keepalived`, `genhash`) and vigil's own subcommands.

pub mod host_checks;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::config;
use crate::daemon::{RunPaths, Settings};

pub use crate::daemon::settings::DEFAULT_CONFIG;
pub use crate::runtime::VERSION;

/// Exit codes of `-t`, as upstream keepalived's enum has them.
pub const EXIT_OK: i32 = 0;
pub const EXIT_CONFIG_FATAL: i32 = 4;
pub const EXIT_CONFIG_ERRORS: i32 = 5;

/// What the command line says: the daemon's [`Settings`], and the flags
/// only `-t` reads or that vigil accepts without acting on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub daemon: Settings,
    pub bfd_pid_file: Option<PathBuf>,
    pub config_test: bool,
    /// `-tFILE` / `--config-test=FILE`: the findings go to FILE (appended).
    pub config_test_log: Option<PathBuf>,
    /// `-t --dump`: print the effective configuration after defaults.
    pub dump_effective: bool,
    pub release_vips: bool,
    pub flush_log_file: bool,
    /// `-M[PATTERN]` (the pattern is not applied: see [`Options::unsupported`]).
    pub core_dump_pattern: Option<String>,
}

impl Options {
    /// One warning per accepted flag that does not do in vigil what it does
    /// in keepalived, for the daemon to log at start ([`Settings::warnings`]).
    pub fn unsupported(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.daemon.address_monitoring && self.daemon.check_only && !self.daemon.vrrp_only {
            out.push(
                "-a/--address-monitoring with -C: only vigil's VRRP child logs address changes,                  and -C runs none"
                    .into(),
            );
        }
        if self.core_dump_pattern.is_some() {
            out.push(
                "-M/--core-dump-pattern accepted for compatibility; vigil does not change \
                 /proc/sys/kernel/core_pattern (core size is unlimited as with -m)"
                    .into(),
            );
        }
        if self.release_vips {
            out.push(
                "-X/--release-vips accepted for compatibility; vigil always removes an instance's \
                 VIPs when it leaves MASTER, whatever the cause"
                    .into(),
            );
        }
        out
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run(Box<Options>),
    Help,
    Version,
}

/// Whether an option takes a value, as in keepalived's getopt table.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    Nothing,
    /// `-f FILE`, `-fFILE`, `--use-file FILE`, `--use-file=FILE`.
    Value,
    /// Only glued: `-gFILE`, `--log-file=FILE`; `-g -n` is two flags.
    Optional,
}

/// Short and long names of every option vigil accepts, and what each takes.
pub const OPTIONS: &[(Option<char>, &str, Takes)] = &[
    (Some('f'), "use-file", Takes::Value),
    (Some('n'), "dont-fork", Takes::Nothing),
    (Some('l'), "log-console", Takes::Nothing),
    (Some('D'), "log-detail", Takes::Nothing),
    (Some('S'), "log-facility", Takes::Value),
    (Some('g'), "log-file", Takes::Optional),
    (None, "flush-log-file", Takes::Nothing),
    (Some('G'), "no-syslog", Takes::Nothing),
    (Some('u'), "umask", Takes::Value),
    (Some('P'), "vrrp", Takes::Nothing),
    (Some('C'), "check", Takes::Nothing),
    (Some('B'), "no_bfd", Takes::Nothing),
    (None, "all", Takes::Nothing),
    (Some('p'), "pid", Takes::Value),
    (Some('r'), "vrrp_pid", Takes::Value),
    (Some('c'), "checkers_pid", Takes::Value),
    (Some('b'), "bfd_pid", Takes::Value),
    (Some('t'), "config-test", Takes::Optional),
    (None, "dump", Takes::Nothing),
    (Some('i'), "config-id", Takes::Value),
    (Some('d'), "dump-conf", Takes::Nothing),
    (Some('R'), "dont-respawn", Takes::Nothing),
    (Some('X'), "release-vips", Takes::Nothing),
    (Some('V'), "dont-release-vrrp", Takes::Nothing),
    (Some('I'), "dont-release-ipvs", Takes::Nothing),
    (Some('a'), "address-monitoring", Takes::Nothing),
    (Some('s'), "namespace", Takes::Value),
    (Some('m'), "core-dump", Takes::Nothing),
    (Some('M'), "core-dump-pattern", Takes::Optional),
    (None, "no-mem-check", Takes::Nothing),
    (None, "ignore-sigint", Takes::Nothing),
    (Some('e'), "all-config", Takes::Nothing),
    (Some('v'), "version", Takes::Nothing),
    (Some('h'), "help", Takes::Nothing),
];

/// keepalived's `-u`: a number in C notation (0 prefix: octal, 0x: hex,
/// else decimal), within 0777. keepalived's own examples (`-u 077`,
/// `--umask=0027`) are octal.
pub fn parse_umask(s: &str) -> Result<u32, String> {
    let bad = || format!("invalid --umask '{s}' (an octal mask such as 022 or 077)");
    let v = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8)
    } else {
        s.parse::<u32>()
    }
    .map_err(|_| bad())?;
    if v > 0o777 {
        return Err(bad());
    }
    Ok(v)
}

/// A network namespace name: a file name under /var/run/netns.
fn parse_namespace(s: &str) -> Result<String, String> {
    if s.is_empty() || s == "." || s == ".." || s.contains('/') || s.contains('\0') {
        return Err(format!("invalid --namespace '{s}' (a name under /var/run/netns)"));
    }
    Ok(s.to_string())
}

/// Parse keepalived-style arguments (without argv[0]), as keepalived's
/// getopt_long does: short flags may be bundled (`-nlD`), a value is glued
/// or the next argument (`-fFILE`, `-f FILE`, `--use-file=FILE`,
/// `--use-file FILE`), and an optional value is only ever glued (`-g`,
/// `-gFILE`, `--log-file=FILE`).
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut o = Options::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        // (long name, value)
        let mut found: Vec<(&'static str, Option<String>)> = Vec::new();
        if let Some(long) = arg.strip_prefix("--") {
            let (n, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(&(_, name, takes)) = OPTIONS.iter().find(|(_, l, _)| *l == n) else {
                return Err(format!("unknown option '{arg}'"));
            };
            let value = match (takes, inline) {
                (Takes::Nothing, Some(_)) => return Err(format!("option '--{n}' takes no value")),
                (Takes::Value, None) => {
                    let v = args.get(i).cloned().ok_or_else(|| format!("option '{arg}' needs a value"))?;
                    i += 1;
                    Some(v)
                }
                (_, v) => v,
            };
            found.push((name, value));
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, c) in short.char_indices() {
                let Some(&(_, name, takes)) = OPTIONS.iter().find(|(s, _, _)| *s == Some(c)) else {
                    return Err(format!("unknown option '-{c}'"));
                };
                let rest = &short[at + c.len_utf8()..];
                if takes == Takes::Nothing {
                    found.push((name, None));
                    continue;
                }
                let value = if !rest.is_empty() {
                    Some(rest.to_string())
                } else if takes == Takes::Value {
                    let v = args.get(i).cloned().ok_or_else(|| format!("option '-{c}' needs a value"))?;
                    i += 1;
                    Some(v)
                } else {
                    None
                };
                found.push((name, value));
                break;
            }
        } else {
            return Err(format!("unexpected argument '{arg}'"));
        }
        for (name, value) in found {
            let val = || value.clone().unwrap_or_default();
            match name {
                "use-file" => o.daemon.config_file = PathBuf::from(val()),
                "dont-fork" => o.daemon.dont_fork = true,
                "log-console" => o.daemon.log_console = true,
                "log-detail" => o.daemon.log_detail = true,
                "log-facility" => o.daemon.log_facility = Some(val()),
                // keepalived: an empty value is the default name too.
                "log-file" => {
                    o.daemon.log_file =
                        Some(value.filter(|v| !v.is_empty()).unwrap_or_else(|| "keepalived.log".into()))
                }
                "flush-log-file" => o.flush_log_file = true,
                "no-syslog" => o.daemon.no_syslog = true,
                "umask" => o.daemon.umask = Some(parse_umask(&val())?),
                "vrrp" => o.daemon.vrrp_only = true,
                "check" => o.daemon.check_only = true,
                "pid" => o.daemon.pid_file = Some(PathBuf::from(val())),
                "vrrp_pid" => o.daemon.vrrp_pid_file = Some(PathBuf::from(val())),
                "checkers_pid" => o.daemon.checkers_pid_file = Some(PathBuf::from(val())),
                "bfd_pid" => o.bfd_pid_file = Some(PathBuf::from(val())),
                "config-test" => {
                    o.config_test = true;
                    o.config_test_log = value.filter(|v| !v.is_empty()).map(PathBuf::from);
                }
                "dump" => o.dump_effective = true,
                "config-id" => o.daemon.config_id = Some(val()),
                "dump-conf" => o.daemon.dump_conf = true,
                "dont-respawn" => o.daemon.dont_respawn = true,
                "release-vips" => o.release_vips = true,
                "dont-release-vrrp" => o.daemon.dont_release_vrrp = true,
                "dont-release-ipvs" => o.daemon.dont_release_ipvs = true,
                "namespace" => o.daemon.namespace = Some(parse_namespace(&val())?),
                "core-dump" => o.daemon.core_dump = true,
                "core-dump-pattern" => {
                    o.daemon.core_dump = true;
                    o.core_dump_pattern =
                        Some(value.filter(|v| !v.is_empty()).unwrap_or_else(|| "core".into()));
                }
                "ignore-sigint" => o.daemon.ignore_sigint = true,
                "all-config" => o.daemon.all_config = true,
                "all" => o.daemon.all_children = true,
                // Done by vigil anyway: no BFD child to leave out, no malloc checker to turn off.
                "no_bfd" | "no-mem-check" => {}
                "address-monitoring" => o.daemon.address_monitoring = true,
                "version" => return Ok(Command::Version),
                "help" => return Ok(Command::Help),
                _ => unreachable!("option table entry {name} not handled"),
            }
        }
    }
    o.daemon.warnings = o.unsupported();
    Ok(Command::Run(Box::new(o)))
}

pub fn usage() -> String {
    format!(
        "Usage: vigil [OPTION...]\n\
         keepalived-compatible VRRP and health-check daemon, v{VERSION}\n\n\
         \x20 -f, --use-file=FILE        configuration file (default {DEFAULT_CONFIG})\n\
         \x20 -P, --vrrp                 only run the VRRP subsystem\n\
         \x20 -C, --check                only run the health-checker subsystem\n\
         \x20 -B, --no_bfd               do not run BFD (vigil never does)\n\
         \x20 -l, --log-console          log to the console\n\
         \x20 -D, --log-detail           detailed log messages\n\
         \x20 -S, --log-facility=[0-7]   syslog facility local0..local7 (default daemon)\n\
         \x20 -g, --log-file[=FILE]      also log to FILE (default $TMPDIR or /tmp/keepalived.log);\n\
         \x20                            the children write FILE_vrrp and FILE_check\n\
         \x20     --flush-log-file       flush the log file on every write (vigil always does)\n\
         \x20 -G, --no-syslog            do not log to syslog\n\
         \x20 -u, --umask=MASK           file-creation mask, numeric as in C (077 octal, 0x3f, 63)\n\
         \x20 -n, --dont-fork            stay in the foreground\n\
         \x20 -R, --dont-respawn         do not restart children that die\n\
         \x20 -X, --release-vips         accepted: vigil always drops VIPs on leaving MASTER\n\
         \x20 -V, --dont-release-vrrp    leave VIPs, virtual routes and rules in place on exit\n\
         \x20 -I, --dont-release-ipvs    leave the IPVS table in place on exit\n\
         \x20 -s, --namespace=NAME       run in network namespace NAME (/var/run/netns/NAME)\n\
         \x20 -p, --pid=FILE             parent pid file (default /run/keepalived.pid)\n\
         \x20 -r, --vrrp_pid=FILE        VRRP child pid file (default /run/vrrp.pid)\n\
         \x20 -c, --checkers_pid=FILE    checker child pid file (default /run/checkers.pid)\n\
         \x20                            with -s NAME the defaults are /run/keepalived/NAME/*.pid\n\
         \x20 -b, --bfd_pid=FILE         accepted for compatibility; vigil has no BFD child\n\
         \x20 -m, --core-dump            unlimited core file size\n\
         \x20 -M, --core-dump-pattern[=PATTERN]  as -m; the kernel's core_pattern is not changed\n\
         \x20 -e, --all-config           a missing included file is an error\n\
         \x20     --ignore-sigint        SIGINT does not stop the daemon\n\
         \x20     --no-mem-check         accepted (vigil has no malloc checker)\n\
         \x20 -a, --address-monitoring   log every address added or removed (VRRP child)\n\
         \x20     --all                  run both children even without configuration for them\n\
         \x20 -t, --config-test[=FILE]   check the configuration, print every finding (to FILE), exit\n\
         \x20     --dump                 with -t: print the effective configuration\n\
         \x20 -i, --config-id=ID         match @ID conditional lines (default short hostname)\n\
         \x20 -d, --dump-conf            log the effective configuration at start (with -t: print it)\n\
         \x20 -v, --version              print the version\n\
         \x20 -h, --help                 this text\n\n\
         Subcommands: vigil status [-s NAME] [-i ID] [-p PIDFILE] [--json | --prometheus],\n\
         \x20 vigil upgrade [-s NAME] [-i ID] [-p PIDFILE], vigil genhash ...\n"
    )
}

/// Entry point: dispatch on the name we were called by, then on arguments.
pub fn main(argv: Vec<OsString>) -> i32 {
    let argv: Vec<String> = argv.into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let prog = argv.first().map(|a| basename(a)).unwrap_or("vigil");
    let rest = argv.get(1..).unwrap_or(&[]);
    if prog == "genhash" {
        return genhash_main(rest);
    }
    match rest.first().map(String::as_str) {
        Some("genhash") => return genhash_main(&rest[1..]),
        Some("-T") | Some("--genhash") => return genhash_main(&rest[1..]),
        Some("status") => return status_main(&rest[1..]),
        Some("upgrade") => return upgrade_main(&rest[1..]),
        // Hidden: exercises the IPVS client on a test machine (flushes IPVS).
        Some("ipvs-selftest") => return crate::ipvs::selftest::main(&rest[1..]),
        Some(a) if a.starts_with("--signum=") => return crate::daemon::signum_main(&a["--signum=".len()..]),
        _ => {}
    }
    match parse_args(rest) {
        Ok(Command::Help) => {
            print!("{}", usage());
            EXIT_OK
        }
        Ok(Command::Version) => {
            println!("vigil v{VERSION} (keepalived-compatible)");
            EXIT_OK
        }
        Ok(Command::Run(o)) if o.config_test => config_test(&o),
        Ok(Command::Run(o)) => crate::daemon::run(o.daemon),
        Err(e) => {
            eprintln!("vigil: {e}\nTry 'vigil --help'.");
            2
        }
    }
}

const STATUS_USAGE: &str = "Usage: vigil status [-s NAME] [-i ID] [-p PIDFILE] [--json | --prometheus]\n\
     -s, -i and -p name the daemon as they did when it was started";

/// `vigil status [-s NAME] [-i ID] [-p FILE] [--json | --prometheus]`: the
/// flags find the daemon started with the same ones (see
/// [`RunPaths::for_daemon`]).
fn status_main(args: &[String]) -> i32 {
    use crate::daemon::control::{status, StatusFormat};
    let mut json = false;
    let mut prometheus = false;
    let mut daemon_args = Vec::new();
    for a in args {
        match a.as_str() {
            "--json" | "-j" => json = true,
            "--prometheus" => prometheus = true,
            _ => daemon_args.push(a.clone()),
        }
    }
    if json && prometheus {
        eprintln!("vigil status: --json and --prometheus exclude each other\n{STATUS_USAGE}");
        return 2;
    }
    let paths = match daemon_paths(&daemon_args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil status: {e}\n{STATUS_USAGE}");
            return 2;
        }
    };
    let format = match (json, prometheus) {
        (true, _) => StatusFormat::Json,
        (_, true) => StatusFormat::Prometheus,
        _ => StatusFormat::Table,
    };
    status(&paths, format)
}

/// `vigil upgrade [-s NAME] [-i ID] [-p FILE]`: ask the daemon those flags
/// name to re-execute its binary, and wait until it runs again.
fn upgrade_main(args: &[String]) -> i32 {
    const USAGE: &str = "Usage: vigil upgrade [-s NAME] [-i ID] [-p PIDFILE]\n\
         re-executes the daemon's binary (the file at the path it was started from) without dropping its VIPs";
    match daemon_paths(args) {
        Ok(paths) => crate::daemon::upgrade::upgrade(&paths),
        Err(e) => {
            eprintln!("vigil upgrade: {e}\n{USAGE}");
            2
        }
    }
}

/// The paths of the daemon that the identifying flags in `args` (`-s`,
/// `-i`, `-p`, in the daemon's own syntax) name; any other flag is an error.
pub fn daemon_paths(args: &[String]) -> Result<RunPaths, String> {
    let opts = match parse_args(args)? {
        Command::Run(o) => o,
        _ => return Err("unexpected --help or --version".into()),
    };
    let identity = Settings {
        namespace: opts.daemon.namespace.clone(),
        config_id: opts.daemon.config_id.clone(),
        pid_file: opts.daemon.pid_file.clone(),
        ..Default::default()
    };
    if *opts != (Options { daemon: identity, ..Default::default() }) {
        return Err(format!("only -s, -i and -p (which daemon) are accepted here, not '{}'", args.join(" ")));
    }
    Ok(RunPaths::for_daemon(&opts.daemon))
}

fn basename(p: &str) -> &str {
    Path::new(p).file_name().and_then(|s| s.to_str()).unwrap_or(p)
}

fn load_options(o: &Options) -> config::LoadOptions {
    let mut lo = config::LoadOptions::default();
    if let Some(id) = &o.daemon.config_id {
        lo.config_id = id.clone();
    }
    lo
}

/// `vigil -t`: print every diagnostic; exit 0 if none is an error.
fn config_test(o: &Options) -> i32 {
    if let Some(path) = &o.config_test_log {
        // keepalived's -tFILE: the findings are appended to FILE instead of stderr.
        if let Err(e) = redirect_stderr(path) {
            eprintln!("vigil: cannot open config-test log file {}: {e}", path.display());
            return EXIT_CONFIG_FATAL;
        }
    }
    if !o.daemon.config_file.exists() {
        // keepalived 2.2.7 exits 0 here; an init script deserves better.
        eprintln!("{}: error: configuration file not found", o.daemon.config_file.display());
        return EXIT_CONFIG_FATAL;
    }
    let mut loaded = config::load_file(&o.daemon.config_file, &load_options(o));
    host_checks::check(&loaded.config, &mut loaded.diags);
    if o.daemon.all_config {
        loaded.require_includes();
    }
    // In file order, so the output reads alongside the config.
    loaded.diags.sort_by(|a, b| {
        let key = |d: &config::Diagnostic| d.loc.as_ref().map(|l| (l.file.clone(), l.line, l.col));
        key(a).cmp(&key(b))
    });
    for d in &loaded.diags {
        eprintln!("{d}");
    }
    // keepalived's -t -d dumps the configuration too.
    if o.dump_effective || o.daemon.dump_conf {
        print!("{}", config::dump::dump(&loaded.config));
    }
    let errors = loaded.diags.iter().filter(|d| d.is_error()).count();
    let warnings = loaded.diags.len() - errors;
    eprintln!("{}: {} error(s), {} warning(s)", o.daemon.config_file.display(), errors, warnings);
    // The process exits next: handing a configuration of hundreds of
    // instances back to the allocator piece by piece is wasted work.
    std::mem::forget(loaded);
    if errors > 0 {
        EXIT_CONFIG_ERRORS
    } else {
        EXIT_OK
    }
}

fn redirect_stderr(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    // SAFETY: both descriptors are valid; dup2 onto 2 replaces stderr.
    if unsafe { libc::dup2(f.as_raw_fd(), 2) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn genhash_main(args: &[String]) -> i32 {
    crate::genhash::main(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse_args(&v).unwrap() {
            Command::Run(o) => *o,
            c => panic!("unexpected {c:?}"),
        }
    }

    #[test]
    fn short_long_and_glued_forms() {
        assert_eq!(run(&["-f", "/x.conf"]).daemon.config_file, PathBuf::from("/x.conf"));
        assert_eq!(run(&["-f/y.conf"]).daemon.config_file, PathBuf::from("/y.conf"));
        assert_eq!(run(&["--use-file=/z.conf"]).daemon.config_file, PathBuf::from("/z.conf"));
        assert_eq!(run(&["--use-file", "/w.conf"]).daemon.config_file, PathBuf::from("/w.conf"));
        let o = run(&["-n", "-l", "-D", "-P", "-S", "7", "-i", "node1", "-t"]);
        assert!(
            o.daemon.dont_fork
                && o.daemon.log_console
                && o.daemon.log_detail
                && o.daemon.vrrp_only
                && o.config_test
        );
        assert_eq!(o.daemon.log_facility.as_deref(), Some("7"));
        assert_eq!(o.daemon.config_id.as_deref(), Some("node1"));
        let o = run(&["-p", "/run/a.pid", "-r", "/run/b.pid", "-c", "/run/c.pid", "-b", "/run/d.pid"]);
        assert_eq!(o.daemon.checkers_pid_file, Some(PathBuf::from("/run/c.pid")));
    }

    #[test]
    fn optional_values_are_only_glued() {
        // -g alone must not eat the next flag.
        let o = run(&["-g", "-n"]);
        assert_eq!(o.daemon.log_file.as_deref(), Some("keepalived.log"));
        assert!(o.daemon.dont_fork);
        assert_eq!(run(&["-g/var/log/k.log"]).daemon.log_file.as_deref(), Some("/var/log/k.log"));
        assert_eq!(run(&["--log-file=/x.log", "-l"]).daemon.log_file.as_deref(), Some("/x.log"));
        let o = run(&["--log-file", "-l"]);
        assert_eq!(o.daemon.log_file.as_deref(), Some("keepalived.log"));
        assert!(o.daemon.log_console);
        assert!(parse_args(&["--log-file".into(), "/x.log".into()]).is_err());
        let o = run(&["-M", "-n"]);
        assert!(o.daemon.core_dump && o.daemon.dont_fork);
        assert_eq!(o.core_dump_pattern.as_deref(), Some("core"));
        let o = run(&["-t/tmp/x.txt"]);
        assert!(o.config_test);
        assert_eq!(o.config_test_log, Some(PathBuf::from("/tmp/x.txt")));
        assert_eq!(run(&["-t", "-n"]).config_test_log, None);
    }

    #[test]
    fn bundled_short_flags() {
        let o = run(&["-nlD", "-PGf/k.conf"]);
        assert!(
            o.daemon.dont_fork
                && o.daemon.log_console
                && o.daemon.log_detail
                && o.daemon.vrrp_only
                && o.daemon.no_syslog
        );
        assert_eq!(o.daemon.config_file, PathBuf::from("/k.conf"));
        let o = run(&["-nVIs", "blue"]);
        assert!(o.daemon.dont_release_vrrp && o.daemon.dont_release_ipvs);
        assert_eq!(o.daemon.namespace.as_deref(), Some("blue"));
        assert!(parse_args(&["-nq".into()]).is_err());
    }

    #[test]
    fn namespace_umask_and_release_flags() {
        let o = run(&["-s", "blue", "-u", "077", "-V", "-I", "-X"]);
        assert_eq!(o.daemon.namespace.as_deref(), Some("blue"));
        assert_eq!(o.daemon.umask, Some(0o77));
        assert!(o.daemon.dont_release_vrrp && o.daemon.dont_release_ipvs && o.release_vips);
        assert_eq!(run(&["--namespace=red", "--umask=0027"]).daemon.namespace.as_deref(), Some("red"));
        assert_eq!(run(&["--umask=0027"]).daemon.umask, Some(0o27));
        assert_eq!(run(&["-u0"]).daemon.umask, Some(0));
        assert_eq!(run(&["-u", "18"]).daemon.umask, Some(18));
        assert_eq!(run(&["-u", "0x1ff"]).daemon.umask, Some(0o777));
        // As keepalived's strtoll(.., 0): without a leading 0 the number is decimal.
        assert_eq!(run(&["-u", "8"]).daemon.umask, Some(8));
        for bad in ["512", "0778", "01000", "abc", "", "-1", "0x"] {
            assert!(parse_args(&["-u".into(), bad.into()]).is_err(), "umask {bad:?}");
        }
        for bad in ["", "a/b", "..", "."] {
            assert!(parse_args(&["-s".into(), bad.into()]).is_err(), "namespace {bad:?}");
        }
        assert!(parse_args(&["-s".into()]).is_err());
        assert!(parse_args(&["--dont-fork=yes".into()]).is_err());
    }

    #[test]
    fn unsupported_flags_are_named() {
        let o = run(&["-a", "--all", "-X", "-M/tmp/core", "--no-mem-check", "-B", "--flush-log-file"]);
        let w = o.unsupported();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(o.daemon.all_children && o.daemon.address_monitoring);
        assert_eq!(run(&["-a", "-C"]).unsupported().len(), 1);
        assert!(w.iter().any(|l| l.contains("core_pattern")), "{w:?}");
        assert!(w.iter().any(|l| l.starts_with("-X/--release-vips")), "{w:?}");
        assert!(o.flush_log_file && o.daemon.core_dump);
        assert!(run(&["-n", "--ignore-sigint", "-e", "-m"]).unsupported().is_empty());
        let o = run(&["--ignore-sigint", "-e"]);
        assert!(o.daemon.ignore_sigint && o.daemon.all_config);
    }

    #[test]
    fn help_names_every_option() {
        let help = usage();
        for (short, long, _) in OPTIONS {
            assert!(help.contains(&format!("--{long}")), "--{long} missing from --help");
            if let Some(c) = short {
                assert!(help.contains(&format!("-{c},")), "-{c} missing from --help");
            }
        }
    }

    #[test]
    fn help_prints_the_usage() {
        assert_eq!(parse_args(&["-h".into()]).unwrap(), Command::Help);
        assert_eq!(parse_args(&["--help".into()]).unwrap(), Command::Help);
        assert!(usage().contains("-f, --use-file=FILE"));
    }

    #[test]
    fn config_id_selects_the_at_id_lines() {
        let o = run(&["-i", "lb2"]);
        let text = b"vrrp_instance V {\n interface eth0\n virtual_router_id 1\n@lb1 priority 150\n@lb2 priority 50\n}\n";
        let lo = load_options(&o);
        let l = config::load_bytes("t.conf", text, Path::new("/"), &lo);
        assert_eq!(l.config.instances[0].priority, Some(50));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(parse_args(&["-f".into()]).is_err());
        assert!(parse_args(&["--bogus".into()]).is_err());
        assert!(parse_args(&["stray".into()]).is_err());
        assert_eq!(parse_args(&["-v".into()]).unwrap(), Command::Version);
    }

    #[test]
    fn status_takes_the_daemons_identifying_flags_only() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = daemon_paths(&args(&["-i", "node1", "--pid=/run/n1.pid", "-s", "blue"])).unwrap();
        assert_eq!(p.identity, "namespace blue, config-id node1, pid file /run/n1.pid");
        assert_eq!(daemon_paths(&args(&[])).unwrap().identity, "default");
        for bad in [&["-f", "x.conf"][..], &["-P"], &["--bogus"], &["extra"], &["-s"]] {
            assert!(daemon_paths(&args(bad)).is_err(), "{bad:?}");
        }
    }

    /// Every flag parse_args accepts is in FLAGS, and nothing else is.
    #[test]
    fn every_flag_is_classified() {
        let mut accepted: Vec<String> = Vec::new();
        for (short, long, _) in OPTIONS {
            accepted.extend(short.map(|c| c.to_string()));
            accepted.push(long.to_string());
        }
        let listed: Vec<&str> =
            crate::config::coverage::FLAGS.iter().flat_map(|(n, _)| n.iter().copied()).collect();
        for a in &accepted {
            assert!(
                listed.contains(&a.as_str()),
                "flag '{a}' is accepted by cli::parse_args but not in FLAGS"
            );
        }
        for l in &listed {
            assert!(
                accepted.iter().any(|a| a == l),
                "FLAGS lists '{l}', which cli::parse_args does not accept"
            );
        }
    }
}
