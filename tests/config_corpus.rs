//! The configuration front end against real keepalived.conf files.
//!
//! * The seven files at the top of /work/shared/conf-corpus: `vigil -t` must
//!   report exactly what the corpus README lists (line, hint, exit code).
//! * The 80 files of `wild/`: wherever keepalived 2.2.7 reported
//!   `Unknown keyword` at a line, vigil reports something on that line too,
//!   unless `ALLOWED` says why vigil deliberately differs.

use std::path::{Path, PathBuf};
use std::process::Command;

use vigil::config::coverage::{is_warned, WARNED};
use vigil::config::keywords::{lookup, Ctx, Kind};
use vigil::config::{load_file, LoadOptions, Severity};

/// ../shared/conf-corpus beside the checkout; CI always has it, so its
/// absence fails the test instead of skipping it.
fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conf-corpus");
    assert!(dir.join("README.md").exists(), "{} is absent: the corpus tests need ../shared", dir.display());
    dir
}

/// Runs `vigil -t -f FILE`; returns (diagnostic lines, exit code).
fn vigil_t(file: &Path) -> (Vec<String>, i32) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_vigil")).arg("-t").arg("-f").arg(file).output().expect("run vigil");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (text.lines().map(String::from).collect(), out.status.code().unwrap_or(-1))
}

/// The diagnostic lines of `vigil -t` output for `line` of `name`, with the given severity.
fn at<'a>(lines: &'a [String], name: &str, line: u32, sev: &str) -> Vec<&'a String> {
    let prefix = format!("{name}:{line}:");
    lines
        .iter()
        .filter(|l| l.rsplit('/').next().is_some_and(|t| t.starts_with(&prefix)) || l.starts_with(&prefix))
        .filter(|l| l.contains(&format!(": {sev}: ")))
        .collect()
}

fn errors(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.contains(": error: ")).collect()
}

fn expect_one(lines: &[String], name: &str, line: u32, sev: &str, parts: &[&str]) {
    let found = at(lines, name, line, sev);
    assert!(
        found.iter().any(|l| parts.iter().all(|p| l.contains(p))),
        "{name}:{line}: expected a {sev} containing {parts:?}; vigil said:\n{}",
        lines.join("\n")
    );
}

#[test]
fn seed_full_reference() {
    let dir = corpus();
    let name = "seed-full-reference.conf";
    let (out, code) = vigil_t(&dir.join(name));
    expect_one(
        &out,
        name,
        10,
        "error",
        &["unknown keyword 'stmp_connect_timeout'", "hint: did you mean 'smtp_connect_timeout'?"],
    );
    expect_one(&out, name, 56, "error", &["unknown keyword 'autp_pass'", "hint: did you mean 'auth_pass'?"]);
    expect_one(&out, name, 55, "error", &["instance 'http' has PASS authentication without an auth_pass"]);
    expect_one(
        &out,
        name,
        74,
        "error",
        &["unknown keyword 'preemtp_delay'", "hint: did you mean 'preempt_delay'?"],
    );
    expect_one(&out, name, 73, "warning", &["'http'", "nopreempt has no effect with state MASTER"]);
    // A build without TLS cannot run the SSL_GET at line 209 and says so
    // (the corpus README lists what a build with it reports).
    let tls_errors = if cfg!(feature = "ssl") {
        0
    } else {
        let hint = "hint: this vigil was built without TLS (the ssl feature)";
        expect_one(&out, name, 209, "error", &["SSL_GET cannot run", hint]);
        1
    };
    assert_eq!(errors(&out).len(), 4 + tls_errors, "{}", out.join("\n"));
    assert_ne!(code, 0);
}

#[test]
fn nginx_master_is_clean() {
    let dir = corpus();
    let (out, code) = vigil_t(&dir.join("nginx-master.conf"));
    assert!(errors(&out).is_empty(), "{}", out.join("\n"));
    // Only host-dependent warnings (eth0 may be absent here).
    for l in out.iter().filter(|l| l.contains(": warning: ")) {
        assert!(l.contains("does not exist on this host"), "unexpected: {l}");
    }
    assert_eq!(code, 0);
}

#[test]
fn nginx_backup_slaver() {
    let dir = corpus();
    let name = "nginx-backup.conf";
    let (out, code) = vigil_t(&dir.join(name));
    expect_one(
        &out,
        name,
        16,
        "error",
        &["invalid state 'SLAVER'", "treated as BACKUP", "hint: MASTER or BACKUP"],
    );
    assert_eq!(errors(&out).len(), 1, "{}", out.join("\n"));
    assert_ne!(code, 0);
    // The daemon would run it as BACKUP.
    let loaded = load_file(&dir.join(name), &LoadOptions::default());
    assert_eq!(loaded.config.instances[0].initial_state(), vigil::config::model::InitialState::Backup);
}

#[test]
fn lvs_dr() {
    let dir = corpus();
    let name = "lvs-dr.conf";
    let (out, code) = vigil_t(&dir.join(name));
    expect_one(&out, name, 31, "error", &["virtual_server 192.168.2.118 has an address but no port"]);
    expect_one(
        &out,
        name,
        40,
        "error",
        &["unknown keyword 'connection_timeout'", "hint: did you mean 'connect_timeout'?"],
    );
    expect_one(
        &out,
        name,
        50,
        "error",
        &["unknown keyword 'connection_timeout'", "hint: did you mean 'connect_timeout'?"],
    );
    // `80{` is fine: nothing is reported on lines 37 and 47.
    assert!(at(&out, name, 37, "error").is_empty() && at(&out, name, 47, "error").is_empty());
    assert_eq!(errors(&out).len(), 3, "{}", out.join("\n"));
    assert_ne!(code, 0);
}

#[test]
fn default_sample_warnings_only() {
    let dir = corpus();
    let name = "default-sample.conf";
    let (out, code) = vigil_t(&dir.join(name));
    assert!(errors(&out).is_empty(), "{}", out.join("\n"));
    expect_one(&out, name, 27, "warning", &["strict mode has no authentication; it is turned off"]);
    expect_one(&out, name, 24, "warning", &["nopreempt has no effect with state MASTER"]);
    assert_eq!(code, 0);
}

#[test]
fn apache_track_script_typo() {
    let dir = corpus();
    let name = "apache-track-script.conf";
    let (out, code) = vigil_t(&dir.join(name));
    expect_one(&out, name, 29, "error", &["tracks script 'nginx_check'", "httpd_check"]);
    assert_eq!(errors(&out).len(), 1, "{}", out.join("\n"));
    assert_ne!(code, 0);
}

#[test]
fn postgres_pair_is_clean() {
    let dir = corpus();
    let (out, code) = vigil_t(&dir.join("postgres-pair.conf"));
    assert!(errors(&out).is_empty(), "{}", out.join("\n"));
    // Only host facts: users and scripts, and what script security makes of them here.
    for l in out.iter().filter(|l| l.contains(": warning: ")) {
        let host = [
            "on this host",
            "not executable",
            "does not exist",
            "Unsafe permissions",
            "default user",
            "script",
        ];
        assert!(host.iter().any(|h| l.contains(h)), "unexpected: {l}");
    }
    assert_eq!(code, 0);
    // Without host checks nothing else is reported.
    let opts = LoadOptions::with_id("vm");
    let diags = load_file(&dir.join("postgres-pair.conf"), &opts).diags;
    let lines: Vec<u32> = diags.iter().map(|d| d.loc.as_ref().map_or(0, |l| l.line)).collect();
    assert!(lines.is_empty(), "{diags:?}");
}

/// Lines where keepalived 2.2.7 says `Unknown keyword` and vigil deliberately
/// reports nothing: (file prefix, first line, last line, why).
const ALLOWED: &[(&str, u32, u32, &str)] = &[
    (
        "003-",
        31,
        36,
        "virtual_server without '{': keepalived reads its body at top level line by line; \
        vigil reports the missing brace (24), each top-level keyword, and the real_server block once (30)",
    ),
    (
        "027-",
        17,
        18,
        "inside 'local_address_group' (16), a keyword of Alibaba's FNAT fork: vigil reports the \
        unknown block once and skips it; keepalived ignores the '{' and reports each line",
    ),
    (
        "030-",
        21,
        24,
        "real_server inside virtual_server_group: keepalived ends the group at the url's '}' (20); \
        vigil reports the misplaced real_server blocks (14, 25) and skips them whole",
    ),
    ("030-", 26, 36, "second misplaced real_server block, reported once at line 25"),
    (
        "049-",
        59,
        111,
        "'SMTP_CHEKC {}' (56): keepalived ignores the '{' so the '}' closes real_server early; \
        vigil skips the unknown block and reads the rest correctly",
    ),
    (
        "059-",
        16,
        23,
        "'{VRID}' inside a trailing '//' remark (13): keepalived opens a block there and then misreads \
        the instance; vigil skips the brace pair, warns about '//', and reads the rest correctly",
    ),
    (
        "061-",
        5,
        36,
        "keepalived's own parameter substitution splits shell-style '${VAR:-x}' apart and cascades; \
        vigil keeps each placeholder one word and reports the values it cannot use (4, 11-15, 18)",
    ),
];

fn allowed(file: &str, line: u32) -> bool {
    ALLOWED.iter().any(|(f, a, b, _)| file.starts_with(f) && (*a..=*b).contains(&line))
}

/// `(Line N) Unknown keyword` / `(FILE: Line N) Unknown keyword` lines for `conf`.
fn keepalived_unknown_lines(report: &str, conf: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for l in report.lines() {
        let Some(rest) = l.strip_prefix('(') else { continue };
        let Some((place, msg)) = rest.split_once(") ") else { continue };
        if !msg.starts_with("Unknown keyword") {
            continue;
        }
        let (file, line) = match place.rsplit_once(": Line ") {
            Some((f, n)) => (Some(f), n),
            None => (None, place.trim_start_matches("Line ")),
        };
        if file.is_some_and(|f| f != conf) {
            continue;
        }
        if let Ok(n) = line.parse::<u32>() {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

#[test]
fn wild_corpus_unknown_keywords_are_reported() {
    let dir = corpus();
    let wild = dir.join("wild");
    let mut confs: Vec<PathBuf> = std::fs::read_dir(&wild)
        .expect("wild/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    confs.sort();
    assert_eq!(confs.len(), 80);
    let opts = LoadOptions::with_id("vm");
    let mut misses = Vec::new();
    let mut checked = 0;
    for path in &confs {
        let conf = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let report_path = wild.join("keepalived-t").join(conf.replace(".conf", ".txt"));
        let report = std::fs::read_to_string(&report_path).expect("keepalived -t report");
        let loaded = load_file(path, &opts);
        for line in keepalived_unknown_lines(&report, &conf) {
            checked += 1;
            let hit = loaded
                .diags
                .iter()
                .any(|d| d.loc.as_ref().is_some_and(|l| l.line == line && l.file.ends_with(conf.as_str())));
            if !hit && !allowed(&conf, line) {
                misses.push(format!("{conf}:{line}"));
            }
        }
    }
    assert!(checked > 100, "only {checked} keepalived findings were read");
    assert!(
        misses.is_empty(),
        "keepalived reported Unknown keyword here, vigil nothing:\n{}",
        misses.join("\n")
    );
}

#[test]
fn every_corpus_file_loads() {
    let dir = corpus();
    let opts = LoadOptions::with_id("vm");
    let mut n = 0;
    for sub in [dir.clone(), dir.join("wild")] {
        for e in std::fs::read_dir(&sub).expect("corpus dir").flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "conf") {
                let mut loaded = load_file(&p, &opts);
                vigil::cli::host_checks::check(&loaded.config, &mut loaded.diags);
                // Host findings are never errors.
                assert!(loaded
                    .diags
                    .iter()
                    .filter(|d| d.message.contains("on this host"))
                    .all(|d| d.severity == Severity::Warning));
                let _ = vigil::config::dump::dump(&loaded.config);
                n += 1;
            }
        }
    }
    assert_eq!(n, 87);
}

/// `-t -d` prints the configuration as it runs: vigil's defaults where they
/// differ from keepalived's (unicast sources checked, the yielding master's
/// parting advert), `no_accept` as accept off and the nftables table it uses.
#[test]
fn dump_shows_what_runs() {
    let conf = std::env::temp_dir().join(format!("vigil-dump-{}.conf", std::process::id()));
    std::fs::write(
        &conf,
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n no_accept\n \
         unicast_peer {\n 198.18.0.2\n }\n virtual_ipaddress {\n 198.18.0.100/24\n }\n}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil")).args(["-t", "-d", "-f"]).arg(&conf).output().unwrap();
    let _ = std::fs::remove_file(&conf);
    let dump = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in ["check_unicast_src on", "higher_prio_send_advert on", "accept off", "nftables keepalived"] {
        assert!(dump.lines().any(|l| l.trim().starts_with(line)), "no '{line}' in:\n{dump}");
    }
    assert!(!stderr.contains("no_accept"), "no_accept is acted on, not warned about: {stderr}");
}

/// The keywords of `text` that vigil accepts without acting on them, by
/// line: (line, block, keyword). A small reader of its own, independent
/// of the parser: it follows the braces and looks each statement up in the
/// keyword table of its block. `@id` lines count as for config id `vm`.
fn not_acted_on_lines(text: &str) -> Vec<(u32, Ctx, &'static str)> {
    let mut out = Vec::new();
    // None: a block vigil skips or reads as a list.
    let mut stack: Vec<Option<Ctx>> = Vec::new();
    let mut pending: Option<Option<Ctx>> = None;
    for (i, raw) in text.lines().enumerate() {
        let mut line = raw.trim_start();
        if let Some(rest) = line.strip_prefix('@') {
            let (id, body) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let (neg, id) = id.strip_prefix('^').map_or((false, id), |x| (true, x));
            if (id == "vm") == neg {
                continue;
            }
            line = body;
        }
        // Quoted text and comments carry no braces or keywords.
        let mut clean = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                '#' | '!' if !quoted => break,
                '{' | '}' if !quoted => {
                    clean.push(' ');
                    clean.push(c);
                    clean.push(' ');
                }
                c if !quoted => clean.push(c),
                _ => {}
            }
        }
        let words: Vec<&str> = clean.split_whitespace().collect();
        let mut opens: Option<Ctx> = None;
        let mut rest = &words[..];
        if let Some(&w) = words.first().filter(|w| **w != "{" && **w != "}") {
            rest = &words[1..];
            pending = None;
            let here = stack.last().copied().unwrap_or(Some(Ctx::Top));
            if let Some(ctx) = here {
                if let Some(k) = lookup(ctx, w) {
                    if k.kind == Kind::Ignored || is_warned(k.ctx, k.name) {
                        out.push((i as u32 + 1, k.ctx, k.name));
                    }
                    if let Kind::Block(c) = k.kind {
                        opens = Some(c);
                    }
                    if matches!(k.kind, Kind::Block(_) | Kind::List | Kind::Ignored) && !rest.contains(&"{") {
                        pending = Some(opens);
                    }
                }
            }
        }
        for &w in rest.iter().chain(words.first().filter(|w| **w == "{" || **w == "}")) {
            match w {
                "{" => {
                    let block = pending.take().unwrap_or(opens);
                    stack.push(block);
                    opens = None;
                }
                "}" => {
                    stack.pop();
                }
                _ => {}
            }
        }
    }
    out
}

/// Wild configs whose behaviour under vigil still differs from keepalived's
/// because of a keyword vigil does not act on (issue 17's aim: the BFD ones).
const WILD_NOT_ACTED_ON: usize = 1;

/// Issue 13: wherever a corpus file uses a keyword vigil does not act on,
/// `vigil -t` warns on that line. Prints how many wild files hit one.
#[test]
fn not_acted_on_keywords_are_warned_at_their_line() {
    let dir = corpus();
    let opts = LoadOptions::with_id("vm");
    let (mut files, mut wild, mut wild_hit, mut checked) = (0, 0, Vec::new(), 0);
    let mut misses = Vec::new();
    for sub in [dir.clone(), dir.join("wild")] {
        let mut paths: Vec<PathBuf> =
            std::fs::read_dir(&sub).expect("corpus dir").flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths.into_iter().filter(|p| p.extension().is_some_and(|x| x == "conf")) {
            files += 1;
            let is_wild = sub.ends_with("wild");
            wild += usize::from(is_wild);
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            let hits = not_acted_on_lines(&text);
            if hits.is_empty() {
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let loaded = load_file(&p, &opts);
            for &(line, ctx, kw) in &hits {
                checked += 1;
                let warned = loaded.diags.iter().any(|d| {
                    d.severity == Severity::Warning
                        && d.loc.as_ref().is_some_and(|l| l.line == line && l.file.ends_with(name.as_str()))
                        && (d.message.contains(&format!("'{kw}' accepted; vigil does not"))
                            || WARNED.iter().any(|&(c, n, f)| c == ctx && n == kw && d.message.contains(f)))
                });
                if !warned {
                    misses.push(format!("{name}:{line}: {kw} ({})", ctx.name()));
                }
            }
            // A keyword keepalived 2.2.7 itself reports unknown on that line
            // (nat_mask, lvs_id, nb_get_retry outside HTTP_GET) is ignored by
            // both: no difference in behaviour.
            let kt = dir.join("wild/keepalived-t").join(name.replace(".conf", ".txt"));
            let kt = std::fs::read_to_string(kt).unwrap_or_default();
            let differs = |&&(line, _, kw): &&(u32, Ctx, &str)| {
                !kt.lines().any(|l| l.contains(&format!("Line {line}) Unknown keyword '{kw}'")))
            };
            if is_wild && hits.iter().any(|h| differs(&h)) {
                let mut kws: Vec<&str> = hits.iter().filter(differs).map(|h| h.2).collect();
                kws.sort();
                kws.dedup();
                wild_hit.push(format!("{name}: {}", kws.join(", ")));
            }
        }
    }
    println!(
        "{} of {wild} wild configs use a keyword vigil does not act on (the aim: only BFD ones):\n  {}",
        wild_hit.len(),
        wild_hit.join("\n  ")
    );
    assert_eq!(files, 87);
    assert!(checked > 0);
    // A ratchet: the count only goes down as keywords are acted on.
    assert!(wild_hit.len() <= WILD_NOT_ACTED_ON, "{} > {WILD_NOT_ACTED_ON}", wild_hit.len());
    assert!(
        misses.is_empty(),
        "not-acted-on keywords without a warning at their line:\n{}",
        misses.join("\n")
    );
}

/// `-t --dump` ends with every keyword vigil accepted without acting on it.
#[test]
fn dump_lists_what_vigil_does_not_act_on() {
    let conf = std::env::temp_dir().join(format!("vigil-dump-ignored-{}.conf", std::process::id()));
    std::fs::write(
        &conf,
        "global_defs {\n lvs_id LVS1\n vrrp_iptables\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n \
         ops\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n",
    )
    .unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_vigil")).args(["-t", "--dump", "-f"]).arg(&conf).output().unwrap();
    let _ = std::fs::remove_file(&conf);
    let dump = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (line, kw) in [(2, "lvs_id"), (3, "vrrp_iptables"), (7, "ops")] {
        let mark = format!(".conf:{line}: {kw} (");
        assert!(dump.lines().any(|l| l.starts_with("#   ") && l.contains(&mark)), "no '{mark}' in:\n{dump}");
        let warn = format!(".conf:{line}:");
        assert!(
            stderr.lines().any(
                |l| l.contains(&warn) && l.contains(&format!("warning: '{kw}' accepted; vigil does not"))
            ),
            "{stderr}"
        );
    }
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
