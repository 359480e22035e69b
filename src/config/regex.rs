//! What a url's `regex_options` mean in vigil's regex engine (regex-lite),
//! and the pattern compiled with them: read by the configuration (so `-t`
//! reports a pattern that cannot compile) and matched by
//! `check::body_regex`.

use regex_lite::Regex;

/// What `regex_options` (PCRE2 option names, keepalived's list) means here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionSupport {
    /// A regex-lite flag with the same meaning.
    Flag(char),
    /// vigil already behaves so: nothing to do.
    Same,
    /// Not available in vigil's engine; the text says what happens instead.
    Unsupported(&'static str),
    /// keepalived does not know it either (it ignores it).
    Unknown,
}

pub fn option_support(name: &str) -> OptionSupport {
    use OptionSupport::*;
    match name {
        "caseless" => Flag('i'),
        "multiline" => Flag('m'),
        "dotall" => Flag('s'),
        "extended" => Flag('x'),
        "ungreedy" => Flag('U'),
        // The subject is read as UTF-8 already; these only restrict PCRE2.
        "utf" | "never_utf" | "never_ucp" | "never_backslash_c" => Same,
        // Optimisation and capture switches: the verdict is the same.
        "no_auto_capture" | "no_auto_possess" | "no_start_optimize" | "no_dotstar_anchor" => Same,
        // keepalived sets no callout and no offset limit, so these do nothing there.
        "auto_callout" | "use_offset_limit" => Same,
        // regex-lite rejects duplicate group names and has no backtracking
        // verbs: a pattern needing these fails to compile, with the reason.
        "dupnames" | "alt_verbnames" => Same,
        "dollar_endonly" => Same,
        "ucp" => Unsupported("\\d, \\w, \\s and \\b stay ASCII"),
        "firstline" => Unsupported("a match may start after the first line"),
        "alt_bsux" => Unsupported("\\u, \\U and \\x keep their usual meaning"),
        "alt_circumflex" => Unsupported("in multiline mode '^' does not match after a final newline"),
        "allow_empty_class" => Unsupported("'[]' does not compile"),
        "match_unset_backref" => Unsupported("backreferences do not compile"),
        _ => Unknown,
    }
}

/// The pattern with the flags of `options` (unsupported and unknown ones are
/// the config reader's to report).
pub fn compile(pattern: &str, options: &[String]) -> Result<Regex, String> {
    let flags: String = options
        .iter()
        .filter_map(|o| match option_support(o) {
            OptionSupport::Flag(c) => Some(c),
            _ => None,
        })
        .collect();
    let source = if flags.is_empty() { pattern.to_string() } else { format!("(?{flags}){pattern}") };
    Regex::new(&source).map_err(|e| e.to_string())
}
