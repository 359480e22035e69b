//! Nothing silent: every keyword in the keyword table and every
//! command-line flag is in exactly one of two classes.
//!
//! * Acted on: it changes behaviour as keepalived's does, and a test named
//!   here exercises it (`ACTED_ON`, `FLAGS`).
//! * Not acted on: `Kind::Ignored` in the keyword table with a reason
//!   (`keywords::ignored_reason`), or a value vigil reads but does not enforce
//!   (`WARNED`). `vigil -t` warns at its line, the daemon logs that warning
//!   at start with every diagnostic, and `--dump` lists it.
//!
//! Tests being written on other branches are `PENDING_<name>` placeholders,
//! listed in `PENDING`: empty it when they land.

use super::keywords::{Ctx, Kind, KEYWORDS};

/// Placeholders for tests on other branches; each is used below.
pub const PENDING: &[&str] = &[];

/// Values vigil reads but does not enforce: (block, keyword, a fragment of
/// the `-t` warning at its line).
pub const WARNED: &[(Ctx, &str, &str)] = &[];

/// (block, keyword, the test that exercises what it does).
pub const ACTED_ON: &[(Ctx, &str, &str)] = {
    use Ctx::*;
    &[
        (Top, "global_defs", "global_tuning_reaches_the_protocol_params"),
        (Top, "static_ipaddress", "virtual_and_static_routes_follow_state_and_leave_on_exit"),
        (Top, "static_routes", "virtual_and_static_routes_follow_state_and_leave_on_exit"),
        (Top, "static_rules", "virtual_and_static_routes_follow_state_and_leave_on_exit"),
        (Top, "vrrp_sync_group", "sync_group_moves_together"),
        (Top, "vrrp_script", "weighted_track_script_moves_the_master"),
        (Top, "vrrp_track_ping", "track_ping_hands_over_when_the_gateway_is_lost"),
        (Top, "garp_group", "garp_group_spaces_the_bursts_of_its_interfaces"),
        (GarpGroup, "garp_interval", "garp_group_spaces_the_bursts_of_its_interfaces"),
        (GarpGroup, "gna_interval", "garp_group_spaces_the_bursts_of_its_interfaces"),
        (GarpGroup, "interface", "garp_group_spaces_the_bursts_of_its_interfaces"),
        (GarpGroup, "interfaces", "garp_group_spaces_the_bursts_of_its_interfaces"),
        (Top, "vrrp_track_process", "track_process_quorum_moves_the_vip_and_back"),
        (Top, "vrrp_instance", "vrrp2_pass_auth_graceful_and_hard_failover"),
        (Top, "virtual_server_group", "keywords_reach_ipvs_and_the_checkers"),
        (Top, "virtual_server", "daemon_programs_ipvs_from_health_checks"),
        (GlobalDefs, "router_id", "config_from_globals"),
        (GlobalDefs, "notification_email", "no_mailer_without_server_or_recipients"),
        (GlobalDefs, "notification_email_from", "config_from_globals"),
        (GlobalDefs, "smtp_server", "smtp_alert_is_mailed_on_state_change"),
        (GlobalDefs, "smtp_connect_timeout", "silent_server_times_out_without_blocking_the_loop"),
        (GlobalDefs, "smtp_helo_name", "config_from_globals"),
        (GlobalDefs, "smtp_alert", "smtp_alert_is_mailed_on_state_change"),
        (GlobalDefs, "smtp_alert_vrrp", "alerts_follow_keepalived_switches"),
        (GlobalDefs, "smtp_alert_checker", "alerts_follow_keepalived_switches"),
        (GlobalDefs, "no_email_faults", "alerts_follow_keepalived_switches"),
        (GlobalDefs, "no_checker_emails", "no_checker_emails_mails_only_real_server_changes"),
        (GlobalDefs, "checker_log_all_failures", "keywords_reach_ipvs_and_the_checkers"),
        (GlobalDefs, "script_user", "resolves_script_user"),
        (GlobalDefs, "enable_script_security", "enable_script_security_refuses_unsafe_root_scripts"),
        (GlobalDefs, "vrrp_strict", "strict_mode_vip_answers_with_accept"),
        (GlobalDefs, "nftables", "no_accept_firewalls_the_vips_while_master"),
        (GlobalDefs, "nftables_priority", "no_accept_firewalls_the_vips_while_master"),
        (GlobalDefs, "nftables_counters", "no_accept_firewalls_the_vips_while_master"),
        (GlobalDefs, "nftables_ifindex", "link_local_vips_are_keyed_by_name_only_under_dont_track_primary"),
        (GlobalDefs, "vrrp_version", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_mcast_group4", "mcast_group4_vigil_master_keepalived_backup"),
        (GlobalDefs, "vrrp_mcast_group6", "mcast_group6_vigil_master_keepalived_backup"),
        (GlobalDefs, "vrrp_garp_master_delay", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_garp_master_repeat", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_garp_master_refresh", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_garp_master_refresh_repeat", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_garp_lower_prio_delay", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_garp_lower_prio_repeat", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_garp_interval", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_gna_interval", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_min_garp", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_lower_prio_no_advert", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_higher_prio_send_advert", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_skip_check_adv_addr", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_check_unicast_src", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_startup_delay", "startup_delay_holds_the_instances"),
        (GlobalDefs, "vrrp_delay_after_boot", "vrrp_delay_after_boot_is_vrrp_startup_delay"),
        (GlobalDefs, "vrrp_down_timer_adverts", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "vrrp_owner_ignore_adverts", "global_tuning_reaches_the_protocol_params"),
        (GlobalDefs, "default_interface", "static_addresses_default_to_default_interface"),
        (GlobalDefs, "metrics_listen", "metrics_follow_a_failover"),
        // What it asks for is what vigil always does: wait for the interface.
        (GlobalDefs, "dynamic_interfaces", "instances_wait_for_a_missing_interface_across_reloads"),
        (
            GlobalDefs,
            "reload_check_config",
            "reload_check_config_writes_the_check_and_keeps_a_bad_config_out",
        ),
        (GlobalDefs, "reload_file", "reload_file_marks_a_reload_in_progress"),
        (GlobalDefs, "reload_time_file", "reload_time_file_reloads_then_and_deletes_the_file"),
        (GlobalDefs, "reload_repeat", "reload_repeat_keeps_a_time_only_file_for_tomorrow"),
        (GlobalDefs, "vrrp_netlink_cmd_rcv_bufs", "socket_buffer_keywords_size_the_daemons_sockets"),
        (GlobalDefs, "vrrp_netlink_cmd_rcv_bufs_force", "socket_buffer_keywords_size_the_daemons_sockets"),
        (GlobalDefs, "vrrp_netlink_monitor_rcv_bufs", "socket_buffer_keywords_size_the_daemons_sockets"),
        (
            GlobalDefs,
            "vrrp_netlink_monitor_rcv_bufs_force",
            "socket_buffer_keywords_size_the_daemons_sockets",
        ),
        (GlobalDefs, "vrrp_rx_bufs_policy", "socket_buffer_keywords_size_the_daemons_sockets"),
        (GlobalDefs, "vrrp_rx_bufs_multiplier", "socket_buffer_keywords_size_the_daemons_sockets"),
        (GlobalDefs, "process_monitor_rcv_bufs", "process_connector_takes_the_configured_buffer"),
        (GlobalDefs, "process_monitor_rcv_bufs_force", "process_connector_takes_the_configured_buffer"),
        (GlobalDefs, "lvs_netlink_cmd_rcv_bufs", "daemon_programs_ipvs_from_health_checks"),
        (GlobalDefs, "lvs_netlink_cmd_rcv_bufs_force", "daemon_programs_ipvs_from_health_checks"),
        (
            GlobalDefs,
            "lvs_netlink_monitor_rcv_bufs",
            "ha_suspend_probes_only_while_the_virtual_address_is_local",
        ),
        (
            GlobalDefs,
            "lvs_netlink_monitor_rcv_bufs_force",
            "ha_suspend_probes_only_while_the_virtual_address_is_local",
        ),
        (GlobalDefs, "lvs_sync_daemon", "lvs_sync_daemon_follows_vrrp_between_two_directors"),
        (GlobalDefs, "lvs_timeouts", "lvs_sync_daemon_follows_vrrp_between_two_directors"),
        (GlobalDefs, "lvs_flush", "lvs_sync_daemon_follows_vrrp_between_two_directors"),
        (GlobalDefs, "lvs_flush_on_stop", "flush_on_stop_vs_removes_only_own_services"),
        (GlobalDefs, "notify_fifo", "vrrp_lines_through_a_failover_are_keepaliveds"),
        (GlobalDefs, "notify_fifo_script", "vrrp_lines_through_a_failover_are_keepaliveds"),
        (GlobalDefs, "vrrp_notify_fifo", "priority_change_lines_are_keepaliveds"),
        (GlobalDefs, "vrrp_notify_fifo_script", "fifo_scripts_in_any_order_and_duplicates_as_keepalived"),
        (GlobalDefs, "lvs_notify_fifo", "checker_lines_are_keepaliveds"),
        (GlobalDefs, "lvs_notify_fifo_script", "fifo_scripts_in_any_order_and_duplicates_as_keepalived"),
        (GlobalDefs, "vrrp_notify_priority_changes", "priority_change_lines_are_keepaliveds"),
        (SyncGroup, "notify_priority_changes", "notify_priority_changes_at_every_level"),
        (Instance, "notify_priority_changes", "notify_priority_changes_at_every_level"),
        (GlobalDefs, "vrrp_rt_priority", "sub_second_adverts_run_the_vrrp_child_realtime"),
        (
            GlobalDefs,
            "startup_script",
            "startup_script_runs_before_the_children_and_shutdown_script_after_them",
        ),
        (
            GlobalDefs,
            "shutdown_script",
            "startup_script_runs_before_the_children_and_shutdown_script_after_them",
        ),
        (
            GlobalDefs,
            "startup_script_timeout",
            "lifecycle_scripts_past_their_timeout_are_killed_and_the_daemon_goes_on",
        ),
        (
            GlobalDefs,
            "shutdown_script_timeout",
            "lifecycle_scripts_past_their_timeout_are_killed_and_the_daemon_goes_on",
        ),
        (GlobalDefs, "max_auto_priority", "a_vrrp_child_woken_late_raises_its_realtime_priority"),
        (GlobalDefs, "min_auto_priority_delay", "a_vrrp_child_woken_late_raises_its_realtime_priority"),
        (Instance, "notify_deleted", "notify_deleted_runs_when_a_reload_removes_the_instance"),
        (GlobalDefs, "vrrp_priority", "keywords_map_to_the_plan"),
        (GlobalDefs, "vrrp_no_swap", "keywords_map_to_the_plan"),
        (GlobalDefs, "vrrp_rlimit_rttime", "keywords_map_to_the_plan"),
        (GlobalDefs, "checker_rt_priority", "keywords_map_to_the_plan"),
        (GlobalDefs, "checker_priority", "keywords_map_to_the_plan"),
        (GlobalDefs, "checker_no_swap", "keywords_map_to_the_plan"),
        (GlobalDefs, "checker_rlimit_rttime", "keywords_map_to_the_plan"),
        (GlobalDefs, "disable_local_igmp", "disable_local_igmp_silences_the_vmac"),
        (SyncGroup, "group", "sync_group_moves_together"),
        (SyncGroup, "notify_master", "each_state_runs_its_notify_script"),
        (SyncGroup, "notify_backup", "each_state_runs_its_notify_script"),
        (SyncGroup, "notify_fault", "each_state_runs_its_notify_script"),
        (SyncGroup, "notify_stop", "each_state_runs_its_notify_script"),
        (SyncGroup, "notify", "notify_arguments_are_appended"),
        (SyncGroup, "smtp_alert", "alerts_follow_keepalived_switches"),
        (SyncGroup, "track_interface", "sync_group_tracking_weight_keeps_member_weights"),
        (SyncGroup, "track_script", "sync_group_members_lose_weights_and_gain_group_trackers"),
        (SyncGroup, "track_ping", "sync_group_tracking_weight_keeps_member_weights"),
        (SyncGroup, "track_process", "track_process_weights_reverse_and_fault"),
        (SyncGroup, "sync_group_tracking_weight", "sync_group_tracking_weight_keeps_member_weights"),
        (VrrpScript, "script", "weighted_track_script_moves_the_master"),
        (VrrpScript, "interval", "weighted_track_script_moves_the_master"),
        (VrrpScript, "timeout", "timeout_terminates_the_process_group"),
        (VrrpScript, "weight", "weighted_track_script_moves_the_master"),
        (VrrpScript, "rise", "rise_and_fall_need_consecutive_results"),
        (VrrpScript, "fall", "rise_and_fall_need_consecutive_results"),
        (VrrpScript, "user", "runs_as_a_non_root_script_user"),
        (VrrpScript, "init_fail", "a_fresh_script_fails_at_once_and_init_fail_needs_rise"),
        (TrackPing, "address", "track_ping_hands_over_when_the_gateway_is_lost"),
        (TrackPing, "interface", "track_ping_probes_only_through_its_interface"),
        (TrackPing, "interval", "track_ping_hands_over_when_the_gateway_is_lost"),
        (TrackPing, "timeout", "track_ping_hands_over_when_the_gateway_is_lost"),
        (TrackPing, "weight", "track_ping_hands_over_when_the_gateway_is_lost"),
        (TrackPing, "rise", "rise_and_fall_need_consecutive_results"),
        (TrackPing, "fall", "track_ping_hands_over_when_the_gateway_is_lost"),
        (TrackProcess, "process", "track_process_quorum_moves_the_vip_and_back"),
        (TrackProcess, "param_match", "track_process_quorum_moves_the_vip_and_back"),
        (TrackProcess, "full_command", "comm_is_compared_whole_and_is_at_most_15_bytes"),
        (TrackProcess, "quorum", "track_process_quorum_moves_the_vip_and_back"),
        (TrackProcess, "quorum_max", "quorum_and_quorum_max_bound_the_count"),
        (TrackProcess, "weight", "track_process_quorum_moves_the_vip_and_back"),
        (TrackProcess, "delay", "connector_events_fork_exec_exit_and_comm"),
        (TrackProcess, "fork_delay", "track_process_quorum_moves_the_vip_and_back"),
        (TrackProcess, "terminate_delay", "track_process_quorum_moves_the_vip_and_back"),
        (Instance, "state", "vrrp2_pass_auth_graceful_and_hard_failover"),
        (Instance, "interface", "vrrp2_pass_auth_graceful_and_hard_failover"),
        (Instance, "virtual_router_id", "vrrp2_pass_auth_graceful_and_hard_failover"),
        (Instance, "priority", "three_routers_highest_priority_wins"),
        (Instance, "advert_int", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "authentication", "vrrp2_pass_auth_graceful_and_hard_failover"),
        (Instance, "virtual_ipaddress", "vrrp2_pass_auth_graceful_and_hard_failover"),
        (
            Instance,
            "virtual_ipaddress_excluded",
            "interfaces_of_vips_routes_and_rules_are_tracked_unless_no_track",
        ),
        (Instance, "virtual_routes", "virtual_and_static_routes_follow_state_and_leave_on_exit"),
        (Instance, "virtual_rules", "virtual_and_static_routes_follow_state_and_leave_on_exit"),
        (Instance, "nopreempt", "nopreempt_keeps_the_current_master"),
        (Instance, "preempt", "higher_priority_preempts_after_master_down_interval"),
        (Instance, "preempt_delay", "preempt_delay_postpones_preemption"),
        (Instance, "track_script", "weighted_track_script_moves_the_master"),
        (Instance, "track_ping", "track_ping_hands_over_when_the_gateway_is_lost"),
        (Instance, "track_process", "track_process_quorum_moves_the_vip_and_back"),
        (Instance, "track_interface", "tracked_links_down_fault_and_up_preempts"),
        (Instance, "dont_track_primary", "items_from_config"),
        (Instance, "mcast_src_ip", "adverts_leave_from_mcast_or_unicast_src_ip"),
        (Instance, "unicast_src_ip", "adverts_leave_from_mcast_or_unicast_src_ip"),
        (Instance, "unicast_peer", "unicast_peers_failover"),
        (Instance, "unicast_ttl", "unicast_ttl_sets_the_socket_ttl"),
        (Instance, "check_unicast_src", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "unicast_fault_no_peer", "unicast_fault_no_peer_holds_fault"),
        (Instance, "version", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "use_vmac", "vmac_master_failover_and_cleanup"),
        (Instance, "vmac_xmit_base", "vmac_xmit_base_sends_adverts_from_the_parent"),
        (Instance, "accept", "strict_mode_vip_answers_with_accept"),
        (Instance, "no_accept", "no_accept_firewalls_the_vips_while_master"),
        (Instance, "strict_mode", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "skip_check_adv_addr", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "garp_master_delay", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "garp_master_repeat", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "garp_master_refresh", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "garp_master_refresh_repeat", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "garp_lower_prio_delay", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "garp_lower_prio_repeat", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "lower_prio_no_advert", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "higher_prio_send_advert", "healed_split_brain_winner_reannounces_in_either_order"),
        (Instance, "down_timer_adverts", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "owner_ignore_adverts", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "v3_checksum_as_v2", "instance_tuning_reaches_the_protocol_params"),
        (Instance, "notify_master", "each_state_runs_its_notify_script"),
        (Instance, "notify_backup", "each_state_runs_its_notify_script"),
        (Instance, "notify_fault", "each_state_runs_its_notify_script"),
        (Instance, "notify_stop", "each_state_runs_its_notify_script"),
        (Instance, "notify", "notify_arguments_are_appended"),
        (Instance, "smtp_alert", "alerts_follow_keepalived_switches"),
        (Authentication, "auth_type", "v2_ah_vigil_master_keepalived_backup"),
        (Instance, "auth_hmac", "enforce_pair_elects_and_drops_forged_and_replayed_adverts"),
        (AuthHmac, "key", "enforce_pair_elects_and_drops_forged_and_replayed_adverts"),
        (AuthHmac, "active_key", "auth_hmac_keys_modes_and_invalid_combinations"),
        (AuthHmac, "anti_replay", "auth_hmac_keys_modes_and_invalid_combinations"),
        (AuthHmac, "time_window", "auth_hmac_keys_modes_and_invalid_combinations"),
        (AuthHmac, "mode", "receive_only_sends_nothing_that_enforce_accepts"),
        (Authentication, "auth_pass", "vrrp2_pass_auth_graceful_and_hard_failover"),
        (VirtualServer, "lb_algo", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "ip_family", "ip_family_sets_the_fwmark_service_family"),
        (VirtualServer, "ha_suspend", "ha_suspend_probes_only_while_the_virtual_address_is_local"),
        (VirtualServer, "lvs_sched", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "lb_kind", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "lvs_method", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "protocol", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "persistence_timeout", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "persistence_granularity", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "delay_loop", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "connect_timeout", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "retry", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "delay_before_retry", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "warmup", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "inhibit_on_failure", "inhibit_on_failure_sets_weight_zero_instead_of_removing"),
        (VirtualServer, "alpha", "alpha_starts_down_and_needs_one_success"),
        (VirtualServer, "omega", "omega_runs_down_scripts_at_shutdown"),
        (VirtualServer, "quorum", "quorum_hysteresis_and_sorry_server"),
        (VirtualServer, "hysteresis", "quorum_hysteresis_and_sorry_server"),
        (VirtualServer, "quorum_up", "checkers_against_real_servers"),
        (VirtualServer, "quorum_down", "checkers_against_real_servers"),
        (VirtualServer, "sorry_server", "quorum_hysteresis_and_sorry_server"),
        (VirtualServer, "sorry_server_inhibit", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "sorry_server_lvs_method", "keywords_reach_ipvs_and_the_checkers"),
        (VirtualServer, "virtualhost", "virtualhost_from_url_checker_real_server_or_virtual_server"),
        (VirtualServer, "smtp_alert", "up_down_quorum_alerts_and_smtp_alert_off"),
        (VirtualServer, "real_server", "daemon_programs_ipvs_from_health_checks"),
        (RealServer, "weight", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "notify_up", "checkers_against_real_servers"),
        (RealServer, "notify_down", "checkers_against_real_servers"),
        (RealServer, "inhibit_on_failure", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "uthreshold", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "lthreshold", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "lvs_method", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "alpha", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "connect_timeout", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "retry", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "delay_before_retry", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "warmup", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "delay_loop", "keywords_reach_ipvs_and_the_checkers"),
        (RealServer, "smtp_alert", "alerts_follow_keepalived_switches"),
        (RealServer, "virtualhost", "virtualhost_from_url_checker_real_server_or_virtual_server"),
        (RealServer, "TCP_CHECK", "checkers_against_real_servers"),
        (RealServer, "HTTP_GET", "checkers_against_real_servers"),
        (RealServer, "SSL_GET", "ssl_get_checks_digest_and_sends_sni_only_when_enabled"),
        (RealServer, "SMTP_CHECK", "checkers_against_real_servers"),
        (RealServer, "MISC_CHECK", "checkers_against_real_servers"),
        (RealServer, "DNS_CHECK", "dns_check_follows_the_responder"),
        (CheckerCommon, "retry", "keywords_reach_ipvs_and_the_checkers"),
        (CheckerCommon, "delay_before_retry", "keywords_reach_ipvs_and_the_checkers"),
        (CheckerCommon, "warmup", "keywords_reach_ipvs_and_the_checkers"),
        (CheckerCommon, "delay_loop", "keywords_reach_ipvs_and_the_checkers"),
        (CheckerCommon, "alpha", "keywords_reach_ipvs_and_the_checkers"),
        (CheckerCommon, "log_all_failures", "keywords_reach_ipvs_and_the_checkers"),
        (ConnCommon, "connect_ip", "keywords_reach_ipvs_and_the_checkers"),
        (ConnCommon, "connect_port", "keywords_reach_ipvs_and_the_checkers"),
        (ConnCommon, "bindto", "connect_binds_pins_and_marks_as_configured"),
        (ConnCommon, "bind_port", "connect_binds_pins_and_marks_as_configured"),
        (ConnCommon, "bind_if", "connect_binds_pins_and_marks_as_configured"),
        (ConnCommon, "fwmark", "connect_binds_pins_and_marks_as_configured"),
        (ConnCommon, "connect_timeout", "keywords_reach_ipvs_and_the_checkers"),
        (HttpCheck, "url", "checkers_against_real_servers"),
        (HttpCheck, "http_protocol", "request_follows_http_protocol"),
        (HttpCheck, "virtualhost", "virtualhost_from_url_checker_real_server_or_virtual_server"),
        (HttpCheck, "nb_get_retry", "keywords_reach_ipvs_and_the_checkers"),
        (HttpCheck, "enable_sni", "sni_only_with_enable_sni_or_sni_name"),
        (HttpCheck, "sni_name", "sni_only_with_enable_sni_or_sni_name"),
        (Url, "path", "checkers_against_real_servers"),
        (Url, "digest", "checkers_against_real_servers"),
        (Url, "status_code", "judging"),
        (Url, "virtualhost", "virtualhost_from_url_checker_real_server_or_virtual_server"),
        (Url, "regex", "http_regex_takes_the_server_out_and_back"),
        (Url, "regex_no_match", "http_regex_takes_the_server_out_and_back"),
        (Url, "regex_options", "options_and_bytes_that_are_not_utf8"),
        (Url, "regex_min_offset", "http_regex_takes_the_server_out_and_back"),
        (Url, "regex_max_offset", "offsets_bound_where_a_match_starts"),
        (Url, "regex_stack", "url_regex_keywords_as_keepalived_reads_them"),
        (SmtpCheck, "helo_name", "checkers_against_real_servers"),
        (MiscCheck, "misc_path", "checkers_against_real_servers"),
        (MiscCheck, "misc_timeout", "checkers_against_real_servers"),
        (MiscCheck, "misc_dynamic", "checkers_against_real_servers"),
        (MiscCheck, "user", "runs_as_a_non_root_script_user"),
        (DnsCheck, "type", "dns_check_type_and_name"),
        (DnsCheck, "name", "dns_check_type_and_name"),
        (RealServer, "UDP_CHECK", "udp_check_follows_the_responder"),
        (UdpCheck, "payload", "udp_check_follows_the_responder"),
        (UdpCheck, "require_reply", "udp_check_follows_the_responder"),
        (UdpCheck, "min_reply_length", "udp_replies_are_judged_as_keepalived_does"),
        (UdpCheck, "max_reply_length", "udp_replies_are_judged_as_keepalived_does"),
        (RealServer, "PING_CHECK", "ping_check_follows_the_address"),
        (PingCheck, "connect_ip", "ping_check_follows_the_address"),
        (PingCheck, "connect_timeout", "ping_check_follows_the_address"),
        (RealServer, "FILE_CHECK", "file_check_follows_the_file"),
        (FileCheck, "track_file", "file_check_follows_the_file"),
        (FileCheck, "weight", "file_check_follows_the_file"),
        (Top, "track_file", "file_check_follows_the_file"),
        (Top, "vrrp_track_file", "track_file_blocks_are_read_as_keepalived_does"),
        (TrackFile, "file", "file_check_follows_the_file"),
        (TrackFile, "weight", "file_check_follows_the_file"),
        (TrackFile, "init_file", "file_check_follows_the_file"),
        (Instance, "track_file", "track_file_moves_the_vip_and_faults_as_keepalived"),
        (SyncGroup, "track_file", "track_files_of_instances_and_sync_groups_weigh_or_fault"),
    ]
};

/// Every flag `cli::parse_args` accepts (its spellings), with the test that
/// exercises it.
pub const FLAGS: &[(&[&str], &str)] = &[
    (&["f", "use-file"], "seed_full_reference"),
    (&["n", "dont-fork"], "pid_files_are_locked_a_second_start_refuses_and_sigterm_is_fast"),
    (&["l", "log-console"], "pid_files_are_locked_a_second_start_refuses_and_sigterm_is_fast"),
    (&["D", "log-detail"], "log_detail_logs_debug_lines"),
    (&["S", "log-facility"], "facilities"),
    (&["G", "no-syslog"], "pid_files_are_locked_a_second_start_refuses_and_sigterm_is_fast"),
    (&["P", "vrrp"], "vrrp2_pass_auth_graceful_and_hard_failover"),
    (&["C", "check"], "stopped_checker_child_is_replaced"),
    (&["p", "pid"], "pid_files_are_locked_a_second_start_refuses_and_sigterm_is_fast"),
    (&["r", "vrrp_pid"], "pid_files_are_locked_a_second_start_refuses_and_sigterm_is_fast"),
    (&["c", "checkers_pid"], "pid_files_are_locked_a_second_start_refuses_and_sigterm_is_fast"),
    (&["b", "bfd_pid"], "unsupported_flags_are_named"),
    (&["t", "config-test"], "seed_full_reference"),
    (&["dump"], "dump_lists_what_vigil_does_not_act_on"),
    (&["i", "config-id"], "config_id_selects_the_at_id_lines"),
    (&["d", "dump-conf"], "dump_shows_what_runs"),
    (&["R", "dont-respawn"], "dont_respawn_leaves_a_dead_child_dead"),
    (&["X", "release-vips"], "unsupported_flags_are_named"),
    (&["V", "dont-release-vrrp"], "dont_release_vrrp_leaves_the_vip"),
    (&["I", "dont-release-ipvs"], "dont_release_ipvs_leaves_the_table"),
    (&["B", "no_bfd", "no-mem-check", "M", "core-dump-pattern"], "unsupported_flags_are_named"),
    (&["all", "m", "core-dump"], "all_runs_every_child_and_core_dump_lifts_the_limit"),
    (
        &["a", "address-monitoring", "ignore-sigint", "flush-log-file"],
        "umask_bare_log_file_ignore_sigint_and_address_monitoring",
    ),
    (&["e", "all-config"], "all_config_and_config_test_log_file"),
    (&["u", "umask"], "umask_bare_log_file_ignore_sigint_and_address_monitoring"),
    (&["s", "namespace"], "namespace_flag_runs_the_daemon_inside_and_status_finds_it"),
    (&["g", "log-file"], "umask_bare_log_file_ignore_sigint_and_address_monitoring"),
    (&["v", "version"], "bad_arguments_are_errors"),
    (&["h", "help"], "help_prints_the_usage"),
];

/// Where a keyword of `ctx` sits in a minimal configuration: the text
/// before and after its line, and its line number.
pub fn skeleton(ctx: Ctx) -> (&'static str, &'static str, u32) {
    const RS: &str = "virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\n";
    match ctx {
        Ctx::Top => ("", "\n", 1),
        Ctx::GlobalDefs => ("global_defs {\n", "\n}\n", 2),
        Ctx::SyncGroup => ("vrrp_sync_group G {\n", "\n}\n", 2),
        Ctx::VrrpScript => ("vrrp_script S {\n", "\n}\n", 2),
        Ctx::TrackPing => ("vrrp_track_ping P {\n", "\n}\n", 2),
        Ctx::TrackProcess => ("vrrp_track_process P {\n", "\n}\n", 2),
        Ctx::GarpGroup => ("garp_group {\n", "\n}\n", 2),
        Ctx::Instance => ("vrrp_instance V {\n", "\n}\n", 2),
        Ctx::Authentication => ("vrrp_instance V {\nauthentication {\n", "\n}\n}\n", 3),
        Ctx::AuthHmac => ("vrrp_instance V {\nauth_hmac {\n", "\n}\n}\n", 3),
        Ctx::VirtualServer => ("virtual_server 10.0.0.1 80 {\n", "\n}\n", 2),
        Ctx::RealServer => (RS, "\n}\n}\n", 3),
        Ctx::TcpCheck | Ctx::CheckerCommon | Ctx::ConnCommon => {
            ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nTCP_CHECK {\n", "\n}\n}\n}\n", 4)
        }
        Ctx::HttpCheck => {
            ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nHTTP_GET {\n", "\n}\n}\n}\n", 4)
        }
        Ctx::SmtpCheck => {
            ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nSMTP_CHECK {\n", "\n}\n}\n}\n", 4)
        }
        Ctx::SmtpHost => (
            "virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nSMTP_CHECK {\nhost {\n",
            "\n}\n}\n}\n}\n",
            5,
        ),
        Ctx::MiscCheck => {
            ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nMISC_CHECK {\n", "\n}\n}\n}\n", 4)
        }
        Ctx::DnsCheck => {
            ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nDNS_CHECK {\n", "\n}\n}\n}\n", 4)
        }
        Ctx::UdpCheck => {
            ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nUDP_CHECK {\n", "\n}\n}\n}\n", 4)
        }
        Ctx::FileCheck => {
            ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nFILE_CHECK {\n", "\n}\n}\n}\n", 4)
        }
        Ctx::TrackFile => ("track_file F {\n", "\n}\n", 2),
        Ctx::PingCheck => {
            ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nPING_CHECK {\n", "\n}\n}\n}\n", 4)
        }
        Ctx::Url => (
            "virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nHTTP_GET {\nurl {\n",
            "\n}\n}\n}\n}\n",
            5,
        ),
    }
}

/// The README's "keepalived features" table: per block, how many keywords
/// vigil acts on and which it accepts without acting on.
pub fn readme_table() -> String {
    let mut order: Vec<Ctx> = Vec::new();
    for k in KEYWORDS {
        let c = readme_block(k.ctx);
        if !order.contains(&c) {
            order.push(c);
        }
    }
    let mut out = String::from("| block | done | not done (accepted, `vigil -t` warns) |\n|---|---:|---|\n");
    let (mut done_all, mut not_all) = (0, 0);
    for c in order {
        let in_block = || KEYWORDS.iter().filter(move |k| readme_block(k.ctx) == c);
        let done = in_block().filter(|k| !not_acted_on(k) && !is_warned(k.ctx, k.name)).count()
            - in_block().filter(|k| !not_acted_on(k) && is_pending_keyword(k.ctx, k.name)).count();
        let not: Vec<String> = in_block()
            .filter(|k| not_acted_on(k) || is_warned(k.ctx, k.name))
            .map(|k| format!("`{}`", k.name))
            .collect();
        done_all += done;
        not_all += not.len();
        let list =
            if not.is_empty() { "-".to_string() } else { format!("{}: {}", not.len(), not.join(", ")) };
        out.push_str(&format!("| {} | {done} | {list} |\n", c.name()));
    }
    out.push_str(&format!("| all | {done_all} | {not_all} |\n"));
    let pending: Vec<String> = ACTED_ON
        .iter()
        .filter(|&&(c, n, _)| is_pending_keyword(c, n))
        .map(|&(_, n, _)| format!("`{n}`"))
        .collect();
    if !pending.is_empty() {
        out.push_str(&format!("\nIn progress (not counted above): {}.\n", pending.join(", ")));
    }
    out
}

/// An acted-on keyword whose test is still a `PENDING` placeholder.
/// Accepted with a warning and not acted on: Ignored, or a checker vigil
/// cannot run (kept so that it fails).
fn not_acted_on(k: &super::keywords::Keyword) -> bool {
    matches!(k.kind, Kind::Ignored | Kind::Unrunnable)
}

fn is_pending_keyword(ctx: Ctx, name: &str) -> bool {
    ACTED_ON.iter().any(|&(c, n, t)| c == ctx && n == name && PENDING.contains(&t))
}

fn readme_block(c: Ctx) -> Ctx {
    match c {
        Ctx::TcpCheck | Ctx::CheckerCommon | Ctx::ConnCommon => Ctx::CheckerCommon,
        c => c,
    }
}

/// True for a `WARNED` value keyword.
pub fn is_warned(ctx: Ctx, name: &str) -> bool {
    WARNED.iter().any(|&(c, n, _)| c == ctx && n == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keywords::{ignored_note, ignored_reason};
    use crate::config::{load_bytes, LoadOptions, Severity};
    use std::path::{Path, PathBuf};

    fn is_pending(test: &str) -> bool {
        PENDING.contains(&test)
    }

    /// The text of every .rs file under src/ and tests/.
    fn sources() -> String {
        fn walk(dir: &Path, out: &mut String) {
            let Ok(rd) = std::fs::read_dir(dir) else { return };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut s = String::new();
        walk(&root.join("src"), &mut s);
        walk(&root.join("tests"), &mut s);
        s
    }

    /// Nothing silent (the module doc), over the keyword table.
    #[test]
    fn every_keyword_is_acted_on_or_warned() {
        let mut missing = Vec::new();
        for k in KEYWORDS {
            let acted = ACTED_ON.iter().filter(|&&(c, n, _)| c == k.ctx && n == k.name).count();
            let warned = WARNED.iter().filter(|&&(c, n, _)| c == k.ctx && n == k.name).count();
            let pending = ACTED_ON.iter().any(|&(c, n, t)| c == k.ctx && n == k.name && is_pending(t));
            match k.kind {
                // Implemented on another branch: Ignored here until it lands.
                Kind::Ignored if pending => {}
                // A checker vigil cannot run: kept, failing, and warned like an Ignored keyword.
                Kind::Ignored | Kind::Unrunnable => {
                    assert!(ignored_reason(k.ctx, k.name).is_some(), "{:?} {}: no reason", k.ctx, k.name);
                    assert_eq!(acted + warned, 0, "{:?} {} is Ignored and listed as acted on", k.ctx, k.name);
                }
                _ => {
                    if acted + warned != 1 {
                        missing.push(format!("{:?} {} ({acted} ACTED_ON, {warned} WARNED)", k.ctx, k.name));
                    }
                    assert!(
                        ignored_reason(k.ctx, k.name).is_none(),
                        "{:?} {}: a reason but not Ignored",
                        k.ctx,
                        k.name
                    );
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keywords in neither class (name a test in config::coverage::ACTED_ON, or make them Ignored):\n{}",
            missing.join("\n")
        );
        for &(c, n, _) in ACTED_ON.iter().chain(WARNED) {
            assert!(
                KEYWORDS.iter().any(|k| k.ctx == c && k.name == n),
                "{c:?} {n} is not in the keyword table"
            );
        }
    }

    /// Each test named in ACTED_ON and FLAGS exists (`fn NAME(` in src/ or tests/).
    #[test]
    fn named_tests_exist() {
        let src = sources();
        let names = ACTED_ON.iter().map(|&(_, _, t)| t).chain(FLAGS.iter().map(|&(_, t)| t));
        let mut absent: Vec<&str> =
            names.filter(|t| !is_pending(t) && !src.contains(&format!("fn {t}("))).collect();
        absent.dedup();
        assert!(absent.is_empty(), "tests named in config::coverage that do not exist: {absent:?}");
    }

    /// PENDING only lists placeholders in use; they are printed as a reminder.
    #[test]
    fn pending_placeholders_are_listed() {
        for p in PENDING {
            let used = ACTED_ON.iter().any(|&(_, _, t)| t == *p) || FLAGS.iter().any(|&(_, t)| t == *p);
            assert!(used, "{p} is in PENDING but names nothing");
        }
        for t in ACTED_ON.iter().map(|&(_, _, t)| t).chain(FLAGS.iter().map(|&(_, t)| t)) {
            assert!(!t.starts_with("PENDING_") || is_pending(t), "{t} is a placeholder missing from PENDING");
        }
        if !PENDING.is_empty() {
            println!("pending tests (other branches): {}", PENDING.join(", "));
        }
    }

    /// What "not acted on" promises: `-t` warns at the line, `--dump` lists it.
    #[test]
    fn not_acted_on_keywords_warn_at_their_line() {
        let opts = LoadOptions::with_id("n1");
        for k in KEYWORDS {
            let warned = WARNED.iter().find(|&&(c, n, _)| c == k.ctx && n == k.name);
            if !not_acted_on(k) && warned.is_none() {
                continue;
            }
            let (pre, post, line) = skeleton(k.ctx);
            let text = format!("{pre}{}{post}", k.name);
            let l = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
            let at_line: Vec<&crate::config::Diagnostic> = l
                .diags
                .iter()
                .filter(|d| d.severity == Severity::Warning && d.loc.as_ref().is_some_and(|x| x.line == line))
                .collect();
            let want = match warned {
                Some((_, _, fragment)) => fragment.to_string(),
                None => format!(
                    "'{}' accepted; vigil does not {}",
                    k.name,
                    ignored_reason(k.ctx, k.name).unwrap()
                ),
            };
            assert!(
                at_line.iter().any(|d| d.message.contains(&want)),
                "{:?} {}: no warning '{want}' at line {line} of\n{text}\n{:?}",
                k.ctx,
                k.name,
                l.diags
            );
            if warned.is_none() {
                let note = ignored_note(k.ctx, k.name);
                assert!(at_line.iter().any(|d| d.hint.as_deref() == note), "{:?} {}: hint", k.ctx, k.name);
                let dump = crate::config::dump::dump(&l.config);
                assert!(
                    dump.contains(&format!(
                        "#   t.conf:{line}: {} ({}): vigil does not",
                        k.name,
                        k.ctx.name()
                    )),
                    "{:?} {}: not in --dump:\n{dump}",
                    k.ctx,
                    k.name
                );
            }
        }
    }

    /// No acted-on keyword falls through the parser (`unhandled`: "accepted
    /// but has no effect") or is reported as not acted on.
    #[test]
    fn acted_on_keywords_reach_the_parser() {
        let opts = LoadOptions::with_id("n1");
        for &(ctx, name, _) in ACTED_ON {
            let (pre, post, line) = skeleton(ctx);
            let text = format!("{pre}{name} 1{post}");
            let l = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
            let bad = l.diags.iter().find(|d| {
                d.loc.as_ref().is_some_and(|x| x.line == line)
                    && (d.message.contains("has no effect in vigil")
                        || d.message.contains("accepted; vigil does not"))
            });
            let pending = is_pending_keyword(ctx, name);
            assert!(bad.is_none() || pending, "{ctx:?} {name}: {bad:?}");
        }
    }

    /// README.md's table between the keyword markers is `readme_table()`.
    #[test]
    fn keyword_table_in_readme() {
        const BEGIN: &str = "<!-- keywords:begin -->\n";
        const END: &str = "<!-- keywords:end -->";
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let (Some(a), Some(b)) = (readme.find(BEGIN), readme.find(END)) else {
            panic!("README.md has no '{}' ... '{END}' section", BEGIN.trim_end());
        };
        let want = readme_table();
        let have = &readme[a + BEGIN.len()..b];
        if have != want {
            if std::env::var_os("VIGIL_UPDATE_README").is_some() {
                let new = format!("{}{BEGIN}{want}{}", &readme[..a], &readme[b..]);
                std::fs::write(&path, new).unwrap();
                return;
            }
            panic!(
                "README.md's keyword table is out of date; regenerate it with\n  \
                 VIGIL_UPDATE_README=1 cargo test --lib keyword_table\nwant:\n{want}"
            );
        }
    }
}
