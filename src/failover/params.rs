//! From the configuration model to the protocol core's parameters. Pure:
//! the interface facts (source address) come in as arguments.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::model::{self, GlobalDefs, VrrpInstance};
use crate::vrrp::hmac::{self, AntiReplay, HmacParams};
use crate::vrrp::{Auth, Family, GarpParams, InstanceParams, Version};

/// The protocol parameters of `inst`, whose adverts leave from `source`.
pub fn instance_params(inst: &VrrpInstance, g: &GlobalDefs, source: IpAddr) -> InstanceParams {
    let mut p = InstanceParams::new(&inst.name, inst.vrid, inst.effective_priority(), source);
    p.version = if inst.effective_version(g) == 3 { Version::V3 } else { Version::V2 };
    p.family = Family::of(source);
    p.advert_interval_cs = model::interval_cs(inst.advert_int, inst.effective_version(g));
    p.vips = inst.vips.iter().map(|v| v.addr).collect();
    p.auth = match &inst.auth {
        // v3 has no authentication field, and AH is IPv4 only; `config::validate` warns about both.
        Some(model::Auth::Pass(pw)) if p.version == Version::V2 => Auth::pass(&String::from_utf8_lossy(pw)),
        Some(model::Auth::Ah(pw)) if p.version == Version::V2 && p.family == Family::V4 => Auth::ah(pw),
        _ => Auth::None,
    };
    p.hmac = inst.auth_hmac.as_ref().and_then(|h| {
        // `config::validate` drops instances whose active key is not loaded.
        let active_key = h.active_key.filter(|_| h.active().is_some())?;
        let window = match h.anti_replay {
            AntiReplay::Time => h.time_window.unwrap_or_else(|| hmac::derived_window(p.advert_interval_cs)),
            AntiReplay::Monotonic => h.time_window.unwrap_or(0),
        };
        Some(HmacParams {
            keys: h.keys.clone(),
            active_key,
            anti_replay: h.anti_replay,
            window,
            mode: h.mode,
        })
    });
    if p.hmac.is_some() {
        // keepalived: "auth_hmac cannot be combined with authentication".
        p.auth = Auth::None;
    }
    p.unicast_peers = inst.unicast_peers.iter().map(|peer| peer.addr).collect();
    // vigil checks the source of unicast adverts unless told otherwise
    // (keepalived's default is off, which lets any host force failovers).
    p.check_unicast_src = inst.effective_check_unicast_src(g);
    // nopreempt only means something for a non-owner that starts as backup.
    p.nopreempt = inst.nopreempt && inst.effective_priority() < 255;
    p.preempt_delay = inst.preempt_delay;
    p.down_timer_adverts = inst.effective_down_timer_adverts(g).max(1);
    p.owner_ignore_adverts = inst.effective_owner_ignore_adverts(g);
    p.skip_check_adv_addr = inst.effective_skip_check_adv_addr(g);
    p.lower_prio_no_advert = inst.effective_lower_prio_no_advert(g);
    p.higher_prio_send_advert = inst.effective_higher_prio_send_advert(g);
    p.v3_checksum_as_v2 = inst.v3_checksum_as_v2;
    p.garp = GarpParams {
        master_delay: inst.effective_garp_master_delay(g),
        master_repeat: inst.effective_garp_master_repeat(g),
        master_refresh: inst.effective_garp_master_refresh(g),
        refresh_repeat: inst.effective_garp_master_refresh_repeat(g),
        lower_prio_delay: inst.effective_garp_lower_prio_delay(g),
        lower_prio_repeat: inst.effective_garp_lower_prio_repeat(g),
        spacing: g.garp_spacing(inst.interface.as_deref().unwrap_or(""), source.is_ipv4()),
    };
    if g.vrrp_min_garp {
        p.garp.master_repeat = 1;
        p.garp.master_delay = Duration::ZERO;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::Severity;
    use crate::config::{load_bytes, LoadOptions};
    use std::path::Path;

    fn first(conf: &str) -> (VrrpInstance, GlobalDefs) {
        let opts = LoadOptions::with_id("n1");
        let l = load_bytes("t.conf", conf.as_bytes(), Path::new("/"), &opts);
        (l.config.instances[0].clone(), l.config.global.clone())
    }

    #[test]
    fn maps_keepalived_defaults() {
        let (i, g) = first(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n state MASTER\n \
             authentication {\n auth_type PASS\n auth_pass secret1234\n }\n \
             virtual_ipaddress {\n 198.18.0.100/24\n }\n}\n",
        );
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        assert_eq!(p.priority, 255, "state MASTER without priority is the owner");
        assert_eq!(p.version, Version::V2);
        assert_eq!(p.advert_interval_cs, 100);
        assert_eq!(p.auth, Auth::pass("secret12"));
        assert_eq!(p.vips, vec!["198.18.0.100".parse::<IpAddr>().unwrap()]);
        assert_eq!(p.garp.master_repeat, 5);
        assert_eq!(p.garp.master_delay, Duration::from_secs(5));
        assert!(p.check_unicast_src);
    }

    #[test]
    fn ah_maps_to_an_ah_key_on_ipv4_v2_only() {
        let conf = |extra: &str| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{extra} \
                 authentication {{\n auth_type AH\n auth_pass s3cret\n }}\n \
                 virtual_ipaddress {{\n 198.18.0.100/24\n }}\n}}\n"
            )
        };
        let (i, g) = first(&conf(""));
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        assert_eq!(p.auth, Auth::Ah(*b"s3cret\0\0"));
        assert_eq!(p.auth.type_code(), crate::vrrp::packet::AUTH_AH);
        let (i, g) = first(&conf(" version 3\n"));
        assert_eq!(instance_params(&i, &g, "198.18.0.1".parse().unwrap()).auth, Auth::None);
    }

    #[test]
    fn auth_hmac_maps_keys_window_and_drops_legacy_auth() {
        let conf = |extra: &str| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n advert_int 40\n \
                 authentication {{\n auth_type PASS\n auth_pass x\n }}\n \
                 auth_hmac {{\n key 3 0123456789abcdef0123456789abcdef\n active_key 3\n{extra} }}\n \
                 virtual_ipaddress {{\n 198.18.0.100/24\n }}\n}}\n"
            )
        };
        let (i, g) = first(&conf(""));
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        let h = p.hmac.expect("auth_hmac");
        assert_eq!((h.active_key, h.window, h.mode), (3, 120, hmac::Mode::Enforce), "3 x 40 s");
        assert_eq!(h.key(3), Some(&b"0123456789abcdef0123456789abcdef"[..]));
        assert_eq!(p.auth, Auth::None);
        let (i, g) = first(&conf(" time_window 2\n mode receive-only\n anti_replay monotonic\n"));
        let h = instance_params(&i, &g, "198.18.0.1".parse().unwrap()).hmac.unwrap();
        assert_eq!((h.window, h.mode, h.anti_replay), (2, hmac::Mode::ReceiveOnly, AntiReplay::Monotonic));
    }

    #[test]
    fn ipv6_is_v3_and_keeps_fast_intervals() {
        let (i, g) = first(
            "vrrp_instance V6 {\n interface eth0\n virtual_router_id 52\n priority 90\n advert_int 0.05\n \
             virtual_ipaddress {\n 2001:db8::100/64\n }\n}\n",
        );
        let p = instance_params(&i, &g, "fe80::1".parse().unwrap());
        assert_eq!(p.version, Version::V3);
        assert_eq!(p.family, Family::V6);
        assert_eq!(p.advert_interval_cs, 5);
        assert_eq!(p.priority, 90);
    }

    const VI: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n \
                      virtual_ipaddress {\n 198.18.0.100/24\n }\n";

    /// Every VRRP tuning keyword of global_defs reaches the protocol core,
    /// whose tests (src/vrrp/tests) exercise what each parameter does.
    #[test]
    fn global_tuning_reaches_the_protocol_params() {
        let (i, g) = first(&format!(
            "global_defs {{\n vrrp_version 3\n vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 3\n \
             vrrp_garp_master_refresh 60\n vrrp_garp_master_refresh_repeat 2\n vrrp_garp_lower_prio_delay 4\n \
             vrrp_garp_lower_prio_repeat 6\n vrrp_garp_interval 0.01\n vrrp_gna_interval 0.02\n \
             vrrp_lower_prio_no_advert\n vrrp_higher_prio_send_advert off\n vrrp_skip_check_adv_addr\n \
             vrrp_check_unicast_src off\n vrrp_down_timer_adverts 5\n vrrp_owner_ignore_adverts\n}}\n{VI}}}\n"
        ));
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        assert_eq!(p.version, Version::V3, "vrrp_version");
        assert_eq!(p.garp.master_delay, Duration::from_secs(2));
        assert_eq!(p.garp.master_repeat, 3);
        assert_eq!(p.garp.master_refresh, Duration::from_secs(60));
        assert_eq!(p.garp.refresh_repeat, 2);
        assert_eq!(p.garp.lower_prio_delay, Duration::from_secs(4));
        assert_eq!(p.garp.lower_prio_repeat, 6);
        assert_eq!(p.garp.spacing, Duration::from_millis(10), "vrrp_garp_interval for IPv4");
        assert!(p.lower_prio_no_advert && !p.higher_prio_send_advert && p.skip_check_adv_addr);
        assert!(!p.check_unicast_src);
        assert_eq!(p.down_timer_adverts, 5);
        assert!(p.owner_ignore_adverts);
        let p6 = instance_params(&i, &g, "fe80::1".parse().unwrap());
        assert_eq!(p6.garp.spacing, Duration::from_millis(20), "vrrp_gna_interval for IPv6");

        let (i, g) = first(&format!("global_defs {{\n vrrp_min_garp\n}}\n{VI}}}\n"));
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        assert_eq!((p.garp.master_repeat, p.garp.master_delay), (1, Duration::ZERO), "vrrp_min_garp");

        let (i, g) = first(&format!("global_defs {{\n vrrp_strict\n}}\n{VI}}}\n"));
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        assert!(p.lower_prio_no_advert && !p.higher_prio_send_advert, "vrrp_strict");
        assert_eq!(p.garp.lower_prio_repeat, 0, "vrrp_strict: no lower-priority GARP bursts");
    }

    /// `garp_group`: its intervals space the bursts of instances on its
    /// interfaces, in place of the global ones (an unset one is none);
    /// keepalived's errors for a taken interface and a group without delay.
    #[test]
    fn garp_group_spaces_bursts_on_its_interfaces() {
        let conf = |groups: &str| {
            format!(
                "global_defs {{\n vrrp_garp_interval 0.01\n vrrp_gna_interval 0.02\n}}\n{groups}{VI}}}\n\
                 vrrp_instance VI_2 {{\n interface eth1\n virtual_router_id 52\n priority 100\n \
                 virtual_ipaddress {{\n 198.18.1.100/24\n }}\n}}\n"
            )
        };
        let opts = LoadOptions::with_id("n1");
        let text = conf(
            "garp_group {\n garp_interval 0.124\n interfaces {\n eth0\n eth9\n }\n}\n\
             garp_group {\n gna_interval .456\n interface eth0\n}\ngarp_group {\n interface eth1\n}\n",
        );
        let l = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
        let errors: Vec<_> = l.diags.iter().filter(|d| d.severity == Severity::Error).collect();
        assert_eq!(errors.len(), 2, "{:?}", l.diags);
        assert!(errors[0].message.contains("garp_group already specified for eth0 - ignoring"));
        assert!(errors[1].message.contains("does not have any delay set - removing"));
        let (c, src4, src6) = (&l.config, "198.18.0.1".parse().unwrap(), "fe80::1".parse().unwrap());
        let (eth0, eth1) = (&c.instances[0], &c.instances[1]);
        assert_eq!(instance_params(eth0, &c.global, src4).garp.spacing, Duration::from_millis(124));
        assert_eq!(instance_params(eth0, &c.global, src6).garp.spacing, Duration::ZERO, "unset in the group");
        // eth1's group was dropped: the globals apply.
        assert_eq!(instance_params(eth1, &c.global, src4).garp.spacing, Duration::from_millis(10));
        assert_eq!(instance_params(eth1, &c.global, src6).garp.spacing, Duration::from_millis(20));
    }

    /// The instance forms override the globals.
    #[test]
    fn instance_tuning_reaches_the_protocol_params() {
        let (i, g) = first(&format!(
            "global_defs {{\n vrrp_garp_master_repeat 3\n vrrp_lower_prio_no_advert\n}}\n{VI} version 3\n \
             advert_int 0.5\n nopreempt\n preempt_delay 7\n garp_master_delay 1\n garp_master_repeat 2\n \
             garp_master_refresh 30\n garp_master_refresh_repeat 4\n garp_lower_prio_delay 3\n \
             garp_lower_prio_repeat 8\n lower_prio_no_advert off\n higher_prio_send_advert off\n \
             skip_check_adv_addr\n down_timer_adverts 4\n owner_ignore_adverts\n v3_checksum_as_v2\n \
             unicast_peer {{\n 198.18.0.2\n }}\n check_unicast_src off\n \
             virtual_ipaddress_excluded {{\n 198.18.0.50\n }}\n}}\n"
        ));
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        assert_eq!((p.version, p.priority, p.advert_interval_cs), (Version::V3, 100, 50));
        let vip: IpAddr = "198.18.0.100".parse().unwrap();
        assert_eq!(p.vips, vec![vip], "virtual_ipaddress_excluded is not advertised");
        assert_eq!(i.vips_excluded.len(), 1);
        assert!(p.nopreempt);
        assert_eq!(p.preempt_delay, Duration::from_secs(7));
        assert_eq!(p.garp.master_delay, Duration::from_secs(1));
        assert_eq!(p.garp.master_repeat, 2);
        assert_eq!(p.garp.master_refresh, Duration::from_secs(30));
        assert_eq!(p.garp.refresh_repeat, 4);
        assert_eq!(p.garp.lower_prio_delay, Duration::from_secs(3));
        assert_eq!(p.garp.lower_prio_repeat, 8);
        assert!(!p.lower_prio_no_advert && !p.higher_prio_send_advert && p.skip_check_adv_addr);
        assert_eq!(p.down_timer_adverts, 4);
        assert!(p.owner_ignore_adverts && p.v3_checksum_as_v2);
        assert_eq!(p.unicast_peers, vec!["198.18.0.2".parse::<IpAddr>().unwrap()]);
        assert!(!p.check_unicast_src);

        let (i, g) = first(&format!("{VI} strict_mode\n}}\n"));
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        assert!(p.lower_prio_no_advert && !p.higher_prio_send_advert, "strict_mode");
        let (i, g) = first(&format!("{VI} state BACKUP\n priority 255\n}}\n"));
        assert_eq!(instance_params(&i, &g, "198.18.0.1".parse().unwrap()).priority, 255);
    }

    #[test]
    fn interval_rounding() {
        assert_eq!(model::interval_cs(Duration::from_millis(100), 2), 100);
        assert_eq!(model::interval_cs(Duration::from_millis(1500), 2), 200);
        assert_eq!(model::interval_cs(Duration::from_millis(10), 3), 1);
        assert_eq!(model::interval_cs(Duration::from_secs(100), 3), 4095);
    }

    /// VRRPv2 carries 1–255 whole seconds: intervals above v3's 40.95 s
    /// limit go on the wire as configured (they were cut to 41 s).
    #[test]
    fn v2_long_intervals_are_not_cut_to_v3_range() {
        for secs in [41, 42, 60, 100, 254, 255] {
            assert_eq!(model::interval_cs(Duration::from_secs(secs), 2), secs as u16 * 100, "{secs} s");
        }
        assert_eq!(model::interval_cs(Duration::from_secs(300), 2), 25500, "clamped to the field");
        let (i, g) = first(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n advert_int 60\n \
             virtual_ipaddress {\n 198.18.0.100/24\n }\n}\n",
        );
        let p = instance_params(&i, &g, "198.18.0.1".parse().unwrap());
        assert_eq!(p.advert_interval_cs, 6000);
        assert_eq!(p.advert_interval(), Duration::from_secs(60), "timers run on 60 s");
        let advert = crate::vrrp::Advert {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            addrs: p.vips.clone(),
            auth_type: 0,
            auth_data: [0; 8],
            interval_cs: p.advert_interval_cs,
            checksum: 0,
        };
        let bytes = advert.to_bytes(crate::vrrp::ChecksumForm::Plain).unwrap();
        assert_eq!(bytes[5], 60, "Adver Int field");
    }
}
