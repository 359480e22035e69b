//! HTTP_GET / SSL_GET `regex`: does a pattern occur in a response body,
//! starting within `regex_min_offset ..= regex_max_offset`? Pure: body bytes
//! in, a verdict out.
//!
//! The body arrives in reads of any size. keepalived matches each read with
//! PCRE2's partial matching and keeps the bytes of a partial match in its
//! 4 KB read buffer for the next read; a match longer than that buffer is
//! never found across reads. vigil's engine (regex-lite) has no partial
//! matching, so [`BodyMatcher`] gathers bytes, searches them once it holds
//! twice [`WINDOW`] (or the body ends), and keeps the last [`WINDOW`] bytes to
//! search again with the next ones: every match of up to [`WINDOW`] bytes is
//! found wherever the reads split it, each byte is searched about twice
//! whatever the size of the reads, and a match that could still change with
//! more bytes (it ends where the data ends, so a `$` or `\b` at its end is
//! not yet known) waits for them.
//!
//! The subject is the body (the head is not matched, and offsets count from
//! the body's first byte). Its bytes are read as UTF-8, a byte that is not
//! part of valid UTF-8 as one NUL character, so offsets stay byte offsets.
//! Where this differs from keepalived 2.2 (which matches each read buffer as
//! its own PCRE2 subject): `^` matches only at the start of the body, not at
//! the start of every read; a `$` at the end of the body matches (keepalived's
//! hard partial matching leaves it pending when the connection closes); and
//! the head is never part of the subject (keepalived's first subject holds
//! the head when the head and the first body bytes arrive in one read).

use std::sync::Arc;

pub use regex_lite::Regex;

/// How far back a match may start before the newest bytes: keepalived's
/// read buffer (`MAX_BUFFER_LENGTH`, 4096) bounds its partial matches alike.
pub const WINDOW: u64 = 4096;

/// Bytes kept before the first offset a match may start at, so that `\b`
/// and `^` see the character before it (at most 4 bytes of UTF-8).
const CONTEXT: u64 = 4;

/// One response body's match, fed as it streams.
#[derive(Clone, Debug)]
pub struct BodyMatcher {
    regex: Arc<Regex>,
    min_offset: u64,
    /// The last offset a match may start at.
    max_offset: Option<u64>,
    /// PCRE2's `$` also matches before a final newline, unless `dollar_endonly`.
    dollar_before_final_newline: bool,
    /// How many bytes are kept for matches that span reads: [`WINDOW`]
    /// (smaller in tests); a search runs once twice as many are gathered.
    keep: u64,
    /// Body bytes from offset `window_start`, kept for matches that span reads.
    window: Vec<u8>,
    window_start: u64,
    /// No match starts before this offset: everything before it was searched
    /// (or lies before `min_offset`).
    scan_from: u64,
    /// Body bytes fed so far.
    seen: u64,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Searching,
    Matched,
    NoMatch,
}

impl BodyMatcher {
    pub fn new(
        regex: Arc<Regex>,
        min_offset: u64,
        max_offset: Option<u64>,
        dollar_before_final_newline: bool,
    ) -> BodyMatcher {
        BodyMatcher {
            regex,
            min_offset,
            max_offset,
            dollar_before_final_newline,
            keep: WINDOW,
            window: Vec::new(),
            window_start: 0,
            scan_from: min_offset,
            seen: 0,
            state: State::Searching,
        }
    }

    /// The next body bytes.
    pub fn feed(&mut self, data: &[u8]) {
        let data_start = self.seen;
        self.seen = self.seen.saturating_add(data.len() as u64);
        if self.state != State::Searching || data.is_empty() {
            return;
        }
        let keep_from = self.scan_from.saturating_sub(CONTEXT);
        if self.seen <= keep_from {
            return;
        }
        // Bytes before `keep_from` can neither start a match nor be its context.
        let skip = keep_from.saturating_sub(data_start);
        if self.window.is_empty() {
            self.window_start = data_start + skip;
        }
        self.window.extend_from_slice(data.get(skip as usize..).unwrap_or(&[]));
        if self.window.len() as u64 >= 2 * self.keep {
            self.search(false);
        }
    }

    /// The body ended: whether it matched.
    pub fn finish(&mut self) -> bool {
        if self.state == State::Searching {
            self.search(true);
        }
        self.state == State::Matched
    }

    fn search(&mut self, at_end: bool) {
        let end = self.window_start + self.window.len() as u64;
        // keepalived never matches a body it did not receive.
        if self.seen > 0 && self.scan_from <= end {
            let text = as_text(&self.window);
            let mut from = (self.scan_from - self.window_start) as usize;
            while !text.is_char_boundary(from) {
                from += 1;
            }
            if self.accepts(&text, from, text.len(), at_end) {
                self.state = State::Matched;
                return;
            }
            if at_end && self.dollar_before_final_newline && text.ends_with('\n') {
                let cut = text.len() - 1;
                if from <= cut && self.accepts(&text[..cut], from, cut, true) {
                    self.state = State::Matched;
                    return;
                }
            }
        }
        if at_end {
            self.state = State::NoMatch;
            return;
        }
        // A match starting before `end - keep` would be longer than the window.
        self.scan_from = self.scan_from.max(end.saturating_sub(self.keep));
        if self.max_offset.is_some_and(|max| self.scan_from > max) {
            self.state = State::NoMatch;
            self.window = Vec::new();
            return;
        }
        let keep_from = self.scan_from.saturating_sub(CONTEXT);
        if keep_from > self.window_start {
            let drop = ((keep_from - self.window_start) as usize).min(self.window.len());
            self.window.drain(..drop);
            self.window_start += drop as u64;
        }
    }

    /// A match at or after `from` in `text[..len]` that starts by
    /// `max_offset` and that more bytes cannot undo.
    fn accepts(&self, text: &str, from: usize, len: usize, at_end: bool) -> bool {
        let Some(m) = self.regex.find_at(text, from) else { return false };
        let start = self.window_start + m.start() as u64;
        let in_range = start >= self.min_offset && self.max_offset.is_none_or(|max| start <= max);
        in_range && (at_end || m.end() < len)
    }
}

/// `bytes` as text of the same length: valid UTF-8 as it is, any other byte
/// as NUL.
fn as_text(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                text.push_str(s);
                return text;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(after.len());
                text.extend(std::iter::repeat_n('\0', bad));
                rest = &after[bad..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::regex::{compile, option_support, OptionSupport};

    fn matcher(pattern: &str, options: &[&str], min: u64, max: Option<u64>) -> BodyMatcher {
        let options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        let dollar = !options.iter().any(|o| o == "dollar_endonly");
        BodyMatcher::new(Arc::new(compile(pattern, &options).unwrap()), min, max, dollar)
    }

    fn run(m: &mut BodyMatcher, chunks: &[&[u8]]) -> bool {
        for c in chunks {
            m.feed(c);
        }
        m.finish()
    }

    const SEARCH_AT: usize = 2 * WINDOW as usize;

    /// Every way of cutting `body` in three reads gives the verdict of the
    /// whole body searched at once, also with windows of 16 bytes and less,
    /// so that searches and trims fall inside short bodies (a window shorter
    /// than the longest match in the body is skipped: such a match may be
    /// missed by design).
    fn every_split(pattern: &str, options: &[&str], min: u64, max: Option<u64>, body: &[u8]) -> bool {
        let whole = run(&mut matcher(pattern, options, min, max), &[body]);
        let m = matcher(pattern, options, min, max);
        let text = as_text(body);
        let longest = [text.as_str(), text.strip_suffix('\n').unwrap_or("")]
            .iter()
            .flat_map(|t| m.regex.find_iter(t).map(|m| m.len()))
            .max()
            .unwrap_or(0);
        for keep in [WINDOW, 16, 8, 4, 2, 1] {
            if (keep as usize) < longest {
                continue;
            }
            for i in 0..=body.len() {
                for j in i..=body.len() {
                    let mut m = matcher(pattern, options, min, max);
                    m.keep = keep;
                    let split = run(&mut m, &[&body[..i], &body[i..j], &body[j..]]);
                    assert_eq!(split, whole, "{pattern:?} over {body:?} cut at {i} and {j}, window {keep}");
                }
            }
        }
        whole
    }

    #[test]
    fn a_match_spanning_reads_is_found_at_any_split() {
        assert!(every_split("status: (up|ok)", &[], 0, None, b"<p>status: ok</p>\n"));
        assert!(!every_split("status: (up|ok)", &[], 0, None, b"<p>status: down</p>\n"));
        assert!(every_split(r"\bok\b", &[], 0, None, b"is ok."));
        assert!(!every_split(r"\bok\b", &[], 0, None, b"is okay"));
        assert!(!every_split(r"\bok\b", &[], 0, None, b"is took"));
    }

    #[test]
    fn anchors_see_the_whole_body_not_each_read() {
        assert!(every_split("^<html>", &[], 0, None, b"<html>x</html>"));
        assert!(!every_split("^x", &[], 0, None, b"<html>x</html>"));
        assert!(every_split("html>$", &[], 0, None, b"<html>x</html>"));
        assert!(!every_split("x$", &[], 0, None, b"<html>x</html>"));
        // PCRE2's '$' also matches before a final newline, unless dollar_endonly.
        assert!(every_split("^OK$", &[], 0, None, b"OK\n"));
        assert!(!every_split("^OK$", &["dollar_endonly"], 0, None, b"OK\n"));
        assert!(every_split("^b$", &["multiline"], 0, None, b"a\nb\nc"));
    }

    #[test]
    fn offsets_bound_where_a_match_starts() {
        let body = b"0123456789abcdef";
        assert!(every_split("abc", &[], 10, None, body));
        assert!(!every_split("abc", &[], 11, None, body));
        assert!(every_split("abc", &[], 0, Some(10), body), "a match may start at max_offset");
        assert!(!every_split("abc", &[], 0, Some(9), body));
        assert!(every_split("c.*f", &[], 12, Some(12), body), "it may end beyond max_offset");
        // The byte before min_offset is context for \b, not part of a match.
        assert!(!every_split(r"\b5", &[], 5, None, body));
        assert!(every_split(r"\B5", &[], 5, None, body));
    }

    #[test]
    fn options_and_bytes_that_are_not_utf8() {
        assert!(every_split("server is UP", &["caseless"], 0, None, b"Server is up"));
        assert!(!every_split("server is UP", &[], 0, None, b"Server is up"));
        assert!(every_split("a.b", &["dotall"], 0, None, b"a\nb"));
        assert!(!every_split("a.b", &[], 0, None, b"a\nb"));
        assert!(every_split("caf. ok", &[], 0, None, b"caf\xe9 ok"), "latin-1 byte");
        assert!(every_split("café ok", &[], 0, None, "café ok".as_bytes()));
        assert!(every_split("ok", &[], 3, Some(3), b"\xff\xfe\xfdok"), "offsets stay byte offsets");
        assert_eq!(compile("(", &[]).map(|_| ()).map_err(|e| !e.is_empty()), Err(true));
        assert_eq!(option_support("ucp"), OptionSupport::Unsupported("\\d, \\w, \\s and \\b stay ASCII"));
        assert_eq!(option_support("nonsense"), OptionSupport::Unknown);
    }

    #[test]
    fn an_empty_body_never_matches_as_with_keepalived() {
        assert!(!run(&mut matcher("", &[], 0, None), &[]));
        assert!(run(&mut matcher("", &[], 0, None), &[b"x"]));
    }

    #[test]
    fn long_bodies_keep_a_bounded_window() {
        let mut m = matcher("needle", &[], 0, None);
        let hay = vec![b'x'; 1000];
        for _ in 0..100 {
            m.feed(&hay);
            assert!(m.window.len() < SEARCH_AT + 1000);
        }
        m.feed(b"nee");
        m.feed(b"dle");
        assert!(m.finish());
        // Past max_offset the matcher stops looking (and keeping bytes).
        let mut m = matcher("needle", &[], 0, Some(10));
        for _ in 0..20 {
            m.feed(&hay);
        }
        assert!(m.window.is_empty());
        m.feed(b"needle");
        assert!(!m.finish());
        // A match up to WINDOW bytes long is found across reads.
        let mut m = matcher("<a>x*</a>", &[], 0, None);
        m.feed(b"<a>");
        for _ in 0..4 {
            m.feed(&[b'x'; 1000]);
        }
        m.feed(b"</a>");
        assert!(m.finish());
    }

    /// A match that ends where the data ends waits for more bytes: `\b` and
    /// `$` at its end may still fail.
    #[test]
    fn a_match_at_the_end_of_the_data_waits() {
        let mut m = matcher(r"ok\b", &[], 0, None);
        m.feed(&[b' '; SEARCH_AT - 2]);
        m.feed(b"ok");
        assert_eq!(m.state, State::Searching, "searched, but 'ok' may go on");
        m.feed(b"ay");
        assert!(!m.finish());
        let mut m = matcher(r"ok\b", &[], 0, None);
        m.feed(&[b' '; SEARCH_AT - 2]);
        m.feed(b"ok");
        m.feed(b" ");
        assert!(m.finish());
    }
}
