//! Nothing silent: a checker vigil cannot run never lets its real server
//! count as up. BFD_CHECK is a `-t` warning naming the line, and at run time such a checker fails, so its
//! real server is DOWN. SSL_GET in a build without the `ssl` feature is a
//! `-t` error, and the daemon refuses the configuration. Needs root and `ip`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use vigil::runtime::Json;

fn vigil_t(conf: &Path) -> (String, i32) {
    let out = Command::new(vigil_bin()).arg("-t").arg("-f").arg(conf).output().expect("run vigil -t");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (text, out.status.code().unwrap_or(-1))
}

fn write(dir: &TempDir, text: &str) -> std::path::PathBuf {
    let p = dir.path().join("keepalived.conf");
    std::fs::write(&p, text).expect("write config");
    p
}

const SSL_CONF: &str = "\
virtual_server 198.18.0.80 443 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.18.0.2 443 {
        SSL_GET {
            url {
                path /health
            }
        }
    }
}
";

#[test]
fn ssl_get_without_tls_is_a_config_error_and_the_daemon_refuses_it() {
    let dir = TempDir::new("ssl");
    let conf = write(&dir, SSL_CONF);
    let (out, code) = vigil_t(&conf);
    let at = format!("{}:7:9: error: SSL_GET cannot run in this build", conf.display());
    let hint = "(hint: this vigil was built without TLS (the ssl feature))";
    if cfg!(feature = "ssl") {
        assert!(!out.contains("SSL_GET cannot run") && code == 0, "{code}: {out}");
        return;
    }
    assert!(out.lines().any(|l| l.starts_with(&at) && l.ends_with(hint)), "{out}");
    assert_eq!(code, 5, "{out}");

    let ns = Netns::new("ssl");
    let d = Daemon::start(&ns, &vigil_bin(), SSL_CONF, &["-C"]);
    assert!(wait_until(secs(5), ms(20), || !d.is_running()), "the daemon runs with SSL_GET:\n{}", d.log());
    assert!(d.log().contains("configuration needs what this build lacks"), "{}", d.log());
    assert!(d.log().contains("built without TLS (the ssl feature)"), "{}", d.log());
}

/// (state, checker type, checker last_result) of every real server.
fn real_servers(d: &Daemon) -> Vec<(String, String, String)> {
    let Ok(st) = d.status_json() else { return Vec::new() };
    let Some(Json::Arr(vss)) = st.get("checker").and_then(|c| c.get("virtual_servers")) else {
        return Vec::new();
    };
    let Some(Json::Arr(rss)) = vss.first().and_then(|v| v.get("real_servers")) else { return Vec::new() };
    let s =
        |j: Option<&Json>, k: &str| j.and_then(|j| j.get(k)).and_then(Json::as_str).unwrap_or("").to_string();
    rss.iter()
        .map(|rs| {
            let ck = match rs.get("checkers") {
                Some(Json::Arr(c)) => c.first(),
                _ => None,
            };
            (s(Some(rs), "state"), s(ck, "type"), s(ck, "last_result"))
        })
        .collect()
}

#[test]
fn unrunnable_checkers_warn_with_the_line_and_keep_the_server_down() {
    let conf_text = "\
virtual_server 198.18.0.80 80 {
    delay_loop 1
    warmup 0
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.18.0.2 80 {
        BFD_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.18.0.3 80 {
        BFD_CHECK {
        }
    }
    real_server 198.18.0.4 80 {
        BFD_CHECK {
            track_file f
        }
    }
    real_server 198.18.0.5 80 {
        BFD_CHECK {
            name b
        }
    }
    real_server 198.18.0.6 80 {
        weight 1
    }
}
";
    let dir = TempDir::new("unrunnable");
    let conf = write(&dir, conf_text);
    let (out, code) = vigil_t(&conf);
    for (line, kw) in [(8, "BFD_CHECK"), (13, "BFD_CHECK"), (17, "BFD_CHECK"), (22, "BFD_CHECK")] {
        let at =
            format!("{}:{line}:9: warning: '{kw}' accepted; vigil does not run this checker", conf.display());
        let found = out.lines().any(|l| l.starts_with(&at) && l.contains("the real server counts as down"));
        assert!(found, "no warning for {kw} at line {line}:\n{out}");
    }
    assert_eq!(code, 0, "warnings only:\n{out}");

    let ns = Netns::new("unrun");
    let d = Daemon::start(&ns, &vigil_bin(), conf_text, &["-C"]);
    let want = |rss: &[(String, String, String)]| {
        rss.len() == 5
            && rss[..4]
                .iter()
                .all(|(state, _, last)| state == "DOWN" && last.ends_with("is not supported by vigil"))
            && rss[4].0 == "UP"
    };
    let ok = wait_until(secs(10), ms(100), || want(&real_servers(&d)));
    assert!(ok, "{:?}\n{}", real_servers(&d), d.log());
    let types: Vec<String> = real_servers(&d).into_iter().map(|(_, t, _)| t).collect();
    assert_eq!(types, ["BFD_CHECK", "BFD_CHECK", "BFD_CHECK", "BFD_CHECK", ""]);
    let line = "BFD_CHECK for [198.18.0.2]:tcp:80 cannot run in vigil (BFD_CHECK is not supported by vigil)";
    assert!(d.wait_log(line, secs(2)), "{}", d.log());
}
