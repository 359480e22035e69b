//! Every keyword vigil knows, per block, in one table.
//!
//! The parser asks it whether a keyword exists where it was written and
//! whether it opens a block; the did-you-mean hints search it. Keywords that
//! keepalived knows but vigil does not act on are `Ignored`: accepted with a
//! warning rather than rejected, so a working keepalived.conf keeps loading.
//! Every other keyword is acted on, and `config::coverage` names the test
//! that shows it; a unit test fails for a keyword in neither class.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// The kind of block a keyword sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ctx {
    Top,
    GlobalDefs,
    SyncGroup,
    VrrpScript,
    /// `vrrp_track_ping`, a vigil extension.
    TrackPing,
    TrackProcess,
    Instance,
    Authentication,
    AuthHmac,
    VirtualServer,
    RealServer,
    TcpCheck,
    HttpCheck,
    SmtpCheck,
    SmtpHost,
    MiscCheck,
    DnsCheck,
    UdpCheck,
    /// FILE_CHECK: `track_file` and `weight` only.
    FileCheck,
    /// A top-level `track_file` / `vrrp_track_file` block.
    TrackFile,
    /// A top-level `garp_group` block.
    GarpGroup,
    /// PING_CHECK: the common options, `connect_ip` and `connect_timeout`.
    PingCheck,
    Url,
    /// Options shared by all checkers (not a block of its own).
    CheckerCommon,
    /// Connection options of every checker but MISC_CHECK.
    ConnCommon,
}

impl Ctx {
    /// How the block is written in a configuration, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Ctx::Top => "top level",
            Ctx::GlobalDefs => "global_defs",
            Ctx::SyncGroup => "vrrp_sync_group",
            Ctx::VrrpScript => "vrrp_script",
            Ctx::TrackPing => "vrrp_track_ping",
            Ctx::TrackProcess => "vrrp_track_process",
            Ctx::Instance => "vrrp_instance",
            Ctx::Authentication => "authentication",
            Ctx::AuthHmac => "auth_hmac",
            Ctx::VirtualServer => "virtual_server",
            Ctx::RealServer => "real_server",
            Ctx::TcpCheck => "TCP_CHECK",
            Ctx::HttpCheck => "HTTP_GET/SSL_GET",
            Ctx::SmtpCheck => "SMTP_CHECK",
            Ctx::SmtpHost => "SMTP_CHECK host",
            Ctx::MiscCheck => "MISC_CHECK",
            Ctx::DnsCheck => "DNS_CHECK",
            Ctx::UdpCheck => "UDP_CHECK",
            Ctx::FileCheck => "FILE_CHECK",
            Ctx::TrackFile => "track_file",
            Ctx::GarpGroup => "garp_group",
            Ctx::PingCheck => "PING_CHECK",
            Ctx::Url => "url",
            Ctx::CheckerCommon | Ctx::ConnCommon => "checker",
        }
    }

    /// The shared tables a block also draws from.
    fn shared(self) -> &'static [Ctx] {
        match self {
            Ctx::TcpCheck | Ctx::HttpCheck | Ctx::SmtpCheck | Ctx::DnsCheck | Ctx::UdpCheck => {
                &[Ctx::CheckerCommon, Ctx::ConnCommon]
            }
            Ctx::MiscCheck | Ctx::PingCheck => &[Ctx::CheckerCommon],
            Ctx::SmtpHost => &[Ctx::ConnCommon],
            _ => &[],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Takes its arguments from the rest of the line.
    Value,
    /// Opens a block of keywords.
    Block(Ctx),
    /// Opens a block whose lines are items (addresses, names, routes).
    List,
    /// Known to keepalived, not acted on by vigil: a warning. May open a block.
    Ignored,
    /// A checker kind keepalived has and vigil cannot run: a warning, and
    /// the parser keeps it as a checker that never passes.
    Unrunnable,
}

/// How common a keyword is in real keepalived configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Core,
    Common,
    Rare,
}

#[derive(Clone, Copy, Debug)]
pub struct Keyword {
    pub ctx: Ctx,
    pub name: &'static str,
    pub kind: Kind,
    pub tag: Tag,
}

/// Finds `name` in the block `ctx` (case-sensitive, like keepalived): in
/// the block's own part of the table and the shared ones it draws from,
/// first in table order. The parser asks for every word it reads, and a
/// fuzzed or mistyped file is mostly unknown words: one hash probe finds
/// the few entries with that name instead of comparing it with a block's.
pub fn lookup(ctx: Ctx, name: &str) -> Option<&'static Keyword> {
    entries_named(name).find(|k| k.ctx == ctx || ctx.shared().contains(&k.ctx))
}

/// Every table entry called `name`, in table order.
fn entries_named(name: &str) -> impl Iterator<Item = &'static Keyword> {
    static BY_NAME: OnceLock<HashMap<&'static str, Vec<u16>, BuildHasherDefault<Fnv1a>>> = OnceLock::new();
    let index = BY_NAME.get_or_init(|| {
        let mut index: HashMap<&'static str, Vec<u16>, _> =
            HashMap::with_capacity_and_hasher(TABLE.len(), BuildHasherDefault::<Fnv1a>::default());
        for (i, k) in TABLE.iter().enumerate() {
            index.entry(k.name).or_default().push(i as u16);
        }
        index
    });
    index.get(name).into_iter().flatten().map(|&i| &TABLE[usize::from(i)])
}

/// FNV-1a for the name index: its keys are the table's own names, so no
/// input can make a probe walk more than the few names that share a slot,
/// and every word the parser reads is hashed: SipHash was 8 % of `-t`.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The table parts of `ctx` and the shared blocks it draws from, in table order.
fn parts_of(ctx: Ctx) -> impl Iterator<Item = &'static Keyword> {
    let mut parts = [CTX_RANGES[ctx as usize]; 3];
    let shared = ctx.shared();
    for (part, c) in parts[1..].iter_mut().zip(shared) {
        *part = CTX_RANGES[*c as usize];
    }
    let len = 1 + shared.len();
    parts[..len].sort_unstable_by_key(|r| r.0);
    (0..len).flat_map(move |p| &TABLE[usize::from(parts[p].0)..usize::from(parts[p].1)])
}

/// The number of [`Ctx`] values.
const CTX_COUNT: usize = Ctx::ConnCommon as usize + 1;

/// Where each block's keywords sit in the table: `start..end` (each block
/// is written as one run, which a test checks).
const CTX_RANGES: [(u16, u16); CTX_COUNT] = ctx_ranges(TABLE);

const fn ctx_ranges(table: &[Keyword]) -> [(u16, u16); CTX_COUNT] {
    let mut out = [(0u16, 0u16); CTX_COUNT];
    let mut seen = [false; CTX_COUNT];
    let mut i = 0;
    while i < table.len() {
        let c = table[i].ctx as usize;
        if !seen[c] {
            seen[c] = true;
            out[c].0 = i as u16;
        }
        out[c].1 = i as u16 + 1;
        i += 1;
    }
    out
}

/// Every keyword accepted in `ctx`.
pub fn names_in(ctx: Ctx) -> impl Iterator<Item = &'static str> {
    parts_of(ctx).map(|k| k.name)
}

/// The blocks other than `ctx` where `name` is a keyword.
pub fn blocks_with(name: &str, ctx: Ctx) -> Vec<Ctx> {
    let mut out: Vec<Ctx> = Vec::new();
    for k in entries_named(name).filter(|k| k.ctx != ctx) {
        let c = match k.ctx {
            Ctx::CheckerCommon | Ctx::ConnCommon => Ctx::TcpCheck,
            c => c,
        };
        if !out.contains(&c) && !ctx.shared().contains(&k.ctx) {
            out.push(c);
        }
    }
    out
}

macro_rules! table {
    ($( $ctx:ident { $( $name:literal $kind:ident $(($arg:ident))? $tag:ident ),* $(,)? } )*) => {
        pub static KEYWORDS: &[Keyword] = TABLE;
        const TABLE: &[Keyword] = &[
            $($( Keyword {
                ctx: Ctx::$ctx,
                name: $name,
                kind: table!(@kind $kind $(($arg))?),
                tag: Tag::$tag,
            }, )*)*
        ];
    };
    (@kind Block($c:ident)) => { Kind::Block(Ctx::$c) };
    (@kind $k:ident) => { Kind::$k };
}

table! {
    Top {
        "global_defs" Block(GlobalDefs) Core,
        "static_ipaddress" List Common,
        "static_routes" List Common,
        "static_rules" List Rare,
        "vrrp_sync_group" Block(SyncGroup) Common,
        "vrrp_script" Block(VrrpScript) Core,
        "vrrp_track_ping" Block(TrackPing) Rare,
        "vrrp_instance" Block(Instance) Core,
        "virtual_server_group" List Common,
        "virtual_server" Block(VirtualServer) Core,
        "vrrp_track_process" Block(TrackProcess) Common,
        "track_file" Block(TrackFile) Rare,
        "vrrp_track_file" Block(TrackFile) Rare,
        "bfd_instance" Ignored Rare,
        "SSL" Ignored Common,
        "track_group" Ignored Rare,
        "linkbeat_interfaces" Ignored Rare,
        "interface_up_down_delays" Ignored Rare,
        "garp_group" Block(GarpGroup) Rare,
    }
    GlobalDefs {
        "router_id" Value Core,
        "notification_email" List Core,
        "notification_email_from" Value Core,
        "smtp_server" Value Core,
        "smtp_connect_timeout" Value Core,
        "smtp_helo_name" Value Common,
        "smtp_alert" Value Common,
        "smtp_alert_vrrp" Value Common,
        "smtp_alert_checker" Value Common,
        "no_email_faults" Value Common,
        "no_checker_emails" Value Common,
        "checker_log_all_failures" Value Common,
        "script_user" Value Common,
        "enable_script_security" Value Common,
        "vrrp_strict" Value Common,
        "vrrp_version" Value Common,
        "vrrp_mcast_group4" Value Rare,
        "vrrp_mcast_group6" Value Rare,
        "vrrp_garp_master_delay" Value Common,
        "vrrp_garp_master_repeat" Value Common,
        "vrrp_garp_master_refresh" Value Common,
        "vrrp_garp_master_refresh_repeat" Value Common,
        "vrrp_garp_lower_prio_delay" Value Common,
        "vrrp_garp_lower_prio_repeat" Value Common,
        "vrrp_garp_interval" Value Common,
        "vrrp_gna_interval" Value Common,
        "vrrp_min_garp" Value Common,
        "vrrp_lower_prio_no_advert" Value Common,
        "vrrp_higher_prio_send_advert" Value Common,
        "vrrp_skip_check_adv_addr" Value Common,
        "vrrp_check_unicast_src" Value Common,
        "vrrp_startup_delay" Value Common,
        "vrrp_delay_after_boot" Value Common,
        "vrrp_down_timer_adverts" Value Rare,
        "vrrp_owner_ignore_adverts" Value Rare,
        "dynamic_interfaces" Value Common,
        "default_interface" Value Rare,
        // A vigil extension: the Prometheus listener.
        "metrics_listen" Value Rare,
        "lvs_sync_daemon" Value Common,
        "lvs_timeouts" Value Common,
        "lvs_flush" Value Common,
        "lvs_flush_on_stop" Value Common,
        "notify_fifo" Value Common,
        "notify_fifo_script" Value Common,
        "vrrp_notify_fifo" Value Common,
        "vrrp_notify_fifo_script" Value Common,
        "lvs_notify_fifo" Value Common,
        "lvs_notify_fifo_script" Value Common,
        "vrrp_garp_extra_if" Ignored Rare,
        "vrrp_notify_priority_changes" Value Rare,
        "fifo_write_vrrp_states_on_reload" Ignored Rare,
        "startup_script" Value Rare,
        "startup_script_timeout" Value Rare,
        "shutdown_script" Value Rare,
        "shutdown_script_timeout" Value Rare,
        "max_auto_priority" Value Rare,
        "min_auto_priority_delay" Value Rare,
        "vrrp_rt_priority" Value Rare,
        "vrrp_priority" Value Rare,
        "vrrp_no_swap" Value Rare,
        "vrrp_cpu_affinity" Ignored Rare,
        "vrrp_rlimit_rttime" Value Rare,
        "checker_rt_priority" Value Rare,
        "checker_priority" Value Rare,
        "checker_no_swap" Value Rare,
        "checker_cpu_affinity" Ignored Rare,
        "checker_rlimit_rttime" Value Rare,
        "bfd_rt_priority" Ignored Rare,
        "bfd_priority" Ignored Rare,
        "bfd_no_swap" Ignored Rare,
        "bfd_cpu_affinity" Ignored Rare,
        "bfd_rlimit_rttime" Ignored Rare,
        "net_namespace" Ignored Rare,
        "net_namespace_ipvs" Ignored Rare,
        "instance" Ignored Rare,
        "use_pid_dir" Ignored Rare,
        "namespace_with_ipsets" Ignored Rare,
        "nftables" Value Rare,
        "nftables_priority" Value Rare,
        "nftables_counters" Value Rare,
        "nftables_ifindex" Value Rare,
        "nftables_ipvs" Ignored Rare,
        "vrrp_iptables" Ignored Rare,
        "vrrp_ipsets" Ignored Rare,
        "disable_local_igmp" Value Rare,
        "enable_snmp_vrrp" Ignored Rare,
        "enable_snmp_checker" Ignored Rare,
        "enable_snmp_rfc" Ignored Rare,
        "enable_snmp_rfcv2" Ignored Rare,
        "enable_snmp_rfcv3" Ignored Rare,
        "enable_traps" Ignored Rare,
        "snmp_socket" Ignored Rare,
        "enable_dbus" Ignored Rare,
        "dbus_service_name" Ignored Rare,
        "reload_check_config" Value Rare,
        "reload_time_file" Value Rare,
        "reload_repeat" Value Rare,
        "reload_file" Value Rare,
        "include_check" Ignored Rare,
        "config_save_dir" Ignored Rare,
        "tmp_config_directory" Ignored Rare,
        "vrrp_netlink_cmd_rcv_bufs" Value Rare,
        "vrrp_netlink_cmd_rcv_bufs_force" Value Rare,
        "vrrp_netlink_monitor_rcv_bufs" Value Rare,
        "vrrp_netlink_monitor_rcv_bufs_force" Value Rare,
        "lvs_netlink_cmd_rcv_bufs" Value Rare,
        "lvs_netlink_cmd_rcv_bufs_force" Value Rare,
        "lvs_netlink_monitor_rcv_bufs" Value Rare,
        "lvs_netlink_monitor_rcv_bufs_force" Value Rare,
        "process_monitor_rcv_bufs" Value Rare,
        "process_monitor_rcv_bufs_force" Value Rare,
        "vrrp_rx_bufs_policy" Value Rare,
        "vrrp_rx_bufs_multiplier" Value Rare,
        "process_names" Ignored Rare,
        "process_name" Ignored Rare,
        "vrrp_process_name" Ignored Rare,
        "checker_process_name" Ignored Rare,
        "bfd_process_name" Ignored Rare,
        "umask" Ignored Rare,
        "random_seed" Ignored Rare,
        "data_use_instance" Ignored Rare,
        "child_wait_time" Ignored Rare,
        "linkbeat_use_polling" Ignored Rare,
        "log_unknown_vrids" Ignored Rare,
        "vmac_prefix" Ignored Rare,
        "vmac_addr_prefix" Ignored Rare,
        "rs_init_notifies" Ignored Rare,
        "state_dump_file" Ignored Rare,
        "stats_dump_file" Ignored Rare,
        "json_dump_file" Ignored Rare,
        "json_version" Ignored Rare,
        "set_supplementary_groups" Ignored Rare,
        "lvs_sync_daemon_interface" Ignored Rare,
        "lvs_id" Ignored Rare,
    }
    SyncGroup {
        "group" List Common,
        "notify_master" Value Common,
        "notify_backup" Value Common,
        "notify_fault" Value Common,
        "notify_stop" Value Common,
        "notify" Value Common,
        "notify_deleted" Ignored Rare,
        "smtp_alert" Value Common,
        "track_interface" List Common,
        "track_script" List Common,
        "track_ping" List Rare,
        "track_file" List Common,
        "track_process" List Common,
        "track_bfd" Ignored Rare,
        "global_tracking" Ignored Rare,
        "sync_group_tracking_weight" Value Rare,
        "notify_priority_changes" Value Rare,
    }
    VrrpScript {
        "script" Value Core,
        "interval" Value Core,
        "timeout" Value Core,
        "weight" Value Core,
        "rise" Value Core,
        "fall" Value Core,
        "user" Value Common,
        "init_fail" Value Common,
    }
    TrackPing {
        "address" Value Rare,
        "interface" Value Rare,
        "interval" Value Rare,
        "timeout" Value Rare,
        "weight" Value Rare,
        "rise" Value Rare,
        "fall" Value Rare,
    }
    TrackProcess {
        "process" Value Common,
        "param_match" Value Common,
        "full_command" Value Common,
        "quorum" Value Common,
        "quorum_max" Value Common,
        "weight" Value Common,
        "delay" Value Common,
        "fork_delay" Value Common,
        "terminate_delay" Value Common,
    }
    Instance {
        "state" Value Core,
        "interface" Value Core,
        "virtual_router_id" Value Core,
        "priority" Value Core,
        "advert_int" Value Core,
        "authentication" Block(Authentication) Core,
        "auth_hmac" Block(AuthHmac) Rare,
        "virtual_ipaddress" List Core,
        "virtual_ipaddress_excluded" List Common,
        "no_virtual_ipaddress" Ignored Rare,
        "virtual_routes" List Common,
        "virtual_rules" List Rare,
        "promote_secondaries" Ignored Rare,
        "nopreempt" Value Core,
        "preempt" Value Common,
        "preempt_delay" Value Core,
        "track_script" List Core,
        "track_ping" List Rare,
        "track_interface" List Common,
        "track_file" List Rare,
        "track_process" List Common,
        "track_bfd" Ignored Rare,
        "track_src_ip" Ignored Rare,
        "dont_track_primary" Value Common,
        "mcast_src_ip" Value Common,
        "unicast_src_ip" Value Common,
        "unicast_peer" List Common,
        "unicast_ttl" Value Common,
        "check_unicast_src" Value Common,
        "unicast_fault_no_peer" Value Common,
        "old_unicast_checksum" Ignored Rare,
        "mcast_dst_ip" Ignored Rare,
        "version" Value Common,
        "use_vmac" Value Common,
        "vmac_xmit_base" Value Common,
        "use_vmac_addr" Ignored Rare,
        "use_ipvlan" Ignored Rare,
        "vrf" Ignored Rare,
        "native_ipv6" Ignored Rare,
        "accept" Value Common,
        "no_accept" Value Common,
        "strict_mode" Value Common,
        "skip_check_adv_addr" Value Common,
        "garp_master_delay" Value Common,
        "garp_master_repeat" Value Common,
        "garp_master_refresh" Value Common,
        "garp_master_refresh_repeat" Value Common,
        "garp_lower_prio_delay" Value Common,
        "garp_lower_prio_repeat" Value Common,
        "garp_extra_if" Ignored Rare,
        "lower_prio_no_advert" Value Common,
        "higher_prio_send_advert" Value Common,
        "down_timer_adverts" Value Rare,
        "timer_expired_backup" Ignored Rare,
        "owner_ignore_adverts" Value Rare,
        "v3_checksum_as_v2" Value Rare,
        "kernel_rx_buf_size" Ignored Rare,
        "linkbeat_use_polling" Ignored Rare,
        "debug" Ignored Rare,
        "notify_master" Value Core,
        "notify_backup" Value Core,
        "notify_fault" Value Core,
        "notify_stop" Value Core,
        "notify" Value Core,
        "notify_master_rx_lower_pri" Ignored Rare,
        "notify_deleted" Value Rare,
        "notify_priority_changes" Value Rare,
        "smtp_alert" Value Core,
        "lvs_sync_daemon_interface" Ignored Rare,
    }
    Authentication {
        "auth_type" Value Core,
        "auth_pass" Value Core,
    }
    AuthHmac {
        "key" Value Rare,
        "active_key" Value Rare,
        "anti_replay" Value Rare,
        "time_window" Value Rare,
        "mode" Value Rare,
    }
    VirtualServer {
        "lb_algo" Value Core,
        "lvs_sched" Value Core,
        "lb_kind" Value Core,
        "lvs_method" Value Core,
        "protocol" Value Core,
        "persistence_timeout" Value Core,
        "persistence_granularity" Value Rare,
        "persistence_engine" Ignored Rare,
        "ops" Ignored Rare,
        "hashed" Ignored Rare,
        "flag-1" Ignored Rare,
        "flag-2" Ignored Rare,
        "flag-3" Ignored Rare,
        "sh-port" Ignored Rare,
        "sh-fallback" Ignored Rare,
        "mh-port" Ignored Rare,
        "mh-fallback" Ignored Rare,
        "delay_loop" Value Core,
        "connect_timeout" Value Core,
        "retry" Value Core,
        "delay_before_retry" Value Core,
        "warmup" Value Core,
        "inhibit_on_failure" Value Common,
        "alpha" Value Common,
        "omega" Value Common,
        "quorum" Value Common,
        "hysteresis" Value Common,
        "quorum_up" Value Common,
        "quorum_down" Value Common,
        "sorry_server" Value Core,
        "sorry_server_inhibit" Value Core,
        "sorry_server_lvs_method" Value Core,
        "ha_suspend" Value Common,
        "virtualhost" Value Common,
        "smtp_alert" Value Common,
        "snmp_name" Ignored Rare,
        "ip_family" Value Rare,
        "real_server" Block(RealServer) Core,
        "nat_mask" Ignored Rare,
    }
    RealServer {
        "weight" Value Core,
        "notify_up" Value Core,
        "notify_down" Value Core,
        "inhibit_on_failure" Value Common,
        "uthreshold" Value Rare,
        "lthreshold" Value Rare,
        "lvs_method" Value Common,
        "alpha" Value Common,
        "connect_timeout" Value Common,
        "retry" Value Common,
        "delay_before_retry" Value Common,
        "warmup" Value Common,
        "delay_loop" Value Common,
        "smtp_alert" Value Common,
        "virtualhost" Value Common,
        "TCP_CHECK" Block(TcpCheck) Core,
        "HTTP_GET" Block(HttpCheck) Core,
        "SSL_GET" Block(HttpCheck) Core,
        "SMTP_CHECK" Block(SmtpCheck) Core,
        "MISC_CHECK" Block(MiscCheck) Core,
        "DNS_CHECK" Block(DnsCheck) Common,
        "UDP_CHECK" Block(UdpCheck) Rare,
        "PING_CHECK" Block(PingCheck) Rare,
        "FILE_CHECK" Block(FileCheck) Rare,
        "BFD_CHECK" Unrunnable Rare,
    }
    CheckerCommon {
        "retry" Value Core,
        "delay_before_retry" Value Core,
        "warmup" Value Common,
        "delay_loop" Value Common,
        "alpha" Value Common,
        "log_all_failures" Value Common,
    }
    ConnCommon {
        "connect_ip" Value Core,
        "connect_port" Value Core,
        "bindto" Value Core,
        "bind_port" Value Common,
        "bind_if" Value Common,
        "fwmark" Value Common,
        "connect_timeout" Value Core,
    }
    TcpCheck {
        "nb_get_retry" Ignored Core,
    }
    HttpCheck {
        "url" Block(Url) Core,
        "http_protocol" Value Common,
        "virtualhost" Value Common,
        "fast_recovery" Ignored Common,
        "nb_get_retry" Value Core,
        "enable_sni" Value Rare,
        "sni_name" Value Rare,
        "tls_compliant" Ignored Rare,
    }
    Url {
        "path" Value Core,
        "digest" Value Core,
        "status_code" Value Core,
        "virtualhost" Value Common,
        "regex" Value Rare,
        "regex_no_match" Value Rare,
        "regex_options" Value Rare,
        "regex_min_offset" Value Rare,
        "regex_max_offset" Value Rare,
        "regex_stack" Value Rare,
    }
    SmtpCheck {
        "helo_name" Value Core,
        "host" Ignored Rare,
    }
    MiscCheck {
        "misc_path" Value Core,
        "misc_timeout" Value Core,
        "misc_dynamic" Value Core,
        "user" Value Common,
    }
    DnsCheck {
        "type" Value Common,
        "name" Value Common,
    }
    UdpCheck {
        "payload" Value Rare,
        "require_reply" Value Rare,
        "min_reply_length" Value Rare,
        "max_reply_length" Value Rare,
    }
    FileCheck {
        "track_file" Value Rare,
        "weight" Value Rare,
    }
    GarpGroup {
        "garp_interval" Value Rare,
        "gna_interval" Value Rare,
        "interface" Value Rare,
        "interfaces" List Rare,
    }
    TrackFile {
        "file" Value Rare,
        "weight" Value Rare,
        "init_file" Value Rare,
    }
    PingCheck {
        "connect_ip" Value Rare,
        "connect_timeout" Value Rare,
        "bindto" Ignored Rare,
        "bind_port" Ignored Rare,
        "bind_if" Ignored Rare,
        "fwmark" Ignored Rare,
        "connect_port" Ignored Rare,
    }
}

/// What vigil does not do for an `Ignored` keyword, completing the warning
/// "'NAME' accepted; vigil does not ...". Every `Ignored` keyword has one
/// (a unit test walks the table).
pub fn ignored_reason(ctx: Ctx, name: &str) -> Option<&'static str> {
    use Ctx::*;
    Some(match (ctx, name) {
        (Top, "bfd_instance") | (SyncGroup | Instance, "track_bfd") => "do BFD",
        (Top, "SSL") => "load SSL_GET client certificates or CA files",
        (Top, "track_group") => "tie instances to static addresses or routes (track_group)",
        (Top, "linkbeat_interfaces") | (GlobalDefs | Instance, "linkbeat_use_polling") => {
            "poll link state (it follows netlink link events)"
        }
        (Top, "interface_up_down_delays") => "delay its reaction to interface up/down",
        (GlobalDefs, "vrrp_garp_extra_if") | (Instance, "garp_extra_if") => {
            "send gratuitous ARPs on extra interfaces"
        }
        (GlobalDefs, "fifo_write_vrrp_states_on_reload") => "write VRRP states to the notify FIFO on reload",
        (GlobalDefs, "vrrp_cpu_affinity" | "checker_cpu_affinity" | "bfd_cpu_affinity") => {
            "pin its processes to CPUs"
        }
        (GlobalDefs, "bfd_rt_priority" | "bfd_priority" | "bfd_no_swap" | "bfd_rlimit_rttime") => {
            "have a BFD process"
        }
        (GlobalDefs, "net_namespace" | "net_namespace_ipvs" | "namespace_with_ipsets") => {
            "switch network namespaces from the configuration"
        }
        (GlobalDefs, "instance") => "name its files after an instance",
        (GlobalDefs, "use_pid_dir") => "use a pid directory",
        (GlobalDefs, "nftables_ipvs" | "vrrp_iptables" | "vrrp_ipsets") => "install firewall rules",
        (
            GlobalDefs,
            "enable_snmp_vrrp"
            | "enable_snmp_checker"
            | "enable_snmp_rfc"
            | "enable_snmp_rfcv2"
            | "enable_snmp_rfcv3"
            | "enable_traps"
            | "snmp_socket",
        )
        | (VirtualServer, "snmp_name") => "speak SNMP",
        (GlobalDefs, "enable_dbus" | "dbus_service_name") => "offer D-Bus",
        (GlobalDefs, "include_check") => "check included files",
        (GlobalDefs, "config_save_dir" | "tmp_config_directory") => "keep copies of the configuration there",
        (Instance, "kernel_rx_buf_size") => "size VRRP socket buffers per instance",
        (
            GlobalDefs,
            "process_names"
            | "process_name"
            | "vrrp_process_name"
            | "checker_process_name"
            | "bfd_process_name",
        ) => "rename its processes",
        (GlobalDefs, "umask") => "set its umask from the configuration",
        (GlobalDefs, "random_seed") => "take a random seed from the configuration",
        (GlobalDefs, "data_use_instance") => "name dump files after an instance",
        (GlobalDefs, "child_wait_time") => "change how long it waits for its children at exit",
        (GlobalDefs, "log_unknown_vrids") => "log adverts for unknown VRIDs",
        (GlobalDefs, "vmac_prefix" | "vmac_addr_prefix") => "change VMAC name prefixes",
        (GlobalDefs, "rs_init_notifies") => "notify the initial state of real servers",
        (GlobalDefs, "state_dump_file" | "stats_dump_file" | "json_dump_file") => {
            "change dump file names (VIGIL_DUMP_DIR sets their directory)"
        }
        (GlobalDefs, "json_version") => "write other JSON versions",
        (GlobalDefs, "set_supplementary_groups") => "give scripts supplementary groups",
        (GlobalDefs | Instance, "lvs_sync_daemon_interface") => "run the IPVS connection sync daemon",
        (GlobalDefs, "lvs_id") => "use lvs_id",
        (SyncGroup, "notify_deleted") => {
            "run it for a sync group: keepalived has notify_deleted in vrrp_instance only (put it there)"
        }
        (SyncGroup, "global_tracking") => "apply global_tracking (see sync_group_tracking_weight)",
        (Instance, "no_virtual_ipaddress") => "accept an instance declared without addresses this way",
        (Instance, "promote_secondaries") => "set promote_secondaries on the interface",
        (Instance, "track_src_ip") => "track the advert source address",
        (Instance, "old_unicast_checksum") => "compute the old unicast checksum",
        (Instance, "mcast_dst_ip") => "send adverts to another multicast group per instance",
        (Instance, "use_vmac_addr") => "use an existing interface as the VMAC",
        (Instance, "use_ipvlan") => "use ipvlan interfaces",
        (Instance, "vrf") => "bind instances to a VRF",
        (Instance, "native_ipv6") => "force IPv6 adverts (the family follows the first VIP)",
        (Instance, "timer_expired_backup") => "go to BACKUP when the master-down timer expires this way",
        (Instance, "debug") => "log per-instance debug output",
        (Instance, "notify_master_rx_lower_pri") => "run a script when a master hears a lower priority",
        (VirtualServer, "persistence_engine") => "use IPVS persistence engines",
        (VirtualServer, "ops") => "set one-packet scheduling",
        (
            VirtualServer,
            "hashed" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback",
        ) => "set IPVS scheduler flags",
        (VirtualServer, "nat_mask") => "use nat_mask",
        (PingCheck, "bindto" | "bind_port" | "bind_if" | "fwmark") => {
            "bind or mark PING_CHECK's echo requests (one raw ICMP socket per family serves every PING_CHECK)"
        }
        (PingCheck, "connect_port") => "use a port for an ICMP echo",
        (RealServer, "BFD_CHECK") => "run this checker: it never passes, so the real server counts as down",
        (TcpCheck, "nb_get_retry") => "read nb_get_retry in TCP_CHECK",
        (SmtpCheck, "host") => {
            "check the hosts of SMTP_CHECK 'host' blocks: it checks connect_ip/connect_port"
        }
        (HttpCheck, "tls_compliant") => "change its TLS shutdown for tls_compliant",
        (HttpCheck, "fast_recovery") => {
            "switch fast_recovery: a real server always comes back after one good HTTP check, \
             as with fast_recovery (keepalived without it needs two)"
        }
        _ => return None,
    })
}

/// A hint to go with an `Ignored` keyword's warning, when there is more to say.
pub fn ignored_note(ctx: Ctx, name: &str) -> Option<&'static str> {
    Some(match (ctx, name) {
        (Ctx::VirtualServer, "nat_mask") => "obsolete; keepalived 2.x rejects it",
        (Ctx::TcpCheck, "nb_get_retry") => {
            "keepalived accepts nb_get_retry only in HTTP_GET/SSL_GET; use retry"
        }
        (Ctx::GlobalDefs, "lvs_id") => "obsolete since keepalived 1.x",
        (Ctx::SmtpCheck, "host") => "deprecated in keepalived; put connect_ip/connect_port in the checker",
        (_, "lvs_sync_daemon_interface") => "obsolete; use lvs_sync_daemon in global_defs",
        (Ctx::RealServer, "BFD_CHECK") => {
            "keepalived takes a real server out when a checker fails; remove the checker or use \
             TCP_CHECK, HTTP_GET, SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK or MISC_CHECK"
        }
        _ => return None,
    })
}

/// The warning for an `Ignored` keyword: "'NAME' accepted; vigil does not ...".
pub fn ignored_message(ctx: Ctx, name: &str) -> String {
    let what = ignored_reason(ctx, name).unwrap_or("act on it");
    format!("'{name}' accepted; vigil does not {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fuzz/config_load.dict (libFuzzer's -dict for the config_load
    /// target) holds every keyword and the preprocessor's syntax, so the
    /// fuzzer writes real keywords without tracing every comparison.
    #[test]
    fn fuzz_dictionary_is_current() {
        let mut words: Vec<&str> = KEYWORDS.iter().map(|k| k.name).collect();
        words.extend(["{", "}", "$", "${", "=", "@", "@^", "~SEQ(", "~SEQx(", "~LST(", "include", "#", "!"]);
        words.sort_unstable();
        words.dedup();
        let mut want =
            String::from("# Generated by keywords::tests::fuzz_dictionary_is_current; regenerate with\n");
        want.push_str("#   VIGIL_UPDATE_DICT=1 cargo test --lib fuzz_dictionary\n");
        for w in words {
            assert!(w.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'), "{w}");
            want.push_str(&format!("\"{w}\"\n"));
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/config_load.dict");
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if std::env::var_os("VIGIL_UPDATE_DICT").is_some() {
                std::fs::write(&path, want).unwrap();
                return;
            }
            panic!(
                "fuzz/config_load.dict is out of date: VIGIL_UPDATE_DICT=1 cargo test --lib fuzz_dictionary"
            );
        }
    }

    #[test]
    fn lookup_respects_context_and_case() {
        assert!(lookup(Ctx::Instance, "priority").is_some());
        assert!(lookup(Ctx::Instance, "Priority").is_none());
        assert!(lookup(Ctx::GlobalDefs, "priority").is_none());
        assert_eq!(lookup(Ctx::RealServer, "HTTP_GET").map(|k| k.kind), Some(Kind::Block(Ctx::HttpCheck)));
        // Shared checker options.
        assert!(lookup(Ctx::TcpCheck, "connect_port").is_some());
        assert!(lookup(Ctx::MiscCheck, "retry").is_some());
        assert!(lookup(Ctx::MiscCheck, "connect_port").is_none());
    }

    #[test]
    fn each_block_is_one_run_of_the_table_and_lookup_finds_what_a_full_scan_finds() {
        for (i, k) in KEYWORDS.iter().enumerate() {
            let (start, end) = CTX_RANGES[k.ctx as usize];
            assert!(
                (usize::from(start)..usize::from(end)).contains(&i),
                "{:?} {} outside its run",
                k.ctx,
                k.name
            );
        }
        let mut all_ctx: Vec<Ctx> = KEYWORDS.iter().map(|k| k.ctx).collect();
        all_ctx.dedup();
        let full_scan = |ctx: Ctx, name: &str| {
            KEYWORDS.iter().find(|k| k.name == name && (k.ctx == ctx || ctx.shared().contains(&k.ctx)))
        };
        for &ctx in &all_ctx {
            for name in KEYWORDS.iter().map(|k| k.name).chain(["", "nope", "Priority"]) {
                let (got, want) = (lookup(ctx, name), full_scan(ctx, name));
                assert_eq!(got.map(|k| (k.ctx, k.name)), want.map(|k| (k.ctx, k.name)), "{ctx:?} {name}");
            }
        }
    }

    #[test]
    fn no_duplicates_within_a_block() {
        for (i, a) in KEYWORDS.iter().enumerate() {
            for b in &KEYWORDS[i + 1..] {
                assert!(!(a.ctx == b.ctx && a.name == b.name), "duplicate {:?} {}", a.ctx, a.name);
            }
        }
    }

    #[test]
    fn blocks_with_names_other_homes() {
        assert_eq!(
            blocks_with("delay_loop", Ctx::Top),
            vec![Ctx::VirtualServer, Ctx::RealServer, Ctx::TcpCheck]
        );
        // PING_CHECK lists connect_port to warn that an echo has no port.
        assert_eq!(blocks_with("connect_port", Ctx::TcpCheck), vec![Ctx::PingCheck]);
    }
}
