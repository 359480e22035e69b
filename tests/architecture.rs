//! The direction of dependencies (ARCHITECTURE.md): each top-level module of
//! src/ may use modules of its own layer or of a layer below, never one
//! above, and the uses between modules form no cycle. Read from the source:
//! every `crate::` path outside comments, test code included, so a test
//! cannot pull a core up either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top to bottom.
const LAYERS: &[(&str, &[&str])] = &[
    ("front end: the command line and its tools", &["cli", "genhash"]),
    ("processes: supervisor, children, loops", &["daemon"]),
    ("engines: the VRRP engine, the checker engine", &["failover", "check"]),
    ("pure cores and the edge", &["vrrp", "smtp", "script", "sys", "ipvs"]),
    ("foundation: configuration, time, the loop contract", &["config", "runtime", "time"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules `lib.rs` declares.
fn declared_modules() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("src/lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .map(|l| l.trim_end_matches(';').trim().to_string())
        .collect()
}

/// Every .rs file of a top-level module (`src/NAME.rs` or `src/NAME/**`).
fn files_of(module: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src().join(format!("{module}.rs"));
    if file.is_file() {
        out.push(file);
    }
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The source without comments (line comments and doc comments; block
/// comments are not used in src/). A `//` inside a string literal cuts the
/// rest of that line, which can only hide a path, never invent one.
fn code(text: &str) -> String {
    text.lines().map(|l| l.find("//").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

/// The top-level modules named by `crate::` paths in `code`, with the
/// line of each: `crate::a::b`, `crate::{a, b::{c, d}}`.
fn crate_uses(code: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut rest = code;
    let mut offset = 0;
    while let Some(i) = rest.find("crate::") {
        let at = offset + i;
        // `vigil::crate::` does not exist; skip identifiers ending in "crate".
        let before = code[..at].chars().next_back();
        let after = &rest[i + "crate::".len()..];
        let line = code[..at].matches('\n').count() + 1;
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            if let Some(group) = after.strip_prefix('{') {
                out.extend(group_heads(group).into_iter().map(|m| (m, line)));
            } else {
                out.push((ident(after), line));
            }
        }
        offset = at + "crate::".len();
        rest = &code[offset..];
    }
    out.retain(|(m, _)| !m.is_empty() && m != "self");
    out
}

fn ident(s: &str) -> String {
    s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// The first segment of each path in a `{...}` group (`s` starts after `{`).
fn group_heads(s: &str) -> Vec<String> {
    let (mut depth, mut heads, mut start) = (0usize, Vec::new(), 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(ident(s[start..i].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident(s[start..i].trim_start()));
                start = i + 1;
            }
            _ => {}
        }
    }
    heads
}

/// module -> (used module -> first place it is used).
fn uses() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut graph = BTreeMap::new();
    for module in declared_modules() {
        let mut used: BTreeMap<String, String> = BTreeMap::new();
        for file in files_of(&module) {
            let text = std::fs::read_to_string(&file).expect("source file");
            for (m, line) in crate_uses(&code(&text)) {
                if m != module {
                    let place = format!("{}:{line}", file.strip_prefix(src()).unwrap_or(&file).display());
                    used.entry(m).or_insert(place);
                }
            }
        }
        graph.insert(module, used);
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    let modules = declared_modules();
    assert!(modules.len() >= 10, "lib.rs declares {modules:?}");
    for m in &modules {
        assert!(
            layer_of(m).is_some(),
            "src/{m}: not in the layer table of tests/architecture.rs (ARCHITECTURE.md)"
        );
    }
    for (_, mods) in LAYERS {
        for m in *mods {
            assert!(
                modules.iter().any(|d| d == m),
                "the layer table names '{m}', which lib.rs does not declare"
            );
        }
    }
}

#[test]
fn no_module_uses_one_above_it() {
    let mut wrong = Vec::new();
    let graph = uses();
    for (module, used) in &graph {
        let Some(mine) = layer_of(module) else { continue };
        for (m, place) in used {
            match layer_of(m) {
                Some(theirs) if theirs < mine => wrong
                    .push(format!("{place}: {module} ({}) uses {m} ({})", LAYERS[mine].0, LAYERS[theirs].0)),
                None if graph.contains_key(m) => wrong.push(format!("{place}: {m} has no layer")),
                _ => {}
            }
        }
    }
    // The scan itself: the daemon does use the engines, and cli the daemon.
    assert!(graph["daemon"].contains_key("failover") && graph["cli"].contains_key("daemon"), "{graph:?}");
    assert!(wrong.is_empty(), "uses that point up:\n{}", wrong.join("\n"));
}

#[test]
fn module_uses_form_no_cycle() {
    let graph = uses();
    let modules: Vec<&String> = graph.keys().collect();
    // Depth-first search; a module met again while on the path closes a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Result<(), String> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut cycle: Vec<&str> = path[i..].to_vec();
            cycle.push(m);
            let places: Vec<&str> =
                cycle.windows(2).map(|w| graph[w[0]].get(w[1]).map_or("?", String::as_str)).collect();
            return Err(format!("{} (at {})", cycle.join(" -> "), places.join(", ")));
        }
        if !done.insert(m) {
            return Ok(());
        }
        path.push(m);
        for next in graph.get(m).into_iter().flat_map(|u| u.keys()) {
            if graph.contains_key(next) {
                visit(next, graph, path, done)?;
            }
        }
        path.pop();
        Ok(())
    }
    let mut done = BTreeSet::new();
    for m in modules {
        // A module already explored from an earlier start holds no cycle
        // that this start could find: it is skipped.
        let mut path = Vec::new();
        if let Err(cycle) = visit(m, &graph, &mut path, &mut done) {
            panic!("modules use each other in a cycle: {cycle}");
        }
    }
}

#[test]
fn the_scanner_reads_groups_and_skips_comments() {
    let src = "use crate::config::{self, model::Config};\n\
               use crate::{daemon::x, engine::{vrrp, check}, sys};\n\
               // use crate::cli;\n\
               let t = crate::time::Instant::ZERO; /// crate::genhash\n";
    let found: Vec<String> = crate_uses(&code(src)).into_iter().map(|(m, _)| m).collect();
    assert_eq!(found, ["config", "daemon", "engine", "sys", "time"]);
}
