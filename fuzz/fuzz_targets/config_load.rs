//! keepalived.conf bytes through the whole front end: preprocessor
//! (`include`, `$PARAM`, `~SEQ`, `@id`), parser, semantic checks, and the
//! `vigil -t --dump` printer; and the same bytes as the validated snapshot
//! a child loads (`config::snapshot`), decoded and, if they decode, loaded.
//!
//! Relative includes resolve in an empty private directory. Absolute ones
//! still reach the host's files; the loader reads regular files only, opens
//! them non-blocking (so /proc/kmsg and trace_pipe cannot hang it) and
//! bounds glob walks and total text, and libFuzzer's -timeout reports any
//! input that still makes it slow.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vigil::config::snapshot::Snapshot;
use vigil::config::preprocess::Limits;
use vigil::config::{dump, load_bytes, load_snapshot, LoadOptions};

// Six times the largest real-world configuration in ../shared/conf-corpus
// (22 KB, about 3,000 tokens).
const FUZZ_LIMITS: Limits = Limits { work: 128 << 10, tokens: 8_000 };

fn base_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vigil-fuzz-config-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the empty include directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    // The preprocessor's bounds lowered (production: 32 MiB of work, a million
    // tokens): an input that reaches one is cut off after milliseconds rather
    // than a second, so the run's time goes to other inputs. The same code
    // enforces them; unit tests cover production's values.
    let opts = LoadOptions { limits: FUZZ_LIMITS, ..LoadOptions::with_id("fuzz") };
    let loaded = load_bytes("fuzz.conf", data, base_dir(), &opts);
    for d in &loaded.diags {
        let _ = d.to_string();
    }
    let _ = dump::dump(&loaded.config);
    if let Ok(snap) = Snapshot::decode(data) {
        let _ = load_snapshot("fuzz.conf", &snap, base_dir(), &opts);
    }
});
