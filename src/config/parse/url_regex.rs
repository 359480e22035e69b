//! A url block's `regex`, `regex_no_match`, `regex_options`,
//! `regex_min_offset`, `regex_max_offset` and `regex_stack` (keepalived 2.2's
//! check_http.c handlers): read as the block goes, settled at its end.

use std::sync::Arc;

use super::super::diag::Loc;
use super::super::model::UrlRegex;
use super::super::token::Token;
use super::tree::Stmt;
use super::Parser;
use crate::config::regex::{self as options, OptionSupport};

/// What the regex keywords of one url block said.
#[derive(Default)]
pub(super) struct RegexWords {
    pattern: Option<(String, Loc)>,
    options: Vec<String>,
    no_match: bool,
    min_offset: Option<u64>,
    max_offset: Option<u64>,
    stack: Option<(u64, u64)>,
    /// The first companion keyword, for the "without regex" warning.
    first_companion: Option<Loc>,
}

impl Parser<'_> {
    /// One of the regex keywords; false when `s` is not one.
    pub(super) fn url_regex_word(&mut self, r: &mut RegexWords, s: &Stmt) -> bool {
        match s.name() {
            "regex" => {
                let [t] = s.args.as_slice() else {
                    self.error(s.loc(), "'regex' takes one pattern".into(), Some(quote_hint()));
                    return true;
                };
                let pattern = pattern_text(t);
                if let Some((old, _)) = &r.pattern {
                    self.warn(s.loc(), format!("duplicate 'regex': '{pattern}' replaces '{old}'"), None);
                }
                r.pattern = Some((pattern, s.loc().clone()));
                return true;
            }
            "regex_no_match" => r.no_match = true,
            "regex_options" => {
                self.value(s);
                for t in &s.args {
                    let name = t.word().unwrap_or("");
                    match options::option_support(name) {
                        OptionSupport::Flag(_) | OptionSupport::Same => r.options.push(name.to_string()),
                        OptionSupport::Unsupported(instead) => {
                            let msg = format!("regex option '{name}' is not supported: {instead}");
                            self.warn(&t.loc, msg, None);
                        }
                        OptionSupport::Unknown => {
                            let msg = format!("unknown regex option '{name}' (keepalived ignores it too)");
                            self.warn(&t.loc, msg, Some(options_hint()));
                        }
                    }
                }
            }
            "regex_min_offset" => r.min_offset = self.offset(s),
            "regex_max_offset" => r.max_offset = self.offset(s),
            "regex_stack" => {
                let [start, max] = s.args.as_slice() else {
                    self.warn(s.loc(), "'regex_stack' takes START MAX; ignored".into(), None);
                    return true;
                };
                let start = self.int_tok("regex_stack", start, 0, i64::MAX);
                let max = self.int_tok("regex_stack", max, 0, i64::MAX);
                let (Some(start), Some(max)) = (start, max) else { return true };
                if start > max {
                    let msg = format!("regex_stack start {start} exceeds its max {max}; ignored");
                    self.warn(s.loc(), msg, None);
                    return true;
                }
                r.stack = Some((start as u64, max as u64));
            }
            _ => return false,
        }
        r.first_companion.get_or_insert_with(|| s.loc().clone());
        true
    }

    fn offset(&mut self, s: &Stmt) -> Option<u64> {
        self.int(s, 0, i64::MAX).map(|n| n as u64)
    }

    /// The url's regex once its block is read: compiled, or reported.
    pub(super) fn url_regex(&mut self, r: RegexWords) -> Option<UrlRegex> {
        let Some((pattern, loc)) = r.pattern else {
            if let Some(loc) = r.first_companion {
                // keepalived: "regex parameters specified without regex".
                self.warn(&loc, "regex options without 'regex' in this url; ignored".into(), None);
            }
            return None;
        };
        let (mut min_offset, mut max_offset) = (r.min_offset.unwrap_or(0), r.max_offset);
        if let Some(max) = max_offset.filter(|&max| min_offset > max) {
            // keepalived drops both offsets alike.
            let msg = format!("regex_min_offset {min_offset} > regex_max_offset {max}; both ignored");
            self.warn(&loc, msg, None);
            (min_offset, max_offset) = (0, None);
        }
        let compiled = match options::compile(&pattern, &r.options) {
            Ok(c) => c,
            Err(e) => {
                let hint = "vigil's regex engine (regex-lite) has no backreferences, look-around \
                            or Unicode classes";
                self.error(&loc, format!("invalid regex '{pattern}': {e}"), Some(hint.into()));
                return None;
            }
        };
        Some(UrlRegex {
            pattern,
            options: r.options,
            no_match: r.no_match,
            min_offset,
            max_offset,
            stack: r.stack,
            compiled: Arc::new(compiled),
        })
    }
}

/// keepalived reads `regex`'s line with its escapes (`\n`, `\t`, `\xHH`,
/// `\cX`, octal, and `\` before any other character for that character)
/// outside quotes as well as inside. vigil's lexer keeps an unquoted
/// backslash, so an unquoted pattern is unescaped here; a quoted one was
/// unescaped by the lexer.
fn pattern_text(t: &Token) -> String {
    let w = t.word().unwrap_or("");
    if t.quoted {
        return w.to_string();
    }
    let b = w.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let e = b[i];
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        if e == b'x' && b.get(i + 1).and_then(|&c| hex(c)).is_some() {
            let mut v = 0u8;
            i += 1;
            for _ in 0..2 {
                let Some(d) = b.get(i).and_then(|&c| hex(c)) else { break };
                v = (v << 4) | d;
                i += 1;
            }
            out.push(v);
        } else if e == b'c' && i + 1 < b.len() {
            out.push(b[i + 1] & 0x1f);
            i += 2;
        } else if (b'0'..=b'7').contains(&e) {
            let mut v = 0u8;
            for _ in 0..3 {
                match b.get(i) {
                    Some(&c @ b'0'..=b'7') => {
                        v = (v << 3).wrapping_add(c - b'0');
                        i += 1;
                    }
                    _ => break,
                }
            }
            out.push(v);
        } else {
            out.push(match e {
                b'a' => 0x07,
                b'b' => 0x08,
                b'E' => 0x1b,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => other,
            });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn quote_hint() -> String {
    "quote a pattern with spaces: regex \"status: (up|ok)\"".into()
}

fn options_hint() -> String {
    "keepalived's options: caseless multiline dotall extended ungreedy dollar_endonly utf ...".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::token::TokenKind;

    fn tok(w: &str, quoted: bool) -> Token {
        let loc = Loc { file: std::rc::Rc::from(""), line: 1, col: 1 };
        Token { kind: TokenKind::Word(w.into()), loc, quoted }
    }

    #[test]
    fn unquoted_patterns_take_keepalived_s_escapes() {
        assert_eq!(pattern_text(&tok(r"\\d+\.ok", false)), r"\d+.ok");
        assert_eq!(pattern_text(&tok(r"a\x41\101\cAb\n", false)), "aAA\u{1}b\n");
        assert_eq!(pattern_text(&tok(r"\\d+", true)), r"\\d+", "the lexer unescaped quoted words");
        assert_eq!(pattern_text(&tok(r"end\", false)), r"end\");
    }
}
