//! What a child leaves for the child that replaces it (after a crash, or
//! `vigil upgrade`): a small text file in the daemon's runtime directory,
//! replaced atomically and readable by root only. Its envelope says what
//! kind of state it holds (a magic line), when it was written
//! (CLOCK_MONOTONIC µs, the same in every process) and which validated
//! configuration snapshot its writer ran; the body is the engine's own.
//! A successor trusts a file only if it was written during the life of the
//! child the parent saw die.

use std::io;
use std::path::{Path, PathBuf};

use log::{info, warn};

use crate::runtime::Lifetime;
use crate::time::{clock_us, monotonic_us};

/// Where a child's state lives and who wrote what is there: what the
/// daemon tells an engine at its start.
pub struct ResumeFrom {
    pub state_file: PathBuf,
    /// SHA-256 (hex) of the validated configuration snapshot this child
    /// runs: equal snapshots mean equal configurations, whatever binary
    /// wrote the state file (`vigil upgrade`).
    pub config_digest: String,
    /// The child this one replaces, if the parent saw it die.
    pub predecessor: Option<Lifetime>,
}

/// A state file's envelope and its body's lines.
#[derive(Debug, PartialEq, Eq)]
pub struct StateFile<'a> {
    /// When it was written (µs, CLOCK_MONOTONIC).
    pub written: u64,
    /// The snapshot digest of the child that wrote it (older files: none).
    pub config_digest: Option<&'a str>,
    pub body: Vec<&'a str>,
}

/// Replace `path` with `body` under the envelope.
pub fn write(path: &Path, magic: &str, config_digest: &str, body: &str) -> io::Result<()> {
    let text = format!("{magic}\nwritten {}\nconfig {config_digest}\n{body}", clock_us());
    super::file::write_private(path, text.as_bytes())
}

/// The envelope of `text`, if it is a `magic` file.
pub fn parse<'a>(text: &'a str, magic: &str) -> Option<StateFile<'a>> {
    let mut lines = text.lines().peekable();
    if lines.next()? != magic {
        return None;
    }
    let written = lines.next()?.strip_prefix("written ")?.parse().ok()?;
    let config_digest = lines.peek().and_then(|l| l.strip_prefix("config "));
    if config_digest.is_some() {
        lines.next();
    }
    Some(StateFile { written, config_digest, body: lines.collect() })
}

/// Whether a file written at `written` is from `life`.
pub fn within(written: u64, life: Lifetime) -> bool {
    // A little slack: the two clocks are read a few µs apart.
    let slack = 1_000;
    (monotonic_us(life.started).saturating_sub(slack)..=monotonic_us(life.died) + slack).contains(&written)
}

/// The text at `path` if the child that died (`life`) wrote it; otherwise
/// `None`, with the reason logged for the `who` child's normal start.
pub fn read_predecessors(path: &Path, magic: &str, life: Lifetime, who: &str) -> Option<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            info!("no state of the previous {who} child ({}: {e}) - normal start", path.display());
            return None;
        }
    };
    match parse(&text, magic) {
        Some(f) if within(f.written, life) => Some(text),
        Some(_) => {
            info!("{}: not written by the {who} child that died - normal start", path.display());
            None
        }
        None => {
            warn!("{}: unreadable - normal start", path.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Monotonic;
    use std::time::Duration;

    #[test]
    fn envelope_round_trip_and_garbage() {
        let f = parse("m 1\nwritten 1234\nline a\nline b\n", "m 1").unwrap();
        assert_eq!(f, StateFile { written: 1234, config_digest: None, body: vec!["line a", "line b"] });
        let f = parse("m 1\nwritten 5\nconfig ab12\nx\n", "m 1").unwrap();
        assert_eq!((f.config_digest, f.body), (Some("ab12"), vec!["x"]));
        for bad in ["", "m 2\nwritten 1\n", "m 1\nwritten x\n", "m 1\n"] {
            assert!(parse(bad, "m 1").is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_file_counts_only_if_written_during_the_dead_childs_life() {
        let started = Monotonic::now();
        std::thread::sleep(Duration::from_millis(3));
        let mid = clock_us();
        std::thread::sleep(Duration::from_millis(3));
        let died = Monotonic::now();
        let life = Lifetime { started, died };
        assert!(within(mid, life));
        assert!(!within(monotonic_us(started) - 10_000, life), "older than the dead child");
        assert!(!within(monotonic_us(died) + 10_000, life), "written after its death");
    }
}
