//! The typed configuration, holding keepalived's defaults.
//!
//! `Option` marks a value whose default is inherited or derived (checker ->
//! real server -> virtual server -> built-in, or instance -> global_defs);
//! the `effective_*` methods resolve it. Everything else already holds the
//! built-in default after parsing.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use super::diag::Loc;

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub global: GlobalDefs,
    pub static_ipaddress: Vec<VipSpec>,
    pub static_routes: Vec<RouteLine>,
    pub static_rules: Vec<RuleLine>,
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `vrrp_track_ping` blocks (a vigil extension).
    pub track_pings: Vec<VrrpTrackPing>,
    /// Top-level `track_file` / `vrrp_track_file` blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks.
    pub track_processes: Vec<VrrpTrackProcess>,
    pub sync_groups: Vec<VrrpSyncGroup>,
    pub instances: Vec<VrrpInstance>,
    pub vs_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    /// Keywords accepted but not acted on (`Kind::Ignored`), where they were
    /// written: `-t` warns about each, `--dump` lists them.
    pub ignored: Vec<Ignored>,
}

/// One use of a keyword vigil accepts but does not act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    pub ctx: super::keywords::Ctx,
    pub name: &'static str,
    pub loc: Loc,
}

/// A top-level `track_file NAME { file PATH; weight N [reverse]; init_file [V] [overwrite] }`:
/// an integer read from a file whenever it changes (keepalived's track_file.c).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFile {
    pub name: String,
    pub path: std::path::PathBuf,
    /// -254..=254, default 1: what users multiply the value by.
    pub weight: i32,
    pub reverse: bool,
    pub init: Option<TrackFileInit>,
    pub loc: Loc,
}

/// `init_file [V] [overwrite]`: write V (default 0) at start when the file
/// is missing, or always with `overwrite`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackFileInit {
    pub value: i64,
    pub overwrite: bool,
}

/// FILE_CHECK: a real server's state and weight from a `track_file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCheck {
    /// The `track_file` block's name.
    pub track: String,
    /// `weight N [reverse]` here, else the track_file's.
    pub weight: Option<(i32, bool)>,
}

impl Config {
    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|t| t.name == name)
    }

    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }

    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }

    pub fn vs_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.vs_groups.iter().find(|g| g.name == name)
    }
}

/// Where each keyword of a block was written, for diagnostics about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locs(pub Vec<(String, Loc)>);

impl Locs {
    pub fn set(&mut self, keyword: &str, loc: Loc) {
        self.0.retain(|(k, _)| k != keyword);
        self.0.push((keyword.to_string(), loc));
    }

    pub fn of(&self, keyword: &str) -> Option<&Loc> {
        self.0.iter().find(|(k, _)| k == keyword).map(|(_, l)| l)
    }
}

/// One line of a route or rule list (`virtual_routes`, `static_rules`...)
/// in `ip` syntax: the words as written (dumps, messages) and what they
/// parse to, once, when the configuration is read. `Err` says why vigil
/// skips the line (`-t` warns; the engine logs it when it would install it).
#[derive(Clone)]
pub struct IpLine<T> {
    pub words: Vec<String>,
    pub loc: Loc,
    /// Shared, not copied, by the clones the engine keeps.
    pub parsed: Rc<Result<T, String>>,
}

/// `parsed` follows from `words`: lines are the same when their words
/// (and places) are, and they print as written.
impl<T> PartialEq for IpLine<T> {
    fn eq(&self, other: &Self) -> bool {
        self.words == other.words && self.loc == other.loc
    }
}

impl<T> Eq for IpLine<T> {}

impl<T> fmt::Debug for IpLine<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpLine").field("words", &self.words).field("loc", &self.loc).finish()
    }
}

/// A `virtual_routes` / `static_routes` line.
pub type RouteLine = IpLine<super::route::Route>;
/// A `virtual_rules` / `static_rules` line.
pub type RuleLine = IpLine<super::rule::RuleSpec>;

/// A program to run: argv plus an optional user and group to run it as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub args: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub loc: Loc,
}

impl Command {
    /// The program path (first word).
    pub fn program(&self) -> &str {
        self.args.first().map(String::as_str).unwrap_or("")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpServer {
    /// An IP address or a host name, as written.
    pub host: String,
    pub port: u16,
}

/// `nftables [TABLE]`, `nftables_priority`, `nftables_counters` and
/// `nftables_ifindex`: where and how VIPs of instances without accept mode
/// are blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nftables {
    /// `nftables [TABLE]`; unset, the table is `keepalived` as well.
    pub table: Option<String>,
    /// The base chains' hook priority.
    pub priority: i32,
    /// A counter in every rule.
    pub counters: bool,
    /// Link-local VIPs keyed by interface index even under `dont_track_primary`.
    pub ifindex: bool,
}

impl Default for Nftables {
    fn default() -> Self {
        Nftables { table: None, priority: -1, counters: false, ifindex: false }
    }
}

impl Nftables {
    pub const DEFAULT_TABLE: &'static str = "keepalived";

    pub fn table_name(&self) -> &str {
        self.table.as_deref().unwrap_or(Self::DEFAULT_TABLE)
    }
}

#[derive(Clone, Debug)]
pub struct GlobalDefs {
    /// `None`: the short host name.
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_connect_timeout: Duration,
    pub smtp_helo_name: Option<String>,
    /// Global alert defaults; `None` = unset (VRRP off, real servers on).
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub no_email_faults: bool,
    /// No IGMP reports for 224.0.0.x groups while a VMAC is in use.
    pub disable_local_igmp: bool,
    /// The nf_tables table that enforces no_accept.
    pub nftables: Nftables,
    pub vrrp_sched: Scheduling,
    pub checker_sched: Scheduling,
    /// Mail only when a real server changes state, not each checker.
    pub no_checker_emails: bool,
    pub checker_log_all_failures: bool,
    /// `script_user USER [GROUP]`; `None`: keepalived_script if it exists, else root.
    pub script_user: Option<(String, Option<String>)>,
    /// Refuse root scripts that a non-root user could change (src/script/policy.rs).
    pub enable_script_security: bool,
    /// `startup_script CMD [user [group]]`: run by the parent before the
    /// children start (at start only, not on a reload or an upgrade).
    pub startup_script: Option<Command>,
    pub startup_script_timeout: Duration,
    /// `shutdown_script CMD [user [group]]`: run by the parent once the
    /// children have stopped.
    pub shutdown_script: Option<Command>,
    pub shutdown_script_timeout: Duration,
    /// `max_auto_priority [N]`: the highest SCHED_RR priority a child whose
    /// timers run late raises itself to; `None`: off (keepalived's 0 and -1).
    pub max_auto_priority: Option<u32>,
    /// `min_auto_priority_delay USECS`: how late a timer must run to count.
    pub min_auto_priority_delay: Duration,
    pub vrrp_strict: bool,
    pub vrrp_version: u8,
    pub vrrp_mcast_group4: IpAddr,
    pub vrrp_mcast_group6: IpAddr,
    pub vrrp_garp_master_delay: Duration,
    pub vrrp_garp_master_repeat: u32,
    pub vrrp_garp_master_refresh: Duration,
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `None`: same as the master delay / repeat.
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    pub vrrp_garp_interval: Duration,
    pub vrrp_gna_interval: Duration,
    pub vrrp_min_garp: bool,
    pub vrrp_lower_prio_no_advert: bool,
    /// keepalived: off; vigil: on, so a healed split brain's winner always
    /// hears the loser and re-announces its VIPs (see `vrrp::InstanceParams`).
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_skip_check_adv_addr: bool,
    /// keepalived: off; vigil: on (unicast adverts from non-peers dropped).
    pub vrrp_check_unicast_src: bool,
    pub vrrp_startup_delay: Duration,
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_owner_ignore_adverts: bool,
    pub default_interface: String,
    pub notify_fifo: Option<Fifo>,
    /// `vrrp_notify_priority_changes`: FIFO lines for effective priority changes.
    pub vrrp_notify_priority_changes: bool,
    pub vrrp_notify_fifo: Option<Fifo>,
    pub lvs_notify_fifo: Option<Fifo>,
    /// `metrics_listen ADDR:PORT` (a vigil extension): the parent serves
    /// the Prometheus metrics there (`daemon::metrics_http`).
    pub metrics_listen: Option<SocketAddr>,
    /// `lvs_sync_daemon`: the kernel's IPVS connection sync daemon.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `lvs_timeouts` in seconds; 0 leaves the kernel's value.
    pub lvs_timeouts: Option<LvsTimeouts>,
    /// `lvs_flush`: empty the IPVS table when the checker starts.
    pub lvs_flush: bool,
    pub lvs_flush_on_stop: LvsFlushOnStop,
    /// `reload_check_config [LOGFILE]`: the report of the check of a new
    /// configuration at a reload goes there (bare: /dev/null, as keepalived).
    pub reload_check_config: Option<String>,
    /// `reload_file [FILE]`: made while a reload reads the new configuration
    /// and removed after (bare: /run/keepalived.reload, as keepalived).
    pub reload_file: Option<String>,
    /// `reload_time_file FILE`: the parent reloads at the time the file
    /// holds (`daemon::reload_schedule` reads it).
    pub reload_time_file: Option<String>,
    /// `reload_repeat`: a time-only `reload_time_file` stays after its
    /// reload, which then comes again the next day.
    pub reload_repeat: bool,
    /// Top-level `garp_group` blocks (kept here, with the global
    /// intervals they override for their interfaces).
    pub garp_groups: Vec<GarpGroup>,
    /// `*_rcv_bufs[_force]`: receive buffers of the netlink sockets.
    pub netlink_bufs: NetlinkBufs,
    /// `vrrp_rx_bufs_policy`: how the VRRP receive sockets' buffers are sized.
    pub vrrp_rx_bufs: RxBufsPolicy,
    /// `vrrp_rx_bufs_multiplier` (keepalived's default 3).
    pub vrrp_rx_bufs_multiplier: u32,
    pub locs: Locs,
}

/// `garp_group { garp_interval; gna_interval; interface; interfaces {} }`:
/// the spacing of gratuitous ARPs / unsolicited NAs on its interfaces, in
/// place of `vrrp_garp_interval` / `vrrp_gna_interval` (an interval the
/// group leaves unset is none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpGroup {
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
    pub interfaces: Vec<String>,
}

impl GlobalDefs {
    /// The spacing of the gratuitous messages of a burst on `ifname`
    /// (IPv4: ARPs, IPv6: NAs).
    pub fn garp_spacing(&self, ifname: &str, ipv4: bool) -> Duration {
        match self.garp_groups.iter().find(|g| g.interfaces.iter().any(|i| i == ifname)) {
            Some(g) => if ipv4 { g.garp_interval } else { g.gna_interval }.unwrap_or(Duration::ZERO),
            None if ipv4 => self.vrrp_garp_interval,
            None => self.vrrp_gna_interval,
        }
    }
}

/// A netlink socket's receive buffer from the configuration: `bytes` 0
/// keeps vigil's own sizing; `force` uses SO_RCVBUFFORCE (root, past
/// net.core.rmem_max) rather than SO_RCVBUF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RcvBuf {
    pub bytes: u32,
    pub force: bool,
}

/// Which netlink socket each `*_rcv_bufs` keyword sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetlinkBufs {
    /// The VRRP child's rtnetlink request socket.
    pub vrrp_cmd: RcvBuf,
    /// The VRRP child's rtnetlink link/address event socket.
    pub vrrp_monitor: RcvBuf,
    /// The process connector of `vrrp_track_process`.
    pub process_monitor: RcvBuf,
    /// The checker child's IPVS generic netlink socket, its one netlink
    /// request socket. keepalived sizes its checker's rtnetlink request
    /// socket (the start-up address lookup for `ha_suspend`) with the same
    /// keyword; vigil's checker has no such socket.
    pub lvs_cmd: RcvBuf,
    /// The checker child's rtnetlink address event socket, opened only for
    /// a virtual server with `ha_suspend`.
    pub lvs_monitor: RcvBuf,
}

/// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE`: each instance adds its share to
/// the receive buffer of the socket it shares (keepalived's sockpool).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RxBufsPolicy {
    /// The kernel's default buffer.
    #[default]
    Kernel,
    /// multiplier x the interface MTU per instance.
    Mtu,
    /// multiplier x the advert's length (IP header included) per instance.
    Advert,
    /// This many bytes per instance.
    Size(u32),
}

impl RxBufsPolicy {
    /// One instance's share of its socket's buffer (0: none).
    pub fn share(self, multiplier: u32, mtu: u32, advert_len: usize) -> u64 {
        let m = u64::from(multiplier);
        match self {
            RxBufsPolicy::Kernel => 0,
            RxBufsPolicy::Mtu => m * u64::from(mtu),
            RxBufsPolicy::Advert => m * advert_len as u64,
            RxBufsPolicy::Size(n) => n.into(),
        }
    }
}

/// `lvs_sync_daemon IF [inst VI] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    pub ifname: String,
    /// The VRRP instance the daemon follows (master or backup with it);
    /// `None`: the checker runs both a master and a backup daemon.
    pub instance: Option<String>,
    /// `None`: the instance's VRID, or 0 without an instance.
    pub sync_id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LvsTimeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// `lvs_flush_on_stop [VS]`: how the checker empties IPVS when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LvsFlushOnStop {
    /// Remove its own real servers and virtual servers one by one.
    #[default]
    No,
    /// Flush the whole table at once.
    Full,
    /// Remove its virtual servers (with their real servers), not each real server.
    VirtualServers,
}

/// `notify_fifo PATH [user [group]]` plus its optional `_script`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fifo {
    pub path: String,
    pub user: Option<String>,
    pub group: Option<String>,
    pub script: Option<Command>,
}

/// keepalived's default `startup_script_timeout` / `shutdown_script_timeout`.
pub const LIFECYCLE_SCRIPT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_helo_name: None,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            disable_local_igmp: false,
            nftables: Nftables::default(),
            vrrp_sched: Scheduling::default(),
            checker_sched: Scheduling::default(),
            no_checker_emails: false,
            checker_log_all_failures: false,
            script_user: None,
            enable_script_security: false,
            vrrp_strict: false,
            vrrp_version: 2,
            vrrp_mcast_group4: IpAddr::from([224, 0, 0, 18]),
            vrrp_mcast_group6: IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]),
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_min_garp: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: true,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: true,
            vrrp_startup_delay: Duration::ZERO,
            vrrp_down_timer_adverts: 3,
            vrrp_owner_ignore_adverts: false,
            default_interface: String::from("eth0"),
            notify_fifo: None,
            vrrp_notify_priority_changes: false,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            metrics_listen: None,
            startup_script: None,
            startup_script_timeout: LIFECYCLE_SCRIPT_TIMEOUT,
            shutdown_script: None,
            shutdown_script_timeout: LIFECYCLE_SCRIPT_TIMEOUT,
            max_auto_priority: None,
            min_auto_priority_delay: Duration::from_secs(1),
            lvs_sync_daemon: None,
            lvs_timeouts: None,
            lvs_flush: false,
            lvs_flush_on_stop: LvsFlushOnStop::No,
            reload_check_config: None,
            reload_file: None,
            reload_time_file: None,
            reload_repeat: false,
            garp_groups: Vec::new(),
            netlink_bufs: NetlinkBufs::default(),
            vrrp_rx_bufs: RxBufsPolicy::Kernel,
            vrrp_rx_bufs_multiplier: 3,
            locs: Locs::default(),
        }
    }
}

/// A `virtual_ipaddress` / `static_ipaddress` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipSpec {
    pub addr: IpAddr,
    /// /32 or /128 when not written.
    pub prefix_len: u8,
    pub brd: Option<Broadcast>,
    pub dev: Option<String>,
    /// `None`: global.
    pub scope: Option<String>,
    pub label: Option<String>,
    pub peer: Option<IpAddr>,
    pub no_track: bool,
    pub home: bool,
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub preferred_lft: Option<String>,
    pub use_vmac: bool,
    pub track_group: Option<String>,
    pub loc: Loc,
}

impl VipSpec {
    pub fn new(addr: IpAddr, loc: Loc) -> Self {
        VipSpec {
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            brd: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            no_track: false,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            preferred_lft: None,
            use_vmac: false,
            track_group: None,
            loc,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Broadcast {
    Addr(IpAddr),
    /// `brd +`: host bits set.
    Plus,
    /// `brd -`: host bits clear.
    Minus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialState {
    Master,
    Backup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Cleartext password, at most 8 bytes (zero-padded on the wire).
    Pass(Vec<u8>),
    /// IPsec AH (HMAC-MD5-96); the key is the password, zero-padded to 8 bytes.
    Ah(Vec<u8>),
}

/// `auth_hmac` key length accepted by keepalived, after decoding.
pub const KEY_MIN: usize = 32;
pub const KEY_MAX: usize = 64;
/// `time_window` bounds (seconds); the derived default is clamped to [5, 300].
pub const WINDOW_MAX: u32 = 300;
pub const WINDOW_DERIVED_MIN: u32 = 5;

/// keepalived's default window: 3 × advert interval in whole seconds, in [5, 300].
pub fn derived_window(advert_interval_cs: u16) -> u32 {
    (3 * u32::from(advert_interval_cs) / 100).clamp(WINDOW_DERIVED_MIN, WINDOW_MAX)
}

/// The advert interval in centiseconds: v2 carries whole seconds (1–255 in
/// an 8-bit field), v3 centiseconds up to 40.95 s (12 bits). Each version
/// is clamped to its own field: v2's 255 s is 25500 cs, past v3's limit.
pub fn interval_cs(advert_int: Duration, version: u8) -> u16 {
    let ms = advert_int.as_millis();
    let cs = if version == 3 { (ms / 10).clamp(1, 4095) } else { ms.div_ceil(1000).clamp(1, 255) * 100 };
    u16::try_from(cs).unwrap_or(u16::MAX)
}

/// Which adverts carry and need a trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Send the trailer; drop adverts without one.
    Enforce,
    /// Send the trailer; accept adverts without one (counted).
    Permissive,
    /// Send no trailer; accept adverts without one (counted).
    ReceiveOnly,
}

impl Mode {
    pub fn parse(word: &str) -> Option<Mode> {
        match word {
            "enforce" => Some(Mode::Enforce),
            "permissive" => Some(Mode::Permissive),
            "receive-only" => Some(Mode::ReceiveOnly),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Permissive => "permissive",
            Mode::ReceiveOnly => "receive-only",
        }
    }

    /// Whether our adverts carry the trailer.
    pub fn sends(self) -> bool {
        self != Mode::ReceiveOnly
    }
}

/// How the sequence number is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AntiReplay {
    /// Seconds are Unix time: adverts outside ±window are stale, old marks expire.
    Time,
    /// Only ordering: the sequence never goes backwards.
    Monotonic,
}

impl AntiReplay {
    pub fn parse(word: &str) -> Option<AntiReplay> {
        match word {
            "time" => Some(AntiReplay::Time),
            "monotonic" => Some(AntiReplay::Monotonic),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AntiReplay::Time => "time",
            AntiReplay::Monotonic => "monotonic",
        }
    }
}

/// `auth_hmac { ... }` (keepalived 2.4): the HMAC-SHA256 trailer.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthHmac {
    /// (id, decoded key of 32..=64 bytes); ids are unique.
    pub keys: Vec<(u8, Vec<u8>)>,
    /// `None`: not given (the block cannot sign; `config::validate` drops the instance).
    pub active_key: Option<u8>,
    pub anti_replay: AntiReplay,
    /// `None`: derived from the advert interval (time mode).
    pub time_window: Option<u32>,
    pub mode: Mode,
    pub loc: Loc,
    pub mode_loc: Option<Loc>,
    pub active_key_loc: Option<Loc>,
}

impl std::fmt::Debug for AuthHmac {
    /// Key ids and lengths only: the key bytes stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<(u8, usize)> = self.keys.iter().map(|(id, k)| (*id, k.len())).collect();
        f.debug_struct("AuthHmac")
            .field("keys", &keys)
            .field("active_key", &self.active_key)
            .field("anti_replay", &self.anti_replay)
            .field("time_window", &self.time_window)
            .field("mode", &self.mode)
            .finish()
    }
}

impl AuthHmac {
    pub fn new(loc: Loc) -> AuthHmac {
        AuthHmac {
            keys: Vec::new(),
            active_key: None,
            anti_replay: AntiReplay::Time,
            time_window: None,
            mode: Mode::Enforce,
            loc,
            mode_loc: None,
            active_key_loc: None,
        }
    }

    /// The active key's bytes, if it names a loaded key.
    pub fn active(&self) -> Option<&[u8]> {
        let id = self.active_key?;
        self.keys.iter().find(|(k, _)| *k == id).map(|(_, v)| v.as_slice())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackScript {
    pub name: String,
    /// Overrides the script's weight.
    pub weight: Option<i32>,
    pub reverse: bool,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInterface {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    pub master: Option<Command>,
    pub backup: Option<Command>,
    pub fault: Option<Command>,
    pub stop: Option<Command>,
    /// Gets `INSTANCE|GROUP name STATE prio` appended.
    pub any: Option<Command>,
    /// `notify_deleted CMD`: run when a reload removes the instance.
    pub deleted: Option<Command>,
}

impl Notify {
    /// Every script configured here.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        [&self.master, &self.backup, &self.fault, &self.stop, &self.any, &self.deleted].into_iter().flatten()
    }
}

/// How a child process is scheduled (`vrrp_*` / `checker_*` keywords).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scheduling {
    /// `*_rt_priority`: SCHED_RR at 1..=99; 0 turns vigil's default off.
    pub rt_priority: Option<u32>,
    /// `*_priority`: the nice value, -20..=19.
    pub nice: Option<i32>,
    /// `*_no_swap`: lock every page in memory.
    pub no_swap: bool,
    /// `*_rlimit_rttime`: microseconds of CPU a realtime process may use
    /// without blocking before the kernel signals it.
    pub rlimit_rttime: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct VrrpInstance {
    pub name: String,
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    /// 0 when not given (an error reported by `config::validate`).
    pub vrid: u8,
    pub priority: Option<u8>,
    pub advert_int: Duration,
    /// `None`: the global `vrrp_version`, or 3 for IPv6 (`config::validate` fills it in).
    pub version: Option<u8>,
    pub auth: Option<Auth>,
    pub auth_hmac: Option<AuthHmac>,
    pub vips: Vec<VipSpec>,
    pub vips_excluded: Vec<VipSpec>,
    pub virtual_routes: Vec<RouteLine>,
    pub virtual_rules: Vec<RuleLine>,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub track_scripts: Vec<TrackScript>,
    /// `track_ping { NAME [weight N [reverse]] }` (vigil extension).
    pub track_pings: Vec<TrackScript>,
    /// `track_file { NAME [weight N [reverse]] }`: top-level `track_file` blocks.
    pub track_files: Vec<TrackScript>,
    /// `track_process { NAME [weight N [reverse]] }`.
    pub track_processes: Vec<TrackScript>,
    pub track_interfaces: Vec<TrackInterface>,
    pub dont_track_primary: bool,
    pub mcast_src_ip: Option<IpAddr>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    pub unicast_ttl: u8,
    pub check_unicast_src: Option<bool>,
    pub unicast_fault_no_peer: bool,
    /// `use_vmac [NAME]`: `Some(None)` uses the default name `vrrp.<vrid>`.
    pub use_vmac: Option<Option<String>>,
    pub vmac_xmit_base: bool,
    /// `None`: on, except in strict mode where only the owner accepts.
    pub accept: Option<bool>,
    pub strict_mode: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub garp_master_delay: Option<Duration>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh: Option<Duration>,
    pub garp_master_refresh_repeat: Option<u32>,
    pub garp_lower_prio_delay: Option<Duration>,
    pub garp_lower_prio_repeat: Option<u32>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub v3_checksum_as_v2: bool,
    pub down_timer_adverts: Option<u32>,
    pub notify: Notify,
    /// `notify_deleted [CMD]`: a reload that removes the instance reports
    /// DELETED (keepalived's default reports FAULT, or nothing from FAULT).
    pub notify_deleted: bool,
    /// `notify_priority_changes`; unset: the sync group's, then the global.
    pub notify_priority_changes: Option<bool>,
    pub smtp_alert: Option<bool>,
    pub loc: Loc,
    pub locs: Locs,
}

impl VrrpInstance {
    pub fn new(name: String, loc: Loc) -> Self {
        VrrpInstance {
            name,
            state: None,
            interface: None,
            vrid: 0,
            priority: None,
            advert_int: Duration::from_secs(1),
            version: None,
            auth: None,
            auth_hmac: None,
            vips: Vec::new(),
            vips_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            track_scripts: Vec::new(),
            track_pings: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_interfaces: Vec::new(),
            dont_track_primary: false,
            mcast_src_ip: None,
            unicast_src_ip: None,
            unicast_peers: Vec::new(),
            unicast_ttl: 255,
            check_unicast_src: None,
            unicast_fault_no_peer: false,
            use_vmac: None,
            vmac_xmit_base: false,
            accept: None,
            strict_mode: None,
            skip_check_adv_addr: None,
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            garp_master_refresh_repeat: None,
            garp_lower_prio_delay: None,
            garp_lower_prio_repeat: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            owner_ignore_adverts: None,
            v3_checksum_as_v2: false,
            down_timer_adverts: None,
            notify: Notify::default(),
            notify_deleted: false,
            notify_priority_changes: None,
            smtp_alert: None,
            loc,
            locs: Locs::default(),
        }
    }

    /// 100, or 255 when `state MASTER` is given without a priority.
    pub fn effective_priority(&self) -> u8 {
        match (self.priority, self.state) {
            (Some(p), _) => p,
            (None, Some(InitialState::Master)) => 255,
            (None, _) => 100,
        }
    }

    /// The state asked for, or the one derived from the priority.
    pub fn initial_state(&self) -> InitialState {
        match self.state {
            Some(s) => s,
            None if self.effective_priority() == 255 => InitialState::Master,
            None => InitialState::Backup,
        }
    }

    /// True when the first VIP (the instance's address family) is IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().map(|v| v.addr.is_ipv6()).unwrap_or(false)
    }

    pub fn effective_version(&self, g: &GlobalDefs) -> u8 {
        match self.version {
            Some(v) => v,
            None if self.is_ipv6() => 3,
            None => g.vrrp_version,
        }
    }

    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    pub fn effective_strict(&self, g: &GlobalDefs) -> bool {
        self.strict_mode.unwrap_or(g.vrrp_strict)
    }

    /// Accept_Mode: on by default; in strict mode only for the address
    /// owner, and never for a VRRPv2 non-owner (RFC 3768 has no accept mode).
    pub fn effective_accept(&self, g: &GlobalDefs) -> bool {
        let owner = self.effective_priority() == 255;
        let strict = self.effective_strict(g);
        match self.accept {
            Some(true) if strict && !owner && self.effective_version(g) == 2 => false,
            Some(a) => a,
            None => owner || !strict,
        }
    }

    /// Traffic to the VIPs is dropped while MASTER (`no_accept`, or strict
    /// mode's default): never on the address owner, as in keepalived.
    pub fn blocks_vips(&self, g: &GlobalDefs) -> bool {
        !self.effective_accept(g) && self.effective_priority() != 255
    }

    pub fn effective_garp_master_delay(&self, g: &GlobalDefs) -> Duration {
        self.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay)
    }

    pub fn effective_garp_master_repeat(&self, g: &GlobalDefs) -> u32 {
        self.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat)
    }

    pub fn effective_garp_master_refresh(&self, g: &GlobalDefs) -> Duration {
        self.garp_master_refresh.unwrap_or(g.vrrp_garp_master_refresh)
    }

    pub fn effective_garp_master_refresh_repeat(&self, g: &GlobalDefs) -> u32 {
        self.garp_master_refresh_repeat.unwrap_or(g.vrrp_garp_master_refresh_repeat)
    }

    pub fn effective_garp_lower_prio_delay(&self, g: &GlobalDefs) -> Duration {
        self.garp_lower_prio_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .unwrap_or_else(|| self.effective_garp_master_delay(g))
    }

    pub fn effective_garp_lower_prio_repeat(&self, g: &GlobalDefs) -> u32 {
        if self.effective_strict(g) {
            return 0;
        }
        self.garp_lower_prio_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or_else(|| self.effective_garp_master_repeat(g))
    }

    /// Forced on in strict mode.
    pub fn effective_lower_prio_no_advert(&self, g: &GlobalDefs) -> bool {
        self.effective_strict(g) || self.lower_prio_no_advert.unwrap_or(g.vrrp_lower_prio_no_advert)
    }

    /// Forced off in strict mode.
    pub fn effective_higher_prio_send_advert(&self, g: &GlobalDefs) -> bool {
        !self.effective_strict(g) && self.higher_prio_send_advert.unwrap_or(g.vrrp_higher_prio_send_advert)
    }

    pub fn effective_skip_check_adv_addr(&self, g: &GlobalDefs) -> bool {
        self.skip_check_adv_addr.unwrap_or(g.vrrp_skip_check_adv_addr)
    }

    pub fn effective_check_unicast_src(&self, g: &GlobalDefs) -> bool {
        self.check_unicast_src.unwrap_or(g.vrrp_check_unicast_src)
    }

    pub fn effective_owner_ignore_adverts(&self, g: &GlobalDefs) -> bool {
        self.owner_ignore_adverts.unwrap_or(g.vrrp_owner_ignore_adverts)
    }

    pub fn effective_down_timer_adverts(&self, g: &GlobalDefs) -> u32 {
        self.down_timer_adverts.unwrap_or(g.vrrp_down_timer_adverts)
    }

    /// Instance setting, else `smtp_alert_vrrp`, else `smtp_alert`, else off.
    pub fn effective_smtp_alert(&self, g: &GlobalDefs) -> bool {
        self.smtp_alert.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false)
    }

    /// The macvlan name used with `use_vmac`.
    pub fn vmac_name(&self) -> Option<String> {
        match &self.use_vmac {
            Some(Some(name)) => Some(name.clone()),
            Some(None) => Some(format!("vrrp.{}", self.vrid)),
            None => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct VrrpSyncGroup {
    pub name: String,
    pub members: Vec<(String, Loc)>,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    pub track_scripts: Vec<TrackScript>,
    pub track_pings: Vec<TrackScript>,
    pub track_files: Vec<TrackScript>,
    pub track_processes: Vec<TrackScript>,
    pub track_interfaces: Vec<TrackInterface>,
    pub sync_group_tracking_weight: bool,
    pub notify_priority_changes: Option<bool>,
    pub loc: Loc,
}

#[derive(Clone, Debug)]
pub struct VrrpScript {
    pub name: String,
    pub script: Option<Command>,
    pub interval: Duration,
    /// `None`: equal to the interval.
    pub timeout: Option<Duration>,
    pub weight: i32,
    /// `weight N reverse`: the weight applies while the script fails.
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub user: Option<(String, Option<String>)>,
    pub init_fail: bool,
    pub loc: Loc,
}

impl VrrpScript {
    pub fn new(name: String, loc: Loc) -> Self {
        VrrpScript {
            name,
            script: None,
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
            loc,
        }
    }

    pub fn effective_timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.interval)
    }
}

/// `vrrp_track_ping NAME { address IP; interval S; timeout S; weight N
/// [reverse]; rise N; fall N }`: a vigil extension that tracks whether
/// `address` answers ICMP echo (split-brain arbitration: a router that
/// cannot reach its gateway should not stay master).
#[derive(Clone, Debug)]
pub struct VrrpTrackPing {
    pub name: String,
    pub address: Option<IpAddr>,
    /// `interface IFNAME`: probes leave, and replies count only when they
    /// arrive, on this interface.
    pub interface: Option<String>,
    pub interval: Duration,
    /// `None`: equal to the interval.
    pub timeout: Option<Duration>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub loc: Loc,
}

impl VrrpTrackPing {
    pub fn new(name: String, loc: Loc) -> Self {
        VrrpTrackPing {
            name,
            address: None,
            interface: None,
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            loc,
        }
    }

    pub fn effective_timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.interval)
    }
}

/// How `vrrp_track_process` compares the arguments of a process with
/// those written after `process NAME` (keepalived's `param_match`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParamMatch {
    /// Arguments are not looked at.
    #[default]
    None,
    /// The same arguments, no more (the default when `process` has any).
    Exact,
    /// The written arguments start the process's, the last one possibly
    /// only a prefix of the process's argument.
    Initial,
    /// The written arguments, whole, start the process's.
    Partial,
}

/// `vrrp_track_process NAME { process P [ARGS]; param_match [initial|partial];
/// full_command; quorum N; quorum_max N; weight N [reverse]; delay S;
/// fork_delay S; terminate_delay S }`: how many processes match, against
/// a quorum (keepalived 2.2's track_process).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpTrackProcess {
    pub name: String,
    /// The process name: its `comm` (at most 15 bytes, as the kernel
    /// truncates it), or with `full_command` its argv[0].
    pub process: String,
    /// The arguments after the name, each NUL-terminated as in
    /// /proc/PID/cmdline; empty for none.
    pub params: Vec<u8>,
    pub param_match: ParamMatch,
    pub full_command: bool,
    /// Up while `quorum <= count <= quorum_max`.
    pub quorum: u32,
    pub quorum_max: u32,
    pub weight: i32,
    pub weight_reverse: bool,
    /// How long a gained quorum (a fork, or found by a scan) waits before it counts.
    pub fork_delay: Duration,
    /// How long a lost quorum (an exit) waits before it counts.
    pub terminate_delay: Duration,
    pub loc: Loc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LvsMethod {
    Nat,
    Dr,
    Tun,
}

impl LvsMethod {
    pub fn name(self) -> &'static str {
        match self {
            LvsMethod::Nat => "NAT",
            LvsMethod::Dr => "DR",
            LvsMethod::Tun => "TUN",
        }
    }
}

/// `virtual_server_group` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VsgEntry {
    /// `IP[-LAST_OCTET_OR_GROUP] [PORT]`: `last` is the range end (inclusive).
    Addr {
        first: IpAddr,
        last: IpAddr,
        port: Option<u16>,
        loc: Loc,
    },
    Fwmark {
        mark: u32,
        loc: Loc,
    },
}

#[derive(Clone, Debug)]
pub struct VirtualServerGroup {
    pub name: String,
    pub entries: Vec<VsgEntry>,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VsAddr {
    Addr(IpAddr, u16),
    Fwmark(u32),
    Group(String),
}

#[derive(Clone, Debug)]
pub struct VirtualServer {
    pub addr: VsAddr,
    /// `None`: UDP (with a warning from `config::validate`).
    pub protocol: Option<Protocol>,
    /// `None`: wlc (with a warning).
    pub lvs_sched: Option<String>,
    /// `None`: NAT (with a warning).
    pub lvs_method: Option<LvsMethod>,
    pub persistence_timeout: Option<Duration>,
    pub persistence_granularity: Option<IpAddr>,
    pub delay_loop: Duration,
    pub connect_timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    pub omega: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Command>,
    pub quorum_down: Option<Command>,
    pub sorry_server: Option<(IpAddr, Option<u16>)>,
    pub sorry_server_inhibit: bool,
    pub sorry_server_lvs_method: Option<LvsMethod>,
    pub virtualhost: Option<String>,
    pub smtp_alert: Option<bool>,
    /// `ha_suspend`: checkers probe only while the virtual address is on
    /// one of the host's interfaces (`check::ha_suspend`). Only a
    /// `virtual_server IP PORT`: the parser clears it on the others.
    pub ha_suspend: bool,
    pub real_servers: Vec<RealServer>,
    /// The address family keepalived settles on while reading the block:
    /// its address's, `ip_family`, or its first real server's that is not
    /// tunnelled (`config::parse::lvs`); `None`: none of them said.
    pub family_v6: Option<bool>,
    pub loc: Loc,
    pub locs: Locs,
}

impl VirtualServer {
    /// The family of its IPVS service (what a fwmark service is created
    /// with): as settled, else that of its tunnelled sorry and real servers
    /// when they agree, else IPv4, as keepalived.
    pub fn is_ipv6(&self) -> bool {
        if let Some(v6) = self.family_v6 {
            return v6;
        }
        // Only tunnelled servers are left: their family if they agree.
        let sorry = self.sorry_server.iter().map(|(ip, _)| ip.is_ipv6());
        let mut families = sorry.chain(self.real_servers.iter().map(|r| r.addr.is_ipv6()));
        let first = families.next().unwrap_or(false);
        first && families.all(|v6| v6)
    }

    pub fn new(addr: VsAddr, loc: Loc) -> Self {
        VirtualServer {
            family_v6: match addr {
                VsAddr::Addr(ip, _) => Some(ip.is_ipv6()),
                _ => None,
            },
            addr,
            protocol: None,
            lvs_sched: None,
            lvs_method: None,
            persistence_timeout: None,
            persistence_granularity: None,
            delay_loop: Duration::from_secs(60),
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            inhibit_on_failure: false,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            sorry_server_inhibit: false,
            sorry_server_lvs_method: None,
            virtualhost: None,
            smtp_alert: None,
            ha_suspend: false,
            real_servers: Vec::new(),
            loc,
            locs: Locs::default(),
        }
    }

    pub fn effective_protocol(&self) -> Protocol {
        self.protocol.unwrap_or(Protocol::Udp)
    }

    pub fn effective_sched(&self) -> &str {
        self.lvs_sched.as_deref().unwrap_or("wlc")
    }

    pub fn effective_method(&self) -> LvsMethod {
        self.lvs_method.unwrap_or(LvsMethod::Nat)
    }

    /// The port of `virtual_server IP PORT`, if any.
    pub fn port(&self) -> Option<u16> {
        match self.addr {
            VsAddr::Addr(_, p) => Some(p),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RealServer {
    pub addr: IpAddr,
    pub port: Option<u16>,
    pub weight: i32,
    // Boxed: most real servers have none, and the checker child keeps a
    // copy of every real server (96 bytes each unboxed).
    pub notify_up: Option<Box<Command>>,
    pub notify_down: Option<Box<Command>>,
    pub inhibit_on_failure: Option<bool>,
    pub uthreshold: u32,
    pub lthreshold: u32,
    pub lvs_method: Option<LvsMethod>,
    pub alpha: Option<bool>,
    pub connect_timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub delay_loop: Option<Duration>,
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub checkers: Vec<Checker>,
    pub loc: Loc,
}

impl RealServer {
    pub fn new(addr: IpAddr, port: Option<u16>, loc: Loc) -> Self {
        RealServer {
            addr,
            port,
            weight: 1,
            notify_up: None,
            notify_down: None,
            inhibit_on_failure: None,
            uthreshold: 0,
            lthreshold: 0,
            lvs_method: None,
            alpha: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            delay_loop: None,
            smtp_alert: None,
            virtualhost: None,
            checkers: Vec::new(),
            loc,
        }
    }

    pub fn effective_inhibit_on_failure(&self, vs: &VirtualServer) -> bool {
        self.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure)
    }

    pub fn effective_method(&self, vs: &VirtualServer) -> LvsMethod {
        self.lvs_method.unwrap_or_else(|| vs.effective_method())
    }

    /// Real-server alerts are on unless switched off somewhere.
    pub fn effective_smtp_alert(&self, vs: &VirtualServer, g: &GlobalDefs) -> bool {
        self.smtp_alert.or(vs.smtp_alert).or(g.smtp_alert_checker).or(g.smtp_alert).unwrap_or(true)
    }

    /// The destination port: the VS port unless NAT gives another one.
    pub fn effective_port(&self, vs: &VirtualServer) -> u16 {
        self.port.or(vs.port()).unwrap_or(0)
    }
}

/// Connection options shared by every checker (and SMTP `host` blocks).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckerConn {
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
    pub connect_timeout: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub path: String,
    /// 32 lowercase hex characters.
    pub digest: Option<String>,
    /// Inclusive ranges; empty means 200-299.
    pub status_codes: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
    /// Boxed: rare, and four times the size of the rest of the url.
    pub regex: Option<Box<UrlRegex>>,
    pub loc: Loc,
}

/// A url's `regex` and its companions (keepalived 2.2; matched by
/// `crate::check::body_regex`).
#[derive(Clone, Debug)]
pub struct UrlRegex {
    /// The pattern as written.
    pub pattern: String,
    /// `regex_options`: PCRE2 option names as written.
    pub options: Vec<String>,
    /// `regex_no_match`: a match fails the check.
    pub no_match: bool,
    /// `regex_min_offset`: the first body offset a match may start at.
    pub min_offset: u64,
    /// `regex_max_offset`: the last body offset a match may start at.
    pub max_offset: Option<u64>,
    /// `regex_stack START MAX`: keepalived sizes PCRE2's JIT stack with it;
    /// vigil's engine has no such stack, so it is kept for the dump only.
    pub stack: Option<(u64, u64)>,
    /// `pattern` compiled with `options`, shared by every check of the url.
    pub compiled: std::sync::Arc<regex_lite::Regex>,
}

impl PartialEq for UrlRegex {
    fn eq(&self, o: &UrlRegex) -> bool {
        (&self.pattern, &self.options, self.no_match, self.min_offset, self.max_offset, self.stack)
            == (&o.pattern, &o.options, o.no_match, o.min_offset, o.max_offset, o.stack)
    }
}

impl Eq for UrlRegex {}

impl Url {
    pub fn status_ok(&self, code: u16) -> bool {
        if self.status_codes.is_empty() {
            return (200..=299).contains(&code);
        }
        self.status_codes.iter().any(|&(a, b)| (a..=b).contains(&code))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpProtocol {
    V1_0,
    /// 1.0 with `Connection: close`.
    V1_0C,
    V1_1,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCheck {
    pub tls: bool,
    /// Shared with the checker's per-check plans (one copy per url).
    pub urls: Vec<Rc<Url>>,
    pub http_protocol: HttpProtocol,
    pub virtualhost: Option<String>,
    pub enable_sni: bool,
    pub sni_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiscCheck {
    pub path: Option<Command>,
    /// `None`: the delay_loop.
    pub timeout: Option<Duration>,
    pub dynamic: bool,
    pub user: Option<(String, Option<String>)>,
}

/// UDP_CHECK: what is sent and what a reply must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpCheck {
    /// `payload`; `None`: keepalived's 32 bytes.
    pub payload: Option<Vec<u8>>,
    pub reply: super::probe::ReplyRule,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckerKind {
    Tcp,
    Http(HttpCheck),
    Smtp {
        helo_name: Option<String>,
    },
    /// Boxed: the largest variant by far (every checker would pay for it).
    Misc(Box<MiscCheck>),
    Dns {
        qtype: String,
        name: String,
    },
    Udp(UdpCheck),
    File(FileCheck),
    /// PING_CHECK: an ICMP / ICMPv6 echo to the target address.
    Ping,
    /// BFD_CHECK: keepalived has it,
    /// vigil cannot run them. Such a checker never passes (its real server
    /// counts as down), rather than being dropped (which would leave a real
    /// server without checkers: always up).
    Unrunnable(&'static str),
}

impl CheckerKind {
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(h) if h.tls => "SSL_GET",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Smtp { .. } => "SMTP_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Dns { .. } => "DNS_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Unrunnable(keyword) => keyword,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checker {
    pub kind: CheckerKind,
    pub conn: CheckerConn,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub delay_loop: Option<Duration>,
    pub alpha: Option<bool>,
    pub log_all_failures: Option<bool>,
    pub loc: Loc,
}

impl Checker {
    pub fn new(kind: CheckerKind, loc: Loc) -> Self {
        Checker {
            kind,
            conn: CheckerConn::default(),
            retry: None,
            delay_before_retry: None,
            warmup: None,
            delay_loop: None,
            alpha: None,
            log_all_failures: None,
            loc,
        }
    }

    pub fn effective_delay_loop(&self, rs: &RealServer, vs: &VirtualServer) -> Duration {
        self.delay_loop.or(rs.delay_loop).unwrap_or(vs.delay_loop)
    }

    /// 5 s unless given on the checker, real server or virtual server.
    pub fn effective_connect_timeout(&self, rs: &RealServer, vs: &VirtualServer) -> Duration {
        self.conn
            .connect_timeout
            .or(rs.connect_timeout)
            .or(vs.connect_timeout)
            .unwrap_or(Duration::from_secs(5))
    }

    /// Built-in: MISC 0, DNS 3, others 1.
    pub fn effective_retry(&self, rs: &RealServer, vs: &VirtualServer) -> u32 {
        if let CheckerKind::File(_) = self.kind {
            // keepalived: a file's value applies at once, without retries.
            return 0;
        }
        self.retry.or(rs.retry).or(vs.retry).unwrap_or(match self.kind {
            CheckerKind::Misc(_) => 0,
            CheckerKind::Dns { .. } => 3,
            _ => 1,
        })
    }

    /// Built-in: HTTP/SSL 3 s, DNS the delay_loop, others 1 s.
    pub fn effective_delay_before_retry(&self, rs: &RealServer, vs: &VirtualServer) -> Duration {
        let own = self.delay_before_retry.or(rs.delay_before_retry).or(vs.delay_before_retry);
        own.unwrap_or_else(|| match self.kind {
            CheckerKind::Http(_) => Duration::from_secs(3),
            CheckerKind::Dns { .. } => self.effective_delay_loop(rs, vs),
            _ => Duration::from_secs(1),
        })
    }

    /// Built-in: the delay_loop.
    pub fn effective_warmup(&self, rs: &RealServer, vs: &VirtualServer) -> Duration {
        self.warmup.or(rs.warmup).or(vs.warmup).unwrap_or_else(|| self.effective_delay_loop(rs, vs))
    }

    pub fn effective_alpha(&self, rs: &RealServer, vs: &VirtualServer) -> bool {
        if let CheckerKind::File(_) = self.kind {
            // keepalived clears alpha: the file's state is known at once.
            return false;
        }
        self.alpha.or(rs.alpha).unwrap_or(vs.alpha)
    }

    /// Where to connect: connect_ip/connect_port, else the real server.
    /// DNS_CHECK without a port anywhere (a fwmark service, a real server
    /// without one) queries port 53, where keepalived would send to port 0.
    pub fn effective_target(&self, rs: &RealServer, vs: &VirtualServer) -> (IpAddr, u16) {
        let ip = self.conn.connect_ip.unwrap_or(rs.addr);
        let port = self.conn.connect_port.unwrap_or_else(|| rs.effective_port(vs));
        match (&self.kind, port) {
            (CheckerKind::Dns { .. }, 0) => (ip, 53),
            _ => (ip, port),
        }
    }

    /// For MISC_CHECK: `misc_timeout`, else the delay_loop.
    pub fn effective_misc_timeout(&self, rs: &RealServer, vs: &VirtualServer) -> Duration {
        match &self.kind {
            CheckerKind::Misc(m) => m.timeout.unwrap_or_else(|| self.effective_delay_loop(rs, vs)),
            _ => self.effective_delay_loop(rs, vs),
        }
    }
}
