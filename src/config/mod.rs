//! The keepalived.conf front end.
//!
//! bytes -> `preprocess` (lexing, `include`, `$PARAM`, `@id` lines) -> tokens
//! -> `parse` (keyword tables in `keywords`) -> `model::Config`
//! -> `validate` (semantic rules) -> diagnostics.
//!
//! Loading is lenient like keepalived: every finding becomes a diagnostic and
//! the model holds keepalived's defaults for anything skipped, so the daemon
//! can run; `vigil -t` prints the diagnostics and fails on any error.

pub mod coverage;
pub mod diag;
pub mod dump;
pub mod file;
pub mod keywords;
pub mod lexer;
pub mod model;
pub mod parse;
pub mod preprocess;
pub mod probe;
pub mod regex;
pub mod route;
pub mod rule;
pub mod snapshot;
pub mod suggest;
pub mod token;
pub mod validate;

use std::path::Path;

pub use diag::{Diagnostic, Loc, Severity};
pub use model::Config;

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Matched against `@id` lines (`-i/--config-id`; default: short hostname).
    pub config_id: String,
    /// How far the preprocessor may expand the text (production's bounds).
    pub limits: preprocess::Limits,
}

impl LoadOptions {
    /// Production's options with `config_id`.
    pub fn with_id(config_id: impl Into<String>) -> LoadOptions {
        LoadOptions { config_id: config_id.into(), limits: preprocess::Limits::PRODUCTION }
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions::with_id(short_hostname())
    }
}

#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub diags: Vec<Diagnostic>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    /// keepalived's `-e/--all-config`: every `include` is an `includet`, so a
    /// missing or unreadable included file is an error, not a warning.
    pub fn require_includes(&mut self) {
        for d in &mut self.diags {
            if d.severity == Severity::Warning && preprocess::is_missing_include(&d.message) {
                d.severity = Severity::Error;
            }
        }
    }
}

/// Load a configuration file and everything it includes.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Loaded {
    let (tokens, mut diags) = preprocess::preprocess_file(path, opts);
    finish(tokens, &mut diags)
}

/// Load a configuration from memory; `name` is used in diagnostics and
/// `base_dir` resolves relative `include`s.
pub fn load_bytes(name: &str, bytes: &[u8], base_dir: &Path, opts: &LoadOptions) -> Loaded {
    let (tokens, mut diags) = preprocess::preprocess_bytes(name, bytes, base_dir, opts);
    finish(tokens, &mut diags)
}

/// Unit tests' loader: `text` as t.conf (includes relative to /), which must
/// load without errors.
#[cfg(test)]
pub fn load_clean(text: &str) -> model::Config {
    let opts = LoadOptions::with_id("n");
    let loaded = load_bytes("t.conf", text.as_bytes(), Path::new("/"), &opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diags);
    loaded.config
}

/// Load a configuration from memory as `load_bytes` does, and record every
/// file its `include`s read: the snapshot the children load.
pub fn load_recording(
    name: &str,
    bytes: &[u8],
    base_dir: &Path,
    opts: &LoadOptions,
) -> (Loaded, snapshot::Snapshot) {
    let (tokens, mut diags, snap) = preprocess::preprocess_recording(name, bytes, base_dir, opts);
    (finish(tokens, &mut diags), snap)
}

/// Load a configuration from a snapshot: includes come from it, not the disk.
pub fn load_snapshot(name: &str, snap: &snapshot::Snapshot, base_dir: &Path, opts: &LoadOptions) -> Loaded {
    let (tokens, mut diags) = preprocess::preprocess_snapshot(name, snap, base_dir, opts);
    finish(tokens, &mut diags)
}

fn finish(tokens: Vec<token::Token>, diags: &mut Vec<Diagnostic>) -> Loaded {
    let mut config = parse::parse(&tokens, diags);
    validate::validate(&mut config, diags);
    Loaded { config, diags: std::mem::take(diags) }
}

/// The host name up to the first dot, as keepalived uses for `@id` and `router_id`.
pub fn short_hostname() -> String {
    match hostname() {
        Some(name) => name.split('.').next().unwrap_or("localhost").to_string(),
        None => String::from("localhost"),
    }
}

/// gethostname(2); `None` if it fails. The one reading of the host name:
/// `@id` and `router_id` defaults, the mailer's HELO and From domain.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for its length; gethostname NUL-terminates or truncates.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    (rc == 0).then(|| String::from_utf8_lossy(&buf[..end]).into_owned())
}
