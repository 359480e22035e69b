//! Parser tests over token streams from a tiny tokenizer (whitespace, `#`/`!`
//! comments, braces, double quotes), independent of the real lexer.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use crate::config::diag::{Diagnostic, Loc, Severity};
use crate::config::model::{AntiReplay, Mode};
use crate::config::model::{
    Auth, CheckerKind, Config, InitialState, LvsFlushOnStop, LvsMethod, Protocol, VsAddr,
};
use crate::config::token::{Token, TokenKind};
use crate::config::validate;

pub(crate) fn tokens(text: &str) -> Vec<Token> {
    let file: Rc<str> = Rc::from("t.conf");
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n as u32 + 1;
        let loc = |c: usize| Loc { file: file.clone(), line: line_no, col: c as u32 + 1 };
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'#' || c == b'!' {
                break;
            } else if c.is_ascii_whitespace() {
                i += 1;
            } else if c == b'{' || c == b'}' {
                let kind = if c == b'{' { TokenKind::Open } else { TokenKind::Close };
                out.push(Token { kind, loc: loc(i), quoted: false });
                i += 1;
            } else if c == b'"' {
                let end = line[i + 1..].find('"').map(|e| i + 1 + e).unwrap_or(b.len());
                out.push(Token {
                    kind: TokenKind::Word(line[i + 1..end].to_string()),
                    loc: loc(i),
                    quoted: true,
                });
                i = end + 1;
            } else {
                let start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'{' && b[i] != b'}' {
                    i += 1;
                }
                out.push(Token {
                    kind: TokenKind::Word(line[start..i].to_string()),
                    loc: loc(start),
                    quoted: false,
                });
            }
        }
        out.push(Token { kind: TokenKind::Eol, loc: loc(b.len()), quoted: false });
    }
    out
}

fn load(text: &str) -> (Config, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut cfg = super::parse(&tokens(text), &mut diags);
    validate::validate(&mut cfg, &mut diags);
    (cfg, diags)
}

/// (line, severity, message, hint) of every diagnostic, for readable asserts.
fn found(diags: &[Diagnostic]) -> Vec<(u32, Severity, String, String)> {
    diags
        .iter()
        .map(|d| {
            (
                d.loc.as_ref().map_or(0, |l| l.line),
                d.severity,
                d.message.clone(),
                d.hint.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn has(diags: &[Diagnostic], line: u32, sev: Severity, msg_part: &str, hint_part: &str) -> bool {
    found(diags)
        .iter()
        .any(|(l, s, m, h)| *l == line && *s == sev && m.contains(msg_part) && h.contains(hint_part))
}

const BASIC: &str = "\
global_defs {
   router_id r1
   vrrp_garp_master_delay 2.5
}
vrrp_script chk {
   script \"/bin/check --fast\"
   interval 2
   weight -20 reverse
}
vrrp_instance VI_1 {
   state MASTER
   interface eth0
   virtual_router_id 51
   advert_int 1
   authentication {
      auth_type PASS
      auth_pass secret
   }
   virtual_ipaddress {
      10.0.0.1/24 dev eth1 label eth1:vip brd + scope link
      10.0.0.2
   }
   track_script {
      chk weight 10
   }
   unicast_peer {
      10.0.0.9 min_ttl 250
   }
   notify_master \"/bin/notify master\" nobody nogroup
}
";

#[test]
fn basic_instance_with_defaults() {
    let (cfg, diags) = load(BASIC);
    // Only the unicast_peer TTL option, which vigil does not check.
    assert!(has(&diags, 27, Severity::Warning, "'min_ttl' accepted; vigil does not check the TTL", ""));
    assert_eq!(diags.len(), 1, "{:#?}", found(&diags));
    assert_eq!(cfg.global.router_id.as_deref(), Some("r1"));
    assert_eq!(cfg.global.vrrp_garp_master_delay, Duration::from_millis(2500));
    let s = &cfg.vrrp_scripts[0];
    assert_eq!(s.script.as_ref().unwrap().args, vec!["/bin/check", "--fast"]);
    assert_eq!(
        (s.interval, s.weight, s.weight_reverse, s.rise, s.fall),
        (Duration::from_secs(2), -20, true, 1, 1)
    );
    assert_eq!(s.effective_timeout(), Duration::from_secs(2));
    let vi = &cfg.instances[0];
    assert_eq!(vi.vrid, 51);
    // state MASTER without a priority means 255.
    assert_eq!(vi.effective_priority(), 255);
    assert_eq!(vi.initial_state(), InitialState::Master);
    assert_eq!(vi.version, Some(2));
    assert_eq!(vi.auth, Some(Auth::Pass(b"secret".to_vec())));
    assert_eq!(vi.vips.len(), 2);
    assert_eq!(vi.vips[0].prefix_len, 24);
    assert_eq!(vi.vips[0].dev.as_deref(), Some("eth1"));
    assert_eq!(vi.vips[0].label.as_deref(), Some("eth1:vip"));
    assert_eq!(vi.vips[0].scope.as_deref(), Some("link"));
    assert_eq!(vi.vips[1].prefix_len, 32);
    assert_eq!(vi.track_scripts[0].weight, Some(10));
    assert_eq!(vi.unicast_peers[0].min_ttl, Some(250));
    let n = vi.notify.master.as_ref().unwrap();
    assert_eq!((n.args.len(), n.user.as_deref(), n.group.as_deref()), (2, Some("nobody"), Some("nogroup")));
    assert_eq!(vi.effective_garp_master_delay(&cfg.global), Duration::from_millis(2500));
    assert!(vi.effective_accept(&cfg.global));
}

#[test]
fn unknown_keywords_get_hints_and_skip_blocks() {
    let text = "\
global_defs {
   stmp_connect_timeout 30
}
vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 1
   preemtp_delay 300
   Priority 100
   bogus_block {
      priority 7
   }
   virtual_ipaddress {
      10.0.0.1
   }
}
";
    let (cfg, diags) = load(text);
    assert!(has(
        &diags,
        2,
        Severity::Error,
        "unknown keyword 'stmp_connect_timeout'",
        "smtp_connect_timeout"
    ));
    assert!(has(&diags, 7, Severity::Error, "unknown keyword 'preemtp_delay'", "preempt_delay"));
    assert!(has(&diags, 8, Severity::Error, "unknown keyword 'Priority'", "'priority'"));
    assert!(has(&diags, 9, Severity::Error, "'bogus_block' in vrrp_instance (its block is skipped)", ""));
    // The skipped block's `priority 7` did not apply.
    assert_eq!(cfg.instances[0].effective_priority(), 100);
    assert_eq!(diags.len(), 4, "{:#?}", found(&diags));
}

#[test]
fn brace_errors() {
    let (_, diags) = load("vrrp_instance A {\n interface eth0\n}\n}\n");
    assert!(has(&diags, 4, Severity::Error, "unmatched '}'", ""));
    let (_, diags) = load("global_defs {\n router_id x\n\nvrrp_script s {\n script /bin/true\n}\n");
    assert!(has(&diags, 1, Severity::Error, "the '{' of 'global_defs' is never closed", ""));
    // `{` on the next line opens the block of the line above.
    let (cfg, diags) = load("global_defs\n{\n router_id x\n}\n");
    assert!(diags.is_empty(), "{:#?}", found(&diags));
    assert_eq!(cfg.global.router_id.as_deref(), Some("x"));
    // A block keyword without a block, then its body read at top level.
    let (_, diags) = load("virtual_server 10.0.0.1 80\n delay_loop 10\n");
    assert!(has(&diags, 1, Severity::Error, "'virtual_server' needs a block", ""));
    assert!(has(&diags, 2, Severity::Error, "unknown keyword 'delay_loop'", "belongs in virtual_server"));
    // Inline blocks.
    let (cfg, diags) =
        load("vrrp_instance A { interface eth0\n virtual_router_id 2\n virtual_ipaddress { 10.0.0.1 }\n}\n");
    assert!(diags.is_empty(), "{:#?}", found(&diags));
    assert_eq!(cfg.instances[0].vips.len(), 1);
    // One address per line: a second one is an unknown option.
    let (_, diags) = load("vrrp_instance A {\n virtual_ipaddress { 10.0.0.1 10.0.0.2 }\n}\n");
    assert!(has(&diags, 2, Severity::Error, "unknown address option '10.0.0.2'", ""));
}

#[test]
fn bad_values_name_the_range_and_keep_defaults() {
    let text = "\
vrrp_instance A {
   state SLAVER
   interface eth0
   virtual_router_id 300
   priority 0
   advert_int abc
   virtual_ipaddress {
      10.0.0.300
   }
}
";
    let (cfg, diags) = load(text);
    assert!(has(&diags, 2, Severity::Error, "invalid state 'SLAVER'", "MASTER or BACKUP"));
    assert!(has(&diags, 4, Severity::Error, "'virtual_router_id': expected an integer from 1 to 255", ""));
    assert!(has(&diags, 5, Severity::Error, "'priority': expected an integer from 1 to 255", ""));
    assert!(has(&diags, 6, Severity::Error, "'advert_int'", ""));
    assert!(has(&diags, 8, Severity::Error, "invalid IP address '10.0.0.300'", ""));
    let vi = &cfg.instances[0];
    assert_eq!(vi.state, Some(InitialState::Backup));
    assert_eq!(vi.effective_priority(), 100);
    assert_eq!(vi.advert_int, Duration::from_secs(1));
}

#[test]
fn semantic_checks() {
    let text = "\
vrrp_instance A {
   state MASTER
   interface eth0
   virtual_router_id 5
   priority 100
   nopreempt
   advert_int 1.4
   authentication {
      auth_type PASS
      auth_pass 123456789
   }
   virtual_ipaddress {
      10.0.0.1
      fd00::1
   }
   track_script {
      chk_nginz
   }
}
vrrp_instance B {
   interface eth0
   virtual_router_id 5
   virtual_ipaddress {
      10.0.0.2
   }
   authentication {
      auth_type PASS
   }
}
vrrp_script chk_nginx {
   script /bin/true
}
";
    let (cfg, diags) = load(text);
    assert!(has(&diags, 6, Severity::Warning, "nopreempt has no effect with state MASTER", ""));
    assert!(has(&diags, 7, Severity::Warning, "advert_int must be whole seconds; using 1", ""));
    assert!(has(&diags, 10, Severity::Warning, "only '12345678' is used", ""));
    assert!(has(&diags, 14, Severity::Warning, "moved to virtual_ipaddress_excluded", ""));
    assert!(has(&diags, 17, Severity::Error, "tracks script 'chk_nginz'", "did you mean 'chk_nginx'?"));
    assert!(has(&diags, 22, Severity::Error, "both use virtual_router_id 5", ""));
    assert!(has(
        &diags,
        27,
        Severity::Error,
        "instance 'B' has PASS authentication without an auth_pass",
        ""
    ));
    let a = &cfg.instances[0];
    assert_eq!(a.auth, Some(Auth::Pass(b"12345678".to_vec())));
    assert_eq!(a.vips_excluded.len(), 1);
    assert!(a.track_scripts.is_empty());
    assert_eq!(a.advert_int, Duration::from_secs(1));
}

#[test]
fn ipv6_defaults_to_v3_and_strict_mode_rules() {
    let text = "\
global_defs {
   vrrp_strict
}
vrrp_instance V6 {
   interface eth0
   virtual_router_id 9
   advert_int 0.5
   authentication {
      auth_type PASS
      auth_pass x
   }
   preempt_delay 10
   virtual_ipaddress {
      fe80::1/64
   }
}
";
    let (cfg, diags) = load(text);
    let vi = &cfg.instances[0];
    assert_eq!(vi.version, Some(3));
    assert_eq!(vi.advert_int, Duration::from_millis(500));
    assert_eq!(vi.auth, None);
    assert_eq!(vi.preempt_delay, Duration::ZERO);
    assert!(has(&diags, 9, Severity::Warning, "has no authentication; it is turned off", ""));
    assert!(has(&diags, 12, Severity::Warning, "preempt_delay is not allowed in strict mode", ""));
    assert!(has(&diags, 4, Severity::Warning, "implies no_accept", ""));
    assert!(!vi.effective_accept(&cfg.global));
    assert!(vi.effective_lower_prio_no_advert(&cfg.global));
}

/// keepalived's accept mode: on by default, off by default in strict mode
/// except for the owner, and never for a VRRPv2 non-owner in strict mode
/// (`accept` is reset, with a warning); `no_accept` on the owner blocks nothing.
#[test]
fn accept_mode_defaults_and_strict_vrrp2() {
    let inst = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n{extra}\n \
             virtual_ipaddress {{\n 198.18.0.{vrid}\n }}\n}}\n"
        )
    };
    let text = [
        inst("plain", 1, ""),
        inst("no", 2, " no_accept"),
        inst("owner", 3, " priority 255\n no_accept"),
        inst("strict3", 4, " strict_mode on\n version 3"),
        inst("strict3_accept", 5, " strict_mode on\n version 3\n accept"),
        inst("strict2_accept", 6, " strict_mode on\n accept"),
        inst("strict_owner", 7, " strict_mode on\n priority 255"),
    ]
    .concat();
    let (cfg, diags) = load(&text);
    let g = &cfg.global;
    let blocks: Vec<(&str, bool)> =
        cfg.instances.iter().map(|v| (v.name.as_str(), v.blocks_vips(g))).collect();
    assert_eq!(
        blocks,
        [
            ("plain", false),
            ("no", true),
            ("owner", false),
            ("strict3", true),
            ("strict3_accept", false),
            ("strict2_accept", true),
            ("strict_owner", false)
        ]
    );
    assert!(diags.iter().any(|d| d.message.contains("'strict2_accept': accept is not allowed with VRRPv2")));
}

#[test]
fn ah_rules_ipv4_v2_only_and_no_initial_master() {
    let text = "\
vrrp_instance V4 {
   state MASTER
   interface eth0
   virtual_router_id 9
   priority 150
   authentication {
      auth_type AH
      auth_pass s3cret
   }
   virtual_ipaddress {
      198.18.0.100/24
   }
}
vrrp_instance V6 {
   version 2
   interface eth0
   virtual_router_id 10
   authentication {
      auth_type AH
      auth_pass s3cret
   }
   virtual_ipaddress {
      2001:db8::100/64
   }
}
vrrp_instance V4OWNER {
   state MASTER
   interface eth0
   virtual_router_id 11
   authentication {
      auth_type AH
      auth_pass s3cret
   }
   virtual_ipaddress {
      198.18.0.101/24
   }
}
";
    let (cfg, diags) = load(text);
    let [v4, v6, owner] = &cfg.instances[..] else { panic!("three instances") };
    assert_eq!(v4.auth, Some(Auth::Ah(b"s3cret".to_vec())));
    assert_eq!(v4.state, Some(InitialState::Backup));
    assert!(has(
        &diags,
        2,
        Severity::Warning,
        "state MASTER is incompatible with AH authentication",
        "state BACKUP"
    ));
    assert_eq!(v6.auth, None);
    assert!(has(&diags, 19, Severity::Warning, "AH authentication is IPv4 only; it is turned off", "PASS"));
    // The address owner may start as master (keepalived agrees).
    assert_eq!((owner.initial_state(), owner.effective_priority()), (InitialState::Master, 255));
    assert!(!found(&diags).iter().any(|(l, ..)| *l == 27), "{:?}", found(&diags));
}

#[test]
fn lvs_model_and_inheritance() {
    let text = "\
virtual_server 192.0.2.1 80 {
   delay_loop 10
   lb_algo rr
   lb_kind DR
   protocol TCP
   retry 4
   real_server 192.0.2.11 8080 {
      weight 2
      TCP_CHECK {
         connect_timeout 3
         nb_get_retry 3
      }
      HTTP_GET {
         url {
            path /health
            status_code 200-204 301
         }
         nb_get_retry 2
      }
      MISC_CHECK {
         misc_path \"/bin/check arg\"
      }
   }
}
virtual_server 192.0.2.2 {
   real_server 192.0.2.12 80 {
      TCP_CHECK {
         connection_timeout 10
      }
   }
}
virtual_server group G {
   protocol UDP
}
";
    let (cfg, diags) = load(text);
    assert!(has(
        &diags,
        11,
        Severity::Warning,
        "'nb_get_retry' accepted; vigil does not read nb_get_retry in TCP_CHECK",
        "only in HTTP_GET/SSL_GET"
    ));
    assert!(has(&diags, 18, Severity::Warning, "'nb_get_retry' is deprecated", "retry"));
    assert!(has(&diags, 7, Severity::Warning, "port 8080 does not match", ""));
    assert!(has(&diags, 25, Severity::Error, "has an address but no port", ""));
    assert!(has(&diags, 28, Severity::Error, "unknown keyword 'connection_timeout'", "connect_timeout"));
    assert!(has(&diags, 32, Severity::Error, "no virtual_server_group 'G'", ""));
    assert_eq!(cfg.virtual_servers.len(), 2);
    let vs = &cfg.virtual_servers[0];
    assert_eq!((vs.effective_protocol(), vs.effective_method()), (Protocol::Tcp, LvsMethod::Dr));
    let rs = &vs.real_servers[0];
    assert_eq!(rs.effective_port(vs), 80, "DR keeps the virtual port");
    let [tcp, http, misc] = &rs.checkers[..] else { panic!("3 checkers") };
    assert_eq!(tcp.effective_retry(rs, vs), 4);
    assert_eq!(tcp.effective_connect_timeout(rs, vs), Duration::from_secs(3));
    assert_eq!(tcp.effective_delay_before_retry(rs, vs), Duration::from_secs(1));
    assert_eq!(tcp.effective_warmup(rs, vs), Duration::from_secs(10));
    assert_eq!(http.effective_retry(rs, vs), 2);
    assert_eq!(http.effective_delay_before_retry(rs, vs), Duration::from_secs(3));
    let CheckerKind::Http(h) = &http.kind else { panic!() };
    assert!(h.urls[0].status_ok(204) && h.urls[0].status_ok(301) && !h.urls[0].status_ok(200 + 5));
    assert_eq!(misc.effective_retry(rs, vs), 4);
    assert_eq!(misc.effective_misc_timeout(rs, vs), Duration::from_secs(10));
    assert!(matches!(cfg.virtual_servers[1].addr, VsAddr::Group(_)));
    assert_eq!(rs.addr, "192.0.2.11".parse::<IpAddr>().unwrap());
}

#[test]
fn hostile_input_does_not_panic() {
    let deep = "a {".repeat(200);
    let (_, diags) = load(&deep);
    assert!(diags.iter().any(|d| d.message.contains("nested too deeply")));
    for text in
        ["}", "{", "{ }", "vrrp_instance", "vrrp_instance {", "virtual_server", "real_server 1 {", "\"\"\n"]
    {
        let _ = load(text);
    }
}

#[test]
fn track_ping_blocks_and_references() {
    let (cfg, diags) = load(
        "vrrp_track_ping gw {\n address 198.18.1.1\n interval 0.5\n rise 2\n fall 3\n weight -50 reverse\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_ping {\n gw weight -60\n nope\n }\n \
         virtual_ipaddress {\n 198.18.0.1\n }\n}\n\
         vrrp_sync_group G {\n group {\n A\n }\n track_ping {\n gw\n }\n}\n",
    );
    let p = &cfg.track_pings[0];
    assert_eq!(p.name, "gw");
    assert_eq!(p.address, Some("198.18.1.1".parse::<IpAddr>().unwrap()));
    assert_eq!((p.interval, p.effective_timeout()), (Duration::from_millis(500), Duration::from_millis(500)));
    assert_eq!((p.rise, p.fall, p.weight, p.weight_reverse), (2, 3, -50, true));
    let vi = &cfg.instances[0];
    assert_eq!(vi.track_pings.len(), 1, "the unknown name is dropped");
    assert_eq!(vi.track_pings[0].weight, Some(-60));
    assert_eq!(cfg.sync_groups[0].track_pings[0].name, "gw");
    let errors: Vec<&str> = diags.iter().filter(|d| d.is_error()).map(|d| d.message.as_str()).collect();
    assert_eq!(errors, vec!["'A' tracks ping 'nope', which no vrrp_track_ping defines"]);
    let (_, diags) = load("vrrp_track_ping x {\n interval 1\n}\n");
    assert!(diags.iter().any(|d| d.message.contains("has no 'address' line")));
}

#[test]
fn track_process_blocks_references_and_their_checks() {
    let (cfg, diags) = load(
        "vrrp_track_process web {\n process nginx\n quorum 2\n quorum_max 4\n weight -30 reverse\n \
         delay 2\n fork_delay 0.5\n}\n\
         vrrp_track_process long {\n process very-long-daemon-name\n}\n\
         vrrp_track_process bad {\n process a\n process b\n param_match fuzzy\n quorum_max 3\n quorum 4\n}\n\
         vrrp_track_process none {\n quorum 1\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_process {\n web weight 5\n nope\n }\n \
         virtual_ipaddress {\n 198.18.0.1\n }\n}\n\
         vrrp_sync_group G {\n group {\n A\n }\n track_process {\n web\n }\n}\n",
    );
    let names: Vec<&str> = cfg.track_processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web", "long", "bad"], "a block without 'process' is dropped");
    let w = &cfg.track_processes[0];
    assert_eq!((w.quorum, w.quorum_max, w.weight, w.weight_reverse), (2, 4, -30, true));
    assert_eq!((w.terminate_delay, w.fork_delay), (Duration::from_secs(2), Duration::from_millis(500)));
    assert!(!w.full_command && w.params.is_empty());
    let b = &cfg.track_processes[2];
    assert_eq!((b.process.as_str(), b.quorum, b.quorum_max), ("a", 1, 3), "the later lines are refused");
    let vi = &cfg.instances[0];
    assert_eq!((vi.track_processes.len(), vi.track_processes[0].weight), (1, Some(5)), "'nope' is dropped");
    assert_eq!(cfg.sync_groups[0].track_processes[0].name, "web");
    let msgs = |error: bool| -> Vec<String> {
        diags.iter().filter(|d| d.is_error() == error).map(|d| d.message.clone()).collect()
    };
    assert_eq!(
        msgs(true),
        [
            "'process' already set for 'bad' - ignored",
            "invalid param_match type 'fuzzy'",
            "quorum is greater than quorum_max - ignored",
            "vrrp_track_process 'none' has no 'process' line",
            "'A' tracks process 'nope', which no vrrp_track_process defines",
        ]
    );
    assert!(
        msgs(false).iter().any(|m| m.contains("'very-long-daemon-name' is longer than the 15 characters")),
        "{diags:?}"
    );
}

#[test]
fn dual_stack_vmac_gives_the_ipv6_instance_vrrp6_in_either_order() {
    let v6 = "vrrp_instance B {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
              virtual_ipaddress {\n 2001:db8::100/64\n }\n}\n";
    let v4 = "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
              virtual_ipaddress {\n 198.18.0.100/24\n }\n}\n";
    for text in [format!("{v6}{v4}"), format!("{v4}{v6}")] {
        let (c, _) = load(&text);
        let name = |n: &str| c.instances.iter().find(|i| i.name == n).and_then(|i| i.vmac_name());
        assert_eq!(name("A").as_deref(), Some("vrrp.51"));
        assert_eq!(name("B").as_deref(), Some("vrrp6.51"));
    }
    let (c, _) = load(v6);
    assert_eq!(c.instances[0].vmac_name().as_deref(), Some("vrrp.51"), "alone, IPv6 keeps vrrp.VRID");
}

#[test]
fn dns_check_type_and_name() {
    let text = "\
virtual_server 198.18.0.1 53 {
   protocol UDP
   real_server 198.18.1.2 53 {
      DNS_CHECK {
         type aaaa
         name www.example.com
      }
      DNS_CHECK {
         type PTR
         name a..b
      }
      DNS_CHECK {
      }
   }
}
";
    let (cfg, diags) = load(text);
    assert!(has(&diags, 9, Severity::Error, "invalid DNS_CHECK type 'PTR'", "SOA"));
    assert!(has(&diags, 10, Severity::Error, "empty label", "1-63 bytes"));
    let kinds: Vec<&CheckerKind> =
        cfg.virtual_servers[0].real_servers[0].checkers.iter().map(|c| &c.kind).collect();
    let dns = |t: &str, n: &str| CheckerKind::Dns { qtype: t.to_string(), name: n.to_string() };
    assert_eq!(kinds, [&dns("AAAA", "www.example.com"), &dns("SOA", "."), &dns("SOA", ".")]);
}

#[test]
fn checkers_vigil_cannot_run_are_kept_as_failing_checkers() {
    let text = "\
virtual_server 198.18.0.1 80 {
   real_server 198.18.1.2 80 {
      BFD_CHECK {
         connect_timeout 3
      }
      BFD_CHECK {
      }
      BFD_CHECK {
         track_file f
      }
      BFD_CHECK {
         name b
      }
   }
}
";
    let (cfg, diags) = load(text);
    for line in [3, 6, 8, 11] {
        assert!(has(&diags, line, Severity::Warning, "counts as down", "keepalived takes a real server out"));
    }
    assert!(!diags.iter().any(Diagnostic::is_error), "{diags:?}");
    let kinds: Vec<&CheckerKind> =
        cfg.virtual_servers[0].real_servers[0].checkers.iter().map(|c| &c.kind).collect();
    assert_eq!(
        kinds,
        [
            &CheckerKind::Unrunnable("BFD_CHECK"),
            &CheckerKind::Unrunnable("BFD_CHECK"),
            &CheckerKind::Unrunnable("BFD_CHECK"),
            &CheckerKind::Unrunnable("BFD_CHECK")
        ]
    );
}

#[test]
fn ssl_get_needs_the_ssl_feature() {
    let text = "\
virtual_server 198.18.0.1 443 {
   real_server 198.18.1.2 443 {
      SSL_GET {
         url {
            path /
         }
      }
   }
}
";
    let (_, diags) = load(text);
    let refused =
        has(&diags, 3, Severity::Error, "SSL_GET cannot run", "built without TLS (the ssl feature)");
    assert_eq!(refused, !cfg!(feature = "ssl"), "{diags:?}");
    assert_eq!(diags.iter().any(Diagnostic::is_unrunnable), !cfg!(feature = "ssl"));
}

#[test]
fn mcast_groups_must_be_multicast_of_their_family() {
    let text = "global_defs {\n vrrp_mcast_group4 224.0.0.100\n vrrp_mcast_group6 ff02::100\n}\n";
    let (cfg, diags) = load(text);
    assert!(diags.is_empty(), "{:?}", found(&diags));
    assert_eq!(cfg.global.vrrp_mcast_group4, "224.0.0.100".parse::<IpAddr>().unwrap());
    assert_eq!(cfg.global.vrrp_mcast_group6, "ff02::100".parse::<IpAddr>().unwrap());

    let text = "global_defs {\n vrrp_mcast_group4 198.18.0.1\n vrrp_mcast_group6 224.0.0.100\n \
                vrrp_mcast_group4 ff02::12\n vrrp_mcast_group6 ff05::100\n}\n";
    let (cfg, diags) = load(text);
    assert!(
        has(&diags, 2, Severity::Error, "198.18.0.1 is not multicast", "224.0.0.18"),
        "{:?}",
        found(&diags)
    );
    assert!(has(&diags, 3, Severity::Error, "224.0.0.100 is not IPv6", "ff02::12"), "{:?}", found(&diags));
    assert!(has(&diags, 4, Severity::Error, "ff02::12 is not IPv4", ""), "{:?}", found(&diags));
    assert!(has(&diags, 5, Severity::Warning, "should be link-local", ""), "{:?}", found(&diags));
    assert_eq!(diags.len(), 4, "{:?}", found(&diags));
    // The rejected ones leave the default; the site-scoped IPv6 group is used, as keepalived does.
    assert_eq!(cfg.global.vrrp_mcast_group4, "224.0.0.18".parse::<IpAddr>().unwrap());
    assert_eq!(cfg.global.vrrp_mcast_group6, "ff05::100".parse::<IpAddr>().unwrap());
}

#[test]
fn notify_priority_changes_at_every_level() {
    let text = "global_defs {\n vrrp_notify_priority_changes\n}\nvrrp_sync_group G {\n group {\n VI_1\n }\n \
                notify_priority_changes off\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
                priority 100\n notify_priority_changes true\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n";
    let (cfg, diags) = load(text);
    assert!(diags.iter().all(|d| d.severity != Severity::Error), "{:?}", found(&diags));
    assert!(!found(&diags).iter().any(|d| d.2.contains("notify_priority_changes")), "{:?}", found(&diags));
    assert!(cfg.global.vrrp_notify_priority_changes);
    assert_eq!(cfg.sync_groups[0].notify_priority_changes, Some(false));
    assert_eq!(cfg.instances[0].notify_priority_changes, Some(true));
}

#[test]
fn fifo_scripts_in_any_order_and_duplicates_as_keepalived() {
    let text = "global_defs {\n vrrp_notify_fifo_script /bin/reader\n vrrp_notify_fifo /run/v.fifo\n \
                notify_fifo /run/a.fifo root\n notify_fifo /run/b.fifo\n lvs_notify_fifo_script /bin/lvs\n}\n";
    let (cfg, diags) = load(text);
    let g = &cfg.global;
    let v = g.vrrp_notify_fifo.as_ref().expect("vrrp fifo");
    assert_eq!(
        (v.path.as_str(), v.script.as_ref().map(|c| c.args.clone())),
        ("/run/v.fifo", Some(vec!["/bin/reader".into()]))
    );
    let a = g.notify_fifo.as_ref().expect("global fifo");
    assert_eq!((a.path.as_str(), a.user.as_deref()), ("/run/a.fifo", Some("root")));
    assert!(has(&diags, 5, Severity::Error, "already specified", ""), "{:?}", found(&diags));
    assert!(g.lvs_notify_fifo.is_none());
    assert!(
        has(&diags, 6, Severity::Warning, "'lvs_notify_fifo_script' without 'lvs_notify_fifo'", ""),
        "{:?}",
        found(&diags)
    );
    assert_eq!(diags.len(), 2, "{:?}", found(&diags));
}

#[test]
fn vrrp_delay_after_boot_is_vrrp_startup_delay() {
    // keepalived's older name; the delay itself: tests/vrrp_netns.rs startup_delay_holds_the_instances.
    let mut diags = Vec::new();
    let cfg = super::parse(&tokens("global_defs {\n vrrp_delay_after_boot 2.5\n}\n"), &mut diags);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(cfg.global.vrrp_startup_delay, std::time::Duration::from_millis(2500));
}

#[test]
fn options_vigil_does_not_act_on_are_warned() {
    let (_, diags) = load(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n \
         198.18.0.1 use_vmac\n 198.18.0.2 track_group G\n }\n unicast_peer {\n 198.18.0.9 max_ttl 64\n }\n}\n",
    );
    assert!(has(&diags, 5, Severity::Warning, "'use_vmac' on an address accepted; vigil does not", ""));
    assert!(has(&diags, 6, Severity::Warning, "'track_group G' is accepted; vigil does not", ""));
    assert!(has(&diags, 9, Severity::Warning, "'max_ttl' accepted; vigil does not check the TTL", ""));
}

#[test]
fn auth_hmac_keys_modes_and_invalid_combinations() {
    let dir = std::env::temp_dir().join(format!("vigil-hmac-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (tight, loose) = (dir.join("k600"), dir.join("k644"));
    std::fs::write(&tight, format!("hex:{}\r\n", "ab".repeat(32))).unwrap();
    std::fs::write(&loose, "0123456789abcdef0123456789abcdef\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tight, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = format!(
        "\
vrrp_instance A {{
   interface eth0
   virtual_router_id 1
   authentication {{
      auth_type PASS
      auth_pass secret
   }}
   auth_hmac {{
      key 1 hex:000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f
      key 2 file:{}
      key 3 file:{}
      key 4 hex:0102
      key 1 0123456789abcdef0123456789abcdef
      key 5
      active_key 1
      mode permissive
      anti_replay sometimes
      time_window 301
   }}
   auth_hmac {{
      mode receive-only
   }}
   virtual_ipaddress {{
      198.18.0.100/24
   }}
}}
vrrp_instance B {{
   interface eth0
   virtual_router_id 2
   auth_hmac {{
      key 1 0123456789abcdef0123456789abcdef
      active_key 2
   }}
   virtual_ipaddress {{
      198.18.0.101/24
   }}
}}
vrrp_instance C {{
   interface eth0
   virtual_router_id 3
   strict_mode on
   auth_hmac {{
      key 7 0123456789abcdef0123456789abcdef
      active_key 7
      anti_replay monotonic
      mode permissive
   }}
   virtual_ipaddress {{
      198.18.0.102/24
   }}
}}
",
        tight.display(),
        loose.display()
    );
    let (cfg, diags) = load(&text);
    std::fs::remove_dir_all(&dir).unwrap();
    // B's active key is not loaded: not run at all (keepalived would run it unauthenticated).
    let names: Vec<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["A", "C"]);
    assert!(has(
        &diags,
        32,
        Severity::Error,
        "(B) active_key 2 is not defined; the instance is not run",
        "active_key"
    ));
    let a = cfg.instances[0].auth_hmac.as_ref().unwrap();
    let ids: Vec<u8> = a.keys.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(a.keys[0].1, (0u8..32).collect::<Vec<u8>>(), "hex digits in either case");
    assert_eq!(a.keys[1].1, vec![0xab; 32], "file content with CR/LF removed, hex: decoded");
    assert_eq!(a.keys[2].1, b"0123456789abcdef0123456789abcdef".to_vec());
    assert_eq!(a.active_key, Some(1));
    // The second block modifies the first.
    assert_eq!(a.mode, Mode::ReceiveOnly);
    assert_eq!((a.anti_replay, a.time_window), (AntiReplay::Time, None));
    assert_eq!(cfg.instances[0].auth, None, "legacy auth dropped");
    assert!(has(&diags, 5, Severity::Warning, "auth_hmac cannot be combined with authentication", ""));
    assert!(has(&diags, 11, Severity::Error, "readable by group or others", "chmod 600"));
    assert!(has(&diags, 12, Severity::Error, "key 4 length 2 not in range [32, 64]", ""));
    assert!(has(&diags, 13, Severity::Error, "duplicate auth_hmac key id 1", ""));
    assert!(has(&diags, 14, Severity::Error, "key needs an id and a value", ""));
    assert!(has(&diags, 17, Severity::Error, "invalid anti_replay 'sometimes'", "time or monotonic"));
    assert!(has(
        &diags,
        18,
        Severity::Error,
        "'301' for 'time_window': expected an integer from 1 to 300",
        ""
    ));
    // Strict mode forces enforce.
    let c = cfg.instances[1].auth_hmac.as_ref().unwrap();
    assert_eq!((c.mode, c.anti_replay), (Mode::Enforce, AntiReplay::Monotonic));
    assert!(has(&diags, 46, Severity::Error, "mode permissive is not allowed in strict mode", "enforce"));
    // Key bytes never reach Debug output.
    assert!(!format!("{a:?}").contains("0123456789abcdef"));
}

#[test]
fn auth_hmac_hex_decoding_rules() {
    use crate::config::parse::vrrp::decode_hmac_key;
    assert_eq!(decode_hmac_key("hex:0a0B"), vec![0x0a, 0x0b]);
    assert_eq!(decode_hmac_key("hex:0a 0b\t0c"), vec![0x0a, 0x0b, 0x0c]);
    assert_eq!(decode_hmac_key("hex:a 0b"), vec![0x0a, 0x0b], "a lone digit before a space");
    assert_eq!(decode_hmac_key("hex:0b a"), vec![0x0b, 0x0a], "a lone digit at the end");
    assert_eq!(decode_hmac_key("hex:0g"), Vec::<u8>::new());
    assert_eq!(decode_hmac_key("plain"), b"plain".to_vec());
}

#[test]
fn metrics_listen_takes_addr_colon_port() {
    // The listener itself: tests/metrics_netns.rs metrics_follow_a_failover.
    let mut diags = Vec::new();
    let cfg = super::parse(&tokens("global_defs {\n metrics_listen [2001:db8::1]:9650\n}\n"), &mut diags);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(cfg.global.metrics_listen, Some("[2001:db8::1]:9650".parse().unwrap()));
    let cfg = super::parse(&tokens("global_defs {\n metrics_listen 198.18.0.1:9650\n}\n"), &mut diags);
    assert_eq!(cfg.global.metrics_listen, Some("198.18.0.1:9650".parse().unwrap()));
    for bad in ["198.18.0.1", "198.18.0.1:0", "2001:db8::1:9650", "host:9650", "198.18.0.1:70000"] {
        let mut diags = Vec::new();
        let cfg =
            super::parse(&tokens(&format!("global_defs {{\n\n metrics_listen {bad}\n}}\n")), &mut diags);
        assert_eq!(cfg.global.metrics_listen, None, "{bad}");
        assert_eq!(diags.len(), 1, "{bad}: {diags:?}");
        assert!(diags[0].is_error() && diags[0].message.contains("expected ADDR:PORT"), "{:?}", diags[0]);
        assert_eq!(diags[0].loc.as_ref().map(|l| l.line), Some(3), "{bad}: file:line of the value");
    }
}

#[test]
fn track_file_blocks_are_read_as_keepalived_does() {
    let text = "\
vrrp_track_file old {
   file /run/old
}
track_file tf {
   file /run/tf
   weight -5 reverse
   init_file overwrite 7
}
track_file nofile {
   weight 2
}
virtual_server 198.18.0.1 80 {
   real_server 198.18.1.2 80 {
      FILE_CHECK {
         track_file tf
         weight 3
      }
      FILE_CHECK {
         track_file missing
      }
      UDP_CHECK {
         payload 0g
         require_reply 6x 6b
         min_reply_length 9
         max_reply_length 2
      }
   }
}
";
    let (cfg, diags) = load(text);
    assert!(has(&diags, 1, Severity::Warning, "'vrrp_track_file' is deprecated", "track_file"));
    assert!(has(&diags, 9, Severity::Error, "track_file 'nofile' has no 'file' line", ""));
    assert!(has(
        &diags,
        18,
        Severity::Error,
        "FILE_CHECK tracks 'missing', which no track_file block defines",
        ""
    ));
    assert!(has(&diags, 22, Severity::Error, "invalid hex string for 'payload'", "hex digits"));
    assert!(has(&diags, 21, Severity::Error, "min_reply_length 9 > max_reply_length 2", ""));
    let names: Vec<&str> = cfg.track_files.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["old", "tf"]);
    let tf = cfg.track_file("tf").unwrap();
    assert_eq!((tf.path.to_str(), tf.weight, tf.reverse), (Some("/run/tf"), -5, true));
    assert_eq!(tf.init, Some(crate::config::model::TrackFileInit { value: 7, overwrite: true }));
    assert_eq!(cfg.track_file("old").unwrap().weight, 1, "default weight");
    let cks = &cfg.virtual_servers[0].real_servers[0].checkers;
    let CheckerKind::File(f) = &cks[0].kind else { panic!("{:?}", cks[0]) };
    assert_eq!((f.track.as_str(), f.weight), ("tf", Some((3, false))));
    let CheckerKind::Udp(u) = &cks[2].kind else { panic!("{:?}", cks[2]) };
    assert_eq!(u.payload, None);
    let reply = u.reply.data.as_ref().unwrap();
    assert_eq!((reply.data.clone(), reply.mask.clone()), (vec![0x60, 0x6b], Some(vec![0x0f, 0])));
    assert!(u.reply.required);
}

#[test]
fn a_hundred_thousand_mistakes_list_ten_thousand_and_count_the_rest() {
    let (_, diags) = load(&"bogus_keyword\n".repeat(100_000));
    assert_eq!(diags.len(), 10_001, "{:?}", diags.last());
    let last = diags.last().expect("the note");
    assert!(last.is_error() && last.message.starts_with("90000 further problems not listed"), "{last:?}");
}

#[test]
fn vrrp_track_file_references_name_track_file_blocks() {
    let text = "\
track_file tf {
   file /run/tf
}
vrrp_instance VI {
   interface eth0
   virtual_router_id 1
   track_file {
      tf weight -30 reverse
      gone
      tf
   }
}
vrrp_sync_group G {
   group {
      VI
   }
   track_file {
      tf
   }
}
";
    let (cfg, diags) = load(text);
    assert!(has(
        &diags,
        9,
        Severity::Error,
        "'VI' tracks file 'gone', which no track_file block defines",
        ""
    ));
    assert!(has(&diags, 10, Severity::Warning, "'VI' tracks file 'tf' twice; the first counts", ""));
    let vi = &cfg.instances[0];
    let tracked: Vec<_> = vi.track_files.iter().map(|t| (t.name.as_str(), t.weight, t.reverse)).collect();
    assert_eq!(tracked, [("tf", Some(-30), true)], "the unknown name is dropped");
    assert_eq!(cfg.sync_groups[0].track_files[0].name, "tf");
}

#[test]
fn lvs_globals_parse_as_keepalived_2_2() {
    let text = "\
global_defs {
   lvs_sync_daemon eth1 inst VI id 9 maxlen 1400 port 9000 ttl 2 group 224.0.0.82
   lvs_timeouts tcp 900 tcpfin 30 udp 60
   lvs_flush
   lvs_flush_on_stop VS
}
vrrp_instance VI {
   interface eth0
   virtual_router_id 51
   virtual_ipaddress {
      198.18.0.10
   }
}
";
    let (cfg, diags) = load(text);
    assert!(diags.is_empty(), "{diags:?}");
    let g = &cfg.global;
    let d = g.lvs_sync_daemon.as_ref().unwrap();
    assert_eq!((d.ifname.as_str(), d.instance.as_deref(), d.sync_id), ("eth1", Some("VI"), Some(9)));
    assert_eq!((d.maxlen, d.port, d.ttl), (Some(1400), Some(9000), Some(2)));
    assert_eq!(d.group, Some("224.0.0.82".parse().unwrap()));
    let t = g.lvs_timeouts.unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 30, 60));
    assert!(g.lvs_flush);
    assert_eq!(g.lvs_flush_on_stop, LvsFlushOnStop::VirtualServers);

    // keepalived's old positional form; the sync id defaults to the VRID.
    let (cfg, diags) =
        load(&text.replace(" inst VI id 9 maxlen 1400 port 9000 ttl 2 group 224.0.0.82", " VI"));
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(cfg.global.lvs_sync_daemon.as_ref().unwrap().sync_id, Some(51));
    let (_, diags) =
        load(&text.replace(" inst VI id 9 maxlen 1400 port 9000 ttl 2 group 224.0.0.82", " VI 7"));
    assert!(has(&diags, 2, Severity::Warning, "a sync id without 'id' before it", "write 'id 7'"));
}

#[test]
fn lvs_globals_refuse_what_keepalived_refuses() {
    let bad = "\
global_defs {
   lvs_sync_daemon an-interface-name-too-long
   lvs_sync_daemon eth1 id 256 group 198.18.0.1 bogus
   lvs_timeouts tcp
   lvs_timeouts udp 2678401 fin 3
   lvs_flush_on_stop ALL
}
";
    let (cfg, diags) = load(bad);
    assert!(has(&diags, 2, Severity::Error, "longer than 15 characters", ""));
    assert!(has(&diags, 3, Severity::Error, "invalid value '256' for 'lvs_sync_daemon id'", ""));
    assert!(has(&diags, 3, Severity::Error, "lvs_sync_daemon group 198.18.0.1 is not multicast", ""));
    assert!(has(&diags, 3, Severity::Error, "unknown option 'bogus' for 'lvs_sync_daemon'", ""));
    assert!(has(&diags, 4, Severity::Error, "lvs_timeouts needs at least one option", ""));
    assert!(has(&diags, 5, Severity::Error, "invalid value '2678401' for 'lvs_timeouts udp'", ""));
    assert!(has(&diags, 5, Severity::Error, "unknown option 'fin' for 'lvs_timeouts'", ""));
    assert!(has(&diags, 6, Severity::Error, "unknown lvs_flush_on_stop type 'ALL'", ""));
    assert_eq!(cfg.global.lvs_flush_on_stop, LvsFlushOnStop::No);
    let (cfg, diags) = load("global_defs {\n lvs_sync_daemon eth1 inst NONE\n}\n");
    assert!(has(&diags, 2, Severity::Error, "no vrrp_instance NONE; the sync daemon is not started", ""));
    assert!(cfg.global.lvs_sync_daemon.is_none());
}

#[test]
fn url_regex_keywords_as_keepalived_reads_them() {
    let text = "\
virtual_server 198.18.0.1 80 {
   real_server 198.18.1.2 80 {
      HTTP_GET {
         url {
            path /a
            regex \"status: (up|ok)\"
            regex_no_match
            regex_options caseless ucp bogus
            regex_min_offset 10
            regex_max_offset 99
            regex_stack 32768 65536
         }
         url {
            path /b
            regex_min_offset 5
         }
         url {
            path /c
            regex \\\\d+\\.ok
            regex_min_offset 9
            regex_max_offset 3
            regex_stack 9 1
         }
         url {
            path /d
            regex (unclosed
         }
      }
   }
}
";
    let (cfg, diags) = load(text);
    assert!(has(&diags, 8, Severity::Warning, "regex option 'ucp' is not supported", ""));
    assert!(has(&diags, 8, Severity::Warning, "unknown regex option 'bogus'", "caseless"));
    assert!(has(&diags, 15, Severity::Warning, "regex options without 'regex'", ""));
    assert!(has(&diags, 22, Severity::Warning, "regex_stack start 9 exceeds its max 1", ""));
    assert!(has(&diags, 19, Severity::Warning, "regex_min_offset 9 > regex_max_offset 3", ""));
    assert!(has(&diags, 26, Severity::Error, "invalid regex '(unclosed'", "regex-lite"));
    let CheckerKind::Http(h) = &cfg.virtual_servers[0].real_servers[0].checkers[0].kind else {
        panic!("not HTTP_GET")
    };
    let a = h.urls[0].regex.as_ref().expect("url /a has a regex");
    assert_eq!(
        (a.pattern.as_str(), a.no_match, &a.options, a.min_offset, a.max_offset, a.stack),
        ("status: (up|ok)", true, &vec!["caseless".to_string()], 10, Some(99), Some((32768, 65536)))
    );
    assert!(a.compiled.is_match("STATUS: UP"), "caseless reaches the compiled pattern");
    assert_eq!(h.urls[1].regex, None);
    let c = h.urls[2].regex.as_ref().expect("url /c has a regex");
    // Unquoted: keepalived's escapes apply; min > max drops both offsets.
    assert_eq!((c.pattern.as_str(), c.min_offset, c.max_offset, c.stack), (r"\d+.ok", 0, None, None));
    assert_eq!(h.urls[3].regex, None);
}

#[test]
fn socket_buffer_keywords_follow_keepalived() {
    use crate::config::model::{RcvBuf, RxBufsPolicy};
    let (c, d) = load(
        "global_defs {\n vrrp_netlink_cmd_rcv_bufs 4096\n vrrp_netlink_cmd_rcv_bufs 0\n \
         vrrp_netlink_monitor_rcv_bufs_force\n process_monitor_rcv_bufs 9000\n \
         process_monitor_rcv_bufs_force off\n vrrp_rx_bufs_policy MTU advert\n vrrp_rx_bufs_multiplier 4\n \
         lvs_netlink_cmd_rcv_bufs 212341234\n lvs_netlink_cmd_rcv_bufs_force yes\n \
         lvs_netlink_monitor_rcv_bufs 300000\n lvs_netlink_monitor_rcv_bufs_force\n}\n",
    );
    let b = c.global.netlink_bufs;
    // 0 leaves the size as it was; a bare _force means on.
    assert_eq!(b.vrrp_cmd, RcvBuf { bytes: 4096, force: false });
    assert_eq!(b.vrrp_monitor, RcvBuf { bytes: 0, force: true });
    assert_eq!(b.process_monitor, RcvBuf { bytes: 9000, force: false });
    assert_eq!(b.lvs_cmd, RcvBuf { bytes: 212341234, force: true });
    assert_eq!(b.lvs_monitor, RcvBuf { bytes: 300000, force: true });
    // MTU wins over ADVERT, reported.
    assert_eq!(c.global.vrrp_rx_bufs, RxBufsPolicy::Mtu);
    assert!(d.iter().any(|d| d.message.contains("ignoring ADVERT")), "{d:?}");
    assert_eq!(c.global.vrrp_rx_bufs_multiplier, 4);
    let (c, d) = load("global_defs {\n vrrp_rx_bufs_policy ADVERT 2048\n vrrp_rx_bufs_multiplier 0\n}\n");
    assert_eq!(c.global.vrrp_rx_bufs, RxBufsPolicy::Size(2048));
    assert!(d.iter().any(|d| d.message.contains("ignoring policy")), "{d:?}");
    assert_eq!(c.global.vrrp_rx_bufs_multiplier, 3, "0 is out of range: the default stays");
    assert_eq!(RxBufsPolicy::Mtu.share(3, 1500, 40), 4500);
    assert_eq!(RxBufsPolicy::Advert.share(3, 1500, 40), 120);
}

/// `ha_suspend` is kept on an address service; a fwmark service loses it
/// with keepalived's error, a group service with a warning saying why.
#[test]
fn ha_suspend_only_on_an_address_service() {
    use crate::config::model::VsAddr;
    let (c, d) = load(
        "virtual_server_group web {\n 198.18.0.9 80\n}\n\
         virtual_server 198.18.0.1 80 {\n protocol TCP\n ha_suspend\n}\n\
         virtual_server fwmark 7 {\n protocol TCP\n ha_suspend\n}\n\
         virtual_server group web {\n protocol TCP\n ha_suspend\n}\n\
         virtual_server 198.18.0.2 80 {\n protocol TCP\n}\n",
    );
    let by = |a: VsAddr| c.virtual_servers.iter().find(|v| v.addr == a).unwrap().ha_suspend;
    assert!(by(VsAddr::Addr("198.18.0.1".parse().unwrap(), 80)));
    assert!(!by(VsAddr::Fwmark(7)));
    assert!(!by(VsAddr::Group("web".into())));
    assert!(!by(VsAddr::Addr("198.18.0.2".parse().unwrap(), 80)));
    let fwm =
        d.iter().find(|d| d.message.contains("FWM 7: cannot use ha_suspend with fwmarks")).expect("fwmark");
    assert!(fwm.is_error(), "{fwm:?}");
    let group = d.iter().find(|d| d.message.contains("[GROUP web]: cannot use ha_suspend")).expect("group");
    assert!(!group.is_error(), "{group:?}");
}

#[test]
fn reload_time_file_and_reload_repeat_are_read() {
    // The schedule itself: tests/reload_check_netns.rs reload_time_file_reloads_then_and_deletes_the_file.
    let mut diags = Vec::new();
    let text = "global_defs {\n reload_time_file /run/vigil.reload_at\n reload_repeat\n}\n";
    let cfg = super::parse(&tokens(text), &mut diags);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(cfg.global.reload_time_file.as_deref(), Some("/run/vigil.reload_at"));
    assert!(cfg.global.reload_repeat);
    let cfg = super::parse(&tokens("global_defs {\n\n reload_time_file\n}\n"), &mut diags);
    assert_eq!((cfg.global.reload_time_file, cfg.global.reload_repeat), (None, false));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].is_error() && diags[0].message.contains("needs a value"), "{:?}", diags[0]);
    assert_eq!(diags[0].loc.as_ref().map(|l| l.line), Some(3), "file:line of the keyword");
}

#[test]
fn each_instance_clashing_on_a_vrid_is_reported_once() {
    let inst = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n{extra} virtual_ipaddress {{\n  198.18.0.1\n }}\n}}\n"
        )
    };
    let peers = |p: &[&str]| format!(" unicast_peer {{\n{}\n }}\n", p.join("\n"));
    let text = [
        inst("A", 7, ""),
        inst("B", 7, ""),
        inst("C", 7, ""),
        inst("U1", 9, &peers(&["198.18.1.1"])),
        inst("U2", 9, &peers(&["198.18.1.2"])),
        inst("U3", 9, &peers(&["198.18.1.3", "198.18.1.2"])),
        inst("M", 9, ""),
    ]
    .concat();
    let (_, diags) = load(&text);
    let clashes: Vec<String> = diags
        .iter()
        .map(|d| d.to_string())
        .filter(|d| d.contains("both use virtual_router_id"))
        .map(|d| d[d.find("instances").unwrap()..d.find(" both").unwrap()].to_string())
        .collect();
    // B and C against A, not C against B too; unicast with disjoint peers
    // do not clash, a shared peer does, and multicast clashes with all.
    assert_eq!(
        clashes,
        [
            "instances 'A' and 'B'",
            "instances 'A' and 'C'",
            "instances 'U2' and 'U3'",
            "instances 'U1' and 'M'"
        ]
    );
}
