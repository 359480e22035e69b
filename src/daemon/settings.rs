//! What the daemon is told at start: the command line's meaning for the
//! processes, built by `cli` (which also keeps the flags only `-t` reads).

use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub config_file: PathBuf,
    pub dont_fork: bool,
    pub log_console: bool,
    pub log_detail: bool,
    /// syslog facility number 0..=7 for local0..local7, or a raw LOG_* value.
    pub log_facility: Option<String>,
    pub no_syslog: bool,
    pub vrrp_only: bool,
    pub check_only: bool,
    pub pid_file: Option<PathBuf>,
    pub vrrp_pid_file: Option<PathBuf>,
    pub checkers_pid_file: Option<PathBuf>,
    pub config_id: Option<String>,
    pub dump_conf: bool,
    pub dont_respawn: bool,
    pub dont_release_vrrp: bool,
    pub dont_release_ipvs: bool,
    /// `-s NAME`: run in the network namespace /var/run/netns/NAME.
    pub namespace: Option<String>,
    /// `-u MASK`: the file-creation mask, already validated.
    pub umask: Option<u32>,
    /// `-g[FILE]`: also log to FILE (`keepalived.log` when none is given);
    /// see [`super::log::log_file_name`] for the name each process writes.
    pub log_file: Option<String>,
    pub ignore_sigint: bool,
    /// `-a`: the VRRP child logs every address added or removed.
    pub address_monitoring: bool,
    /// `--all`: run every child even without configuration for it.
    pub all_children: bool,
    /// `-e`: a missing included file is an error, as with `includet`.
    pub all_config: bool,
    /// `-m`, or `-M[PATTERN]`: unlimited core size for the daemon.
    pub core_dump: bool,
    /// One line per accepted flag that does not do in vigil what it does in
    /// keepalived, for the daemon to log at start (`cli` names them).
    pub warnings: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config_file: PathBuf::from(DEFAULT_CONFIG),
            dont_fork: false,
            log_console: false,
            log_detail: false,
            log_facility: None,
            no_syslog: false,
            vrrp_only: false,
            check_only: false,
            pid_file: None,
            vrrp_pid_file: None,
            checkers_pid_file: None,
            config_id: None,
            dump_conf: false,
            dont_respawn: false,
            dont_release_vrrp: false,
            dont_release_ipvs: false,
            namespace: None,
            umask: None,
            log_file: None,
            ignore_sigint: false,
            all_config: false,
            all_children: false,
            address_monitoring: false,
            core_dump: false,
            warnings: Vec::new(),
        }
    }
}
